"""Out-of-distribution (OOD) detection: scores from logits and detection metrics.

Scores
------
``msp_score``, ``max_logit_score``, ``energy_score`` and ``entropy_score``
map a classifier's logits to one score per sample.  **Higher always means
more in-distribution** (energy and entropy are returned with the sign that
makes this true).

* ``logits``: ``(N, C)`` (one row per sample, classes last) or ``(C,)`` for
  a single sample.  float32 and float64 are computed natively (C-contiguous
  input read in place; other layouts and byte orders are copied block by
  block, never as a whole), other real dtypes are converted.  Each row is
  computed in float64 in one fused pass (max, then one sum of ``exp``), in
  parallel over rows.
* Returns an array of shape ``(N,)`` -- or a NumPy scalar for ``(C,)`` --
  in the float dtype of ``logits``.  Results do not depend on the thread
  count.
* Non-finite logits: a row holding a NaN scores NaN.  A ``+inf`` logit gives
  ``+inf`` for ``max_logit_score`` and ``energy_score`` and NaN for the
  softmax-based scores (the softmax is undefined: NaN in scipy and torch
  too); ``-inf`` logits are classes of probability 0; a row of only ``-inf``
  gives ``-inf`` energy and max logit and NaN otherwise.

Metrics
-------
``ood_metrics(scores_in, scores_out)`` gives AUROC, AUPR-In, AUPR-Out and
FPR at 95% TPR, with the in-distribution samples as the positive class
(Hendrycks & Gimpel 2017; Liang et al. 2018, ODIN).
"""
from __future__ import annotations

import numpy as np

from .._core import checks as _checks

from .._core.consts import ENERGY, MAX_LOGIT, MSP, NEG_ENTROPY

#: Elements per block when a non-contiguous or byte-swapped ``logits`` is
#: copied to a contiguous buffer (8 MiB of float64).
_BLOCK = 1 << 20


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.metrics import ood

    return ood


def _logits_2d(logits, name="logits"):
    """(x, dtype, unbatched): x 2-D of float32/float64 (any layout/byte order)."""
    x = _checks.as_float(logits, name)
    if x.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (N, C) or (C,), got shape {x.shape}")
    unbatched = x.ndim == 1
    if unbatched:
        x = x[None, :]
    if x.shape[1] == 0:
        raise ValueError(f"{name} must have at least one class (C >= 1), got shape {x.shape[1:] if unbatched else x.shape}")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    return x, dtype, unbatched


def _temperature(temperature):
    t = _checks.check_scalar(temperature, "temperature", low=0.0, low_open=True)
    if not np.isfinite(1.0 / t):
        raise ValueError(f"temperature must be > 0 with a finite 1/temperature, got {t}")
    return t


