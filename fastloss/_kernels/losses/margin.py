"""Kernels of the margin losses: the elementwise binary hinge, and one row
kernel for PyTorch's multi-margin loss and the Crammer-Singer hinge.

Binary hinge:

Operands ``x, t, w`` are 1-D C-contiguous arrays of one float dtype (``w`` a
1-element placeholder when absent); the wrapper guarantees it.  Chunks of
``CHUNK`` elements, one float64 partial each, combined exactly by the
wrapper (thread-count independent).
``zero_one`` maps targets {0, 1} to {-1, +1} on the fly (y = 2t - 1), so no
converted copy of the target is made; the wrapper has checked the values.
"""
from __future__ import annotations

import numpy as np

from ..._core.consts import CHUNK, MULTI_MARGIN
from ..._core.jit import kernel, numba


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


# --------------------------------------------------------------- row losses


@kernel(inline=True)
def _mm_part(x, xy, margin, p2):
    s = 0.0
    for k in range(x.size):
        z = margin - xy + np.float64(x[k])
        h = z if (z > 0.0 or z != z) else 0.0
        s += h * h if p2 else h
    return s


@kernel(inline=True)
def _mm_grad_part(x, xy, margin, p2, c, g):
    s = 0.0
    for k in range(x.size):
        z = margin - xy + np.float64(x[k])
        gk = 0.0
        if z > 0.0:
            gk = c * (2.0 * z if p2 else 1.0)
        elif z != z:
            gk = z
        g[k] = gk
        s += gk
    return s


@kernel()
def _multi_margin_row(margin, p2, y, w, a, want, gscale, g):
    """torch multi_margin_loss of one row: sum_{k != y} w_y max(0, m - x_y + x_k)^p / C."""
    C = a.size
    xy = np.float64(a[y])
    # Two slices looped from 0 (a loop from a run-time start does not vectorise).
    s = _mm_part(a[:y], xy, margin, p2) + _mm_part(a[y + 1 :], xy, margin, p2)
    if want:
        c = w * gscale / C
        t = _mm_grad_part(a[:y], xy, margin, p2, c, g[:y]) + _mm_grad_part(a[y + 1 :], xy, margin, p2, c, g[y + 1 :])
        g[y] = -t
    return s * w / C


@kernel()
def _hinge_mc_row(margin, sq, y, w, a, want, gscale, g):
    """Crammer-Singer: max(0, m - x_y + max_{k != y} x_k) (squared if sq)."""
    C = a.size
    best = -np.inf
    kbest = -1
    isnan = False
    for k in range(C):
        if k != y:
            v = np.float64(a[k])
            if v > best:
                best = v
                kbest = k
            if v != v:
                isnan = True
    xy = np.float64(a[y])
    h = margin - xy + best
    if isnan:
        h = np.nan
    l = 0.0
    dl = 0.0
    if h > 0.0:
        l = h * h if sq else h
        dl = 2.0 * h if sq else 1.0
    elif h != h:
        l = h
        dl = h
    if want:
        for k in range(C):
            g[k] = 0.0 if dl == dl else dl
        if dl != 0.0 and dl == dl:
            g[y] = -dl * w * gscale
            g[kbest] = dl * w * gscale
    return l * w


@kernel(parallel=True)
def rowwise(kind, margin, flag, a, idx, cw, has_cw, out, grad, want, gscale, rows, partials):
    """out[i] = loss of row i of the (M, C) scores; partials[ch] = sum over
    chunk ch of ``rows`` rows; gradient rows if want.

    kind: MULTI_MARGIN (idx targets, cw class weights; flag = p == 2),
    HINGE_MC (idx targets, cw per-sample weights; flag = squared).
    """
    M, D = a.shape
    for ch in numba.prange(partials.size):
        lo = ch * rows
        hi = min(lo + rows, M)
        acc = 0.0
        for i in range(lo, hi):
            gi = grad[i] if want else grad[0]
            y = idx[i]
            if kind == MULTI_MARGIN:
                w = cw[y] if has_cw else 1.0
                l = _multi_margin_row(margin, flag, y, w, a[i], want, gscale, gi)
            else:
                w = cw[i] if has_cw else 1.0
                l = _hinge_mc_row(margin, flag, y, w, a[i], want, gscale, gi)
            out[i] = l
            acc += l
        partials[ch] = acc
