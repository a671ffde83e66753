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
from dataclasses import asdict, dataclass

import numpy as np

from .cases import FAMILIES, all_cases


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


def _progress(i, total, text, stream=sys.stderr):
    if not stream.isatty():
        stream.write(f"[{i}/{total}] {text}\n")
    else:
        width = 30
        done = int(width * i / max(total, 1))
        stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{total} {text[:60]:<60}")
    stream.flush()


def select(families=None, funcs=None, quick=False):
    cases = all_cases(tuple(families) if families else FAMILIES)
    if funcs:
        cases = [c for c in cases if c.func in funcs]
    plan = []
    for case in cases:
        for shape in case.shapes:
            if quick and not shape.quick:
                continue
            plan.append((case, shape))
    return plan


def run(plan, *, quick=False, libraries=None, seed=0, progress=True, threads=None) -> list:
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
        for lib, fn in impls.items():
            times = time_call(fn, data, min_time=min_time, max_runs=max_runs)
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
    else:
        lines.append(f"{'function':<26}{'variant':<14}{'shape':<24}{'library':<18}{'median':>12}  {'fastloss x':>10}")
    for r in results:
        ratio = "" if r.library == "fastloss" else f"{r.speedup:.2f}x"
        if markdown:
            lines.append(f"| {r.func} | {r.variant} | {r.shape} | {r.library} | {_fmt_time(r.median_s).strip()} | {ratio} |")
        else:
            lines.append(f"{r.func:<26}{r.variant:<14}{r.shape:<24}{r.library:<18}{_fmt_time(r.median_s):>12}  {ratio:>10}")
    return "\n".join(lines)


def write_json(results, path):
    import platform

    meta = {"python": platform.python_version(), "machine": platform.machine()}
    try:
        import numba

        meta.update(numba=numba.__version__, threads=numba.get_num_threads())
    except Exception:  # pragma: no cover
        pass
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": [asdict(r) for r in results]}, f, indent=1)


def plot(results, path):
    """Time against size (log-log), one panel per function/variant that has
    several sizes, one line per library."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SystemExit("--plot needs matplotlib: pip install matplotlib") from exc
    panels = {}
    for r in results:
        if not r.params or "n" not in r.params:
            continue
        key = (r.func, r.variant, r.params.get("dtype", ""))
        panels.setdefault(key, {}).setdefault(r.library, []).append((r.params["n"], r.median_s))
    panels = {k: v for k, v in panels.items() if max(len(p) for p in v.values()) > 1}
    if not panels:
        raise SystemExit("--plot: no function was run at several sizes (try without --quick)")
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    for ax, (key, libs) in zip(axes.flat, sorted(panels.items())):
        for lib, pts in sorted(libs.items(), key=lambda kv: kv[0] != "fastloss"):
            pts.sort()
            ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker="o", label=lib,
                      linewidth=2.5 if lib == "fastloss" else 1.2, linestyle="--" if lib.startswith("bound") else "-")
        ax.set_title(f"{key[0]} [{key[1]}] {key[2]}", fontsize=9)
        ax.set_xlabel("elements")
        ax.set_ylabel("median seconds")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
