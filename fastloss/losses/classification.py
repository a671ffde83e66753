"""Classification and distribution losses: binary and multi-class
cross-entropy, negative log-likelihood, KL divergence, focal losses.

Names, arguments and numbers follow ``torch.nn.functional`` (and
``torchvision.ops.sigmoid_focal_loss``), including PyTorch's normalisation
rules.  Common conventions:

* Arrays are positional, options keyword-only.  float32 and float64 inputs
  are computed natively (read in place when C-contiguous); other real dtypes
  are converted (integers to float64, float16 to float32).  All arithmetic and
  every accumulation is float64.
* ``reduction``: ``'mean'`` (default; ``'none'`` for ``sigmoid_focal_loss``
  as in torchvision), ``'sum'`` or ``'none'`` (``kl_div`` also takes
  ``'batchmean'``).  A reduced loss is a NumPy scalar of the input's float
  dtype; ``'none'`` gives an array.
* ``return_grad=True`` returns ``(loss, grad)``: the gradient of the returned
  loss with respect to the first argument, in the input's shape and dtype,
  computed in the same pass (with ``'none'``: the gradient of ``loss.sum()``).
  ``grad_out=`` may be a writeable C-contiguous array of the input's shape
  and dtype to write it into -- for ``cross_entropy``/``nll_loss`` it may be
  the logits array itself (in-place gradient, no ``(N, C)`` allocation).
* Results are bitwise identical for any number of threads (fixed chunks,
  exact ``math.fsum`` of the partial sums).
"""
from __future__ import annotations

import math

import numpy as np

from .._core import checks as _checks
from .._core.consts import NARROW_C, SERIAL_BELOW_SOFTMAX
from .._core import driver as _driver
from .._core.driver import _F32, _F64, _ndarray, check_out, finish, plain_pair, run, run_plain
from .._core.streaming import streamable

from .._core.consts import BCE, BCE_LOGITS, CE_INDEX, CE_SOFT, FOCAL, FOCAL_INDEX, KL, KL_LOG


def _kernels():
    """The kernel module, imported on first use (importing fastloss must not
    import Numba); then this function rebinds itself to a plain return."""
    global _kernels
    from .._kernels.losses import classification

    _kernels = lambda: classification  # noqa: E731
    return classification


_I64 = np.dtype(np.int64)


def _plain_call(reduction, weight, grad_out, return_grad) -> bool:
    """The options of the common call, for which the wrappers try a fast path
    (see :func:`fastloss._core.driver.plain_pair`)."""
    return (weight is None and grad_out is None and type(reduction) is str and (reduction == "mean" or reduction == "sum")
            and (return_grad is False or return_grad is True))


# -- elementwise losses -----------------------------------------------------------


def _first_bad(a: np.ndarray, bad: np.ndarray) -> tuple:
    pos = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), a.shape)
    return tuple(int(p) for p in pos)


def _check_unit_interval(a: np.ndarray, name: str) -> None:
    """Every element in [0, 1] (NaN fails, as in PyTorch); names the first offender."""
    if a.size == 0:
        return
    lo, hi = np.min(a), np.max(a)
    if lo >= 0 and hi <= 1:
        return
    bad = ~((a >= 0) & (a <= 1))
    pos = _first_bad(a, bad)
    raise ValueError(f"all elements of {name} must be in [0, 1], got {a[pos]} at position {pos}")


class _Logistic:
    """The driver's kernel triple for the logistic losses (own vectorised loops)."""

    def __init__(self, k):
        self.reduce, self.reduce_grad, self.pointwise = k.logistic_reduce, k.logistic_reduce_grad, k.logistic_pointwise


_LOGISTIC: list = []


def _logistic(k) -> _Logistic:
    if not _LOGISTIC:
        _LOGISTIC.append(_Logistic(k))
    return _LOGISTIC[0]


def _run(kind, a, b, ops, dtype, reduction, return_grad, grad_out=None):
    """The driver on the elementwise kernels of loss ``kind``: the kernels
    are specialised per loss by a type tag (and the focal loss with gamma 2,
    the common case, gets its own polynomial-only specialisation)."""
    _checks.check_grad_out(grad_out, return_grad)
    k = _kernels()
    if kind == FOCAL and b == 2.0:
        kind = k.FOCAL2
    kernels = _logistic(k) if kind in (BCE_LOGITS, FOCAL, k.FOCAL2) else k
    head = (k.tag(kind), float(a), float(b), ops[2] is not None, ops[3] is not None)
    return run(kernels, head, ops, dtype, reduction, return_grad, grad_out)


