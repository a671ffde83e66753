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
   ``(T_b, U_b + 1)`` lattice from ``lpb``/``lpe`` alone (O(T U), about
   1% of pass 1 at V=500, so anti-diagonal parallelism inside a sample does
   not pay here; see docs/rnnt.md):

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

Memory besides the gradient: five float64 (B, T, U+1) arrays (``z``,
``lpb``, ``lpe``, alpha, beta), i.e. 40 bytes per lattice node against
4 V bytes of float32 logits per node.
"""
from __future__ import annotations

import math

import numpy as np

from ..._jit import kernel, numba
from .._math import fexp, fexp32_nonpos, maxnum

NEG_INF = -np.inf


@kernel(inline=True)
def _lse2(a, b):
    """log(exp a + exp b) in float64; -inf when both are -inf; NaN propagates."""
    if a != a or b != b:
        return a + b
    m = a if a > b else b
    if m == NEG_INF:
        return NEG_INF
    return m + math.log1p(math.exp(-abs(a - b)))


@kernel()
def _row_lse(row, single):
    """(max, log-sum-exp) of one row, in float64.

    The max is a vectorised ``maxnum`` reduction in the input dtype.  float32
    rows are exponentiated in float32 (8 AVX2 lanes, ~1.3 float32 ulp per
    term of a sum >= 1) and summed in float64; float64 rows use ``fexp``.
    ``maxnum`` skips NaN and the float32 exp flushes it, so NaN is detected on
    the side (``v * 0`` is NaN for NaN and inf; -inf is a legal logit, so a
    hit is rechecked) and makes the result NaN.
    """
    V = row.size
    m = row[0]
    for j in range(V):
        m = maxnum(m, row[j])
    mf = np.float64(m)
    if mf == np.inf or mf == NEG_INF:
        # +inf: softmax undefined (NaN, as torch); all -inf: no probability.
        return mf, (np.nan if mf == np.inf else NEG_INF)
    s = 0.0
    if single:
        z = np.float32(0.0)
        for j in range(V):
            v = row[j]
            z += v * np.float32(0.0)
            s += np.float64(fexp32_nonpos(np.float32(v - m)))
        if z != z:
            for j in range(V):
                if row[j] != row[j]:
                    s = np.nan
    else:
        for j in range(V):
            s += fexp(np.float64(row[j]) - mf)
    return mf, mf + math.log(s)


@kernel(parallel=True)
def rows(x, lab, il, tl, blank, fused, single, rmax, lse, lpb, lpe):
    """Pass 1: row log-sum-exps (``fused``) and the gathered log-probs.

    x: (B, T, U1, V) C-contiguous; lab: (B, S) int64 (read below ``tl[b]``);
    rmax, lse, lpb, lpe: (B, T, U1) float64, written inside the lengths only.
    """
    B, T, U1, V = x.shape
    for k in numba.prange(B * T):
        b = k // T
        t = k - b * T
        if t >= il[b]:
            continue
        Ub = tl[b]
        for u in range(Ub + 1):
            row = x[b, t, u]
            z = 0.0
            if fused:
                m, z = _row_lse(row, single)
                rmax[b, t, u] = m
                lse[b, t, u] = z
            lpb[b, t, u] = np.float64(row[blank]) - z
            lpe[b, t, u] = (np.float64(row[lab[b, u]]) - z) if u < Ub else NEG_INF


@kernel(parallel=True)
def lattice(lpb, lpe, il, tl, need_beta, alpha, beta, logz, fe):
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
        for t in range(Tb):
            for u in range(Ub + 1):
                if t == 0 and u == 0:
                    alpha[b, 0, 0] = 0.0
                    continue
                a1 = alpha[b, t - 1, u] + lpb[b, t - 1, u] if t > 0 else NEG_INF
                a2 = alpha[b, t, u - 1] + lpe[b, t, u - 1] if u > 0 else NEG_INF
                alpha[b, t, u] = _lse2(a1, a2)
        lz = alpha[b, Tb - 1, Ub] + lpb[b, Tb - 1, Ub]
        logz[b] = lz
        if not need_beta:
            continue
        for t in range(Tb - 1, -1, -1):
            for u in range(Ub, -1, -1):
                if t == Tb - 1 and u == Ub:
                    beta[b, t, u] = lpb[b, t, u]
                    continue
                b1 = beta[b, t + 1, u] + lpb[b, t, u] if t + 1 < Tb else NEG_INF
                b2 = beta[b, t, u + 1] + lpe[b, t, u] if u < Ub else NEG_INF
                beta[b, t, u] = _lse2(b1, b2)
        if lz > NEG_INF and lz < np.inf:
            acc = 0.0
            for t in range(Tb):
                for u in range(Ub):
                    e = math.exp(alpha[b, t, u] + lpe[b, t, u] + beta[b, t, u + 1] - lz)
                    if e > 0.0:
                        acc += e * lpe[b, t, u]
            fe[b] = acc


@kernel(parallel=True)
def grad(x, g, lab, il, tl, blank, fused, single, rmax, lse, lpb, lpe, alpha, beta, logz,
         gscale, clamp, lam):
    """Pass 3: g[b, t, u, :] = gscale[b] * clip(d loss_b / d x[b, t, u, :]).

    ``clamp > 0`` clips every element to [-clamp, clamp] before the scaling
    (torchaudio's order); ``g`` may be ``x``.  Nodes outside the lengths and
    samples with an infinite loss get zeros; a NaN loss gives NaN rows inside
    the lengths.
    """
    B, T, U1, V = x.shape
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
                row = x[b, t, u]
                m = rmax[b, t, u]
                # softmax_v = exp(x_v - m) / s with s = exp(z - m)
                f = occ * math.exp(m - lse[b, t, u])
                if single:
                    m32 = np.float32(m)
                    for v in range(V):
                        e = np.float64(fexp32_nonpos(np.float32(row[v] - m32))) * f
                        gr[v] = min(e, cl) * sc
                else:
                    for v in range(V):
                        e = fexp(np.float64(row[v]) - m) * f
                        gr[v] = min(e, cl) * sc
                # The two transition entries, from the gathered log-probs
                # (x may already be overwritten when g is x).
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
