"""Margin losses for classifiers: binary / Crammer-Singer hinge and PyTorch's multi-margin loss.

Common arguments as in the
rest of fastloss: ``reduction`` in ``'mean'`` (default), ``'sum'``,
``'none'``; reduced losses are NumPy scalars of the input's float dtype
(float32/float64 native, other real dtypes converted), accumulated in
float64 over fixed chunks combined exactly (thread-count independent);
``return_grad=True`` returns ``(loss, grad)`` with ``grad`` the gradient of
the returned loss w.r.t. ``input`` (of ``loss.sum()`` for ``'none'``), same
shape and dtype as ``input``.  NaN scores propagate to the loss (PyTorch's
``multi_margin_loss`` silently skips NaN scores of non-target classes).
"""
from __future__ import annotations

import math

import numpy as np

from .._core import checks as _checks
from .._core.driver import finish, finish_rows, run_rows
from .._core.streaming import streamable
from .._core.streaming import sum_stream as _sum_stream

from .._core.consts import CHUNK, HINGE_MC, MULTI_MARGIN


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.losses import margin

    return margin


def _run_rows(kind, x, dtype, reduction, want, *, margin, flag, idx, cw):
    """Run :func:`fastloss._kernels.losses.margin.rowwise` on (N, C) scores
    (see :func:`fastloss._core.driver.run_rows` for what it returns)."""
    has_cw = cw is not None
    cw = np.ones(1) if cw is None else cw

    head = (kind, float(margin), bool(flag), x, idx, cw, has_cw)
    return run_rows(_kernels().rowwise, head, *x.shape, dtype, reduction, want)


# --------------------------------------------------------------------------- hinge


def _is_multiclass(x: np.ndarray, t: np.ndarray) -> bool:
    return x.ndim == 2 and x.shape[1] >= 2 and t.ndim == 1 and t.shape[0] == x.shape[0]


def _binary_targets(t: np.ndarray, dtype) -> tuple[np.ndarray, bool]:
    """Check binary targets (all in {-1, +1} or all in {0, 1}); returns (targets, zero_one)."""
    if t.dtype.kind not in "biuf":
        raise TypeError(f"target must be a real or boolean array, got dtype {t.dtype}")
    if t.dtype.kind == "b":
        return t.astype(dtype), True
    tt = _checks.as_float(t, "target", dtype)
    if tt.size == 0:
        return tt, False
    lo, hi = np.min(tt), np.max(tt)
    ok_set = (lo in (-1.0, 0.0, 1.0)) and (hi in (-1.0, 0.0, 1.0)) and not (lo == -1.0 and hi == 0.0)
    if ok_set:
        ok = (tt == lo) | (tt == hi)
        ok_all = bool(ok.all())
    if not ok_set or not ok_all:
        if ok_set:
            bad = ~ok
        else:
            bad = ~np.isin(tt, [-1.0, 1.0]) if lo < 0 else ~np.isin(tt, [0.0, 1.0])
        pos = tuple(int(p) for p in np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), tt.shape))
        raise ValueError(
            "binary target must hold -1/+1 or 0/1 (not a mixture of -1 and 0), "
            f"got {float(tt[pos])} at position {pos} (target values range from {lo} to {hi})"
        )
    return tt, bool(lo == 0.0)


