"""Fused kernels for the classification losses.

Two groups:

* **Elementwise** (binary cross-entropy on probabilities or logits, sigmoid
  focal loss, KL divergence): the :mod:`fastloss._core.driver` calling convention
  (``reduce`` / ``reduce_grad`` / ``pointwise``) with
  ``head = (kind, a, b, has_w, has_pw)`` and operands ``(x, t, w, pw)``.  One
  run-time ``kind`` switch per kernel keeps compiles to one per dtype.
* **Row-wise softmax** (cross-entropy with index or probability targets,
  softmax focal loss): :func:`rows` over a C-contiguous ``(R, C)`` array, one
  row per ``prange`` iteration, three sweeps over a row that stays in L2:
  max; ``exp(z - max)`` summed (and stored in the gradient row when one is
  wanted); the gradient ``scale * e_j - correction`` written in place.  The
  per-row loss goes to ``rowloss`` (float64) and the wrapper sums it with
  ``math.fsum``, so results do not depend on the thread count.

Transcendentals in the hot loops use :func:`fexp`/:func:`flog` (vectorisable:
pip's llvmlite has no SVML).  Everything is computed in float64.
"""
from __future__ import annotations

import math

import numpy as np

from ..._core.cpu import host_has_avx512
from ..._core.jit import kernel, numba
from ..._core.math import fexp, fexp32_nonpos, flog, log_kernel, maxnum

from ..._core.consts import BCE, BCE_LOGITS, CE_INDEX, CE_SOFT, CHUNK, FOCAL2, KL


def tag(kind: int) -> tuple:
    """The ``tag`` argument selecting loss ``kind``: a tuple of ``kind`` zeros,
    so ``len(tag)`` is a compile-time constant.  Each loss compiles (and is
    cached) as its own specialisation with its own vectorised loop, and a user
    pays only for the losses used; a run-time ``kind`` relied on LLVM
    unswitching the loop, which it did not always do."""
    return (0,) * kind

_SQRT2M1 = 0.41421356237309503
_HALF_SQRT2M1 = -0.2928932188134524  # sqrt(2)/2 - 1


@kernel(inline=True)
def log1p01(e):
    """log(1 + e) for e in [0, 1] (the softplus tail log(1 + exp(-|x|)))."""
    # 1 + e = 2 (1 + f) with f = (e - 1)/2, exact for e in [0.41, 1].
    # Selects, not branches: the loop calling this stays vectorisable.
    big = e > _SQRT2M1
    f = 0.5 * e - 0.5 if big else e
    dk = 1.0 if big else 0.0
    return log_kernel(f, dk)


@kernel(inline=True)
def log1m(x):
    """log(1 - x) for x <= 1 (log1p(-x)), full relative accuracy for tiny x."""
    if x >= 0.5 or x < _HALF_SQRT2M1:
        return flog(1.0 - x)  # 1 - x exact (x >= 0.5) or no cancellation (x < -0.29)
    if x > 0.2928932188134524:
        # 1 - x = (1 + f)/2 with f = 1 - 2x (exact).
        return log_kernel(1.0 - 2.0 * x, -1.0)
    return log_kernel(-x, 0.0)


