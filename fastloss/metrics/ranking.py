"""ROC and precision-recall curves, ROC AUC and average precision (scikit-learn semantics)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._core import checks as _checks
from ._common import (
    _DUMMY_F8,
    _check_length,
    _classes,
    _column,
    _in_values,
    _labels,
    _native,
    _nblocks,
    _nonempty,
    _nonzero_weights,
    _sample_weight,
    _scores,
    _undefined,
)



def _trapezoid(y, x):
    # np.trapezoid is NumPy >= 2.0; np.trapz (same rule) is its 1.x name.
    fn = getattr(np, "trapezoid", None)
    return fn(y, x) if fn is not None else np.trapz(y, x)


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.metrics import ranking

    return ranking


# ----------------------------------------------------------------- curves


def _binary_arrays(y_true, y_score, sample_weight, batch=False):
    y = _labels(y_true, "y_true")
    s = _scores(y_score)
    _check_length(y.shape[0], s, "y_score", "y_true")
    w, _ = _sample_weight(sample_weight, y.shape[0])
    if not batch:  # a streamed batch may be empty or all zero-weight
        _nonempty(y.shape[0])
        _nonzero_weights(w)
    return y, s, w


def _is_pos(y: np.ndarray, pos_label) -> np.ndarray:
    if y.dtype.kind in "iub" and isinstance(pos_label, str):
        return np.zeros(y.shape[0], dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = y == pos_label
    if not isinstance(out, np.ndarray):
        return np.zeros(y.shape[0], dtype=bool)
    return out


def _curve_pos_label(y: np.ndarray, pos_label):
    """scikit-learn's ``_check_pos_label_consistency`` + binary type check."""
    classes = _classes(y)
    if pos_label is None and classes.size > 2:
        raise ValueError(
            f"multiclass format is not supported: y_true holds {classes.size} labels and pos_label is not "
            "specified (pass pos_label to score one class against the rest)"
        )
    if pos_label is None:
        ok = classes.dtype.kind not in "OUS" and classes.size <= 2 and any(
            classes.size == len(ref) and np.array_equal(classes, ref) for ref in ([0, 1], [-1, 1], [0], [-1], [1])
        )
        if not ok:
            shown = ", ".join(repr(c) for c in classes[:10].tolist())
            raise ValueError(
                f"y_true takes value in {{{shown}}} and pos_label is not specified: either make y_true "
                "take value in {0, 1} or {-1, 1} or pass pos_label explicitly."
            )
        return 1
    return pos_label


def _split_sorted(score, ybin, w):
    """Positive and negative scores, each sorted ascending (weights aligned)."""
    ps, ns = score[ybin], score[~ybin]
    if w is None:
        ps.sort()
        ns.sort()
        return ps, _DUMMY_F8, ns, _DUMMY_F8, False
    pw, nw = w[ybin], w[~ybin]
    op = np.argsort(ps, kind="stable")
    on = np.argsort(ns, kind="stable")
    return ps[op], pw[op], ns[on], nw[on], True


def _drop_zero_weight(score, ybin, w):
    if w is not None:
        nz = w != 0
        if not nz.all():
            return score[nz], ybin[nz], w[nz]
    return score, ybin, w


def _clf_curve(score, ybin, w):
    """(fps, tps, thresholds) at every distinct score, highest first."""
    score, ybin, w = _drop_zero_weight(score, ybin, w)
    n = score.shape[0]
    ps, pw, ns, nw, has_w = _split_sorted(_native(score), ybin, w)
    thr = np.empty(n, dtype=ps.dtype)
    tps = np.empty(n, dtype=np.float64)
    fps = np.empty(n, dtype=np.float64)
    res = np.zeros(2)
    m = _kernels().merge_walk(ps, pw, ns, nw, has_w, True, thr, tps, fps, res)
    return fps[:m], tps[:m], thr[:m]


def _exact_auc_ap(score, ybin, w):
    """(2 * area * P * N, AP * P, P, N) by the full sorted walk (no arrays kept)."""
    ps, pw, ns, nw, has_w = _split_sorted(_native(score), ybin, w)
    d = np.zeros(1, dtype=ps.dtype)
    res = np.zeros(2)
    _kernels().merge_walk(ps, pw, ns, nw, has_w, False, d, _DUMMY_F8, _DUMMY_F8, res)
    p_tot = pw.sum() if has_w else float(ps.size)
    n_tot = nw.sum() if has_w else float(ns.size)
    return res[0], res[1], p_tot, n_tot


