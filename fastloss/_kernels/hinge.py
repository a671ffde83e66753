"""Elementwise binary hinge kernel.

Operands ``x, t, w`` are 1-D C-contiguous arrays of one float dtype (``w`` a
1-element placeholder when absent); the wrapper guarantees it.  Chunks of
``CHUNK`` elements, one float64 partial each, combined exactly by the
wrapper (thread-count independent).
``zero_one`` maps targets {0, 1} to {-1, +1} on the fly (y = 2t - 1), so no
converted copy of the target is made; the wrapper has checked the values.
"""
from __future__ import annotations

import numpy as np

from .._jit import CHUNK, kernel, numba


@kernel(inline=True)
def element(margin, squared, zero_one, x, t):
    """(loss, d loss / d x) of one element, in float64."""
    y = 2.0 * t - 1.0 if zero_one else t
    h = margin - y * x
    if h > 0.0:
        if squared:
            return h * h, -2.0 * h * y
        return h, -y
    if h != h:
        return h, h
    return 0.0, 0.0


REDUCE, REDUCE_GRAD, POINTWISE = range(3)


@kernel(parallel=True)
def binary(margin, squared, zero_one, has_w, x, t, w, mode, gscale, out, grad, partials):
    """One kernel for the three modes (one compile per dtype, not three).

    REDUCE: partials[c] = chunk sum of (weighted) losses; REDUCE_GRAD: and
    grad[i] = gscale * w[i] * dloss/dx[i]; POINTWISE: out[i] = loss,
    grad[i] = w[i] * dloss/dx[i] (when gscale != 0).  The mode branch is loop
    invariant.
    """
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        ws = w[lo:hi] if has_w else w[0:1]
        acc = 0.0
        if mode == REDUCE:
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                acc += l * (np.float64(ws[i]) if has_w else 1.0)
        elif mode == REDUCE_GRAD:
            gs = grad[lo:hi]
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                wi = np.float64(ws[i]) if has_w else 1.0
                acc += l * wi
                gs[i] = g * (wi * gscale)
        else:
            os = out[lo:hi]
            gs = grad[lo:hi]
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                wi = np.float64(ws[i]) if has_w else 1.0
                os[i] = l * wi
                if gscale != 0.0:
                    gs[i] = g * wi
        partials[c] = acc
