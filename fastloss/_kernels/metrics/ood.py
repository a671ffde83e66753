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
  confidence/correctness and per-bin sums for calibration.

Every row or sample is computed by one thread with the same code, and the
per-chunk bin partials are combined in a fixed order by the wrapper, so
results are bitwise identical for any thread count.
"""
from __future__ import annotations

import numpy as np


from ..._core.jit import kernel, numba
from ..._core.math import _f64_as_i64, fexp, flog
from ..._core.math import maxnum as _maxnum
from ..._core.math import Y32_MIN as _Y32_MIN
from ..._core.math import fexp32_nonpos as _fexp32_nonpos

from ..._core.consts import ENERGY, MAX_LOGIT, MSP


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
                g = np.int64(np.ceil(v * nb)) - 1
                g = min(max(g, 0), nb - 1)
                if g > 0 and v <= edges[g]:
                    g -= 1
                elif g < nb - 1 and v > edges[g + 1]:
                    g += 1
                l = g
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
