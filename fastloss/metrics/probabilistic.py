"""Scores of predicted probabilities: log loss and the Brier score.

scikit-learn's semantics (``log_loss``, ``brier_score_loss``): labels are
encoded against the sorted classes of ``labels`` (or of ``y_true``), a 1-D
``y_proba`` is the probability of the second class of a binary problem,
probabilities are clipped to ``[eps, 1 - eps]`` (``eps`` of their dtype) for
the log loss, rows that do not sum to 1 give a ``UserWarning``, values
outside ``[0, 1]`` are a ``ValueError``.  One fused Numba pass over the
``(N, K)`` array computes the loss, the range check and the row sums, with
float64 accumulation.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._core import checks as _checks
from .._core.consts import CHUNK
from ._common import _check_length, _classes, _dense, _labels, _native, _sample_weight, _scores

_LOG_LOSS_MODE = 0  # == _kernels.metrics.probabilistic.LOG_LOSS (not imported: no Numba at import)


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.metrics import probabilistic

    return probabilistic


def _encode(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    codes = np.searchsorted(classes, y)
    return np.ascontiguousarray(codes, dtype=np.int64)


def _multiclass_codes(y, labels):
    """(codes, classes) as scikit-learn's LabelBinarizer-based encoding."""
    if labels is not None:
        lab = np.asarray(labels)
        if lab.ndim != 1:
            raise ValueError(f"labels must be 1-D, got shape {lab.shape}")
        classes = _classes(lab)
        if classes.shape != lab.shape or not np.all(classes == lab):
            warnings.warn(
                f"Labels passed were {labels}. But this function assumes labels are ordered lexicographically. "
                f"Pass the ordered labels={classes.tolist()} and ensure that the columns of y_prob correspond "
                "to this ordering.",
                UserWarning,
                stacklevel=4,
            )
        inside = np.isin(y, classes)
        if not inside.all():
            raise ValueError(
                f"y_true contains values {set(y[~inside].tolist())} not belonging to the passed labels {labels}."
            )
    else:
        classes = _classes(y)
    if classes.shape[0] == 1:
        if labels is None:
            raise ValueError(
                f"y_true contains only one label ({classes[0]}). Please provide the list of all expected class "
                "labels explicitly through the labels argument."
            )
        raise ValueError(f"The labels array needs to contain at least two labels, got {classes}.")
    if classes.shape[0] == 0:
        raise ValueError("y_true is empty: need at least one sample")
    return _encode(y, classes), classes


