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
    _label_array,
    _int_weights,
    _labels,
    _nblocks,
    _nonempty,
    _sample_weight,
    _undefined,
)



def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.metrics import confusion

    return confusion


# ---------------------------------------------------------------- histograms


class _PairHist:
    """Dense (true, pred) histogram over the labels of two arrays.

    ``values[k]`` is the label of dense index ``k``; ``counts`` (int64) and
    ``wsum`` (float64, or None) are ``(r, r)`` with rows = true label;
    ``wexact`` (int64) replaces ``wsum`` when integer weights ``wint`` sum
    beyond 2**53, where float64 sums stop being exact."""

    def __init__(self, y_true, y_pred, w, wint=None):
        t, p = y_true, y_pred
        n = t.shape[0]
        self.wexact = None
        # uint64 labels >= 2**63 do not fit int64: they take the np.unique
        # path (as object values when mixed with signed labels, since numpy
        # would promote uint64 + int64 to float64 and merge labels).
        big = [a.dtype.kind == "u" and a.dtype.itemsize == 8 and n and int(a.max()) >= 2**63 for a in (t, p)]
        if any(big) and t.dtype != p.dtype:
            t, p = t.astype(object), p.astype(object)
        if t.dtype.kind in "iub" and p.dtype.kind in "iub" and n and not any(big):
            t = np.ascontiguousarray(t, dtype=np.int64)
            p = np.ascontiguousarray(p, dtype=np.int64)
            lo = min(int(t.min()), int(p.min()))
            hi = max(int(t.max()), int(p.max()))
            r = hi - lo + 1
            if r <= _DENSE_RANGE:
                values = np.arange(lo, hi + 1, dtype=np.int64)
                self._fill(t, p, lo, r, w, values, wint)
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
        self._fill(np.ascontiguousarray(inv[:n]), np.ascontiguousarray(inv[n:]), 0, values.size, w, values, wint)

    def _fill(self, t, p, lo, r, w, values, wint=None):
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
        if wint is not None and float(np.abs(w).sum()) >= 2.0**53:
            # Partial float64 sums of integers are exact below 2**53 only.
            exact = np.zeros(r * r, dtype=np.int64)
            np.add.at(exact, (t - lo) * r + (p - lo), wint)
            self.wexact = exact.reshape(r, r)

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
    if _is_indicator(y_true) or _is_indicator(y_pred):  # (N, K) multilabel: per-label 2x2 (issue 16)
        return multilabel_confusion_matrix(y_true, y_pred, sample_weight=sample_weight, labels=labels)
    t, p, w, integral = _pair_inputs(y_true, y_pred, sample_weight)
    _nonempty(t.shape[0])
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
    wint = _int_weights(sample_weight) if integral else None
    hist = _PairHist(t, p, w, wint)
    if labels is None:
        idx = hist.present()
        k = idx.size
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
        if labels.size == 0:
            raise ValueError("'labels' should contain at least one label.")
        idx = hist.index_of(labels)
        # A label listed twice: scikit-learn maps it to its last position
        # (a dict built over ``labels``), leaving earlier rows/columns zero.
        last_pos = {lab: i for i, lab in enumerate(labels.tolist())}
        last = np.zeros(labels.size, dtype=bool)
        last[list(last_pos.values())] = True
        idx = np.where(last, idx, -1)
        rows = hist.counts.sum(axis=1)
        if num_classes is None and not any(i >= 0 and rows[i] > 0 for i in idx):
            raise ValueError("At least one label specified must be in y_true")
        k = labels.size
    mat = hist.counts if w is None else hist.wexact if hist.wexact is not None else hist.wsum
    if labels is None:
        cm = mat[np.ix_(idx, idx)]
    else:
        cm = _select(mat, idx)
    if w is not None and integral and hist.wexact is None:
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
    # As scikit-learn's parameter check: 'warn', a real among {0, 1, nan}
    # (True/False included, being 1 and 0); the string "nan" is refused.
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
    elif isinstance(zero_division, numbers.Real):
        if math.isnan(zero_division):
            return math.nan
        if zero_division in (0, 1):
            return float(zero_division)
    raise ValueError(f"zero_division must be 'warn', 0.0, 1.0 or np.nan, got {zero_division!r}")


