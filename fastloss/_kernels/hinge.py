"""Elementwise binary hinge kernels, in :mod:`fastloss._driver`'s convention.

``head = (margin, squared, zero_one, has_w)``; operands ``(x, t, w)``.
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


@kernel(parallel=True)
def reduce(margin, squared, zero_one, has_w, x, t, w, partials):
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        acc = 0.0
        if has_w:
            ws = w[lo:hi]
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                acc += l * np.float64(ws[i])
        else:
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                acc += l
        partials[c] = acc


@kernel(parallel=True)
def reduce_grad(margin, squared, zero_one, has_w, x, t, w, gscale, grad, partials):
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        gs = grad[lo:hi]
        acc = 0.0
        if has_w:
            ws = w[lo:hi]
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                wi = np.float64(ws[i])
                acc += l * wi
                gs[i] = g * (wi * gscale)
        else:
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                acc += l
                gs[i] = g * gscale
        partials[c] = acc


@kernel(parallel=True)
def pointwise(margin, squared, zero_one, has_w, x, t, w, out, grad, want_grad):
    n = x.size
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in numba.prange(nchunks):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        os = out[lo:hi]
        if want_grad:
            gs = grad[lo:hi]
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                wi = np.float64(w[lo + i]) if has_w else 1.0
                os[i] = l * wi
                gs[i] = g * wi
        else:
            for i in range(xs.size):
                l, g = element(margin, squared, zero_one, np.float64(xs[i]), np.float64(ts[i]))
                wi = np.float64(w[lo + i]) if has_w else 1.0
                os[i] = l * wi
