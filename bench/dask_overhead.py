"""Where the fixed cost of a ``fastloss.dask`` call goes, on the bench's
2-worker LocalCluster (2 processes x 1 thread), against Dask's own floors.

Run: ``python bench/dask_overhead.py [--func huber_loss] [--n 1000000]
[--reps 30] [--profile]`` (a case and shape of ``fastloss/bench/cases/dask.py``,
its data made and held on the workers as the bench does).

Prints, each as the median of ``--reps`` calls (same run, same cluster):

* ``submit no-op``: ``client.submit(noop).result()`` -- the round trip floor
  (back to back, and with 20 ms idle before each: the client batches its
  messages to the scheduler over 10 ms);
* ``2 no-ops + merge``: one no-op per worker merged on one of them (the
  smallest tree with a transfer, the shape of a fastloss.dask call on
  persisted data), as futures and as one Delayed graph;
* ``da.sum``: a bare ``.sum()`` of the first input's chunks;
* the bench's ``fastloss.dask`` call and the in-process call;
* the tasks' own time on the workers (task stream), the rest of the call
  being Dask's scheduling, hand-offs and transfers.

With ``--profile``, a cProfile of the client side of 20 calls.
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
    ap.add_argument("--no-floors", action="store_true", help="only the fastloss.dask call and the in-process call")
    ap.add_argument("--func", default="huber_loss", help="a case of fastloss/bench/cases/dask.py")
    args = ap.parse_args()

    import dask
    import distributed

    from fastloss.bench.cases import dask as cases

    client = cases._client()
    case = next(c for c in cases.CASES if c.func == args.func)
    shape = next(sh for sh in case.shapes if sh.params["n"] == args.n)
    d = case.make(shape.params, np.random.default_rng(0))
    impls = case.impls()
    call, local = impls["fastloss"], impls["fastloss:1proc"]
    rows = []

    def row(label, fn_, pause=0.0):
        m, lo = med(fn_, args.reps, pause)
        rows.append((label, m, lo))
        print(f"{label:<52} median {m * 1e3:8.2f} ms   min {lo * 1e3:8.2f} ms", flush=True)

    if args.no_floors:
        row(f"fd.{args.func}(...).compute() (the bench's call)", lambda: call(d))
        row(f"in-process fastloss.{args.func}", lambda: local(d))
        print(f"ratio {rows[0][1] / rows[1][1]:.2f}x (medians)")
    if not args.no_floors:
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
        import dask.array as da

        arrays = [v for v in d.values() if isinstance(v, da.Array)]
        if arrays:
            row("da.sum of the first input: .sum().compute()", lambda: arrays[0].sum().compute())
        row(f"fd.{args.func}(...).compute() (the bench's call)", lambda: call(d))
        row(f"fd.{args.func}(...).compute(), 20 ms idle before each", lambda: call(d), 0.02)
        row(f"in-process fastloss.{args.func}", lambda: local(d))

    # The workers' side, from the task stream and the tasks' stories: time in
    # our functions ('compute'), and from a task being started by the worker to
    # its result being stored, the rest being hand-offs.
    calls = 1 if args.no_floors else 5
    with distributed.get_task_stream(client) as ts:
        for _ in range(calls):
            call(d)
    by = {}
    for rec in ts.data:
        name = rec["key"][0] if isinstance(rec["key"], tuple) else rec["key"]
        if not str(name).startswith("fastloss"):
            continue
        dur = sum(s["stop"] - s["start"] for s in rec["startstops"] if s["action"] == "compute")
        xfer = sum(s["stop"] - s["start"] for s in rec["startstops"] if s["action"] == "transfer")
        kind = str(name).rsplit("-", 1)[-1] if "-state" in name or "-local" in name or "-merge" in name else "root"
        by.setdefault(kind, []).append((dur, xfer))
    for kind, v in by.items():
        print(f"  task stream {kind:<10} n={len(v) / calls:.0f}/call  compute {sum(a for a, _ in v) / calls * 1e3:.2f} ms/call"
              f"  transfer {sum(b for _, b in v) / calls * 1e3:.2f} ms/call")

    if args.profile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        for _ in range(20):
            call(d)
        pr.disable()
        pstats.Stats(pr).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