def _elementwise(kind, a, b, x, t, w, pw, dtype, reduction, return_grad, grad_out):
    return_grad = _checks.check_bool(return_grad, "return_grad")
    total, n, out, grad = _run(kind, a, b, (x, t, w, pw), dtype, reduction, return_grad, grad_out)
    return finish(total, n, reduction, dtype, out, grad, return_grad)


def _prep_pair(input, target, names=("input", "target")):
    x = _checks.as_float(input, names[0])
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    t = _checks.as_operand(target, names[1], dtype)  # converted block by block by the driver
    _checks.check_same_shape(x, t, names)
    return x, t, dtype


def _prep_bce(input, target, weight, reduction):
    x, t, dtype = _prep_pair(input, target)
    _checks.check_reduction(reduction)
    _check_unit_interval(x, "input")
    _check_unit_interval(t, "target")
    w = _checks.broadcast_weight(weight, x.shape, dtype)
    return x, t, w, dtype


def _stream_bce(input, target, weight=None):
    x, t, w, dtype = _prep_bce(input, target, weight, "sum")
    total, n, _, _ = _run(BCE, 0.0, 0.0, (x, t, w, None), dtype, "sum", False)
    return total, n


@streamable(_stream_bce)
def binary_cross_entropy(input, target, *, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Binary cross-entropy on probabilities.

    .. math:: \ell_i = -w_i\,[\,y_i \max(\log x_i, -100)
              + (1 - y_i) \max(\log(1 - x_i), -100)\,]

    ``input`` (probabilities) and ``target`` have the same shape, any shape;
    ``weight`` broadcasts to it.  As ``torch.nn.functional.binary_cross_entropy``:
    the logs are clamped at -100, and elements of ``input`` or ``target``
    outside [0, 1] (or NaN) are a ``ValueError`` naming the first one.
    ``log(1 - x)`` is computed as ``log1p(-x)`` (full accuracy for tiny x).

    Gradient: :math:`w_i\,(-y_i/x_i + (1-y_i)/(1-x_i))`, each term 0 where
    its log is clamped -- the true derivative of the returned loss.  PyTorch's
    backward instead uses :math:`w(x-y)/\max(x(1-x), 10^{-12})`, which differs
    only where a clamp is active (``x`` within ~1e-44 of 0 or 1).  Prefer
    :func:`binary_cross_entropy_with_logits` for training: it is stable.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(float(fastloss.binary_cross_entropy(np.array([0.9, 0.2]), np.array([1.0, 0.0]))), 6)
    0.164252
    """
    if _plain_call(reduction, weight, grad_out, return_grad):
        dtype = plain_pair(input, target)
        if dtype is not None:
            k = _kernels()
            value = run_plain(k, (k.tag(BCE), 0.0, 0.0, False, False), input, target, 2, dtype, reduction, return_grad,
                              check=k.count_outside_unit)
            if value is not None:
                return value
    x, t, w, dtype = _prep_bce(input, target, weight, reduction)
    return _elementwise(BCE, 0.0, 0.0, x, t, w, None, dtype, reduction, return_grad, grad_out)


def _prep_bce_logits(input, target, weight, pos_weight, reduction):
    x, t, dtype = _prep_pair(input, target)
    _checks.check_reduction(reduction)
    w = _checks.broadcast_weight(weight, x.shape, dtype)
    pw = _checks.broadcast_weight(pos_weight, x.shape, dtype, "pos_weight")
    return x, t, w, pw, dtype


def _stream_bce_logits(input, target, weight=None, pos_weight=None):
    x, t, w, pw, dtype = _prep_bce_logits(input, target, weight, pos_weight, "sum")
    total, n, _, _ = _run(BCE_LOGITS, 0.0, 0.0, (x, t, w, pw), dtype, "sum", False)
    return total, n


@streamable(_stream_bce_logits)
def binary_cross_entropy_with_logits(
    input, target, *, weight=None, pos_weight=None, reduction="mean", return_grad=False, grad_out=None
):
    r"""Binary cross-entropy on logits (sigmoid fused in, numerically stable).

    .. math:: \ell_i = w_i\,[\,p_i y_i \log(1 + e^{-x_i})
              + (1 - y_i) \log(1 + e^{x_i})\,]

    with :math:`p_i` the ``pos_weight`` (default 1).  ``input`` (logits) and
    ``target`` (probabilities, soft targets allowed, not range-checked --
    as PyTorch) have the same shape; ``weight`` and ``pos_weight`` broadcast
    to it, so a ``pos_weight`` of shape ``(C,)`` applies per class along the
    last axis of ``(..., C)``, as in
    ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Computed as :math:`(1-y)x + l\,\mathrm{softplus}(-x)` for x >= 0 and
    :math:`-p y x + l\,\mathrm{softplus}(-x)` for x < 0 with
    :math:`l = 1 + (p-1)y`, so nothing cancels for large ``|x|`` (finite for
    ``|x| = 1e4``).  Gradient :math:`w(\sigma(x)\,l - p y)`.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(float(fastloss.binary_cross_entropy_with_logits(np.array([2.0, -1.0]), np.array([1.0, 0.0]))), 6)
    0.220095
    """
    if pos_weight is None and _plain_call(reduction, weight, grad_out, return_grad):
        dtype = plain_pair(input, target)
        if dtype is not None:
            k = _kernels()
            return run_plain(_logistic(k), (k.tag(BCE_LOGITS), 0.0, 0.0, False, False), input, target, 2, dtype,
                             reduction, return_grad)
    x, t, w, pw, dtype = _prep_bce_logits(input, target, weight, pos_weight, reduction)
    return _elementwise(BCE_LOGITS, 0.0, 0.0, x, t, w, pw, dtype, reduction, return_grad, grad_out)


def _focal_params(alpha, gamma):
    a = _checks.check_scalar(alpha, "alpha", high=1.0)
    g = _checks.check_scalar(gamma, "gamma", low=0.0)
    return a, g


def _stream_sigmoid_focal(inputs, targets, alpha=0.25, gamma=2.0):
    a, g = _focal_params(alpha, gamma)
    x, t, dtype = _prep_pair(inputs, targets, ("inputs", "targets"))
    total, n, _, _ = _run(FOCAL, a, g, (x, t, None, None), dtype, "sum", False)
    return total, n


@streamable(_stream_sigmoid_focal)
def sigmoid_focal_loss(inputs, targets, *, alpha=0.25, gamma=2.0, reduction="none", return_grad=False, grad_out=None):
    r"""Sigmoid focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection").

    .. math:: \ell_i = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(x_i, y_i),
              \quad p = \sigma(x),\ p_t = p y + (1-p)(1-y),\
              \alpha_t = \alpha y + (1-\alpha)(1-y)

    As ``torchvision.ops.sigmoid_focal_loss`` (same argument names and the
    same default ``reduction="none"``; options are keyword-only here):
    ``alpha < 0`` disables the :math:`\alpha_t` factor; ``gamma`` must be
    >= 0 (``gamma=0`` with ``alpha<0`` is
    :func:`binary_cross_entropy_with_logits`).  ``alpha`` must be <= 1.
    ``inputs`` are logits, ``targets`` (soft allowed) of the same shape.
    Computed in float64 without cancellation (``1 - p`` is formed directly
    from ``exp(-|x|)``), finite for ``|x| = 1e4``.  Gradient:

    .. math:: \alpha_t\,[(p - y)(1-p_t)^\gamma
              + \mathrm{BCE}\,\gamma (1-p_t)^{\gamma-1} p(1-p)(1-2y)]

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> out = fastloss.sigmoid_focal_loss(np.array([2.0, -1.0]), np.array([1.0, 0.0]))
    >>> [round(float(v), 6) for v in out]
    [0.000451, 0.016994]
    """
    a, g = _focal_params(alpha, gamma)
    x, t, dtype = _prep_pair(inputs, targets, ("inputs", "targets"))
    _checks.check_reduction(reduction)
    return _elementwise(FOCAL, a, g, x, t, None, None, dtype, reduction, return_grad, grad_out)


def _stream_kl(input, target, log_target=False):
    log_target = _checks.check_bool(log_target, "log_target")
    x, t, dtype = _prep_pair(input, target)
    total, n, _, _ = _run(KL_LOG if log_target else KL, 0.0, 0.0, (x, t, None, None), dtype, "sum", False)
    return total, n


@streamable(_stream_kl)
def kl_div(input, target, *, reduction="mean", log_target=False, return_grad=False, grad_out=None):
    r"""Kullback-Leibler divergence, ``input`` given as log-probabilities.

    .. math:: \ell_i = y_i(\log y_i - x_i) \quad(0 \text{ where } y_i = 0),
              \qquad \ell_i = e^{y_i}(y_i - x_i) \text{ with } \texttt{log\_target=True}

    As ``torch.nn.functional.kl_div``: ``input`` and ``target`` have the same
    shape; ``reduction='mean'`` averages over *all* elements (PyTorch's
    default, which is not the KL divergence of distributions),
    ``'batchmean'`` divides the sum by ``input.shape[0]`` (the mathematically
    right KL per sample; the sum for a 0-d input), ``'sum'``, ``'none'``.
    Gradient: :math:`-y_i` (or :math:`-e^{y_i}`), scaled by the reduction.
    The streaming form (:class:`fastloss.LossAccumulator`) gives ``'mean'``
    and ``'sum'``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> p, q = np.array([[0.5, 0.5]]), np.array([[0.9, 0.1]])
    >>> round(float(fastloss.kl_div(np.log(q), p, reduction="batchmean")), 6)
    0.510826
    """
    _checks.check_reduction(reduction, ("mean", "batchmean", "sum", "none"))
    log_target = _checks.check_bool(log_target, "log_target")
    return_grad = _checks.check_bool(return_grad, "return_grad")
    x, t, dtype = _prep_pair(input, target)
    kind = KL_LOG if log_target else KL
    red = "sum" if reduction == "batchmean" else reduction
    total, n, out, grad = _run(kind, 0.0, 0.0, (x, t, None, None), dtype, red, return_grad, grad_out)
    if reduction == "batchmean":
        b = x.shape[0] if x.ndim else 1
        value = dtype.type(total / b) if b > 0 else dtype.type(math.nan)
        if return_grad:
            if b > 0:
                np.multiply(grad, 1.0 / b, out=grad, casting="unsafe")
            return value, grad
        return value
    return finish(total, n, red, dtype, out, grad, return_grad)


# -- softmax losses ---------------------------------------------------------------


class _Rows:
    """Softmax-loss arguments normalised to rows: x2 (R, C) C-contiguous."""

    __slots__ = ("x", "x2", "dtype", "C", "tgt", "t2", "soft", "cw", "shape_out", "kdim", "moved_shape", "in_range")


def _check_classes(x):
    if x.ndim == 0:
        raise ValueError("input must have at least 1 dimension (C,) or (N, C, ...), got a 0-d array")
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    if C == 0:
        raise ValueError(f"input must have at least one class, got shape {x.shape}")
    return C


def _class_weight(weight, C, wname):
    if weight is None:
        return None
    w = _checks.to_array(weight, wname)
    _checks.float_dtype(w.dtype, wname)
    if w.shape != (C,):
        raise ValueError(f"{wname} must be a 1-D array of shape ({C},) (one weight per class), got shape {w.shape}")
    return np.ascontiguousarray(w, dtype=np.float64)


def _prepare_rows(input, target, weight, ignore_index, name, allow_soft, wname="weight"):
    x = _checks.as_float(input, "input")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    C = _check_classes(x)
    r = _Rows()
    r.x, r.dtype = x, dtype
    r.C = C
    # Index targets have the input's shape without the class axis.
    idx_shape = (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()
    r.shape_out = idx_shape
    tg = _checks.to_array(target, "target")
    if tg.dtype.kind == "f":
        if not allow_soft:
            raise TypeError(f"target of {name} must hold integer class indices, got dtype {tg.dtype}")
        if tg.shape != x.shape:
            raise ValueError(
                f"floating-point target holds class probabilities and must have the input's shape {x.shape}, "
                f"got {tg.shape} (class indices must be an integer array of shape {idx_shape})"
            )
        r.soft = True
        r.tgt = None
    elif tg.dtype.kind in "iu":
        if tg.shape != idx_shape:
            raise ValueError(f"target of class indices must have shape {idx_shape} for input of shape {x.shape}, got {tg.shape}")
        ign = _checks.check_int(ignore_index, "ignore_index")
        r.in_range = _checks.check_labels(tg, "target", C, ignore_index=ign)
        r.soft = False
    else:
        raise TypeError(f"target must be an integer array of class indices or a float array of probabilities, got dtype {tg.dtype}")
    r.cw = _class_weight(weight, C, wname)
    # Rows: (N, C) as is; (C,) as (1, C); (N, C, d1..dk) moved to (N*D, C).
    r.kdim = x.ndim > 2
    if x.ndim == 1:
        r.x2 = _checks.native(x, dtype).reshape(1, C)
    elif x.ndim == 2:
        r.x2 = _checks.native(x, dtype)
    else:
        moved = np.moveaxis(x, 1, -1)
        r.moved_shape = moved.shape
        r.x2 = np.ascontiguousarray(moved, dtype=dtype).reshape(-1, C)
    if r.soft:
        t = tg if x.ndim <= 2 else np.moveaxis(tg, 1, -1)
        r.t2 = np.ascontiguousarray(t, dtype=dtype).reshape(-1, C)
    else:
        r.t2 = None
        r.tgt = np.ascontiguousarray(tg, dtype=np.int64).reshape(-1)
    return r


def _denominator(r: _Rows, ign: int) -> float:
    if r.soft:
        return float(r.x2.shape[0])
    if r.cw is None and not 0 <= ign < r.C and getattr(r, "in_range", False):
        return float(r.tgt.size)  # all labels in [0, C): none equals an out-of-range ignore_index
    valid = r.tgt != ign
    if r.cw is None:
        return float(np.count_nonzero(valid))
    return math.fsum(r.cw[r.tgt[valid]])


def _run_rows(kind, r: _Rows, ign, eps, gamma, reduction, return_grad, grad_out):
    """Run the row kernel; returns (value, grad) as the public functions do."""
    _checks.check_grad_out(grad_out, return_grad)
    k = _kernels()
    R, C = r.x2.shape
    dtype = r.dtype
    den = _denominator(r, ign) if reduction == "mean" else 1.0
    gscale = (1.0 / den if den != 0 else 0.0) if reduction == "mean" else 1.0
    grad = grad2 = None
    if return_grad:
        if grad_out is not None:
            check_out(grad_out, "grad_out", r.x.shape, dtype)
        if r.kdim:
            grad2 = np.empty((R, C), dtype=dtype)
        else:
            grad = grad_out if grad_out is not None else np.empty(r.x.shape, dtype=dtype)
            grad2 = grad.reshape(R, C)
    rowloss = np.empty(R, dtype=np.float64)
    total = 0.0
    if R > 0 and kind == CE_INDEX and r.cw is None and eps == 0.0 and C <= NARROW_C:
        # Few classes: the row-blocked kernel (labels already checked above).
        total = _driver.launch(k.narrow_rows, R * C, SERIAL_BELOW_SOFTMAX, r.x2, r.tgt, int(ign),
                               reduction == "mean", bool(return_grad),
                               grad2 if grad2 is not None else _placeholder(dtype, 2), rowloss)[2]
    elif R > 0:
        total = _driver.launch(
            k.rows, R * C, SERIAL_BELOW_SOFTMAX,
            kind, r.x2,
            r.tgt if r.tgt is not None else _placeholder(np.int64, 1),
            r.t2 if r.t2 is not None else _placeholder(dtype, 2),
            r.cw if r.cw is not None else _placeholder(np.float64, 1, 1.0),
            r.cw is not None,
            float(math.fsum(r.cw)) if r.cw is not None else float(C),
            int(ign), float(eps), float(gamma), float(gscale), bool(return_grad),
            grad2 if grad2 is not None else _placeholder(dtype, 2),
            rowloss,
            dtype == np.float32,
        )
    if r.kdim and return_grad:
        back = np.moveaxis(grad2.reshape(r.moved_shape), -1, 1)
        if grad_out is not None:
            np.copyto(grad_out, back)
            grad = grad_out
        else:
            grad = np.ascontiguousarray(back)
    if reduction == "none":
        value = rowloss.astype(dtype).reshape(r.shape_out)
    elif reduction == "sum":
        value = dtype.type(total)
    else:
        value = dtype.type(total / den) if den != 0 else dtype.type(math.nan)
    return (value, grad) if return_grad else value


_PLACEHOLDERS: dict = {}


def _placeholder(dtype, ndim, fill=0.0):
    """A 1-element stand-in for an absent kernel operand, made once per
    (dtype, ndim) instead of per call.  Writeable, as the arrays it stands
    for (the same Numba type, so no extra compile); the kernel neither reads
    nor writes an absent operand."""
    key = (dtype, ndim, fill)
    a = _PLACEHOLDERS.get(key)
    if a is None:
        a = _PLACEHOLDERS[key] = np.full((1,) * ndim, fill, dtype=dtype)
    return a


def _check_common(reduction, ignore_index, return_grad):
    _checks.check_reduction(reduction)
    ign = _checks.check_int(ignore_index, "ignore_index")
    _checks.check_bool(return_grad, "return_grad")
    return ign


def _label_smoothing(v):
    return _checks.check_scalar(v, "label_smoothing", low=0.0, high=1.0)


def _stream_ce(input, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    ign = _checks.check_int(ignore_index, "ignore_index")
    eps = _label_smoothing(label_smoothing)
    r = _prepare_rows(input, target, weight, ign, "cross_entropy", True)
    total = _run_rows(CE_SOFT if r.soft else CE_INDEX, r, ign, eps, 0.0, "sum", False, None)
    return float(total), _denominator(r, ign)


@streamable(_stream_ce)
def cross_entropy(
    input, target, *, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean",
    return_grad=False, grad_out=None,
):
    r"""Softmax cross-entropy on logits, as ``torch.nn.functional.cross_entropy``.

    Shapes: ``input`` logits ``(N, C)``, ``(N, C, d1, ..., dk)`` or unbatched
    ``(C,)``.  ``target`` either class indices (an integer array of shape
    ``(N,)``, ``(N, d1, ..., dk)`` or ``()``; values in ``[0, C)`` or equal to
    ``ignore_index``) or class probabilities (a float array of ``input``'s
    shape).  ``weight``: optional per-class weights of shape ``(C,)``.

    Index targets, with :math:`\varepsilon` = ``label_smoothing`` and
    :math:`\log p = \log\mathrm{softmax}(x)` over the class axis:

    .. math:: \ell_n = (1-\varepsilon)\,w_{y_n}(-\log p_{n,y_n})
              + \frac{\varepsilon}{C}\sum_c w_c(-\log p_{n,c})

    (0 for ignored targets); ``'mean'`` divides the sum by
    :math:`\sum_n w_{y_n}` over the non-ignored targets (NaN when all are
    ignored; the gradient is then 0, as PyTorch's).  Probability targets:
    :math:`\ell_n = -\sum_c w_c\,t'_{n,c}\log p_{n,c}` with
    :math:`t' = (1-\varepsilon)t + \varepsilon/C`, and ``'mean'`` divides by
    the number of rows :math:`N d_1\cdots d_k` (``ignore_index`` unused).
    ``'none'`` has the index target's shape.

    Gradient (``return_grad=True``), fused in one pass over each row
    (max, :math:`\sum e^{x-m}` and the gradient :math:`\mathrm{softmax} -
    \text{target}` written straight into the output):
    at most one ``(N, C)`` allocation, none with ``grad_out=`` (which may be
    ``input`` itself for an in-place gradient).  ``(N, C, d1..dk)`` inputs
    are moved to ``(N d, C)`` rows first (one transposed copy, and one for the
    gradient).

    Differences from PyTorch: any integer dtype is accepted for indices
    (PyTorch wants int64/uint8); integral float arrays are not indices (as
    PyTorch: float targets are probabilities).  Invalid labels are a
    ``ValueError`` naming the first offending position.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
    >>> round(float(fastloss.cross_entropy(x, np.array([0, 2]))), 6)
    0.669962
    >>> loss, g = fastloss.cross_entropy(x, np.array([0, 2]), return_grad=True)
    >>> np.round(g.sum(axis=1), 12).tolist()  # softmax - onehot sums to 0 per row
    [0.0, 0.0]
    """
    if (_plain_call(reduction, weight, grad_out, return_grad) and type(ignore_index) is int
            and (type(label_smoothing) is float or type(label_smoothing) is int) and label_smoothing == 0):
        value = _ce_plain(input, target, ignore_index, reduction, return_grad)
        if value is not None:
            return value
    ign = _check_common(reduction, ignore_index, return_grad)
    eps = _label_smoothing(label_smoothing)
    r = _prepare_rows(input, target, weight, ign, "cross_entropy", True)
    return _run_rows(CE_SOFT if r.soft else CE_INDEX, r, ign, eps, 0.0, reduction, return_grad, grad_out)


def _ce_plain(x, y, ign, reduction, want):
    """cross_entropy's common call: (N, C) float logits and (N,) int64 labels,
    both plain C-contiguous NumPy arrays, no weights or smoothing.  Same
    kernel, arguments and summation as the general path (the same bits); the
    labels are checked, and the non-ignored ones counted, by one compiled
    pass (``scan_labels``) before the row kernel reads with them.  Returns
    ``None`` for anything else, and for a bad label, which the general path
    then reports."""
    if type(x) is not _ndarray or type(y) is not _ndarray or x.ndim != 2:
        return None
    d = x.dtype
    if (d is not _F32 and d is not _F64) or y.dtype is not _I64:
        return None
    R, C = x.shape
    if y.shape != (R,) or R == 0 or C == 0 or not (x.flags.c_contiguous and y.flags.c_contiguous):
        return None
    k = _kernels()
    mean = reduction == "mean"
    if C <= NARROW_C:
        grad = np.empty((R, C), dtype=d) if want else _placeholder(d, 2)
        bad, valid, total = _driver.launch(k.narrow_rows, R * C, SERIAL_BELOW_SOFTMAX, x, y, ign, mean, want, grad,
                                           np.empty(R, dtype=np.float64))
        if bad >= 0:
            return None
        value = d.type(total / valid if valid else math.nan) if mean else d.type(total)
        return (value, grad) if want else value
    bad, valid = k.scan_labels(y, C, ign)
    if bad >= 0:
        return None
    gscale = (1.0 / valid if valid else 0.0) if mean else 1.0
    grad = np.empty((R, C), dtype=d) if want else _placeholder(d, 2)
    rowloss = np.empty(R, dtype=np.float64)
    total = _driver.launch(k.rows, R * C, SERIAL_BELOW_SOFTMAX, CE_INDEX, x, y, _placeholder(d, 2),
                           _placeholder(np.float64, 1, 1.0), False, float(C), ign, 0.0, 0.0, gscale, want, grad,
                           rowloss, d is _F32)
    value = d.type(total / valid if valid else math.nan) if mean else d.type(total)
    return (value, grad) if want else value


def _prepare_nll(input, target, weight, ign):
    x = _checks.as_float(input, "input")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    C = _check_classes(x)
    tg = _checks.to_array(target, "target")
    if tg.dtype.kind not in "iu":
        raise TypeError(f"target of nll_loss must be an integer array of class indices, got dtype {tg.dtype}")
    idx_shape = (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()
    if tg.shape != idx_shape:
        raise ValueError(f"target of class indices must have shape {idx_shape} for input of shape {x.shape}, got {tg.shape}")
    _checks.check_labels(tg, "target", C, ignore_index=ign)
    cw = _class_weight(weight, C, "weight")
    # (N, C, D) view (copy only if the input cannot be reshaped) and (N, 1, D) indices.
    N = x.shape[0] if x.ndim >= 2 else 1
    D = int(np.prod(x.shape[2:], dtype=np.int64)) if x.ndim >= 2 else 1
    x3 = x.reshape(N, C, D)
    t3 = np.asarray(tg, dtype=np.int64).reshape(N, 1, D)
    valid = t3 != ign
    safe = np.where(valid, t3, 0)
    wy = cw[safe] if cw is not None else np.ones(safe.shape)
    wy = np.where(valid, wy, 0.0)
    return x, dtype, idx_shape, x3, safe, valid, wy


def _target_index(x3, safe):
    """Index tuple picking x3[n, safe[n, 0, d], d]: advanced indexing reads
    only those N*D values, for any strides (take_along_axis was 3x slower)."""
    N, _, D = x3.shape
    return (np.arange(N)[:, None, None], safe, np.arange(D)[None, None, :])


def _nll_terms(x3, safe, valid, wy):
    """Per-target losses -w_y x[n, y_n] (0 where ignored), float64, (N, 1, D)."""
    if x3.dtype.isnative and x3.size:
        vals = np.empty(safe.shape, dtype=np.float64)
        _kernels().gather_targets(x3, safe, vals)
    else:
        vals = x3[_target_index(x3, safe)].astype(np.float64)
    return -wy * np.where(valid, vals, 0.0)


def _stream_nll(input, target, weight=None, ignore_index=-100):
    ign = _checks.check_int(ignore_index, "ignore_index")
    x, dtype, idx_shape, x3, safe, valid, wy = _prepare_nll(input, target, weight, ign)
    return float(np.sum(_nll_terms(x3, safe, valid, wy))), float(np.sum(wy))


@streamable(_stream_nll)
def nll_loss(input, target, *, weight=None, ignore_index=-100, reduction="mean", return_grad=False, grad_out=None):
    r"""Negative log-likelihood, as ``torch.nn.functional.nll_loss``.

    .. math:: \ell_n = -w_{y_n}\,x_{n, y_n}

    ``input``: log-probabilities ``(N, C)``, ``(N, C, d1, ..., dk)`` or
    ``(C,)``; ``target``: integer class indices of shape ``(N,)``,
    ``(N, d1, ..., dk)`` or ``()`` in ``[0, C)`` or equal to ``ignore_index``
    (loss 0).  ``'mean'`` divides by the summed weights :math:`\sum_n
    w_{y_n}` of the non-ignored targets (NaN when all are ignored).  Gradient:
    :math:`-w_{y_n}` (scaled for ``'mean'``) at the target entries, 0
    elsewhere; ``grad_out`` may be ``input`` itself (it is overwritten after
    the needed entries are read).  Equal to :func:`cross_entropy` of the
    log-softmax.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> logp = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    >>> round(float(fastloss.nll_loss(logp, np.array([0, 2]))), 6)
    0.289909
    """
    ign = _check_common(reduction, ignore_index, return_grad)
    _checks.check_grad_out(grad_out, return_grad)
    x, dtype, idx_shape, x3, safe, valid, wy = _prepare_nll(input, target, weight, ign)
    # Gather first: with grad_out=input the gradient overwrites the input.
    # A gather of N*D values: summed in float64 by NumPy's pairwise sum
    # (deterministic, ~1e-16 relative), not by the chunked kernels.
    per = _nll_terms(x3, safe, valid, wy)  # (N, 1, D)
    den = float(np.sum(wy))
    if reduction == "none":
        value = per.astype(dtype).reshape(idx_shape)
        gscale = 1.0
    elif reduction == "sum":
        value = dtype.type(np.sum(per))
        gscale = 1.0
    else:
        value = dtype.type(np.sum(per) / den) if den != 0 else dtype.type(math.nan)
        gscale = 1.0 / den if den != 0 else 0.0
    if not return_grad:
        return value
    if grad_out is not None:
        grad = check_out(grad_out, "grad_out", x.shape, dtype)
        grad.fill(0)
    else:
        grad = np.zeros(x.shape, dtype=dtype)
    if grad.size:
        grad.reshape(x3.shape)[_target_index(x3, safe)] = (-wy * gscale).astype(dtype)
    return value, grad


def _stream_focal(input, target, gamma=2.0, alpha=None, ignore_index=-100):
    ign = _checks.check_int(ignore_index, "ignore_index")
    g = _checks.check_scalar(gamma, "gamma", low=0.0)
    r = _prepare_rows(input, target, alpha, ign, "softmax_focal_loss", False, "alpha")
    total = _run_rows(FOCAL_INDEX, r, ign, 0.0, g, "sum", False, None)
    return float(total), _denominator(r, ign)


@streamable(_stream_focal)
def softmax_focal_loss(
    input, target, *, gamma=2.0, alpha=None, ignore_index=-100, reduction="mean", return_grad=False, grad_out=None
):
    r"""Multi-class (softmax) focal loss (Lin et al. 2017).

    .. math:: \ell_n = -\alpha_{y_n}\,(1 - p_{n,y_n})^\gamma \log p_{n,y_n},
              \quad p = \mathrm{softmax}(x)

    Shapes as :func:`cross_entropy` with index targets: ``input`` ``(N, C)``,
    ``(N, C, d1..dk)`` or ``(C,)``; ``target`` integer indices.  ``alpha``:
    optional per-class weights ``(C,)``; ``gamma`` >= 0.  ``'mean'`` divides
    by the summed :math:`\alpha_{y_n}` of the non-ignored targets (the count
    without ``alpha``), so ``gamma=0`` gives exactly
    ``cross_entropy(input, target, weight=alpha)``.  PyTorch has no such
    function.  :math:`1 - p_y` is computed as ``-expm1(log p_y)`` (no
    cancellation for confident predictions).  Gradient with respect to the
    logits: :math:`\alpha_y F (p - \mathrm{onehot}(y))`,
    :math:`F = (1-p_y)^\gamma - \gamma (1-p_y)^{\gamma-1} p_y \log p_y`.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
    >>> round(float(fastloss.softmax_focal_loss(x, np.array([0, 2]))), 6)
    0.249682
    """
    ign = _check_common(reduction, ignore_index, return_grad)
    g = _checks.check_scalar(gamma, "gamma", low=0.0)
    r = _prepare_rows(input, target, alpha, ign, "softmax_focal_loss", False, "alpha")
    return _run_rows(FOCAL_INDEX, r, ign, 0.0, g, reduction, return_grad, grad_out)



__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "kl_div",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
]