def _run_binary(x, t, w, dtype, margin, squared, zero_one, reduction, want):
    """The binary hinge on C-contiguous copies where needed (one kernel per dtype;
    non-contiguous inputs are copied once, as for the row losses)."""
    shape = x.shape
    n = int(x.size)
    xf = _checks.native(x, dtype).reshape(-1)
    tf = _checks.native(t, dtype).reshape(-1)
    wf = np.array(w, dtype=dtype, order="C").reshape(-1) if w is not None else np.ones(1, dtype=dtype)
    out = np.empty(shape, dtype=dtype) if reduction == "none" else None
    grad = np.empty(shape, dtype=dtype) if want else None
    if n == 0:
        return 0.0, 0, out, grad
    k = _kernels()
    partials = np.empty((n + CHUNK - 1) // CHUNK, dtype=np.float64)
    placeholder = np.empty(1, dtype=dtype)
    o = out.reshape(-1) if out is not None else placeholder
    g = grad.reshape(-1) if grad is not None else placeholder
    if reduction == "none":
        mode, gscale = k.POINTWISE, (1.0 if want else 0.0)
    elif want:
        mode, gscale = k.REDUCE_GRAD, (1.0 / n if reduction == "mean" else 1.0)
    else:
        mode, gscale = k.REDUCE, 1.0
    k.binary(margin, squared, zero_one, w is not None, xf, tf, wf, mode, gscale, o, g, partials)
    return math.fsum(partials), n, out, grad


def _hinge(input, target, margin, squared, weight, reduction, want):
    x = _checks.as_float(input, "input")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    t = _checks.to_array(target, "target")
    margin = _checks.check_scalar(margin, "margin", low=0.0)
    squared = _checks.check_bool(squared, "squared")
    _checks.check_reduction(reduction)
    if _is_multiclass(x, t):
        N, C = x.shape
        idx = _checks.as_int_array(t, "target")
        _checks.check_labels(idx, "target", C)
        w = None
        if weight is not None:
            wa = _checks.as_float(weight, "weight")
            try:
                w = np.array(np.broadcast_to(wa, (N,)), dtype=np.float64)
            except ValueError:
                raise ValueError(
                    f"weight (per-sample) of shape {wa.shape} does not broadcast to ({N},) for (N, C) scores"
                ) from None
        total, n, out, grad = _run_rows(HINGE_MC, _checks.native(x, dtype), dtype, reduction, want,
                                        margin=margin, flag=squared, idx=np.array(idx, dtype=np.int64), cw=w)
        return "rows", total, n, out, grad, dtype, (N,), x.shape
    if t.ndim == 1 and x.ndim == 2 and x.shape == (t.shape[0], 1):
        t = t.reshape(-1, 1)  # sklearn's column vector of decisions
    if t.shape != x.shape:
        raise ValueError(
            f"target must have input's shape {x.shape} (binary hinge) or shape (N,) with class indices for "
            f"(N, C) scores (multi-class hinge), got target.shape={t.shape}"
        )
    tt, zero_one = _binary_targets(t, dtype)
    w = _checks.broadcast_weight(weight, x.shape, dtype)
    total, n, out, grad = _run_binary(x, tt, w, dtype, margin, squared, zero_one, reduction, want)
    return "elem", total, n, out, grad, dtype, x.shape, x.shape


def _hinge_stream(input, target, *, margin=1.0, squared=False, weight=None):
    _, total, n, *_ = _hinge(input, target, margin, squared, weight, "sum", False)
    return total, float(n)


@streamable(_hinge_stream)
def hinge_loss(input, target, *, margin=1.0, squared=False, weight=None, reduction="mean", return_grad=False):
    r"""Hinge loss: binary, or Crammer-Singer multi-class for ``(N, C)`` scores.

    Binary (``target`` of ``input``'s shape, any shape):

    .. math:: \ell_i = w_i \max(0,\; m - y_i x_i)^q, \quad y_i \in \{-1, +1\}

    Targets are all in {-1, +1} or all in {0, 1} (0 is mapped to -1); bool
    targets are 0/1.  Multi-class (``input`` of shape ``(N, C)``, C >= 2,
    ``target`` of shape ``(N,)`` holding class indices in ``[0, C)``;
    Crammer & Singer 2001):

    .. math:: \ell_i = w_i \max\bigl(0,\; m - x_{i,y_i} + \max_{k \ne y_i} x_{i,k}\bigr)^q

    :math:`q = 2` if ``squared`` else 1.

    Parameters
    ----------
    input : array
        Decision values: any shape (binary), or ``(N, C)`` (multi-class).
        ``(N, 1)`` with ``(N,)`` targets is binary, as in scikit-learn.
    target : array
        Binary labels of ``input``'s shape, or integer class indices ``(N,)``.
    margin : float, default 1.0
        ``m >= 0``; scikit-learn's fixed margin is 1.
    squared : bool, default False
        Squared hinge (the L2-SVM loss, scikit-learn ``LinearSVC``'s
        default ``loss='squared_hinge'``).
    weight : array, optional
        Per-element (binary: broadcast to ``input``'s shape) or per-sample
        (multi-class: broadcast to ``(N,)``) weights scaling each loss.  As
        everywhere in fastloss (PyTorch's convention), ``'mean'`` still
        divides by the number of losses; scikit-learn's ``sample_weight``
        average is ``hinge_loss(..., weight=w, reduction='sum') / w.sum()``.
    reduction : {'mean', 'sum', 'none'}
        ``'none'`` gives ``input``'s shape (binary) or ``(N,)`` (multi-class).
    return_grad : bool
        Gradient w.r.t. ``input``: binary :math:`-q\,h^{q-1} y_i` where
        :math:`h = m - y_i x_i > 0`; multi-class :math:`-q\,h^{q-1}` at the
        true class and :math:`+q\,h^{q-1}` at the highest-scoring other class
        (the first one on ties).  0 at and beyond the margin (including the
        kink :math:`h = 0`).

    Notes
    -----
    With ``margin=1``, ``squared=False``, no weights and ``'mean'``, this
    equals ``sklearn.metrics.hinge_loss(target, input)``: in the binary case
    for {-1, +1} or {0, 1} labels; in the multi-class case when the labels
    are ``0..C-1`` (scikit-learn re-encodes the sorted distinct labels of
    ``y_true`` -- or of ``labels=`` -- to column indices, so it agrees when
    every class occurs or ``labels=np.arange(C)`` is passed).  ``margin``,
    ``squared``, ``reduction``, N-D binary inputs and gradients go beyond
    scikit-learn.  PyTorch's ``hinge_embedding_loss`` is a different loss;
    for PyTorch's multi-class hinge see :func:`multi_margin_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastloss import hinge_loss
    >>> float(hinge_loss(np.array([0.5, -2.0, 1.5]), np.array([1, 1, -1])))
    2.0
    >>> scores = np.array([[2.0, 1.5, 0.0], [0.0, 0.0, 3.0]])
    >>> hinge_loss(scores, np.array([0, 2]), reduction="none")
    array([0.5, 0. ])
    """
    want = _checks.check_bool(return_grad, "return_grad")
    mode, total, n, out, grad, dtype, out_shape, gshape = _hinge(input, target, margin, squared, weight, reduction,
                                                                 want)
    if mode == "elem":
        return finish(total, n, reduction, dtype, out, grad, want)

    return finish_rows(total, n, reduction, dtype, out, out_shape, grad, gshape, want)


# --------------------------------------------------------------------------- multi-margin


def _multi_margin(input, target, p, margin, weight, reduction, want):
    x = _checks.as_float(input, "input")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)) or p not in (1, 2):
        raise ValueError(f"p must be 1 or 2 (as torch.nn.functional.multi_margin_loss), got {p!r}")
    margin = _checks.check_scalar(margin, "margin")
    _checks.check_reduction(reduction)
    t = _checks.as_int_array(target, "target")
    if x.ndim == 1:
        if t.shape not in ((), (1,)):
            raise ValueError(f"target must be 0-d or of shape (1,) for 1-D input of shape {x.shape}, got {t.shape}")
        x2 = x.reshape(1, -1)
        out_shape = t.shape
    elif x.ndim == 2:
        if t.shape != (x.shape[0],):
            raise ValueError(f"target must have shape ({x.shape[0]},) for input of shape {x.shape}, got {t.shape}")
        x2 = x
        out_shape = t.shape
    else:
        raise ValueError(f"input must have shape (N, C) or (C,), got shape {x.shape}")
    C = x2.shape[1]
    if C == 0:
        raise ValueError(f"input must have at least one class, got shape {x.shape}")
    _checks.check_labels(t, "target", C)
    cw = None
    if weight is not None:
        wa = _checks.as_float(weight, "weight")
        if wa.shape != (C,):
            raise ValueError(f"weight must have shape ({C},) (one weight per class), got shape {wa.shape}")
        cw = np.array(wa, dtype=np.float64)
    idx = np.array(t.reshape(-1), dtype=np.int64)
    total, n, out, grad = _run_rows(MULTI_MARGIN, _checks.native(x2, dtype), dtype, reduction, want,
                                    margin=margin, flag=(p == 2), idx=idx, cw=cw)
    return total, n, out, grad, dtype, out_shape, x.shape


