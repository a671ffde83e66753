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

from . import _checks

#: Fixed number of blocks a histogram kernel splits its input into (and the
#: number of per-block histograms the wrapper adds, in block order).  A
#: function of the input size only, never of the thread count.
_MAX_BLOCKS = 16
_BLOCK_MIN = 1 << 16  # elements per block at least (small inputs: one block)
_DENSE_RANGE = 1 << 12  # integer labels spanning more values are re-encoded


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined (e.g. ROC AUC with one class present).

    Same role as ``sklearn.exceptions.UndefinedMetricWarning`` (both
    subclass ``UserWarning``)."""


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from ._kernels import metrics

    return metrics


_DUMMY_F8 = np.zeros(1, dtype=np.float64)


def _nblocks(n: int) -> int:
    return int(min(_MAX_BLOCKS, max(1, -(-n // _BLOCK_MIN))))


# ---------------------------------------------------------------- validation


def _column(a, name: str) -> np.ndarray:
    arr = _checks.to_array(a, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per sample), got shape {arr.shape}")
    return arr


def _check_length(n: int, arr: np.ndarray, name: str, ref: str) -> None:
    if arr.shape[0] != n:
        raise ValueError(
            f"{name} and {ref} must have the same number of samples, "
            f"got {ref} with {n} and {name} with {arr.shape[0]}"
        )


def _labels(a, name: str) -> np.ndarray:
    """Class labels: integers/booleans kept, integral floats -> int64,
    strings/objects kept (re-encoded later); NaN/fractions rejected."""
    arr = _column(a, name)
    kind = arr.dtype.kind
    if kind in "iub":
        return arr
    if kind == "f":
        if arr.size and not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValueError(f"{name} must hold class labels, got {arr[bad]} at index {bad}")
        if arr.size and not np.all(arr == np.floor(arr)):
            bad = int(np.flatnonzero(arr != np.floor(arr))[0])
            raise ValueError(
                f"{name} must hold class labels (integers), got the continuous value {arr[bad]} at index {bad}"
            )
        return arr.astype(np.int64)
    if kind in "USO":
        return arr
    raise TypeError(f"{name} must hold class labels, got dtype {arr.dtype}")


def _sample_weight(sample_weight, n: int, ref: str = "y_true"):
    if sample_weight is None:
        return None, False
    w = _column(sample_weight, "sample_weight")
    if w.dtype.kind not in "iufb":
        raise TypeError(f"sample_weight must be real numbers, got dtype {w.dtype}")
    _check_length(n, w, "sample_weight", ref)
    integral = w.dtype.kind in "iub"
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.size and not np.all(np.isfinite(w)):
        bad = int(np.flatnonzero(~np.isfinite(w))[0])
        raise ValueError(f"sample_weight must be finite, got {w[bad]} at index {bad}")
    return w, integral


def _scores(a, name: str = "y_score", ndim=(1,)) -> np.ndarray:
    arr = _checks.to_array(a, name)
    if arr.ndim == 2 and arr.shape[1] == 1 and 2 not in ndim:
        arr = arr[:, 0]
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    dtype = _checks.float_dtype(arr.dtype, name)
    if arr.dtype.kind == "f" and arr.dtype.itemsize == 2:
        arr = arr.astype(np.float32)
    if arr.dtype.kind != "f" or arr.dtype.itemsize > 8:
        arr = arr.astype(dtype)
    if arr.size:
        fin = np.isfinite(arr)
        if not fin.all():
            pos = np.unravel_index(int(np.flatnonzero(~fin.ravel())[0]), arr.shape)
            pos = tuple(int(p) for p in pos)
            what = "NaN" if np.isnan(arr[pos]) else "infinity"
            idx = pos[0] if len(pos) == 1 else pos
            raise ValueError(f"{name} contains {what} ({arr[pos]} at index {idx}); scores must be finite")
    return arr


def _native(a: np.ndarray) -> np.ndarray:
    return _checks.native(a, np.dtype(a.dtype.type).newbyteorder("="))


def _classes(y: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a 1-D label array (fast for small ints)."""
    if y.size == 0:
        return y[:0].copy()
    if y.dtype.kind == "b":
        c = np.bincount(y.view(np.uint8), minlength=2)
        return np.flatnonzero(c).astype(bool)
    if y.dtype.kind in "iu":
        lo, hi = int(y.min()), int(y.max())
        if lo >= 0 and hi < (1 << 20) and y.dtype.itemsize <= 8:
            c = np.bincount(y.astype(np.intp, copy=False), minlength=hi + 1)
            return np.flatnonzero(c).astype(y.dtype)
    try:
        return np.unique(y)
    except TypeError as exc:
        raise TypeError(f"labels must be of one comparable type (e.g. all str or all int): {exc}") from None


