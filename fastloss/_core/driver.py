"""Python side of the fused elementwise reductions.

An elementwise family provides three kernels with one calling convention
(see ``fastloss/_kernels/losses/regression.py``)::

    reduce(*head, *ops, partials)                 # partials[c] = chunk sums
    reduce_grad(*head, *ops, gscale, grad, partials)
    pointwise(*head, *ops, out, grad, want_grad)  # reduction="none"

``head`` is a tuple of scalars (loss kind, parameters, flags); ``ops`` are
arrays of the input's shape (``None`` for an absent optional operand, which
the kernel receives as a 1-element placeholder and must not read).

:func:`run` reads contiguous native operands in place with a single kernel
call.  Anything else (non-contiguous, byte-swapped, broadcast weights,
memory-mapped arrays of another layout) is streamed through NumPy's buffered
iterator in C order, in blocks of :data:`BLOCK` elements: never a full-size
temporary.  Chunk partials are combined with ``math.fsum``, which is exact,
so the result does not depend on the thread count or on the order chunks
finish in.
"""
from __future__ import annotations

import itertools
import math
from types import ModuleType
from typing import Sequence

import numpy as np

from .checks import _describe, to_array
from .consts import CHUNK, SERIAL_BELOW_ELEMENTWISE, SERIAL_BELOW_ROWS

#: Elements per block on the buffered path (8 MiB of float64 per operand).
BLOCK = 1 << 20


def _operand(a: np.ndarray) -> np.ndarray:
    """An input operand as the kernels always see it: 1-D, C-contiguous and
    read-only.  One array type per dtype means one compile per kernel and
    dtype, whatever the caller's layout or flags (a writeable and a read-only
    array, or a strided and a contiguous one, are different Numba types).
    Only a strided block of the buffered path is copied (at most BLOCK
    elements).  ``reshape`` always returns a new view, so clearing its
    ``writeable`` flag never touches the caller's array."""
    v = a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1)
    if v.flags.writeable:
        v.flags.writeable = False
    return v


_PLACEHOLDERS: dict = {}


