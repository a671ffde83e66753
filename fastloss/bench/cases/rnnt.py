"""Benchmark cases for the RNN-T loss (issue 15's shapes).

Inputs are joint-network logits (B, T, U+1, V), float32, full-length inputs
and targets, blank last (torchaudio's default).  What is timed is loss plus
gradient w.r.t. the logits (log-softmax fused in), for every library alike.
fastloss writes its gradient into a reused buffer (``grad_out``).

Baselines:

* ``torch recursion``: a plain PyTorch implementation of the same
  log-space recursion (log_softmax, gather, anti-diagonal alpha, autograd
  for the gradient): what one writes without a dedicated kernel, and it runs
  in CI's environment.  :func:`torch_rnnt_loss` is also used by the tests.
* ``torchaudio``: ``torchaudio.functional.rnnt_loss`` when it imports (it does
  not beside torch 2.13; its figures in docs/rnnt.md come from the side
  environment, ``bench/rnnt_torchaudio.py``).
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _shapes():
    return (
        Shape("B4 T50 U10 V100", {"B": 4, "T": 50, "U": 10, "V": 100}, quick=True),
        Shape("B8 T200 U50 V500", {"B": 8, "T": 200, "U": 50, "V": 500}),
        Shape("B32 T150 U20 V1000", {"B": 32, "T": 150, "U": 20, "V": 1000}),
    )


def make(p, rng):
    B, T, U, V = p["B"], p["T"], p["U"], p["V"]
    x = rng.standard_normal((B, T, U + 1, V), dtype=np.float32)
    return {
        "logits": x,
        "targets": rng.integers(0, V - 1, (B, U)).astype(np.int32),  # blank = V-1 excluded
        "logit_lengths": np.full(B, T, dtype=np.int32),
        "target_lengths": np.full(B, U, dtype=np.int32),
        "grad": np.empty_like(x),
    }


def torch_rnnt_loss(logits, targets, logit_lengths, target_lengths, blank=-1):
    """Plain PyTorch RNN-T loss (per-sample, (B,)): log_softmax, gather, and the
    alpha recursion over anti-diagonals (cells with t + u = d depend only on
    diagonal d - 1), differentiable by autograd.  A large finite negative
    number stands for log 0, so that autograd never sees -inf - -inf."""
    import torch

    B, T, U1, V = logits.shape
    U = U1 - 1
    blank = blank % V
    neg = -1e30
    lp = logits.log_softmax(-1)
    lpb = lp[..., blank]  # (B, T, U1)
    tg = targets.long()
    lpe = lp[:, :, :U].gather(3, tg[:, None, :, None].expand(B, T, U, 1)).squeeze(3) if U else lpb[:, :, :0]
    t = torch.arange(T)
    prev = torch.full((B, T), neg, dtype=lp.dtype)
    prev[:, 0] = 0.0  # diagonal 0: alpha(0, 0)
    diags = [prev]
    for d in range(1, T + U):
        u = d - t
        valid = (u >= 0) & (u <= U)
        uc = u.clamp(0, U)
        tm1 = (t - 1).clamp(min=0)
        shifted = torch.cat([torch.full((B, 1), neg, dtype=lp.dtype), prev[:, :-1]], 1)  # alpha at (t-1, u)
        a1 = shifted + lpb[:, tm1, uc]
        if U:
            a2 = prev + lpe[:, t, (u - 1).clamp(0, U - 1)]  # alpha at (t, u-1)
            a2 = torch.where(u >= 1, a2, torch.full_like(a2, neg))
            cur = torch.logaddexp(a1, a2)
        else:
            cur = a1
        prev = torch.where(valid, cur, torch.full_like(cur, neg))
        diags.append(prev)
    il = torch.as_tensor(logit_lengths).long()
    tl = torch.as_tensor(target_lengths).long()
    A = torch.stack(diags, 0)  # (T+U, B, T)
    b = torch.arange(B)
    final = A[il - 1 + tl, b, il - 1] + lpb[b, il - 1, tl]
    return -final


def _impls():
    import fastloss

    def run(d):
        return fastloss.rnnt_loss(d["logits"], d["targets"], d["logit_lengths"], d["target_lengths"],
                                  return_grad=True, grad_out=d["grad"])

    out = {"fastloss": run}
    torch = optional("torch")
    if torch is not None:
        def run_torch(d):
            x = torch.from_numpy(d["logits"]).requires_grad_(True)
            torch_rnnt_loss(x, torch.from_numpy(d["targets"]), d["logit_lengths"], d["target_lengths"]).mean().backward()
            return x.grad

        out["torch recursion"] = run_torch
        ta = optional("torchaudio.functional")
        if ta is not None and hasattr(ta, "rnnt_loss"):
            def run_ta(d):
                x = torch.from_numpy(d["logits"]).requires_grad_(True)
                ta.rnnt_loss(x, torch.from_numpy(d["targets"]), torch.from_numpy(d["logit_lengths"]),
                             torch.from_numpy(d["target_lengths"])).backward()
                return x.grad

            out["torchaudio"] = run_ta
    return out


CASES = [Case("rnnt_loss", "rnnt", "forward+grad", _shapes(), make, _impls)]