def _bucket_stats(score, ybin, w, base_pos: bool):
    """Rare class (``base``) sorted into distinct values ``u`` with summed
    weights ``a``; the other class located among them by binary search."""
    score = _native(score)
    sel = ybin if base_pos else ~ybin
    bs = score[sel]
    if w is None:
        bs.sort()
        bw = None
    else:
        bw = w[sel]
        o = np.argsort(bs, kind="stable")
        bs, bw = bs[o], bw[o]
    starts = np.flatnonzero(np.r_[True, bs[1:] != bs[:-1]])
    u = np.ascontiguousarray(bs[starts])
    if bw is None:
        a = np.diff(np.r_[starts, bs.size]).astype(np.float64)
    else:
        a = np.add.reduceat(bw, starts)
    k = u.size
    kern = _kernels()
    # Search grid: ~2 cells per distinct value, uniform over [u[0], u[-1]].
    g = 2 * k
    u0 = float(u[0])
    span = float(u[-1]) - u0
    scale = g / span if span > 0 and math.isfinite(g / span) else 0.0
    start = np.empty(g + 1, dtype=np.int64)
    kern.cell_starts(u, u0, scale, g, start)
    nb = _nblocks(score.size)
    eq = np.zeros((nb, k))
    gap = np.zeros((nb, k + 1))
    has_w = w is not None
    kern.bucket(
        score, ybin.view(np.uint8), 1 if base_pos else 0, u, u0, scale, start,
        w if has_w else _DUMMY_F8, has_w, nb, eq, gap,
    )
    return a, eq.sum(axis=0), gap.sum(axis=0)


def _auc_ap_binary(score, ybin, w, need_ap: bool):
    """(auc, ap) of a binary problem; auc is NaN-free only with both classes."""
    n = score.shape[0]
    npos = int(np.count_nonzero(ybin))
    nneg = n - npos
    rare = min(npos, nneg)
    base_pos = npos <= nneg
    if 0 < rare and rare * 64 <= n and (base_pos or not need_ap):
        a, eq, gap = _bucket_stats(score, ybin, w, base_pos)
        if base_pos:
            p_tot, n_tot = a.sum(), eq.sum() + gap.sum()
            below = np.cumsum(gap)[:-1] + np.cumsum(eq) - eq
            auc_num = np.sum(a * (below + 0.5 * eq))
            tp = np.cumsum(a[::-1])[::-1]
            fp = np.cumsum(eq[::-1])[::-1] + np.cumsum(gap[::-1])[::-1][1:]  # eq >= j, gap > j
            den = tp + fp
            prec = np.where(den != 0, tp / np.where(den != 0, den, 1.0), 0.0)
            ap_num = np.sum(a * prec)
        else:
            p_tot, n_tot = eq.sum() + gap.sum(), a.sum()
            cb = np.r_[0.0, np.cumsum(a)]  # cb[j] = sum of negatives below u_j
            auc_num = np.sum(eq * (cb[:-1] + 0.5 * a)) + np.sum(gap * cb)
            ap_num = math.nan
        auc = auc_num / (p_tot * n_tot) if p_tot * n_tot != 0 else math.nan
        ap = ap_num / p_tot if p_tot != 0 else math.nan
        return auc, ap
    auc2, ap_num, p_tot, n_tot = _exact_auc_ap(score, ybin, w)
    auc = auc2 / (2.0 * p_tot * n_tot) if p_tot * n_tot != 0 else math.nan
    ap = ap_num / p_tot if p_tot != 0 else math.nan
    return auc, ap


def _roc_from_counts(fps, tps, thresholds, drop_intermediate, stacklevel=3):
    if drop_intermediate and fps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    thresholds = np.r_[np.inf, thresholds.astype(np.float64)]
    fpr = _rate(fps, "negative", "false", stacklevel)
    tpr = _rate(tps, "positive", "true", stacklevel)
    return fpr, tpr, thresholds


def _rate(counts, kind, which, stacklevel):
    """Cumulative counts over their total; NaN with scikit-learn's warning
    when there is no sample of that kind."""
    if counts[-1] <= 0:
        warnings.warn(
            f"No {kind} samples in y_true, {which} positive value should be meaningless",
            _undefined(),
            stacklevel=stacklevel + 1,
        )
        return np.full(counts.shape, np.nan)
    return counts / counts[-1]


