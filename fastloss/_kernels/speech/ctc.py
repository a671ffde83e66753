"""CTC forward-backward kernels (Graves et al. 2006), float64.

Three exact recursions, tried per job in this order (``ctc_jobs``):

1. :func:`_job_prob`, scaled probability space: no exp/log per state; declines
   when values it would flush could change Z by more than 1e-14 relative
   (peaky input), and for NaN/inf input and the special cases.
2. :func:`_job_ext`, extended range (float64 mantissa, int64 exponent per
   state): no exp/log per state, any range; declines NaN/inf input, the
   special cases and ``C >= 2L+1``.
3. :func:`_job`, log space (described below): handles every input.

The choice depends only on the job's own data, so results do not depend on
the thread count.  The log-space helpers below are shared with
:mod:`fastloss._kernels.speech.align`.

Layout of the work
------------------
One *job* is one (label sequence, utterance) pair; ``ctc_loss`` has one job
per sample, n-best rescoring has many jobs pointing at the same utterance.
Jobs run in parallel (``prange``); a job is computed by one thread from start
to end, so results do not depend on the thread count.

A job with ``L`` labels has ``S = 2L + 1`` blank-extended states
``blank, l1, blank, l2, ..., lL, blank``.  The input is read through element
strides (``base + t*st + c``), so ``(T, N, C)``, ``(N, T, C)``, ``(T, C)`` and
transposed views are all read in place; only the ``S`` log-probabilities a
time step needs are gathered (``g[s] = lp[t, lab[s]]``), so the recursions
cost ``O(T S)``, not ``O(T C)``.

Recursions (log space, ``lse`` = log-sum-exp):

* alpha: ``a_t(s) = lse(a_{t-1}(s), a_{t-1}(s-1), a_{t-1}(s-2) + skip(s)) + g_t(s)``
  where ``skip(s) = 0`` if ``s`` is a label different from the label two
  states back, else ``-inf``.  States are kept with two ``-inf`` pads in
  front so that ``s-1``/``s-2`` need no branch.
* beta' (excluding the emission at ``t``, so the occupancy needs no
  subtraction of a possibly infinite log-prob):
  ``b_t(s) = lse(w(s), w(s+1), w(s+2) + skip(s+2))``, ``w = b_{t+1} + g_{t+1}``,
  with two ``-inf`` pads at the end.
* occupancy ``gamma_t(s) = exp(a_t(s) + b_t(s) - log Z)``; the gradient of
  ``-log Z`` w.r.t. ``lp[t, c]`` is ``-sum_{s: lab[s] = c} gamma_t(s)``.

Only the window of states that can lie on a complete path is computed:
``lo_t = max(0, S - 2(T - t)) <= s < hi_t = min(S, 2t + 2)``.  Inner loops
run from 0 over slices (a loop ``for s in range(lo, hi)`` with a run-time
``lo`` did not vectorise in Numba; over a slice it does), and use the
vectorisable exp/log: a 3-term log-sum-exp costs two exps and one log (the
largest term contributes exactly 1), with branch-free variants of
``_math.fexp``/``flog`` specialised to the ranges that occur (exp of a
non-positive number, log of a number in [1, 3]): 2.4x faster per state than
the general versions, same accuracy.
"""
from __future__ import annotations

import numpy as np

from ..._core.jit import kernel, numba
from ..._core import math as _math
from ..._core.math import _f64_as_i64, _i64_as_f64, fexp, fma, maxnum

NEG_INF = -np.inf


@kernel(inline=True)
def _exp_neg(x):
    """exp(x) for x <= 0 inside a log-sum-exp: ``_math.fexp`` without its
    special-value selects.  Arguments below -700 give ~1e-304 instead of
    underflowing, harmless because the result is added to 1; NaN is not kept
    (the kernel flags NaN input separately).  Max relative error ~2e-16."""
    xc = x if x > -700.0 else -700.0
    kf = np.floor(xc * _math._LOG2E + 0.5)
    r = fma(-kf, _math._LN2_REM, fma(-kf, _math._LN2, xc))
    p = _math.exp_poly(r)
    return _i64_as_f64(_f64_as_i64(p) + (np.int64(kf) << 52))


@kernel(inline=True)
def _log_1_3(x):
    """log(x) for x in [1, 3] (fdlibm's polynomial as ``_math.flog``, with no
    subnormal/zero/negative/inf branches): the log of a 3-term sum scaled by
    its largest term."""
    bits = _f64_as_i64(x)
    e = ((bits >> 52) & 0x7FF) - 1023
    m = _i64_as_f64((bits & _math._MANT_MASK) | _math._EXP_ONE)
    big = m > _math._SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_math._LG2 + w * (_math._LG4 + w * _math._LG6))
    t2 = z * (_math._LG1 + w * (_math._LG3 + w * (_math._LG5 + w * _math._LG7)))
    R = t2 + t1
    hfsq = 0.5 * f * f
    dk = np.float64(e)
    return dk * _math._LN2_HI - ((hfsq - (s * (hfsq + R) + dk * _math._LN2_LO)) - f)


@kernel(inline=True)
def _lse3(x, y, z):
    """log(exp x + exp y + exp z); -inf if all are -inf (never NaN from infs)."""
    xy_hi = x if x > y else y
    xy_lo = y if x > y else x
    hi = xy_hi if xy_hi > z else z
    lo = xy_lo if xy_lo < z else z
    # median of three
    t = xy_hi if xy_hi < z else z
    mid = xy_lo if xy_lo > t else t
    finite = hi > NEG_INF
    ms = hi if finite else 0.0
    r = ms + _log_1_3(1.0 + _exp_neg(mid - ms) + _exp_neg(lo - ms))
    return r if finite else NEG_INF


