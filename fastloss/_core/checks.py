"""Argument validation and normalisation shared by every family.

Every public function validates its arguments here *before* any kernel runs,
so kernels never see a bad index or shape.  Errors are ``TypeError`` (wrong
kind of thing) or ``ValueError`` (right kind, wrong value) and name the
argument, what was expected and what came.  Nothing here modifies its input.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

import numpy as np

REDUCTIONS = ("mean", "sum", "none")


def _describe(a) -> str:
    if isinstance(a, np.ndarray):
        return f"array of shape {a.shape} and dtype {a.dtype}"
    return f"{type(a).__name__} {a!r}"[:200]


def to_array(a, name: str) -> np.ndarray:
    """Return ``a`` as an ndarray without copying (torch CPU tensors included)."""
    if isinstance(a, np.ndarray):
        return a
    mod = type(a).__module__
    if mod.startswith("torch"):
        if getattr(a, "requires_grad", False):
            a = a.detach()
        if a.device.type != "cpu":
            raise TypeError(f"{name} must be a CPU tensor, got a tensor on {a.device}")
        return a.numpy()
    try:
        return np.asarray(a)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} must be array-like, got {_describe(a)}") from exc


def float_dtype(dtype: np.dtype, name: str) -> np.dtype:
    """The float dtype fastloss computes in for data of ``dtype``.

    float32 and float64 are computed natively; float16 is computed in
    float32; integers, booleans and long doubles in float64.  Complex, object,
    string and other non-real dtypes are rejected.
    """
    kind = dtype.kind
    if kind == "f":
        if dtype.itemsize == 4:
            return np.dtype(np.float32)
        if dtype.itemsize == 2:
            return np.dtype(np.float32)
        return np.dtype(np.float64)
    if kind in "iub":
        return np.dtype(np.float64)
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {dtype}")
    raise TypeError(f"{name} must be a real numeric array, got dtype {dtype}")


def as_float(a, name: str, dtype: np.dtype | None = None) -> np.ndarray:
    """``a`` as an array of a float dtype.

    With ``dtype=None`` the dtype is chosen by :func:`float_dtype` and a
    float32/float64 array in native byte order is returned as it is (no copy,
    any layout).  The returned array may be non-contiguous; drivers decide how
    to read it.
    """
    arr = to_array(a, name)
    target = float_dtype(arr.dtype, name) if dtype is None else np.dtype(dtype)
    if dtype is not None:
        float_dtype(arr.dtype, name)  # reject complex/object/str with a clear message
    if arr.dtype == target:
        return arr
    if arr.dtype.kind == "f" and arr.dtype.itemsize == target.itemsize:
        # Same precision, other byte order: keep it; the drivers convert it
        # block by block, so no full-size copy is made.
        return arr
    return arr.astype(target)


def is_direct(a: np.ndarray, dtype: np.dtype) -> bool:
    """True when a kernel can read ``a`` in place: C-contiguous, native, ``dtype``."""
    return a.dtype == dtype and a.dtype.isnative and a.flags.c_contiguous


def native(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` as a C-contiguous native ``dtype`` array, copying only if needed."""
    if is_direct(a, dtype):
        return a
    return np.ascontiguousarray(a, dtype=dtype.newbyteorder("="))


def check_reduction(reduction, allowed: Sequence[str] = REDUCTIONS) -> str:
    if reduction in allowed and type(reduction) is str:  # fast path
        return reduction
    if not isinstance(reduction, str):
        raise TypeError(f"reduction must be one of {list(allowed)}, got {reduction!r}")
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {list(allowed)}, got {reduction!r}")
    return reduction


def check_same_shape(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, "
            f"got {names[0]}.shape={a.shape} and {names[1]}.shape={b.shape}"
        )


