"""Calibration: expected calibration error and reliability diagrams.

Common arguments
----------------
``probs_or_logits``
    * ``(N, C)``, C >= 2: per-class probabilities (``logits=False``, the
      default) or logits (``logits=True``; a softmax is applied in the same
      fused pass).  The *top-label* confidence is used: the confidence of
      sample i is :math:`\\max_c p_{ic}` and it is correct when the first
      arg-max equals ``labels[i]`` (as torchmetrics' multiclass calibration
      error and Guo et al. 2017).  Rows are not required to sum to 1.
    * ``(N,)``: binary; the probability of the positive class (or its logit
      with ``logits=True``, turned into a probability by a sigmoid).  Here
      the confidence is that probability and the "accuracy" of a bin is the
      fraction of positives in it, as scikit-learn's ``calibration_curve``
      and torchmetrics' ``binary_calibration_error``.  For the top-label
      ECE of a binary classifier pass ``np.stack([1 - p, p], axis=1)``.

    Probabilities vs logits is never guessed: it is the ``logits`` keyword.
    With ``logits=False`` values outside [0, 1] (or NaN) are a ValueError
    that suggests ``logits=True``.  float32/float64 are read natively
    (float32 probabilities are not upcast); results are float64 internally.
``labels``
    ``(N,)`` integers: class indices in [0, C), or 0/1 in the binary case.
``n_bins``
    Number of bins (>= 1), default 15.
``strategy``
    ``"uniform"``: edges ``np.linspace(0, 1, n_bins + 1)``;
    ``"quantile"``: edges ``np.percentile(conf, np.linspace(0, 1, n_bins +
    1) * 100)``, so that bins hold about the same number of samples (bins
    may coincide when confidences are tied).

Binning
-------
Exactly scikit-learn's ``calibration_curve``: bin b holds the confidences
:math:`e_b < c \\le e_{b+1}` (right-closed), the first bin also holds
:math:`c = e_0`; i.e. the bin index is ``np.searchsorted(edges[1:-1], c)``.
So a confidence of exactly 1.0 falls in the last bin and 0.0 in the first.
(torchmetrics' ``_binning_bucketize`` is left-closed and gives 1.0 a bin of
its own; the two agree whenever no confidence lies exactly on an edge.)
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._core import checks as _checks
from .._core.consts import BIN_BINARY, BIN_LOGITS, BIN_PROBS, CHUNK, SERIAL_BELOW_ROWS

NORMS = ("l1", "l2", "max")
STRATEGIES = ("uniform", "quantile")


def _kernels():
    """The kernel module, imported on first use (importing fastloss must not
    import Numba); then this function rebinds itself to a plain return."""
    global _kernels
    from .._kernels.metrics import ood

    _kernels = lambda: ood  # noqa: E731
    return ood


class ReliabilityDiagram(NamedTuple):
    """Per-bin data of a reliability diagram (``n_bins`` bins).

    ``edges`` ``(n_bins + 1,)`` float64; ``confidence`` ``(n_bins,)`` mean
    confidence of each bin; ``accuracy`` ``(n_bins,)`` fraction correct (of
    positives, binary) in each bin -- both NaN for an empty bin; ``count``
    ``(n_bins,)`` int64 number of samples per bin.
    """

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def _confidences(probs_or_logits, labels, logits):
    """(conf 1-D float32/float64 contiguous native, hit uint8, dtype)."""
    logits = _checks.check_bool(logits, "logits")
    what = "logits" if logits else "probs_or_logits"
    x = _checks.as_float(probs_or_logits, "probs_or_logits")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    if x.ndim not in (1, 2):
        raise ValueError(f"probs_or_logits must have shape (N, C) or (N,) (binary), got shape {x.shape}")
    n = x.shape[0]
    if n == 0:
        raise ValueError("probs_or_logits is empty: need at least one sample")
    lab = _checks.as_int_array(labels, "labels")
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(
            f"labels must have shape ({n},) to match probs_or_logits of shape {x.shape}, got shape {lab.shape}"
        )
    if x.ndim == 2 and x.shape[1] < 2:
        raise ValueError(
            f"probs_or_logits of shape (N, C) needs C >= 2 classes, got shape {x.shape}; "
            "pass binary positive-class probabilities as shape (N,)"
        )
    n_classes = 2 if x.ndim == 1 else x.shape[1]
    _checks.check_labels(lab, "labels", n_classes)
    if not logits:
        lo, hi = np.min(x), np.max(x)
        if np.isnan(lo) or np.isnan(hi):
            raise ValueError("probs_or_logits contains NaN")
        if lo < 0 or hi > 1:
            raise ValueError(
                f"probs_or_logits must be probabilities in [0, 1] (got values in [{lo}, {hi}]); "
                "pass logits=True for logits"
            )
        if x.ndim == 2:
            # As multi-class roc_auc (scikit-learn's np.allclose rule): rows
            # that are not distributions give a meaningless confidence.
            sums = x.sum(axis=1, dtype=np.float64)
            off = ~np.isclose(sums, 1.0)
            if off.any():
                i = int(np.flatnonzero(off)[0])
                raise ValueError(
                    f"probs_or_logits rows must be probabilities that sum to 1 over the classes, row {i} sums "
                    f"to {sums[i]}; pass logits=True for logits, or normalise the rows"
                )
    if x.ndim == 1:
        hit = (lab == 1).astype(np.uint8)
        if logits:
            z = x.astype(np.float64)
            conf = np.empty(n)
            pos = z >= 0
            conf[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
            ez = np.exp(z[~pos])
            conf[~pos] = ez / (1.0 + ez)
        else:
            conf = _checks.native(x, dtype)
    else:
        from .ood import _row_blocks

        conf = np.empty(n, dtype=np.float64)
        hit = np.empty(n, dtype=np.uint8)
        lab64 = np.ascontiguousarray(lab, dtype=np.int64)
        k = _kernels()
        for lo, hi, blk in _row_blocks(x, dtype):
            k.confidence_hit(logits, dtype == np.float32, blk, lab64[lo:hi], conf[lo:hi], hit[lo:hi])
    if logits:
        bad = ~np.isfinite(conf)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what} has a NaN or +inf logit in sample {i}: its probability is undefined")
    return conf, hit, dtype


_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)
_ndarray = np.ndarray
# np.isclose(row_sum, 1.0)'s tolerance (atol + rtol * 1), as it computes it.
_ROW_TOL = 1e-08 + 1e-05 * 1.0
_TAGS = {m: (0,) * m for m in (BIN_PROBS, BIN_LOGITS, BIN_BINARY)}  # bin_rows' compile-time mode


def _chunk(n_bins: int) -> int:
    # Chunks are fixed by (n, n_bins), never by the thread count, so the
    # summed partials are bitwise reproducible; a larger chunk for many bins
    # bounds the partials' memory to ~n/16 values.  4096 samples, not CHUNK:
    # a batch of 10^5 is then 25 chunks, which two threads share evenly
    # (7 chunks of CHUNK split 4:3; 17% slower, measured on 10^5 x 10).
    return max(CHUNK // 4, 16 * n_bins)


def _fast_bins(x, labels, logits, edges, count, conf_sum, hit_sum):
    """The common update in one compiled pass: add the uniform bins of
    ``x`` into ``count``/``conf_sum``/``hit_sum`` and return its dtype, or
    return None having changed nothing (then :func:`_confidences` and
    :func:`_binned` do it in NumPy, and raise the errors).

    Taken for plain C-contiguous NumPy arrays: native float32/float64
    ``(N, C)`` probabilities or logits, or ``(N,)`` probabilities, N >= 1,
    integer labels ``(N,)``.  The kernel (``bin_rows``) makes the general
    path's checks (labels in range, probabilities in [0, 1], row sums 1,
    finite confidences) in the same pass and adds nothing when one fails,
    so every bad input still gets the general path's error; results are the
    general path's bit for bit (same chunks, same order of summation).
    """
    if type(x) is not _ndarray or type(labels) is not _ndarray:
        return None
    d = x.dtype
    if (d is not _F32 and d is not _F64) or not x.flags.c_contiguous:
        return None
    if labels.dtype is not _I64:
        if labels.dtype.kind not in "iu":
            return None
        labels = labels.astype(np.int64)  # uint64 >= 2**63 wraps negative: flagged, general path
    n = x.shape[0]
    if n == 0 or labels.shape != (n,) or not labels.flags.c_contiguous:
        return None
    if x.ndim == 2:
        C = x.shape[1]
        if C < 2:
            return None
        mode = BIN_LOGITS if logits else BIN_PROBS
    elif x.ndim == 1 and not logits:
        C = 1
        x = x.reshape(n, 1)
        mode = BIN_BINARY
    else:
        return None
    # Row sums are summed in another order than NumPy's; their difference is
    # below C * 2**-52 (each row sums to ~1): rows closer than 4x that to the
    # tolerance go to the general path, which decides them with NumPy.
    tol = _ROW_TOL - 4.0 * C * 2.0**-52
    k = _kernels().bin_rows
    if x.size < SERIAL_BELOW_ROWS:
        k = k.serial  # (jit.launch's rule, without its call: small batches are the per-call overhead)
    status = k(_TAGS[mode], d is _F32, x, labels, tol, edges, _chunk(edges.size - 1), count, conf_sum, hit_sum)
    return d if status == 0 else None


def _binned(probs_or_logits, labels, n_bins, strategy, logits):
    n_bins = _checks.check_int(n_bins, "n_bins", low=1)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
    if strategy == "uniform":
        logits = _checks.check_bool(logits, "logits")
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        count = np.zeros(n_bins, dtype=np.int64)
        conf_sum = np.zeros(n_bins, dtype=np.float64)
        hit_sum = np.zeros(n_bins, dtype=np.int64)
        dtype = _fast_bins(probs_or_logits, labels, logits, edges, count, conf_sum, hit_sum)
        if dtype is not None:
            return edges, count, conf_sum, hit_sum, probs_or_logits.shape[0], dtype
    conf, hit, dtype = _confidences(probs_or_logits, labels, logits)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(conf, np.linspace(0, 1, n_bins + 1) * 100).astype(np.float64)
    n = conf.size
    chunk = _chunk(n_bins)
    nchunks = (n + chunk - 1) // chunk
    count = np.zeros((nchunks, n_bins), dtype=np.int64)
    conf_sum = np.zeros((nchunks, n_bins), dtype=np.float64)
    hit_sum = np.zeros((nchunks, n_bins), dtype=np.int64)
    _kernels().bin_stats(strategy == "uniform", conf, hit, edges, chunk, count, conf_sum, hit_sum)
    return edges, count.sum(axis=0), conf_sum.sum(axis=0), hit_sum.sum(axis=0), n, dtype


def reliability_diagram(probs_or_logits, labels, *, n_bins=15, strategy="uniform", logits=False):
    """Reliability-diagram data: per-bin mean confidence, accuracy and count.

    See the module docstring for the arguments and the binning.  Returns a
    :class:`ReliabilityDiagram` ``(edges, confidence, accuracy, count)``;
    empty bins have ``count == 0`` and NaN confidence and accuracy.  On the
    non-empty bins ``(accuracy, confidence)`` equals scikit-learn's
    ``calibration_curve(y, conf, n_bins=n_bins, strategy=strategy)``, with
    ``y`` the correctness (or the binary labels) and ``conf`` the
    confidences.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> d = fastloss.reliability_diagram(np.array([0.1, 0.2, 0.8, 1.0]), np.array([0, 1, 1, 1]), n_bins=2)
    >>> d.count, d.confidence, d.accuracy
    (array([2, 2]), array([0.15, 0.9 ]), array([0.5, 1. ]))
    """
    edges, count, conf_sum, hit_sum, n, dtype = _binned(probs_or_logits, labels, n_bins, strategy, logits)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(count > 0, conf_sum / count, np.nan)
        acc = np.where(count > 0, hit_sum / count, np.nan)
    return ReliabilityDiagram(edges, conf, acc, count)


def expected_calibration_error(
    probs_or_logits, labels, *, n_bins=15, norm="l1", strategy="uniform", logits=False
):
    r"""Expected calibration error (Naeini et al. 2015; Guo et al. 2017).

    With bins :math:`B_b` (see the module docstring), :math:`n_b = |B_b|`,
    :math:`\mathrm{acc}_b` and :math:`\mathrm{conf}_b` the bin's accuracy
    and mean confidence:

    * ``norm="l1"`` (ECE): :math:`\sum_b \frac{n_b}{N} |\mathrm{acc}_b - \mathrm{conf}_b|`
    * ``norm="l2"``: :math:`\sqrt{\sum_b \frac{n_b}{N} (\mathrm{acc}_b - \mathrm{conf}_b)^2}`
      (torchmetrics' ``norm="l2"``)
    * ``norm="max"`` (MCE): :math:`\max_{b: n_b > 0} |\mathrm{acc}_b - \mathrm{conf}_b|`

    ``probs_or_logits`` ``(N, C)`` or ``(N,)`` (binary), ``labels``
    ``(N,)``; ``logits=True`` for logits.  Returns a NumPy scalar of the
    float dtype of ``probs_or_logits``.  The norms are torchmetrics'
    ``calibration_error``; the binning is scikit-learn's (right-closed bins,
    1.0 in the last bin), which differs from torchmetrics only for
    confidences lying exactly on a bin edge.  Per-bin sums are accumulated in
    float64 over fixed chunks: the result does not depend on the thread
    count.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    >>> # confidences 0.9, 0.6, 0.7 (all in the bin (0.5, 1]), correct: yes, no, yes
    >>> round(float(fastloss.expected_calibration_error(p, np.array([0, 1, 1]), n_bins=2)), 4)
    0.0667
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
    edges, count, conf_sum, hit_sum, n, dtype = _binned(probs_or_logits, labels, n_bins, strategy, logits)
    nz = count > 0
    conf = conf_sum[nz] / count[nz]
    acc = hit_sum[nz] / count[nz]
    gap = np.abs(acc - conf)
    if norm == "l1":
        value = math.fsum(count[nz] * gap) / n
    elif norm == "l2":
        value = math.sqrt(math.fsum(count[nz] * gap * gap) / n)
    else:
        value = float(gap.max())
    return dtype.type(value)


