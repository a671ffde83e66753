"""PyTorch adapters: fastloss kernels behind ``torch.autograd`` (CPU tensors).

``import fastloss`` never imports torch; this module does, and fails with a
clear ``ImportError`` when torch is not installed.

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

__all__ = ["ctc_loss", "CTCLoss"]


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
