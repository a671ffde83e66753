"""RNN-Transducer loss (Graves 2012) with exact gradients, FastEmit and clamp.

``rnnt_loss`` computes torchaudio's ``rnnt_loss`` on NumPy arrays (and CPU
tensors, read without a copy): a log-space alpha/beta recursion over the
(T, U+1) lattice in float64, parallel over frames and samples, with the
log-softmax fused in.  See ``docs/rnnt.md`` for the math and the figures.
"""
from __future__ import annotations

import math

import numpy as np

from .._core import checks as _checks
from .._core.driver import grad_buffer
from .._core.streaming import streamable

__all__ = ["rnnt_loss"]


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.speech import rnnt

    return rnnt


def _lengths(value, name, B):
    arr = value if not isinstance(value, (list, tuple)) else np.asarray(value)
    arr = _checks.as_int_array(arr, name)
    if arr.ndim != 1 or arr.shape[0] != B:
        raise ValueError(f"{name} must have shape ({B},) (one length per sample), got shape {arr.shape}")
    arr = arr.astype(np.int64, copy=False)
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        i = int(neg[0])
        raise ValueError(f"{name}[{i}] = {arr[i]} is negative (sample {i})")
    return arr


def _prepare(logits, targets, logit_lengths, target_lengths, blank):
    """Validate everything; return (x, labels, il, tl, blank) ready for the kernels."""
    x = _checks.as_float(logits, "logits")
    if x.ndim != 4:
        raise ValueError(f"logits must have shape (B, T, U+1, V), got shape {x.shape}")
    B, T, U1, V = x.shape
    if V < 1 or U1 < 1:
        raise ValueError(f"logits must have U+1 >= 1 and V >= 1, got shape {x.shape}")
    blank = _checks.check_int(blank, "blank")
    if not -V <= blank < V:
        raise ValueError(f"blank must be in [-{V}, {V}) (V = {V} classes; negative counts from the end), "
                         f"got {blank}")
    blank = blank % V
    il = _lengths(logit_lengths, "logit_lengths", B)
    tl = _lengths(target_lengths, "target_lengths", B)
    big = np.flatnonzero(il > T)
    if big.size:
        i = int(big[0])
        raise ValueError(f"logit_lengths[{i}] = {il[i]} exceeds the logits' time dimension T={T} (sample {i})")
    big = np.flatnonzero(tl + 1 > U1)
    if big.size:
        i = int(big[0])
        raise ValueError(f"target_lengths[{i}] = {tl[i]} needs U+1 >= {tl[i] + 1} label positions, but the "
                         f"logits have U+1 = {U1} (sample {i})")
    tg = targets if not isinstance(targets, (list, tuple)) else np.asarray(targets)
    tg = _checks.as_int_array(tg, "targets")
    if tg.ndim != 2 or tg.shape[0] != B:
        raise ValueError(f"targets must have shape (B={B}, U), got shape {tg.shape}")
    S = tg.shape[1]
    big = np.flatnonzero(tl > S)
    if big.size:
        i = int(big[0])
        raise ValueError(f"target_lengths[{i}] = {tl[i]} exceeds the padded targets' length U={S} (sample {i})")
    lab = np.ascontiguousarray(tg, dtype=np.int64)
    if S:
        used = np.arange(S)[None, :] < tl[:, None]
        bad = used & ((lab < 0) | (lab >= V))
        if bad.any():
            b, j = (int(v[0]) for v in np.nonzero(bad))
            raise ValueError(f"targets of sample {b}: label {lab[b, j]} at position {j} is outside [0, {V})")
        bad = used & (lab == blank)
        if bad.any():
            b, j = (int(v[0]) for v in np.nonzero(bad))
            raise ValueError(f"targets of sample {b}: label at position {j} equals blank={blank}; "
                             "RNN-T targets must not contain the blank")
    else:
        lab = np.zeros((B, 1), dtype=np.int64)
    return x, lab, il, tl, blank


def _native(x):
    """The logits as the kernels read them: native byte order, C-contiguous
    (a copy only when ``x`` is neither)."""
    dtype = np.dtype(x.dtype.type)
    return _checks.native(x, dtype)


def _grad_buffer(x, logits, grad_out):
    g = grad_buffer(x, grad_out)
    if grad_out is None:
        return g
    if np.shares_memory(g, x) and not (
        g.__array_interface__["data"][0] == x.__array_interface__["data"][0] and g.strides == x.strides
    ):
        # The kernel reads element i of the logits before writing element i of
        # the gradient: only the exact same buffer is safe, not a shifted overlap.
        raise ValueError("grad_out overlaps logits without being the same buffer; pass logits itself "
                         "(in-place) or a separate array")
    return g


