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
_state = {}


def _client():
    if "client" not in _state:
        import distributed

        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        _state.update(client=client, cluster=cluster)

        def close():
            client.close()
            cluster.close()

        atexit.register(close)
    return _state["client"]


def _persist(*arrays):
    client = _client()
    arrays = client.persist(list(arrays))
    from distributed import wait

    wait(arrays)
    return arrays


def _make_scores(params, rng):
    import dask.array as da

    n = params["n"]
    r = da.random.default_rng(int(rng.integers(1 << 31)))
    s = r.random(n, chunks=n // CHUNKS, dtype=np.float32)
    y = (r.random(n, chunks=n // CHUNKS) < 0.3).astype(np.int8)
    s, y = _persist(s, y)
    sl, yl = _client().gather(_client().compute([s, y]))
    return {"s": s, "y": y, "sl": sl, "yl": yl}


def _make_pairs(params, rng):
    import dask.array as da

    n = params["n"]
    r = da.random.default_rng(int(rng.integers(1 << 31)))
    x = r.standard_normal(n, chunks=n // CHUNKS, dtype=np.float32)
    t = r.standard_normal(n, chunks=n // CHUNKS, dtype=np.float32)
    x, t = _persist(x, t)
    xl, tl = _client().gather(_client().compute([x, t]))
    return {"x": x, "t": t, "xl": xl, "tl": tl}


def _make_logits(params, rng):
    import dask.array as da

    n, c = params["n"], params["c"]
    r = da.random.default_rng(int(rng.integers(1 << 31)))
    x = r.standard_normal((n, c), chunks=(n // CHUNKS, c), dtype=np.float32)
    t = r.integers(0, c, n, chunks=n // CHUNKS)
    x, t = _persist(x, t)
    xl, tl = _client().gather(_client().compute([x, t]))
    return {"x": x, "t": t, "xl": xl, "tl": tl}


_WORDS = np.array("the a cat dog sat on mat hello world speech is hard to recognise well".split())


def _make_text(params, rng):
    import dask.bag as db

    n = params["n"]
    lens = rng.integers(3, 12, n)
    words = _WORDS[rng.integers(0, _WORDS.size, int(lens.sum()))]
    flip = rng.random(words.size) < 0.15
    hyp_words = np.where(flip, _WORDS[rng.integers(0, _WORDS.size, words.size)], words)
    cut = np.cumsum(lens)[:-1]
    refs = [" ".join(w) for w in np.split(words, cut)]
    hyps = [" ".join(w) for w in np.split(hyp_words, cut)]
    # Bags built from the lists (the timed call includes sending the text to the workers).
    rb, hb = db.from_sequence(refs, npartitions=CHUNKS), db.from_sequence(hyps, npartitions=CHUNKS)
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
