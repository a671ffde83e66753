"""Stateful, mergeable metric objects: update batch by batch, merge across
workers, read the exact one-shot answer.

Every :class:`Metric` has the same life cycle::

    m = ConfusionMatrix()            # configuration only, empty state
    m.update(y_true, y_pred)         # add a batch (returns m)
    m.merge(other)                   # add another worker's state (returns m)
    m.result()                       # the metric over everything seen
    m.reset()                        # back to the empty state
    s = m.to_state()                 # plain dict: NumPy arrays, str, int, float
    m2 = type(m).from_state(s)       # rebuilt anywhere (also: Metric.from_state)

The state is exact: integer counts, sorted distinct scores with their summed
positive and negative weights, per-bin sums.  So a metric computed from
merged states equals the one-shot function on the concatenated data (integer
counts bitwise, weighted sums to float64 rounding), whatever the batching and
the order and grouping of the merges.  Objects pickle, and ``to_state`` /
``from_state`` carry them through engines that move only arrays (Dask,
Spark's ``mapInArrow``, Ray).

=================== =========================================== ===============================
class               state                                       size
=================== =========================================== ===============================
``ConfusionMatrix`` labels seen, (K, K) counts and weight sums  ``16 K^2 + 8 K`` bytes
``ExactCurve``      distinct scores, positive and negative      ``24 D`` bytes (D distinct
                    weight per score                            scores seen)
``CalibrationBins`` per-bin count, confidence sum, hit count    ``24 n_bins`` bytes
``ErrorRates``      hits, substitutions, deletions,             48 bytes
                    insertions, reference and hypothesis length
=================== =========================================== ===============================
"""
from __future__ import annotations

import abc
import importlib
import math
import warnings

import numpy as np

from .._core import checks as _checks
from . import calibration as _calibration
from . import confusion as _confusion
from . import ranking as _ranking
from ._common import UndefinedMetricWarning, _native, _undefined

_STATE_VERSION = 1
_SMALL_BATCH = 1 << 16  # ConfusionMatrix: bincount below, the blocked histogram kernel above


class _Helpers:
    """The metric helpers this module reuses (checks, label histogram, curve
    builders): the same code as the one-shot functions, so both agree."""

    _pair_inputs = staticmethod(_confusion._pair_inputs)
    _PairHist = _confusion._PairHist
    confusion_matrix = staticmethod(_confusion.confusion_matrix)
    precision_recall_fscore = staticmethod(_confusion.precision_recall_fscore)
    _binary_arrays = staticmethod(_ranking._binary_arrays)
    _is_pos = staticmethod(_ranking._is_pos)
    _drop_zero_weight = staticmethod(_ranking._drop_zero_weight)
    _roc_from_counts = staticmethod(_ranking._roc_from_counts)
    _pr_from_counts = staticmethod(_ranking._pr_from_counts)
    _native = staticmethod(_native)
    UndefinedMetricWarning = UndefinedMetricWarning


def _m():
    return _Helpers


def _fastloss():
    # The speech domain's error_rates and its result record, through the
    # public package (domains do not import each other; this is a use of the
    # public API at run time, when an ErrorRates is updated).
    return importlib.import_module("fastloss")


