"""Kernels for out-of-distribution scores, OOD detection metrics and calibration.

* :func:`row_scores`: one score per row of a ``(n, C)`` C-contiguous logit
  matrix (max softmax probability, max logit, energy, negative entropy),
  parallel over rows.  A row is read twice (max, then one fused sum of
  ``exp`` and ``exp * y``) while it is still in L1 cache, so memory traffic is
  one read of the matrix.  The score kind is a run-time switch outside the
  inner loops: one compile per dtype for all four scores.
* :func:`sorted_roc_pr`: AUROC, both AUPRs and FPR at a TPR level from the
  two score arrays each sorted ascending, by one merge walk over the distinct
  thresholds (no argsort of the concatenation).
* :func:`confidence_hit` and :func:`bin_stats`: per-sample top-label
  confidence/correctness and per-bin sums for calibration;
  :func:`bin_rows`: both, and the input checks, fused in one pass (the
  common call of a calibration update).

Every row or sample is computed by one thread with the same code, and the
per-chunk bin partials are combined in a fixed order by the wrapper, so
results are bitwise identical for any thread count.
"""
from __future__ import annotations

import math

import numpy as np

from ..._core.jit import kernel, numba
from ..._core.math import _f64_as_i64, fexp, flog
from ..._core.math import maxnum as _maxnum
from ..._core.math import Y32_MIN as _Y32_MIN
from ..._core.math import fexp32_nonpos as _fexp32_nonpos

from ..._core.consts import BIN_BINARY, BIN_PROBS, ENERGY, MAX_LOGIT, MSP


def tag(kind: int) -> tuple:
    """The ``tag`` argument of :func:`row_scores` selecting score ``kind``."""
    return (0,) * kind




# exp(y) is 0 in float64 below about -745; clamping y here keeps e * y == 0
# (instead of 0 * -inf = NaN) for -inf logits and huge negative gaps.
_Y_FLOOR = -1000.0


@kernel(inline=True)
def _row_max(row):
    """(max of the row, True if the row holds a NaN), in the row's dtype (exact).

    Two loops, not one: LLVM vectorised each of them alone, but not the
    fused loop (measured ~7x slower on 1000-column float32 rows).  The
    second pass reads the row from L1.
    """
    m = row[0]
    for j in range(row.size):
        m = _maxnum(m, row[j])
    # Any inf or NaN? Tested on the exponent bits (all ones), a vectorisable
    # integer test that no floating-point flag can fold away: ``v * 0 != 0``
    # was folded to "never" by the LLVM of Numba 0.59 (the oldest-NumPy CI leg).
    special = 0
    for j in range(row.size):
        special += ((_f64_as_i64(np.float64(row[j])) >> 52) & 0x7FF) == 0x7FF
    has_nan = False
    if special:  # rare: an inf or a NaN somewhere; look properly
        for j in range(row.size):
            if row[j] != row[j]:
                has_nan = True
    return m, has_nan


@kernel(inline=True)
def _exp_sums(single, row, m, inv_t):
    """s = sum exp(y_j), t = sum y_j exp(y_j), y_j = (x_j - m) / T <= 0.

    Accumulated in float64.  With ``single`` (float32 rows) y and exp(y) are
    evaluated in float32 (twice the SIMD width; each term within ~2 float32
    ulp, below the float32 output's own rounding); otherwise in float64 with
    ``fexp``.
    """
    s = 0.0
    t = 0.0
    if single:
        m32 = np.float32(m)
        it32 = np.float32(inv_t)
        for j in range(row.size):
            y = (np.float32(row[j]) - m32) * it32
            y = y if y > _Y32_MIN else _Y32_MIN  # e * y = 0, not 0 * -inf
            e = _fexp32_nonpos(y)
            e64 = np.float64(e)
            s += e64
            t += e64 * np.float64(y)
    else:
        m64 = np.float64(m)
        for j in range(row.size):
            y = (np.float64(row[j]) - m64) * inv_t
            y = y if y > _Y_FLOOR else _Y_FLOOR
            e = fexp(y)
            s += e
            t += e * y
    return s, t


