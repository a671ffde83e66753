"""Embedding losses: contrastive, cosine embedding, triplet margin, batch-hard triplet.

Common arguments:

* Embeddings are arrays of shape ``(N, D)`` (rows are samples, the last axis
  is the feature axis), or ``(D,)`` for a single sample (the loss is then
  0-d), or more generally ``(*B, D)`` with per-sample losses of shape ``B``.
  float32 and float64 are computed natively (read in place when
  C-contiguous, other layouts are copied once to C order); other real dtypes
  are converted.  The other embedding arrays are converted to the first
  one's float dtype.
* ``reduction``: ``'mean'`` (default), ``'sum'`` or ``'none'``.  Reduced
  losses are NumPy scalars of the input's float dtype, accumulated in float64
  over fixed chunks of rows combined exactly (``math.fsum``), so results do
  not depend on the thread count.  ``'mean'`` of an empty batch is NaN.
* ``return_grad=True`` returns ``(loss, grad)``, ``grad`` the gradient of the
  returned loss with respect to the *first* array (for ``'none'``: of
  ``loss.sum()``), same shape and dtype as it, computed in the same pass.
* NaN in the data propagates to the loss of the rows it touches.
"""
from __future__ import annotations

import math

import numpy as np

from .._core import checks as _checks
from .._core.driver import finish_rows, run_rows
from .._core.streaming import streamable

from .._core.consts import CONTRASTIVE, COSINE, TRIPLET


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.losses import embedding

    return embedding


# --------------------------------------------------------------------------- helpers


