"""PyTorch adapters: fastloss kernels behind ``torch.autograd`` (CPU tensors).

``import fastloss`` never imports torch; this module does, and fails with a
clear ``ImportError`` when torch is not installed.

* :func:`rnnt_loss` / :class:`RNNTLoss`: drop-ins for torchaudio's
  ``rnnt_loss`` / ``RNNTLoss`` (same arguments and defaults, plus
  ``fastemit_lambda``); float64 works (gradcheck), double backward raises.
* :func:`ctc_loss` / :class:`CTCLoss`: drop-ins for ``F.ctc_loss`` /
  ``nn.CTCLoss`` with the same signature.  The kernel reads the tensors'
  memory directly (``tensor.numpy()`` views, no copy for float32/float64 with
  a unit class stride) and computes the loss and its gradient in one fused
  pass; ``backward`` only scales the stored gradient.

Gradient convention: the backward is the *true* derivative of the loss with
respect to ``log_probs`` (minus the posterior occupancy).  PyTorch's native
backward returns ``exp(log_probs) - occupancy``, which is only right when a
``log_softmax`` sits upstream; with a ``log_softmax`` upstream both give the
same gradient w.r.t. the logits, and ours also passes ``gradcheck`` on
unnormalised log-probabilities.
"""
from __future__ import annotations

try:
    import torch
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fastloss.torch needs PyTorch (pip install torch); the rest of fastloss works without it"
    ) from exc

import numpy as np

from .speech import ctc as _ctc
from .speech import rnnt as _rnnt

__all__ = ["ctc_loss", "CTCLoss", "rnnt_loss", "RNNTLoss"]


def _np(x, name):
    if isinstance(x, torch.Tensor):
        if x.device.type != "cpu":
            raise TypeError(f"{name} must be a CPU tensor, got a tensor on {x.device}")
        return x.detach().resolve_conj().resolve_neg().numpy()
    return x


def _lengths(x, name):
    if isinstance(x, torch.Tensor):
        return _np(x, name)
    if isinstance(x, (list, tuple)):
        return np.asarray([int(v) for v in x], dtype=np.int64)
    return x


class _CTCFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity,
                batch_first):
        want = log_probs.requires_grad
        out = _ctc.ctc_loss(
            _np(log_probs, "log_probs"), _np(targets, "targets"), input_lengths, target_lengths,
            blank=blank, reduction=reduction, zero_infinity=zero_infinity, batch_first=batch_first,
            return_grad=want,
        )
        if want:
            loss, grad = out
            ctx.save_for_backward(torch.from_numpy(grad))
        else:
            loss = out
        ctx.reduction = reduction
        ctx.batch_first = batch_first
        ctx.unbatched = log_probs.dim() == 2
        ctx.dtype = log_probs.dtype
        return torch.as_tensor(np.asarray(loss), dtype=log_probs.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        if ctx.reduction == "none" and not ctx.unbatched:
            # grad holds d loss_n / d log_probs in sample n's rows.
            shape = (-1, 1, 1) if ctx.batch_first else (1, -1, 1)
            g = grad * grad_output.reshape(shape).to(grad.dtype)
        else:
            g = grad * grad_output.to(grad.dtype)
        return g.to(ctx.dtype), None, None, None, None, None, None, None


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Drop-in for ``torch.nn.functional.ctc_loss`` on CPU tensors.

    Same arguments and values as PyTorch (``log_probs`` (T, N, C) or (T, C);
    padded (N, S) or concatenated targets; ``'mean'`` divides by the target
    lengths clamped to 1, then averages), computed by
    :func:`fastloss.ctc_loss` in float64 and differentiable through autograd
    with the true gradient (see the module docstring).  Bad input raises
    ``ValueError``/``TypeError`` naming the sample.

    Examples
    --------
    >>> import torch, fastloss.torch as ft
    >>> lp = torch.randn(6, 2, 4, dtype=torch.float64).log_softmax(-1).requires_grad_()
    >>> loss = ft.ctc_loss(lp, torch.tensor([[1, 2], [3, 3]]), [6, 5], [2, 2])
    >>> loss.backward()
    >>> lp.grad.shape
    torch.Size([6, 2, 4])
    """
    return _ctc_apply(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity, False)


def _ctc_apply(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity, batch_first):
    if not isinstance(log_probs, torch.Tensor):
        raise TypeError(f"log_probs must be a torch.Tensor, got {type(log_probs).__name__}")
    return _CTCFunction.apply(
        log_probs, targets, _lengths(input_lengths, "input_lengths"),
        _lengths(target_lengths, "target_lengths"), int(blank), reduction, bool(zero_infinity), batch_first,
    )


class CTCLoss(torch.nn.Module):
    """Drop-in for ``torch.nn.CTCLoss`` backed by :func:`ctc_loss`.

    ``CTCLoss(blank=0, reduction='mean', zero_infinity=False)``; call it as
    ``loss_fn(log_probs, targets, input_lengths, target_lengths)``.
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__()
        self.blank = blank
        self.reduction = reduction
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=self.blank,
                        reduction=self.reduction, zero_infinity=self.zero_infinity)

    def extra_repr(self) -> str:
        return f"blank={self.blank}, reduction={self.reduction!r}, zero_infinity={self.zero_infinity}"