def _row_blocks(x, dtype):
    """Yield (lo, hi, block) with block a C-contiguous native copy of rows lo:hi
    (or ``x`` itself when it can be read in place)."""
    n, c = x.shape
    if _checks.is_direct(x, dtype):
        yield 0, n, x
        return
    rows = max(1, _BLOCK // max(c, 1))
    for lo in range(0, n, rows):
        hi = min(lo + rows, n)
        yield lo, hi, np.ascontiguousarray(x[lo:hi], dtype=dtype)


def _score(kind, logits, temperature):
    x, dtype, unbatched = _logits_2d(logits)
    t = _temperature(temperature)
    out = np.empty(x.shape[0], dtype=dtype)
    if x.shape[0]:
        k = _kernels()
        for lo, hi, blk in _row_blocks(x, dtype):
            k.row_scores(k.tag(kind), t, dtype == np.float32, blk, out[lo:hi])
    return out[0] if unbatched else out


def msp_score(logits, *, temperature=1.0):
    r"""Maximum softmax probability (Hendrycks & Gimpel 2017).

    .. math:: s_i = \max_c \operatorname{softmax}(x_i / T)_c
              = 1 \Big/ \sum_c e^{(x_{ic} - \max_k x_{ik}) / T}

    Higher means more in-distribution.  ``logits``: ``(N, C)`` or ``(C,)``;
    returns ``(N,)`` (a scalar for ``(C,)``) in the float dtype of
    ``logits``.  ``temperature`` (T > 0) is ODIN's temperature scaling
    (Liang et al. 2018; ODIN's input perturbation is not part of this
    function).  Equals ``scipy.special.softmax(logits / T, axis=1).max(1)``
    and ``torch.softmax(logits / T, 1).max(1).values``.  See the module
    docstring for dtypes and non-finite logits.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.msp_score(np.array([[0.0, 0.0], [10.0, 0.0]])).round(6)
    array([0.5     , 0.999955])
    """
    return _score(MSP, logits, temperature)


def max_logit_score(logits):
    r"""Maximum logit, :math:`s_i = \max_c x_{ic}` (Hendrycks et al. 2022, MaxLogit).

    Higher means more in-distribution.  ``logits``: ``(N, C)`` or ``(C,)``;
    returns ``(N,)`` (a scalar for ``(C,)``) in the float dtype of
    ``logits``.  Equals ``logits.max(axis=1)`` (NaN propagates as in NumPy).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.max_logit_score(np.array([[1.0, 3.0], [-2.0, -5.0]]))
    array([ 3., -2.])
    """
    return _score(MAX_LOGIT, logits, 1.0)


def energy_score(logits, *, temperature=1.0):
    r"""Negative free energy (Liu et al. 2020, energy-based OOD detection).

    .. math:: s_i = -E(x_i; T) = T \log \sum_c e^{x_{ic} / T}

    Higher means more in-distribution (the energy :math:`E` itself is lower
    for in-distribution data; this returns :math:`-E`).  ``logits``:
    ``(N, C)`` or ``(C,)``; returns ``(N,)`` (a scalar for ``(C,)``) in the
    float dtype of ``logits``; ``temperature`` T > 0.  Equals
    ``T * scipy.special.logsumexp(logits / T, axis=1)`` and
    ``T * torch.logsumexp(logits / T, 1)``.  Computed as
    :math:`m + T \log \sum_c e^{(x_{ic} - m)/T}`, :math:`m = \max_c x_{ic}`,
    so logits of any magnitude (e.g. 1e4) neither overflow nor lose the
    leading term.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.energy_score(np.array([0.0, 0.0])).round(6))  # log 2
    0.693147
    """
    return _score(ENERGY, logits, temperature)


def entropy_score(logits, *, temperature=1.0):
    r"""Negative entropy of the softmax prediction.

    .. math:: s_i = -H(p_i) = \sum_c p_{ic} \log p_{ic},
              \quad p_i = \operatorname{softmax}(x_i / T)

    Higher means more in-distribution: the score is the *negative* entropy,
    0 for a one-hot prediction and :math:`-\log C` (its minimum) for a
    uniform one.  ``logits``: ``(N, C)`` or ``(C,)``; returns ``(N,)`` (a
    scalar for ``(C,)``) in the float dtype of ``logits``; ``temperature``
    T > 0.  Equals ``-scipy.stats.entropy(scipy.special.softmax(logits / T,
    axis=1), axis=1)``; classes of probability 0 (``-inf`` logits or
    underflow) contribute 0.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.entropy_score(np.array([[0.0, 0.0], [50.0, 0.0]])).round(6)
    array([-0.693147, -0.      ])
    """
    return _score(NEG_ENTROPY, logits, temperature)


def _scores_1d(a, name):
    arr = _checks.to_array(a, name)
    if arr.dtype.kind not in "fiub":
        _checks.float_dtype(arr.dtype, name)  # raises a TypeError naming it
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one score per sample), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: need at least one sample")
    if arr.dtype.kind == "f":
        nan = np.isnan(arr)
        if nan.any():
            raise ValueError(f"{name} contains NaN (first at index {int(np.flatnonzero(nan)[0])})")
    return arr


