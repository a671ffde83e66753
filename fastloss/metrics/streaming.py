"""Constant-memory, mergeable curve state (ROC / PR over fixed thresholds)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._core import checks as _checks
from ._common import _DUMMY_F8, _undefined
from .ranking import _binary_arrays, _is_pos, _pr_from_counts, _roc_from_counts



def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.metrics import streaming

    return streaming


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
        Suits probabilities.  Scores outside ``[t_0, t_{K-1}]`` share the
        end bins (as if clipped): ``update`` counts them in ``outside`` and
        warns, since the metrics are then those of the clipped scores
        (logits into the default range: AP 0.22 instead of 0.29 in one
        trial).  Give logits a range such as ``(-20, 20)`` or explicit
        ``thresholds``.
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
    protocol of ``fastloss._core.streaming.streamable``; this is the histogram
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
        self.outside = 0  # scores seen outside [thresholds[0], thresholds[-1]]

    def update(self, y_true, y_score, sample_weight=None) -> "CurveAccumulator":
        """Add one batch (binary labels, 1-D scores, optional weights)."""
        y, s, w = _binary_arrays(y_true, y_score, sample_weight, batch=True)
        ybin = _is_pos(y, self.pos_label).view(np.uint8)
        s = np.ascontiguousarray(s, dtype=np.float64)
        lo, hi = self.thresholds[0], self.thresholds[-1]
        out = int(np.count_nonzero(s < lo) + np.count_nonzero(s > hi)) if s.size else 0
        if out:
            self.outside += out
            warnings.warn(
                f"{out} of {s.size} scores lie outside the thresholds' range [{lo:g}, {hi:g}]: they share "
                "the end bins (as if clipped), so the curve metrics are those of the clipped scores; pass "
                "score_range= (e.g. (-20, 20) for logits) or thresholds= covering the scores",
                UserWarning,
                stacklevel=2,
            )
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
        self.outside += other.outside
        return self

    def _no_data(self) -> bool:
        if self.pos.sum() == 0 and self.neg.sum() == 0:
            warnings.warn(
                "CurveAccumulator holds no data (no update yet, or only zero weights): the metric is undefined",
                _undefined(),
                stacklevel=3,
            )
            return True
        return False

    def _counts(self):
        """(fps, tps, thresholds) over non-empty bins, highest first."""
        nz = np.flatnonzero((self.pos != 0) | (self.neg != 0))[::-1]
        levels = np.r_[-np.inf, self.thresholds]
        return np.cumsum(self.neg[nz]), np.cumsum(self.pos[nz]), levels[nz]

    def roc_curve(self, *, drop_intermediate=True):
        """``(fpr, tpr, thresholds)`` as :func:`roc_curve` on quantised scores."""
        if self.count == 0:
            raise ValueError("CurveAccumulator holds no data (no update yet, or only zero weights)")
        return _roc_from_counts(*self._counts(), drop_intermediate, stacklevel=3)

    def precision_recall_curve(self, *, drop_intermediate=False):
        """``(precision, recall, thresholds)`` as :func:`precision_recall_curve`."""
        if self.count == 0:
            raise ValueError("CurveAccumulator holds no data (no update yet, or only zero weights)")
        return _pr_from_counts(*self._counts(), drop_intermediate, stacklevel=3)

    def roc_auc(self) -> float:
        p, n = self.pos.sum(), self.neg.sum()
        if self._no_data():
            return math.nan
        if p == 0 or n == 0:
            warnings.warn(
                "Only one class is present in y_true. ROC AUC score is not defined in that case.",
                _undefined(),
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
        if self._no_data():
            return math.nan
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
            "outside": self.outside,
        }

    def __setstate__(self, state):
        self.outside = 0  # states pickled before the count existed
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"CurveAccumulator(num_thresholds={self.thresholds.size}, batches={self.batches}, count={self.count:g})"


__all__ = ["CurveAccumulator"]