def plot_reliability_diagram(
    probs_or_logits, labels, *, n_bins=15, strategy="uniform", logits=False, ax=None, show_counts=True
):
    """Draw a reliability diagram with matplotlib and return the axes.

    One bar per non-empty bin, spanning the bin, of height its accuracy (the
    fraction of positives, binary), the mean confidence of each bin as a
    dot, and the diagonal of perfect calibration; the title gives the ECE.
    Arguments as :func:`reliability_diagram`; ``ax``: matplotlib axes to draw
    into (default: a new figure).  The per-bin sample counts are shown by the
    marker areas and, with ``show_counts=True`` (default), as a grey
    histogram on a right-hand axis (``ax.figure.axes[-1]``).  matplotlib is imported only here; without
    it this raises ImportError.

    Examples
    --------
    >>> import numpy as np, fastloss, matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = fastloss.plot_reliability_diagram(np.array([0.1, 0.8, 0.9]), np.array([0, 1, 1]), n_bins=5)
    >>> len(ax.patches)  # one bar per non-empty bin: (0, .2], (.6, .8], (.8, 1]
    3
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plot_reliability_diagram needs matplotlib (pip install matplotlib); "
            "reliability_diagram() returns the same data without it"
        ) from exc
    d = reliability_diagram(probs_or_logits, labels, n_bins=n_bins, strategy=strategy, logits=logits)
    ece = expected_calibration_error(probs_or_logits, labels, n_bins=n_bins, strategy=strategy, logits=logits)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    nz = d.count > 0
    left = d.edges[:-1][nz]
    width = np.diff(d.edges)[nz]
    ax.bar(left, d.accuracy[nz], width=width, align="edge", edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    # Marker area proportional to the bin's sample count (issue 16): a bin of
    # 10 samples must not look as important as one of 13,000.  The counts are
    # also drawn as a histogram under the bars, on a right-hand axis.
    size = 9.0 + 150.0 * d.count[nz] / max(1, int(d.count.max()))
    ax.scatter(d.confidence[nz], d.accuracy[nz], s=size, color="C3", zorder=3, label="mean confidence (size: count)")
    if show_counts:
        hist = ax.twinx()
        hist.bar(left, d.count[nz], width=width, align="edge", color="gray", alpha=0.25)
        hist.set_ylim(0, 4 * max(1, int(d.count.max())))  # histogram in the lower quarter
        hist.set_ylabel("samples per bin")

    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy" if np.ndim(probs_or_logits) == 2 else "fraction of positives")
    ax.set_title(f"ECE = {float(ece):.4f} ({int(nz.sum())} non-empty of {d.count.size} bins)")
    ax.legend(loc="upper left", fontsize="small")
    return ax




def calibration_curve(y_true, y_prob, *, pos_label=None, n_bins=5, strategy="uniform"):
    r"""True and predicted probabilities per bin (scikit-learn's
    ``calibration_curve``), for a reliability diagram of a binary classifier.

    Parameters
    ----------
    y_true : array of shape (N,)
        Binary labels ({0, 1}, {-1, 1}, or two labels with ``pos_label``).
    y_prob : array of shape (N,)
        Probabilities of the positive class, in [0, 1].
    pos_label : label, optional
    n_bins : int >= 1
    strategy : {'uniform', 'quantile'}
        Binning as the module docstring (right-closed bins).

    Returns
    -------
    prob_true, prob_pred : ndarray of shape (M,)
        Fraction of positives and mean probability of each non-empty bin.

    Notes
    -----
    Equals ``sklearn.calibration.calibration_curve``; the per-bin counts
    (which it does not return) are :func:`reliability_diagram`'s ``count``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> fastloss.calibration_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.6, 0.9]), n_bins=2)
    (array([0., 1.]), array([0.25, 0.75]))
    """
    from ._common import _check_length, _classes, _labels, _native
    from .ranking import _curve_pos_label, _is_pos

    y = _labels(y_true, "y_true")
    p = _checks.to_array(y_prob, "y_prob")
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.ndim != 1:
        raise ValueError(f"y_prob must be 1-D, got shape {p.shape}")
    dtype = _checks.float_dtype(p.dtype, "y_prob")
    _check_length(y.shape[0], p, "y_prob", "y_true")
    pos = _curve_pos_label(y, pos_label)
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
        raise ValueError("y_prob has values outside [0, 1].")
    classes = _classes(y)
    if classes.size > 2:
        raise ValueError(f"Only binary classification is supported. Provided labels {classes}.")
    if strategy not in STRATEGIES:
        raise ValueError("Invalid entry to 'strategy' input. Strategy must be either 'quantile' or 'uniform'.")
    n_bins = _checks.check_int(n_bins, "n_bins", low=1)
    # One pass of the binning kernel of reliability_diagram over the
    # probabilities as they are (no per-call conversion passes).
    conf = _native(np.ascontiguousarray(p, dtype=dtype))
    hit = np.ascontiguousarray(_is_pos(y, pos)).view(np.uint8)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(conf, np.linspace(0, 1, n_bins + 1) * 100).astype(np.float64)
    n = conf.size
    chunk = max(CHUNK, 16 * n_bins)
    nchunks = max(1, (n + chunk - 1) // chunk)
    count = np.zeros((nchunks, n_bins), dtype=np.int64)
    conf_sum = np.zeros((nchunks, n_bins), dtype=np.float64)
    hit_sum = np.zeros((nchunks, n_bins), dtype=np.int64)
    _kernels().bin_stats(strategy == "uniform", conf, hit, edges, chunk, count, conf_sum, hit_sum)
    count, conf_sum, hit_sum = count.sum(axis=0), conf_sum.sum(axis=0), hit_sum.sum(axis=0)
    nz = count != 0
    return hit_sum[nz] / count[nz], conf_sum[nz] / count[nz]


__all__ = [
    "expected_calibration_error",
    "reliability_diagram",
    "plot_reliability_diagram",
    "calibration_curve",
]