def _pr_from_counts(fps, tps, thresholds, drop_intermediate, stacklevel=3):
    if drop_intermediate and fps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    ps = tps + fps
    precision = np.where(ps != 0, tps / np.where(ps != 0, ps, 1.0), 0.0)
    if tps.size == 0 or tps[-1] == 0:
        warnings.warn(
            "No positive class found in y_true, recall is set to one for all thresholds.",
            UserWarning,
            stacklevel=stacklevel,
        )
        recall = np.ones(tps.shape)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True):
    r"""Receiver operating characteristic: ``fpr``, ``tpr`` per threshold.

    Element ``i`` is the operating point "predict positive when score >=
    thresholds[i]": ``tpr = TP/P``, ``fpr = FP/N`` (weighted).

    Parameters
    ----------
    y_true : array of shape (N,)
        Binary labels; without ``pos_label`` they must be {0, 1} or {-1, 1}.
    y_score : array of shape (N,)
        Scores (higher = more positive); NaN/inf are a ``ValueError``.
    pos_label : label, optional
    sample_weight : array of shape (N,), optional
        Zero-weight samples are dropped first (their scores are no
        thresholds), as scikit-learn.
    drop_intermediate : bool, default True
        Drop points collinear with their neighbours (scikit-learn's rule:
        where both second differences of fps and tps are 0).

    Returns
    -------
    fpr, tpr : ndarray of shape (M + 1,), float64
    thresholds : ndarray of shape (M + 1,), float64
        Decreasing distinct scores, preceded by ``inf`` (the point (0, 0)).

    Notes
    -----
    Equals ``sklearn.metrics.roc_curve``, including the warnings (NaN fpr
    or tpr when a class is absent).  The positives and the negatives are
    sorted separately and merged in one walk that collapses ties.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fpr, tpr, thr = fastloss.roc_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> fpr, tpr, thr
    (array([0. , 0. , 0.5, 0.5, 1. ]), array([0. , 0.5, 0.5, 1. , 1. ]), array([ inf, 0.8 , 0.4 , 0.35, 0.1 ]))
    """
    y, s, w = _binary_arrays(y_true, y_score, sample_weight)
    drop = _checks.check_bool(drop_intermediate, "drop_intermediate")
    pos = _curve_pos_label(y, pos_label)
    fps, tps, thr = _clf_curve(s, _is_pos(y, pos), w)
    return _roc_from_counts(fps, tps, thr, drop)


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False):
    r"""Precision and recall per threshold.

    Parameters
    ----------
    y_true : array of shape (N,)
        Binary labels; without ``pos_label`` they must be {0, 1} or {-1, 1}.
    y_score : array of shape (N,)
        Scores (higher = more positive).
    pos_label : label, optional
    sample_weight : array of shape (N,), optional
    drop_intermediate : bool, default False
        Drop thresholds whose recall equals both neighbours' (scikit-learn's
        rule).

    Returns
    -------
    precision, recall : ndarray of shape (M + 1,)
        Recall decreasing; the last point is ``(recall 0, precision 1)``
        and has no threshold.  0/0 precision is 0.
    thresholds : ndarray of shape (M,)
        Increasing distinct scores, in ``y_score``'s dtype.

    Notes
    -----
    Equals ``sklearn.metrics.precision_recall_curve`` (with no positive
    sample: recall 1 everywhere and a warning).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> p, r, t = fastloss.precision_recall_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> p, r, t
    (array([0.5       , 0.66666667, 0.5       , 1.        , 1.        ]), array([1. , 1. , 0.5, 0.5, 0. ]), array([0.1 , 0.35, 0.4 , 0.8 ]))
    """
    raw = _column(y_score, "y_score") if not hasattr(y_score, "dtype") else y_score
    y, s, w = _binary_arrays(y_true, y_score, sample_weight)
    drop = _checks.check_bool(drop_intermediate, "drop_intermediate")
    pos = _curve_pos_label(y, pos_label)
    fps, tps, thr = _clf_curve(s, _is_pos(y, pos), w)
    precision, recall, thr = _pr_from_counts(fps, tps, thr, drop)
    dt = np.asarray(raw).dtype
    if dt.kind in "iub" and dt != thr.dtype:
        thr = thr.astype(dt)
    return precision, recall, thr


def _average_binary(metric, ybins, scores, average, w):
    """scikit-learn's ``_average_binary_score`` over class columns."""
    c = len(ybins)
    if average == "micro":
        ybin = np.stack(ybins, axis=1).ravel()
        score = np.ascontiguousarray(scores).ravel()
        ww = None if w is None else np.repeat(w, c)
        return float(metric(score, ybin, ww))
    weight = None
    if average == "weighted":
        weight = np.array([yb.sum() if w is None else w[yb].sum() for yb in ybins], dtype=np.float64)
        if np.isclose(weight.sum(), 0.0):
            return 0
    out = np.array([metric(np.ascontiguousarray(scores[:, k]), ybins[k], w) for k in range(c)])
    if average is None:
        return out
    if weight is not None:
        out[weight == 0] = 0
        return float(np.average(out, weights=weight))
    return float(np.average(out))