def _multi_margin_stream(input, target, *, p=1, margin=1.0, weight=None):
    total, n, *_ = _multi_margin(input, target, p, margin, weight, "sum", False)
    return total, float(n)


@streamable(_multi_margin_stream)
def multi_margin_loss(input, target, *, p=1, margin=1.0, weight=None, reduction="mean", return_grad=False):
    r"""Multi-class margin loss, as ``torch.nn.functional.multi_margin_loss``.

    .. math:: \ell_i = \frac{1}{C} \sum_{k \ne y_i} w_{y_i}
              \max(0,\; m - x_{i,y_i} + x_{i,k})^p

    (Weston & Watkins style: every wrong class that comes within the margin
    contributes; compare :func:`hinge_loss`, which takes only the largest.)

    Parameters
    ----------
    input : array, shape ``(N, C)`` or ``(C,)``
    target : integer array, shape ``(N,)`` (0-d or ``(1,)`` for 1-D input)
        Class indices in ``[0, C)``; anything else is a ValueError naming
        the first offending position.
    p : {1, 2}, default 1
    margin : float, default 1.0
        Any finite value, as PyTorch.
    weight : array, shape ``(C,)``, optional
        Per-class weights; as in PyTorch, the weight of the *target* class
        multiplies the row's loss (after the power) and ``'mean'`` divides by
        N, not by the summed weights.
    reduction, return_grad
        ``'none'`` has ``target``'s shape.  Gradient w.r.t. ``input``.

    Notes
    -----
    Differences from PyTorch: ``'mean'`` of an empty batch is NaN (PyTorch
    2.x returns an uninitialised value); a NaN score of a non-target class
    gives a NaN loss (PyTorch's kernel skips it); any integer dtype is
    accepted for ``target``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastloss import multi_margin_loss
    >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
    >>> round(float(multi_margin_loss(x, np.array([3]))), 6)
    0.325
    """
    want = _checks.check_bool(return_grad, "return_grad")

    total, n, out, grad, dtype, out_shape, gshape = _multi_margin(input, target, p, margin, weight, reduction, want)
    return finish_rows(total, n, reduction, dtype, out, out_shape, grad, gshape, want)