_WARN_FOR = ("precision", "recall", "f-score")


def _warn_for(warn_for) -> frozenset:
    if isinstance(warn_for, str) or not isinstance(warn_for, (list, tuple, set, frozenset)):
        raise TypeError(f"warn_for must be a list, tuple or set of metric names, got {warn_for!r}")
    return frozenset(warn_for)


def _warn_prf(average, modifier: str, msg_start: str, result_size: int) -> None:
    # scikit-learn's wording: per-label ratios "in labels with no ... samples",
    # per-sample ones (average='samples') "in samples with no ... labels".
    axis0, axis1 = ("label", "sample") if average == "samples" else ("sample", "label")
    where = "due to" if result_size == 1 else f"in {axis1}s with"
    msg = (
        f"{msg_start} ill-defined and being set to 0.0 {where} no {modifier} {axis0}s. "
        "Use `zero_division` parameter to control this behavior."
    )
    warnings.warn(msg, _undefined(), stacklevel=4)


def _prf_divide(num, den, metric, modifier, average, warn_for, zero_division):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    mask = den == 0
    out = num / np.where(mask, 1.0, den)
    if not mask.any():
        return out
    out[mask] = _zero_division_value(zero_division)
    if zero_division == "warn" and metric in warn_for:
        _warn_prf(average, modifier, f"{metric.capitalize()} is", out.shape[0])
    return out


def _warn_pos_label_ignored(pos_label, average, stacklevel=3):
    warnings.warn(
        f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' "
        f"(got {average!r}). You may use labels=[pos_label] to specify a single positive class.",
        UserWarning,
        stacklevel=stacklevel,
    )


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
    warn_for=_WARN_FOR,
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
    warn_for : list, tuple or set of {'precision', 'recall', 'f-score'}
        Which ratios may emit the ``zero_division='warn'`` warning (the
        others are still set to 0 silently), as scikit-learn.

    Returns
    -------
    precision, recall, fscore : float or ndarray of shape (K,)
    support : ndarray of shape (K,) (int64, float64 with weights) or None
        None when averaged, as scikit-learn.

    Notes
    -----
    scikit-learn: ``precision_recall_fscore_support`` (same arguments;
    ``'samples'`` is for multilabel data only).

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
    warn_for = _warn_for(warn_for)
    if _is_indicator(y_true) or _is_indicator(y_pred):  # (N, K) multilabel indicators (issue 16)
        return _ml_prf(y_true, y_pred, average, beta, labels, pos_label, zero_division, sample_weight, warn_for)
    options = (None, "binary", "micro", "macro", "weighted")
    if average not in options:
        if average == "samples":
            _pair_inputs(y_true, y_pred, sample_weight)  # label type errors first, as scikit-learn
            raise ValueError(
                "Samplewise metrics are not available outside of multilabel classification "
                "(average='samples' needs (N, K) label indicators; y_true/y_pred are 1-D class labels)."
            )
        raise ValueError(f"average must be one of {list(options)}, got {average!r}")
    b = _checks.check_scalar(beta, "beta", low=0.0, finite=False)
    t, p, w, _ = _pair_inputs(y_true, y_pred, sample_weight)
    _nonempty(t.shape[0])
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
            # scikit-learn's wording, the labels printed as a NumPy array
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        labels = np.asarray([pos_label])
    elif pos_label not in (None, 1):
        _warn_pos_label_ignored(pos_label, average)
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
    precision = _prf_divide(tp_sum, pred_sum, "precision", "predicted", average, warn_for, zero_division)
    recall = _prf_divide(tp_sum, true_sum, "recall", "true", average, warn_for, zero_division)
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
            average,
            warn_for,
            zero_division,
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




# ===================================================== more metrics (issue 16)
# Accuracy, balanced accuracy, MCC, Cohen's kappa and the classification
# report all follow from the (true, pred) histogram above; multilabel
# indicator inputs ``(N, K)`` get per-label 2x2 matrices (scikit-learn's
# ``multilabel_confusion_matrix``) and ``average="samples"``.


