"""RNN-Transducer loss kernels (Graves 2012), log space, float64 lattice.

Three passes, each a parallel loop with a fixed assignment of work to
iterations (so every value is computed by one thread in one order and the
result is bitwise the same for any thread count):

1. :func:`rows` -- parallel over the (sample, frame) pairs ``(b, t)``.  For
   every lattice node ``(t, u)`` inside the lengths it reads the row
   ``x[b, t, u, :]`` once: with ``fused`` the row's log-sum-exp ``z`` (max,
   then a float64 sum of exps), and gathers the two log-probabilities the
   recursion needs, ``lpb = x[blank] - z`` and ``lpe = x[y_{u+1}] - z``.
   This pass is the only O(V) work of a forward call.
2. :func:`lattice` -- parallel over samples.  alpha/beta over the
   ``(T_b, U_b + 1)`` lattice from ``lpb``/``lpe`` alone (O(T U), about a
   tenth of the three passes at V=500; computed in anti-diagonal order, see
   below; why samples, not diagonals, are the parallel unit: docs/rnnt.md):

   * ``alpha(0,0) = 0``, ``alpha(t,u) = lse(alpha(t-1,u) + lpb(t-1,u), alpha(t,u-1) + lpe(t,u-1))``
   * ``log Z = alpha(T-1,U) + lpb(T-1,U)``
   * ``beta(T-1,U) = lpb(T-1,U)``, ``beta(t,u) = lse(beta(t+1,u) + lpb(t,u), beta(t,u+1) + lpe(t,u))``

   and the FastEmit term ``sum_{t,u<U} e(t,u) lpe(t,u)`` with the emit
   occupancy ``e(t,u) = exp(alpha(t,u) + lpe(t,u) + beta(t,u+1) - log Z)``.
3. :func:`grad` -- parallel over ``(b, t)`` again, writes every gradient
   row (zero outside the lengths).  With the blank occupancy
   ``k(t,u) = exp(alpha(t,u) + lpb(t,u) + beta(t+1,u) - log Z)`` the
   derivative of ``-log Z - lam * sum e * lpe`` (e held fixed) w.r.t.
   ``lpb(t,u)`` is ``-k`` and w.r.t. ``lpe(t,u)`` is ``-(1 + lam) e``;
   with ``fused`` the chain rule through log-softmax adds
   ``softmax(x)_v (k + (1 + lam) e)`` to every entry of the row.  Each
   output element depends only on the same input element and per-node
   scalars, so ``grad`` may be ``x`` itself (every element is read before
   it is written, and ``lpb``/``lpe`` were gathered in pass 1).

Memory besides the gradient: five float64 (B, T, U+1) arrays (the log of
each row's sum of exps, ``lpb``, ``lpe``, alpha, beta), i.e. 40 bytes per
lattice node against 4 V bytes of float32 logits per node (2% at V=500),
and one row of V floats per thread for a forward-only call.
"""
from __future__ import annotations

import math

import numpy as np

from ..._core.jit import kernel, numba
from ..._core.math import fexp, fexp32_nonpos, maxnum

NEG_INF = -np.inf


@kernel(inline=True)
def _lse2(a, b):
    """log(exp a + exp b) in float64; -inf when both are -inf; NaN propagates.

    libm exp/log1p: in the lattice's diagonal order they were 8x faster than
    the inlined polynomials of ``_math`` (measured; those only pay when the
    loop vectorises, and these loops gather with a stride).
    """
    if a != a or b != b:
        return a + b
    m = a if a > b else b
    if m == NEG_INF:
        return NEG_INF
    return m + math.log1p(math.exp(-abs(a - b)))


