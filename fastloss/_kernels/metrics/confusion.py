"""Kernel of the confusion matrix and precision/recall/F (see ``fastloss/metrics/confusion.py``).

* :func:`pair_hist`: the (true, predicted) label histogram behind the
  confusion matrix and precision/recall/F.  The data is cut into a fixed
  number of contiguous blocks (a function of ``n`` only, never of the thread
  count); each block fills its own histogram; the wrapper adds the block
  histograms in block order.  Counts are int64 (exact); weighted sums are
  float64 added sequentially inside a block, so the result is bitwise
  identical for any number of threads.
"""
from __future__ import annotations

from ..._core.jit import kernel, numba

prange = numba.prange


@kernel(parallel=True)
def pair_hist(t, p, lo, r, w, has_w, nblocks, counts, wsum):
    """counts[b, (t-lo)*r + (p-lo)] += 1 (and wsum += w) over block b.

    ``t``/``p`` are int64 labels already proven to lie in [lo, lo + r).
    """
    n = t.size
    step = (n + nblocks - 1) // nblocks
    for b in prange(nblocks):
        s = b * step
        e = min(n, s + step)
        c = counts[b]
        if has_w:
            ws = wsum[b]
            for i in range(s, e):
                k = (t[i] - lo) * r + (p[i] - lo)
                c[k] += 1
                ws[k] += w[i]
        else:
            for i in range(s, e):
                c[(t[i] - lo) * r + (p[i] - lo)] += 1


__all__ = ["pair_hist"]