class Metric(abc.ABC):
    """Base class of the mergeable metric objects.

    Subclasses define ``_config`` (constructor keyword names), ``_init``
    (empty state), ``update``, ``_merge`` and ``result``; the base class
    gives ``merge`` (type and configuration checked), ``reset``, ``copy``,
    ``to_state``/``from_state`` and ``+``.
    """

    _config: tuple = ()
    _arrays: tuple = ()  # state entries held as NumPy arrays
    _scalars: tuple = ()  # state entries held as Python scalars / str
    _label_arrays: tuple = ()  # arrays of labels: their dtype is the data's

    def __init__(self):
        self._init()

    # -- defined by every subclass (Metric itself cannot be instantiated)
    @abc.abstractmethod
    def _init(self) -> None:
        """Set the empty state."""

    @abc.abstractmethod
    def update(self, *args, **kwargs) -> "Metric":
        """Add one batch to the state; returns self."""

    @abc.abstractmethod
    def _merge(self, other: "Metric") -> None:
        """Add another worker's state of the same configuration."""

    @abc.abstractmethod
    def result(self):
        """The metric of everything seen so far."""

    # -- common machinery
    def config(self) -> dict:
        """The constructor arguments (``type(m)(**m.config())`` is an empty twin)."""
        return {k: getattr(self, k) for k in self._config}

    def _same_config(self, other) -> bool:
        for k in self._config:
            a, b = getattr(self, k), getattr(other, k)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    def merge(self, other: "Metric") -> "Metric":
        """Add the state of ``other`` (same class and configuration) into this one."""
        if type(other) is not type(self):
            raise TypeError(f"other must be a {type(self).__name__}, got {type(other).__name__}")
        if not self._same_config(other):
            raise ValueError(
                f"cannot merge {type(self).__name__} objects with different configurations: "
                f"{self.config()} and {other.config()}"
            )
        self._merge(other)
        return self

    @classmethod
    def merge_all(cls, metrics) -> "Metric":
        """A new metric holding the merged states of ``metrics`` (none modified)."""
        metrics = list(metrics)
        if not metrics:
            raise ValueError("merge_all needs at least one metric")
        out = metrics[0].copy()
        for m in metrics[1:]:
            out.merge(m)
        return out

    def __add__(self, other: "Metric") -> "Metric":
        return self.copy().merge(other)

    def reset(self) -> "Metric":
        """Forget the data seen (keep the configuration)."""
        self._init()
        return self

    def copy(self) -> "Metric":
        return type(self).from_state(self.to_state())

    def to_state(self) -> dict:
        """The configuration and state as a dict of NumPy arrays and plain
        scalars (no pickled objects): ``Metric.from_state`` rebuilds it."""
        state = {"metric": type(self).__name__, "version": _STATE_VERSION}
        for k in self._config:
            v = getattr(self, k)
            state[k] = v.copy() if isinstance(v, np.ndarray) else v
        for k in self._arrays:
            state[k] = getattr(self, k).copy()
        for k in self._scalars:
            state[k] = getattr(self, k)
        return state

    @classmethod
    def from_state(cls, state: dict) -> "Metric":
        """Rebuild a metric from :meth:`to_state`'s dict (on ``Metric`` itself,
        the class is looked up from ``state['metric']``)."""
        if not isinstance(state, dict) or "metric" not in state:
            raise TypeError(f"state must be a dict made by to_state(), got {type(state).__name__}")
        name = state["metric"]
        target = _CLASSES.get(name)
        if target is None:
            raise ValueError(f"unknown metric {name!r} in state (known: {sorted(_CLASSES)})")
        if cls is not Metric and target is not cls:
            raise ValueError(f"state is of a {name}, not a {cls.__name__}")
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"state version {state.get('version')!r} is not {_STATE_VERSION}")
        obj = target(**{k: state[k] for k in target._config})
        for k in target._arrays:
            arr = np.array(state[k], copy=True)
            if k not in target._label_arrays:
                arr = arr.astype(getattr(obj, k).dtype, copy=False)
            setattr(obj, k, arr)
        for k in target._scalars:
            setattr(obj, k, state[k])
        obj._check_state()
        return obj

    def _check_state(self) -> None:
        pass

    @property
    def nbytes(self) -> int:
        """Bytes of the state's arrays (what a merge moves over the network)."""
        return int(sum(getattr(self, k).nbytes for k in self._arrays))

    def __eq__(self, other) -> bool:
        if type(other) is not type(self) or not self._same_config(other):
            return NotImplemented if not isinstance(other, Metric) else False
        return all(np.array_equal(getattr(self, k), getattr(other, k)) for k in self._arrays) and all(
            getattr(self, k) == getattr(other, k) for k in self._scalars
        )

    __hash__ = None


# ---------------------------------------------------------------- confusion