@kernel(inline=True)
def logistic(kind, a, b, x, t, pw):
    """(loss, gradient) of BCE-with-logits (kind BCE_LOGITS) or the sigmoid
    focal loss (FOCAL: alpha = a, gamma = b), written with selects only so
    that the calling loop vectorises."""
    # e = exp(-|x|) in (0, 1]; q = e/(1+e) is the smaller of sigmoid(x) and
    # 1 - sigmoid(x), r = 1/(1+e) the larger: both are accurate to full
    # relative precision, so nothing cancels for |x| large.
    e = fexp(-abs(x))
    r = 1.0 / (1.0 + e)
    q = e * r
    L = log1p01(e)  # softplus(-|x|)
    pos = x >= 0.0
    lw = 1.0 + (pw - 1.0) * t
    ce = ((1.0 - t) * x if pos else -pw * t * x) + lw * L
    gce = (1.0 - t) - lw * q if pos else lw * q - pw * t
    # torchvision.ops.sigmoid_focal_loss (pw is 1 there); for BCE_LOGITS the
    # factors are 1 and 0.  No early return: one straight-line body per kind
    # after LLVM unswitches the loop on ``kind``, and it vectorises.
    p = r if pos else q
    pm = q if pos else r
    m = p * (1.0 - t) + pm * t  # 1 - p_t
    if kind == BCE_LOGITS:
        mg = 1.0
        dmg = 0.0
    elif kind == FOCAL2:
        mg = m * m
        dmg = 2.0 * m
    else:
        # m^gamma (0 at m = 0 for gamma > 0; 1 for gamma = 0) and gamma m^(gamma-1),
        # whose product with ce p (1-p) tends to 0 at m = 0.
        lm = flog(m)
        mg = fexp(b * lm) if b != 0.0 else 1.0
        dmg = b * mg / m if m > 0.0 else 0.0
    at = a * t + (1.0 - a) * (1.0 - t) if (a >= 0.0 and kind != BCE_LOGITS) else 1.0
    loss = at * ce * mg
    g = at * (gce * mg + ce * dmg * (p * pm) * (1.0 - 2.0 * t))
    return loss, g


@kernel(inline=True)
def element(kind, a, b, x, t, pw):
    """(loss, d loss / d x) of one element of BCE or KL, in float64.

    The logistic losses have their own kernels (:func:`logistic`): one
    function body inlined into every kernel made cold compiles take tens of
    seconds, and the branchy BCE/KL code kept their loops from vectorising.
    """
    if kind == BCE:
        # PyTorch clamps both logs at -100.  The gradient is the true
        # derivative of that clamped loss (0 where a clamp is active).
        lx = flog(x)
        l1 = log1m(x)
        g = 0.0
        if lx > -100.0:
            g -= t / x
        else:
            lx = -100.0
        if l1 > -100.0:
            g += (1.0 - t) / (1.0 - x)
        else:
            l1 = -100.0
        if x != x:
            g = x
        return -(t * lx + (1.0 - t) * l1), g
    if kind == KL:
        lt = t * flog(t)
        if t == 0.0:
            lt = 0.0  # xlogy(0, 0) = 0
        return lt - t * x, -t
    et = fexp(t)  # KL_LOG
    return et * (t - x), -et


@kernel(parallel=True)
def reduce(tag, a, b, has_w, has_pw, x, t, w, pw, partials):
    """partials[c] = sum of (weighted) losses of chunk c."""
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        # Slices looped from 0: a loop over range(lo, hi) does not vectorise.
        # Absent operands are 1-element placeholders: their (empty) slices are
        # never read.
        xs = x[lo:hi]
        ts = t[lo:hi]
        ws = w[lo:hi]
        ps = pw[lo:hi]
        acc = 0.0
        for i in range(xs.size):
            pwi = np.float64(ps[i]) if has_pw else 1.0
            wi = np.float64(ws[i]) if has_w else 1.0
            l, g = element(kind, a, b, np.float64(xs[i]), np.float64(ts[i]), pwi)
            acc += l * wi
        partials[c] = acc


@kernel(parallel=True)
def reduce_grad(tag, a, b, has_w, has_pw, x, t, w, pw, gscale, grad, partials):
    """As :func:`reduce`, and grad[i] = gscale * w[i] * dloss/dx[i] in the same pass."""
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        # Slices looped from 0: a loop over range(lo, hi) does not vectorise.
        # Absent operands are 1-element placeholders: their (empty) slices are
        # never read.
        xs = x[lo:hi]
        ts = t[lo:hi]
        ws = w[lo:hi]
        ps = pw[lo:hi]
        gs = grad[lo:hi]
        acc = 0.0
        for i in range(xs.size):
            pwi = np.float64(ps[i]) if has_pw else 1.0
            wi = np.float64(ws[i]) if has_w else 1.0
            l, g = element(kind, a, b, np.float64(xs[i]), np.float64(ts[i]), pwi)
            acc += l * wi
            gs[i] = g * (wi * gscale)
        partials[c] = acc