def ood_metrics(scores_in, scores_out, *, fpr_at_tpr=0.95, tpr_at_fpr=None, detection_error=False):
    r"""OOD detection metrics from in-distribution and OOD scores.

    Parameters
    ----------
    scores_in : array of shape (N_in,)
        Scores of in-distribution samples (higher = more in-distribution,
        e.g. from :func:`msp_score` or :func:`energy_score`).
    scores_out : array of shape (N_out,)
        Scores of out-of-distribution samples.

    fpr_at_tpr : float or sequence of floats in [0, 1], default 0.95
        Operating points reported as ``fpr_at_<100 t>_tpr`` (e.g.
        ``fpr_at_95_tpr``, ``fpr_at_99.9_tpr``); ``None`` or ``[]`` for none.
    tpr_at_fpr : float or sequence of floats in [0, 1], optional
        Reported as ``tpr_at_<100 f>_fpr``: the largest TPR among the
        operating points whose FPR is <= f.
    detection_error : bool, default False
        Also report ``detection_error``: ``min_t 0.5 (1 - TPR(t)) + 0.5
        FPR(t)`` over the operating points (ODIN, OpenOOD's definition).

    Returns
    -------
    dict with float values
        ``auroc``: area under the ROC curve, in-distribution = positive
        class (the probability that a random in-distribution sample scores
        higher than a random OOD one, ties counting 1/2).
        ``aupr_in``: average precision with in-distribution as positive
        and the score as is.  ``aupr_out``: average precision with OOD as
        positive and ``-score``.  ``fpr_at_95_tpr``: the smallest false
        positive rate (fraction of OOD samples at or above the threshold)
        among the operating points whose true positive rate (fraction of
        in-distribution samples at or above it) is >= 0.95.

    Notes
    -----
    Definitions are scikit-learn's: with ``y = [1]*N_in + [0]*N_out`` and
    ``s = concat(scores_in, scores_out)``, ``auroc = roc_auc_score(y, s)``,
    ``aupr_in = average_precision_score(y, s)``, ``aupr_out =
    average_precision_score(1 - y, -s)`` and ``fpr_at_95_tpr =
    fpr[tpr >= 0.95].min()`` from ``roc_curve(y, s,
    drop_intermediate=False)``.  Tied scores form one operating point (a
    threshold keeps or drops all of them), so the result does not depend on
    the order of the samples.  AP is the step-wise sum of scikit-learn, not
    a trapezoid.

    Positive-class convention: TPR is measured on the in-distribution
    samples (Hendrycks & Gimpel 2017; ODIN).  pytorch-ood and OpenOOD
    count OOD as the positive class (and negate the score): their AUROC is
    the same number, their AUPR-In/AUPR-Out are our ``aupr_in`` /
    ``aupr_out`` (same definitions, names kept), but their "FPR@95TPR" is
    the fraction of in-distribution samples flagged as OOD when 95% of the
    OOD samples are caught -- a different number in general.  To get it,
    call ``ood_metrics(-scores_out, -scores_in)["fpr_at_95_tpr"]``.
    Hendrycks' own reference code picks the threshold whose recall is
    *closest* to 0.95; this uses the first one reaching it (no
    interpolation), which is never optimistic.

    NaN scores are rejected (ValueError); ``+-inf`` are ordinary extreme
    scores.  Both arrays must be non-empty and 1-D.  The two arrays are
    sorted (O(N log N), NumPy's sort) and merged in one pass.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> m = fastloss.ood_metrics(np.array([3.0, 2.0, 1.0]), np.array([2.0, 0.0]))
    >>> {k: round(v, 4) for k, v in m.items()}
    {'auroc': 0.75, 'aupr_in': 0.8056, 'aupr_out': 0.75, 'fpr_at_95_tpr': 0.5}
    """
    a = _scores_1d(scores_in, "scores_in")
    b = _scores_1d(scores_out, "scores_out")
    dtype = np.result_type(_checks.float_dtype(a.dtype, "scores_in"), _checks.float_dtype(b.dtype, "scores_out"))
    a = np.sort(a.astype(dtype, copy=False).astype(dtype.newbyteorder("="), copy=False))
    b = np.sort(b.astype(dtype, copy=False).astype(dtype.newbyteorder("="), copy=False))
    res = np.empty(4, dtype=np.float64)
    _kernels().sorted_roc_pr(a, b, 0.95, res)
    out = {"auroc": float(res[0]), "aupr_in": float(res[1]), "aupr_out": float(res[2])}
    if fpr_at_tpr == 0.95 and tpr_at_fpr is None and not detection_error:
        out["fpr_at_95_tpr"] = float(res[3])
        return out
    out.update(_operating_points(a, b, fpr_at_tpr, tpr_at_fpr, detection_error))
    return out


def _levels(x, name):
    if x is None:
        return []
    vals = [x] if np.ndim(x) == 0 else list(np.asarray(x).ravel())
    return [_checks.check_scalar(v, name, low=0.0, high=1.0) for v in vals]


def _key(kind, v):
    return f"{kind[0]}_at_{format(100 * v, '.10g')}_{kind[1]}"


def _operating_points(a, b, fpr_at_tpr, tpr_at_fpr, detection_error):
    """Extra operating points (issue 16) from the sorted score arrays ``a``
    (in-distribution, positive) and ``b`` (OOD): every distinct score is a
    threshold ``t`` with ``TPR = #(a >= t) / N_in``, ``FPR = #(b >= t) /
    N_out``, plus the point (0, 0) of an infinite threshold, as
    ``roc_curve(..., drop_intermediate=False)``."""
    f_levels = _levels(fpr_at_tpr, "fpr_at_tpr")
    t_levels = _levels(tpr_at_fpr, "tpr_at_fpr")
    detection_error = _checks.check_bool(detection_error, "detection_error")
    u = np.union1d(a, b)
    tpr = np.r_[0.0, (a.size - np.searchsorted(a, u, "left")) / a.size]
    fpr = np.r_[0.0, (b.size - np.searchsorted(b, u, "left")) / b.size]
    out = {}
    for v in f_levels:
        out[_key(("fpr", "tpr"), v)] = float(fpr[tpr >= v].min())
    for v in t_levels:
        out[_key(("tpr", "fpr"), v)] = float(tpr[fpr <= v].max())
    if detection_error:
        out["detection_error"] = float(np.min(0.5 * (1.0 - tpr) + 0.5 * fpr))
    return out


__all__ = ["msp_score", "max_logit_score", "energy_score", "entropy_score", "ood_metrics"]
