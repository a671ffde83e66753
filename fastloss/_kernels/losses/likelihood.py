"""Fused kernels of the likelihood losses: Poisson and Gaussian negative
log-likelihood (see ``fastloss/losses/likelihood.py``).

The calling convention is :mod:`fastloss._core.driver`'s (``head`` scalars,
operand arrays, outputs), with three operands ``x, a, b``: input, target and
(Gaussian) the variance broadcast to the input's shape; ``b`` is a 1-element
placeholder when absent.  Every element is computed in float64; chunks of
``CHUNK`` elements give one float64 partial each, combined exactly by the
driver (thread-count independent).  The loss is selected by ``len(tag)``
(a compile-time constant, as in the regression kernels), so each loss is its
own vectorisable specialisation.
"""
from __future__ import annotations

import math

import numpy as np

from ..._core.consts import CHUNK
from ..._core.jit import kernel, numba

POISSON_LOG, POISSON, GAUSSIAN = range(3)
_HALF_LOG_2PI = 0.9189385332046727


def tag(kind: int) -> tuple:
    """The ``tag`` argument selecting loss ``kind`` (see the regression kernels)."""
    return (0,) * kind


@kernel(inline=True)
def element(kind, eps, full, x, a, b):
    """(loss, d loss / d x) of one element, in float64."""
    if kind == POISSON_LOG:
        e = math.exp(x)
        loss = e - a * x
        g = e - a
    elif kind == POISSON:
        loss = x - a * math.log(x + eps)
        g = 1.0 - a / (x + eps)
    else:  # GAUSSIAN: b is the variance, clamped at eps (torch clamps a copy)
        v = b if b > eps else eps
        v = b if b != b else v
        d = x - a
        loss = 0.5 * (math.log(v) + d * d / v)
        g = d / v
        if full:
            loss += _HALF_LOG_2PI
        return loss, g
    if full:
        # Stirling term target*log(target) - target + 0.5*log(2*pi*target),
        # only where target > 1 (torch's masked_fill).
        st = a * math.log(a) - a + 0.5 * math.log(2.0 * math.pi * a) if not (a <= 1.0) else 0.0
        loss += st
    return loss, g


@kernel(parallel=True)
def reduce(tag, eps, full, has_b, x, a, b, partials):
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        acc = 0.0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            bi = np.float64(b[i]) if has_b else 0.0
            l, g = element(kind, eps, full, np.float64(x[i]), np.float64(a[i]), bi)
            acc += l
        partials[c] = acc


@kernel(parallel=True)
def reduce_grad(tag, eps, full, has_b, x, a, b, gscale, grad, partials):
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        acc = 0.0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            bi = np.float64(b[i]) if has_b else 0.0
            l, g = element(kind, eps, full, np.float64(x[i]), np.float64(a[i]), bi)
            acc += l
            grad[i] = g * gscale
        partials[c] = acc


@kernel(parallel=True)
def pointwise(tag, eps, full, has_b, x, a, b, out, grad, want_grad):
    kind = len(tag)
    n = x.size
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            bi = np.float64(b[i]) if has_b else 0.0
            l, g = element(kind, eps, full, np.float64(x[i]), np.float64(a[i]), bi)
            out[i] = l
            if want_grad:
                grad[i] = g


__all__ = ["reduce", "reduce_grad", "pointwise", "tag", "POISSON_LOG", "POISSON", "GAUSSIAN"]