# =================================================== torch's other margin losses (issue 16)
# soft_margin_loss, hinge_embedding_loss, margin_ranking_loss and
# multilabel_soft_margin_loss run one fused elementwise kernel through the
# driver (fixed chunks, float64 partials combined exactly);
# multilabel_margin_loss is a row kernel.


def _elementwise(kind, p, x, a, b, dtype, reduction, return_grad, grad_out, count=None):
    from .._core.driver import run

    k = _kernels()
    _checks.check_reduction(reduction)
    return_grad = _checks.check_bool(return_grad, "return_grad")
    total, n, out, grad = run(k.elementwise, (k.tag(kind), float(p), b is not None), (x, a, b), dtype, reduction,
                              return_grad, grad_out, count=count)
    return total, n, out, grad, return_grad


def _float_pair(input, target, names=("input", "target")):
    x = _checks.as_float(input, names[0])
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    t = _checks.as_float(target, names[1], dtype)
    return x, t, dtype


@_sum_stream("size")
def soft_margin_loss(input, target, *, reduction="mean", return_grad=False, grad_out=None):
    r"""Two-class logistic loss :math:`\ell = \log(1 + e^{-y x})`, ``y`` in {-1, 1}.

    Parameters
    ----------
    input : array of any shape
    target : array of ``input``'s shape (values used as given, as torch)
    reduction : {'mean', 'sum', 'none'}
    return_grad : bool
        Also return :math:`-y \sigma(-y x)` (scaled for ``'mean'``).
    grad_out : array, optional

    Returns
    -------
    scalar or array of ``input``'s shape; with ``return_grad`` ``(loss, grad)``.

    Notes
    -----
    Same as ``torch.nn.functional.soft_margin_loss`` (computed without
    overflow for large margins).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(float(fastloss.soft_margin_loss(np.array([2.0, -1.0]), np.array([1.0, 1.0]))), 6)
    0.720095
    """
    x, t, dtype = _float_pair(input, target)
    _checks.check_same_shape(x, t, ("input", "target"))
    total, n, out, grad, rg = _elementwise(_kernels().SOFT_MARGIN, 0.0, x, t, None, dtype, reduction, return_grad, grad_out)
    return finish(total, n, reduction, dtype, out, grad, rg)