class ConfusionMatrix(Metric):
    r"""Mergeable confusion matrix (and precision/recall/F, accuracy from it).

    Parameters
    ----------
    num_classes : int, optional
        Labels are the integers ``0 .. num_classes - 1`` (checked on every
        update; the matrix is ``num_classes x num_classes``).  Without it
        the labels are those seen (integers, booleans, integral floats or
        strings), as :func:`fastloss.confusion_matrix`.

    Notes
    -----
    State: the sorted labels seen ``values`` ``(K,)``, ``counts`` ``(K, K)``
    int64 and ``wsum`` ``(K, K)`` float64 (summed sample weights; the
    counts when no weights were given), rows = true label.  Results are
    :func:`fastloss.confusion_matrix` and
    :func:`fastloss.precision_recall_fscore` applied to the state (one
    weighted pseudo-sample per non-empty cell), so they equal the one-shot
    functions on the concatenated data: bitwise for counts, to float64
    rounding for weighted sums.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> m = fastloss.ConfusionMatrix()
    >>> m.update(np.array([0, 1, 2]), np.array([0, 2, 2])).update(np.array([2]), np.array([1]))
    ConfusionMatrix(labels=3, samples=4)
    >>> m.result()
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 1, 1]])
    >>> float(m.accuracy())
    0.5
    """

    _config = ("num_classes",)
    _arrays = ("values", "counts", "wsum")
    _label_arrays = ("values",)
    _scalars = ("weighted", "integral")

    def __init__(self, num_classes=None):
        if num_classes is not None:
            num_classes = _checks.check_int(num_classes, "num_classes", low=1)
        self.num_classes = num_classes
        super().__init__()

    def _init(self):
        self.values = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.wsum = np.zeros((0, 0), dtype=np.float64)
        self.weighted = False  # any update had sample weights
        self.integral = True  # every weight seen had an integer dtype

    def _check_state(self):
        k = self.values.shape[0]
        if self.counts.shape != (k, k) or self.wsum.shape != (k, k):
            raise ValueError(f"inconsistent ConfusionMatrix state: {k} labels, counts {self.counts.shape}")

    def update(self, y_true, y_pred, *, sample_weight=None) -> "ConfusionMatrix":
        """Add a batch of true and predicted labels ``(N,)`` (and weights)."""
        m = _m()
        t, p, w, integral = m._pair_inputs(y_true, y_pred, sample_weight)
        if self.num_classes is not None:
            for arr, name in ((t, "y_true"), (p, "y_pred")):
                if arr.dtype.kind not in "iub":
                    raise TypeError(f"num_classes needs integer labels, got {name} of dtype {arr.dtype}")
                _checks.check_labels(arr, name, self.num_classes)
        if t.shape[0] == 0:
            return self
        if self.num_classes is not None and w is None and t.shape[0] <= _SMALL_BATCH:
            # Small unweighted batches of proven labels 0..C-1: one bincount
            # (the general histogram's set-up costs more than the counting).
            C = self.num_classes
            full = np.bincount(t.astype(np.intp) * C + p.astype(np.intp), minlength=C * C).reshape(C, C)
            idx = np.flatnonzero(full.any(axis=0) | full.any(axis=1))
            values = idx.astype(np.int64)
            counts = full if idx.size == C else full[np.ix_(idx, idx)]
            self._add(values, counts, counts.astype(np.float64))
            return self
        hist = m._PairHist(t, p, w)
        idx = hist.present()
        values = hist.values[idx]
        counts = hist.counts[np.ix_(idx, idx)]
        wsum = counts.astype(np.float64) if w is None else hist.wsum[np.ix_(idx, idx)]
        self._add(values, counts, wsum)
        if w is not None:
            self.weighted = True
            self.integral = self.integral and integral
        return self

    def _add(self, values, counts, wsum):
        if self.values.size == 0:
            self.values, self.counts, self.wsum = values.copy(), counts.copy(), wsum.copy()
            return
        if values.dtype == self.values.dtype and np.array_equal(values, self.values):
            self.counts += counts  # the usual batch: the labels seen so far, nothing to align
            self.wsum += wsum
            return
        if (self.values.dtype.kind in "USO") != (values.dtype.kind in "USO"):
            raise ValueError(
                f"Mix of label input types (string and number): labels seen so far have dtype "
                f"{self.values.dtype}, this batch has {values.dtype}"
            )
        try:
            union = np.union1d(self.values, values)
        except TypeError as exc:
            raise TypeError(f"labels must be of one comparable type: {exc}") from None
        if union.size != self.values.size:
            pos = np.searchsorted(union, self.values)
            c = np.zeros((union.size, union.size), dtype=np.int64)
            s = np.zeros((union.size, union.size), dtype=np.float64)
            c[np.ix_(pos, pos)] = self.counts
            s[np.ix_(pos, pos)] = self.wsum
            self.values, self.counts, self.wsum = union, c, s
        pos = np.searchsorted(self.values, values)
        self.counts[np.ix_(pos, pos)] += counts
        self.wsum[np.ix_(pos, pos)] += wsum

    def _merge(self, other):
        if other.values.size:
            self._add(other.values, other.counts, other.wsum)
        self.weighted = self.weighted or other.weighted
        self.integral = self.integral and other.integral

    def _cells(self):
        """One pseudo-sample per non-empty cell: (true, pred, weight)."""
        i, j = np.nonzero(self.counts)
        t, p = self.values[i], self.values[j]
        if not self.weighted:
            w = self.counts[i, j]  # integer weights: integer results
        elif self.integral:
            w = np.rint(self.wsum[i, j]).astype(np.int64)
        else:
            w = self.wsum[i, j]
        return t, p, w

    @property
    def count(self) -> int:
        """Number of samples seen."""
        return int(self.counts.sum())

    def result(self, *, labels=None, normalize=None) -> np.ndarray:
        """The confusion matrix, as :func:`fastloss.confusion_matrix` with the
        same ``labels`` / ``normalize`` on all the data seen."""
        t, p, w = self._cells()
        if labels is None and self.num_classes is not None:
            labels = np.arange(self.num_classes)
            if t.size == 0:
                return np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        return _m().confusion_matrix(t, p, labels=labels, normalize=normalize, sample_weight=w)

    def precision_recall_fscore(self, **options):
        """:func:`fastloss.precision_recall_fscore` on all the data seen
        (same keyword options except ``sample_weight``)."""
        if "sample_weight" in options:
            raise TypeError("sample_weight is given to update(), not to precision_recall_fscore()")
        if options.get("labels") is None and self.num_classes is not None and options.get("average") != "binary":
            options["labels"] = np.arange(self.num_classes)
        t, p, w = self._cells()
        out = _m().precision_recall_fscore(t, p, sample_weight=w, **options)
        if out[3] is not None and not self.weighted:
            out = (*out[:3], np.rint(out[3]).astype(np.int64))
        return out

    def accuracy(self) -> float:
        """Fraction (weighted) of samples on the diagonal; NaN when empty."""
        tot = self.wsum.sum()
        return float(np.trace(self.wsum) / tot) if tot != 0 else math.nan

    def __repr__(self):
        return f"ConfusionMatrix(labels={self.values.size}, samples={self.count})"


# ---------------------------------------------------------------- exact curve


def _distinct(scores, weights):
    """Sorted distinct scores and the summed weight at each (scores sorted)."""
    if scores.size == 0:
        return scores.astype(np.float64), np.zeros(0)
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
    if weights is None:
        tot = np.diff(np.r_[starts, scores.size]).astype(np.float64)
    else:
        tot = np.add.reduceat(weights, starts)
    return scores[starts].astype(np.float64), tot


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.metrics import states

    return states


def _merge2(r1, r2):
    u1, a1, b1 = r1
    u2, a2, b2 = r2
    n = u1.size + u2.size
    u, a, b = np.empty(n), np.empty(n), np.empty(n)
    m = _kernels().merge_runs(u1, a1, b1, u2, a2, b2, u, a, b)
    return u[:m], a[:m], b[:m]


#: Runs merged in one pass by ``merge_k`` (more: a tree of such merges).
_K_WAY = 8


