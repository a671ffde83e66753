"""The ``fastloss`` command: ``fastloss bench`` and ``fastloss info``."""
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
    # Run one tiny parallel kernel so that Numba reports the threading layer.
    import numpy as np

    from . import mse_loss

    mse_loss(np.zeros(4), np.zeros(4))
    from llvmlite import binding

    print(f"threads       {numba.get_num_threads()} (NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, cores={os.cpu_count()})")
    print(f"threading     {numba.threading_layer()}")
    cache = numba.config.CACHE_DIR or os.path.join(os.path.dirname(__file__), "_kernels", "__pycache__")
    print(f"kernel cache  {cache}")
    try:
        svml = binding.targets.has_svml()
    except Exception:  # pragma: no cover
        svml = "unknown"
    print(f"SVML          {svml} (fastloss uses its own vectorisable exp/log either way)")
    return 0


def _bench(args) -> int:
    from .bench import run as benchrun

    if args.plot:  # before anything runs: a missing matplotlib must not cost a benchmark
        from .bench import plot as benchplot

        benchplot.check_backend(args.plot)
    plan = benchrun.select(args.family, args.func, args.quick)
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
    b.add_argument("--quick", action="store_true", help="one small shape per function (~20 s; the very first run also compiles every kernel, ~2 min on 2 cores)")
    b.add_argument("--family", action="append", help="only this family (repeatable): regression, classification, embedding, ctc, rnnt, decode, metrics, ood")
    b.add_argument("--func", action="append", help="only this function (repeatable), e.g. huber_loss")
    b.add_argument("--library", action="append", help="only these baselines (repeatable), e.g. torch")
    b.add_argument("--threads", type=int, default=None, help="Numba threads (default: all cores)")
    b.add_argument("--json", metavar="FILE", help="write the results as JSON")
    b.add_argument("--plot", metavar="FILE.png", help="summary chart: speed-up over each peer per case, plus time-vs-size panels for size sweeps (needs matplotlib)")
    b.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("info", help="versions, threads, threading layer, kernel cache location")
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info()
    return _bench(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
