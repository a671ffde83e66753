"""Metrics for imbalanced data: confusion matrix, precision/recall/F, ROC and
precision-recall curves, ROC AUC, average precision, class weights, and a
constant-memory streaming form of the curve metrics.

Semantics are scikit-learn 1.9's (``sklearn.metrics``), and so are the
numbers, to float64 rounding: tied scores collapse to one operating point,
zero-weight samples are dropped before the curves are built,
``roc_curve`` starts at ``(0, 0)`` with threshold ``inf`` and drops collinear
points by default, ``precision_recall_curve`` ends at ``(recall 0,
precision 1)`` with increasing thresholds, ``zero_division`` and the
``UndefinedMetricWarning`` warnings follow scikit-learn.  What differs is the
machinery: Numba kernels over fixed blocks (bitwise identical results for any
thread count), no full argsort for ``roc_auc``/``average_precision`` when one
class is rare, and a label histogram instead of a sparse matrix for the
confusion matrix.

Labels (``y_true``, ``y_pred``) may be integers (fast path), booleans,
integral floats or strings; scores are real arrays (float32 and float64 read
in place).  NaN or infinite scores, length mismatches, labels outside
``num_classes`` and ``average="binary"`` on multi-class data raise
``ValueError`` naming the argument.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .._core import checks as _checks
from ._common import (
    UndefinedMetricWarning,
    _DENSE_RANGE,
    _DUMMY_F8,
    _check_length,
    _in_values,
    _labels,
    _nblocks,
    _sample_weight,
)



def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.metrics import confusion

    return confusion


# ---------------------------------------------------------------- histograms


class _PairHist:
    """Dense (true, pred) histogram over the labels of two arrays.

    ``values[k]`` is the label of dense index ``k``; ``counts`` (int64) and
    ``wsum`` (float64, or None) are ``(r, r)`` with rows = true label."""

    def __init__(self, y_true, y_pred, w):
        t, p = y_true, y_pred
        n = t.shape[0]
        if t.dtype.kind in "iub" and p.dtype.kind in "iub" and n:
            t = np.ascontiguousarray(t, dtype=np.int64)
            p = np.ascontiguousarray(p, dtype=np.int64)
            lo = min(int(t.min()), int(p.min()))
            hi = max(int(t.max()), int(p.max()))
            r = hi - lo + 1
            if r <= _DENSE_RANGE:
                values = np.arange(lo, hi + 1, dtype=np.int64)
                self._fill(t, p, lo, r, w, values)
                return
        if n == 0:
            both = np.concatenate([t, p]) if t.dtype == p.dtype else t[:0]
            self.values = both[:0]
            self.counts = np.zeros((0, 0), dtype=np.int64)
            self.wsum = None if w is None else np.zeros((0, 0))
            return
        try:
            both = np.concatenate([t, p])
            values, inv = np.unique(both, return_inverse=True)
        except TypeError as exc:
            raise TypeError(f"y_true and y_pred must hold labels of one comparable type: {exc}") from None
        inv = inv.astype(np.int64).ravel()
        self._fill(np.ascontiguousarray(inv[:n]), np.ascontiguousarray(inv[n:]), 0, values.size, w, values)

    def _fill(self, t, p, lo, r, w, values):
        n = t.shape[0]
        nb = _nblocks(n)
        # Keep the per-block histograms within ~64 MB.
        nb = max(1, min(nb, (1 << 23) // max(1, r * r)))
        counts = np.zeros((nb, r * r), dtype=np.int64)
        has_w = w is not None
        wsum = np.zeros((nb, r * r), dtype=np.float64) if has_w else np.zeros((1, 1))
        _kernels().pair_hist(t, p, lo, r, w if has_w else _DUMMY_F8, has_w, nb, counts, wsum)
        self.values = values
        self.counts = counts.sum(axis=0).reshape(r, r)
        # Block partials added in block order: independent of the thread count.
        self.wsum = wsum.sum(axis=0).reshape(r, r) if has_w else None

    def present(self) -> np.ndarray:
        mask = (self.counts.sum(axis=0) + self.counts.sum(axis=1)) > 0
        return np.flatnonzero(mask)

    def index_of(self, labels) -> np.ndarray:
        """Dense index of each label (-1 when the label never occurs)."""
        labels = np.asarray(labels)
        if self.values.size == 0:
            return np.full(labels.shape[0], -1, dtype=np.int64)
        try:
            pos = np.searchsorted(self.values, labels)
        except TypeError:
            return np.full(labels.shape[0], -1, dtype=np.int64)
        pos = np.clip(pos, 0, self.values.size - 1)
        ok = self.values[pos] == labels
        return np.where(ok, pos, -1).astype(np.int64)


def _select(mat: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """mat[idx][:, idx] with zero rows/columns where idx == -1."""
    k = idx.size
    out = np.zeros((k, k), dtype=mat.dtype)
    ok = idx >= 0
    if ok.any():
        sub = idx[ok]
        out[np.ix_(ok, ok)] = mat[np.ix_(sub, sub)]
    return out


def _pair_inputs(y_true, y_pred, sample_weight):
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    _check_length(t.shape[0], p, "y_pred", "y_true")
    w, integral = _sample_weight(sample_weight, t.shape[0])
    if (t.dtype.kind in "USO") != (p.dtype.kind in "USO") and t.size:
        raise ValueError(
            f"Mix of label input types (string and number): y_true has dtype {t.dtype}, y_pred has dtype {p.dtype}"
        )
    return t, p, w, integral


def confusion_matrix(y_true, y_pred, *, num_classes=None, labels=None, sample_weight=None, normalize=None):
    r"""Confusion matrix ``C[i, j]``: (weighted) count of samples with true
    label ``labels[i]`` predicted as ``labels[j]``.

    Parameters
    ----------
    y_true, y_pred : arrays of shape (N,)
        Class labels (integers, booleans, integral floats or strings).
    num_classes : int, optional
        Labels are the integers ``0 .. num_classes - 1``; any label outside
        that range is a ``ValueError`` naming it and its position.
    labels : array of shape (K,), optional
        scikit-learn's ``labels``: the rows/columns in this order; samples
        whose true or predicted label is not listed are ignored.  At least
        one must occur in ``y_true``.  Exclusive with ``num_classes``.
        With neither, the sorted union of the labels present.
    sample_weight : array of shape (N,), optional
        Per-sample weights.
    normalize : {None, 'true', 'pred', 'all'}
        Divide by the row sums, column sums or total (0/0 -> 0).

    Returns
    -------
    ndarray of shape (K, K)
        int64 without weights or with integer weights, float64 otherwise
        (float64 whenever ``normalize`` is set).

    Notes
    -----
    Equals ``sklearn.metrics.confusion_matrix`` (same warning for a 1x1
    result).  Integer labels spanning at most 4096 values are histogrammed
    directly (a Numba kernel over fixed blocks, one histogram per block,
    added in block order: identical for any thread count); other labels are
    first encoded with ``np.unique``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]))
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 1, 1]])
    """
    t, p, w, integral = _pair_inputs(y_true, y_pred, sample_weight)
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be one of None, 'true', 'pred', 'all', got {normalize!r}")
    if num_classes is not None and labels is not None:
        raise TypeError("pass num_classes or labels, not both")
    if num_classes is not None:
        k = _checks.check_int(num_classes, "num_classes", low=1)
        for arr, name in ((t, "y_true"), (p, "y_pred")):
            if arr.dtype.kind not in "iub":
                raise TypeError(f"num_classes needs integer labels, got {name} of dtype {arr.dtype}")
            _checks.check_labels(arr, name, k)
        labels = np.arange(k)
    hist = _PairHist(t, p, w)
    if labels is None:
        idx = hist.present()
        k = idx.size
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
        if labels.size == 0:
            raise ValueError("'labels' should contain at least one label.")
        if t.size == 0:
            return np.zeros((labels.size, labels.size), dtype=np.int64)
        idx = hist.index_of(labels)
        rows = hist.counts.sum(axis=1)
        if num_classes is None and not any(i >= 0 and rows[i] > 0 for i in idx):
            raise ValueError("At least one label specified must be in y_true")
        k = labels.size
    if labels is None:
        cm = hist.counts[np.ix_(idx, idx)] if w is None else hist.wsum[np.ix_(idx, idx)]
    else:
        cm = _select(hist.counts if w is None else hist.wsum, idx)
    if w is not None and integral:
        cm = np.rint(cm).astype(np.int64)
    if normalize is not None:
        with np.errstate(all="ignore"):
            if normalize == "true":
                cm = cm / cm.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                cm = cm / cm.sum(axis=0, keepdims=True)
            else:
                cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    if cm.shape == (1, 1):
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion "
            "matrix to have the correct shape, use the 'labels' parameter to pass "
            "all known labels.",
            UserWarning,
            stacklevel=2,
        )
    return cm


# ------------------------------------------------------ precision / recall / F


def _zero_division_value(zero_division):
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
        if zero_division == "nan":
            return math.nan
    elif isinstance(zero_division, numbers.Real) and not isinstance(zero_division, bool):
        if math.isnan(zero_division):
            return math.nan
        if zero_division in (0, 1):
            return float(zero_division)
    raise ValueError(f"zero_division must be 'warn', 0.0, 1.0 or nan, got {zero_division!r}")


def _warn_prf(modifier: str, msg_start: str, result_size: int) -> None:
    msg = (
        "{0} ill-defined and being set to 0.0 {{0}} no {1} samples. Use `zero_division` "
        "parameter to control this behavior.".format(msg_start, modifier)
    )
    msg = msg.format("due to" if result_size == 1 else "in labels with")
    warnings.warn(msg, UndefinedMetricWarning, stacklevel=4)


def _prf_divide(num, den, metric, modifier, zero_division, warn):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    mask = den == 0
    out = num / np.where(mask, 1.0, den)
    if not mask.any():
        return out
    out[mask] = _zero_division_value(zero_division)
    if zero_division == "warn" and warn:
        _warn_prf(modifier, f"{metric.capitalize()} is", out.shape[0])
    return out


def _nanaverage(a, weights=None):
    if a.shape[0] == 0:
        return math.nan
    mask = np.isnan(a)
    if mask.all():
        return math.nan
    if weights is None:
        return float(np.nanmean(a))
    a, weights = a[~mask], np.asarray(weights, dtype=np.float64)[~mask]
    if weights.sum() == 0:
        return float(np.mean(a))
    return float(np.average(a, weights=weights))


def precision_recall_fscore(
    y_true,
    y_pred,
    *,
    average=None,
    beta=1.0,
    labels=None,
    pos_label=1,
    zero_division="warn",
    sample_weight=None,
):
    r"""Precision, recall, F-beta and support per class, or averaged.

    For class ``c``: ``precision = TP / (TP + FP)``, ``recall = TP / (TP +
    FN)``, ``F_beta = (1 + beta^2) TP / ((1 + beta^2) TP + beta^2 FN + FP)``,
    ``support = TP + FN`` (weighted counts with ``sample_weight``).

    Parameters
    ----------
    y_true, y_pred : arrays of shape (N,)
        Class labels.
    average : {None, 'binary', 'micro', 'macro', 'weighted'}
        None: per-class arrays (in ``labels`` order, default the sorted
        union of the labels present).  ``'binary'``: only ``pos_label``
        (``ValueError`` if the data has more than two labels, or two labels
        and ``pos_label`` is not one of them).  ``'micro'``: from the
        summed counts.  ``'macro'``: unweighted mean over classes.
        ``'weighted'``: mean weighted by support.  Averages ignore NaN
        entries, as scikit-learn.
    beta : float >= 0
        Weight of recall (``beta=inf`` gives recall, ``0`` precision).
    labels : array of shape (K,), optional
        Classes to report (absent ones count zero).
    pos_label : label
        The positive class for ``average='binary'``.
    zero_division : {'warn', 0.0, 1.0, nan}
        Value of a 0/0 ratio; ``'warn'`` gives 0 and an
        :class:`UndefinedMetricWarning`.
    sample_weight : array of shape (N,), optional

    Returns
    -------
    precision, recall, fscore : float or ndarray of shape (K,)
    support : ndarray of shape (K,) (int64, float64 with weights) or None
        None when averaged, as scikit-learn.

    Notes
    -----
    scikit-learn: ``precision_recall_fscore_support`` (same arguments except
    ``warn_for``, which is fixed at its default, and ``'samples'``, which is
    for multilabel data only).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> p, r, f, s = fastloss.precision_recall_fscore(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]))
    >>> p, r, s
    (array([1. , 1. , 0.5]), array([1. , 0.5, 1. ]), array([1, 2, 1]))
    >>> round(fastloss.precision_recall_fscore(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), average="macro")[2], 4)
    0.7778
    """
    _zero_division_value(zero_division)
    options = (None, "binary", "micro", "macro", "weighted")
    if average not in options:
        if average == "samples":
            raise ValueError("average='samples' is for multilabel data; fastloss takes 1-D class labels")
        raise ValueError(f"average must be one of {list(options)}, got {average!r}")
    b = _checks.check_scalar(beta, "beta", low=0.0, finite=False)
    t, p, w, _ = _pair_inputs(y_true, y_pred, sample_weight)
    hist = _PairHist(t, p, w)
    present = hist.values[hist.present()]
    if average == "binary":
        if present.size > 2:
            raise ValueError(
                "Target is multiclass but average='binary'. Please choose another average setting, "
                f"one of [None, 'micro', 'macro', 'weighted'] (y_true/y_pred hold {present.size} labels: "
                f"{present[:10].tolist()}{' ...' if present.size > 10 else ''})."
            )
        if not _in_values(present, pos_label) and present.size >= 2:
            raise ValueError(f"pos_label={pos_label!r} is not a valid label. It should be one of {present.tolist()}")
        labels = np.asarray([pos_label])
    elif pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' "
            f"(got {average!r}). You may use labels=[pos_label] to specify a single positive class.",
            UserWarning,
            stacklevel=2,
        )
    if labels is None:
        idx = hist.present()
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
        idx = hist.index_of(labels)
    mat = hist.counts if w is None else hist.wsum
    diag = np.diagonal(mat)
    pred_all = mat.sum(axis=0)
    true_all = mat.sum(axis=1)
    ok = idx >= 0
    safe = np.where(ok, idx, 0)
    zero = np.zeros((), dtype=mat.dtype)
    if mat.size:
        tp_sum = np.where(ok, diag[safe], zero)
        pred_sum = np.where(ok, pred_all[safe], zero)
        true_sum = np.where(ok, true_all[safe], zero)
    else:
        tp_sum = pred_sum = true_sum = np.zeros(idx.size, dtype=mat.dtype)
    if average == "micro":
        tp_sum, pred_sum, true_sum = (np.asarray([x.sum()]) for x in (tp_sum, pred_sum, true_sum))
    precision = _prf_divide(tp_sum, pred_sum, "precision", "predicted", zero_division, True)
    recall = _prf_divide(tp_sum, true_sum, "recall", "true", zero_division, True)
    if math.isinf(b):
        f = recall
    elif b == 0:
        f = precision
    else:
        b2 = b * b
        f = _prf_divide(
            (1 + b2) * tp_sum.astype(np.float64),
            b2 * true_sum.astype(np.float64) + pred_sum.astype(np.float64),
            "f-score",
            "true nor predicted",
            zero_division,
            True,
        )
    if average is None:
        return precision, recall, f, true_sum
    weights = true_sum if average == "weighted" else None
    return _nanaverage(precision, weights), _nanaverage(recall, weights), _nanaverage(f, weights), None


# ------------------------------------------------------------ class weights


def class_weights(y, *, method="balanced", beta=0.999):
    r"""One weight per class (sorted class order) for imbalanced training.

    ``'balanced'``: ``w_c = N / (C * n_c)`` (scikit-learn's
    ``compute_class_weight("balanced")``).  ``'effective_number'``: Cui et
    al. 2019, "Class-Balanced Loss Based on Effective Number of Samples":
    ``w_c = (1 - beta) / (1 - beta^n_c)``, normalised so the weights sum
    to ``C``.

    Parameters
    ----------
    y : array of shape (N,)
        Class labels; the classes are the sorted distinct labels present.
    method : {'balanced', 'effective_number'}
    beta : float in [0, 1)
        Effective-number hyperparameter (0 gives equal weights; near 1,
        inverse frequency).

    Returns
    -------
    ndarray of shape (C,), float64
        Pass as ``weight=`` to :func:`fastloss.cross_entropy` when the
        labels are ``0 .. C-1``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.class_weights(np.array([0, 0, 0, 1]))
    array([0.66666667, 2.        ])
    >>> fastloss.class_weights(np.array([0, 0, 0, 1]), method="effective_number", beta=0.5)
    array([0.72727273, 1.27272727])
    """
    labels = _labels(y, "y")
    if labels.size == 0:
        raise ValueError("y is empty: need at least one sample to weight the classes")
    if method not in ("balanced", "effective_number"):
        raise ValueError(f"method must be 'balanced' or 'effective_number', got {method!r}")
    _, counts = np.unique(labels, return_counts=True)
    counts = counts.astype(np.float64)
    if method == "balanced":
        return labels.size / (counts.size * counts)
    b = _checks.check_scalar(beta, "beta", low=0.0, high=1.0, high_open=True)
    # 1 - beta^n computed as -expm1(n log beta): exact for beta near 1.
    eff = -np.expm1(counts * math.log(b)) if b > 0 else np.ones_like(counts)
    w = (1.0 - b) / eff
    return w * (counts.size / w.sum())


__all__ = ["confusion_matrix", "precision_recall_fscore", "class_weights", "UndefinedMetricWarning"]