def _merge_k(runs):
    starts = np.zeros(len(runs) + 1, dtype=np.int64)
    np.cumsum([r[0].size for r in runs], out=starts[1:])
    u_in, a_in, b_in = (np.concatenate([r[j] for r in runs]) for j in range(3))
    n = u_in.size
    u, a, b = np.empty(n), np.empty(n), np.empty(n)
    m = _kernels().merge_k(u_in, a_in, b_in, starts, u, a, b)
    return u[:m], a[:m], b[:m]


def _merge_runs(runs):
    """Merge sorted distinct-score runs ``(u, a, b)``, adding the weights of
    equal scores: two runs by one linear merge, up to ``_K_WAY`` by one k-way
    pass (each entry written once: fresh memory, not comparisons, is the
    cost of large states), more in a tree of k-way merges."""
    runs = [r for r in runs if r[0].size]
    if not runs:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    if len(runs) == 1:
        return runs[0]  # state arrays are never modified in place: sharing is safe
    while len(runs) > 1:
        if len(runs) == 2:
            return _merge2(*runs)
        runs = [_merge_k(runs[i:i + _K_WAY]) if len(runs[i:i + _K_WAY]) > 1 else runs[i]
                for i in range(0, len(runs), _K_WAY)]
    return runs[0]


def _union_runs(u1, a1, b1, u2, a2, b2):
    return _merge_runs([(u1, a1, b1), (u2, a2, b2)])


def _run_of_batch(s, ybin, w):
    """The run of one batch: each class sorted, then one merging walk."""
    if w is None:
        ps, ns, pw, nw = np.sort(s[ybin]), np.sort(s[~ybin]), _NO_W, _NO_W
    else:
        ps, ns = s[ybin], s[~ybin]
        op, on = np.argsort(ps, kind="stable"), np.argsort(ns, kind="stable")
        ps, ns, pw, nw = ps[op], ns[on], w[ybin][op], w[~ybin][on]
    n = s.size
    u, a, b = np.empty(n), np.empty(n), np.empty(n)
    m = _kernels().runs_from_sorted(ps, pw, ns, nw, w is not None, u, a, b)
    return u[:m], a[:m], b[:m]


_NO_W = np.zeros(1)
_EMPTY = np.zeros(0)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
#: Label dtypes of ExactCurve's compiled common call (one compile each).
_PLAIN_LABELS = (np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.bool_))
#: Bytes of unsorted scores an ExactCurve keeps (when they are also more
#: scores than its runs hold) before sorting them into a run: 64 MiB, i.e.
#: 2**24 float32 or 2**23 float64 scores.
_PENDING = 1 << 26


class StateTooLargeError(ValueError):
    """An exact state outgrew its ``max_state_bytes`` budget."""