@kernel(parallel=True)
def row_scores(tag, temperature, single, x, out):
    """out[i] = score of row i of the (n, C) matrix x (see module docstring).

    ``tag`` is a tuple of ``kind`` zeros (:func:`tag`): the score kind is a
    compile-time constant, so each score compiles to its own loop and the
    ``y exp(y)`` sum that only the entropy needs is not computed for the
    others."""
    kind = len(tag)
    n = x.shape[0]
    inv_t = 1.0 / temperature
    for i in numba.prange(n):
        row = x[i]
        m, has_nan = _row_max(row)
        if has_nan:
            out[i] = np.nan
            continue
        if kind == MAX_LOGIT:
            out[i] = m
            continue
        mf = np.float64(m)
        if mf == np.inf or mf == -np.inf:
            # +inf logit: logsumexp = +inf, softmax undefined (NaN, as scipy
            # and torch); all -inf: logsumexp = -inf, softmax NaN.
            out[i] = mf if kind == ENERGY else np.nan
            continue
        s, t = _exp_sums(single, row, mf, inv_t)
        if kind == MSP:
            out[i] = 1.0 / s
        elif kind == ENERGY:
            out[i] = mf + temperature * flog(s)
        else:  # NEG_ENTROPY: sum p log p = t/s - log s
            out[i] = t / s - flog(s)


@kernel()
def sorted_roc_pr(a, b, level, res):
    """a: in-distribution scores sorted ascending, b: OOD scores sorted ascending.

    Walks the distinct thresholds from the highest down.  With the
    in-distribution samples as positives, after threshold t_k:
    tp_k = #{a >= t_k}, fp_k = #{b >= t_k}.
    res = [auroc, aupr_in, aupr_out, fpr at the first tp_k / P >= level].
    """
    P = a.size
    N = b.size
    i = P - 1
    j = N - 1
    tp = 0
    fp = 0
    auc2 = 0  # 2 * area * P * N, exact in int64
    ap_in = 0.0
    ap_out = 0.0
    fpr_at = np.nan
    found = False
    while i >= 0 or j >= 0:
        if j < 0 or (i >= 0 and a[i] >= b[j]):
            t = a[i]
        else:
            t = b[j]
        da = 0
        while i >= 0 and a[i] == t:
            da += 1
            i -= 1
        db = 0
        while j >= 0 and b[j] == t:
            db += 1
            j -= 1
        # OOD as positive, score -s: its threshold walk is ascending in s;
        # the operating point at t counts the samples with score <= t.
        out_le = N - fp
        in_le = P - tp
        ap_out += db * (out_le / (out_le + in_le))
        tp_new = tp + da
        fp_new = fp + db
        auc2 += db * (tp + tp_new)
        ap_in += da * (tp_new / (tp_new + fp_new))
        if not found and tp_new / P >= level:
            fpr_at = fp_new / N
            found = True
        tp = tp_new
        fp = fp_new
    res[0] = auc2 / (2.0 * P * N)
    res[1] = ap_in / P
    res[2] = ap_out / N
    res[3] = fpr_at


@kernel(parallel=True)
def confidence_hit(from_logits, single, x, labels, conf, hit):
    """Top-label confidence and correctness of each row of the (n, C) matrix x.

    conf[i] = max_j p_ij (p = softmax(x_i) if from_logits else x_i),
    hit[i] = (first argmax == labels[i]).
    """
    n = x.shape[0]
    for i in numba.prange(n):
        row = x[i]
        mx, has_nan = _row_max(row)
        if has_nan:  # reported by the wrapper (a NaN confidence)
            conf[i] = np.nan
            hit[i] = 0
            continue
        m = np.float64(row[0])
        k = 0
        for j in range(1, row.size):
            v = np.float64(row[j])
            if v > m:
                m = v
                k = j
        if from_logits:
            s, t = _exp_sums(single, row, m, 1.0)
            conf[i] = 1.0 / s
        else:
            conf[i] = m
        hit[i] = 1 if k == labels[i] else 0