@kernel(parallel=True)
def pointwise(tag, a, b, has_w, has_pw, x, t, w, pw, out, grad, want_grad):
    """out[i] = (weighted) loss of element i; grad[i] its derivative if wanted."""
    kind = len(tag)
    n = x.size
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in numba.prange(nchunks):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        ws = w[lo:hi]
        ps = pw[lo:hi]
        os = out[lo:hi]
        gs = grad[lo:hi]
        for i in range(xs.size):
            pwi = np.float64(ps[i]) if has_pw else 1.0
            wi = np.float64(ws[i]) if has_w else 1.0
            l, g = element(kind, a, b, np.float64(xs[i]), np.float64(ts[i]), pwi)
            os[i] = l * wi
            if want_grad:
                gs[i] = g * wi


@kernel(parallel=True)
def logistic_reduce(tag, a, b, has_w, has_pw, x, t, w, pw, partials):
    """Logistic-loss twin of :func:`reduce`: partials[c] = chunk sums."""
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        ws = w[lo:hi]
        ps = pw[lo:hi]
        acc = 0.0
        if has_w or has_pw:
            for i in range(xs.size):
                pwi = np.float64(ps[i]) if has_pw else 1.0
                wi = np.float64(ws[i]) if has_w else 1.0
                l, g = logistic(kind, a, b, np.float64(xs[i]), np.float64(ts[i]), pwi)
                acc += l * wi
        else:
            # No conditional loads: this loop vectorises.
            for i in range(xs.size):
                l, g = logistic(kind, a, b, np.float64(xs[i]), np.float64(ts[i]), 1.0)
                acc += l
        partials[c] = acc


@kernel(parallel=True)
def logistic_reduce_grad(tag, a, b, has_w, has_pw, x, t, w, pw, gscale, grad, partials):
    """As :func:`logistic_reduce`, and grad[i] = gscale * w[i] * dloss/dx[i]."""
    kind = len(tag)
    n = x.size
    for c in numba.prange(partials.size):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        ws = w[lo:hi]
        ps = pw[lo:hi]
        gs = grad[lo:hi]
        acc = 0.0
        if has_w or has_pw:
            for i in range(xs.size):
                pwi = np.float64(ps[i]) if has_pw else 1.0
                wi = np.float64(ws[i]) if has_w else 1.0
                l, g = logistic(kind, a, b, np.float64(xs[i]), np.float64(ts[i]), pwi)
                acc += l * wi
                gs[i] = g * (wi * gscale)
        else:
            for i in range(xs.size):
                l, g = logistic(kind, a, b, np.float64(xs[i]), np.float64(ts[i]), 1.0)
                acc += l
                gs[i] = g * gscale
        partials[c] = acc


@kernel(parallel=True)
def logistic_pointwise(tag, a, b, has_w, has_pw, x, t, w, pw, out, grad, want_grad):
    """Logistic-loss twin of :func:`pointwise`."""
    kind = len(tag)
    n = x.size
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in numba.prange(nchunks):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        xs = x[lo:hi]
        ts = t[lo:hi]
        ws = w[lo:hi]
        ps = pw[lo:hi]
        os = out[lo:hi]
        gs = grad[lo:hi]
        for i in range(xs.size):
            pwi = np.float64(ps[i]) if has_pw else 1.0
            wi = np.float64(ws[i]) if has_w else 1.0
            l, g = logistic(kind, a, b, np.float64(xs[i]), np.float64(ts[i]), pwi)
            os[i] = l * wi
            if want_grad:
                gs[i] = g * wi


@kernel(inline=True)
def _rowmax(xi):
    """Row maximum as float64: a ``maxnum`` reduction in the input dtype
    (vectorised; ``v if v > m`` is not, without ``nnan``).  NaN is skipped
    here but still reaches the loss (see :func:`_exp_row`)."""
    m = xi[0]
    for j in range(xi.size):
        m = maxnum(m, xi[j])
    return np.float64(m)