def check_bool(value, name: str) -> bool:
    if value is True or value is False:  # fast path
        return value
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_scalar(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
) -> float:
    """A real scalar option, checked against an interval; NaN is always an error."""
    if (
        type(value) is float  # fast path: a Python float inside the interval
        and value == value
        and (low is None or value > low or (value == low and not low_open))
        and (high is None or value < high or (value == high and not high_open))
        and (not finite or -math.inf < value < math.inf)
    ):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    if finite and math.isinf(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if low is not None and (v < low or (low_open and v == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}, got {v}")
    if high is not None and (v > high or (high_open and v == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name} must be {op} {high}, got {v}")
    return v


def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    if type(value) is int and (low is None or value >= low) and (high is None or value <= high):  # fast path
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    v = int(value)
    if low is not None and v < low:
        raise ValueError(f"{name} must be >= {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {v}")
    return v


def broadcast_weight(weight, shape: tuple, dtype: np.dtype, name: str = "weight") -> np.ndarray | None:
    """``weight`` broadcast (as a read-only view, no copy) to ``shape``."""
    if weight is None:
        return None
    w = as_float(weight, name)
    if w.dtype.itemsize != dtype.itemsize:
        w = w.astype(dtype)
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(
            f"{name} of shape {w.shape} does not broadcast to the input shape {shape}"
        ) from None


def weight_total(w: np.ndarray) -> float:
    """Sum of a (possibly broadcast) weight array in float64, reading each
    stored element once: broadcast axes (stride 0) are multiplied out."""
    reps = 1
    index = []
    for size, stride in zip(w.shape, w.strides):
        if stride == 0:
            reps *= size
            index.append(slice(0, 1))
        else:
            index.append(slice(None))
    return float(np.sum(w[tuple(index)], dtype=np.float64)) * reps


def as_int_array(a, name: str) -> np.ndarray:
    """Integer labels/indices: integer arrays pass; integral floats are accepted
    (NaN/inf/fractions rejected); other dtypes are a TypeError."""
    arr = to_array(a, name)
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if arr.size and not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
            raise ValueError(f"{name} must hold integers, got {arr.ravel()[bad]} at flat index {bad}")
        if arr.size and not np.all(arr == np.floor(arr)):
            bad = int(np.flatnonzero(arr.ravel() != np.floor(arr.ravel()))[0])
            raise ValueError(f"{name} must hold integers, got {arr.ravel()[bad]} at flat index {bad}")
        return arr.astype(np.int64)
    raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")


def check_labels(labels: np.ndarray, name: str, n_classes: int, *, ignore_index: int | None = None) -> bool:
    """Every label in [0, n_classes) (or equal to ``ignore_index``); the error
    names the first offending position.  Returns True when every label is in
    range (then none equals an out-of-range ``ignore_index``)."""
    if labels.size == 0:
        return True
    # Fast path (the common case, two reductions): every label in range.
    if labels.min() >= 0 and labels.max() < n_classes:
        return True
    bad = (labels < 0) | (labels >= n_classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    if bad.any():
        pos = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), labels.shape)
        pos = tuple(int(p) for p in pos)
        raise ValueError(
            f"{name} must be in [0, {n_classes})"
            + (f" or equal ignore_index={ignore_index}" if ignore_index is not None else "")
            + f", got {labels[pos]} at position {pos}"
        )
    return False


def iter_lengths(x: Iterable, name: str) -> np.ndarray:
    """A 1-D int64 array from a sequence or array of lengths."""
    arr = as_int_array(np.asarray(x) if not isinstance(x, np.ndarray) else x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr.astype(np.int64, copy=False)


def check_grad_out(grad_out, return_grad) -> None:
    """``grad_out=`` is written only with ``return_grad=True``: refuse it
    otherwise instead of silently ignoring the buffer."""
    if grad_out is not None and not return_grad:
        raise ValueError(
            "grad_out= is only written with return_grad=True, got return_grad=False: "
            "pass return_grad=True or drop grad_out"
        )


def as_operand(a, name: str, dtype: np.dtype) -> np.ndarray:
    """A second operand of an elementwise loss (``target``): real arrays are
    returned as they are, any dtype, because the elementwise driver converts
    them to ``dtype`` block by block (a uint8 memmap target of float32 logits
    never becomes a full-size float32 copy); other dtypes as :func:`as_float`."""
    arr = to_array(a, name)
    float_dtype(arr.dtype, name)  # reject complex/object/str with a clear message
    if arr.dtype.kind in "biuf" and np.can_cast(arr.dtype, dtype, "same_kind"):
        return arr
    return as_float(arr, name, dtype)