def _in_values(values: np.ndarray, x) -> bool:
    try:
        return bool(np.any(values == x))
    except Exception:  # incomparable types
        return False


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


# ----------------------------------------------------------------- curves


def _binary_arrays(y_true, y_score, sample_weight):
    y = _labels(y_true, "y_true")
    s = _scores(y_score)
    _check_length(y.shape[0], s, "y_score", "y_true")
    w, _ = _sample_weight(sample_weight, y.shape[0])
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
            UndefinedMetricWarning,
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
    if not ybin.any():
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
    average : {'macro', 'weighted', 'micro', None}
        Multi-class only (ignored for binary ``y_true``, as scikit-learn).
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
    y = _labels(y_true, "y_true")
    s = _scores(y_score, ndim=(1, 2))
    _check_length(y.shape[0], s, "y_score", "y_true")
    w, _ = _sample_weight(sample_weight, y.shape[0])
    classes = _classes(y)
    if average not in ("macro", "weighted", "micro", None):
        raise ValueError(f"average must be one of 'micro', 'macro', 'weighted', None, got {average!r}")
    if classes.size <= 2 and s.ndim == 1:
        if classes.size == 2 and not _in_values(classes, pos_label):
            raise ValueError(f"pos_label={pos_label!r} is not a valid label. It should be one of {classes.tolist()}")
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
    ybins = [y == c for c in classes]
    return _average_binary(_binary_ap, ybins, s, average, w)


def _binary_auc(score, ybin, w):
    if ybin.all() or not ybin.any():
        warnings.warn(
            "Only one class is present in y_true. ROC AUC score is not defined in that case.",
            UndefinedMetricWarning,
            stacklevel=4,
        )
        return math.nan
    if w is not None and not (w > 0).all():
        fps, tps, thr = _clf_curve(score, ybin, w)
        fpr, tpr, _ = _roc_from_counts(fps, tps, thr, True)
        return float(np.trapezoid(tpr, fpr))
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
    average : {'macro', 'weighted', 'micro', None}
        Multi-class averaging (macro: unweighted mean of the per-class
        AUCs; weighted: by class prevalence; micro: over the flattened
        one-vs-rest indicator).  Ignored for binary data.
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
    y = _labels(y_true, "y_true")
    s = _scores(y_score, ndim=(1, 2))
    _check_length(y.shape[0], s, "y_score", "y_true")
    w, _ = _sample_weight(sample_weight, y.shape[0])
    if average not in ("macro", "weighted", "micro", None):
        raise ValueError(f"average must be one of 'micro', 'macro', 'weighted', None, got {average!r}")
    classes = _classes(y)
    multiclass = classes.size > 2 or (s.ndim == 2 and s.shape[1] > 2)
    if not multiclass:
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
        partial = np.trapezoid(tpr, fpr)
        min_area, max_area = 0.5 * mf**2, mf
        return float(0.5 * (1 + (partial - min_area) / (max_area - min_area)))
    if max_fpr is not None and max_fpr != 1.0:
        raise ValueError(f"Partial AUC computation not available in multiclass setting, 'max_fpr' must be set to `None`, received `max_fpr={max_fpr}` instead")
    if multi_class not in ("ovo", "ovr"):
        raise ValueError(f"multi_class must be 'ovr' or 'ovo' for multiclass ROC AUC, got {multi_class!r}")
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
            f"Number of classes in y_true ({classes.size}) not equal to the number of columns in 'y_score' ({s.shape[1]})"
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


