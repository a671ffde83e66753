"""Argument handling shared by the metric modules (labels, scores, weights, blocks)."""
from __future__ import annotations

import sys

import numpy as np

from .._core import checks as _checks

#: Fixed number of blocks a histogram kernel splits its input into (and the
#: number of per-block histograms the wrapper adds, in block order).  A
#: function of the input size only, never of the thread count.
_MAX_BLOCKS = 16
_BLOCK_MIN = 1 << 16  # elements per block at least (small inputs: one block)
_DENSE_RANGE = 1 << 12  # integer labels spanning more values are re-encoded


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined (e.g. ROC AUC with one class present).

    Same role as ``sklearn.exceptions.UndefinedMetricWarning`` (both
    subclass ``UserWarning``).  When scikit-learn is imported, the warnings
    are emitted as a subclass of both classes (see :func:`_undefined`), so
    filters and ``pytest.warns`` keyed on either class catch them."""


_BOTH: list = []


def _undefined() -> type:
    """Category to emit: :class:`UndefinedMetricWarning`, or, when
    ``sklearn.exceptions`` is already imported, a subclass of it and of
    scikit-learn's class.  Chosen at emission time because importing
    scikit-learn costs seconds and ``import fastloss`` must stay light; a
    user whose filter names scikit-learn's class has imported it (pytest
    imports it to resolve ``filterwarnings`` strings)."""
    sk = sys.modules.get("sklearn.exceptions")
    base = getattr(sk, "UndefinedMetricWarning", None)
    if not isinstance(base, type) or not issubclass(base, Warning):
        return UndefinedMetricWarning
    if not _BOTH or _BOTH[0].__bases__[1] is not base:
        both = type("UndefinedMetricWarning", (UndefinedMetricWarning, base), {"__module__": __name__})
        _BOTH[:] = [both]
    return _BOTH[0]


_DUMMY_F8 = np.zeros(1, dtype=np.float64)


def _nblocks(n: int) -> int:
    return int(min(_MAX_BLOCKS, max(1, -(-n // _BLOCK_MIN))))


# ---------------------------------------------------------------- validation


def _dense(a):
    """A SciPy sparse matrix/array as a dense ndarray (scikit-learn takes
    sparse label indicators); anything else unchanged.  Checked by module
    name, so SciPy is never imported here."""
    if type(a).__module__.startswith("scipy.sparse") and hasattr(a, "toarray"):
        return a.toarray()
    return a


_LEGACY_MULTILABEL = (
    "You appear to be using a legacy multi-label data representation. Sequence of sequences are no longer "
    "supported; use a binary array or sparse matrix instead - the MultiLabelBinarizer transformer can convert "
    "to this format."
)


def _is_seq(x) -> bool:
    return isinstance(x, (list, tuple, np.ndarray))


def _label_array(a, name: str) -> np.ndarray:
    """``a`` as an ndarray; scikit-learn's legacy sequence-of-sequences
    multilabel format (ragged lists, object arrays of lists) is a
    ``ValueError`` with scikit-learn's message."""
    try:
        arr = _checks.to_array(_dense(a), name)
    except TypeError:
        if isinstance(a, (list, tuple)) and any(_is_seq(x) for x in a):
            raise ValueError(f"{name}: {_LEGACY_MULTILABEL}") from None
        raise
    if arr.dtype.kind == "O" and arr.size and _is_seq(arr.flat[0]):
        raise ValueError(f"{name}: {_LEGACY_MULTILABEL}")
    return arr


def _column(a, name: str) -> np.ndarray:
    arr = _label_array(a, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        if name == "sample_weight":  # scikit-learn's wording (_check_sample_weight)
            raise ValueError(f"Sample weights must be 1D array or scalar, got shape {arr.shape}")
        raise ValueError(f"{name} must be 1-D (one value per sample), got shape {arr.shape}")
    return arr


def _check_length(n: int, arr: np.ndarray, name: str, ref: str, first: bool = False, before: int = 0) -> None:
    """``arr`` must have ``n`` samples (those of ``ref``).  The message starts
    as scikit-learn's ``check_consistent_length`` (lengths in its argument
    order: ``first=True`` when scikit-learn lists ``name`` before ``ref``,
    as ``log_loss(y_proba, y_true)``; ``before`` more arrays of ``n``
    samples listed first, as ``y_pred`` before ``sample_weight``), then
    names both arguments."""
    m = arr.shape[0]
    if m != n:
        lengths = [m, n] if first else [n] * (1 + before) + [m]
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: {lengths}: "
            f"{name} and {ref} must have the same number of samples, got {ref} with {n} and {name} with {m}"
        )


def _labels(a, name: str) -> np.ndarray:
    """Class labels: integers/booleans kept, integral floats -> int64,
    strings/objects kept (re-encoded later); NaN/fractions rejected."""
    arr = _column(a, name)
    kind = arr.dtype.kind
    if kind in "iub":
        return arr
    if kind == "S" or (kind == "O" and arr.size and isinstance(arr[0], bytes)):
        raise TypeError(
            f"{name}: Support for labels represented as bytes is not supported. Convert the labels to a string "
            "or integer format (as scikit-learn)."
        )
    if kind == "f":
        if arr.size and not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValueError(f"{name} must hold class labels, got {arr[bad]} at index {bad}")
        if arr.size and not np.all(arr == np.floor(arr)):
            bad = int(np.flatnonzero(arr != np.floor(arr))[0])
            raise ValueError(
                f"{name} must hold class labels (integers), got the continuous value {arr[bad]} at index {bad} "
                "(scikit-learn: continuous format is not supported)"
            )
        return arr.astype(np.int64)
    if kind in "USO":
        return arr
    raise TypeError(f"{name} must hold class labels, got dtype {arr.dtype}")


def _sample_weight(sample_weight, n: int, ref: str = "y_true", arrays: int = 2):
    """float64 weights (and whether they were integers), checked against
    ``n`` samples; ``arrays`` is how many label/score arrays precede the
    weights in scikit-learn's length check (for its message)."""
    if sample_weight is None:
        return None, False
    w = _column(sample_weight, "sample_weight")
    if w.dtype.kind == "O":
        # scikit-learn converts object weights (e.g. Python ints/Decimals) to float64.
        try:
            w = w.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"sample_weight must be real numbers, got object values that are not: {exc}") from None
    if w.dtype.kind not in "iufb":
        raise TypeError(f"sample_weight must be real numbers, got dtype {w.dtype}")
    _check_length(n, w, "sample_weight", ref, before=arrays - 1)
    integral = w.dtype.kind in "iub"
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.size and not np.all(np.isfinite(w)):
        bad = int(np.flatnonzero(~np.isfinite(w))[0])
        raise ValueError(f"sample_weight must be finite, got {w[bad]} at index {bad}")
    return w, integral


def _int_weights(sample_weight):
    """Integer weights as int64 (for exact sums beyond 2**53, as
    scikit-learn), or None; call after :func:`_sample_weight` accepted them."""
    w = _column(sample_weight, "sample_weight")
    if w.dtype.kind not in "iub" or (w.dtype.kind == "u" and w.dtype.itemsize == 8 and w.size and w.max() >= 2**63):
        return None
    return np.ascontiguousarray(w, dtype=np.int64)


def _nonempty(n: int, name: str = "y_true") -> None:
    if n == 0:
        raise ValueError(f"{name} is empty: found array with 0 samples while a minimum of 1 is required (as scikit-learn)")


def _nonzero_weights(w) -> None:
    if w is not None and w.size and not np.any(w):
        raise ValueError("sample_weight must contain at least one non-zero number (as scikit-learn)")


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