def _run(mode, P, codes, w, normalize):
    P = _native(np.ascontiguousarray(P))
    if P.ndim == 1:
        P = P.reshape(-1, 1)
    n, k = P.shape
    rows = max(1, CHUNK // max(k, 1))
    nch = max(1, -(-n // rows))
    loss = np.zeros(nch)
    lo = np.full(nch, np.inf)
    hi = np.full(nch, -np.inf)
    bad = np.zeros(nch, dtype=np.int64)
    eps = float(np.finfo(P.dtype).eps)
    has_w = w is not None
    _kernels().prob_rows(mode, P, codes, w if has_w else np.zeros(1), has_w, eps, math.sqrt(eps), rows,
                         loss, lo, hi, bad)
    total = math.fsum(loss)  # exact sum of the chunk partials: thread-count independent
    return total, float(lo.min()), float(hi.max()), int(bad.sum())


def _range_checks(vmin, vmax, below="lower"):
    if vmax > 1:
        raise ValueError(f"y_prob contains values greater than 1: {vmax}")
    if vmin < 0:
        raise ValueError(f"y_prob contains values {below} than 0: {vmin}")


def _average(total, n, w, normalize):
    if not normalize:
        return total
    if w is None:
        return total / n if n else math.nan
    s = float(w.sum())
    if s == 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return total / s


def _inputs(y_true, y_proba, sample_weight):
    arr = _checks.to_array(_dense(y_true), "y_true")
    if arr.ndim == 2 and arr.shape[1] > 1:
        # A label indicator matrix, as scikit-learn's LabelBinarizer takes it:
        # column k is class k (bool (N, K) here).
        from .confusion import _indicator

        y = _indicator(arr, "y_true")
    else:
        y = _labels(arr, "y_true")
    P = _scores(y_proba, "y_proba", ndim=(1, 2))
    _check_length(y.shape[0], P, "y_proba", "y_true", first=True)
    w, _ = _sample_weight(sample_weight, y.shape[0])
    return y, P, w


def _indicator_rows(mode, Y, P, w):
    """(total, n) for a label indicator ``Y`` (N, K) whose rows are not all
    one-hot (multilabel rows, or rows without any label): the per-row sums
    of scikit-learn's formulas over all K columns, in float64 NumPy."""
    Pf = np.asarray(P, dtype=np.float64)
    if Pf.ndim == 1 or Pf.shape[1] == 1:
        Pf = Pf.reshape(-1, 1)
        Pf = np.concatenate([1.0 - Pf, Pf], axis=1)
    eps = float(np.finfo(P.dtype).eps)
    if Pf.size:
        _range_checks(float(P.min()), float(P.max()))
        if not np.all(np.abs(Pf.sum(axis=1) - 1.0) <= 1e-8 + math.sqrt(eps)):
            warnings.warn("The y_prob values do not sum to one. Make sure to pass probabilities.", UserWarning,
                          stacklevel=4)
    if mode == _LOG_LOSS_MODE:
        rows = -np.sum(np.where(Y, np.log(np.clip(Pf, eps, 1.0 - eps)), 0.0), axis=1)
    else:
        rows = np.sum((Y - Pf) ** 2, axis=1)
    if w is not None:
        rows = rows * w
    return math.fsum(rows), Y.shape[0]


def _multiclass(mode, y, P, w, labels, normalize):
    if y.ndim == 2:  # label indicator matrix
        if labels is not None:
            raise ValueError(
                "labels cannot be combined with a label indicator y_true (scikit-learn: The object was not "
                "fitted with multilabel input); column k of y_true is class k"
            )
        k = 2 if P.ndim == 1 or P.shape[1] == 1 else P.shape[1]
        if y.shape[1] != k:
            raise ValueError(
                f"y_true and y_prob contain different number of classes: {y.shape[1]} vs {k}. Please provide "
                f"the true labels explicitly through the labels argument. Classes found in y_true: "
                f"{np.arange(y.shape[1])}"
            )
        if y.shape[0] and np.all(np.count_nonzero(y, axis=1) == 1):
            codes = np.ascontiguousarray(np.argmax(y, axis=1), dtype=np.int64)  # one-hot: the fused kernel
            total, vmin, vmax, nbad = _run(mode, P, codes, w, normalize)
            _range_checks(vmin, vmax)
            if nbad:
                warnings.warn("The y_prob values do not sum to one. Make sure to pass probabilities.", UserWarning,
                              stacklevel=3)
            return total, y.shape[0]
        return _indicator_rows(mode, y, P, w)
    codes, classes = _multiclass_codes(y, labels)
    k = 2 if P.ndim == 1 or P.shape[1] == 1 else P.shape[1]
    if classes.shape[0] != k:
        if labels is None:
            raise ValueError(
                f"y_true and y_prob contain different number of classes: {classes.shape[0]} vs {k}. Please provide "
                f"the true labels explicitly through the labels argument. Classes found in y_true: {classes}"
            )
        raise ValueError(f"The number of classes in labels is different from that in y_prob. Classes found in labels: {classes}")
    total, vmin, vmax, nbad = _run(mode, P, codes, w, normalize)
    _range_checks(vmin, vmax)
    if nbad:
        warnings.warn("The y_prob values do not sum to one. Make sure to pass probabilities.", UserWarning, stacklevel=3)
    return total, y.shape[0]


def log_loss(y_true, y_proba, *, normalize=True, sample_weight=None, labels=None):
    r"""Cross-entropy of predicted class probabilities (negative log-likelihood).

    ``L = -sum_i w_i log clip(P[i, y_i], eps, 1 - eps) / sum_i w_i``.

    Parameters
    ----------
    y_true : array of shape (N,), or label indicator matrix (N, K)
        Class labels (encoded against the sorted classes), or 0/1
        indicators (column k = class k; a row with several 1s sums their
        terms, as scikit-learn).
    y_proba : array of shape (N, K) or (N,)
        Probabilities, columns in sorted class order; 1-D: of the second
        class of a binary problem.
    normalize : bool
        False: the (weighted) sum instead of the mean.
    sample_weight : array of shape (N,), optional
    labels : array of shape (K,), optional
        All classes (when ``y_true`` misses some).

    Returns
    -------
    float

    Notes
    -----
    Equals ``sklearn.metrics.log_loss`` (errors and warnings too).  float32
    probabilities are clipped with float32's ``eps`` and summed in float64
    (scikit-learn sums in float32).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(fastloss.log_loss(np.array([0, 1, 1]), np.array([0.2, 0.7, 0.9])), 6)
    0.228393
    """
    normalize = _checks.check_bool(normalize, "normalize")
    y, P, w = _inputs(y_true, y_proba, sample_weight)
    from .._kernels.metrics.probabilistic import LOG_LOSS

    total, n = _multiclass(LOG_LOSS, y, P, w, labels, normalize)
    return float(_average(total, n, w, normalize))


def brier_score(y_true, y_proba, *, sample_weight=None, pos_label=None, labels=None, scale_by_half="auto"):
    r"""Brier score: mean squared distance between the one-hot label and the
    predicted probabilities.

    ``B = s * sum_i w_i sum_k (1[y_i = k] - P[i, k])^2 / sum_i w_i`` with
    ``s = 1/2`` for binary problems by default (then ``B = mean (y - p)^2``).

    Parameters
    ----------
    y_true : array of shape (N,), or label indicator matrix (N, K)
        Class labels; indicators (column k = class k) with 2-D ``y_proba``.
    y_proba : array of shape (N,) or (N, K)
        1-D: probability of ``pos_label`` (binary); 2-D: per class, sorted
        class order.
    sample_weight : array of shape (N,), optional
    pos_label : label, optional
        Binary only; default 1 for {0, 1}/{-1, 1} labels, else the greater
        label (strings need it).
    labels : array of shape (K,), optional
        Classes of a 2-D ``y_proba``.
    scale_by_half : bool or 'auto'
        'auto': halve for 1-D or two-column ``y_proba``.

    Returns
    -------
    float

    Notes
    -----
    Equals ``sklearn.metrics.brier_score_loss``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(fastloss.brier_score(np.array([0, 1, 1]), np.array([0.2, 0.7, 1.0])), 6)
    0.043333
    """
    if not (scale_by_half == "auto" or isinstance(scale_by_half, (bool, np.bool_))):
        raise ValueError(f"scale_by_half must be a bool or 'auto', got {scale_by_half!r}")
    y, P, w = _inputs(y_true, y_proba, sample_weight)
    from .._kernels.metrics.probabilistic import BRIER

    binary = P.ndim == 1 or P.shape[1] == 1
    if binary:
        if y.ndim != 1:
            raise ValueError(f"y_true must be 1-D (one value per sample) when y_proba is 1-D, got shape {y.shape}")
        classes = _classes(y)
        if classes.shape[0] > 2:
            kind = "multiclass"
            raise ValueError(
                f"The type of the target inferred from y_true is {kind} but should be binary according to the "
                "shape of y_prob."
            )
        P1 = P.reshape(-1)
        if P1.size:
            vmin, vmax = float(P1.min()), float(P1.max())
            _range_checks(vmin, vmax, below="less")
        if pos_label is None:
            ok = classes.dtype.kind not in "OUS" and any(
                classes.size == len(ref) and np.array_equal(classes, ref) for ref in ([0, 1], [-1, 1], [0], [-1], [1])
            )
            if ok:
                pos_label = 1
            elif classes.dtype.kind in "OUS":
                shown = ", ".join(repr(c) for c in classes.tolist())
                raise ValueError(
                    f"y_true takes value in {{{shown}}} and pos_label is not specified: either make y_true take "
                    "value in {0, 1} or {-1, 1} or pass pos_label explicitly."
                )
            else:
                pos_label = classes[-1]
        codes = np.ascontiguousarray(y == pos_label, dtype=np.int64)
        total, _, _, _ = _run(BRIER, P1, codes, w, True)
        n = y.shape[0]
    else:
        total, n = _multiclass(BRIER, y, P, w, labels, True)
    if scale_by_half == "auto":
        scale_by_half = binary or P.shape[1] < 3
    score = _average(total, n, w, True)
    return float(score * 0.5 if scale_by_half else score)


__all__ = ["log_loss", "brier_score"]