#: Terms per float32 partial sum of :func:`_exp_row`.
EXP_BLOCK = 64


# Inlined into the rows kernel, except on AVX-512 hosts: there LLVM vectorised
# the inlined row sum differently in the parallel kernel and in its serial
# twin (float64 gradients differed in the last bit, tests/test_runtime.py
# test_serial_path_bitwise_equal_to_parallel, at 256 and 512 bits alike); as
# one function of its own both call the same code.  (Not inlined, a row costs
# a call: measured up to 1.4x at C = 30 on that host, nothing at C >= 1000.)
@kernel(inline=not host_has_avx512())
def _exp_row(single, xi, m, gi, want_grad):
    """s = sum_j exp(x_j - m) in float64, e_j stored in ``gi`` if wanted.

    float64 rows use ``fexp``.  float32 rows (``single``) evaluate
    exp(x_j - m) in float32 (8 AVX2 lanes instead of 4; each term within
    ~1.3 float32 ulp, below the float32 gradient's own rounding), summed in
    float32 over blocks of EXP_BLOCK terms and the blocks in float64; a NaN in the row, which that exp flushes to 0, is detected
    on the side (v * 0 is NaN for NaN and inf; -inf logits are legal, so a
    hit is rechecked) and makes s NaN, as in the float64 path.
    """
    s = 0.0
    if single:
        m32 = np.float32(m)
        z = np.float32(0.0)
        n = xi.size
        # float32 partial sums over blocks of EXP_BLOCK terms (each term <= 1,
        # a few additions per vector lane), added in float64: twice as fast
        # as widening every term to float64 (measured 0.56 against 1.04 ns
        # per element, C = 1000), error well below the terms' own ~1.3 ulp.
        for b in range(0, n, EXP_BLOCK):
            hi = min(b + EXP_BLOCK, n)
            xb = xi[b:hi]
            acc = np.float32(0.0)
            if want_grad:
                gb = gi[b:hi]
                for j in range(xb.size):
                    v = np.float32(xb[j])
                    z += v * np.float32(0.0)
                    e = fexp32_nonpos(v - m32)
                    acc += e
                    gb[j] = e
            else:
                for j in range(xb.size):
                    v = np.float32(xb[j])
                    z += v * np.float32(0.0)
                    acc += fexp32_nonpos(v - m32)
            s += np.float64(acc)
        if z != z or m != m:
            for j in range(xi.size):
                if xi[j] != xi[j] or m != m:
                    s = np.nan
    elif want_grad:
        for j in range(xi.size):
            e = fexp(np.float64(xi[j]) - m)
            s += e
            gi[j] = e
    else:
        for j in range(xi.size):
            s += fexp(np.float64(xi[j]) - m)
    return s