@kernel(inline=True)
def _row_exp(row, out, single, zero):
    """out[j] = exp(row[j] - max) for one row; returns (max, log-sum-exp) in float64.

    ``out`` may be ``row`` itself (each element is read before it is
    written).  Three loops, each vectorised on its own (measured, float32,
    V=500): a ``maxnum`` reduction in the input dtype; the exps (float32
    rows in float32, 8 AVX2 lanes, ~1.3 float32 ulp per term; float64 rows
    with ``fexp``); the float64 sum, a second pass over ``out`` (in L1).
    Summing in float64 inside the exp loop made LLVM run that loop 4 wide
    instead of 8 (~1.5x slower), and so did a NaN check in the max loop.
    ``maxnum`` skips NaN and the float32 exp flushes it, so NaN is detected in
    the exp loop (``v * 0`` is NaN for NaN and inf; ``zero`` has the row's
    dtype, ``* 0`` would be float64) and makes the result NaN.
    """
    V = row.size
    m = row[0]
    for j in range(V):
        m = maxnum(m, row[j])
    mf = np.float64(m)
    if mf == np.inf or mf == NEG_INF:
        # +inf: softmax undefined (NaN, as torch); all -inf: no probability
        # (a NaN in an all -inf row also gives -inf here, then NaN in lpb).
        return mf, (np.nan if mf == np.inf else NEG_INF)
    z = zero
    if single:
        for j in range(V):
            v = row[j]
            z += v * zero
            out[j] = fexp32_nonpos(v - m)
    else:
        for j in range(V):
            v = row[j]
            z += v * zero
            out[j] = fexp(np.float64(v) - mf)
    if z != z:
        # NaN or inf in the row: inf is excluded above, so a NaN
        return mf, np.nan
    s = 0.0
    for j in range(V):
        s += np.float64(out[j])
    return mf, mf + math.log(s)


@kernel(parallel=True)
def rows(x, g, want_grad, lab, il, tl, blank, fused, single, zero, lsum, lpb, lpe):
    """Pass 1: row log-sum-exps (``fused``) and the gathered log-probs.

    x: (B, T, U1, V) C-contiguous; lab: (B, S) int64 (read below ``tl[b]``);
    lsum, lpb, lpe: (B, T, U1) float64, written inside the lengths only
    (``lsum`` = log sum exp(x - max) = log-sum-exp minus the row max).
    With ``want_grad`` and ``fused`` the row's exp(x - max) is left in ``g``
    (which may be ``x``) for pass 3, so every exp is computed once.
    ``zero``: 0 in x's dtype.
    """
    B, T, U1, V = x.shape
    for k in numba.prange(B * T):
        b = k // T
        t = k - b * T
        if t >= il[b]:
            continue
        Ub = tl[b]
        scratch = np.empty(V if (fused and not want_grad) else 0, dtype=x.dtype)
        for u in range(Ub + 1):
            row = x[b, t, u]
            # gathered before the row may be overwritten by its exps
            xb = np.float64(row[blank])
            xe = np.float64(row[lab[b, u]]) if u < Ub else NEG_INF
            z = 0.0
            if fused:
                m, z = _row_exp(row, g[b, t, u] if want_grad else scratch, single, zero)
                lsum[b, t, u] = z - m
            lpb[b, t, u] = xb - z
            lpe[b, t, u] = xe - z


