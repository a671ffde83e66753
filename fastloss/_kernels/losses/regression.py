"""Fused kernels for the elementwise regression losses.

One kernel per *mode* (reduce, reduce + gradient, per-element), shared by all
seven losses: the loss is selected by a run-time ``kind``.  The branch is loop
invariant and LLVM keeps the loop vectorised (measured: a ``kind`` switch
reads at the same ~33 GB/s as a single-loss kernel), and it means one compile
per dtype instead of one per loss -- compile time is part of performance.

Arrays are 1-D, C-contiguous, native and of one float dtype; the wrapper
guarantees it.  Every element is computed in float64.  The calling convention
(``head`` scalars, then the operand arrays, then the outputs) is the one
:mod:`fastloss._core.driver` uses for every elementwise family.
"""
from __future__ import annotations

import math

import numpy as np

from ..._core.consts import CHUNK
from ..._core.jit import kernel, numba

from ..._core.consts import HUBER, L1, LOG_COSH, MSE, PSEUDO_HUBER, SMOOTH_L1
_LN2 = 0.6931471805599453


@kernel(inline=True)
def _sign(d):
    # sign with sign(0) = 0 (as torch's l1 backward) and NaN kept, written as
    # selects: np.sign's branches stopped the gradient loops vectorising.
    s = 1.0 if d > 0.0 else 0.0
    s = -1.0 if d < 0.0 else s
    return d if d != d else s


@kernel(inline=True)
def _clamp(d, p):
    """d clamped to [-p, p] by selects; NaN stays NaN."""
    g = p if d > p else d
    return -p if d < -p else g


@kernel(inline=True)
def _log_cosh(d):
    a = abs(d)
    if a < 1.0:
        # log(cosh a) = log1p(2 sinh(a/2)^2) without cancellation near 0:
        # sinh(h) = (e + e/(e+1))/2 with e = expm1(h).
        e = math.expm1(0.5 * a)
        s = 0.5 * (e + e / (e + 1.0))
        return math.log1p(2.0 * s * s)
    return a - _LN2 + math.log1p(math.exp(-2.0 * a))


@kernel(inline=True)
def element(kind, p, x, t):
    """(loss, d loss / d x) of one element, in float64."""
    d = x - t
    if kind == MSE:
        return d * d, 2.0 * d
    elif kind == L1:
        return abs(d), _sign(d)
    elif kind == HUBER:
        # Branch-free (selects): c = min(|d|, delta) gives 0.5 d^2 inside and
        # delta (|d| - delta/2) outside; the gradient is d clamped to
        # [-delta, delta].  With branches, random residuals cost a
        # mispredict every few elements (measured 25x slower with gradient).
        a = abs(d)
        c = a if a < p else p
        return c * (a - 0.5 * c), _clamp(d, p)
    elif kind == SMOOTH_L1:
        a = abs(d)
        c = a if a < p else p
        return c * (a - 0.5 * c) / p, _clamp(d, p) / p
    elif kind == PSEUDO_HUBER:
        r = d / p
        q = math.sqrt(1.0 + r * r)
        # delta^2 (sqrt(1 + r^2) - 1), written without cancellation.
        return p * p * (r * r) / (q + 1.0), d / q
    elif kind == LOG_COSH:
        return _log_cosh(d), math.tanh(d)
    else:  # QUANTILE (pinball), residual u = target - input
        # Branch-free (selects) so the gradient loop vectorises.  At u == 0
        # the gradient is 0, a valid subgradient; NaN stays NaN.
        u = -d
        loss = p * u if u >= 0.0 else (p - 1.0) * u
        g = -p if u > 0.0 else 0.0
        g = 1.0 - p if u < 0.0 else g
        return loss, (d if d != d else g)


@kernel(inline=True)
def _chunk_sum(kind, p, has_w, xs, ts, ws):
    acc = 0.0
    if has_w:
        for i in range(xs.size):
            l, g = element(kind, p, np.float64(xs[i]), np.float64(ts[i]))
            acc += l * np.float64(ws[i])
    else:
        for i in range(xs.size):
            l, g = element(kind, p, np.float64(xs[i]), np.float64(ts[i]))
            acc += l
    return acc


@kernel(inline=True)
def _chunk_sum_grad(kind, p, has_w, xs, ts, ws, gscale, gs):
    acc = 0.0
    if has_w:
        for i in range(xs.size):
            l, g = element(kind, p, np.float64(xs[i]), np.float64(ts[i]))
            wi = np.float64(ws[i])
            acc += l * wi
            gs[i] = g * (wi * gscale)
    else:
        for i in range(xs.size):
            l, g = element(kind, p, np.float64(xs[i]), np.float64(ts[i]))
            acc += l
            gs[i] = g * gscale
    return acc


@kernel(inline=True)
def _chunk_pointwise(kind, p, has_w, xs, ts, ws, os, gs, want_grad):
    if want_grad:
        for i in range(xs.size):
            l, g = element(kind, p, np.float64(xs[i]), np.float64(ts[i]))
            wi = np.float64(ws[i]) if has_w else 1.0
            os[i] = l * wi
            gs[i] = g * wi
    else:
        for i in range(xs.size):
            l, g = element(kind, p, np.float64(xs[i]), np.float64(ts[i]))
            wi = np.float64(ws[i]) if has_w else 1.0
            os[i] = l * wi


# The loss is selected by the *type* of ``tag``: a tuple of ``kind`` zeros
# (:func:`tag`), so ``len(tag)`` is a compile-time constant.  Each loss is
# compiled (and cached, the tuple type being part of the signature) as its
# own specialisation whose loop is specialised and vectorised, and a user
# pays only for the losses used.  A run-time ``kind`` in one shared loop
# relied on LLVM unswitching it, which it did for some losses and not others
# (past its size threshold): huber's gradient loop ran scalar, 8x slower.
# Unswitching all seven by hand in one kernel made a cold compile 4x longer;
# ``numba.literally`` cost ~1 s per call site in every fresh process.


def tag(kind: int) -> tuple:
    """The ``tag`` argument that selects loss ``kind`` in the kernels."""
    return (0,) * kind


@kernel(parallel=True)
def reduce(tag, p, has_w, x, t, w, partials):
    """partials[c] = sum of (weighted) losses of chunk c."""
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        ws = w[lo:hi] if has_w else w
        acc = _chunk_sum(kind, p, has_w, xs, ts, ws)
        partials[c] = acc


@kernel(parallel=True)
def reduce_grad(tag, p, has_w, x, t, w, gscale, grad, partials):
    """As :func:`reduce`, and grad[i] = gscale * w[i] * dloss/dx[i] in the same pass."""
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        gs = grad[lo:hi]
        ws = w[lo:hi] if has_w else w
        acc = _chunk_sum_grad(kind, p, has_w, xs, ts, ws, gscale, gs)
        partials[c] = acc


@kernel(parallel=True)
def pointwise(tag, p, has_w, x, t, w, out, grad, want_grad):
    """out[i] = (weighted) loss of element i; grad[i] its derivative if wanted."""
    kind = len(tag)
    n = x.size
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in numba.prange(nchunks):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        os = out[lo:hi]
        ws = w[lo:hi] if has_w else w
        gs = grad[lo:hi] if want_grad else grad
        _chunk_pointwise(kind, p, has_w, xs, ts, ws, os, gs, want_grad)