def _placeholders(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(read-only, writeable) 1-element arrays standing for an absent operand
    or output; kernels never read or write them (made once per dtype)."""
    p = _PLACEHOLDERS.get(dtype)
    if p is None:
        ro = np.zeros(1, dtype=dtype)
        ro.flags.writeable = False
        p = _PLACEHOLDERS[dtype] = (ro, np.zeros(1, dtype=dtype))
    return p


def launch(fn, work, below, *args):
    """:func:`fastloss._core.jit.launch` (imported on first use: this module
    imports no Numba); rebinds itself to it."""
    global launch
    from . import jit

    launch = jit.launch
    return launch(fn, work, below, *args)


def _fsum(parts: np.ndarray) -> float:
    # math.fsum over a list of floats is several times cheaper than over
    # the array's NumPy scalars; one partial needs no summation at all.
    return float(parts[0]) if parts.size == 1 else math.fsum(parts.tolist())


def _nchunks(n: int) -> int:
    return (n + CHUNK - 1) // CHUNK


def check_out(buf, name: str, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Validate a caller-supplied output buffer (``grad_out=``/``out=``)."""
    if not isinstance(buf, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(buf).__name__}")
    if buf.shape != tuple(shape) or buf.dtype != dtype:
        raise ValueError(
            f"{name} must have shape {tuple(shape)} and dtype {dtype}, "
            f"got shape {buf.shape} and dtype {buf.dtype}"
        )
    if not buf.flags.c_contiguous or not buf.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous array")
    return buf


def run(
    kernels: ModuleType,
    head: tuple,
    ops: Sequence[np.ndarray | None],
    dtype: np.dtype,
    reduction: str,
    return_grad: bool,
    grad_out: np.ndarray | None = None,
    count: float | None = None,
):
    """Run an elementwise loss.

    Returns ``(total, count, out, grad)``: ``total`` the float64 sum of the
    (weighted) per-element losses (``nan`` when ``reduction="none"``),
    ``count`` the number of elements, ``out`` the per-element losses for
    ``reduction="none"`` (else ``None``) and ``grad`` the gradient of the
    returned loss (``None`` unless ``return_grad``).  For ``"mean"`` the
    gradient is scaled by ``1/count``; ``count`` (the divisor of ``"mean"``)
    defaults to the element count, a weighted mean passes the summed weights.
    """
    first = ops[0]
    shape = first.shape
    n = first.size
    absent, placeholder = _placeholders(dtype)
    if count is None:
        count = n
    gscale = 1.0
    if reduction == "mean" and n > 0:
        gscale = 1.0 / count if count != 0 else math.inf  # 0/0: NaN gradient, as autograd gives

    out = np.empty(shape, dtype=dtype) if reduction == "none" else None
    grad = None
    if return_grad:
        grad = check_out(grad_out, "grad_out", shape, dtype) if grad_out is not None else np.empty(shape, dtype=dtype)
    out_flat = out.reshape(-1) if out is not None else placeholder
    grad_flat = grad.reshape(-1) if grad is not None else placeholder
    # Small inputs run on the calling thread (jit.launch): the work is the
    # element count of the whole call, so every block of one call runs alike.
    small = SERIAL_BELOW_ELEMENTWISE

    def call(full, lo, hi):
        if reduction == "none":
            launch(kernels.pointwise, n, small, *head, *full, out_flat[lo:hi], grad_flat[lo:hi], return_grad)
            return None
        partials = np.empty(_nchunks(hi - lo), dtype=np.float64)
        if return_grad:
            launch(kernels.reduce_grad, n, small, *head, *full, gscale, grad_flat[lo:hi], partials)
        else:
            launch(kernels.reduce, n, small, *head, *full, partials)
        return partials

    if n == 0:
        return (math.nan if reduction == "none" else 0.0), count, out, grad
    direct = True
    for a in ops:
        if a is not None and not (a.dtype == dtype and a.flags.c_contiguous and a.dtype.isnative):
            direct = False
            break
    if direct:
        # The common case: every operand is read in place by one kernel call.
        parts = call([absent if a is None else _operand(a) for a in ops], 0, n)
        if reduction == "none":
            return math.nan, count, out, grad
        return _fsum(parts), count, out, grad

    present = [o is not None for o in ops]
    arrays = [o for o in ops if o is not None]
    it = np.nditer(
        arrays,
        flags=["external_loop", "buffered", "zerosize_ok"],
        op_flags=[["readonly"]] * len(arrays),
        op_dtypes=[dtype] * len(arrays),
        casting="same_kind",
        order="C",
        buffersize=BLOCK,
    )
    parts = []
    lo = 0
    for blocks in it:
        hi = lo + blocks[0].size
        bl = iter(blocks)
        parts.append(call([_operand(next(bl)) if p else absent for p in present], lo, hi))
        lo = hi

    if reduction == "none":
        return math.nan, count, out, grad
    total = math.fsum(itertools.chain.from_iterable(p.tolist() for p in parts))
    return total, count, out, grad


_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_ndarray = np.ndarray


def plain_pair(x, t):
    """The float dtype of the common call's two operands, or ``None``.

    The common call (a training step's) passes two NumPy arrays (not
    subclasses) of one native float32 or float64 dtype, of one shape, both
    C-contiguous and not empty.  For it :func:`run_plain` replaces the
    general preparation (conversions, broadcasting, the buffered path) with a
    few attribute reads; anything else returns ``None`` and takes the general
    path, which handles and validates every other input.  (NumPy's builtin
    native dtypes are singletons, so ``is`` also rules out byte-swapped
    data.)
    """
    if type(x) is _ndarray and type(t) is _ndarray:
        d = x.dtype
        if (d is _F32 or d is _F64) and t.dtype is d and x.shape == t.shape and x.size:
            if x.flags.c_contiguous and t.flags.c_contiguous:
                return d
    return None


def run_plain(kernels, head: tuple, x: np.ndarray, t: np.ndarray, absent: int, dtype: np.dtype,
              reduction: str, return_grad: bool, check=None):
    """:func:`run` then :func:`finish` for operands accepted by
    :func:`plain_pair`, without weights or ``grad_out``, ``reduction`` 'mean'
    or 'sum'; ``absent`` optional operands follow ``x`` and ``t``.  Same
    kernels and chunks as :func:`run`, so the same bits.

    ``check(x, t)``, a kernel, counts invalid elements first; when it finds
    any, nothing is computed and ``None`` is returned: the caller's general
    path then validates and raises its error naming the first one."""
    n = x.size
    ro = _placeholders(dtype)[0]
    ops = (_operand(x), _operand(t)) + (ro,) * absent
    if check is not None and launch(check, n, SERIAL_BELOW_ELEMENTWISE, ops[0], ops[1]):
        return None
    partials = np.empty((n + CHUNK - 1) // CHUNK, dtype=np.float64)
    if return_grad:
        grad = np.empty(x.shape, dtype=dtype)
        gscale = 1.0 / n if reduction == "mean" else 1.0
        launch(kernels.reduce_grad, n, SERIAL_BELOW_ELEMENTWISE, *head, *ops, gscale, grad.reshape(-1), partials)
    else:
        launch(kernels.reduce, n, SERIAL_BELOW_ELEMENTWISE, *head, *ops, partials)
    total = _fsum(partials)
    value = dtype.type(total / n if reduction == "mean" else total)
    return (value, grad) if return_grad else value


def finish(total: float, count: float, reduction: str, dtype: np.dtype, out, grad, return_grad: bool):
    """Turn the driver's float64 total into the value a loss returns."""
    if reduction == "none":
        value = out
    elif reduction == "sum":
        value = dtype.type(total)
    else:
        value = dtype.type(total / count) if count != 0 else dtype.type(math.nan)
    return (value, grad) if return_grad else value


def run_rows(kernel, head: tuple, M: int, D: int, dtype: np.dtype, reduction: str, want: bool, gwidth: int = 1):
    """The frame shared by the row kernels (embedding and margin losses).

    Rows of an ``(M, D)`` operand are grouped in fixed chunks of about
    :data:`CHUNK` elements, one float64 partial per chunk, combined exactly
    (thread-count independent).  The kernel is called as ``kernel(*head,
    out, grad, want, gscale, rows, partials)`` (its serial twin for small
    inputs).  Returns ``(total, M, out64, grad)``: the
    float64 sum of the row losses, the row count, the float64 per-row losses
    and the ``(M, D)`` gradient (or None; ``(M, gwidth * D)`` for kernels
    that write the gradients of ``gwidth`` operands side by side).
    """
    out = np.empty(M, dtype=np.float64)
    grad = np.empty((M, gwidth * D), dtype=dtype) if want else None
    if M == 0:
        return 0.0, 0, out, grad
    rows = max(1, CHUNK // max(D, 1))
    partials = np.empty((M + rows - 1) // rows, dtype=np.float64)
    gscale = 1.0 / M if reduction == "mean" else 1.0
    g = grad if want else np.zeros((1, max(D, 1)), dtype=dtype)
    launch(kernel, M * D, SERIAL_BELOW_ROWS, *head, out, g, bool(want), gscale, rows, partials)
    return _fsum(partials), M, out, grad


def finish_rows(total, count, reduction, dtype, out64, out_shape, grad, grad_shape, return_grad):
    """The returned value of a row loss: per-row losses cast to ``dtype``
    (``'none'``), or the float64 sum/mean as a ``dtype`` scalar; with the
    gradient reshaped to ``grad_shape`` when asked for."""
    if reduction == "none":
        value = out64.astype(dtype).reshape(out_shape)
    elif reduction == "sum":
        value = dtype.type(total)
    else:
        value = dtype.type(total / count) if count > 0 else dtype.type(math.nan)
    if return_grad:
        return value, grad.reshape(grad_shape)
    return value


def grad_buffer(x: np.ndarray, grad_out) -> np.ndarray:
    """The gradient buffer of a loss over ``x``: a fresh ``np.empty`` (first
    touched by the kernel's own parallel pass), or the caller's ``grad_out``,
    checked to be a writeable C-contiguous array of ``x``'s shape and dtype."""
    dtype = np.dtype(x.dtype.type)
    if grad_out is None:
        return np.empty(x.shape, dtype=dtype)
    g = grad_out if isinstance(grad_out, np.ndarray) else to_array(grad_out, "grad_out")
    if g.shape != x.shape or g.dtype != dtype or not g.flags.c_contiguous or not g.flags.writeable:
        raise ValueError(
            f"grad_out must be a writeable C-contiguous array of shape {x.shape} and dtype {dtype}, "
            f"got {_describe(g)}"
        )
    return g
