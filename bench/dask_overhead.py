"""Where the fixed cost of a ``fastloss.dask`` call goes, on the bench's
2-worker LocalCluster (2 processes x 1 thread), against Dask's own floors.

Run: ``python bench/dask_overhead.py [--n 1000000] [--reps 30] [--profile]``

Prints, each as the median of ``--reps`` calls (same run, same cluster):

* ``submit no-op``: ``client.submit(noop).result()`` -- the round trip floor;
* ``2 tasks + merge``: one no-op per worker, merged on one of them (the
  smallest tree with a transfer), computed from a Delayed;
* ``da.sum``: a bare ``(x.sum() + t.sum())`` of the same persisted chunks;
* ``fastloss.dask``: ``fd.huber_loss(x, t).compute()``, and its parts:
  building the graph, and computing a built graph;
* the tasks' own time on the workers (task stream), the rest being
  scheduling and transfers.

With ``--profile``, a cProfile of the client side of 20 calls (top 25 by
cumulative time).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _noop(*args):
    return 0


def _merge(*args):
    return len(args)


def med(fn, reps, pause=0.0):
    fn()
    ts = []
    for _ in range(reps):
        if pause:
            time.sleep(pause)  # lets the client's 10 ms message batching lapse
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10**6)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--func", default="huber_loss")
    args = ap.parse_args()

    import dask
    import distributed

    import fastloss
    import fastloss.dask as fd
    from fastloss.bench.cases import dask as cases

    client = cases._client()
    d = cases._make_pairs({"n": args.n}, np.random.default_rng(0))
    x, t = d["x"], d["t"]
    fn = getattr(fd, args.func)
    rows = []

    def row(label, fn_, pause=0.0):
        m, lo = med(fn_, args.reps, pause)
        rows.append((label, m, lo))
        print(f"{label:<48} median {m * 1e3:8.2f} ms   min {lo * 1e3:8.2f} ms", flush=True)

    row("submit no-op (round trip)", lambda: client.submit(_noop, pure=False).result())
    row("submit no-op, 20 ms idle before each", lambda: client.submit(_noop, pure=False).result(), 0.02)
    workers = sorted(client.scheduler_info()["workers"])

    def two_and_merge():
        a = client.submit(_noop, 1, workers=[workers[0]], pure=False)
        b = client.submit(_noop, 2, workers=[workers[1]], pure=False)
        return client.submit(_merge, a, b, pure=False).result()

    row("2 no-ops (one per worker) + merge, futures", two_and_merge)

    def delayed_tree():
        leaves = [dask.delayed(_noop, pure=False)(i) for i in range(2)]
        return dask.delayed(_merge, pure=False)(*leaves).compute()

    row("2 no-ops + merge, one Delayed graph", delayed_tree)
    row("da.sum: (x.sum() + t.sum()).compute()", lambda: (x.sum() + t.sum()).compute())
    row("da.sum: x.sum().compute()", lambda: x.sum().compute())
    row(f"fd.{args.func}(x, t).compute()", lambda: fn(x, t).compute())
    row(f"fd.{args.func}(x, t).compute(), 20 ms idle before each", lambda: fn(x, t).compute(), 0.02)
    row(f"  build only: fd.{args.func}(x, t)", lambda: fn(x, t))
    row("  who_has of the 128 input blocks", lambda: fd._holders([x, t]))

    def prebuilt():
        lazy = [fn(x, t) for _ in range(args.reps + 1)]
        it = iter(lazy)
        return lambda: next(it).compute()

    row(f"  compute a prebuilt fd.{args.func}", prebuilt())
    row(f"  dask.compute(prebuilt, optimize_graph=False)",
        (lambda it: (lambda: dask.compute(next(it), optimize_graph=False)))(iter([fn(x, t) for _ in range(args.reps + 1)])))
    xl, tl = d["xl"], d["tl"]
    row(f"in-process fastloss.{args.func}", lambda: getattr(fastloss, args.func)(xl, tl))

    # Task stream: what the workers spend in our tasks.
    with distributed.get_task_stream(client) as ts:
        for _ in range(5):
            fn(x, t).compute()
    by = {}
    for rec in ts.data:
        name = rec["key"][0] if isinstance(rec["key"], tuple) else rec["key"]
        prefix = name.rsplit("-", 1)[0] if "-state" in name or "-merge" in name else name.split("-")[0] + "-" + name.split("-")[1] if name.count("-") >= 2 else name
        dur = sum(s["stop"] - s["start"] for s in rec["startstops"] if s["action"] == "compute")
        xfer = sum(s["stop"] - s["start"] for s in rec["startstops"] if s["action"] == "transfer")
        kind = "state" if "-state" in name else ("finalize" if name.startswith("finalize") else "root")
        by.setdefault(kind, []).append((dur, xfer))
    for kind, v in by.items():
        print(f"  task stream {kind:<10} n={len(v) / 5:.0f}/call  compute {sum(a for a, _ in v) / 5 * 1e3:.2f} ms/call"
              f"  transfer {sum(b for _, b in v) / 5 * 1e3:.2f} ms/call")

    if args.profile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        for _ in range(20):
            fn(x, t).compute()
        pr.disable()
        pstats.Stats(pr).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