# --------------------------------------------------------------------------
# RNN-T
# --------------------------------------------------------------------------


class _RNNTFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, targets, logit_lengths, target_lengths, blank, clamp, reduction, fused, lam):
        want = logits.requires_grad
        out = _rnnt.rnnt_loss(
            _np(logits, "logits"), _np(targets, "targets"), logit_lengths, target_lengths, blank=blank,
            clamp=clamp, reduction=reduction, fused_log_softmax=fused, fastemit_lambda=lam, return_grad=want,
        )
        if want:
            loss, grad = out
            ctx.save_for_backward(torch.from_numpy(grad), logits)
        else:
            loss = out
        ctx.reduction = reduction
        ctx.dtype = logits.dtype
        return torch.as_tensor(np.asarray(loss), dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        grad, logits = ctx.saved_tensors
        with torch.no_grad():
            if ctx.reduction == "none":
                g = grad * grad_output.reshape(-1, 1, 1, 1).to(grad.dtype)
            else:
                g = grad * grad_output.to(grad.dtype)
            g = g.to(ctx.dtype)
        if torch.is_grad_enabled():
            # create_graph=True: the stored gradient is a number, not a graph,
            # so a second derivative would be silently zero.  Return it through
            # a node that raises if anything differentiates it; the node
            # also points at ``logits`` so that a second derivative w.r.t.
            # them reaches it (``@once_differentiable`` links it only to
            # grad_output, and does so only when that requires grad).
            g, _ = torch._C._functions.DelayedError(
                b"fastloss.torch.rnnt_loss is differentiable once: its backward returns a stored "
                b"gradient, so a double backward (create_graph=True) is not supported", 2)(
                    g.detach().requires_grad_(True), logits)
        return g, None, None, None, None, None, None, None, None


def rnnt_loss(logits, targets, logit_lengths, target_lengths, blank=-1, clamp=-1.0, reduction="mean",
              fused_log_softmax=True, fastemit_lambda=0.0):
    """Drop-in for ``torchaudio.functional.rnnt_loss`` on CPU tensors.

    Same arguments, defaults and values as torchaudio (``logits`` (B, T, U+1, V),
    ``'mean'`` = batch mean of the per-sample losses, ``clamp`` clips each
    sample's gradient), computed by :func:`fastloss.rnnt_loss` in float64
    from the tensors' memory (no copy for contiguous float32/float64) and
    differentiable once through autograd (double backward raises).  Also
    accepts float64 (torchaudio does not), ``T``/``U+1`` beyond the lengths'
    maxima, and ``fastemit_lambda`` (see :func:`fastloss.rnnt_loss`).

    Examples
    --------
    >>> import torch, fastloss.torch as ft
    >>> x = torch.randn(2, 5, 3, 4, dtype=torch.float64, requires_grad=True)
    >>> loss = ft.rnnt_loss(x, torch.tensor([[1, 2], [2, 0]], dtype=torch.int32),
    ...                     torch.tensor([5, 4]), torch.tensor([2, 1]))
    >>> loss.backward()
    >>> x.grad.shape
    torch.Size([2, 5, 3, 4])
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    return _RNNTFunction.apply(
        logits, targets, _lengths(logit_lengths, "logit_lengths"), _lengths(target_lengths, "target_lengths"),
        int(blank), float(clamp), reduction, bool(fused_log_softmax), float(fastemit_lambda),
    )


class RNNTLoss(torch.nn.Module):
    """Drop-in for ``torchaudio.transforms.RNNTLoss`` backed by :func:`rnnt_loss`.

    ``RNNTLoss(blank=-1, clamp=-1.0, reduction='mean', fused_log_softmax=True, fastemit_lambda=0.0)``;
    call it as ``loss_fn(logits, targets, logit_lengths, target_lengths)``.
    """

    def __init__(self, blank: int = -1, clamp: float = -1.0, reduction: str = "mean",
                 fused_log_softmax: bool = True, fastemit_lambda: float = 0.0):
        super().__init__()
        self.blank = blank
        self.clamp = clamp
        self.reduction = reduction
        self.fused_log_softmax = fused_log_softmax
        self.fastemit_lambda = fastemit_lambda

    def forward(self, logits, targets, logit_lengths, target_lengths):
        return rnnt_loss(logits, targets, logit_lengths, target_lengths, blank=self.blank, clamp=self.clamp,
                         reduction=self.reduction, fused_log_softmax=self.fused_log_softmax,
                         fastemit_lambda=self.fastemit_lambda)

    def extra_repr(self) -> str:
        return (f"blank={self.blank}, clamp={self.clamp}, reduction={self.reduction!r}, "
                f"fused_log_softmax={self.fused_log_softmax}, fastemit_lambda={self.fastemit_lambda}")
