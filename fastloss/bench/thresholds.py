"""Measure the small-input thresholds (``SERIAL_BELOW_*`` in
``fastloss/_core/consts.py``): ``python -m fastloss.bench.thresholds``.

For each family, the same compiled kernel is timed at 1 and at all threads
over sizes 2^10 .. 2^19 (thresholds switched off, medians of interleaved
calls); the crossover is the smallest size from which all threads are
faster.  Prints a table; the constants are set from it by hand, rounded
down to a power of two.
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np


def _calls(n: int, rng):
    import fastloss

    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    g = np.empty_like(x)
    C = 100
    R = max(n // C, 1)
    lg = rng.standard_normal((R, C)).astype(np.float32)
    lb = rng.integers(0, C, R)
    gg = np.empty_like(lg)
    D = 64
    M = max(n // D, 1)
    a, b, c = (rng.standard_normal((M, D)).astype(np.float32) for _ in range(3))
    return {
        "elementwise (mse_loss fwd+grad)": lambda: fastloss.mse_loss(x, y, return_grad=True, grad_out=g),
        "softmax rows (cross_entropy fwd+grad, C=100)": lambda: fastloss.cross_entropy(lg, lb, return_grad=True, grad_out=gg),
        "row losses (triplet_margin_loss fwd+grad, D=64)": lambda: fastloss.triplet_margin_loss(a, b, c, return_grad=True),
    }


def measure(sizes=None, reps: int = 200):
    import fastloss._core.jit  # noqa: F401  (fastloss's threading layer first)
    import numba

    import fastloss._core.driver as driver
    import fastloss.losses.classification as cls

    driver.SERIAL_BELOW_ELEMENTWISE = driver.SERIAL_BELOW_ROWS = cls.SERIAL_BELOW_SOFTMAX = 0
    sizes = sizes or [1 << k for k in range(10, 20)]
    full = numba.get_num_threads()
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        for name, f in _calls(n, rng).items():
            f()
            t = {1: [], full: []}
            for _ in range(reps):
                for k in (1, full):  # interleaved: both see the same machine state
                    numba.set_num_threads(k)
                    t0 = time.perf_counter()
                    f()
                    t[k].append(time.perf_counter() - t0)
            numba.set_num_threads(full)
            rows.append((name, n, statistics.median(t[1]), statistics.median(t[full])))
    return rows, full


def main() -> int:
    rows, full = measure()
    print(f"{'family':<50}{'elements':>10}{'1 thread':>12}{f'{full} threads':>12}{'ratio':>8}")
    for name, n, t1, tn in rows:
        print(f"{name:<50}{n:>10}{t1 * 1e6:>10.1f}us{tn * 1e6:>10.1f}us{t1 / tn:>8.2f}")
    for name in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == name]
        cross = next((r[1] for i, r in enumerate(mine) if all(s[2] > s[3] for s in mine[i:])), None)
        print(f"crossover {name}: {cross}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
