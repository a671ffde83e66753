"""Connectionist temporal classification (CTC) loss, with true gradients.

``ctc_loss`` is a drop-in for ``torch.nn.functional.ctc_loss`` on NumPy
arrays (and CPU tensors, read without a copy), computed by an exact
forward-backward over the blank-extended label sequence in float64
(scaled probability space, extended range or log space, whichever first
represents the sample), parallel over the batch.  See ``docs/ctc.md`` for the design and figures.
"""
from __future__ import annotations

import math

import numpy as np

from .._core import checks as _checks
from .._core.driver import grad_buffer
from .._core.streaming import streamable


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.speech import ctc

    return ctc


# --------------------------------------------------------------------------
# argument handling
# --------------------------------------------------------------------------


def _flat_view(x: np.ndarray):
    """(flat 1-D array, element strides) reading ``x`` in place when possible.

    ``x`` is read in place when it is native float32/float64 with a unit
    stride along the class axis and non-negative strides (C-contiguous arrays
    and transposed views such as ``(N, T, C).transpose(1, 0, 2)``);
    otherwise one C-contiguous copy is made.
    """
    item = x.dtype.itemsize
    ok = (
        x.dtype.isnative
        and x.size > 0
        and x.strides[-1] == item
        and all(s >= 0 and s % item == 0 for s in x.strides)
    )
    if not ok:
        x = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))
    strides = tuple(s // item for s in x.strides) if x.size else (0,) * x.ndim
    span = 1 + sum((d - 1) * s for d, s in zip(x.shape, strides)) if x.size else 0
    flat = np.lib.stride_tricks.as_strided(x, shape=(span,), strides=(item,), writeable=False)
    return flat, strides


def _lengths(value, name, n, unbatched):
    arr = _checks.to_array(value, name) if not isinstance(value, (list, tuple)) else np.asarray(value)
    if isinstance(value, (int, np.integer)) or (isinstance(arr, np.ndarray) and arr.ndim == 0):
        if not unbatched:
            raise ValueError(f"{name} must be 1-D of length N={n}, got a scalar")
        arr = np.asarray(arr).reshape(1)
    if np.asarray(arr).dtype.kind not in "iu" and not (isinstance(value, (list, tuple)) and not value):
        # As torch: "input_lengths must be integral" (floats and bools refused).
        raise TypeError(f"{name} must be integral, got dtype {np.asarray(arr).dtype}")
    arr = _checks.as_int_array(arr, name)
    if arr.ndim > 1 and arr.size == n:
        arr = arr.reshape(n)  # torch accepts any shape with N elements, e.g. (N, 1)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) (one length per sample), got shape {arr.shape}")
    return arr.astype(np.int64, copy=False)


def _prepare(log_probs, targets, input_lengths, target_lengths, blank, batch_first):
    """Validate everything; return the kernel's view of the problem."""
    x = _checks.as_float(log_probs, "log_probs")
    batch_first = _checks.check_bool(batch_first, "batch_first")
    if x.ndim == 2:
        unbatched = True
        T, C = x.shape
        N = 1
    elif x.ndim == 3:
        unbatched = False
        if batch_first:
            N, T, C = x.shape
        else:
            T, N, C = x.shape
    else:
        raise ValueError(
            "log_probs must be (T, N, C), (N, T, C) with batch_first=True, or unbatched (T, C); "
            f"got shape {x.shape}"
        )
    if C < 1:
        raise ValueError(f"log_probs must have at least one class, got shape {x.shape}")
    blank = _checks.check_int(blank, "blank")
    if not 0 <= blank < C:
        raise ValueError(f"blank must be in [0, {C}) (C = number of classes), got {blank}")

    il = _lengths(input_lengths, "input_lengths", N, unbatched)
    tl = _lengths(target_lengths, "target_lengths", N, unbatched)
    for name, arr, hi in (("input_lengths", il, T), ("target_lengths", tl, None)):
        neg = np.flatnonzero(arr < 0)
        if neg.size:
            raise ValueError(f"{name}[{neg[0]}] = {arr[neg[0]]} is negative (sample {neg[0]})")
        if hi is not None:
            big = np.flatnonzero(arr > hi)
            if big.size:
                raise ValueError(
                    f"{name}[{big[0]}] = {arr[big[0]]} exceeds the input's time dimension T={hi} "
                    f"(sample {big[0]})"
                )

    tg = _checks.as_int_array(targets, "targets")
    if unbatched and tg.ndim == 1:
        tg = tg.reshape(1, -1)  # (S,) -> one padded row
    if tg.ndim == 2:
        if tg.shape[0] != N:
            raise ValueError(f"padded targets must have shape (N={N}, S), got {tg.shape}")
        Smax = tg.shape[1]
        big = np.flatnonzero(tl > Smax)
        if big.size:
            raise ValueError(
                f"target_lengths[{big[0]}] = {tl[big[0]]} exceeds the padded targets' length S={Smax} "
                f"(sample {big[0]})"
            )
        mask = np.arange(Smax)[None, :] < tl[:, None]
        flat = np.ascontiguousarray(tg, dtype=np.int64).reshape(-1)
        offsets = np.arange(N, dtype=np.int64) * Smax
        labels_2d = tg
    elif tg.ndim == 1:
        total = int(tl.sum())
        if total != tg.shape[0]:
            raise ValueError(
                f"concatenated targets must have sum(target_lengths) = {total} elements, got {tg.shape[0]}"
            )
        flat = np.ascontiguousarray(tg, dtype=np.int64)
        offsets = np.zeros(N, dtype=np.int64)
        if N > 1:
            np.cumsum(tl[:-1], out=offsets[1:])
        mask = None
        labels_2d = None
    else:
        raise ValueError(f"targets must be padded (N, S) or concatenated 1-D, got shape {tg.shape}")
    _check_labels(flat, offsets, tl, C, blank, mask, labels_2d)
    return x, unbatched, T, N, C, blank, il, tl, flat, offsets


def _check_labels(flat, offsets, tl, C, blank, mask, labels_2d):
    if labels_2d is not None:
        used = np.asarray(labels_2d)[mask]
        sample_of = np.nonzero(mask)[0]
        pos_of = np.nonzero(mask)[1]
    else:
        used = flat
        sample_of = np.repeat(np.arange(tl.size), tl)
        pos_of = np.arange(flat.size) - np.repeat(offsets, tl)
    if used.size == 0:
        return
    bad = (used < 0) | (used >= C)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"targets of sample {sample_of[i]}: label {used[i]} at position {pos_of[i]} is outside [0, {C})"
        )
    bad = used == blank
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"targets of sample {sample_of[i]}: label at position {pos_of[i]} equals blank={blank}; "
            "CTC targets must not contain the blank"
        )