@kernel(inline=True)
def _uniform_bin(v, edges, nb):
    """The bin of confidence ``v`` in [0, 1] for ``edges = linspace(0, 1,
    nb + 1)``: the number of inner edges ``edges[1..nb-1]`` below ``v``
    (``np.searchsorted(edges[1:-1], v)``), written once for both kernels.

    With ``t = v nb`` and ``g = floor(t)``, a ``t`` more than ``1e-7`` from
    both g and g + 1 lies strictly inside bin g (the edges are within a few
    ulps of k / nb: ``nb * 4.4e-16``, far below 1e-7 for ``nb <= 2**20``),
    so the bin is g.  Otherwise every inner edge up to ``edges[g - 1]`` is
    below ``v`` and every one from ``edges[g + 2]`` on is not, and
    ``edges[g]`` and ``edges[g + 1]`` are compared.  No unpredictable
    branches: ``max()``, ``and`` and ``1 if .. else 0`` on the bin compiled
    to branches mispredicted on about every other sample.
    """
    t = v * nb
    g = min(np.int64(t), nb)
    if nb <= 1 << 20 and t - g > 1e-7 and (g + 1) - t > 1e-7:
        return g  # strictly inside bin g (the usual case)
    e1 = edges[g]
    e2 = edges[min(g + 1, nb)]
    below1 = (g >= 1) & (g <= nb - 1) & (e1 < v)
    below2 = (g + 1 <= nb - 1) & (e2 < v)
    return g - 1 + np.int64(g < 1) + np.int64(below1) + np.int64(below2)


@kernel(parallel=True)
def bin_stats(uniform, conf, hit, edges, chunk, count, conf_sum, hit_sum):
    """Per-chunk bin partials; bin b holds edges[b] < c <= edges[b+1]
    (the first bin also holds c <= edges[1], the last c > edges[nb-1]):
    the bin index is the number of inner edges edges[1..nb-1] that are < c
    (scikit-learn's ``np.searchsorted(edges[1:-1], c)``).  The partial
    arrays are (nchunks, nb).  With ``uniform`` (edges = linspace(0, 1))
    the index is guessed as ceil(c nb) - 1 and corrected against the actual
    edges (at most a step; no unpredictable branches); otherwise a binary
    search.
    """
    n = conf.size
    nb = edges.size - 1
    for c in numba.prange(count.shape[0]):
        lo = c * chunk
        hi = min(lo + chunk, n)
        for i in range(lo, hi):
            v = np.float64(conf[i])
            if uniform:
                l = _uniform_bin(v, edges, nb)
            else:
                l = 0
                r = nb - 1
                while l < r:
                    mid = (l + r) >> 1
                    if edges[mid + 1] < v:
                        l = mid + 1
                    else:
                        r = mid
            count[c, l] += 1
            conf_sum[c, l] += v
            hit_sum[c, l] += hit[i]