class ExactCurve(Metric):
    r"""Exact, mergeable binary ROC / precision-recall curve, ROC AUC and AP.

    Keeps every distinct score seen with the summed weight of the positive
    and of the negative samples at that score, sorted.  That is the
    sufficient statistic of every threshold metric, so the results equal
    :func:`fastloss.roc_auc`, :func:`fastloss.average_precision`,
    :func:`fastloss.roc_curve` and :func:`fastloss.precision_recall_curve`
    (hence scikit-learn) on the concatenated data, ties and weights
    included, not binned.  Merging two states is a merge of two sorted runs.

    Parameters
    ----------
    pos_label : label, default 1
        Samples whose label equals it are positive, all others negative.
    max_state_bytes : int, optional
        Raise :class:`StateTooLargeError` when the state (24 bytes per
        distinct score) would grow beyond it.  Default: unbounded.

    Notes
    -----
    Memory: 24 bytes per distinct score (float64 score, positive weight,
    negative weight).  Scores quantised to float32 hold at most ~2^32
    distinct values; probabilities from a float32 model typically a few
    million.  Zero-weight samples are dropped (they are no threshold, as in
    scikit-learn); NaN/inf scores are a ``ValueError``.

    Unweighted batches are kept as their unsorted scores (4 or 8 bytes a
    sample) and sorted into the state at once when it is read (a result,
    ``merge``, ``to_state``, pickling), or when they outnumber both its
    distinct scores and 64 MiB: so ``update`` costs one pass over the batch,
    and k batches one sort, as torchmetrics' ``compute()``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    >>> c = fastloss.ExactCurve().update(y[:3], s[:3]).merge(fastloss.ExactCurve().update(y[3:], s[3:]))
    >>> c.roc_auc(), round(c.average_precision(), 6)
    (0.75, 0.833333)
    """

    _config = ("pos_label", "max_state_bytes")
    _arrays = ("scores", "pos", "neg")
    _scalars = ("negative_weights", "score_dtype")

    def __init__(self, pos_label=1, *, max_state_bytes=None):
        if max_state_bytes is not None:
            max_state_bytes = _checks.check_int(max_state_bytes, "max_state_bytes", low=0)
        if isinstance(pos_label, np.generic):
            pos_label = pos_label.item()
        self.pos_label = pos_label
        self.max_state_bytes = max_state_bytes
        super().__init__()

    def _init(self):
        self._runs = []
        self._pending = None
        self._auc_ap = None
        self.negative_weights = False
        self.score_dtype = ""  # dtype of the first scores seen (thresholds of the PR curve)

    def _check_state(self):
        if not (self.scores.shape == self.pos.shape == self.neg.shape) or self.scores.ndim != 1:
            raise ValueError("inconsistent ExactCurve state: scores, pos and neg must be 1-D of one length")

    def _budget(self, n_distinct):
        if self.max_state_bytes is not None and 24 * n_distinct > self.max_state_bytes:
            raise StateTooLargeError(
                f"the exact curve state holds {n_distinct} distinct scores ({24 * n_distinct} bytes), "
                f"more than max_state_bytes={self.max_state_bytes}; raise max_state_bytes, or in "
                "fastloss.dask pass method='sort' (a distributed sort, O(N) network) or "
                "method='binned' (a fixed-size histogram with a reported AUC error bound)"
            )

    def update(self, y_true, y_score, *, sample_weight=None) -> "ExactCurve":
        """Add a batch: labels ``(N,)``, scores ``(N,)``, optional weights ``(N,)``."""
        if sample_weight is None and self.max_state_bytes is None and self._update_plain(y_true, y_score):
            return self
        m = _m()
        y, s, w = m._binary_arrays(y_true, y_score, sample_weight, batch=True)
        if not self.score_dtype and s.size:
            self.score_dtype = np.dtype(s.dtype.type).str.lstrip("<>=|")
        ybin = m._is_pos(y, self.pos_label)
        s, ybin, w = m._drop_zero_weight(s, ybin, w)
        if w is not None and (w < 0).any():
            self.negative_weights = True
        s = m._native(s)
        u, a, b = _run_of_batch(s, ybin, w)
        self._add(u, a, b)
        return self

    # The state is kept in two lazy forms, both turned into the sorted run
    # when it is read (``scores``/``pos``/``neg``, hence every result,
    # ``to_state``, ``merge``, ``copy`` and pickling):
    #
    # * pending: the scores of unweighted batches, split by class but not
    #   sorted (4 or 8 bytes a sample, against 24 a distinct score in a run).
    #   They are sorted into one run when read, or when they outnumber the
    #   runs' entries and fill ``_PENDING`` bytes (memory stays within ~2x
    #   the state's, or 64 MiB),
    #   so k batches of n scores cost one sort of k n scores, not k sorts and
    #   the merges of their runs.  (torchmetrics also keeps the raw scores
    #   and sorts them once in ``compute()``.)
    # * runs: a stack of sorted runs, merged lazily: a push merges the top
    #   two while the lower one is at most twice the upper's size (a binary
    #   counter), so k runs of n entries cost O(k n log k) instead of the
    #   O(k^2 n) of merging each into the whole state.
    #
    # With ``max_state_bytes`` every update merges at once (exact budget).

    def _update_plain(self, y, s) -> bool:
        """The common call (plain C-contiguous NumPy arrays, float32/float64
        scores, integer or boolean labels, an integer ``pos_label``, no
        weights): split and check the scores in one compiled pass and keep
        them pending.  False when the call is not of that kind, or a score
        is not finite: the general path then handles it (and raises)."""
        if type(y) is not np.ndarray or type(s) is not np.ndarray:
            return False
        d = s.dtype
        if (d is not _F32 and d is not _F64) or y.dtype not in _PLAIN_LABELS:
            return False
        n = s.shape[0]
        if s.ndim != 1 or y.shape != (n,) or not (s.flags.c_contiguous and y.flags.c_contiguous):
            return False
        pl = self.pos_label
        if type(pl) is not int or not -(1 << 63) <= pl < (1 << 63):
            return False
        if n == 0:
            return True
        buf = np.empty(n, dtype=d)
        k = _kernels().split_scores(y, s, pl, buf)
        if k < 0:
            return False
        if not self.score_dtype:
            self.score_dtype = "f4" if d is _F32 else "f8"
        pend = self.__dict__.get("_pending")
        if pend is None:
            pend = self._pending = [[], [], 0, 0]  # positives, negatives, count, bytes
        pend[0].append(buf[:k])
        pend[1].append(buf[k:])
        pend[2] += n
        pend[3] += buf.nbytes
        if pend[3] > _PENDING and pend[2] > sum(r[0].size for r in self.__dict__.get("_runs") or ()):
            self._sort_pending()
        return True

    def _sort_pending(self):
        """Sort the pending scores into one run, pushed on the run stack."""
        pend = self.__dict__.get("_pending")
        if not pend:
            return
        self._pending = None
        ps, ns = (a[0] if len(a) == 1 else np.concatenate(a) for a in pend[:2])
        ps.sort()  # owned buffers (fresh, or the concatenation): sorted in place
        ns.sort()
        n = ps.size + ns.size
        u, a, b = np.empty(n), np.empty(n), np.empty(n)
        m = _kernels().runs_from_sorted(ps, _NO_W, ns, _NO_W, False, u, a, b)
        if 2 * m < n:  # many ties: do not keep the sample-sized buffers alive
            u, a, b = u[:m].copy(), a[:m].copy(), b[:m].copy()
        else:
            u, a, b = u[:m], a[:m], b[:m]
        self._push(u, a, b)

    def _flush(self):
        self._sort_pending()
        runs = self.__dict__.get("_runs")
        if runs is not None and len(runs) > 1:
            self._runs = [_merge_runs(runs)]

    def _part(self, j):
        self._flush()
        runs = self.__dict__.get("_runs")
        return runs[0][j] if runs else _EMPTY

    def _set_part(self, j, value):
        self._flush()
        runs = self.__dict__.get("_runs") or [(_EMPTY, _EMPTY, _EMPTY)]
        run = list(runs[0])
        run[j] = value
        self._runs = [tuple(run)]
        self._auc_ap = None

    scores = property(lambda self: self._part(0), lambda self, v: self._set_part(0, v),
                      doc="Sorted distinct scores seen (float64).")
    pos = property(lambda self: self._part(1), lambda self, v: self._set_part(1, v),
                   doc="Summed weight of the positives at each score.")
    neg = property(lambda self: self._part(2), lambda self, v: self._set_part(2, v),
                   doc="Summed weight of the negatives at each score.")

    def __getstate__(self):
        # Pickle the sorted run only (the same form as before the lazy
        # states, so any version reads it).
        self._flush()
        state = self.__dict__.copy()
        state.pop("_pending", None)
        state.pop("_auc_ap", None)
        return state

    def _add(self, u, a, b):
        if self.max_state_bytes is not None:
            self._budget(max(u.size, self.scores.size))
            u, a, b = _union_runs(self.scores, self.pos, self.neg, u, a, b)
            self._budget(u.size)
            self.scores, self.pos, self.neg = u, a, b
            return
        self._push(u, a, b)

    def _push(self, u, a, b):
        if not u.size:
            return
        self._auc_ap = None  # (holds the old run)
        runs = self.__dict__.get("_runs")
        if runs is None:
            runs = self._runs = []
        runs.append((u, a, b))
        while len(runs) > 1 and runs[-2][0].size <= 2 * runs[-1][0].size:
            r2 = runs.pop()
            runs.append(_merge2(runs.pop(), r2))

    def copy(self) -> "ExactCurve":
        # The arrays are replaced, never modified in place, so a copy may share
        # them (fresh memory is the dominant cost of large states).
        out = ExactCurve(self.pos_label, max_state_bytes=self.max_state_bytes)
        out.scores, out.pos, out.neg = self.scores, self.pos, self.neg
        out.negative_weights, out.score_dtype = self.negative_weights, self.score_dtype
        return out

    @classmethod
    def merge_all(cls, metrics) -> "ExactCurve":
        # One sort of all the runs at once instead of k - 1 pairwise merges.
        metrics = list(metrics)
        out = super().merge_all(metrics[:1])
        rest = metrics[1:]
        for m in rest:
            if type(m) is not cls or not out._same_config(m):
                raise ValueError("merge_all needs ExactCurve objects of one configuration")
        if rest:
            u, a, b = _merge_runs([(m.scores, m.pos, m.neg) for m in [out, *rest]])
            out._budget(u.size)
            out.scores, out.pos, out.neg = u, a, b
            out.negative_weights = any(m.negative_weights for m in metrics)
            out.score_dtype = next((m.score_dtype for m in metrics if m.score_dtype), "")
        return out

    def _merge(self, other):
        self._add(other.scores, other.pos, other.neg)
        self.negative_weights = self.negative_weights or other.negative_weights
        self.score_dtype = self.score_dtype or other.score_dtype

    @property
    def count(self) -> float:
        """Summed weight of the samples seen (their number without weights)."""
        return float(self.pos.sum() + self.neg.sum())

    def _counts(self):
        """(fps, tps, thresholds) at every distinct score, highest first."""
        return np.cumsum(self.neg[::-1]), np.cumsum(self.pos[::-1]), self.scores[::-1]

    def roc_curve(self, *, drop_intermediate=True):
        """``(fpr, tpr, thresholds)`` as :func:`fastloss.roc_curve`."""
        drop = _checks.check_bool(drop_intermediate, "drop_intermediate")
        return _m()._roc_from_counts(*self._counts(), drop, stacklevel=3)

    def precision_recall_curve(self, *, drop_intermediate=False):
        """``(precision, recall, thresholds)`` as :func:`fastloss.precision_recall_curve`."""
        drop = _checks.check_bool(drop_intermediate, "drop_intermediate")
        p, r, t = _m()._pr_from_counts(*self._counts(), drop, stacklevel=3)
        if self.score_dtype:
            t = t.astype(self.score_dtype)
        return p, r, t

    def _auc_ap_sums(self):
        """The ``auc_ap`` kernel's sums of the current run, kept until the
        run changes (``result()`` reads them for both ROC AUC and AP)."""
        self._flush()
        runs = self.__dict__.get("_runs")
        run = runs[0] if runs else None
        cache = self.__dict__.get("_auc_ap")
        if cache is None or cache[0] is not run:
            cache = self._auc_ap = (run, _kernels().auc_ap(self.pos, self.neg))
        return cache[1]

    def roc_auc(self) -> float:
        """Area under the ROC curve (ties count 1/2), as :func:`fastloss.roc_auc`."""
        p_tot, n_tot = self.pos.sum(), self.neg.sum()
        if not (self.pos != 0).any() or not (self.neg != 0).any() or p_tot * n_tot == 0:
            warnings.warn(
                "Only one class is present in y_true. ROC AUC score is not defined in that case.",
                _undefined(),
                stacklevel=2,
            )
            return math.nan
        if self.negative_weights:
            fpr, tpr, _ = self.roc_curve()
            return float(np.trapezoid(tpr, fpr))
        # Mann-Whitney: each positive weight times the negatives strictly below
        # plus half those tied with it (one kernel pass).
        num, _, _ = self._auc_ap_sums()
        return float(num / (p_tot * n_tot))

    def average_precision(self) -> float:
        """Step-wise average precision, as :func:`fastloss.average_precision`."""
        if not (self.pos != 0).any():
            warnings.warn(
                "No positive class found in y_true, recall is set to one for all thresholds.",
                UserWarning,
                stacklevel=2,
            )
            return 0.0
        if self.negative_weights:
            fps, tps, _ = self._counts()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                precision, recall, _ = _m()._pr_from_counts(fps, tps, self.scores[::-1], False)
            return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
        _, num, p_tot = self._auc_ap_sums()
        return float(max(0.0, num / p_tot))

    def fpr_at_tpr(self, tpr=0.95) -> float:
        """Smallest false positive rate among the operating points whose true
        positive rate is at least ``tpr`` (as ``fastloss.ood_metrics``)."""
        fps, tps, _ = self._counts()
        if tps.size == 0 or tps[-1] <= 0 or fps[-1] <= 0:
            return math.nan
        ok = tps / tps[-1] >= tpr
        return float((fps[ok] / fps[-1]).min()) if ok.any() else 1.0

    def reversed(self) -> "ExactCurve":
        """The curve of the opposite problem: negatives positive, scores negated."""
        out = ExactCurve(max_state_bytes=self.max_state_bytes)
        out.scores = -self.scores[::-1]
        out.pos, out.neg = self.neg[::-1].copy(), self.pos[::-1].copy()
        out.negative_weights, out.score_dtype = self.negative_weights, self.score_dtype
        return out

    def result(self) -> dict:
        """``{'roc_auc', 'average_precision'}``."""
        return {"roc_auc": self.roc_auc(), "average_precision": self.average_precision()}

    def __repr__(self):
        return f"ExactCurve(pos_label={self.pos_label!r}, distinct_scores={self.scores.size}, count={self.count:g})"