def _compute(x, lab, il, tl, blank, fused, clamp, lam, gscale=None, grad=None):
    """-> (log Z (B,), FastEmit term (B,)) in float64; writes ``grad`` if given."""
    k = _kernels()
    B, T, U1, V = x.shape
    single = x.dtype == np.float32
    shape = (B, T, U1)
    # Only lattice nodes inside the lengths are ever written or read.
    lpb = np.empty(shape)
    lpe = np.empty(shape)
    lsum = np.empty(shape if fused else (1, 1, 1))
    alpha = np.empty(shape)
    need_beta = grad is not None or lam != 0.0
    beta = np.empty(shape if need_beta else (1, 1, 1))
    logz = np.empty(B)
    fe = np.empty(B)
    if B == 0:
        return logz, fe
    want_grad = grad is not None
    # One compiled type for every input: a read-only view (the kernels never
    # write through it; with grad_out=logits they write through ``grad``).
    xr = x.view()
    xr.flags.writeable = False
    if x.size:
        k.rows(xr, grad if want_grad else np.empty((0, 0, 0, 0), x.dtype), want_grad, lab, il, tl, blank, fused, single,
               x.dtype.type(0), lsum, lpb, lpe)
    k.lattice(lpb, lpe, il, tl, need_beta, lam != 0.0, alpha, beta, logz, fe)
    if want_grad and x.size:
        k.grad(grad, lab, il, tl, blank, fused, lsum, lpb, lpe, alpha, beta, logz, gscale, float(clamp),
               float(lam))
    return logz, fe


def _options(reduction, clamp, fused_log_softmax, fastemit_lambda):
    reduction = _checks.check_reduction(reduction)
    clamp = _checks.check_scalar(clamp, "clamp", finite=False)
    fused = _checks.check_bool(fused_log_softmax, "fused_log_softmax")
    lam = _checks.check_scalar(fastemit_lambda, "fastemit_lambda", low=0.0)
    return reduction, clamp, fused, lam


def _stream(logits, targets, logit_lengths, target_lengths, *, blank=-1, clamp=-1.0,
            fused_log_softmax=True, fastemit_lambda=0.0):
    """Streaming form: (sum of per-sample losses, number of samples)."""
    x, lab, il, tl, blank = _prepare(logits, targets, logit_lengths, target_lengths, blank)
    _, clamp, fused, lam = _options("mean", clamp, fused_log_softmax, fastemit_lambda)
    logz, fe = _compute(_native(x), lab, il, tl, blank, fused, clamp, lam)
    losses = -logz - lam * fe if lam else -logz
    return math.fsum(losses) if np.all(np.isfinite(losses)) else float(losses.sum()), float(il.size)