@kernel()
def _gather(lp, rowbase, lab, lse, g, lo, hi):
    """g[s] = lp[rowbase + lab[s]] - lse for s in [lo, hi); returns True on NaN."""
    labs = lab[lo:hi]
    gs = g[lo:hi]
    bad = False
    for i in range(labs.size):
        v = np.float64(lp[rowbase + labs[i]]) - lse
        gs[i] = v
        bad |= v != v
    return bad


@kernel()
def _alpha_step(prev, cur, skip, g, lo, hi):
    """cur[s+2] = alpha_t(s) for s in [lo, hi) from prev (alpha_{t-1}, padded by 2)."""
    a2 = prev[lo : hi]
    a1 = prev[lo + 1 : hi + 1]
    a0 = prev[lo + 2 : hi + 2]
    sk = skip[lo:hi]
    gs = g[lo:hi]
    out = cur[lo + 2 : hi + 2]
    for i in range(out.size):
        out[i] = _lse3(a0[i], a1[i], a2[i] + sk[i]) + gs[i]


@kernel()
def _beta_step(w, cur, skip, lo, S):
    """cur[s] = beta'_{t-1}(s) for s in [lo, S) from w = beta'_t + g_t (read on [lo, S + 2))."""
    w0 = w[lo:S]
    w1 = w[lo + 1 : S + 1]
    w2 = w[lo + 2 : S + 2]
    sk = skip[lo + 2 : S + 2]
    out = cur[lo:S]
    for i in range(out.size):
        out[i] = _lse3(w0[i], w1[i], w2[i] + sk[i])


@kernel()
def _blank_sum(occ, lo, hi):
    """Sum of occ[s] over the even (blank) states s in [lo, hi)."""
    ob = occ[lo + (lo & 1) : hi : 2]
    acc = 0.0
    for i in range(ob.size):
        acc += ob[i]
    return acc


@kernel()
def _row_lse(lp, rowbase, C):
    """log-sum-exp of one row of C activations (for from_logits)."""
    row = lp[rowbase : rowbase + C]
    m = NEG_INF
    for c in range(C):
        v = np.float64(row[c])
        m = v if v > m else m
    ms = m if m > NEG_INF else 0.0
    acc = 0.0
    for c in range(C):
        acc += fexp(np.float64(row[c]) - ms)
    if m != m:
        return m
    return ms + np.log(acc)


@kernel()
def _zero_rows(grad, gbase, gst, C, t0, t1):
    for t in range(t0, t1):
        row = grad[gbase + t * gst : gbase + t * gst + C]
        for c in range(C):
            row[c] = 0.0


