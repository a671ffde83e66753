"""The ``fastloss`` command: ``bench``, ``info``, ``cache``, ``warmup``."""
from __future__ import annotations

import argparse
import os
import sys


def _info() -> int:
    from importlib import metadata

    import numba

    from . import __version__

    def version(pkg):
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    print(f"fastloss      {__version__}")
    print(f"python        {sys.version.split()[0]}")
    for pkg in ("numpy", "numba", "llvmlite", "scipy", "torch", "scikit-learn", "jiwer", "matplotlib"):
        print(f"{pkg:<13} {version(pkg)}")
    from ._core import consts, jit, runtime  # picks the threading layer, registers the cache

    print(f"threads       {numba.get_num_threads()} (NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, cores={os.cpu_count()})")
    layer = jit.threading_layer()
    safe = "fork- and thread-safe" if layer in runtime.SAFE_LAYERS else "NOT fork/thread-safe, see docs/design.md"
    print(f"threading     {layer} ({safe}; NUMBA_THREADING_LAYER={os.environ.get('NUMBA_THREADING_LAYER', 'unset')})")
    print(f"libtbb        {runtime.tbb_status()} (tbb wheel {version('tbb')})")
    print(
        f"serial below  {consts.SERIAL_BELOW_ELEMENTWISE} elements (elementwise), {consts.SERIAL_BELOW_ROWS} (row losses), "
        f"{consts.SERIAL_BELOW_SOFTMAX} (softmax rows)"
    )
    where = "NUMBA_CACHE_DIR" if os.environ.get("NUMBA_CACHE_DIR") else "per-user, keyed by fastloss version, CPU and install"
    print(f"kernel cache  {runtime.cache_dir()} ({where}; {_cache_size(runtime.cache_dir())})")
    from llvmlite import binding

    try:
        svml = binding.targets.has_svml()
    except Exception:  # pragma: no cover
        svml = "unknown"
    print(f"SVML          {svml} (fastloss uses its own vectorisable exp/log either way)")
    from ._core import cpu

    w = cpu.vector_width_info()
    print(f"vector width  {w.get('width') or 'LLVM default'} on {w.get('cpu', '?')} ({w.get('reason', '?')}; FASTLOSS_VECTOR_WIDTH)")
    return 0


def _cache_size(path) -> str:
    files = size = 0
    for dirpath, _, names in os.walk(path):
        for f in names:
            if f.endswith((".nbi", ".nbc")):
                files += 1
                try:
                    size += os.path.getsize(os.path.join(dirpath, f))
                except OSError:
                    pass
    return f"{files} files, {size / 2**20:.1f} MiB"


def _cache(args) -> int:
    from ._core import runtime

    if args.action == "clear":
        removed, freed = runtime.clear_cache()
        for root in removed:
            print(f"removed {root}")
        print(f"freed {freed / 2**20:.1f} MiB" if removed else "nothing to remove")
        if os.environ.get("NUMBA_CACHE_DIR"):
            print(f"NUMBA_CACHE_DIR={os.environ['NUMBA_CACHE_DIR']} is Numba's (shared with other code): left alone")
        return 0
    # "dir": print the directory only, for scripts (no Numba import needed
    # unless the CPU key is; llvmlite alone gives it).
    print(runtime.cache_dir())
    return 0


def _cache_is_cold() -> bool:
    from ._core import runtime

    for _, _, names in os.walk(runtime.cache_dir()):
        if any(f.endswith(".nbi") for f in names):
            return False
    return True


def _warmup(args) -> int:
    import time

    from .bench import warmup

    t0 = time.perf_counter()
    families = args.family or None
    tour = args.tour or (args.quick and not families)
    n = warmup.warmup(families, jobs=args.jobs, progress=not args.no_progress, quick=args.quick, tour=tour)
    print(f"warmed up {n} kernel calls in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _bench(args) -> int:
    from .bench import run as benchrun

    if args.plot:  # before anything runs: a missing matplotlib must not cost a benchmark
        from .bench import plot as benchplot

        benchplot.check_backend(args.plot)
    plan = benchrun.select(args.family, args.func, args.quick)
    if plan and not args.func and _cache_is_cold():
        # First run: compile the kernels in parallel processes (Numba
        # compiles on one thread) instead of one by one inside the timing loop.
        import time

        from .bench import warmup

        t0 = time.perf_counter()
        print("first run: compiling the kernels once (cached on disk for every later run)", file=sys.stderr)
        warmup.warmup(args.family or None, jobs=None, progress=not args.no_progress, quick=args.quick,
                      tour=benchrun.is_tour(args.family, args.func, args.quick))
        print(f"compiled in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if not plan:
        print("nothing to run: check --family/--func", file=sys.stderr)
        return 2
    print(
        f"fastloss bench: {len(plan)} function/shape groups"
        + (" (quick)" if args.quick else "")
        + "; every library timed in this run, after a warm-up call; speed-up = library median / fastloss median",
        file=sys.stderr,
    )
    results = benchrun.run(plan, quick=args.quick, libraries=args.library, threads=args.threads, progress=not args.no_progress)
    print(benchrun.table(results, markdown=args.markdown))
    for text in benchrun.WARNINGS:
        print(f"warning during the run: {text}", file=sys.stderr)
    if args.family and "overhead" in args.family and not args.func:
        from .bench import busy

        print()
        print("Latency while another process loops a parallel huber_loss over 10^7 (fresh process each):")
        print(busy.table(busy.measure(progress=not args.no_progress), markdown=args.markdown))
    if args.json:
        benchrun.write_json(results, args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        benchrun.plot(results, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fastloss", description="Fast losses, gradients and metrics on the CPU.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="time fastloss against NumPy/PyTorch/scikit-learn/jiwer on built-in synthetic data")
    b.add_argument("--quick", action="store_true", help="a tour of the headline cases (~10 s; the very first run also compiles their kernels, in parallel processes: under a minute); with --family/--func: one small shape per function")
    b.add_argument("--family", action="append", help="only this family (repeatable): regression, classification, embedding, ctc, rnnt, decode, metrics, ood, overhead; dask (not run by default: starts a 2-worker LocalCluster)")
    b.add_argument("--func", action="append", help="only this function (repeatable), e.g. huber_loss")
    b.add_argument("--library", action="append", help="only these baselines (repeatable), e.g. torch")
    b.add_argument("--threads", type=int, default=None, help="Numba threads (default: all cores)")
    b.add_argument("--json", metavar="FILE", help="write the results as JSON")
    b.add_argument("--plot", metavar="FILE.png", help="summary chart: speed-up over each peer per case, plus time-vs-size panels for size sweeps (needs matplotlib)")
    b.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("info", help="versions, threads, threading layer, kernel cache location")
    c = sub.add_parser("cache", help="the on-disk kernel cache: `fastloss cache clear` empties it, `fastloss cache dir` prints it")
    c.add_argument("action", choices=("clear", "dir"))
    w = sub.add_parser("warmup", help="compile (or load) the kernels ahead of time, in parallel processes")
    w.add_argument("--family", action="append", help="only this family (repeatable); default: all")
    w.add_argument("--jobs", type=int, default=None, help="processes (default: one per core)")
    w.add_argument("--quick", action="store_true", help="only what `fastloss bench --quick` calls (with the same --family)")
    w.add_argument("--tour", action="store_true", help="only the cases of `fastloss bench --quick`'s tour (what it runs without --family)")
    w.add_argument("--no-progress", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info()
    if args.command == "cache":
        return _cache(args)
    if args.command == "warmup":
        return _warmup(args)
    return _bench(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