@streamable(_stream)
def rnnt_loss(logits, targets, logit_lengths, target_lengths, *, blank=-1, clamp=-1.0, reduction="mean",
              fused_log_softmax=True, fastemit_lambda=0.0, return_grad=False, grad_out=None):
    r"""RNN-Transducer loss (Graves, "Sequence transduction with recurrent neural networks", 2012).

    For sample b with :math:`T_b` frames and target :math:`y_1 \dots y_{U_b}`,
    with :math:`\log\varnothing(t,u)` = log-prob of blank and
    :math:`\log\hat y(t,u)` = log-prob of :math:`y_{u+1}` at lattice node
    (t, u) (``log_softmax(logits[b, t, u])`` with ``fused_log_softmax``):

    .. math::
        \alpha(t,u) = \operatorname{lse}\big(\alpha(t-1,u) + \log\varnothing(t-1,u),\;
                       \alpha(t,u-1) + \log\hat y(t,u-1)\big),\quad \alpha(0,0) = 0

        \ell_b = -\log P(y|x) = -\big(\alpha(T_b-1, U_b) + \log\varnothing(T_b-1, U_b)\big)

    computed in float64 (float32 input is read natively), parallel over
    frames and samples; only the blank and next-label log-probabilities of
    each node enter the recursion, so the extra memory is O(B T U) float64.

    Parameters
    ----------
    logits : array, shape (B, T, U+1, V), float32 or float64
        Joint-network outputs (unnormalised; or log-probabilities with
        ``fused_log_softmax=False``).  ``T`` and ``U+1`` may exceed the
        lengths' maxima: padding is never read.  Other real dtypes are
        converted (float16 to float32).
    targets : int array, shape (B, U)
        Labels in ``[0, V)``, never ``blank``; read below ``target_lengths``.
    logit_lengths, target_lengths : int arrays, shape (B,)
        ``0 <= logit_lengths <= T``, ``0 <= target_lengths <= min(U, U+1 - 1)``.
    blank : int, default -1
        Blank index; negative values count from the end (torchaudio).
    clamp : float, default -1
        If > 0, every element of each sample's gradient is clipped to
        ``[-clamp, clamp]`` (before the reduction's scaling, as torchaudio).
        The loss value is not affected.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` is the batch mean of the per-sample losses (torchaudio; not
        divided by target lengths); ``'none'`` gives the (B,) losses.
    fused_log_softmax : bool, default True
        ``True``: ``logits`` are unnormalised and log-softmax over V is fused
        in; ``False``: ``logits`` are already log-probabilities.
    fastemit_lambda : float, default 0
        FastEmit regularisation (Yu et al. 2021) with NeMo's / warp-transducer's
        gradient.  The returned loss is the function that gradient
        differentiates (see Notes), not NeMo's reported value.
    return_grad : bool
        Also return the gradient of the returned loss w.r.t. ``logits``
        (for ``'none'``: of ``loss.sum()``), shape and dtype of ``logits``.
    grad_out : array, optional
        C-contiguous writeable buffer of the logits' shape and dtype for the
        gradient.  It may be ``logits`` itself: the gradient then overwrites
        the logits in place and no second B*T*(U+1)*V array exists.

    Returns
    -------
    loss : NumPy scalar of the input's float dtype, or (B,) array for ``'none'``
    grad : array (B, T, U+1, V), only with ``return_grad=True``

    Notes
    -----
    **Gradient.**  The true derivative of the returned loss.  W.r.t.
    log-probabilities (``fused_log_softmax=False``) it is minus the posterior
    occupancy of the two transitions leaving each node,
    :math:`-\exp(\alpha(t,u) + \log\varnothing(t,u) + \beta(t+1,u) - \log P)`
    at the blank and
    :math:`-\exp(\alpha(t,u) + \log\hat y(t,u) + \beta(t,u+1) - \log P)` at
    :math:`y_{u+1}`, zero elsewhere; with the fused log-softmax it is
    ``softmax * occupancy(t,u)`` minus those terms (torchaudio's and
    warp-transducer's convention).  Nodes with ``t >= logit_lengths[b]`` or
    ``u > target_lengths[b]`` get zero.  A sample with no alignment
    (``logit_lengths[b] == 0``, or ``-inf`` log-probabilities on every path)
    has an infinite loss and a zero gradient; NaN in a needed value gives a
    NaN loss and NaN gradient rows for that sample.

    **FastEmit.**  With :math:`e(t,u)` the posterior probability of emitting
    :math:`y_{u+1}` at node (t, u), held fixed (a stop-gradient), the loss is

    .. math:: \ell_b = -\log P(y|x) - \lambda \sum_{t,u<U_b} e(t,u) \log\hat y(t,u)

    whose gradient w.r.t. :math:`\log\hat y(t,u)` is :math:`-(1+\lambda) e(t,u)`
    and w.r.t. the blank log-probabilities unchanged: exactly NeMo's and
    warp-transducer's FastEmit gradient.  No function of the log-probabilities
    has that gradient without the stop-gradient (its mixed partials are not
    symmetric), and NeMo reports :math:`-(1+\lambda)\log P(y|x)`, whose
    gradient is :math:`(1+\lambda)` times the plain one on *every* transition.

    Differences from torchaudio: float64 is accepted (and float32 is
    accumulated in float64); ``T``/``U+1`` larger than the lengths' maxima are
    allowed; ``logit_lengths == 0`` gives ``inf``; labels equal to blank or
    outside ``[0, V)`` raise ``ValueError`` naming the sample.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> x = np.zeros((1, 2, 2, 3))          # uniform over V=3, T=2, one label
    >>> # alignments of [1]: (1, blank, blank), (blank, 1, blank): 2 * (1/3)**3
    >>> round(float(fastloss.rnnt_loss(x, np.array([[1]]), [2], [1], blank=0)), 6)
    2.602690
    >>> loss, grad = fastloss.rnnt_loss(x, np.array([[1]]), [2], [1], blank=0, return_grad=True)
    >>> grad.shape
    (1, 2, 2, 3)
    """
    x, lab, il, tl, blank = _prepare(logits, targets, logit_lengths, target_lengths, blank)
    reduction, clamp, fused, lam = _options(reduction, clamp, fused_log_softmax, fastemit_lambda)
    return_grad = _checks.check_bool(return_grad, "return_grad")
    dtype = np.dtype(x.dtype.type)
    B = il.size
    xn = _native(x)
    grad = gscale = None
    if return_grad:
        grad = _grad_buffer(xn, logits, grad_out)
        gscale = np.full(B, 1.0 / B if reduction == "mean" else 1.0)
    elif grad_out is not None:
        raise ValueError("grad_out is only used with return_grad=True")
    logz, fe = _compute(xn, lab, il, tl, blank, fused, clamp, lam, gscale, grad)
    losses = -logz - lam * fe if lam else -logz
    if reduction == "none":
        value = losses.astype(dtype)
    elif reduction == "sum":
        value = dtype.type(math.fsum(losses) if np.all(np.isfinite(losses)) else losses.sum())
    elif B == 0:
        value = dtype.type(math.nan)
    else:
        value = dtype.type((math.fsum(losses) if np.all(np.isfinite(losses)) else losses.sum()) / B)
    return (value, grad) if return_grad else value