@kernel()
def _job(lp, base, st, C, tg, Tn, T, blank, from_logits, want_grad, gscale, grad, gbase, gst):
    """-> log Z of one job (float64); writes the job's gradient rows if wanted.

    ``tg``: the job's labels; ``Tn``: its input length; ``T``: the full time
    dimension (rows ``Tn <= t < T`` of the gradient are zeroed).
    """
    L = tg.size
    S = 2 * L + 1
    lab = np.empty(S, dtype=np.int64)
    skip = np.empty(S + 2, dtype=np.float64)
    for s in range(S + 2):
        skip[s] = NEG_INF
    for s in range(S):
        lab[s] = blank
    repeats = 0
    for j in range(L):
        lab[2 * j + 1] = tg[j]
        if j > 0:
            if tg[j] != tg[j - 1]:
                skip[2 * j + 1] = 0.0
            else:
                repeats += 1
    if Tn < L + repeats:
        # No alignment fits (this includes Tn == 0 with L > 0).
        if want_grad:
            _zero_rows(grad, gbase, gst, C, 0, T)
        return NEG_INF
    if Tn == 0:
        # Empty input and empty target: the one (empty) path has probability 1.
        if want_grad:
            _zero_rows(grad, gbase, gst, C, 0, T)
        return 0.0

    lse = np.zeros(Tn, dtype=np.float64)
    if from_logits:
        for t in range(Tn):
            lse[t] = _row_lse(lp, base + t * st, C)

    W = S + 2
    nrows = Tn if want_grad else 2
    A = np.empty((nrows, W), dtype=np.float64)
    for r in range(nrows):
        A[r, 0] = NEG_INF
        A[r, 1] = NEG_INF
    g = np.empty(S, dtype=np.float64)
    bad = False

    # alpha_0: only the first blank and the first label.
    hi = min(S, 2)
    bad |= _gather(lp, base, lab, lse[0], g, 0, hi)
    row = A[0]
    for s in range(S):
        row[s + 2] = NEG_INF
    for s in range(hi):
        row[s + 2] = g[s]
    for t in range(1, Tn):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        bad |= _gather(lp, base + t * st, lab, lse[t], g, lo, hi)
        prev = A[(t - 1) if want_grad else ((t - 1) & 1)]
        cur = A[t if want_grad else (t & 1)]
        _alpha_step(prev, cur, skip, g, lo, hi)
        # States above hi are unreachable yet: the next step reads two of them.
        for s in range(hi, min(S, hi + 2)):
            cur[s + 2] = NEG_INF
    last = A[(Tn - 1) if want_grad else ((Tn - 1) & 1)]
    if L > 0:
        logz = _lse3(last[S + 1], last[S], NEG_INF)
    else:
        logz = last[S + 1]
    if bad:
        logz = np.nan

    if not want_grad:
        return logz
    if bad:
        for t in range(T):
            r = grad[gbase + t * gst : gbase + t * gst + C]
            for c in range(C):
                r[c] = np.nan if t < Tn else 0.0
        return logz
    if not (logz > NEG_INF) or logz == np.inf:
        # Infinite loss: the sample contributes a zero gradient (never NaN).
        _zero_rows(grad, gbase, gst, C, 0, T)
        return logz

    _zero_rows(grad, gbase, gst, C, Tn, T)
    # beta' with two -inf pads at the end; ping-pong between two vectors.
    B = np.empty((2, W), dtype=np.float64)
    wv = np.empty(W, dtype=np.float64)
    for s in range(W):
        B[0, s] = NEG_INF
        B[1, s] = NEG_INF
        wv[s] = NEG_INF
    beta = B[(Tn - 1) & 1]
    beta[S - 1] = 0.0
    if L > 0:
        beta[S - 2] = 0.0
    occ = np.empty(S, dtype=np.float64)
    for t in range(Tn - 1, -1, -1):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        beta = B[t & 1]
        arow = A[t]
        # occupancy on the window
        a_s = arow[lo + 2 : hi + 2]
        b_s = beta[lo:hi]
        o_s = occ[lo:hi]
        for i in range(o_s.size):
            # occupancies below e^-700 are flushed to 0 (never subnormal:
            # subnormal arithmetic made this loop ~4x slower on peaky input)
            x = a_s[i] + b_s[i] - logz
            v = _exp_neg(x) * gscale
            o_s[i] = v if x > -700.0 else 0.0
        rb = base + t * st
        gr = grad[gbase + t * gst : gbase + t * gst + C]
        if from_logits:
            xr = lp[rb : rb + C]
            lt = lse[t]
            for c in range(C):
                gr[c] = fexp(np.float64(xr[c]) - lt) * gscale
        else:
            for c in range(C):
                gr[c] = 0.0
        # Blank states are the even s: their occupancies are summed as one
        # (vectorised) reduction instead of S/2 dependent updates of
        # gr[blank]; the label states (odd s) are scattered.
        gr[blank] -= _blank_sum(occ, lo, hi)
        for s in range(lo | 1, hi, 2):
            gr[lab[s]] -= occ[s]
        if t > 0:
            # beta'_{t-1} is needed only on its own window [lo1, hi1): it
            # reads w = beta'_t + g_t on [lo1, hi1 + 2), inside [lo1, hi) when
            # hi1 < S and ending in the two -inf pads when hi1 == S.  Below
            # lo, w stays -inf; above hi it is never read.
            _gather(lp, rb, lab, lse[t], g, lo, hi)
            w_s = wv[lo:hi]
            g_s = g[lo:hi]
            bb = beta[lo:hi]
            for i in range(w_s.size):
                w_s[i] = bb[i] + g_s[i]
            lo1 = max(0, S - 2 * (Tn - t + 1))
            hi1 = min(S, 2 * t)
            _beta_step(wv, B[(t - 1) & 1], skip, lo1, hi1)
    return logz


# ---------------------------------------------------------------------------
# Probability space (scaled), tried first; the log-space _job is the fallback.
# ---------------------------------------------------------------------------

# Flush threshold of the scaled recursion (2^-1000 ~ 9e-302): stored alpha
# and beta values are 0 or in [TINY, 3].  Products of two such values go
# through _smul, which gives 0 instead of a subnormal, so no arithmetic ever
# reaches the subnormal range (slow on x86: it made the recursion ~10x slower
# on peaky input).  What a flush drops is bounded (see _job_prob) and checked
# against Z.
TINY = 2.0 ** -1000
# Emissions exp(x) with x at or below this are stored as 0 (exp(-707) ~ 9e-308
# is still a normal number; anything dropped is < 2^-1019).
_X_FLUSH = -707.0
# Largest bound on |Z error| / Z from flushes accepted (log space's own
# rounding of a log Z ~ 1e4 in magnitude is ~1e-12 relative in Z).
_ERR_MAX = 1e-14
# Smallest per-frame normaliser d_t accepted (a flushed product is < 2^-1020,
# so each is < 2^-70 of d_t).
_D_MIN = 2.0 ** -950


@kernel()
def _extend(tg, blank):
    """(extended labels, skip flags, repeats) of a target for the
    probability-space paths: ``lab`` the 2L+1 states (blanks around and
    between the labels), ``skp[s] = 1.0`` where state s may also be entered
    from s - 2 (a label differing from the previous one), ``repeats`` the
    number of equal neighbouring labels (each needs a blank frame)."""
    L = tg.size
    S = 2 * L + 1
    lab = np.empty(S, dtype=np.int64)
    skp = np.zeros(S + 2, dtype=np.float64)
    for s in range(S):
        lab[s] = blank
    repeats = 0
    for j in range(L):
        lab[2 * j + 1] = tg[j]
        if j > 0:
            if tg[j] != tg[j - 1]:
                skp[2 * j + 1] = 1.0
            else:
                repeats += 1
    return lab, skp, repeats


