"""Peak memory of fastloss.rnnt_loss beyond the logits and the gradient.

Two measures of the second call (the first compiles or loads the kernels):
``tracemalloc``'s peak, which sees every NumPy allocation the wrapper makes
(the lattice arrays); and the peak-RSS growth (``/proc/self/clear_refs``, then
``VmHWM`` minus the RSS before the call), which also sees Numba's allocations
inside the kernels (one row of V floats per thread for a loss-only call) but
not memory the allocator reuses from the first call:

    python bench/rnnt_memory.py            # B=8, T=200, U=50, V=500, float32
"""
import sys
import tracemalloc

import numpy as np

import fastloss


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def main(B=8, T=200, U=50, V=500):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, U + 1, V), dtype=np.float32)
    tg = rng.integers(0, V - 1, (B, U)).astype(np.int32)
    il, tl = np.full(B, T), np.full(B, U)
    g = np.ones_like(x)
    for mode, kw in (("loss + grad into grad_out", dict(return_grad=True, grad_out=g)),
                     ("loss + grad in place (grad_out=logits)", dict(return_grad=True, grad_out=x)),
                     ("loss only", {})):
        fastloss.rnnt_loss(x, tg, il, tl, **kw)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS")
        tracemalloc.start()
        fastloss.rnnt_loss(x, tg, il, tl, **kw)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss = status("VmHWM") - before
        print(f"{mode:40s} tracemalloc peak {traced / 2**20:6.2f} MiB = {100 * traced / x.nbytes:4.2f}% of the "
              f"logits ({x.nbytes / 2**20:.1f} MiB); peak RSS growth {rss / 2**20:6.2f} MiB")


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:5]])