@_sum_stream("size")
def hinge_embedding_loss(input, target, *, margin=1.0, reduction="mean", return_grad=False, grad_out=None):
    r"""Hinge embedding loss: :math:`\ell = x` where ``y = 1``,
    :math:`\max(0, \text{margin} - x)` where ``y = -1``.

    Parameters
    ----------
    input : array of any shape
        Typically distances.
    target : array of ``input``'s shape
        1 or -1.  (Other values get both terms, exactly as torch computes
        ``where(y != 1, clamp(margin - x, 0), 0) + where(y != -1, x, 0)``.)
    margin : float
    reduction, return_grad, grad_out
        As :func:`soft_margin_loss`; the gradient at ``x == margin`` is
        torch's (-1 for ``y = -1``).

    Returns
    -------
    scalar or array of ``input``'s shape; with ``return_grad`` ``(loss, grad)``.

    Notes
    -----
    Same as ``torch.nn.functional.hinge_embedding_loss``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.hinge_embedding_loss(np.array([0.3, 0.4]), np.array([1.0, -1.0])))
    0.45
    """
    x, t, dtype = _float_pair(input, target)
    _checks.check_same_shape(x, t, ("input", "target"))
    m = _checks.check_scalar(margin, "margin", finite=True)
    total, n, out, grad, rg = _elementwise(_kernels().HINGE_EMBEDDING, m, x, t, None, dtype, reduction, return_grad,
                                           grad_out)
    return finish(total, n, reduction, dtype, out, grad, rg)


@_sum_stream("size")
def margin_ranking_loss(input1, input2, target, *, margin=0.0, reduction="mean", return_grad=False, grad_out=None):
    r"""Margin ranking loss :math:`\ell = \max(0, -y (x_1 - x_2) + \text{margin})`.

    Parameters
    ----------
    input1, input2 : arrays of the same shape
    target : array of that shape
        1 (``input1`` should rank higher) or -1.
    margin : float
    reduction : {'mean', 'sum', 'none'}
    return_grad : bool
        Also return the gradient w.r.t. ``input1``, :math:`-y` where the
        hinge is active; the gradient w.r.t. ``input2`` is its negative.
    grad_out : array, optional

    Returns
    -------
    scalar or array; with ``return_grad`` ``(loss, grad_input1)``.

    Notes
    -----
    Same as ``torch.nn.functional.margin_ranking_loss`` (same shapes
    required; torch broadcasts, fastloss asks for equal shapes).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.margin_ranking_loss(np.array([1.0, 0.0]), np.array([0.5, 0.5]), np.array([1.0, 1.0]), margin=0.1))
    0.3
    """
    x1, x2, dtype = _float_pair(input1, input2, ("input1", "input2"))
    y = _checks.as_float(target, "target", dtype)
    _checks.check_same_shape(x1, x2, ("input1", "input2"))
    _checks.check_same_shape(x1, y, ("input1", "target"))
    m = _checks.check_scalar(margin, "margin", finite=True)
    total, n, out, grad, rg = _elementwise(_kernels().MARGIN_RANKING, m, x1, x2, y, dtype, reduction, return_grad,
                                           grad_out)
    return finish(total, n, reduction, dtype, out, grad, rg)