@kernel()
def _lse_rows(lp, base, st, C, Tn, from_logits):
    """Per frame, the log-sum-exp of the row (the log-softmax's shift) for
    logits; zeros for log-probabilities."""
    lse = np.zeros(Tn, dtype=np.float64)
    if from_logits:
        for t in range(Tn):
            lse[t] = _row_lse(lp, base + t * st, C)
    return lse


@kernel(inline=True)
def _smul(x, y):
    """x * y for x, y >= 0, or 0 when the product would be below 2^-1021
    (decided from the exponent bits, so no subnormal is ever computed);
    NaN and inf propagate."""
    ok = (_f64_as_i64(x) >> 52) + (_f64_as_i64(y) >> 52) >= 1025
    return (x if ok else 0.0) * y


@kernel()
def _pemit(lp, rowbase, lab, off, y, lo, hi):
    """y[s] = exp(lp[rowbase + lab[s]] - off - m) on [lo, hi), m = the window's
    maximum of ``lp[...] - off``; returns m (NaN when a needed value is NaN)."""
    labs = lab[lo:hi]
    ys = y[lo:hi]
    m = NEG_INF
    bad = 0
    for i in range(labs.size):
        v = np.float64(lp[rowbase + labs[i]]) - off
        ys[i] = v
        m = maxnum(m, v)
        bad += v != v
    for i in range(ys.size):
        x = ys[i] - m
        v = fexp(x)
        ys[i] = v if x > _X_FLUSH else 0.0
    return m if bad == 0 else np.nan


@kernel()
def _pemit_row(lp, rowbase, C, lab, off, yrow, y, lo, hi):
    """As :func:`_pemit` with m = the row's maximum, for C < S: C exps, then
    y[s] = yrow[lab[s]] (one exp per class instead of one per state).  A NaN
    in the row makes every y NaN (caught by the caller's sum check)."""
    row = lp[rowbase : rowbase + C]
    m = NEG_INF
    bad = 0
    for c in range(C):
        v = np.float64(row[c])
        m = maxnum(m, v)
        bad += v != v
    m = m - off if bad == 0 else np.nan
    for c in range(C):
        x = np.float64(row[c]) - off - m
        v = fexp(x)
        yrow[c] = v if x > _X_FLUSH else 0.0
    if m != m:
        for c in range(C):
            yrow[c] = np.nan
    labs = lab[lo:hi]
    ys = y[lo:hi]
    for i in range(labs.size):
        ys[i] = yrow[labs[i]]
    return m


@kernel()
def _palpha_step(prev, cur, skp, y, lo, hi, inv):
    """cur[s+2] = (prev[s+2] + prev[s+1] + skp[s] prev[s]) * inv * y[s] on
    [lo, hi), results below TINY flushed to 0; returns (maximum, number of
    states with incoming mass that were flushed)."""
    a2 = prev[lo:hi]
    a1 = prev[lo + 1 : hi + 1]
    a0 = prev[lo + 2 : hi + 2]
    sk = skp[lo:hi]
    ys = y[lo:hi]
    out = cur[lo + 2 : hi + 2]
    mx = 0.0
    lost = 0
    for i in range(out.size):
        comb = (a0[i] + a1[i] + a2[i] * sk[i]) * inv
        v = _smul(comb, ys[i])
        small = v < TINY
        v = 0.0 if small else v
        out[i] = v
        mx += v
        lost += small & (comb > 0.0)
    return mx, lost


@kernel()
def _pweights(b, y, w, lo, hi, inv):
    """w[s] = b[s] * inv * y[s] on [lo, hi) (0 instead of a subnormal);
    returns the number of weights of positive b that came out 0."""
    bs = b[lo:hi]
    ys = y[lo:hi]
    ws = w[lo:hi]
    lost = 0
    for i in range(ws.size):
        v = _smul(bs[i] * inv, ys[i])
        ws[i] = v
        lost += (v == 0.0) & (bs[i] > 0.0)
    return lost


@kernel()
def _pbeta_step(w, cur, skp, lo, hi):
    """cur[s] = w[s] + w[s+1] + skp[s+2] w[s+2] on [lo, hi), results below
    TINY flushed; returns (maximum, number of positive values flushed)."""
    w0 = w[lo:hi]
    w1 = w[lo + 1 : hi + 1]
    w2 = w[lo + 2 : hi + 2]
    sk = skp[lo + 2 : hi + 2]
    out = cur[lo:hi]
    mx = 0.0
    lost = 0
    for i in range(out.size):
        v = w0[i] + w1[i] + w2[i] * sk[i]
        small = v < TINY
        lost += small & (v > 0.0)
        v = 0.0 if small else v
        out[i] = v
        mx += v
    return mx, lost