def _binary_ap(score, ybin, w):
    # No positive, or only zero-weight ones (dropped first, as scikit-learn).
    if not ybin.any() or (w is not None and not w[ybin].any()):
        warnings.warn(
            "No positive class found in y_true, recall is set to one for all thresholds.",
            UserWarning,
            stacklevel=4,
        )
        return 0.0
    if w is not None and not (w > 0).all():
        # Negative or zero weights: the literal step-wise sum of scikit-learn.
        fps, tps, thr = _clf_curve(score, ybin, w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            precision, recall, _ = _pr_from_counts(fps, tps, thr, False)
        return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
    return float(max(0.0, _auc_ap_binary(score, ybin, w, True)[1]))


def average_precision(y_true, y_score, *, average="macro", pos_label=1, sample_weight=None):
    r"""Average precision: ``AP = sum_k (R_k - R_{k-1}) P_k`` over the
    distinct score thresholds, highest first (step-wise, no interpolation).

    Parameters
    ----------
    y_true : array of shape (N,)
        Binary labels, or multi-class labels with ``y_score`` of shape
        (N, C) (one-vs-rest per class, classes = sorted labels of
        ``y_true``).
    y_score : array of shape (N,) or (N, C)
        Scores, higher = more positive; NaN/inf are a ``ValueError``.
    average : {'macro', 'weighted', 'micro', 'samples', None}
        Multi-class and multilabel only (ignored for binary ``y_true``, as
        scikit-learn); 'samples': the mean per-sample AP of the one-hot (or
        indicator) rows.
    pos_label : label, default 1
        Binary only; must be one of the labels when two are present.
    sample_weight : array of shape (N,), optional

    Returns
    -------
    float (ndarray of shape (C,) with ``average=None``)

    Notes
    -----
    Equals ``sklearn.metrics.average_precision_score``: tied scores are
    one operating point; with no positive sample the AP is 0 (with a
    warning).  When the positive class is rare (at most 1/64 of the
    samples) only the positives are sorted and each negative is located
    among their distinct scores by binary search (two threads, fixed
    blocks); otherwise the two classes are sorted separately and merged.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(fastloss.average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])), 6)
    0.833333
    """
    if _ml_input(y_true):  # (N, K) multilabel indicators (issue 16)
        from .confusion import _indicator

        # multiclass-multioutput is refused first (scikit-learn's ranking wording)
        _indicator(y_true, "y_true", "multiclass-multioutput format is not supported")
        if pos_label != 1:
            raise ValueError(
                "Parameter pos_label is fixed to 1 for multilabel-indicator y_true. Do not set pos_label or set pos_label to 1."
            )
        return _ml_average(_binary_ap, y_true, y_score, average, sample_weight)
    y = _labels(y_true, "y_true")
    s = _scores(y_score, ndim=(1, 2))
    _check_length(y.shape[0], s, "y_score", "y_true")
    w, _ = _sample_weight(sample_weight, y.shape[0])
    _nonempty(y.shape[0])
    _nonzero_weights(w)
    classes = _classes(y)
    if average not in ("macro", "weighted", "micro", "samples", None):
        raise ValueError(f"average must be one of 'micro', 'macro', 'samples', 'weighted', None, got {average!r}")
    if classes.size <= 2 and s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]  # a column of scores, as scikit-learn's column_or_1d
    if classes.size <= 2 and s.ndim == 1:
        if classes.size == 2 and not _in_values(classes, pos_label):
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {classes}")
        return _binary_ap(s, _is_pos(y, pos_label), w)
    if classes.size <= 2:
        raise ValueError(
            f"y_score has shape {s.shape} but y_true holds {classes.size} label(s): "
            "binary y_true takes 1-D scores"
        )
    if pos_label != 1:
        raise ValueError("Parameter pos_label is fixed to 1 for multiclass y_true. Do not set pos_label or set pos_label to 1.")
    if s.ndim != 2 or s.shape[1] != classes.size:
        raise ValueError(
            "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains "
            f"multiple classes. Got `y_score.shape={s.shape}` for {classes.size} classes."
        )
    if average == "samples":  # per-sample AP over the one-hot rows, as scikit-learn
        return _ml_average(_binary_ap, y[:, None] == classes[None, :], s, average, sample_weight)
    ybins = [y == c for c in classes]
    return _average_binary(_binary_ap, ybins, s, average, w)