@_sum_stream("rows")
def multilabel_soft_margin_loss(input, target, *, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Multilabel one-vs-all logistic loss, per sample
    :math:`\ell_n = -\frac1C \sum_c w_c [y_{nc} \log\sigma(x_{nc}) + (1 - y_{nc}) \log\sigma(-x_{nc})]`.

    Parameters
    ----------
    input : array of shape (N, C) or (C,)
    target : array of ``input``'s shape, 0/1 (any real value is used as given)
    weight : array of shape (C,), optional
        Per-class weight.
    reduction : {'mean', 'sum', 'none'}
        Over the N per-sample losses (``'none'``: shape (N,)).
    return_grad : bool
        Gradient w.r.t. ``input``: :math:`w_c (\sigma(x) - y) / C`, scaled
        by 1/N for ``'mean'``.
    grad_out : array, optional

    Returns
    -------
    scalar or array of shape (N,); with ``return_grad`` ``(loss, grad)``.

    Notes
    -----
    Same as ``torch.nn.functional.multilabel_soft_margin_loss``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(float(fastloss.multilabel_soft_margin_loss(np.array([[2.0, -1.0]]), np.array([[1.0, 0.0]]))), 6)
    0.220095
    """
    x, t, dtype = _float_pair(input, target)
    _checks.check_same_shape(x, t, ("input", "target"))
    if x.ndim not in (1, 2):
        raise ValueError(f"input must be (N, C) or (C,), got shape {x.shape}")
    C = x.shape[-1]
    w = None
    if weight is not None:
        w = _checks.as_float(weight, "weight", dtype)
        if w.ndim > 1 or (w.ndim == 1 and w.shape[0] not in (1, C)):
            raise ValueError(f"weight must have shape ({C},) (one per class), got {w.shape}")
        w = np.broadcast_to(w, x.shape)
    N = x.shape[0] if x.ndim == 2 else 1
    want = _checks.check_bool(return_grad, "return_grad")
    if reduction == "none":
        total, n, out, grad, rg = _elementwise(_kernels().MULTILABEL_SOFT, 1.0 / max(C, 1), x, t, w, dtype, "none",
                                               want, grad_out)
        value = out.reshape(-1, C).astype(np.float64).sum(axis=1).astype(dtype)
        if x.ndim == 1:
            value = value.reshape(())
        return (value, grad) if rg else value
    total, n, out, grad, rg = _elementwise(_kernels().MULTILABEL_SOFT, 1.0 / max(C, 1), x, t, w, dtype, reduction,
                                           want, grad_out, count=N)
    return finish(total, N, reduction, dtype, out, grad, rg)


@_sum_stream("rows")
def multilabel_margin_loss(input, target, *, reduction="mean", return_grad=False):
    r"""Multilabel hinge loss (torch's ``multilabel_margin_loss``):
    :math:`\ell_n = \sum_{j \in Y_n} \sum_{k \notin Y_n} \max(0, 1 - (x_{n y_j} - x_{nk})) / C`.

    Parameters
    ----------
    input : array of shape (N, C) or (C,)
    target : integer array of ``input``'s shape
        The target classes of each row, ended by the first -1 (the rest is
        ignored), as torch.  Values must lie in [-1, C).
    reduction : {'mean', 'sum', 'none'}
    return_grad : bool
        Gradient w.r.t. ``input``.

    Returns
    -------
    scalar or array of shape (N,); with ``return_grad`` ``(loss, grad)``.

    Notes
    -----
    Same as ``torch.nn.functional.multilabel_margin_loss``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.multilabel_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]])))
    0.85
    """
    x = _checks.as_float(input, "input")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    y = _checks.as_int_array(target, "target")
    if x.ndim not in (0, 1, 2):
        raise ValueError(f"input must be (N, C), (C,) or 0-d (one class, as torch), got shape {x.shape}")
    if y.shape != x.shape:
        raise ValueError(f"target must have input's shape {x.shape}, got {y.shape}")
    _checks.check_reduction(reduction)
    want = _checks.check_bool(return_grad, "return_grad")
    C = x.shape[-1] if x.ndim else 1
    bad = (y < -1) | (y >= C)
    if bad.any():
        pos = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), y.shape))
        raise ValueError(f"target must be in [-1, {C}), got {y[pos]} at position {pos}")
    x2 = np.ascontiguousarray(x.reshape(-1, C), dtype=dtype)
    y2 = np.ascontiguousarray(y.reshape(-1, C), dtype=np.int64)
    N = x2.shape[0]

    total, M, out64, grad = run_rows(_kernels().multilabel_margin, (x2, y2), N, C, dtype, reduction, want)
    return finish_rows(total, M, reduction, dtype, out64, (N,) if x.ndim == 2 else (), grad, x.shape, want)


__all__ = [
    "hinge_loss", "multi_margin_loss", "soft_margin_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "multilabel_soft_margin_loss", "multilabel_margin_loss",
]
