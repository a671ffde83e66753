"""Scenarios run by tests/test_runtime.py, each in its own subprocess (so a
crash or a hang fails one test, not the run): ``python runtime_child.py MODE``.

Every scenario computes values in a worker (forked child, pool worker,
DataLoader worker or thread) *after* the parent process has run the same
kernels, and compares them with the parent's: bitwise for the same call.
Prints ``OK <details>`` on success; anything else is a failure.
"""
from __future__ import annotations

import os
import sys
import threading
import warnings

import numpy as np

import fastloss


def _inputs(seed: int, small: bool):
    """Inputs for one call of every family, small (calling-thread path) or
    large (parallel path)."""
    rng = np.random.default_rng(seed)
    n = 1000 if small else 200_000
    N, C = (64, 10) if small else (512, 200)
    T, B, K, S = (20, 4, 6, 5) if small else (60, 32, 12, 10)
    lp = rng.standard_normal((T, B, K))
    lp -= np.log(np.exp(lp).sum(-1, keepdims=True))
    return {
        "x": rng.standard_normal(n), "y": rng.standard_normal(n), "p": rng.random(n).astype(np.float32),
        "logits": rng.standard_normal((N, C)).astype(np.float32), "labels": rng.integers(0, C, N),
        "a": rng.standard_normal((N, 16)), "b": rng.standard_normal((N, 16)), "c": rng.standard_normal((N, 16)),
        "lp": lp, "tg": rng.integers(1, K, (B, S)), "il": np.full(B, T), "tl": rng.integers(1, S + 1, B),
        "score": rng.random(n), "truth": rng.integers(0, 2, n),
        "rl": rng.standard_normal((B, T // 2, S + 1, K)).astype(np.float32), "rt": rng.integers(1, K, (B, S)),
        "rtl": np.full(B, T // 2), "rul": np.full(B, S),
        "ref": ["the cat sat on the mat"] * (4 if small else 64), "hyp": ["the cat sit on mat"] * (4 if small else 64),
    }


# One function per family, each returning a tuple of arrays/scalars.
FAMILY_CALLS = {
    "regression": lambda d: fastloss.huber_loss(d["x"], d["y"], return_grad=True),
    "regression_none": lambda d: (fastloss.mse_loss(d["x"], d["y"], reduction="none"),),
    "classification": lambda d: fastloss.binary_cross_entropy_with_logits(d["x"], (d["y"] > 0).astype(float), return_grad=True),
    "softmax": lambda d: fastloss.cross_entropy(d["logits"], d["labels"], return_grad=True),
    "margin": lambda d: fastloss.multi_margin_loss(d["logits"], d["labels"], return_grad=True),
    "embedding": lambda d: fastloss.triplet_margin_loss(d["a"], d["b"], d["c"], return_grad=True),
    "ctc": lambda d: fastloss.ctc_loss(d["lp"], d["tg"], d["il"], d["tl"], return_grad=True),
    "rnnt": lambda d: fastloss.rnnt_loss(d["rl"], d["rt"], d["rtl"], d["rul"], blank=0, return_grad=True),
    "decode": lambda d: tuple(map(tuple, fastloss.ctc_greedy_decode(d["lp"]))),
    "text": lambda d: (fastloss.wer(d["ref"], d["hyp"]), fastloss.cer(d["ref"], d["hyp"])),
    "ranking": lambda d: (fastloss.roc_auc(d["truth"], d["score"]), fastloss.average_precision(d["truth"], d["score"])),
    "confusion": lambda d: (fastloss.confusion_matrix(d["labels"], d["logits"].argmax(1)),),
    "ood": lambda d: (fastloss.energy_score(d["logits"]),),
    "calibration": lambda d: (fastloss.expected_calibration_error(d["p"], (d["truth"][: d["p"].size] > 0)),),
}


def _as_bytes(value) -> bytes:
    """A canonical byte string of a result (arrays, scalars, tuples, lists)."""
    if isinstance(value, (tuple, list)):
        return b"(" + b",".join(_as_bytes(v) for v in value) + b")"
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        a = np.asarray(value)
        return str(a.dtype).encode() + str(a.shape).encode() + a.tobytes()
    return repr(value).encode()


def compute(seed: int = 0, small: bool = True, families=None) -> dict:
    d = _inputs(seed, small)
    return {name: _as_bytes(fn(d)) for name, fn in FAMILY_CALLS.items() if families is None or name in families}


def _task(args):
    seed, small = args
    return compute(seed, small)


def _check(got: dict, want: dict, where: str):
    bad = [k for k in want if got.get(k) != want[k]]
    if bad:
        raise SystemExit(f"FAIL {where}: results differ from the parent's for {bad}")


def fork():
    want = compute(1, True), compute(1, False)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: after the parent ran every kernel
        try:
            ok = compute(1, True) == want[0] and compute(1, False) == want[1]
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    got = os.read(r, 1)
    if status != 0 or got != b"1":
        raise SystemExit(f"FAIL fork: child status {status}, result {got!r}")
    print("OK fork")


def pools():
    import multiprocessing as mp

    jobs = [(s, small) for s in range(3) for small in (True, False)]
    want = [compute(s, small) for s, small in jobs]
    for method in ("fork", "forkserver", "spawn"):
        with mp.get_context(method).Pool(2) as pool:
            got = pool.map_async(_task, jobs).get(timeout=600)
        for g, wnt in zip(got, want):
            _check(g, wnt, method)
    print("OK pools fork forkserver spawn")


class _Batches:
    """A torch Dataset computing a loss per batch inside the worker."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        d = _inputs(i, True)
        loss, grad = fastloss.cross_entropy(d["logits"], d["labels"], return_grad=True)
        return np.float64(loss), np.float64(fastloss.mse_loss(d["x"], d["y"])), grad


def dataloader():
    import torch  # noqa: F401
    from torch.utils.data import DataLoader

    ds = _Batches()
    want = [ds[i] for i in range(len(ds))]  # the parent uses fastloss first
    got = list(DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context="fork"))
    for (a, b, g), (wa, wb, wg) in zip(got, want):
        if float(a) != float(wa) or float(b) != float(wb) or not np.array_equal(np.asarray(g), wg):
            raise SystemExit("FAIL dataloader: values differ")
    print("OK dataloader", len(got))


def threads(n_threads: int = 8, repeat: int = 3):
    names = list(FAMILY_CALLS)
    data = {(s, sm): _inputs(s, sm) for s in range(2) for sm in (True, False)}
    want = {key: {k: _as_bytes(fn(d)) for k, fn in FAMILY_CALLS.items()} for key, d in data.items()}
    errors = []
    barrier = threading.Barrier(n_threads)

    def work(t):
        try:
            barrier.wait()
            for r in range(repeat):
                for j in range(len(names)):  # every thread cycles through every family
                    name = names[(t + j) % len(names)]
                    key = ((t + r) % 2, (t + j) % 2 == 0)
                    got = _as_bytes(FAMILY_CALLS[name](data[key]))
                    if got != want[key][name]:
                        errors.append((t, name, key))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append((t, repr(exc)))

    ts = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit(f"FAIL threads: {errors[:5]}")
    print(f"OK threads {n_threads} x {len(names)} families x {repeat}")


def layer():
    """Under a user-set NUMBA_THREADING_LAYER: values right, the layer is the
    user's, and an unsafe one gets exactly one FastlossWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = compute(2, True), compute(2, False)
    from fastloss._core import jit

    msgs = [str(w.message) for w in caught if w.category.__name__ == "FastlossWarning"]
    print("OK layer", jit.threading_layer(), len(msgs), "|", msgs[0] if msgs else "", "|", len(got))


if __name__ == "__main__":
    {"fork": fork, "pools": pools, "dataloader": dataloader, "threads": threads, "layer": layer}[sys.argv[1]]()