@kernel(parallel=True)
def rows(kind, x, tgt, t, cw, has_cw, sw, ign, eps, gamma, gscale, want_grad, grad, rowloss, single):
    """Softmax losses over the rows of a C-contiguous (R, C) array.

    kind CE_INDEX: cross-entropy with class indices ``tgt`` (R,), class
    weights ``cw`` (C,) (``sw`` their sum), label smoothing ``eps``;
    CE_SOFT: cross-entropy with probabilities ``t`` (R, C); FOCAL_INDEX:
    softmax focal loss with per-class ``cw`` (alpha) and ``gamma``.
    rowloss[i] = (weighted) loss of row i; grad[i] = gscale * its gradient
    (``grad`` may be ``x`` itself: every element is read before it is
    written).  Ignored rows get loss 0 and a zero gradient row.  Returns the
    float64 sum of ``rowloss``.
    """
    R, C = x.shape
    cinv = 1.0 / C if C > 0 else 0.0
    for i in numba.prange(R):
        xi = x[i]
        gi = grad[i] if want_grad else grad[0]
        ti = t[i] if kind == CE_SOFT else t[0]
        y = 0
        zy = 0.0
        wy = 1.0
        if kind != CE_SOFT:
            y = tgt[i]
            if y == ign:
                rowloss[i] = 0.0
                if want_grad:
                    for j in range(C):
                        gi[j] = 0.0
                continue
            zy = np.float64(xi[y])  # read before an in-place gradient overwrites it
            if has_cw:
                wy = cw[y]
        m = _rowmax(xi)
        # Sweep 2: s = sum exp(z - m), stored in the gradient row if wanted;
        # with smoothing or soft targets also the weighted sums needed.
        s = 0.0
        tw = 0.0  # soft: sum_c w_c t'_c
        zw = 0.0  # sum_c w_c t'_c (z_c - m)  (smoothing: sum_c w_c (z_c - m))
        general = kind == CE_SOFT or eps != 0.0
        if not general:
            s = _exp_row(single, xi, m, gi, want_grad)
        else:
            for j in range(C):
                d = np.float64(xi[j]) - m
                e = fexp(d)
                s += e
                wj = cw[j] if has_cw else 1.0
                if kind == CE_SOFT:
                    wj = wj * ((1.0 - eps) * np.float64(ti[j]) + eps * cinv)
                    tw += wj
                zw += wj * d
                if want_grad:
                    gi[j] = e
        ls = math.log(s)
        if kind == CE_SOFT:
            rowloss[i] = tw * ls - zw
            if want_grad:
                A = gscale * tw / s
                for j in range(C):
                    wj = cw[j] if has_cw else 1.0
                    tj = (1.0 - eps) * np.float64(ti[j]) + eps * cinv
                    gi[j] = np.float64(gi[j]) * A - gscale * (wj * tj)
            continue
        nll = ls + m - zy  # -log softmax(z)_y
        if kind == CE_INDEX:
            rowloss[i] = (1.0 - eps) * wy * nll + eps * cinv * (sw * ls - zw)
            if want_grad:
                A = gscale * ((1.0 - eps) * wy + eps * cinv * sw) / s
                if eps != 0.0:
                    B = gscale * eps * cinv
                    if has_cw:
                        for j in range(C):
                            gi[j] = np.float64(gi[j]) * A - B * cw[j]
                    else:
                        for j in range(C):
                            gi[j] = np.float64(gi[j]) * A - B
                else:
                    for j in range(C):
                        gi[j] = np.float64(gi[j]) * A
                gi[y] = np.float64(gi[y]) - gscale * (1.0 - eps) * wy
            continue
        # FOCAL_INDEX: loss = -a_y (1 - p_y)^gamma log p_y.
        lp = -nll
        p = math.exp(lp)
        mm = -math.expm1(lp)  # 1 - p_y without cancellation
        if gamma == 0.0:
            mg = 1.0
        else:
            mg = mm**gamma
        rowloss[i] = -wy * mg * lp
        if want_grad:
            # d loss / d z_j = a_y F (p_j - [j == y]),
            # F = (1-p)^g - g (1-p)^(g-1) p log p  (F -> 0 as p -> 1 for g > 0).
            if mm > 0.0:
                F = mg - gamma * mg * p * lp / mm
            else:
                F = 1.0 if gamma == 0.0 else 0.0
            A = gscale * wy * F / s
            for j in range(C):
                gi[j] = np.float64(gi[j]) * A
            gi[y] = np.float64(gi[y]) - gscale * wy * F
    # The total, on the calling thread after the parallel loop: a fixed
    # order, so the same bits for any thread count (and for the serial twin).
    total = 0.0
    for i in range(R):
        total += rowloss[i]
    return total


#: Rows per block of :func:`narrow_rows`.
NARROW_BLOCK = 64