@kernel()
def _job_prob(lp, base, st, C, tg, Tn, T, blank, from_logits, want_grad, gscale, grad, gbase, gst):
    """-> (done, log Z): the job in scaled probability space (Graves 2006).

    ``done`` is False (and nothing written may be trusted) for the special
    cases (empty input, impossible target), NaN/inf input, a rescale sum
    below TINY, or too much flushed (below): the caller then runs the
    log-space :func:`_job`, which handles every input.

    alpha: ``A[t] = alpha_t / K_t``, ``A[t] = (A[t-1] combos) * y_t / c_{t-1}``
    with ``y_t = exp(lp_t - m_t)`` (``m_t``: a maximum of the row or window)
    and ``c_t = max A[t]``, so ``log Z = sum m_t + sum_{t<Tn-1} log c_t +
    log(A[Tn-1] final states)``, accumulated in float64.  beta' is rescaled by
    its own maximum at every step; the occupancy is normalised per frame,
    ``gamma_t = A[t] B[t] / d_t``, ``d_t = sum_s A[t] B[t]``, exact because
    ``sum_s alpha_t(s) beta'_t(s) = Z`` for every t.

    Flushes: every value a flush drops is < TINY in its frame's units, and
    changes Z by at most that times the other recursion's value at the
    flushed state (B[t](s) for alpha, A[t](s) for beta; a dropped beta weight
    feeds 3 states, bounded by 3 max A[t]); the summed bound relative to Z (``err``, via ``d_t``) must stay
    below _ERR_MAX, so flushing changes the loss or the occupancies by no
    more than float64 rounding does.  Without a gradient (no beta) any flush of a
    state with incoming mass sends the job to log space.
    """
    L = tg.size
    S = 2 * L + 1
    lab, skp, repeats = _extend(tg, blank)
    if Tn == 0 or Tn < L + repeats:
        return False, 0.0
    lse = _lse_rows(lp, base, st, C, Tn, from_logits)

    W = S + 2
    nrows = Tn if want_grad else 2
    A = np.empty((nrows, W), dtype=np.float64)
    for r in range(nrows):
        A[r, 0] = 0.0
        A[r, 1] = 0.0
    # Emissions y_t on the window: from one exp per class when C < S
    # (recomputed by the backward pass: cheaper than storing Tn x S values),
    # else gathered per state and kept for the backward pass.
    by_row = C < S
    Y = np.empty((Tn if (want_grad and not by_row) else 1, S), dtype=np.float64)
    yrow = np.empty(C, dtype=np.float64)
    nlost = np.zeros(Tn if want_grad else 1, dtype=np.int64)
    csum = np.empty(Tn if want_grad else 1, dtype=np.float64)

    hi = min(S, 2)
    y = Y[0]
    if by_row:
        m = _pemit_row(lp, base, C, lab, lse[0], yrow, y, 0, hi)
    else:
        m = _pemit(lp, base, lab, lse[0], y, 0, hi)
    logk = m
    row = A[0]
    for s in range(W):
        row[s] = 0.0
    c = 0.0
    for s in range(hi):
        v = y[s] if y[s] >= TINY else 0.0
        row[s + 2] = v
        c += v
        nlost[0] += v == 0.0
    if not want_grad and nlost[0] != 0:
        return False, 0.0
    for t in range(1, Tn):
        if not (c > 0.0 and c < np.inf):
            return False, 0.0
        if want_grad:
            csum[t - 1] = c
        logk += np.log(c)
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        y = Y[t if (want_grad and not by_row) else 0]
        if by_row:
            m = _pemit_row(lp, base + t * st, C, lab, lse[t], yrow, y, lo, hi)
        else:
            m = _pemit(lp, base + t * st, lab, lse[t], y, lo, hi)
        logk += m
        prev = A[(t - 1) if want_grad else ((t - 1) & 1)]
        cur = A[t if want_grad else (t & 1)]
        c, lost = _palpha_step(prev, cur, skp, y, lo, hi, 1.0 / c)
        if lost != 0:
            if not want_grad:
                return False, 0.0
            nlost[t] = lost
        # States above hi are unreachable yet: the next step reads two of them.
        for s in range(hi, min(S, hi + 2)):
            cur[s + 2] = 0.0
    if not (c > 0.0 and c < np.inf):
        return False, 0.0
    if want_grad:
        csum[Tn - 1] = c
    last = A[(Tn - 1) if want_grad else ((Tn - 1) & 1)]
    pz = last[S + 1] + (last[S] if L > 0 else 0.0)
    if not (pz > 0.0 and logk > NEG_INF and logk < np.inf):
        return False, 0.0
    logz = logk + np.log(pz)
    if not want_grad:
        return True, logz

    # beta' with two zero pads at the end; ping-pong between two vectors.
    B = np.zeros((2, W), dtype=np.float64)
    wv = np.zeros(W, dtype=np.float64)
    beta = B[(Tn - 1) & 1]
    beta[S - 1] = 1.0
    cb = 1.0
    if L > 0:
        beta[S - 2] = 1.0
        cb = 2.0
    occ = np.empty(S, dtype=np.float64)
    err = 0.0
    lostb = 0
    lostw = 0
    for t in range(Tn - 1, -1, -1):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        beta = B[t & 1]
        a_s = A[t][lo + 2 : hi + 2]
        b_s = beta[lo:hi]
        o_s = occ[lo:hi]
        d = 0.0
        for i in range(o_s.size):
            v = _smul(a_s[i], b_s[i])
            o_s[i] = v
            d += v
        if not (d >= _D_MIN and d < np.inf):
            return False, 0.0
        if nlost[t] != 0 or lostb != 0 or lostw != 0:
            # A state whose alpha (beta) was flushed holds 0 in A[t] (B[t]):
            # bound its loss by TINY times the other side's value there
            # (zeros that were zero anyway only make the bound larger).
            za = 0.0
            zb = 0.0
            for i in range(o_s.size):
                za += b_s[i] if a_s[i] == 0.0 else 0.0
                zb += a_s[i] if b_s[i] == 0.0 else 0.0
            err += ((za if nlost[t] != 0 else 0.0) + (zb if lostb != 0 else 0.0)
                    + 3.0 * lostw * csum[t]) * TINY / d
            if not (err < _ERR_MAX):
                return False, 0.0
        f = gscale / d
        for i in range(o_s.size):
            o_s[i] *= f
        rb = base + t * st
        gr = grad[gbase + t * gst : gbase + t * gst + C]
        if from_logits:
            xr = lp[rb : rb + C]
            lt = lse[t]
            for c_ in range(C):
                gr[c_] = fexp(np.float64(xr[c_]) - lt) * gscale
        else:
            for c_ in range(C):
                gr[c_] = 0.0
        gr[blank] -= _blank_sum(occ, lo, hi)
        for s in range(lo | 1, hi, 2):
            gr[lab[s]] -= occ[s]
        if t > 0:
            if by_row:
                y = Y[0]
                _pemit_row(lp, rb, C, lab, lse[t], yrow, y, lo, hi)
            else:
                y = Y[t]
            lostw = _pweights(beta, y, wv, lo, hi, 1.0 / cb)
            lo1 = max(0, S - 2 * (Tn - t + 1))
            hi1 = min(S, 2 * t)
            cb, lostb = _pbeta_step(wv, B[(t - 1) & 1], skp, lo1, hi1)
            if not (cb > 0.0 and cb < np.inf):
                return False, 0.0
    _zero_rows(grad, gbase, gst, C, Tn, T)
    return True, logz