def _binary_auc(score, ybin, w):
    if ybin.all() or not ybin.any():
        warnings.warn(
            "Only one class is present in y_true. ROC AUC score is not defined in that case.",
            _undefined(),
            stacklevel=4,
        )
        return math.nan
    if w is not None and not (w > 0).all():
        fps, tps, thr = _clf_curve(score, ybin, w)
        fpr, tpr, _ = _roc_from_counts(fps, tps, thr, True)
        return float(_trapezoid(tpr, fpr))
    return float(_auc_ap_binary(score, ybin, w, False)[0])


def roc_auc(y_true, y_score, *, average="macro", multi_class="ovr", sample_weight=None, labels=None, max_fpr=None):
    r"""Area under the ROC curve (binary, or one-vs-rest multi-class).

    Binary: the probability that a random positive scores above a random
    negative, ties counting 1/2 (weighted), equal to the trapezoid area
    under :func:`roc_curve`.

    Parameters
    ----------
    y_true : array of shape (N,)
        Labels.  Binary: the positive class is the larger label.
    y_score : array of shape (N,) or (N, C)
        Binary: scores of the positive class.  Multi-class: probabilities,
        one column per class in sorted label order (rows must sum to 1).
    average : {'macro', 'weighted', 'micro', 'samples', None}
        Multi-class averaging (macro: unweighted mean of the per-class
        AUCs; weighted: by class prevalence; micro: over the flattened
        one-vs-rest indicator; 'samples': multilabel only).  Ignored for
        binary data.
    multi_class : {'ovr', 'ovo'}
        One-vs-rest, or one-vs-one (Hand & Till 2001: the mean over class
        pairs of the two pairwise AUCs; ``average`` 'macro' or 'weighted' by
        pair prevalence; no ``sample_weight``), as scikit-learn.
    sample_weight : array of shape (N,), optional
    labels : array of shape (C,), optional
        Multi-class: the classes of the ``y_score`` columns (sorted, unique,
        containing every label of ``y_true``).
    max_fpr : float in (0, 1], optional
        Binary only: standardised partial AUC up to ``max_fpr`` (McClish).

    Returns
    -------
    float (ndarray of shape (C,) with ``average=None``)
        NaN with an :class:`UndefinedMetricWarning` when ``y_true`` holds
        a single class (as scikit-learn 1.9).

    Notes
    -----
    Equals ``sklearn.metrics.roc_auc_score``.  For a rare class (at most
    1/64 of the samples) only that class is sorted; the others are counted
    below / tied with each of its distinct scores by a parallel binary
    search, which is the Mann-Whitney statistic without a full sort.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    if _ml_input(y_true):  # (N, K) multilabel indicators (issue 16)
        def metric(score, ybin, w):
            if max_fpr is None or max_fpr == 1 or ybin.all() or not ybin.any():
                return _binary_auc(score, ybin, w)
            return roc_auc(ybin.astype(np.int8), score, sample_weight=w, max_fpr=max_fpr)

        return _ml_average(metric, y_true, y_score, average, sample_weight)
    y = _labels(y_true, "y_true")
    s = _scores(y_score, ndim=(1, 2))
    _check_length(y.shape[0], s, "y_score", "y_true")
    classes = _classes(y)
    multiclass = classes.size > 2 or (s.ndim == 2 and s.shape[1] > 2)
    if multiclass and multi_class == "ovo" and sample_weight is not None:  # checked first, as scikit-learn
        raise ValueError(
            "sample_weight is not supported for multiclass one-vs-one ROC AUC, 'sample_weight' must be None in this case."
        )
    w, _ = _sample_weight(sample_weight, y.shape[0])
    _nonempty(y.shape[0])
    _nonzero_weights(w)
    if multiclass and multi_class == "ovr" and average not in ("micro", "macro", "weighted", None):
        raise ValueError(
            f"average must be one of ('micro', 'macro', 'weighted', None) for multiclass problems, got {average!r}"
        )
    if multiclass and multi_class == "ovo" and average not in ("macro", "weighted", None):
        raise ValueError(f"average must be one of ('macro', 'weighted', None) for multiclass problems, got {average!r}")
    if average not in ("macro", "weighted", "micro", "samples", None):  # 'samples': ignored when binary
        raise ValueError(f"average must be one of 'micro', 'macro', 'samples', 'weighted', None, got {average!r}")
    if not multiclass:
        if s.ndim == 2 and s.shape[1] == 1:
            s = s[:, 0]  # a column of scores, as scikit-learn's column_or_1d
        if s.ndim == 2:
            raise ValueError(f"binary y_true takes 1-D y_score, got shape {s.shape}")
        if classes.size != 2:
            return _binary_auc(s, np.zeros(y.shape[0], dtype=bool), w)
        ybin = y == classes[1]
        if max_fpr is None or max_fpr == 1:
            return _binary_auc(s, ybin, w)
        mf = _checks.check_scalar(max_fpr, "max_fpr", low=0.0, high=1.0, low_open=True)
        fps, tps, thr = _clf_curve(s, ybin, w)
        fpr, tpr, _ = _roc_from_counts(fps, tps, thr, True)
        stop = np.searchsorted(fpr, mf, "right")
        tpr = np.append(tpr[:stop], np.interp(mf, [fpr[stop - 1], fpr[stop]], [tpr[stop - 1], tpr[stop]]))
        fpr = np.append(fpr[:stop], mf)
        partial = _trapezoid(tpr, fpr)
        min_area, max_area = 0.5 * mf**2, mf
        return float(0.5 * (1 + (partial - min_area) / (max_area - min_area)))
    if max_fpr is not None and max_fpr != 1.0:
        raise ValueError(f"Partial AUC computation not available in multiclass setting, 'max_fpr' must be set to `None`, received `max_fpr={max_fpr}` instead")
    if multi_class not in ("ovo", "ovr"):
        raise ValueError(f"multi_class must be in ('ovo', 'ovr') for multiclass ROC AUC, got {multi_class!r}")
    if s.ndim != 2:
        raise ValueError(
            "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains "
            f"multiple classes. Got `y_score.shape={s.shape}`."
        )
    if not np.allclose(1, s.sum(axis=1)):
        raise ValueError(
            "Target scores need to be probabilities for multiclass roc_auc, i.e. they should sum up to 1.0 over classes"
        )
    if multi_class == "ovo":
        if average not in ("macro", "weighted", None):
            raise ValueError(f"average must be one of ('macro', 'weighted', None) for multiclass problems, got {average!r}")
        if average is None:
            raise NotImplementedError("average=None is not implemented for multi_class='ovo'.")
    if labels is not None:
        lab = np.asarray(labels)
        cl = np.unique(lab)
        if cl.size != lab.size:
            raise ValueError("Parameter 'labels' must be unique")
        if not np.array_equal(cl, lab):
            raise ValueError("Parameter 'labels' must be ordered")
        if cl.size != s.shape[1]:
            raise ValueError(f"Number of given labels, {cl.size}, not equal to the number of columns in 'y_score', {s.shape[1]}")
        if np.setdiff1d(classes, cl).size:
            raise ValueError("'y_true' contains labels not in parameter 'labels'")
        classes = cl
    elif classes.size != s.shape[1]:
        raise ValueError(
            f"Number of classes in y_true not equal to the number of columns in 'y_score' ({classes.size} and {s.shape[1]})"
        )
    if multi_class == "ovo":
        if w is not None:
            raise ValueError(
                "sample_weight is not supported for multiclass one-vs-one ROC AUC, 'sample_weight' must be None in this case."
            )
        return _ovo_auc(np.searchsorted(classes, y), s, average)
    ybins = [y == c for c in classes]
    return _average_binary(_binary_auc, ybins, s, average, w)


def _ovo_auc(code, s, average):
    """Hand & Till (2001) one-vs-one AUC over the class pairs present, as
    scikit-learn: per pair (a, b), the samples of a or b, the mean of the AUC
    of column a (a positive) and of column b (b positive); the mean over
    pairs, weighted by the pair's share of the samples for 'weighted'."""
    present = np.unique(code)
    scores, prevalence = [], []
    for i, a in enumerate(present):
        a_mask = code == a
        for b in present[i + 1:]:
            b_mask = code == b
            ab = a_mask | b_mask
            auc_a = _binary_auc(np.ascontiguousarray(s[ab, a]), a_mask[ab], None)
            auc_b = _binary_auc(np.ascontiguousarray(s[ab, b]), b_mask[ab], None)
            scores.append((auc_a + auc_b) / 2)
            prevalence.append(np.average(ab))
    weights = np.asarray(prevalence) if average == "weighted" else None
    return float(np.average(np.asarray(scores, dtype=np.float64), weights=weights))