def _is_indicator(a) -> bool:
    """True for a 2-D ``(N, K>1)`` array: scikit-learn's multilabel indicator
    (values must then be 0/1, checked by :func:`_indicator`)."""
    arr = _label_array(a, "y")
    return arr.ndim == 2 and arr.shape[1] > 1


def _indicator(a, name: str, refusal: str = "multiclass-multioutput is not supported") -> np.ndarray:
    arr = _label_array(a, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, K) label indicator matrix, got shape {arr.shape}")
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be a 0/1 indicator matrix, got dtype {arr.dtype}")
    if arr.dtype.kind != "b":
        bad = (arr != 0) & (arr != 1)
        if bad.any():
            pos = tuple(int(v) for v in np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), arr.shape))
            raise ValueError(
                f"{name} must be a multilabel indicator matrix of 0/1, got {arr[pos]} at position {pos}: "
                f"{refusal} (as scikit-learn)"
            )
        arr = arr != 0
    return arr


def _indicator_pair(y_true, y_pred, sample_weight):
    t = _indicator(y_true, "y_true")
    p = _indicator(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}")
    w, _ = _sample_weight(sample_weight, t.shape[0])
    return t, p, w


def _mixed_types(y_true, y_pred):
    a, b = _is_indicator(y_true), _is_indicator(y_pred)
    if a != b:
        raise ValueError(
            "Classification metrics can't handle a mix of multilabel-indicator and multiclass targets "
            f"(y_true is {'2-D' if a else '1-D'}, y_pred is {'2-D' if b else '1-D'})"
        )
    return a


def _ml_counts(t, p, w, axis):
    """(tp, pred, true) weighted counts per label (axis=0) or per sample (axis=1)."""
    tp = t & p
    if w is None:
        return (np.count_nonzero(tp, axis=axis), np.count_nonzero(p, axis=axis), np.count_nonzero(t, axis=axis))
    if axis == 0:
        return tuple(w @ m.astype(np.float64) for m in (tp, p, t))
    return tuple(np.count_nonzero(m, axis=1) * w for m in (tp, p, t))