# ---------------------------------------------------------------------------
# Extended range: for what the scaled path cannot take (peaky input).
# ---------------------------------------------------------------------------

# A value is m * 2^e, m a float64 (0 for zero), e an int64; zero is (0, _ZE).
# Adding three values aligns them to the largest exponent with powers of two
# built from bits, a product multiplies mantissas and adds exponents, so the
# recursion needs no exp/log per state (log space needs two exps and a log
# per state); the range is unlimited like log space's, the rounding that of
# float64 products and sums.  Exponents stay far from int64's range: inputs
# with |log-prob| >= 1e6 (other than -inf) are declined (log space takes
# them), so a frame adds less than 1.5e6 to an exponent.
_ZE = -(1 << 60)
# Rows of alpha per recomputed segment in the extended-range backward pass.
_XSEG = 32


@kernel()
def _copy(dst, src):
    """dst[:] = src for two rows of one length, as a loop: Numba compiles a
    slice assignment from an array with its shape-mismatch message, which
    pulls in its string formatting (measured ~10 s of the CTC kernel's cold
    compile)."""
    for j in range(dst.size):
        dst[j] = src[j]


@kernel(inline=True)
def _pow2(d):
    """2^d for an int64 d <= 1023; 0 below -1020 (never subnormal)."""
    return _i64_as_f64((d + 1023) << 52) if d >= -1020 else 0.0


@kernel(inline=True)
def _xnorm(v, e):
    """v * 2^e (v >= 0, a normal number or 0) -> (m in [1, 2), exponent), or (0, _ZE)."""
    b = _f64_as_i64(v)
    m = _i64_as_f64((b & _math._MANT_MASK) | _math._EXP_ONE)
    z = v == 0.0
    return (0.0 if z else m), (_ZE if z else e + ((b >> 52) - 1023))


@kernel(inline=True)
def _xexp(x):
    """exp(x) as (m in [0.7, 1.42], e) for |x| < 1e6 (or -inf -> (0, _ZE)):
    the range reduction of ``_math.fexp`` without the final scaling."""
    z = x < -1e6
    xc = 0.0 if z else x
    xc = xc if xc < 1e6 else 1e6
    kf = np.floor(xc * _math._LOG2E + 0.5)
    r = fma(-kf, _math._LN2_REM, fma(-kf, _math._LN2, xc))
    return (0.0 if z else _math.exp_poly(r)), (_ZE if z else np.int64(kf))


@kernel()
def _xemit(lp, rowbase, C, lab, off, tm, te, yM, yE, lo, hi, by_row):
    """Emissions exp(lp[rowbase + lab[s]] - off) on [lo, hi) as (yM, yE),
    via a per-class table (tm, te) when ``by_row``; False on NaN or +inf in
    what was read, and on |values| >= 1e6 other than -inf."""
    bad = 0
    if by_row:
        row = lp[rowbase : rowbase + C]
        for c in range(C):
            x = np.float64(row[c]) - off
            bad += not (x < 1e6) or (x <= -1e6 and x > NEG_INF)
            tm[c], te[c] = _xexp(x)
        labs = lab[lo:hi]
        ym = yM[lo:hi]
        ye = yE[lo:hi]
        for i in range(labs.size):
            ym[i] = tm[labs[i]]
            ye[i] = te[labs[i]]
    else:
        labs = lab[lo:hi]
        ym = yM[lo:hi]
        ye = yE[lo:hi]
        for i in range(labs.size):
            x = np.float64(lp[rowbase + labs[i]]) - off
            bad += not (x < 1e6) or (x <= -1e6 and x > NEG_INF)
            ym[i], ye[i] = _xexp(x)
    return bad == 0