# ===================================================== more metrics (issue 16)


def _ml_input(y_true) -> bool:
    arr = _checks.to_array(y_true, "y_true")
    return arr.ndim == 2 and arr.shape[1] > 1


def _ml_average(metric, y_true, y_score, average, sample_weight):
    """scikit-learn's ``_average_binary_score`` on (N, K) indicators, with
    ``average`` in {None, 'micro', 'macro', 'weighted', 'samples'}."""
    from .confusion import _indicator

    options = (None, "micro", "macro", "weighted", "samples")
    if average not in options:
        raise ValueError(f"average has to be one of {options}, got {average!r}")
    Y = _indicator(y_true, "y_true", "multiclass-multioutput format is not supported")
    S = _scores(y_score, ndim=(2,))
    if S.shape != Y.shape:
        raise ValueError(f"y_score must have the shape of y_true {Y.shape}, got {S.shape}")
    w, _ = _sample_weight(sample_weight, Y.shape[0])
    if average == "micro":
        ww = None if w is None else np.repeat(w, Y.shape[1])
        return float(metric(np.ascontiguousarray(S).ravel(), Y.ravel(), ww))
    avg_w = None
    if average == "weighted":
        avg_w = Y.sum(axis=0).astype(np.float64) if w is None else w @ Y.astype(np.float64)
        if np.isclose(avg_w.sum(), 0.0):
            return 0
    if average == "samples":
        avg_w = w
        out = np.array([metric(np.ascontiguousarray(S[i]), Y[i], None) for i in range(Y.shape[0])], dtype=np.float64)
    else:
        out = np.array([metric(np.ascontiguousarray(S[:, c]), Y[:, c], w) for c in range(Y.shape[1])], dtype=np.float64)
    if average is None:
        return out
    if avg_w is not None:
        out[avg_w == 0] = 0  # as scikit-learn: 0-weighted NaN entries do not poison the mean
        return float(np.average(out, weights=avg_w))
    return float(np.mean(out))


