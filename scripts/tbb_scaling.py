"""Does a cached parallel kernel scale from 1 to 2 threads with the libtbb in use?

    python scripts/tbb_scaling.py [rows] [classes]

Times the float32 cross_entropy row kernel (loaded from the kernel cache after
the first run) at 1 and 2 Numba threads, median of 15 calls, and prints the
libtbb file loaded.  docs/design.md ("TBB below 2022") records the figures
that set the ``tbb<2022`` requirement.
"""
import sys
import time

import numpy as np

import fastloss
from fastloss._core import runtime
from fastloss._core.consts import CE_INDEX
from fastloss._kernels.losses import classification as k
import numba


def main(R=16384, C=1000):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((R, C)).astype(np.float32)
    y = rng.integers(0, C, R)
    rowloss = np.empty(R)
    args = (CE_INDEX, x, y, np.empty((1, 1), np.float32), np.ones(1), False, float(C), -100, 0.0, 0.0,
            1.0, False, np.empty((1, 1), np.float32), rowloss, True)
    k.rows(*args)
    print(f"fastloss {fastloss.__version__}, layer {numba.threading_layer()}, libtbb {runtime.tbb_status()}")
    walls = {}
    for th in (1, 2):
        numba.set_num_threads(th)
        ts = []
        for _ in range(15):
            t0, c0 = time.perf_counter(), time.process_time()
            k.rows(*args)
            ts.append((time.perf_counter() - t0, time.process_time() - c0))
        ts.sort()
        walls[th] = ts[7][0]
        print(f"{R} x {C} float32, {th} thread(s): {ts[7][0] * 1e3:.2f} ms (CPU {ts[7][1] * 1e3:.2f} ms)")
    print(f"speed-up on 2 threads: {walls[1] / walls[2]:.2f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