@kernel(parallel=True)
def bin_rows(tag, single, x, labels, tol, edges, chunk, count, conf_sum, hit_sum):
    """One pass of a calibration update over (N, C) rows ``x``: the input
    checks, the top-label confidence and correctness, and the uniform
    binning, added into the state ``count``/``conf_sum``/``hit_sum``.
    ``tag`` is ``tag(mode)`` (``BIN_PROBS``, ``BIN_LOGITS``, ``BIN_BINARY``).

    The checks are the wrapper's (``calibration._confidences``): every label
    in [0, C) (binary: [0, 2)); probabilities in [0, 1] (NaN fails) and, for
    (N, C) probabilities, every row sum within ``tol`` of 1 (the wrapper
    passes ``np.isclose``'s tolerance minus a margin larger than any
    difference between this sum's rounding and NumPy's, so a row accepted
    here is accepted there); logits whose softmax confidence is finite.
    Returns 0 when every row passed (the state was updated), else -1 and
    the state is untouched: the wrapper then runs its NumPy checks, which
    raise the error naming the bad value.

    Per-chunk partials (``chunk`` rows, fixed by the wrapper) are those of
    :func:`confidence_hit` + :func:`bin_stats` bit for bit (same values,
    same order); their column sums, in chunk order (NumPy's ``sum(axis=0)``
    order), are then added to the state.
    """
    mode = len(tag)  # compile-time: each input kind compiles to its own loop
    n, C = x.shape
    nb = edges.size - 1
    ncls = 2 if mode == BIN_BINARY else C
    nch = (n + chunk - 1) // chunk
    pc = np.zeros((nch, nb), dtype=np.int64)
    ps = np.zeros((nch, nb), dtype=np.float64)
    ph = np.zeros((nch, nb), dtype=np.int64)
    bad = np.zeros(nch, dtype=np.int64)
    for c in numba.prange(nch):
        lo = c * chunk
        hi = min(lo + chunk, n)
        # 1-D accumulators of this chunk (cheaper to index than a row of pc)
        cc = np.zeros(nb, dtype=np.int64)
        cs = np.zeros(nb, dtype=np.float64)
        ch = np.zeros(nb, dtype=np.int64)
        for i in range(lo, hi):
            y = labels[i]
            row = x[i]
            if mode == BIN_PROBS:
                # One pass over the row, few operations per value: the sum (a
                # NaN or inf anywhere fails its check), the minimum, and the
                # first arg-max by selects (its maximum is checked <= 1).
                # (In the input's dtype: names of their own, not unified
                # with the float64 ones of the logits branch.)
                top = row[0]
                low = row[0]
                arg = 0
                tot = 0.0
                for j in range(C):
                    q = row[j]
                    tot += np.float64(q)
                    low = min(low, q)
                    better = q > top
                    arg = j if better else arg
                    top = q if better else top
                v = np.float64(top)
                ok = (low >= 0) & (v <= 1.0) & (abs(tot - 1.0) <= tol)
                h = np.int64(arg == y)
            elif mode == BIN_BINARY:
                v = np.float64(row[0])
                ok = (v >= 0.0) & (v <= 1.0)
                h = np.int64(y == 1)
            else:
                mx, has_nan = _row_max(row)
                m = np.float64(row[0])
                k = 0
                for j in range(1, C):
                    p = np.float64(row[j])
                    k = j if p > m else k
                    m = p if p > m else m
                v = np.nan
                if not has_nan:
                    s, t = _exp_sums(single, row, m, 1.0)
                    v = 1.0 / s
                ok = math.isfinite(v)  # NaN or inf: an undefined probability
                h = np.int64(k == y)
            # Bitwise & and int64(comparison): ``and`` and ``1 if .. else 0``
            # compiled to branches on the label, mispredicted on random labels.
            if not (ok & (y >= 0) & (y < ncls)):
                bad[c] = 1
                break
            g = _uniform_bin(v, edges, nb)
            cc[g] += 1
            cs[g] += v
            ch[g] += h
        for b in range(nb):
            pc[c, b] = cc[b]
            ps[c, b] = cs[b]
            ph[c, b] = ch[b]
    for c in range(nch):
        if bad[c]:
            return -1
    tc = np.zeros(nb, dtype=np.int64)
    ts = np.zeros(nb, dtype=np.float64)
    th = np.zeros(nb, dtype=np.int64)
    for c in range(nch):
        for b in range(nb):
            tc[b] += pc[c, b]
            ts[b] += ps[c, b]
            th[b] += ph[c, b]
    for b in range(nb):
        count[b] += tc[b]
        conf_sum[b] += ts[b]
        hit_sum[b] += th[b]
    return 0
