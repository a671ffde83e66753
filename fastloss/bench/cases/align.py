"""Benchmark cases for CTC forced alignment (listed in the ``decode`` family).

Emissions look like a trained CTC model's (``decode.make_log_probs``: one
symbol favoured per frame, blank 60% of the time); targets are random labels
(no blank), ``L`` per utterance.  Baseline: ``torchaudio.functional.
forced_align`` (only where installed; it takes one utterance per call, so it
is called once per utterance, as users do).
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _make_align(params, rng):
    T, N, C, L = params["T"], params["N"], params["C"], params["L"]
    from .decode import make_log_probs  # here: decode.py imports this module's CASES

    lp = np.ascontiguousarray(make_log_probs(T, N, C, seed=params.get("seed", 0)).transpose(1, 0, 2))
    targets = np.random.default_rng(1).integers(1, C, (N, L))
    return {"lp": lp, "targets": targets}


def _align_impls():
    import fastloss

    out = {"fastloss": lambda d: fastloss.forced_align(d["lp"], d["targets"], ties="torchaudio")}
    F = optional("torchaudio.functional")
    torch = optional("torch")
    if F is not None and torch is not None and hasattr(F, "forced_align"):  # pragma: no cover - side env only

        def run_torchaudio(d):
            x = torch.from_numpy(d["lp"])
            y = torch.from_numpy(d["targets"])
            return [F.forced_align(x[n : n + 1], y[n : n + 1]) for n in range(x.shape[0])]

        out["torchaudio"] = run_torchaudio
    return out


CASES = [
    Case("forced_align", "decode", "forward",
         (Shape("N8 T200 C30 L40", {"N": 8, "T": 200, "C": 30, "L": 40}, quick=True),
          Shape("N32 T1000 C30 L200", {"N": 32, "T": 1000, "C": 30, "L": 200})),
         _make_align, _align_impls,
         note="float32 (N, T, C); torchaudio called once per utterance (it takes batch size 1)"),
]
