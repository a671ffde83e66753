"""Run the benchmark table (``fastloss bench`` and ``bench/``).

Every library is timed on the same inputs in the same process, interleaved
shape by shape, after an explicit warm-up call (which for fastloss includes
loading or compiling the kernel), so the reported speed-ups are ratios
measured in one run on one machine state.
"""
from __future__ import annotations

import gc
import json
import math
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .cases import FAMILIES, all_cases, picked


@dataclass
class Result:
    func: str
    variant: str
    family: str
    shape: str
    library: str
    median_s: float
    min_s: float
    runs: int
    speedup: float = math.nan  # baseline median / fastloss median (fastloss row: 1)
    params: dict | None = None


def time_call(fn, data, *, min_time: float, max_runs: int, min_runs: int = 3) -> list:
    fn(data)  # warm-up: JIT load/compile, caches, page faults of outputs
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < min_time and len(times) < max_runs):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    return times


def _min_runs(case) -> int:
    if case.family == "overhead":
        from .cases.overhead import MIN_RUNS

        return MIN_RUNS
    return 3


def _progress(i, total, text, stream=sys.stderr):
    if not stream.isatty():
        stream.write(f"[{i}/{total}] {text}\n")
    else:
        width = 30
        done = int(width * i / max(total, 1))
        stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{total} {text[:60]:<60}")
    stream.flush()


def select(families=None, funcs=None, quick=False):
    """(case, shape) pairs to run; ``quick`` with neither ``families`` nor
    ``funcs`` is the tour (``cases.TOUR``), otherwise the quick shapes."""
    cases = all_cases(tuple(families) if families else FAMILIES)
    if funcs:
        cases = [c for c in cases if c.func in funcs]
    tour = is_tour(families, funcs, quick)
    return [(case, shape) for case in cases for shape in picked(case, quick, tour)]


def is_tour(families=None, funcs=None, quick=False) -> bool:
    return bool(quick) and not families and not funcs


def cpu_info() -> dict:
    """CPU model and the vector-extension flags that decide kernel speed
    (recorded with every result: ratios on one CPU do not carry to another)."""
    import platform

    info = {"machine": platform.machine(), "model": platform.processor() or "unknown", "flags": []}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and info["model"] in ("unknown", platform.machine()):
            info["model"] = value.strip()
        elif key == "flags":
            wanted = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_fp16")
            have = set(value.split())
            info["flags"] = [w for w in wanted if w in have]
            break
    return info


#: Warnings raised by the peers during a run, shown once after the table
#: (never interleaved with the progress lines).
WARNINGS: list = []


def run(plan, *, quick=False, libraries=None, seed=0, progress=True, threads=None) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = _run(plan, quick=quick, libraries=libraries, seed=seed, progress=progress, threads=threads)
    seen = set()
    WARNINGS.clear()
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.add(text)
            WARNINGS.append(text)
    return results


def _run(plan, *, quick, libraries, seed, progress, threads) -> list:
    if threads:
        import numba

        numba.set_num_threads(threads)
    results = []
    min_time = 0.3 if quick else 1.0
    max_runs = 10 if quick else 30
    total = len(plan)
    for i, (case, shape) in enumerate(plan):
        if progress:
            _progress(i, total, case.group(shape))
        impls = case.impls()
        if libraries:
            impls = {k: v for k, v in impls.items() if k == "fastloss" or k in libraries}
        if "torch" in sys.modules:
            import numba
            import torch

            torch.set_num_threads(numba.get_num_threads() if "numba" in sys.modules else 2)
        data = case.make(shape.params, np.random.default_rng(seed))
        rows = []
        # Overhead cases are microseconds: at least MIN_RUNS calls (median).
        runs = _min_runs(case)
        for lib, fn in impls.items():
            times = time_call(fn, data, min_time=min_time, max_runs=max(max_runs, runs), min_runs=max(3, runs))
            rows.append(Result(case.func, case.variant, case.family, shape.label, lib,
                               statistics.median(times), min(times), len(times), params=shape.params))
        base = next((r.median_s for r in rows if r.library == "fastloss"), math.nan)
        for r in rows:
            r.speedup = r.median_s / base
        results.extend(rows)
        del data
        gc.collect()
    if progress:
        _progress(total, total, "done")
        sys.stderr.write("\n")
    return results


def _fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:8.1f} us"
    if s < 1:
        return f"{s * 1e3:8.2f} ms"
    return f"{s:8.3f} s "


def table(results, markdown=False) -> str:
    """Rows: one per (function, variant, shape, library), with the speed-up of
    fastloss over that library (its median / fastloss's median)."""
    lines = []
    if markdown:
        lines.append("| function | variant | shape | library | median | fastloss speed-up |")
        lines.append("|---|---|---|---|---:|---:|")
        for r in results:
            ratio = "" if r.library == "fastloss" else f"{r.speedup:.2f}x"
            lines.append(f"| {r.func} | {r.variant} | {r.shape} | {r.library} | {_fmt_time(r.median_s).strip()} | {ratio} |")
        return "\n".join(lines)
    # Columns as wide as their longest entry plus two spaces: never run together.
    cols = [("function", [r.func for r in results]), ("variant", [r.variant for r in results]),
            ("shape", [r.shape for r in results]), ("library", [r.library for r in results])]
    widths = [max([len(h)] + [len(v) for v in vals]) + 2 for h, vals in cols]
    head = "".join(f"{h:<{w}}" for (h, _), w in zip(cols, widths))
    lines.append(f"{head}{'median':>12}  {'fastloss x':>10}")
    for r in results:
        ratio = "" if r.library == "fastloss" else f"{r.speedup:.2f}x"
        row = "".join(f"{v:<{w}}" for v, w in zip((r.func, r.variant, r.shape, r.library), widths))
        lines.append(f"{row}{_fmt_time(r.median_s):>12}  {ratio:>10}")
    return "\n".join(lines)


def write_json(results, path):
    import platform

    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpu": cpu_info()}
    try:
        import numba

        from .._core import cpu

        meta.update(numba=numba.__version__, threads=numba.get_num_threads(), vector_width=cpu.vector_width_info())
    except Exception:  # pragma: no cover
        pass
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": [asdict(r) for r in results]}, f, indent=1)


def plot(results, path):
    """The summary chart of a run (see :mod:`fastloss.bench.plot`)."""
    from . import plot as _plot

    info = cpu_info()
    _plot.plot(results, path, cpu=f"{info['model']} ({', '.join(info['flags']) or 'no AVX flags'})")