def _ml_labels(labels, k):
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels of multilabel targets must be 1-D column indices, got {labels!r}")
    if labels.size and labels.max() >= k:
        raise ValueError(f"All labels must be in [0, n labels) for multilabel targets. Got {labels.max()} > {k - 1}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"All labels must be in [0, n labels) for multilabel targets. Got {labels.min()} < 0")
    return labels


def multilabel_confusion_matrix(y_true, y_pred, *, sample_weight=None, labels=None, samplewise=False):
    r"""One 2x2 confusion matrix ``[[TN, FP], [FN, TP]]`` per label (or per
    sample with ``samplewise=True``).

    Parameters
    ----------
    y_true, y_pred : arrays of shape (N, K) (0/1 indicators) or (N,) (class labels)
        Multilabel indicator matrices, or multiclass labels (one-vs-rest per
        class, in sorted label order).
    sample_weight : array of shape (N,), optional
    labels : array of shape (L,), optional
        Columns (multilabel) or classes (multiclass) to report, in this order.
    samplewise : bool
        Per-sample matrices (multilabel only).

    Returns
    -------
    ndarray of shape (L, 2, 2)
        int64, float64 with float weights.

    Notes
    -----
    Equals ``sklearn.metrics.multilabel_confusion_matrix``.
    ``confusion_matrix`` gives the same for ``(N, K)`` indicator inputs.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.multilabel_confusion_matrix(np.array([[1, 0], [1, 1]]), np.array([[1, 1], [0, 1]]))
    array([[[0, 0],
            [1, 1]],
    <BLANKLINE>
           [[0, 1],
            [0, 1]]])
    """
    samplewise = _checks.check_bool(samplewise, "samplewise")
    if not _mixed_types(y_true, y_pred):
        t, p, w, integral = _pair_inputs(y_true, y_pred, sample_weight)  # label type errors first, as scikit-learn
        if samplewise:
            raise ValueError("Samplewise metrics are not available outside of multilabel classification.")
        hist = _PairHist(t, p, w)
        mat = hist.counts if w is None else hist.wsum
        if labels is None:
            idx = hist.present()
        else:
            idx = hist.index_of(np.asarray(labels))
        ok = idx >= 0
        safe = np.where(ok, idx, 0)
        if mat.size:
            tp = np.where(ok, np.diagonal(mat)[safe], 0)
            pred = np.where(ok, mat.sum(axis=0)[safe], 0)
            true = np.where(ok, mat.sum(axis=1)[safe], 0)
        else:
            tp = pred = true = np.zeros(idx.size, dtype=mat.dtype)
        total = mat.sum()
        if w is not None and integral:
            tp, pred, true, total = (np.rint(x).astype(np.int64) for x in (tp, pred, true, total))
    else:
        t, p, w = _indicator_pair(y_true, y_pred, sample_weight)
        lab = _ml_labels(labels, t.shape[1])
        if lab is not None:
            t, p = t[:, lab], p[:, lab]
        axis = 1 if samplewise else 0
        tp, pred, true = _ml_counts(t, p, w, axis)
        if w is None:
            total = t.shape[1] if samplewise else t.shape[0]
        else:
            total = w * t.shape[1] if samplewise else float(w.sum())
    fp, fn = pred - tp, true - tp
    tn = total - tp - fp - fn
    return np.stack([tn, fp, fn, tp]).T.reshape(-1, 2, 2)


def _ml_prf(y_true, y_pred, average, beta, labels, pos_label, zero_division, sample_weight, warn_for):
    """precision_recall_fscore on (N, K) indicator inputs (scikit-learn's rules)."""
    t, p, w = _indicator_pair(y_true, y_pred, sample_weight)
    options = (None, "micro", "macro", "weighted", "samples")
    if average == "binary":
        raise ValueError(
            "Target is multilabel-indicator but average='binary'. Please choose another average setting, "
            f"one of {list(options)}."
        )
    if average not in options:
        raise ValueError(f"average must be one of {list(options)}, got {average!r}")
    if pos_label not in (None, 1):
        _warn_pos_label_ignored(pos_label, average, stacklevel=4)
    b = _checks.check_scalar(beta, "beta", low=0.0, finite=False)
    lab = _ml_labels(labels, t.shape[1])
    if lab is not None:
        t, p = t[:, lab], p[:, lab]
    samples = average == "samples"
    tp_sum, pred_sum, true_sum = _ml_counts(t, p, w, 1 if samples else 0)
    if average == "micro":
        tp_sum, pred_sum, true_sum = (np.asarray([x.sum()]) for x in (tp_sum, pred_sum, true_sum))

    def divide(num, den, metric, modifier):
        return _prf_divide(num, den, metric, modifier, average, warn_for, zero_division)

    precision = divide(tp_sum, pred_sum, "precision", "predicted")
    recall = divide(tp_sum, true_sum, "recall", "true")
    if math.isinf(b):
        f = recall
    elif b == 0:
        f = precision
    else:
        b2 = b * b
        f = divide((1 + b2) * np.asarray(tp_sum, np.float64), b2 * np.asarray(true_sum, np.float64)
                   + np.asarray(pred_sum, np.float64), "f-score", "true nor predicted")
    if average is None:
        return precision, recall, f, true_sum
    weights = true_sum if average == "weighted" else (w if samples else None)
    return _nanaverage(precision, weights), _nanaverage(recall, weights), _nanaverage(f, weights), None


def accuracy(y_true, y_pred, *, normalize=True, sample_weight=None):
    r"""Fraction (or count) of samples predicted exactly right.

    ``sum_i w_i [y_pred_i == y_true_i] / sum_i w_i``; for ``(N, K)``
    multilabel indicators a sample counts only when its whole row matches
    (subset accuracy).

    Parameters
    ----------
    y_true, y_pred : arrays of shape (N,) (labels) or (N, K) (0/1 indicators)
    normalize : bool
        False: the (weighted) number of correct samples.
    sample_weight : array of shape (N,), optional

    Returns
    -------
    float

    Notes
    -----
    Equals ``sklearn.metrics.accuracy_score`` (NaN for empty input with
    ``normalize=True``, as NumPy's mean; scikit-learn also gives NaN).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.accuracy(np.array([0, 1, 2, 3]), np.array([0, 2, 1, 3]))
    0.5
    """
    normalize = _checks.check_bool(normalize, "normalize")
    if _mixed_types(y_true, y_pred):
        t, p, w = _indicator_pair(y_true, y_pred, sample_weight)
        hit = ~np.any(t != p, axis=1)
    else:
        t, p, w, _ = _pair_inputs(y_true, y_pred, sample_weight)
        hit = t == p
        if not isinstance(hit, np.ndarray):  # incomparable types: numpy gives a scalar
            hit = np.zeros(t.shape[0], dtype=bool)
    if w is None:
        n_hit = float(np.count_nonzero(hit))
        if not normalize:
            return n_hit
        return n_hit / hit.size if hit.size else math.nan
    s = float(np.dot(hit, w))
    if not normalize:
        return s
    tot = float(w.sum())
    if tot == 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return s / tot


def _pair_matrix(y_true, y_pred, sample_weight, labels=None):
    """The confusion matrix (float64) over the sorted union of labels (or ``labels``)."""
    if _mixed_types(y_true, y_pred):
        raise ValueError("multilabel-indicator is not supported (pass 1-D class labels)")
    t, p, w, _ = _pair_inputs(y_true, y_pred, sample_weight)
    hist = _PairHist(t, p, w)
    mat = hist.counts if w is None else hist.wsum
    if labels is None:
        idx = hist.present()
        c = mat[np.ix_(idx, idx)].astype(np.float64)
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0:
            raise ValueError(f"labels must be a non-empty 1-D array, got {labels!r}")
        idx = hist.index_of(labels)
        rows = hist.counts.sum(axis=1)
        if t.size and not any(i >= 0 and rows[i] > 0 for i in idx):
            raise ValueError("At least one label specified must be in y_true")
        c = _select(mat, idx).astype(np.float64)
    if c.shape == (1, 1):  # scikit-learn's metrics warn through its confusion_matrix
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion "
            "matrix to have the correct shape, use the 'labels' parameter to pass "
            "all known labels.",
            UserWarning,
            stacklevel=3,
        )
    return c, hist, t