@kernel()
def _xalpha_step(pM, pE, cM, cE, skp, yM, yE, lo, hi):
    """(cM, cE)[s+2] = alpha_t(s) on [lo, hi) from alpha_{t-1} (padded by 2)."""
    m2 = pM[lo:hi]
    m1 = pM[lo + 1 : hi + 1]
    m0 = pM[lo + 2 : hi + 2]
    e2 = pE[lo:hi]
    e1 = pE[lo + 1 : hi + 1]
    e0 = pE[lo + 2 : hi + 2]
    sk = skp[lo:hi]
    ym = yM[lo:hi]
    ye = yE[lo:hi]
    om = cM[lo + 2 : hi + 2]
    oe = cE[lo + 2 : hi + 2]
    for i in range(om.size):
        a = e0[i]
        b = e1[i]
        c = e2[i] if sk[i] > 0.0 else _ZE
        mx = a if a > b else b
        mx = mx if mx > c else c
        v = m0[i] * _pow2(a - mx) + m1[i] * _pow2(b - mx) + (m2[i] * sk[i]) * _pow2(c - mx)
        om[i], oe[i] = _xnorm(v * ym[i], mx + ye[i])


@kernel()
def _xbeta_step(wM, wE, cM, cE, skp, lo, hi):
    """(cM, cE)[s] = beta'_{t-1}(s) on [lo, hi) from w = beta'_t y_t (read on [lo, hi + 2))."""
    m0 = wM[lo:hi]
    m1 = wM[lo + 1 : hi + 1]
    m2 = wM[lo + 2 : hi + 2]
    e0 = wE[lo:hi]
    e1 = wE[lo + 1 : hi + 1]
    e2 = wE[lo + 2 : hi + 2]
    sk = skp[lo + 2 : hi + 2]
    om = cM[lo:hi]
    oe = cE[lo:hi]
    for i in range(om.size):
        a = e0[i]
        b = e1[i]
        c = e2[i] if sk[i] > 0.0 else _ZE
        mx = a if a > b else b
        mx = mx if mx > c else c
        v = m0[i] * _pow2(a - mx) + m1[i] * _pow2(b - mx) + (m2[i] * sk[i]) * _pow2(c - mx)
        om[i], oe[i] = _xnorm(v, mx)


