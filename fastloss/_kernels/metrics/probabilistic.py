"""Kernel of the probabilistic scores (see ``fastloss/metrics/probabilistic.py``).

:func:`prob_rows` reads the ``(N, K)`` probabilities once and, per fixed
chunk of rows, accumulates in float64 the (weighted) per-row loss, the
smallest and largest probability and the number of rows whose sum is not 1
(the checks scikit-learn makes in separate passes).  Chunk partials are
combined by the wrapper in chunk order: identical for any thread count.
"""
from __future__ import annotations

import math

from ..._core.jit import kernel, numba

LOG_LOSS, BRIER = 0, 1


@kernel(parallel=True)
def prob_rows(mode, P, code, w, has_w, eps, rtol, rows, loss, lo, hi, bad):
    """Row chunk c (``rows`` rows): loss[c] = sum_i w_i l_i, lo/hi the min/max
    of P, bad[c] the rows with |sum_k P[i, k] - 1| > 1e-8 + rtol.

    ``P`` is (N, K); K == 1 means the probability of class 1 of a binary
    problem (the row is ``[1 - p, p]``).  ``code[i]`` in [0, max(K, 2)) is
    proven valid by the wrapper.
    """
    n, k = P.shape
    nch = loss.size
    for c in numba.prange(nch):
        s = c * rows
        e = min(n, s + rows)
        acc = 0.0
        mn = math.inf
        mx = -math.inf
        nb = 0
        for i in range(s, e):
            y = code[i]
            if k == 1:
                p = float(P[i, 0])
                mn = min(mn, p)
                mx = max(mx, p)
                if mode == LOG_LOSS:
                    q = p if y == 1 else 1.0 - p
                    q = min(max(q, eps), 1.0 - eps)
                    li = -math.log(q)
                else:
                    d = (1.0 if y == 1 else 0.0) - p
                    li = 2.0 * d * d
            else:
                tot = 0.0
                li = 0.0
                if mode == LOG_LOSS:
                    for j in range(k):
                        p = float(P[i, j])
                        tot += p
                        mn = min(mn, p)
                        mx = max(mx, p)
                    q = min(max(float(P[i, y]), eps), 1.0 - eps)
                    li = -math.log(q)
                else:
                    for j in range(k):
                        p = float(P[i, j])
                        tot += p
                        mn = min(mn, p)
                        mx = max(mx, p)
                        d = (1.0 if j == y else 0.0) - p
                        li += d * d
                if abs(tot - 1.0) > 1e-8 + rtol:
                    nb += 1
            acc += li * w[i] if has_w else li
        loss[c] = acc
        lo[c] = mn
        hi[c] = mx
        bad[c] = nb


__all__ = ["prob_rows", "LOG_LOSS", "BRIER"]