def balanced_accuracy(y_true, y_pred, *, sample_weight=None, adjusted=False):
    r"""Mean per-class recall, ``mean_c C[c, c] / sum_j C[c, j]`` over the
    classes present in ``y_true``.

    Parameters
    ----------
    y_true, y_pred : arrays of shape (N,)
    sample_weight : array of shape (N,), optional
    adjusted : bool
        Rescale so chance is 0 and perfect is 1: ``(s - 1/K) / (1 - 1/K)``.

    Returns
    -------
    float

    Notes
    -----
    Equals ``sklearn.metrics.balanced_accuracy_score``, including its
    ``UserWarning`` "y_pred contains classes not in y_true".

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.balanced_accuracy(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]))
    0.8333333333333333
    """
    adjusted = _checks.check_bool(adjusted, "adjusted")
    c, _, _ = _pair_matrix(y_true, y_pred, sample_weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.diagonal(c) / c.sum(axis=1)
    if np.any(np.isnan(per_class)):
        warnings.warn("y_pred contains classes not in y_true", UserWarning, stacklevel=2)
        per_class = per_class[~np.isnan(per_class)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        score = np.mean(per_class) if per_class.size else np.float64(math.nan)
        if adjusted:  # NumPy float64 arithmetic, as scikit-learn (one class: -inf or nan)
            k = per_class.shape[0]
            chance = 1 / k if k else math.inf
            score -= chance
            score /= 1 - chance
    return float(score)


def matthews_corrcoef(y_true, y_pred, *, sample_weight=None):
    r"""Matthews correlation coefficient (multiclass: Gorodkin's R_K).

    With the confusion matrix ``C``, ``t = C.sum(1)``, ``p = C.sum(0)``,
    ``c = trace C``, ``s = sum C``:
    ``MCC = (c s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t))``, 0 when the
    denominator is 0.

    Parameters
    ----------
    y_true, y_pred : arrays of shape (N,)
    sample_weight : array of shape (N,), optional

    Returns
    -------
    float in [-1, 1]

    Notes
    -----
    Equals ``sklearn.metrics.matthews_corrcoef``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(fastloss.matthews_corrcoef(np.array([1, 1, 1, 0]), np.array([1, 0, 1, 1])), 6)
    -0.333333
    """
    c, _, _ = _pair_matrix(y_true, y_pred, sample_weight)
    t_sum = c.sum(axis=1)
    p_sum = c.sum(axis=0)
    n_correct = np.trace(c)
    n = p_sum.sum()
    cov_ytyp = n_correct * n - np.dot(t_sum, p_sum)
    cov_ypyp = n**2 - np.dot(p_sum, p_sum)
    cov_ytyt = n**2 - np.dot(t_sum, t_sum)
    den = cov_ypyp * cov_ytyt
    if den == 0:
        return 0.0
    return float(cov_ytyp / np.sqrt(den))


def cohen_kappa(y1, y2, *, labels=None, weights=None, sample_weight=None, replace_undefined_by=math.nan):
    r"""Cohen's kappa: agreement of two annotators beyond chance.

    ``kappa = 1 - sum(W * C) / sum(W * E)`` with ``C`` the confusion matrix,
    ``E = outer(C.sum(0), C.sum(1)) / sum C`` and ``W`` 0 on the diagonal, 1
    elsewhere (``weights=None``), ``|i - j|`` (``'linear'``) or ``(i - j)^2``
    (``'quadratic'``).

    Parameters
    ----------
    y1, y2 : arrays of shape (N,)
        Labels assigned by each annotator.
    labels : array of shape (K,), optional
        Classes (in this order) of the matrix; default the sorted union.
    weights : {None, 'linear', 'quadratic'}
    sample_weight : array of shape (N,), optional
    replace_undefined_by : float in [-1, 1] or nan
        Returned (with an :class:`UndefinedMetricWarning`) when kappa is 0/0.

    Returns
    -------
    float

    Notes
    -----
    Equals ``sklearn.metrics.cohen_kappa_score``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(fastloss.cohen_kappa(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]), weights="quadratic"), 6)
    0.8
    """
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    r = replace_undefined_by
    if not (isinstance(r, numbers.Real) and not isinstance(r, bool) and (math.isnan(r) or -1 <= r <= 1)):
        raise ValueError(f"replace_undefined_by must be a float in [-1, 1] or nan, got {r!r}")
    try:
        c, _, _ = _pair_matrix(y1, y2, sample_weight, labels)
    except ValueError as e:
        if "At least one label specified must be in y_true" in str(e):
            raise ValueError(
                "At least one label in `labels` must be present in `y1` (even though `cohen_kappa_score` "
                "is otherwise agnostic to the order of `y1` and `y2`)."
            ) from e
        raise
    k = c.shape[0]
    sum0 = c.sum(axis=0)
    sum1 = c.sum(axis=1)
    den = sum0.sum()
    if den == 0:
        warnings.warn(
            "`y2` contains no labels that are present in both `y1` and `labels`.`cohen_kappa_score` is "
            f"undefined and set to the value defined by the `replace_undefined_by` param, which is set to {r}.",
            _undefined(),
            stacklevel=2,
        )
        return r
    expected = np.outer(sum0, sum1) / den
    if weights is None:
        w_mat = 1.0 - np.eye(k)
    else:
        d = np.arange(k, dtype=np.float64)
        d = d[None, :] - d[:, None]
        w_mat = np.abs(d) if weights == "linear" else d * d
    den = np.sum(w_mat * expected)
    if den == 0:
        warnings.warn(
            "`y1`, `y2` and `labels` have only one label in common. `cohen_kappa_score` is undefined and set "
            f"to the value defined by the the `replace_undefined_by` param, which is set to {r}.",
            _undefined(),
            stacklevel=2,
        )
        return r
    return float(1 - np.sum(w_mat * c) / den)


def classification_report(
    y_true, y_pred, *, labels=None, target_names=None, sample_weight=None, digits=2, output_dict=False,
    zero_division="warn",
):
    r"""Per-class precision, recall, F1 and support, with the averages, as
    text or as a dict.

    Parameters
    ----------
    y_true, y_pred : arrays of shape (N,) (labels) or (N, K) (0/1 indicators)
    labels : array of shape (K,), optional
    target_names : list of str, optional
        Row names (default the labels as strings).
    sample_weight : array of shape (N,), optional
    digits : int
        Decimals of the text table (ignored with ``output_dict``).
    output_dict : bool
        Return ``{name: {"precision", "recall", "f1-score", "support"}}``
        plus ``"accuracy"`` (a float) or ``"micro avg"``, ``"macro avg"``,
        ``"weighted avg"`` (and ``"samples avg"`` for multilabel).
    zero_division : {'warn', 0.0, 1.0, nan}

    Returns
    -------
    str or dict

    Notes
    -----
    Equals ``sklearn.metrics.classification_report``, character for
    character (the "accuracy" row replaces "micro avg" when every label
    present is reported).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> print(fastloss.classification_report(np.array([0, 1, 1]), np.array([0, 1, 0])))
                  precision    recall  f1-score   support
    <BLANKLINE>
               0       0.50      1.00      0.67         1
               1       1.00      0.50      0.67         2
    <BLANKLINE>
        accuracy                           0.67         3
       macro avg       0.75      0.75      0.67         3
    weighted avg       0.83      0.67      0.67         3
    <BLANKLINE>
    """
    multilabel = _mixed_types(y_true, y_pred)
    digits = _checks.check_int(digits, "digits", low=0)
    output_dict = _checks.check_bool(output_dict, "output_dict")
    if multilabel:
        t, _, _ = _indicator_pair(y_true, y_pred, sample_weight)
        present = np.arange(t.shape[1])
    else:
        t, p, _, _ = _pair_inputs(y_true, y_pred, sample_weight)
        hist = _PairHist(t, p, None)
        present = hist.values[hist.present()]
    labels_given = labels is not None
    labels = present if labels is None else np.asarray(labels)
    micro_is_accuracy = not multilabel and (not labels_given or set(labels.tolist()) >= set(present.tolist()))
    if target_names is not None and len(labels) != len(target_names):
        if labels_given:
            warnings.warn(
                f"labels size, {len(labels)}, does not match size of target_names, {len(target_names)}",
                UserWarning, stacklevel=2,
            )
        else:
            raise ValueError(
                f"Number of classes, {len(labels)}, does not match size of target_names, "
                f"{len(target_names)}. Try specifying the labels parameter"
            )
    if target_names is None:
        target_names = ["%s" % lab for lab in labels]
    headers = ["precision", "recall", "f1-score", "support"]
    kw = dict(labels=labels, sample_weight=sample_weight, zero_division=zero_division)
    p_, r_, f1, s = precision_recall_fscore(y_true, y_pred, average=None, **kw)
    rows = list(zip(target_names, p_, r_, f1, s))
    averages = ("micro", "macro", "weighted", "samples") if multilabel else ("micro", "macro", "weighted")
    if output_dict:
        report = {row[0]: dict(zip(headers, [float(v) for v in row[1:]])) for row in rows}
    else:
        width = max(max((len(cn) for cn in target_names), default=0), len("weighted avg"), digits)
        head_fmt = "{:>{width}s} " + " {:>9}" * len(headers)
        text = head_fmt.format("", *headers, width=width) + "\n\n"
        row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
        for row in rows:
            text += row_fmt.format(*row, width=width, digits=digits)
        text += "\n"
    for average in averages:
        heading = "accuracy" if average == "micro" and micro_is_accuracy else average + " avg"
        ap, ar, af, _ = precision_recall_fscore(y_true, y_pred, average=average, **kw)
        avg = [ap, ar, af, np.sum(s)]
        if output_dict:
            report[heading] = dict(zip(headers, [float(v) for v in avg]))
        elif heading == "accuracy":
            fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            text += fmt.format(heading, "", "", *avg[2:], width=width, digits=digits)
        else:
            text += row_fmt.format(heading, *avg, width=width, digits=digits)
    if output_dict:
        if "accuracy" in report:
            report["accuracy"] = report["accuracy"]["precision"]
        return report
    return text


__all__ = [
    "confusion_matrix", "precision_recall_fscore", "class_weights", "UndefinedMetricWarning",
    "accuracy", "balanced_accuracy", "matthews_corrcoef", "cohen_kappa", "classification_report",
    "multilabel_confusion_matrix",
]