@kernel()
def _job_ext(lp, base, st, C, tg, Tn, T, blank, from_logits, want_grad, gscale, grad, gbase, gst):
    """-> (done, log Z): the job in extended range (see _ZE); ``done`` is
    False for the special cases and NaN/+inf input, which the log-space
    :func:`_job` handles.  Same recursions and windows as :func:`_job`."""
    L = tg.size
    S = 2 * L + 1
    lab, skp, repeats = _extend(tg, blank)
    # With C >= S the emissions cost an exp per state: log space is as fast.
    if Tn == 0 or Tn < L + repeats or C >= S:
        return False, 0.0
    lse = _lse_rows(lp, base, st, C, Tn, from_logits)

    W = S + 2
    # alpha: a ping-pong pair of rows; with a gradient, every _XSEG-th row is
    # kept and the backward pass recomputes one segment at a time into SM/SE
    # (which stay in cache): storing Tn x W values made the job memory-bound.
    AM = np.empty((2, W), dtype=np.float64)
    AE = np.empty((2, W), dtype=np.int64)
    for r in range(2):
        AM[r, 0] = 0.0
        AM[r, 1] = 0.0
        AE[r, 0] = _ZE
        AE[r, 1] = _ZE
    ncp = (Tn + _XSEG - 1) // _XSEG if want_grad else 0
    CM = np.empty((ncp, W), dtype=np.float64)
    CE = np.empty((ncp, W), dtype=np.int64)
    by_row = True  # C < S here
    tm = np.empty(C, dtype=np.float64)
    te = np.empty(C, dtype=np.int64)
    yM = np.empty(S, dtype=np.float64)
    yE = np.empty(S, dtype=np.int64)

    hi = min(S, 2)
    if not _xemit(lp, base, C, lab, lse[0], tm, te, yM, yE, 0, hi, by_row):
        return False, 0.0
    for s in range(2, W):
        AM[0, s] = 0.0
        AE[0, s] = _ZE
    for s in range(hi):
        AM[0, s + 2], AE[0, s + 2] = _xnorm(yM[s], yE[s])
    if want_grad:
        _copy(CM[0], AM[0])
        _copy(CE[0], AE[0])
    for t in range(1, Tn):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        if not _xemit(lp, base + t * st, C, lab, lse[t], tm, te, yM, yE, lo, hi, by_row):
            return False, 0.0
        r0 = (t - 1) & 1
        r1 = t & 1
        _xalpha_step(AM[r0], AE[r0], AM[r1], AE[r1], skp, yM, yE, lo, hi)
        for s in range(hi, min(S, hi + 2)):
            AM[r1, s + 2] = 0.0
            AE[r1, s + 2] = _ZE
        if want_grad and t % _XSEG == 0:
            _copy(CM[t // _XSEG], AM[r1])
            _copy(CE[t // _XSEG], AE[r1])
    r1 = (Tn - 1) & 1
    a = AE[r1, S + 1]
    b = AE[r1, S] if L > 0 else _ZE
    mx = a if a > b else b
    zv = AM[r1, S + 1] * _pow2(a - mx) + (AM[r1, S] * _pow2(b - mx) if L > 0 else 0.0)
    if not (zv > 0.0):
        # no path has a representable probability: only log space can tell
        return False, 0.0
    zM, zE = _xnorm(zv, mx)
    logz = np.log(zM) + (np.float64(zE) * _math._LN2_HI + np.float64(zE) * _math._LN2_LO)
    if not want_grad:
        return True, logz

    SM = np.empty((_XSEG, W), dtype=np.float64)
    SE = np.empty((_XSEG, W), dtype=np.int64)
    # the segment's emissions, reused by the backward pass
    SyM = np.empty((_XSEG, S), dtype=np.float64)
    SyE = np.empty((_XSEG, S), dtype=np.int64)
    for r in range(_XSEG):
        SM[r, 0] = 0.0
        SM[r, 1] = 0.0
        SE[r, 0] = _ZE
        SE[r, 1] = _ZE
    BM = np.zeros((2, W), dtype=np.float64)
    BE = np.full((2, W), _ZE, dtype=np.int64)
    wM = np.zeros(W, dtype=np.float64)
    wE = np.full(W, _ZE, dtype=np.int64)
    q = (Tn - 1) & 1
    BM[q, S - 1] = 1.0
    BE[q, S - 1] = 0
    if L > 0:
        BM[q, S - 2] = 1.0
        BE[q, S - 2] = 0
    occ = np.empty(S, dtype=np.float64)
    izm = 1.0 / zM
    for t in range(Tn - 1, -1, -1):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        t0 = t - t % _XSEG
        if t == Tn - 1 or t % _XSEG == _XSEG - 1:
            # recompute alpha on the segment [t0, t]
            _copy(SM[0], CM[t0 // _XSEG])
            _copy(SE[0], CE[t0 // _XSEG])
            if t0 > 0:
                lu = max(0, S - 2 * (Tn - t0))
                hu = min(S, 2 * t0 + 2)
                _xemit(lp, base + t0 * st, C, lab, lse[t0], tm, te, SyM[0], SyE[0], lu, hu, by_row)
            for u in range(t0 + 1, t + 1):
                lu = max(0, S - 2 * (Tn - u))
                hu = min(S, 2 * u + 2)
                k = u - t0
                _xemit(lp, base + u * st, C, lab, lse[u], tm, te, SyM[k], SyE[k], lu, hu, by_row)
                _xalpha_step(SM[k - 1], SE[k - 1], SM[k], SE[k], skp, SyM[k], SyE[k], lu, hu)
                for s in range(hu, min(S, hu + 2)):
                    SM[k, s + 2] = 0.0
                    SE[k, s + 2] = _ZE
        q = t & 1
        am = SM[t - t0][lo + 2 : hi + 2]
        ae = SE[t - t0][lo + 2 : hi + 2]
        bm = BM[q][lo:hi]
        be = BE[q][lo:hi]
        o_s = occ[lo:hi]
        f = izm * gscale
        for i in range(o_s.size):
            # occupancies below 2^-960 are 0 (no subnormal product)
            d = ae[i] + be[i] - zE
            o_s[i] = (am[i] * bm[i] * f) * (_pow2(d) if d >= -960 else 0.0)
        rb = base + t * st
        gr = grad[gbase + t * gst : gbase + t * gst + C]
        if from_logits:
            xr = lp[rb : rb + C]
            lt = lse[t]
            for c in range(C):
                gr[c] = fexp(np.float64(xr[c]) - lt) * gscale
        else:
            for c in range(C):
                gr[c] = 0.0
        gr[blank] -= _blank_sum(occ, lo, hi)
        for s in range(lo | 1, hi, 2):
            gr[lab[s]] -= occ[s]
        if t > 0:
            wm = wM[lo:hi]
            we = wE[lo:hi]
            ym = SyM[t - t0][lo:hi]
            ye = SyE[t - t0][lo:hi]
            for i in range(wm.size):
                wm[i] = bm[i] * ym[i]
                we[i] = be[i] + ye[i]
            lo1 = max(0, S - 2 * (Tn - t + 1))
            hi1 = min(S, 2 * t)
            _xbeta_step(wM, wE, BM[1 - q], BE[1 - q], skp, lo1, hi1)
    _zero_rows(grad, gbase, gst, C, Tn, T)
    return True, logz


@kernel(parallel=True)
def ctc_jobs(lp, st, sn, C, T, targets, toff, tlen, rows, ilen, blank, from_logits,
             want_grad, gscale, grad, gst, gsn, logz):
    """logz[k] = log p(targets of job k | utterance rows[k]) for every job k.

    ``lp``: the flat input (element (t, n, c) at ``n*sn + t*st + c``);
    ``targets[toff[k] : toff[k] + tlen[k]]``: job k's labels; ``ilen[n]``:
    utterance n's input length.  With ``want_grad`` (one job per utterance,
    ``rows[k] == k``) the gradient of ``-sum_k gscale[k] log Z_k`` is written
    into ``grad`` (element (t, n, c) at ``n*gsn + t*gst + c``).
    """
    for k in numba.prange(logz.size):
        n = rows[k]
        tg = targets[toff[k] : toff[k] + tlen[k]]
        done, lz = _job_prob(lp, n * sn, st, C, tg, ilen[n], T, blank, from_logits, want_grad,
                             gscale[k], grad, n * gsn, gst)
        if not done:
            done, lz = _job_ext(lp, n * sn, st, C, tg, ilen[n], T, blank, from_logits, want_grad,
                                gscale[k], grad, n * gsn, gst)
        if not done:
            lz = _job(lp, n * sn, st, C, tg, ilen[n], T, blank, from_logits, want_grad,
                      gscale[k], grad, n * gsn, gst)
        logz[k] = lz
