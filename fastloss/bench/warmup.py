"""``fastloss warmup``: compile (or load) the kernels ahead of time.

The kernels compiled are the ones the benchmark cases call (every function's
forward and gradient paths, in the dtypes the cases use), each on its
smallest shape, so the work is compiling, not computing.  Numba compiles on
one thread, so families are spread over ``jobs`` worker processes; they share
the on-disk cache (Numba writes each cache file atomically).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from .cases import FAMILIES, all_cases, picked


SLOW_FIRST = ("decode", "ctc")


def _size(params: dict) -> int:
    n = 1
    for v in params.values():
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            n *= max(int(v), 1)
    return n


def calls(families=None, quick=False, tour=False) -> list:
    """(case, shape, sizes) to run: per case, the smallest shape of each dtype
    (of the ``--quick`` shapes only, with ``quick``; of the tour's, with
    ``tour``: what ``fastloss bench --quick`` will call, nothing more), with
    the element counts of all the shapes of that dtype the benchmark will
    call."""
    out = []
    for case in all_cases(tuple(families) if families else FAMILIES):
        best, sizes = {}, {}
        for shape in picked(case, quick, tour):
            key = str(shape.params.get("dtype", ""))
            sizes.setdefault(key, []).append(_size(shape.params))
            if key not in best or _size(shape.params) < _size(best[key].params):
                best[key] = shape
        out.extend((case, s, sizes[k]) for k, s in best.items())
    return out


def _thresholds(value=None) -> dict:
    """The small-input thresholds where the wrappers read them (set them all
    to ``value`` when given); returns the previous values."""
    from .._core import driver
    from ..losses import classification

    where = {(driver, "SERIAL_BELOW_ELEMENTWISE"), (driver, "SERIAL_BELOW_ROWS"),
             (classification, "SERIAL_BELOW_SOFTMAX")}
    before = {(m, n): getattr(m, n) for m, n in where}
    if value is not None:
        for m, n in where:
            setattr(m, n, value)
    return before


def run_here(families=None, progress=True, quick=False, tour=False) -> int:
    """Each call at its smallest size (small: the kernels' serial twins, see
    ``fastloss._core.jit.launch``), and again with the small-input thresholds
    off (the parallel kernels) when a shape the benchmark calls is large
    enough to run them; a user-size call that is never large compiles only
    the twin."""
    plan = calls(families or FAMILIES, quick, tour)
    lowest = min(_thresholds().values())
    for i, (case, shape, sizes) in enumerate(plan):
        if progress:
            print(f"[{i + 1}/{len(plan)}] {case.group(shape)}", file=sys.stderr, flush=True)
        fn = case.impls()["fastloss"]
        data = case.make(shape.params, np.random.default_rng(0))
        fn(data)
        if max(sizes) < lowest:
            continue
        before = _thresholds(0)
        try:
            fn(data)
        finally:
            for (m, n), v in before.items():
                setattr(m, n, v)
    return len(plan)


def warmup(families=None, *, jobs=None, progress=True, quick=False, tour=False) -> int:
    """Compile the kernels of ``families`` (default: all) in ``jobs``
    processes (default: one per core); returns the number of calls made.
    ``tour``: only the cases of ``fastloss bench --quick``'s tour."""
    fams = list(families) if families else list(FAMILIES)
    if tour:
        fams = [f for f in fams if calls([f], quick, tour)]
    if not fams:
        return 0
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(fams) <= 1:
        return run_here(fams, progress, quick, tour)
    # Longest first: the families with the most specialisations to compile,
    # except that the CTC and decoder kernels, the slowest single compiles
    # (measured ~20 s and ~30 s), always start first.
    order = sorted(fams, key=lambda f: (f not in SLOW_FIRST, SLOW_FIRST.index(f) if f in SLOW_FIRST else 0,
                                        -len(calls([f], quick, tour))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_root(), os.environ.get("PYTHONPATH")])))
    running, done, total = [], 0, 0
    pending = list(order)
    failed = []
    while pending or running:
        while pending and len(running) < jobs:
            fam = pending.pop(0)
            cmd = [sys.executable, "-m", "fastloss", "warmup", "--jobs", "1", "--no-progress", "--family", fam]
            cmd += ["--quick"] if quick else []
            cmd += ["--tour"] if tour else []
            running.append((fam, subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
        time.sleep(0.05)
        for item in list(running):
            fam, proc = item
            if proc.poll() is None:
                continue
            running.remove(item)
            done += 1
            err = proc.stderr.read()
            if proc.returncode != 0:
                failed.append((fam, err.strip().splitlines()[-1:] or ["?"]))
            total += len(calls([fam], quick, tour))
            if progress:
                print(f"[{done}/{len(order)}] {fam} compiled", file=sys.stderr, flush=True)
    if failed:
        raise RuntimeError("warm-up failed for " + "; ".join(f"{f}: {e[0]}" for f, e in failed))
    return total


def _root() -> str:
    # The directory that holds this fastloss package, so that the workers
    # import the same copy (a clone run from its root, or site-packages).
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
