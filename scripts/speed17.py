"""Same-run timings for issue 17: fastloss vs torch, fresh output buffers.

python scripts/speed17.py [ctc|ce|all] [repeats]
Each library timed in its own block (warm-up, then `repeats` calls), medians.
"""
import os as _os
import sys as _sys

# run this checkout, not the editable install (sys.path[0] is scripts/)
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import os
import statistics
import sys
import time

import numpy as np
import torch

import fastloss

torch.set_num_threads(2)
F = torch.nn.functional


def med(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def ctc_data(T, N, C, L, scale, dt, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, N, C)) * scale
    m = x.max(-1, keepdims=True)
    lp = (x - (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))).astype(dt)
    return lp, rng.integers(1, C, (N, L)), np.full(N, T, np.int64), np.full(N, L, np.int64)


CTC_SHAPES = [
    (2000, 8, 30, 300, 30.0, "float32"),
    (2000, 8, 30, 300, 30.0, "float64"),
    (500, 32, 30, 100, 1.0, "float32"),
    (1000, 8, 5000, 200, 1.0, "float32"),
]


def bench_ctc(reps):
    for T, N, C, L, sc, dt in CTC_SHAPES:
        lp, tg, il, tl = ctc_data(T, N, C, L, sc, dt)
        f = lambda: fastloss.ctc_loss(lp, tg, il, tl, return_grad=True)
        go = np.empty_like(lp)
        fg = lambda: fastloss.ctc_loss(lp, tg, il, tl, return_grad=True, grad_out=go)
        tt, ti, tlt = torch.from_numpy(tg), torch.from_numpy(il), torch.from_numpy(tl)

        def ft():
            x = torch.from_numpy(lp).requires_grad_(True)
            F.ctc_loss(x, tt, ti, tlt).backward()
            return x.grad

        a, b, c = med(f, reps), med(fg, reps), med(ft, reps)
        print(f"ctc T{T} N{N} C{C} L{L}{' peaky' if sc != 1 else ''} {dt}: fastloss {a*1e3:.2f} ms "
              f"(grad_out {b*1e3:.2f}), torch {c*1e3:.2f} ms -> {c/a:.2f}x ({c/b:.2f}x grad_out)", flush=True)


def bench_ce(reps):
    for R, C in ((4096, 32000), (65536, 1000)):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((R, C), dtype=np.float32)
        y = rng.integers(0, C, R)
        go = np.empty_like(x)
        f = lambda: fastloss.cross_entropy(x, y, return_grad=True)
        fg = lambda: fastloss.cross_entropy(x, y, return_grad=True, grad_out=go)
        yt = torch.from_numpy(y)

        def ft():
            xt = torch.from_numpy(x).requires_grad_(True)
            F.cross_entropy(xt, yt).backward()
            return xt.grad

        a, b, c = med(f, reps), med(fg, reps), med(ft, reps)
        print(f"ce {R}x{C} f32: fastloss {a*1e3:.1f} ms (grad_out {b*1e3:.1f}), torch {c*1e3:.1f} ms "
              f"-> {c/a:.2f}x ({c/b:.2f}x grad_out)", flush=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    print("load", os.getloadavg(), flush=True)
    if what in ("ce", "all"):
        bench_ce(reps)
    if what in ("ctc", "all"):
        bench_ctc(reps)