def _rows(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``x`` (``(*B, D)``) as a C-contiguous native ``(prod B, D)`` array."""
    x = _checks.native(x, np.dtype(dtype))
    if x.ndim == 0:
        raise ValueError("embedding arrays must have at least 1 dimension (the feature axis)")
    return x.reshape(-1, x.shape[-1])


def _embeddings(arrays, names):
    """Check and convert embedding operands of one shape; returns (first, rows..., dtype)."""
    first = _checks.as_float(arrays[0], names[0])
    dtype = np.dtype(first.dtype.type).newbyteorder("=")
    if first.ndim == 0:
        raise ValueError(f"{names[0]} must have at least 1 dimension (the feature axis), got a 0-d array")
    out = [first]
    for a, n in zip(arrays[1:], names[1:]):
        b = _checks.as_float(a, n, dtype)
        _checks.check_same_shape(first, b, (names[0], n))
        out.append(b)
    return out, dtype


def _pair_labels(label, name, batch_shape, allowed, dtype_name):
    """Labels of the batch shape holding only values in ``allowed``; as float64 1-D."""
    arr = _checks.to_array(label, name)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real or boolean array, got dtype {arr.dtype}")
    if arr.shape != tuple(batch_shape):
        raise ValueError(f"{name} must have shape {tuple(batch_shape)} (the input's batch shape), got {arr.shape}")
    lab = np.array(arr, dtype=np.float64).reshape(-1)  # fresh, writeable: one kernel signature
    bad = ~np.isin(lab, allowed)
    if bad.any():
        pos = np.unravel_index(int(np.flatnonzero(bad)[0]), batch_shape)
        pos = tuple(int(p) for p in pos)
        raise ValueError(f"{name} must hold {dtype_name}, got {arr[pos]!r} at position {pos}")
    return lab


def _run_rows(kind, a, b, c, dtype, reduction, want, *, margin=0.0, p=2.0, pmode=2, eps=0.0, flag=False, lab=None,
              gwidth=1):
    """Run :func:`fastloss._kernels.losses.embedding.rowwise` on (M, D) operands
    (see :func:`fastloss._core.driver.run_rows` for what it returns)."""
    b = a if b is None else b  # unused operands: any array of the right type
    c = a if c is None else c
    lab = np.zeros(1) if lab is None else lab

    head = (kind, float(margin), float(p), int(pmode), float(eps), bool(flag), a, b, c, lab)
    return run_rows(_kernels().rowwise, head, *a.shape, dtype, reduction, want, gwidth)


# --------------------------------------------------------------------------- contrastive


def _pair_loss(kind, x1, x2, names, label, label_name, values, meaning, margin, margin_low, reduction, want):
    """Shared body of the labelled-pair losses (contrastive, cosine): checks,
    then the row kernel; returns what :func:`_finish` needs."""
    (a, b), dtype = _embeddings((x1, x2), names)
    margin = _checks.check_scalar(margin, "margin", low=margin_low)
    _checks.check_reduction(reduction)
    lab = _pair_labels(label, label_name, a.shape[:-1], values, meaning)
    shape, batch = a.shape, a.shape[:-1]
    total, n, out, grad = _run_rows(kind, _rows(a, dtype), _rows(b, dtype), None, dtype, reduction, want,
                                    margin=margin, lab=lab)
    return total, n, out, grad, dtype, shape, batch


def _contrastive(x1, x2, label, margin, reduction, want):
    return _pair_loss(CONTRASTIVE, x1, x2, ("x1", "x2"), label, "label", [0.0, 1.0],
                      "0 (dissimilar) or 1 (similar)", margin, 0.0, reduction, want)


def _contrastive_stream(x1, x2, label, *, margin=1.0):
    total, n, *_ = _contrastive(x1, x2, label, margin, "sum", False)
    return total, float(n)


@streamable(_contrastive_stream)
def contrastive_loss(x1, x2, label, *, margin=1.0, reduction="mean", return_grad=False):
    r"""Contrastive loss of pairs (Hadsell, Chopra & LeCun 2006).

    .. math:: \ell_i = y_i\, d_i^2 + (1 - y_i) \max(0, m - d_i)^2,
              \quad d_i = \lVert x_{1,i} - x_{2,i} \rVert_2

    Parameters
    ----------
    x1, x2 : array, shape ``(N, D)`` (or ``(D,)``, or ``(*B, D)``)
        The two embeddings of each pair.
    label : array, shape ``(N,)`` (the batch shape ``B``)
        **1 = similar pair** (pulled together), **0 = dissimilar** (pushed
        apart to at least ``margin``).  bool, integer or float 0/1; any other
        value is a ValueError.
    margin : float, default 1.0
        ``m >= 0``.
    reduction, return_grad
        See the module docstring.  The gradient is with respect to ``x1``:
        :math:`2(x_1 - x_2)` for similar pairs and
        :math:`-2(m - d)(x_1 - x_2)/d` for dissimilar pairs inside the margin.
        At :math:`d = 0` (identical dissimilar embeddings) the direction is
        undefined and 0 is used (a subgradient).

    Notes
    -----
    Conventions differ between libraries: Hadsell et al. write
    :math:`(1-Y)\tfrac12 D^2 + Y\tfrac12\max(0, m-D)^2` with **Y = 0 for
    similar** pairs and factors 1/2; pytorch-metric-learning's
    ``ContrastiveLoss`` uses a positive margin and unsquared distances.  This
    function uses label 1 = similar and no 1/2 factors (the loss is twice
    Hadsell's with ``label = 1 - Y``).  PyTorch has no contrastive loss.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> x1 = np.array([[0.0, 0.0], [0.0, 0.0]]); x2 = np.array([[3.0, 4.0], [0.3, 0.4]])
    >>> fastloss.contrastive_loss(x1, x2, np.array([1, 0]), margin=1.0, reduction="none")
    array([25.  ,  0.25])
    """
    want = _checks.check_bool(return_grad, "return_grad")
    total, n, out, grad, dtype, shape, batch = _contrastive(x1, x2, label, margin, reduction, want)
    return finish_rows(total, n, reduction, dtype, out, batch, grad, shape, want)


# --------------------------------------------------------------------------- cosine


def _cosine(input1, input2, target, margin, reduction, want):
    return _pair_loss(COSINE, input1, input2, ("input1", "input2"), target, "target", [-1.0, 1.0],
                      "1 or -1", margin, None, reduction, want)


def _cosine_stream(input1, input2, target, *, margin=0.0):
    total, n, *_ = _cosine(input1, input2, target, margin, "sum", False)
    return total, float(n)


@streamable(_cosine_stream)
def cosine_embedding_loss(input1, input2, target, *, margin=0.0, reduction="mean", return_grad=False):
    r"""Cosine embedding loss, as ``torch.nn.functional.cosine_embedding_loss``.

    .. math:: \ell_i = \begin{cases} 1 - \cos_i & y_i = 1 \\
              \max(0, \cos_i - m) & y_i = -1 \end{cases}, \quad
              \cos_i = \frac{x_{1,i}\cdot x_{2,i}}
              {\sqrt{(\lVert x_{1,i}\rVert^2 + \epsilon)(\lVert x_{2,i}\rVert^2 + \epsilon)}}

    with PyTorch's :math:`\epsilon` added to each *squared* norm (so a zero
    vector gives :math:`\cos = 0`, not NaN); PyTorch's constant is a C
    ``float`` 1e-12, i.e. :math:`\epsilon = 9.999999960041972\times10^{-13}`,
    which is used here too (it matters for the gradient at zero vectors).

    Parameters
    ----------
    input1, input2 : array, shape ``(N, D)`` or ``(D,)``
        (``(*B, D)`` is accepted too; PyTorch takes 1-D and 2-D only.)
    target : array, shape ``(N,)`` (or 0-d for 1-D inputs)
        1 or -1.  PyTorch silently gives 0 loss for any other value; here it
        is a ValueError.
    margin : float, default 0.0
        Any finite value (PyTorch suggests [-1, 1]).
    reduction, return_grad
        See the module docstring; the gradient is w.r.t. ``input1`` and is
        the exact derivative of the formula above, as PyTorch's autograd.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> a = np.array([[1.0, 0.0], [1.0, 0.0]]); b = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> fastloss.cosine_embedding_loss(a, b, np.array([1, -1]), reduction="none").round(6)
    array([1.      , 0.707107])
    """
    want = _checks.check_bool(return_grad, "return_grad")
    total, n, out, grad, dtype, shape, batch = _cosine(input1, input2, target, margin, reduction, want)
    return finish_rows(total, n, reduction, dtype, out, batch, grad, shape, want)


# --------------------------------------------------------------------------- triplet


def _p_mode(p):
    if isinstance(p, (bool, np.bool_)):
        raise TypeError(f"p must be a real number, got {p!r}")
    p = _checks.check_scalar(p, "p", low=0.0, low_open=True, finite=False)
    if p == 2.0:
        return p, 2
    if p == 1.0:
        return p, 1
    if math.isinf(p):
        return p, 4
    return p, 3


def _grad_wrt(grad_wrt):
    if grad_wrt not in ("anchor", "all"):
        raise ValueError(f"grad_wrt must be 'anchor' or 'all', got {grad_wrt!r}")
    return grad_wrt == "all"


def _triplet(anchor, positive, negative, margin, p, eps, swap, reduction, want, all3=False):
    (a, b, c), dtype = _embeddings((anchor, positive, negative), ("anchor", "positive", "negative"))
    margin = _checks.check_scalar(margin, "margin", low=0.0, low_open=True)
    p, pmode = _p_mode(p)
    eps = _checks.check_scalar(eps, "eps")
    swap = _checks.check_bool(swap, "swap")
    _checks.check_reduction(reduction)
    shape, batch = a.shape, a.shape[:-1]
    total, n, out, grad = _run_rows(TRIPLET, _rows(a, dtype), _rows(b, dtype), _rows(c, dtype), dtype, reduction,
                                    want, margin=margin, p=p, pmode=pmode, eps=eps, flag=swap,
                                    gwidth=3 if (want and all3) else 1)
    if want and all3:
        # (M, 3D) -> three (*B, D) views of one buffer (no copy)
        g3 = grad.reshape(grad.shape[0], 3, shape[-1])
        grad = tuple(g3[:, j, :].reshape(shape) for j in range(3))
    return total, n, out, grad, dtype, shape, batch


def _triplet_stream(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False):
    total, n, *_ = _triplet(anchor, positive, negative, margin, p, eps, swap, "sum", False)
    return total, float(n)


@streamable(_triplet_stream)
def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False, reduction="mean",
                        return_grad=False, grad_wrt="anchor"):
    r"""Triplet margin loss, as ``torch.nn.functional.triplet_margin_loss``.

    .. math:: \ell_i = \max(0,\; m + d(a_i, p_i) - d(a_i, n_i)), \quad
              d(x, y) = \lVert x - y + \epsilon \rVert_p

    (PyTorch's ``pairwise_distance``: ``eps`` is added to the *difference*.)
    With ``swap=True`` (Balntas et al. 2016) :math:`d(a_i, n_i)` is replaced
    by :math:`\min(d(a_i, n_i), d(p_i, n_i))`.

    Parameters
    ----------
    anchor, positive, negative : array, shape ``(N, D)``, ``(D,)`` or ``(*B, D)``
        Same shape (PyTorch broadcasts arrays of equal rank; here the shapes
        must be equal).  The norm is over the last axis; the per-triplet loss
        has shape ``B`` (0-d for 1-D inputs).
    margin : float, default 1.0
        Must be > 0 (as PyTorch).
    p : float, default 2
        Norm degree, any ``p > 0`` or ``inf`` (PyTorch also accepts
        ``p <= 0``; here that is a ValueError).  ``p`` = 1 and 2 are fast
        paths.
    eps : float, default 1e-6
    swap : bool, default False
    reduction, return_grad
        See the module docstring.  Norm gradients follow PyTorch: 0 where
        the norm is 0; for ``p=inf`` split evenly among the tied largest
        components.  At the hinge's kink (``m + d_p - d_n == 0``) the
        gradient is 0 (PyTorch's ``clamp_min`` passes it through); this has
        probability zero on continuous data.
    grad_wrt : {'anchor', 'all'}, default 'anchor'
        Which gradients ``return_grad=True`` returns.  ``'anchor'``:
        ``(loss, grad_anchor)`` (the package-wide contract: the gradient
        with respect to the first array).  ``'all'``: ``(loss, (grad_anchor,
        grad_positive, grad_negative))``, all three from the same fused pass
        (for embeddings shared by the three branches, the sum of the three
        is what flows into the network); they are views of one
        ``(*B, 3, D)`` buffer.  With ``swap``, where the swap distance
        :math:`d(p_i, n_i)` is the smaller one, the negative term moves from
        the anchor's gradient to the positive's.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> a = np.zeros((1, 2)); p = np.array([[3.0, 4.0]]); n = np.array([[6.0, 8.0]])
    >>> round(float(fastloss.triplet_margin_loss(a, p, n, margin=6.0, eps=0.0)), 6)
    1.0
    >>> loss, (ga, gp, gn) = fastloss.triplet_margin_loss(a, p, n, margin=6.0, eps=0.0, return_grad=True,
    ...                                                   grad_wrt="all")
    >>> gp, gn
    (array([[0.6, 0.8]]), array([[-0.6, -0.8]]))
    """
    want = _checks.check_bool(return_grad, "return_grad")
    all3 = _grad_wrt(grad_wrt)
    total, n, out, grad, dtype, shape, batch = _triplet(anchor, positive, negative, margin, p, eps, swap,
                                                        reduction, want, all3)
    if want and all3:
        return finish_rows(total, n, reduction, dtype, out, batch, None, shape, False), grad
    return finish_rows(total, n, reduction, dtype, out, batch, grad, shape, want)


# --------------------------------------------------------------------------- batch-hard


def _batch_hard(embeddings, labels, margin, squared, reduction, want):
    e = _checks.as_float(embeddings, "embeddings")
    dtype = np.dtype(e.dtype.type).newbyteorder("=")
    if e.ndim != 2:
        raise ValueError(f"embeddings must have shape (N, D), got shape {e.shape}")
    lab = _checks.as_int_array(labels, "labels")
    if lab.shape != (e.shape[0],):
        raise ValueError(f"labels must have shape ({e.shape[0]},) to match embeddings {e.shape}, got {lab.shape}")
    margin = _checks.check_scalar(margin, "margin", low=0.0)
    squared = _checks.check_bool(squared, "squared")
    _checks.check_reduction(reduction)
    e = _checks.native(e, dtype)
    N, D = e.shape
    lab = np.array(lab, dtype=np.int64)
    out = np.zeros(N, dtype=np.float64)
    grad = np.empty((N, D), dtype=dtype) if want else None
    nvalid = 0
    if N > 0:
        pos = np.empty(N, dtype=np.int64)
        neg = np.empty(N, dtype=np.int64)
        g = grad if want else np.zeros((1, max(D, 1)), dtype=dtype)
        nvalid = int(_kernels().batch_hard(e, lab, float(margin), squared, want, reduction == "mean", out, pos, neg, g))
    total = math.fsum(out)
    return total, nvalid, out, grad, dtype


def _batch_hard_stream(embeddings, labels, *, margin=1.0, squared=False):
    total, nvalid, *_ = _batch_hard(embeddings, labels, margin, squared, "sum", False)
    return total, float(nvalid)


@streamable(_batch_hard_stream)
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0, squared=False, reduction="mean", return_grad=False):
    r"""Batch-hard triplet loss (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss").

    For every anchor :math:`i` (every row), the hardest positive is the
    farthest row with the same label (other than :math:`i` itself) and the
    hardest negative the nearest row with a different label:

    .. math:: \ell_i = \max\Bigl(0,\; m + \max_{j \ne i,\, y_j = y_i} d_{ij}
              - \min_{k:\, y_k \ne y_i} d_{ik}\Bigr)

    with :math:`d` the Euclidean distance (its square if ``squared=True``),
    computed from direct differences in float64 (no
    :math:`\lVert x\rVert^2 + \lVert y\rVert^2 - 2x\cdot y` cancellation).
    Each thread holds one anchor row and running max/min: the ``(N, N)``
    distance matrix is never stored.  Cost :math:`O(N^2 D)`.

    Parameters
    ----------
    embeddings : array, shape ``(N, D)``
    labels : integer array, shape ``(N,)``
        Any integer values (class ids); only equality matters.
    margin : float, default 1.0
        ``m >= 0``.
    squared : bool, default False
    reduction : {'mean', 'sum', 'none'}
        Anchors without any positive (a label seen once) or without any
        negative (a single label in the batch) have no triplet: they are
        **excluded**, i.e. ``'none'`` gives them 0, and ``'mean'`` divides by
        the number of valid anchors (as the usual batch-hard implementations
        that mine triplets first do).  If no anchor is valid, ``'mean'`` and
        ``'sum'`` are 0 with a zero gradient (the batch contributes nothing),
        not NaN.
    return_grad : bool
        Gradient w.r.t. ``embeddings``, including the contributions through
        the rows chosen as hardest positives/negatives (the selection itself
        is piecewise constant; ties pick the lowest row index).  With
        ``squared=False`` the distance :math:`\sqrt{s}` has no gradient at
        :math:`s = 0` (a positive identical to its anchor); that term's
        gradient is taken as 0 there (a subgradient of the norm), never
        ``inf``/NaN.

    Notes
    -----
    The streaming form accumulates (sum of losses, number of valid anchors);
    hardest examples are mined within each batch, as in training.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> e = np.array([[0.0], [2.0], [2.5], [4.0]]); y = np.array([0, 0, 1, 1])
    >>> fastloss.batch_hard_triplet_loss(e, y, margin=1.0, reduction="none")
    array([0.5, 2.5, 2. , 0.5])
    """
    want = _checks.check_bool(return_grad, "return_grad")
    total, nvalid, out, grad, dtype = _batch_hard(embeddings, labels, margin, squared, reduction, want)
    if reduction == "none":
        value = out.astype(dtype)
    elif reduction == "sum":
        value = dtype.type(total)
    else:
        value = dtype.type(total / nvalid) if nvalid > 0 else dtype.type(0.0)
    return (value, grad) if want else value


__all__ = ["contrastive_loss", "cosine_embedding_loss", "triplet_margin_loss", "batch_hard_triplet_loss"]
