"""Benchmark cases for the CTC loss (issue 4's shapes, plus a peaky input).

Inputs are ``log_softmax`` outputs in (T, N, C) with full-length inputs and
targets.  ``peaky`` scales the logits by 30 (a trained model's posteriors),
which is where probability-space CTC implementations underflow.  In
``forward+grad`` fastloss allocates its gradient on every call, as torch does
(a user's first call); ``forward+grad grad_out`` writes it into a reused
buffer (``grad_out``), reported beside.
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _shapes():
    out = []
    for dt in ("float32", "float64"):
        for T, N, C, L, scale, quick in (
            (500, 32, 30, 100, 1.0, True),
            (200, 32, 1000, 50, 1.0, False),
            (1000, 8, 5000, 200, 1.0, False),
            (2000, 8, 100, 300, 30.0, False),
            (2000, 8, 30, 300, 30.0, False),
        ):
            label = f"T{T} N{N} C{C} L{L}" + (" peaky" if scale != 1.0 else "") + f" {dt}"
            out.append(Shape(label, {"T": T, "N": N, "C": C, "L": L, "scale": scale, "dtype": dt},
                             quick=quick and dt == "float32"))
    return tuple(out)


def _make(p, rng):
    T, N, C, L = p["T"], p["N"], p["C"], p["L"]
    x = rng.standard_normal((T, N, C)) * p["scale"]
    m = x.max(-1, keepdims=True)
    lp = (x - (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))).astype(p["dtype"])
    return {
        "log_probs": lp,
        "targets": rng.integers(1, C, (N, L)),
        "input_lengths": np.full(N, T, dtype=np.int64),
        "target_lengths": np.full(N, L, dtype=np.int64),
        "grad": np.empty_like(lp),
    }


def _impls(grad, reuse=False):
    def impls():
        import fastloss

        def run(d):
            return fastloss.ctc_loss(d["log_probs"], d["targets"], d["input_lengths"], d["target_lengths"],
                                     return_grad=grad, grad_out=d["grad"] if reuse else None)

        out = {"fastloss": run}
        torch = optional("torch")
        if torch is not None:
            F = torch.nn.functional

            def run_torch(d):
                tg = torch.from_numpy(d["targets"])
                il = torch.from_numpy(d["input_lengths"])
                tl = torch.from_numpy(d["target_lengths"])
                if grad:
                    lp = torch.from_numpy(d["log_probs"]).requires_grad_(True)
                    F.ctc_loss(lp, tg, il, tl).backward()
                    return lp.grad
                with torch.no_grad():
                    return F.ctc_loss(torch.from_numpy(d["log_probs"]), tg, il, tl)

            out["torch"] = run_torch
        return out

    return impls


CASES = [
    Case("ctc_loss", "ctc", "forward", _shapes(), _make, _impls(False)),
    Case("ctc_loss", "ctc", "forward+grad", _shapes(), _make, _impls(True)),
    Case("ctc_loss", "ctc", "forward+grad grad_out", _shapes(), _make, _impls(True, reuse=True)),
]