def _run(x, T, N, C, blank, il, tl, flat, offsets, rows, batch_first, unbatched, from_logits,
         gscale=None, grad=None):
    lp, strides = _flat_view(x)
    if unbatched:
        st, sn = strides[0], 0
    elif batch_first:
        sn, st = strides[0], strides[1]
    else:
        st, sn = strides[0], strides[1]
    want_grad = grad is not None
    if want_grad:
        gstr = tuple(s // grad.dtype.itemsize for s in grad.strides)
        if unbatched:
            gst, gsn = gstr[0], 0
        elif batch_first:
            gsn, gst = gstr[0], gstr[1]
        else:
            gst, gsn = gstr[0], gstr[1]
        gflat = grad.reshape(-1)
    else:
        gst = gsn = 0
        gflat = np.empty(0, dtype=lp.dtype)
        gscale = np.zeros(rows.size)
    logz = np.empty(rows.size, dtype=np.float64)
    if lp.size == 0:  # no time steps or no samples: nothing to read
        lp = np.zeros(1, dtype=lp.dtype)
    _kernels().ctc_jobs(
        lp, st, sn, C, T, flat, offsets, tl, rows, il, blank, bool(from_logits), want_grad,
        gscale, gflat, gst, gsn, logz,
    )
    return logz


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def _stream(log_probs, targets, input_lengths, target_lengths, *, blank=0, zero_infinity=False,
            batch_first=False, from_logits=False):
    """Streaming form: (sum of length-normalised losses, number of samples)."""
    x, unbatched, T, N, C, blank, il, tl, flat, offsets = _prepare(
        log_probs, targets, input_lengths, target_lengths, blank, batch_first
    )
    zero_infinity = _checks.check_bool(zero_infinity, "zero_infinity")
    logz = _run(x, T, N, C, blank, il, tl, flat, offsets, np.arange(N, dtype=np.int64),
                batch_first, unbatched, _checks.check_bool(from_logits, "from_logits"))
    losses = -logz
    if zero_infinity:
        losses[np.isinf(losses)] = 0.0
    return math.fsum(losses / np.maximum(tl, 1)), float(N)


@streamable(_stream)
def ctc_loss(log_probs, targets, input_lengths, target_lengths, *, blank=0, reduction="mean",
             zero_infinity=False, batch_first=False, from_logits=False, return_grad=False,
             grad_out=None):
    r"""Connectionist temporal classification loss (Graves et al., ICML 2006).

    For each sample n with input length :math:`T_n` and target
    :math:`y = (y_1, \dots, y_{L_n})`,

    .. math:: \ell_n = -\log \sum_{\pi \in \mathcal{B}^{-1}(y)} \prod_{t<T_n} p_t(\pi_t)

    where :math:`\mathcal{B}` removes repeats then blanks, and
    :math:`\log p_t(c)` = ``log_probs[t, n, c]``.  Computed by an exact
    forward-backward over the :math:`2L_n + 1` blank-extended states, in
    float64 (scaled probability space, or extended range / log space where
    the probabilities span more than float64's range), parallel over the batch; the per-time-step log-probabilities
    the recursion needs are gathered first, so the work is
    :math:`O(T (2L+1))` per sample, plus :math:`O(T C)` to write a gradient.

    Parameters
    ----------
    log_probs : array, shape (T, N, C), (N, T, C) with ``batch_first=True``, or (T, C)
        Log-probabilities (e.g. ``log_softmax`` output), or unnormalised
        activations with ``from_logits=True``.  float32 / float64 are computed
        natively (read in place, also as transposed views), other real dtypes
        converted.
    targets : int array, padded (N, S) or concatenated 1-D (sum(target_lengths),)
        Labels in ``[0, C)``, never ``blank``.  Padded rows are read only up to
        each target length.  Unbatched: (S,).
    input_lengths, target_lengths : int arrays or sequences, shape (N,)
        (scalars or shape (1,) when unbatched).  ``0 <= input_lengths <= T``,
        ``0 <= target_lengths <= S``.
    blank : int, default 0
        Index of the blank class.
    reduction : {'mean', 'sum', 'none'}
        As PyTorch: ``'none'`` gives the (N,) losses (0-d when unbatched);
        ``'sum'`` their sum; ``'mean'`` divides each loss by its target length
        clamped to 1, then averages over the batch (NaN for an empty batch).
    zero_infinity : bool
        Replace infinite losses (no alignment fits) by 0.
    batch_first : bool
        ``log_probs`` is (N, T, C).
    from_logits : bool
        ``log_probs`` are unnormalised activations: ``log_softmax`` over C is
        fused in, and the gradient is with respect to the activations.
    return_grad : bool
        Also return the gradient of the returned loss w.r.t. ``log_probs``
        (shape and dtype of ``log_probs``; for ``'none'``: the gradient of
        ``loss.sum()``).
    grad_out : array, optional
        C-contiguous buffer of ``log_probs``' shape and dtype to write the
        gradient into (avoids allocating and page-faulting a large array).

    Returns
    -------
    loss : NumPy scalar of the input's float dtype, or (N,) array for ``'none'``
    grad : array, only with ``return_grad=True``

    Notes
    -----
    **Gradient convention.**  The gradient is the true derivative of the
    returned loss w.r.t. the array passed.  For log-probabilities it is minus
    the posterior occupancy, :math:`-\sum_{s: l'_s = c} \gamma_t(s)`, nonzero
    only on the target's classes and blank.  PyTorch's own ``ctc_loss``
    backward returns :math:`\exp(\text{log\_probs}) - \gamma` instead, which
    is the gradient w.r.t. the *logits* of a ``log_softmax`` upstream and is
    wrong for unnormalised log-probs (pytorch issues 52241, 181534); both
    agree after the chain rule through ``log_softmax``.  With
    ``from_logits=True`` the gradient is ``softmax - gamma`` w.r.t. the
    activations (warp-ctc's convention).  Rows ``t >= input_lengths[n]`` are
    zero; a sample whose loss is infinite contributes a zero gradient (PyTorch
    gives NaN unless ``zero_infinity``).  NaN in a needed log-probability
    gives a NaN loss and NaN gradient rows for that sample.

    Differences from PyTorch: labels equal to ``blank`` or outside ``[0, C)``
    raise ``ValueError`` naming the sample (PyTorch computes a meaningless value
    or reads out of bounds); float32 inputs are computed in float64.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> lp = np.log(np.full((3, 1, 2), 0.5))      # T=3, N=1, C=2, uniform
    >>> # paths for target [1]: 1bb, b1b, bb1, 11b, b11, 111 -> 6 * 0.5**3
    >>> round(float(fastloss.ctc_loss(lp, np.array([[1]]), [3], [1], reduction="sum")), 6)
    0.287682
    >>> loss, grad = fastloss.ctc_loss(lp, np.array([[1]]), [3], [1], return_grad=True)
    >>> grad.shape
    (3, 1, 2)
    """
    x, unbatched, T, N, C, blank, il, tl, flat, offsets = _prepare(
        log_probs, targets, input_lengths, target_lengths, blank, batch_first
    )
    reduction = _checks.check_reduction(reduction)
    zero_infinity = _checks.check_bool(zero_infinity, "zero_infinity")
    from_logits = _checks.check_bool(from_logits, "from_logits")
    return_grad = _checks.check_bool(return_grad, "return_grad")
    _checks.check_grad_out(grad_out, return_grad)
    dtype = np.dtype(x.dtype.type)
    tl1 = np.maximum(tl, 1).astype(np.float64)
    grad = None
    gscale = None
    if return_grad:
        grad = grad_buffer(x, grad_out)
        gscale = 1.0 / (tl1 * N) if reduction == "mean" else np.ones(N)
    logz = _run(x, T, N, C, blank, il, tl, flat, offsets, np.arange(N, dtype=np.int64),
                batch_first, unbatched, from_logits, gscale, grad)
    losses = -logz
    if zero_infinity:
        losses[np.isinf(losses)] = 0.0
    if reduction == "none":
        value = losses.astype(dtype)
        if unbatched:
            value = value.reshape(())
    elif reduction == "sum":
        value = dtype.type(math.fsum(losses) if np.all(np.isfinite(losses)) else losses.sum())
    else:
        per = losses / tl1
        if N == 0:
            value = dtype.type(math.nan)
        else:
            value = dtype.type((math.fsum(per) if np.all(np.isfinite(per)) else per.sum()) / N)
    return (value, grad) if return_grad else value


def _ctc_log_likelihoods(log_probs, targets, target_lengths, input_lengths, sample_index, *,
                         blank=0, batch_first=False, from_logits=False):
    """Per-candidate CTC log-likelihoods ``log p(y_k | x_{sample_index[k]})`` (float64).

    For n-best rescoring (``fastloss.ctc_score``): many candidate label
    sequences, each scored against one utterance's frames, forward recursion
    only, in parallel over candidates (no Python loop).

    Parameters
    ----------
    log_probs : array (T, N, C) (or (N, T, C) with ``batch_first``; or (T, C) for one utterance)
    targets : int array, concatenated candidates, shape (sum(target_lengths),)
    target_lengths : int array (K,) -- length of each candidate
    input_lengths : int array (N,) -- frames of each utterance (scalar/(1,) for (T, C))
    sample_index : int array (K,) -- utterance row each candidate is scored against
    blank, batch_first, from_logits : as :func:`ctc_loss`

    Returns
    -------
    numpy.ndarray, float64, shape (K,)
        ``-inf`` where no alignment fits; NaN if a needed log-prob is NaN.
        Equal to ``-ctc_loss(..., reduction='none')`` for the same pairs.
    """
    x = _checks.as_float(log_probs, "log_probs")
    if x.ndim == 2:
        unbatched, T, N, C = True, x.shape[0], 1, x.shape[1]
    elif x.ndim == 3:
        unbatched = False
        N, T, C = x.shape if batch_first else (x.shape[1], x.shape[0], x.shape[2])
    else:
        raise ValueError(f"log_probs must be (T, N, C), (N, T, C) or (T, C), got shape {x.shape}")
    blank = _checks.check_int(blank, "blank")
    if not 0 <= blank < C:
        raise ValueError(f"blank must be in [0, {C}), got {blank}")
    il = _lengths(input_lengths, "input_lengths", N, unbatched)
    if np.any(il < 0) or np.any(il > T):
        raise ValueError(f"input_lengths must be in [0, T={T}], got {il}")
    rows = _checks.iter_lengths(sample_index, "sample_index")
    K = rows.size
    if K and (rows.min() < 0 or rows.max() >= N):
        raise ValueError(f"sample_index must be in [0, {N}), got values in [{rows.min()}, {rows.max()}]")
    tl = _checks.iter_lengths(target_lengths, "target_lengths")
    if tl.size != K:
        raise ValueError(f"target_lengths must have shape ({K},) like sample_index, got {tl.shape}")
    if np.any(tl < 0):
        raise ValueError("target_lengths must be >= 0")
    flat = np.ascontiguousarray(_checks.as_int_array(targets, "targets"), dtype=np.int64).reshape(-1)
    if int(tl.sum()) != flat.size:
        raise ValueError(f"targets must have sum(target_lengths) = {int(tl.sum())} elements, got {flat.size}")
    offsets = np.zeros(K, dtype=np.int64)
    if K > 1:
        np.cumsum(tl[:-1], out=offsets[1:])
    _check_labels(flat, offsets, tl, C, blank, None, None)
    if K == 0:
        return np.empty(0, dtype=np.float64)
    return _run(x, T, N, C, blank, il, tl, flat, offsets, rows, batch_first, unbatched,
                _checks.check_bool(from_logits, "from_logits"))


__all__ = ["ctc_loss"]