def det_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False):
    r"""Detection error tradeoff: false positive and false negative rates
    per threshold.

    Element ``i`` is "predict positive when score >= thresholds[i]":
    ``fpr = FP/N``, ``fnr = FN/P`` (weighted), thresholds increasing, from
    the last point with FP = 0 ... to the first with FN = 0 (inclusive).

    Parameters
    ----------
    y_true : array of shape (N,)
        Binary labels ({0, 1}, {-1, 1}, or any two with ``pos_label``).
    y_score : array of shape (N,)
    pos_label : label, optional
    sample_weight : array of shape (N,), optional
    drop_intermediate : bool, default False
        Drop thresholds where the true positives do not change from the
        neighbours (horizontal segments).

    Returns
    -------
    fpr, fnr : ndarray of shape (M,), float64
    thresholds : ndarray of shape (M,), float64
        May start with ``inf`` (nothing predicted positive).

    Notes
    -----
    Equals ``sklearn.metrics.det_curve`` (1.9: with the ``inf`` threshold).
    ``ValueError`` when ``y_true`` holds one class.  Built on the same
    sorted merge as :func:`roc_curve`.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fpr, fnr, thr = fastloss.det_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> fpr, fnr, thr
    (array([0.5, 0.5, 0. ]), array([0. , 0.5, 0.5]), array([0.35, 0.4 , 0.8 ]))
    """
    y, s, w = _binary_arrays(y_true, y_score, sample_weight)
    drop = _checks.check_bool(drop_intermediate, "drop_intermediate")
    pos = _curve_pos_label(y, pos_label)
    fps, tps, thr = _clf_curve(s, _is_pos(y, pos), w)
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    thr = np.r_[np.inf, thr.astype(np.float64)]
    if drop and fps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    if _classes(y).shape[0] != 2:
        raise ValueError("Only one class is present in y_true. Detection error tradeoff curve is not defined in that case.")
    fns = tps[-1] - tps
    p_count, n_count = tps[-1], fps[-1]
    first = int(np.searchsorted(fps, fps[0], side="right")) - 1
    last = int(np.searchsorted(tps, tps[-1])) + 1
    sl = slice(first if first > 0 else None, last)
    with np.errstate(divide="ignore", invalid="ignore"):
        return fps[sl][::-1] / n_count, fns[sl][::-1] / p_count, thr[sl][::-1]


