"""Benchmark cases of ``fastloss.dask`` on a 2-worker LocalCluster.

Every case builds its data once on the cluster (``persist``: the timed call
does not include generating or moving the data) and gathers the same arrays
into this process for the in-process baselines:

* ``fastloss`` -- the lazy ``fastloss.dask`` call, computed on the cluster
  (2 worker processes x 1 thread, 64 chunks);
* ``fastloss:1proc`` -- the single-process fastloss call on the gathered
  arrays (2 Numba threads in this process) -- the bar is the Dask path within
  1.5x of it;
* ``bound:read`` (MSE/Huber) -- a parallel Numba sum over both inputs, the
  read-bandwidth floor in one process;
* ``dask-ml`` -- ``dask_ml.metrics`` on the same dask arrays where it has the
  metric (``mean_squared_error``; it has no AUC/AP, and its ``log_loss``
  passes ``eps=`` that scikit-learn 1.9 no longer takes);
* ``sklearn`` / ``jiwer`` -- on the gathered arrays / lists.

The cluster is started on first use and closed at exit.
"""
from __future__ import annotations

import atexit

import numpy as np

from . import Case, Shape, optional

CHUNKS = 64
#: Workers' MALLOC_TRIM_THRESHOLD_ (None: Dask's default, 64 KiB); set with
#: the environment variable FASTLOSS_BENCH_TRIM.
TRIM = None
_state = {}


def worker_env() -> dict:
    """Environment for worker processes: import the same ``fastloss`` as this
    process (a source checkout first on ``PYTHONPATH``, as the client)."""
    import os

    import fastloss

    root = os.path.dirname(os.path.dirname(os.path.abspath(fastloss.__file__)))
    path = os.environ.get("PYTHONPATH", "")
    return {"PYTHONPATH": root + (os.pathsep + path if path else "")}


def _client():
    global TRIM
    if "client" not in _state:
        import os

        TRIM = os.environ.get("FASTLOSS_BENCH_TRIM", TRIM)
        import time

        import dask
        import distributed

        t0 = time.perf_counter()
        if TRIM is not None:
            # glibc returns freed memory to the OS above this many bytes; Dask's
            # nanny sets 64 KiB, so a worker page-faults every large array
            # afresh (slow on these VMs); see docs/dask.md.
            dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": TRIM})
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None, env=worker_env())
        client = distributed.Client(cluster)
        t1 = time.perf_counter()
        # Warm the workers: import fastloss and Numba and load the cached
        # kernels the cases use (Numba's one-off start-up, ~0.5 s a process),
        # timed apart from the cases.
        client.run(_warm_worker)
        t2 = time.perf_counter()
        _state.update(client=client, cluster=cluster, startup_s=t1 - t0, warmup_s=t2 - t1)
        import sys

        sys.stderr.write(f"dask bench setup (not in the timings): LocalCluster started in {t1 - t0:.2f} s, "
                         f"workers warmed (fastloss + Numba import, kernel cache load) in {t2 - t1:.2f} s\n")

        def close():
            client.close()
            cluster.close()

        atexit.register(close)
    return _state["client"]


def _warm_worker():
    import fastloss
    from fastloss.dask import single_threaded_kernels

    x = np.linspace(-2, 2, 64, dtype=np.float32)
    y = (x > 0).astype(np.int8)
    with single_threaded_kernels():
        fastloss.huber_loss(x, x[::-1].copy())
        fastloss.mse_loss(x, x[::-1].copy())
        fastloss.cross_entropy(x.reshape(8, 8), np.arange(8))
        fastloss.ExactCurve().update(y, x)
        fastloss.wer(["a b"], ["a c"])
    return True