@kernel(parallel=True)
def narrow_rows(x, tgt, ign, mean, want_grad, grad, rowloss):
    """Cross-entropy with class indices over (R, C) rows with few classes
    (no class weights, no smoothing): ``cross_entropy``'s kernel for C up to
    ``NARROW_C`` (fastloss/_core/consts.py).

    A row of 10 logits is too short for the per-row loops of :func:`rows` to
    vectorise (one 8-lane step and a scalar remainder, a scalar log per
    row).  Here blocks of NARROW_BLOCK rows are transposed into a float64
    scratch (C, block), and max, exp, sum and log run across the rows of the
    block, in vector lanes.  Same semantics as :func:`rows` (NaN and +inf
    logits give NaN, -inf logits are legal; ignored rows: loss 0 and a zero
    gradient row).

    First, one serial pass over the labels: returns ``(i, valid, 0.0)`` with
    ``i`` the first label outside [0, C) that is not ``ign`` (nothing else is
    read or written), else ``(-1, valid, total)``: ``valid`` the number of
    labels not equal to ``ign`` and ``total`` the sum of ``rowloss``; the
    gradient is scaled by 1/valid when ``mean`` (0 when no label is valid).
    """
    R, C = x.shape
    bad, valid = scan_labels(tgt, C, ign)
    if bad >= 0:
        return bad, valid, 0.0
    gscale = 1.0
    if mean:
        gscale = 1.0 / valid if valid > 0 else 0.0
    nblocks = (R + NARROW_BLOCK - 1) // NARROW_BLOCK
    for b in numba.prange(nblocks):
        lo = b * NARROW_BLOCK
        B = min(NARROW_BLOCK, R - lo)
        xt = np.empty((C, NARROW_BLOCK), dtype=np.float64)
        m = np.empty(NARROW_BLOCK, dtype=np.float64)
        s = np.zeros(NARROW_BLOCK, dtype=np.float64)
        ls = np.empty(NARROW_BLOCK, dtype=np.float64)
        for i in range(B):
            xi = x[lo + i]
            for j in range(C):
                xt[j, i] = np.float64(xi[j])
        x0 = xt[0]
        for i in range(B):
            m[i] = x0[i]
        for j in range(1, C):
            xj = xt[j]
            for i in range(B):
                m[i] = maxnum(m[i], xj[i])
        for j in range(C):
            xj = xt[j]
            for i in range(B):
                e = fexp(xj[i] - m[i])
                s[i] += e
                xj[i] = e
        for i in range(B):
            ls[i] = flog(s[i])  # vectorised, unlike a libm log per row
        for i in range(B):
            r = lo + i
            y = tgt[r]
            if y == ign:
                rowloss[r] = 0.0
                if want_grad:
                    for j in range(C):
                        grad[r, j] = 0.0
                continue
            rowloss[r] = ls[i] + m[i] - np.float64(x[r, y])  # read before an in-place gradient row
            if want_grad:
                A = gscale / s[i]
                for j in range(C):
                    grad[r, j] = xt[j, i] * A
                grad[r, y] = xt[y, i] * A - gscale  # from float64, not the rounded store
    total = 0.0
    for i in range(R):
        total += rowloss[i]
    return -1, valid, total


@kernel(parallel=True)
def count_outside_unit(x, t):
    """How many elements of ``x`` or ``t`` (same size) lie outside [0, 1] or
    are NaN: one pass over both, for binary_cross_entropy's input check."""
    bad = 0
    for i in numba.prange(x.size):
        v = x[i]
        u = t[i]
        if not (v >= 0.0 and v <= 1.0 and u >= 0.0 and u <= 1.0):
            bad += 1
    return bad


@kernel
def scan_labels(tgt, C, ign):
    """(first position of a label outside [0, C) that is not ``ign``, or -1;
    the number of labels not equal to ``ign``): the softmax losses' label
    check and ``'mean'`` divisor in one serial pass, before the row kernel
    reads anything with the labels."""
    valid = 0
    for i in range(tgt.size):
        y = tgt[i]
        if y == ign:
            continue
        if y < 0 or y >= C:
            return i, valid
        valid += 1
    return -1, valid


@kernel(parallel=True)
def gather_targets(x3, t3, out):
    """out[n, 0, d] = x3[n, t3[n, 0, d], d] in float64: nll_loss's forward
    reads only the N*D target entries, parallel over rows (a random gather is
    bound by cache-miss latency, which two threads overlap)."""
    N = x3.shape[0]
    D = x3.shape[2]
    for n in numba.prange(N):
        for d in range(D):
            out[n, 0, d] = np.float64(x3[n, t3[n, 0, d], d])