def top_k_accuracy(y_true, y_score, *, k=2, normalize=True, sample_weight=None, labels=None):
    r"""Fraction of samples whose true class is among the ``k`` highest scores.

    Ties are broken as scikit-learn's stable descending argsort does: among
    equal scores the class with the larger index ranks first.

    Parameters
    ----------
    y_true : array of shape (N,)
    y_score : array of shape (N, C), or (N,) for binary ``y_true``
        Scores per class (columns in sorted class order).  Binary 1-D: the
        score of the greater class; with ``k=1`` thresholded at 0.5 when all
        scores lie in [0, 1], else at 0.
    k : int >= 1
    normalize : bool
        False: the (weighted) number of hits.
    sample_weight : array of shape (N,), optional
    labels : array of shape (C,), optional
        All classes, sorted and unique (when ``y_true`` misses some).

    Returns
    -------
    float

    Notes
    -----
    Equals ``sklearn.metrics.top_k_accuracy_score`` (errors and the
    ``UndefinedMetricWarning`` for ``k >= C`` too).  One parallel pass, O(C)
    per row (the rank of the true class is counted, nothing is sorted).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> s = np.array([[0.5, 0.2, 0.2], [0.3, 0.4, 0.2], [0.2, 0.4, 0.3], [0.7, 0.2, 0.1]])
    >>> fastloss.top_k_accuracy(np.array([0, 1, 2, 2]), s, k=2)
    0.75
    """
    k = _checks.check_int(k, "k", low=1)
    normalize = _checks.check_bool(normalize, "normalize")
    try:
        y = _labels(y_true, "y_true")
    except ValueError as exc:
        if "continuous" not in str(exc):
            raise
        raise ValueError(f"y type must be 'binary' or 'multiclass', got 'continuous': {exc}") from None
    s = _scores(y_score, ndim=(1, 2))
    _check_length(y.shape[0], s, "y_score", "y_true")
    w, _ = _sample_weight(sample_weight, y.shape[0])
    present = _classes(y)
    binary = present.size <= 2 and not (labels is not None and len(labels) > 2)
    if binary:
        if s.ndim == 2 and s.shape[1] != 1:
            raise ValueError(
                f"`y_true` is binary while y_score is 2d with {s.shape[1]} classes. If `y_true` does not contain "
                "all the labels, `labels` must be provided."
            )
        s = s.reshape(-1)
    elif s.ndim != 2:
        raise ValueError(
            "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple classes. "
            f"Got `y_score.shape={s.shape}`."
        )
    n_score = s.shape[1] if s.ndim == 2 else 2
    if labels is None:
        classes = present
        if classes.size != n_score:
            raise ValueError(
                f"Number of classes in 'y_true' ({classes.size}) not equal to the number of classes in 'y_score' "
                f"({n_score}).You can provide a list of all known classes by assigning it to the `labels` parameter."
            )
    else:
        lab = np.asarray(labels)
        classes = np.unique(lab)
        if classes.size != lab.size:
            raise ValueError("Parameter 'labels' must be unique.")
        if not np.array_equal(classes, lab):
            raise ValueError("Parameter 'labels' must be ordered.")
        if classes.size != n_score:
            raise ValueError(f"Number of given labels ({classes.size}) not equal to the number of classes in 'y_score' ({n_score}).")
        if np.setdiff1d(y, classes).size:
            raise ValueError("'y_true' contains labels not in parameter 'labels'.")
    n_classes = classes.size
    if k >= n_classes:
        warnings.warn(
            f"'k' ({k}) greater than or equal to 'n_classes' ({n_classes}) will result in a perfect score and is "
            "therefore meaningless.",
            _undefined(),
            stacklevel=2,
        )
    code = np.ascontiguousarray(np.searchsorted(classes, y), dtype=np.int64)
    if binary:
        if k == 1:
            thr = 0.5 if s.size and s.min() >= 0 and s.max() <= 1 else 0
            hits = (s > thr).astype(np.int64) == code
        else:
            hits = np.ones(s.shape[0], dtype=bool)
    else:
        S = _native(np.ascontiguousarray(s))
        hits = np.empty(S.shape[0], dtype=np.bool_)
        rows = max(1, (1 << 14) // max(1, S.shape[1]))
        _kernels().topk_hits(S, code, k, rows, hits)
    if normalize:
        if w is None:
            return float(np.count_nonzero(hits) / hits.size) if hits.size else math.nan
        tot = float(w.sum())
        if tot == 0:
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        return float(np.dot(hits, w) / tot)
    if w is None:
        return float(np.count_nonzero(hits))
    return float(np.dot(hits, w))


__all__ = ["average_precision", "roc_auc", "roc_curve", "precision_recall_curve", "det_curve", "top_k_accuracy"]