def _pinned_chunks(make_block, nchunks, m, seed, names, ndims=None):
    """Chunk ``i`` of every output made by one task ``make_block(seed, i, m)``
    on one worker (the first half of the chunks on the first worker, the
    second half on the other, as blocks of files split between machines),
    its outputs kept there under the keys ``(names[j], i)``, or
    ``(names[j], i, 0, ...)`` for an output of ``ndims[j]`` dimensions: the
    dask array's own block keys, as ``persist`` leaves them (an alias task
    from ``(name, i, 0)`` to ``(name, i)`` would be a scheduler task per chunk
    in every timed call).  Pinned, so that Dask's work stealing does not move
    the cheap ``getitem`` tasks (and with them the data) to the other
    worker."""
    import operator
    import uuid

    client = _client()
    client.wait_for_workers(2, timeout=120)  # a worker restarted by its nanny (memory) comes back first
    workers = sorted(client.scheduler_info()["workers"])
    gen = f"bench-gen-{uuid.uuid4().hex}"
    futures = []
    for i in range(nchunks):
        w = [workers[i * len(workers) // nchunks]]
        pair = client.submit(make_block, seed, i, m, key=f"{gen}-{i}", workers=w, pure=False)
        futures.append([client.submit(operator.getitem, pair, j, key=(nm, i, *(0,) * ((ndims[j] if ndims else 1) - 1)),
                                      workers=w) for j, nm in enumerate(names)])
    from distributed import wait

    wait([f for row in futures for f in row])
    return futures


def _colocated(make_block, n, specs, seed):
    """Dask arrays generated chunk by chunk by one task per chunk that makes
    every array of that chunk (so chunk i of each array lives on one worker,
    as the columns of one Parquet partition do), held in the workers' memory
    (as persisted collections); and the same arrays gathered into this
    process.  ``specs``: ``(dtype, trailing shape)`` per array."""
    import uuid

    import dask.array as da

    m = n // CHUNKS
    names = [f"bench-data-{uuid.uuid4().hex}" for _ in specs]
    futures = _pinned_chunks(make_block, CHUNKS, m, seed, names, ndims=[1 + len(tail) for _, tail in specs])
    out = []
    for j, (dtype, tail) in enumerate(specs):
        zeros = (0,) * len(tail)
        dsk = {(names[j], i, *zeros): futures[i][j] for i in range(CHUNKS)}
        out.append(da.Array(dsk, names[j], chunks=((m,) * CHUNKS, *((t,) for t in tail)), dtype=dtype))
    # Gathered chunk by chunk (computing the arrays would concatenate them on
    # a worker, copying half of the chunks to it).
    parts = _client().gather(futures)
    local = [np.concatenate([row[j] for row in parts]) for j in range(len(specs))]
    return out, local


def _persist(*arrays):
    client = _client()
    arrays = client.persist(list(arrays))
    from distributed import wait

    wait(arrays)
    return arrays


def _scores_block(seed, i, m):
    r = np.random.default_rng([seed, i])
    return r.random(m, dtype=np.float32), (r.random(m) < 0.3).astype(np.int8)


def _pairs_block(seed, i, m):
    r = np.random.default_rng([seed, i])
    return r.standard_normal(m, dtype=np.float32), r.standard_normal(m, dtype=np.float32)


def _logits_block(seed, i, m, c=100):
    r = np.random.default_rng([seed, i])
    return r.standard_normal((m, c), dtype=np.float32), r.integers(0, c, m)


def _make_scores(params, rng):
    (s, y), (sl, yl) = _colocated(_scores_block, params["n"], [(np.float32, ()), (np.int8, ())],
                                  int(rng.integers(1 << 31)))
    return {"s": s, "y": y, "sl": sl, "yl": yl}


def _make_pairs(params, rng):
    (x, t), (xl, tl) = _colocated(_pairs_block, params["n"], [(np.float32, ()), (np.float32, ())],
                                  int(rng.integers(1 << 31)))
    return {"x": x, "t": t, "xl": xl, "tl": tl}


def _make_logits(params, rng):
    assert params["c"] == 100
    (x, t), (xl, tl) = _colocated(_logits_block, params["n"], [(np.float32, (100,)), (np.int64, ())],
                                  int(rng.integers(1 << 31)))
    return {"x": x, "t": t, "xl": xl, "tl": tl}


_WORDS = np.array("the a cat dog sat on mat hello world speech is hard to recognise well".split())


def _text_block(seed, i, m):
    r = np.random.default_rng([seed, i])
    lens = r.integers(3, 12, m)
    words = _WORDS[r.integers(0, _WORDS.size, int(lens.sum()))]
    flip = r.random(words.size) < 0.15
    hyp_words = np.where(flip, _WORDS[r.integers(0, _WORDS.size, words.size)], words)
    cut = np.cumsum(lens)[:-1]
    return [" ".join(w) for w in np.split(words, cut)], [" ".join(w) for w in np.split(hyp_words, cut)]


def _make_text(params, rng):
    """Sentences generated per partition on the workers (references and
    hypotheses of a partition on one worker) and kept there as two bags;
    the same lists gathered into this process."""
    import uuid

    import dask.bag as db

    m = params["n"] // CHUNKS
    names = [f"bench-text-{uuid.uuid4().hex}" for _ in (0, 1)]
    futures = _pinned_chunks(_text_block, CHUNKS, m, int(rng.integers(1 << 31)), names)
    rb, hb = (db.Bag({(names[j], i): futures[i][j] for i in range(CHUNKS)}, names[j], CHUNKS) for j in (0, 1))
    parts = _client().gather(futures)
    refs, hyps = ([s for row in parts for s in row[j]] for j in (0, 1))
    return {"r": rb, "h": hb, "rl": refs, "hl": hyps}


def _curve_impls(name):
    def impls():
        import fastloss
        import fastloss.dask as fd

        out = {
            "fastloss": lambda d: getattr(fd, name)(d["y"], d["s"]).compute(),
            "fastloss:1proc": lambda d: getattr(fastloss, name)(d["yl"], d["sl"]),
        }
        skm = optional("sklearn.metrics")
        if skm is not None:
            sk = skm.roc_auc_score if name == "roc_auc" else skm.average_precision_score
            out["sklearn"] = lambda d: sk(d["yl"], d["sl"])
        return out

    return impls


def _loss_impls(name):
    def impls():
        import fastloss
        import fastloss.dask as fd

        out = {
            "fastloss": lambda d: getattr(fd, name)(d["x"], d["t"]).compute(),
            "fastloss:1proc": lambda d: getattr(fastloss, name)(d["xl"], d["tl"]),
        }
        if name in ("mse_loss", "huber_loss"):
            from .regression import _bound_kernels

            b = _bound_kernels()

            def read(d, k=b["read"], chunk=b["chunk"]):
                parts = np.empty((d["xl"].size + chunk - 1) // chunk)
                k(d["xl"], d["tl"], parts)
                return parts.sum()

            out["bound:read"] = read
        dm = optional("dask_ml.metrics") if name == "mse_loss" else None
        if dm is not None:
            out["dask-ml"] = lambda d: float(dm.mean_squared_error(d["t"], d["x"]))
        skm = optional("sklearn.metrics") if name == "mse_loss" else None
        if skm is not None:
            out["sklearn"] = lambda d: skm.mean_squared_error(d["tl"], d["xl"])
        return out

    return impls


def _ce_impls():
    import fastloss
    import fastloss.dask as fd

    out = {
        "fastloss": lambda d: fd.cross_entropy(d["x"], d["t"]).compute(),
        "fastloss:1proc": lambda d: fastloss.cross_entropy(d["xl"], d["tl"]),
    }
    torch = optional("torch")
    if torch is not None:
        def run_torch(d):
            with torch.no_grad():
                return torch.nn.functional.cross_entropy(torch.from_numpy(d["xl"]), torch.from_numpy(d["tl"]))

        out["torch"] = run_torch
    return out


def _wer_impls():
    import fastloss
    import fastloss.dask as fd

    out = {
        "fastloss": lambda d: fd.wer(d["r"], d["h"]).compute(),
        "fastloss:1proc": lambda d: fastloss.wer(d["rl"], d["hl"]),
    }
    jiwer = optional("jiwer")
    if jiwer is not None:
        out["jiwer"] = lambda d: jiwer.wer(d["rl"], d["hl"])
    return out


def _n(label, n, quick=False, **extra):
    return Shape(f"{label} f32 {CHUNKS} chunks", {"n": n, **extra}, quick=quick)


CASES = [
    Case("roc_auc", "dask", "forward", (_n("1e6", 10**6, True), _n("1e7", 10**7), _n("1e8", 10**8)), _make_scores,
         _curve_impls("roc_auc")),
    Case("average_precision", "dask", "forward", (_n("1e6", 10**6, True), _n("1e7", 10**7), _n("1e8", 10**8)), _make_scores,
         _curve_impls("average_precision")),
    Case("huber_loss", "dask", "forward", (_n("1e6", 10**6, True), _n("1e8", 10**8)), _make_pairs,
         _loss_impls("huber_loss")),
    Case("mse_loss", "dask", "forward", (_n("1e6", 10**6, True), _n("1e8", 10**8)), _make_pairs,
         _loss_impls("mse_loss")),
    Case("cross_entropy", "dask", "forward",
         (Shape("1e5x100 f32 64 chunks", {"n": 10**5, "c": 100}, quick=True),
          Shape("1e6x100 f32 64 chunks", {"n": 10**6, "c": 100})), _make_logits, _ce_impls),
    Case("wer", "dask", "forward", (Shape("1e4 pairs", {"n": 10**4}, quick=True), Shape("1e6 pairs", {"n": 10**6})),
         _make_text, _wer_impls),
]