@kernel(parallel=True)
def lattice(lpb, lpe, il, tl, need_beta, want_fe, alpha, beta, logz, fe):
    """Pass 2: alpha (and beta when ``need_beta``), log Z and the FastEmit
    term ``fe[b] = sum_{t,u<U} e(t,u) lpe(t,u)`` per sample, in float64."""
    B = il.size
    for b in numba.prange(B):
        Tb = il[b]
        Ub = tl[b]
        fe[b] = 0.0
        if Tb == 0:
            # Every alignment ends with a blank in frame T-1: none fits.
            logz[b] = NEG_INF
            continue
        # Anti-diagonal order (cells with t + u = d depend only on diagonal
        # d - 1): the cells of a diagonal are independent, so the CPU overlaps
        # their exp/log1p calls instead of waiting on a chain along u.
        # Measured 7x faster than row order for T=200, U=50, same bits.
        alpha[b, 0, 0] = 0.0
        for d in range(1, Tb + Ub):
            for t in range(max(0, d - Ub), min(Tb - 1, d) + 1):
                u = d - t
                a1 = alpha[b, t - 1, u] + lpb[b, t - 1, u] if t > 0 else NEG_INF
                a2 = alpha[b, t, u - 1] + lpe[b, t, u - 1] if u > 0 else NEG_INF
                alpha[b, t, u] = _lse2(a1, a2)
        lz = alpha[b, Tb - 1, Ub] + lpb[b, Tb - 1, Ub]
        logz[b] = lz
        if not need_beta:
            continue
        beta[b, Tb - 1, Ub] = lpb[b, Tb - 1, Ub]
        for d in range(Tb + Ub - 2, -1, -1):
            for t in range(max(0, d - Ub), min(Tb - 1, d) + 1):
                u = d - t
                b1 = beta[b, t + 1, u] + lpb[b, t, u] if t + 1 < Tb else NEG_INF
                b2 = beta[b, t, u + 1] + lpe[b, t, u] if u < Ub else NEG_INF
                beta[b, t, u] = _lse2(b1, b2)
        if want_fe and lz > NEG_INF and lz < np.inf:
            acc = 0.0
            for t in range(Tb):
                for u in range(Ub):
                    e = math.exp(alpha[b, t, u] + lpe[b, t, u] + beta[b, t, u + 1] - lz)
                    if e > 0.0:
                        acc += e * lpe[b, t, u]
            fe[b] = acc


@kernel(parallel=True)
def grad(g, lab, il, tl, blank, fused, lsum, lpb, lpe, alpha, beta, logz, gscale, clamp, lam):
    """Pass 3: g[b, t, u, :] = gscale[b] * clip(d loss_b / d x[b, t, u, :]).

    With ``fused``, ``g`` holds exp(x - max) inside the lengths (pass 1).

    ``clamp > 0`` clips every element to [-clamp, clamp] before the scaling
    (torchaudio's order); ``g`` may be ``x``.  Nodes outside the lengths and
    samples with an infinite loss get zeros; a NaN loss gives NaN rows inside
    the lengths.
    """
    B, T, U1, V = g.shape
    cl = clamp if clamp > 0.0 else np.inf
    for k in numba.prange(B * T):
        b = k // T
        t = k - b * T
        Tb = il[b]
        Ub = tl[b]
        lz = logz[b]
        sc = gscale[b]
        for u in range(U1):
            gr = g[b, t, u]
            inside = t < Tb and u <= Ub
            if not inside or not (lz > NEG_INF and lz < np.inf):
                fill = np.nan if (inside and lz != lz) else 0.0
                for v in range(V):
                    gr[v] = fill
                continue
            a = alpha[b, t, u]
            if t + 1 < Tb:
                nb = beta[b, t + 1, u]
            else:
                nb = 0.0 if u == Ub else NEG_INF
            kb = math.exp(a + lpb[b, t, u] + nb - lz)
            ke = math.exp(a + lpe[b, t, u] + beta[b, t, u + 1] - lz) if u < Ub else 0.0
            cb = -kb
            ce = -(1.0 + lam) * ke
            if fused:
                occ = kb + (1.0 + lam) * ke
                # softmax_v = e_v / s, e_v = exp(x_v - m) left in gr by pass 1, s = exp(z - m)
                f = occ * math.exp(-lsum[b, t, u])
                for v in range(V):
                    gr[v] = min(np.float64(gr[v]) * f, cl) * sc
                # The two transition entries, from the gathered log-probs
                # (the row of x is gone: g holds its exps, and g may be x).
                vb = math.exp(lpb[b, t, u]) * occ + cb
                gr[blank] = max(min(vb, cl), -cl) * sc
                if u < Ub:
                    ve = math.exp(lpe[b, t, u]) * occ + ce
                    gr[lab[b, u]] = max(min(ve, cl), -cl) * sc
            else:
                for v in range(V):
                    gr[v] = 0.0
                gr[blank] = max(min(cb, cl), -cl) * sc
                if u < Ub:
                    gr[lab[b, u]] = max(min(ce, cl), -cl) * sc