# ---------------------------------------------------------------- calibration


#: Uniform bin edges per number of bins (private, never handed out).
_EDGES: dict = {}


class CalibrationBins(Metric):
    r"""Mergeable calibration bins: expected calibration error and the
    reliability diagram.

    Parameters
    ----------
    n_bins : int, default 15
    logits : bool, default False
        Inputs are logits (softmax / sigmoid fused in), as in
        :func:`fastloss.expected_calibration_error`.

    Notes
    -----
    Uniform bins only (``strategy='uniform'``): quantile edges depend on all
    the data and cannot be merged exactly (compute them in a first pass and
    bin in a second).  State per bin: count (int64), summed confidence
    (float64), number correct (int64); so the results equal the one-shot
    functions to float64 rounding of the confidence sums.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    >>> b = fastloss.CalibrationBins(n_bins=2).update(p[:1], np.array([0])).update(p[1:], np.array([1, 1]))
    >>> round(float(b.result()), 4)
    0.0667
    """

    _config = ("n_bins", "logits")
    _arrays = ("count", "conf_sum", "hit_sum")
    _scalars = ("binary", "dtype")

    def __init__(self, n_bins=15, *, logits=False):
        self.n_bins = _checks.check_int(n_bins, "n_bins", low=1)
        self.logits = _checks.check_bool(logits, "logits")
        super().__init__()

    def _init(self):
        self.count = np.zeros(self.n_bins, dtype=np.int64)
        self.conf_sum = np.zeros(self.n_bins, dtype=np.float64)
        self.hit_sum = np.zeros(self.n_bins, dtype=np.int64)
        self.binary = None  # (N,) inputs (True) or (N, C) (False); None before the first
        self.dtype = ""

    def _check_state(self):
        if not (self.count.shape == self.conf_sum.shape == self.hit_sum.shape == (self.n_bins,)):
            raise ValueError(f"inconsistent CalibrationBins state: arrays must have shape ({self.n_bins},)")

    def _kind(self, binary, dtype):
        if self.binary is not None and binary != self.binary:
            raise ValueError(
                "cannot mix binary (N,) and multi-class (N, C) inputs in one CalibrationBins "
                f"(seen {'(N,)' if self.binary else '(N, C)'} before)"
            )
        self.binary = binary
        if dtype and (not self.dtype or np.dtype(dtype).itemsize > np.dtype(self.dtype).itemsize):
            self.dtype = dtype

    def update(self, probs_or_logits, labels) -> "CalibrationBins":
        """Add a batch: ``(N, C)`` or ``(N,)`` probabilities (or logits) and labels ``(N,)``."""
        calibration = _calibration
        x = probs_or_logits
        if type(x) is np.ndarray and (self.binary is None or self.binary == (x.ndim == 1)):
            # The common call: checks, confidences and bins in one compiled
            # pass that adds into the state (or changes nothing and leaves
            # the input to the general path below, which raises the errors).
            edges = _EDGES.get(self.n_bins)
            if edges is None:
                edges = _EDGES[self.n_bins] = np.linspace(0.0, 1.0, self.n_bins + 1)
            dtype = calibration._fast_bins(x, labels, self.logits, edges, self.count, self.conf_sum, self.hit_sum)
            if dtype is not None:
                self._kind(x.ndim == 1, "f4" if dtype.itemsize == 4 else "f8")
                return self
        x = np.asarray(probs_or_logits) if not hasattr(probs_or_logits, "shape") else probs_or_logits
        if getattr(x, "ndim", 0) in (1, 2) and x.shape[0] == 0:
            lab = np.asarray(labels)
            if lab.shape != (0,):
                raise ValueError(f"labels must have shape (0,) to match probs_or_logits of shape {x.shape}, got {lab.shape}")
            return self
        _, count, conf_sum, hit_sum, _, dtype = calibration._binned(
            probs_or_logits, labels, self.n_bins, "uniform", self.logits
        )
        self._kind(np.ndim(probs_or_logits) == 1, dtype.str.lstrip("<>=|"))
        self.count += count
        self.conf_sum += conf_sum
        self.hit_sum += hit_sum
        return self

    def _merge(self, other):
        if other.binary is not None:
            self._kind(other.binary, other.dtype)
        self.count += other.count
        self.conf_sum += other.conf_sum
        self.hit_sum += other.hit_sum

    def reliability_diagram(self):
        """:class:`fastloss.ReliabilityDiagram` ``(edges, confidence, accuracy, count)``."""
        ReliabilityDiagram = _calibration.ReliabilityDiagram
        with np.errstate(invalid="ignore", divide="ignore"):
            conf = np.where(self.count > 0, self.conf_sum / self.count, np.nan)
            acc = np.where(self.count > 0, self.hit_sum / self.count, np.nan)
        return ReliabilityDiagram(np.linspace(0.0, 1.0, self.n_bins + 1), conf, acc, self.count.copy())

    def expected_calibration_error(self, *, norm="l1"):
        """ECE (``'l1'``), ``'l2'`` or MCE (``'max'``), as
        :func:`fastloss.expected_calibration_error`."""
        NORMS = _calibration.NORMS
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
        n = int(self.count.sum())
        if n == 0:
            raise ValueError("CalibrationBins is empty: need at least one sample")
        nz = self.count > 0
        gap = np.abs(self.hit_sum[nz] / self.count[nz] - self.conf_sum[nz] / self.count[nz])
        if norm == "l1":
            value = math.fsum(self.count[nz] * gap) / n
        elif norm == "l2":
            value = math.sqrt(math.fsum(self.count[nz] * gap * gap) / n)
        else:
            value = float(gap.max())
        return np.dtype(self.dtype or "f8").type(value)

    def result(self, *, norm="l1"):
        """The expected calibration error (see :meth:`expected_calibration_error`)."""
        return self.expected_calibration_error(norm=norm)

    def __repr__(self):
        return f"CalibrationBins(n_bins={self.n_bins}, samples={int(self.count.sum())})"


