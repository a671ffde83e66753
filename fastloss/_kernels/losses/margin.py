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

import math

import numpy as np

from ..._core.consts import CHUNK, MULTI_MARGIN
from ..._core.jit import kernel, numba
from ..._core.math import fexp, flog


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


# =================================================== torch's other margin losses (issue 16)
# Elementwise: soft margin, hinge embedding, margin ranking and the
# multilabel soft margin, on the driver's convention (``head`` scalars, then
# operands ``x, a, b``, then outputs; ``b`` a placeholder when absent).
# ``len(tag)`` selects the loss at compile time (as the regression kernels).

SOFT_MARGIN, HINGE_EMBEDDING, MARGIN_RANKING, MULTILABEL_SOFT = range(4)


def tag(kind: int) -> tuple:
    return (0,) * kind


@kernel(inline=True)
def _softplus_sigmoid(z):
    """(log(1 + e^z), sigmoid(z)) from one vectorisable exp (``fexp``) and
    one log (``flog``), without overflow; the loops stay SIMD (libm's exp
    and log1p would make them scalar, 2x slower than torch at 1e7)."""
    a = abs(z)
    e = fexp(-a)
    sp = (z if z > 0.0 else 0.0) + (flog(1.0 + e) if a < 36.0 else e)
    r = 1.0 / (1.0 + e)
    sig = r if z >= 0.0 else e * r
    return sp, sig


@kernel(inline=True)
def element2(kind, p, x, a, b):
    """(loss, d loss / d x) of one element, in float64."""
    if kind == SOFT_MARGIN:  # log(1 + exp(-y x))
        sp, sig = _softplus_sigmoid(-a * x)
        return sp, -a * sig
    elif kind == HINGE_EMBEDDING:
        # torch: where(y != 1, clamp_min(margin - x, 0), 0) + where(y != -1, x, 0);
        # clamp_min passes the gradient where margin - x >= 0.
        loss = 0.0
        g = 0.0
        if a != 1.0:
            h = p - x
            loss += h if h > 0.0 else 0.0
            g -= 1.0 if h >= 0.0 else 0.0
        if a != -1.0:
            loss += x
            g += 1.0
        return loss, g
    elif kind == MARGIN_RANKING:  # max(0, -y (x1 - x2) + margin); x = x1, a = x2, b = y
        h = -b * (x - a) + p
        # torch's clamp_min(h, 0) passes the gradient where h >= 0.
        if h >= 0.0:
            return h + 0.0, -b
        return (h, h) if h != h else (0.0, 0.0)
    else:  # MULTILABEL_SOFT: (y softplus(-x) + (1 - y) softplus(x)) * w / C; p = 1 / C, b = w
        # softplus(-x) = softplus(x) - x
        # softplus(+-x) = max(+-x, 0) + log(1 + e^-|x|): the shared log term
        # once, no softplus(x) - x cancellation for large x.
        w = b * p
        ax = abs(x)
        e = fexp(-ax)
        lg = flog(1.0 + e) if ax < 36.0 else e
        r = 1.0 / (1.0 + e)
        sig = r if x >= 0.0 else e * r
        pos = x if x > 0.0 else 0.0
        return (a * (pos - x) + (1.0 - a) * pos + lg) * w, (sig - a) * w


# ``has_b`` is a run-time flag: the branch on it is hoisted out of the
# element loops (two copies of each loop).  Inside the loop, the load of the
# placeholder ``b[i]`` under a run-time condition kept LLVM from vectorising
# every loss that uses ``b`` (the multilabel soft margin's weight: 4x slower
# per element than the soft margin, whose ``b`` is dead code).


@kernel(parallel=True)
def reduce2(tag, p, has_b, x, a, b, partials):
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        acc = 0.0
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        if has_b:
            for i in range(lo, hi):
                l, g = element2(kind, p, np.float64(x[i]), np.float64(a[i]), np.float64(b[i]))
                acc += l
        else:
            for i in range(lo, hi):
                l, g = element2(kind, p, np.float64(x[i]), np.float64(a[i]), 1.0)
                acc += l
        partials[c] = acc


@kernel(parallel=True)
def reduce_grad2(tag, p, has_b, x, a, b, gscale, grad, partials):
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        acc = 0.0
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        if has_b:
            for i in range(lo, hi):
                l, g = element2(kind, p, np.float64(x[i]), np.float64(a[i]), np.float64(b[i]))
                acc += l
                grad[i] = g * gscale
        else:
            for i in range(lo, hi):
                l, g = element2(kind, p, np.float64(x[i]), np.float64(a[i]), 1.0)
                acc += l
                grad[i] = g * gscale
        partials[c] = acc


@kernel(parallel=True)
def pointwise2(tag, p, has_b, x, a, b, out, grad, want_grad):
    kind = len(tag)
    n = x.size
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        if has_b:
            for i in range(lo, hi):
                l, g = element2(kind, p, np.float64(x[i]), np.float64(a[i]), np.float64(b[i]))
                out[i] = l
                if want_grad:
                    grad[i] = g
        else:
            for i in range(lo, hi):
                l, g = element2(kind, p, np.float64(x[i]), np.float64(a[i]), 1.0)
                out[i] = l
                if want_grad:
                    grad[i] = g


class elementwise:
    """The three kernels under the names the driver calls."""

    reduce = reduce2
    reduce_grad = reduce_grad2
    pointwise = pointwise2


@kernel(parallel=True)
def multilabel_margin(x, y, out, grad, want, gscale, rows, partials):
    """torch's multilabel margin loss per row of x (N, C); y (N, C) int64
    target classes, ended by the first -1 (validated by the wrapper).

    out[i] = sum_{j target} sum_{k not target} max(0, 1 - x[i, y_j] + x[i, k]) / C.
    """
    n, c = x.shape
    nch = partials.size
    for ch in numba.prange(nch):
        is_t = np.zeros(c, dtype=np.bool_)
        acc = 0.0
        for i in range(ch * rows, min(n, (ch + 1) * rows)):
            for k in range(c):
                is_t[k] = False
            m = 0
            while m < c and y[i, m] >= 0:
                is_t[y[i, m]] = True
                m += 1
            if want:
                for k in range(c):
                    grad[i, k] = 0.0
            l = 0.0
            for jj in range(m):
                j = y[i, jj]
                xj = np.float64(x[i, j])
                for k in range(c):
                    if not is_t[k]:
                        h = 1.0 - xj + np.float64(x[i, k])
                        if h > 0.0 or h != h:
                            l += h
                            if want:
                                grad[i, j] -= gscale / c
                                grad[i, k] += gscale / c
            l /= c
            out[i] = l
            acc += l
        partials[ch] = acc