# ---------------------------------------------------------------- streaming


class CurveAccumulator:
    r"""Constant-memory, mergeable ROC / PR curve over ``K`` score thresholds.

    Keeps two float64 histograms of length ``K + 1`` (positive and negative
    weight per bin, bin ``b`` = number of thresholds ``<= score``), so the
    memory does not grow with the data; ``merge`` adds another worker's
    histograms; the state pickles.

    Parameters
    ----------
    num_thresholds : int, default 200
        ``K`` thresholds evenly spaced over ``score_range`` (both ends
        included).
    thresholds : array of shape (K,), optional
        Explicit increasing thresholds instead (e.g. quantiles of a sample,
        or ``logit`` space).
    score_range : (float, float), default (0.0, 1.0)
    pos_label : label, default 1

    Notes
    -----
    *What it computes*: exactly scikit-learn's metric on the *quantised*
    scores ``q(s) = max{t_k <= s}`` (scores below ``t_0`` form one level
    below all thresholds).  Equivalently, each curve point is the exact
    operating point "predict positive when score >= t_k", for the
    thresholds that split the data.  So ``roc_auc()`` equals
    ``fastloss.roc_auc(y, q(s))`` (to rounding) and likewise for
    ``average_precision`` and the curves.

    *Error bound*: only (positive, negative) pairs that share a bin are
    scored differently (as a tie, 1/2, instead of 0 or 1), so
    ``|roc_auc() - roc_auc(exact)| <= auc_error_bound() = sum_b P_b N_b /
    (2 P N)``, computed from the state.  AP has no comparably simple
    bound; with scores spread over many bins its error is small (checked
    in the tests), with all scores in a few bins it can be large: choose
    thresholds that match the score distribution.

    *Streaming*: the interface follows :class:`fastloss.LossAccumulator`
    (``update``, ``merge``, ``result``, pickle).  The curve metrics are not
    a ratio of sums, so they cannot use the ``(numerator, denominator)``
    protocol of ``fastloss.streaming.streamable``; this is the histogram
    form instead.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> acc = fastloss.CurveAccumulator(num_thresholds=101)
    >>> y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    >>> acc.update(y[:2], s[:2]).update(y[2:], s[2:]).roc_auc()
    0.75
    """

    def __init__(self, num_thresholds=200, *, thresholds=None, score_range=(0.0, 1.0), pos_label=1):
        if thresholds is None:
            k = _checks.check_int(num_thresholds, "num_thresholds", low=2)
            lo, hi = (float(v) for v in score_range)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"score_range must be two finite increasing numbers, got {score_range!r}")
            t = np.linspace(lo, hi, k)
        else:
            t = np.asarray(thresholds, dtype=np.float64)
            if t.ndim != 1 or t.size < 1:
                raise ValueError(f"thresholds must be a non-empty 1-D array, got shape {t.shape}")
            if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
                raise ValueError("thresholds must be finite and strictly increasing")
        self.thresholds = np.ascontiguousarray(t)
        self.pos_label = pos_label
        self.pos = np.zeros(t.size + 1)
        self.neg = np.zeros(t.size + 1)
        self.batches = 0

    def update(self, y_true, y_score, sample_weight=None) -> "CurveAccumulator":
        """Add one batch (binary labels, 1-D scores, optional weights)."""
        y, s, w = _binary_arrays(y_true, y_score, sample_weight)
        ybin = _is_pos(y, self.pos_label).view(np.uint8)
        s = np.ascontiguousarray(s, dtype=np.float64)
        has_w = w is not None
        pos = np.zeros_like(self.pos)
        neg = np.zeros_like(self.neg)
        _kernels().bin_hist(s, ybin, w if has_w else _DUMMY_F8, has_w, self.thresholds, pos, neg)
        self.pos += pos
        self.neg += neg
        self.batches += 1
        return self

    def merge(self, other: "CurveAccumulator") -> "CurveAccumulator":
        """Add another accumulator's state (same thresholds)."""
        if not isinstance(other, CurveAccumulator):
            raise TypeError(f"other must be a CurveAccumulator, got {type(other).__name__}")
        if not np.array_equal(other.thresholds, self.thresholds):
            raise ValueError("cannot merge CurveAccumulators with different thresholds")
        self.pos += other.pos
        self.neg += other.neg
        self.batches += other.batches
        return self

    def _counts(self):
        """(fps, tps, thresholds) over non-empty bins, highest first."""
        nz = np.flatnonzero((self.pos != 0) | (self.neg != 0))[::-1]
        levels = np.r_[-np.inf, self.thresholds]
        return np.cumsum(self.neg[nz]), np.cumsum(self.pos[nz]), levels[nz]

    def roc_curve(self, *, drop_intermediate=True):
        """``(fpr, tpr, thresholds)`` as :func:`roc_curve` on quantised scores."""
        return _roc_from_counts(*self._counts(), drop_intermediate, stacklevel=3)

    def precision_recall_curve(self, *, drop_intermediate=False):
        """``(precision, recall, thresholds)`` as :func:`precision_recall_curve`."""
        return _pr_from_counts(*self._counts(), drop_intermediate, stacklevel=3)

    def roc_auc(self) -> float:
        p, n = self.pos.sum(), self.neg.sum()
        if p == 0 or n == 0:
            warnings.warn(
                "Only one class is present in y_true. ROC AUC score is not defined in that case.",
                UndefinedMetricWarning,
                stacklevel=2,
            )
            return math.nan
        below = np.r_[0.0, np.cumsum(self.neg)[:-1]]
        return float(np.sum(self.pos * (below + 0.5 * self.neg)) / (p * n))

    def auc_error_bound(self) -> float:
        """Upper bound of ``|roc_auc() - exact AUC|``: ``sum_b P_b N_b / (2 P N)``."""
        p, n = self.pos.sum(), self.neg.sum()
        if p == 0 or n == 0:
            return math.nan
        return float(np.sum(self.pos * self.neg) / (2 * p * n))

    def average_precision(self) -> float:
        p = self.pos.sum()
        if p == 0:
            warnings.warn(
                "No positive class found in y_true, recall is set to one for all thresholds.",
                UserWarning,
                stacklevel=2,
            )
            return 0.0
        tp = np.cumsum(self.pos[::-1])[::-1]
        fp = np.cumsum(self.neg[::-1])[::-1]
        den = tp + fp
        prec = np.where(den != 0, tp / np.where(den != 0, den, 1.0), 0.0)
        return float(max(0.0, np.sum(self.pos * prec) / p))

    def result(self) -> dict:
        """``{'roc_auc', 'average_precision', 'auc_error_bound', 'count'}``."""
        return {
            "roc_auc": self.roc_auc(),
            "average_precision": self.average_precision(),
            "auc_error_bound": self.auc_error_bound(),
            "count": float(self.pos.sum() + self.neg.sum()),
        }

    @property
    def count(self) -> float:
        return float(self.pos.sum() + self.neg.sum())

    def __getstate__(self):
        return {
            "thresholds": self.thresholds,
            "pos_label": self.pos_label,
            "pos": self.pos,
            "neg": self.neg,
            "batches": self.batches,
        }

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"CurveAccumulator(num_thresholds={self.thresholds.size}, batches={self.batches}, count={self.count:g})"


__all__ = [
    "confusion_matrix",
    "precision_recall_fscore",
    "average_precision",
    "roc_auc",
    "roc_curve",
    "precision_recall_curve",
    "class_weights",
    "CurveAccumulator",
    "UndefinedMetricWarning",
]