# ---------------------------------------------------------------- error rates


class ErrorRates(Metric):
    r"""Mergeable corpus error counts: WER / CER, MER, WIL, WIP.

    The state is six integers (hits, substitutions, deletions, insertions,
    reference and hypothesis lengths), pooled over the corpus as
    ``jiwer.process_words`` / ``process_characters`` pool them; ``result()``
    is the same :class:`fastloss.ErrorRates` record that
    :func:`fastloss.error_rates` returns for the whole corpus.  (This class is
    ``fastloss.metrics.ErrorRates``; the top-level ``fastloss.ErrorRates`` is
    that result record.)

    Parameters
    ----------
    unit : {'word', 'char'}

    Examples
    --------
    >>> import fastloss.metrics as st
    >>> e = st.ErrorRates().update(["the cat sat"], ["the cat sat down"]).update(["hello"], ["yellow"])
    >>> e.result().wer
    0.5
    """

    _config = ("unit",)
    _arrays = ("counts",)
    _FIELDS = ("hits", "substitutions", "deletions", "insertions", "reference_length", "hypothesis_length")

    def __init__(self, unit="word"):
        if not isinstance(unit, str) or unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
        self.unit = unit
        super().__init__()

    def _init(self):
        self.counts = np.zeros(6, dtype=np.int64)

    def _check_state(self):
        if self.counts.shape != (6,):
            raise ValueError("inconsistent ErrorRates state: counts must have shape (6,)")

    def update(self, references, hypotheses) -> "ErrorRates":
        """Add sentence pairs (str or sequences of str, as :func:`fastloss.error_rates`)."""
        if _is_empty_corpus(references) and _is_empty_corpus(hypotheses):
            return self  # an empty batch adds nothing (jiwer would count one empty pair: also nothing)
        r = _fastloss().error_rates(references, hypotheses, unit=self.unit)
        self.counts += np.array([getattr(r, f) for f in self._FIELDS], dtype=np.int64)
        return self

    def _merge(self, other):
        self.counts += other.counts

    def result(self):
        """The corpus :class:`fastloss.ErrorRates` record (rates as jiwer's)."""
        H, S, D, I, nr, nh = (int(v) for v in self.counts)
        if nr == 0:
            er = float(I)
            mer, wip = (0.0, 1.0) if nh == 0 else (1.0, 0.0)
        else:
            er = float(S + D + I) / float(H + S + D)
            mer = float(S + D + I) / float(H + S + D + I)
            wip = (float(H) / nr) * (float(H) / nh) if nh >= 1 else 0.0
        return _fastloss().ErrorRates(self.unit, H, S, D, I, nr, nh, er, mer, 1 - wip, wip)

    def error_rate(self) -> float:
        """WER (``unit='word'``) or CER (``unit='char'``)."""
        return self.result().error_rate

    def __repr__(self):
        return f"ErrorRates(unit={self.unit!r}, " + ", ".join(
            f"{f}={int(v)}" for f, v in zip(self._FIELDS, self.counts)
        ) + ")"


def _is_empty_corpus(x) -> bool:
    try:
        return not isinstance(x, str) and len(x) == 0
    except TypeError:
        return False


_CLASSES = {c.__name__: c for c in (ConfusionMatrix, ExactCurve, CalibrationBins, ErrorRates)}

# ErrorRates is public as fastloss.metrics.ErrorRates only: the top-level name
# fastloss.ErrorRates is the result record of fastloss.error_rates.
__all__ = ["Metric", "ConfusionMatrix", "ExactCurve", "CalibrationBins", "StateTooLargeError"]
