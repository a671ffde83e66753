"""Benchmark cases for the OOD scores, ood_metrics and the calibration error.

Baselines: scipy (``logsumexp``, ``softmax(...).max``, ``entropy``), NumPy
(``max``), PyTorch (``logsumexp``, ``softmax().max``), scikit-learn
(``roc_auc_score`` + ``average_precision_score`` x2 + ``roc_curve`` for
``ood_metrics``; ``calibration_curve`` for the binary calibration data).
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _logit_shapes():
    return (
        Shape("2000x1000 float32", {"n": 2000, "c": 1000, "dtype": "float32"}, quick=True),
        Shape("200000x1000 float32", {"n": 200_000, "c": 1000, "dtype": "float32"}),
        Shape("200000x1000 float64", {"n": 200_000, "c": 1000, "dtype": "float64"}),
        Shape("4096x32000 float32", {"n": 4096, "c": 32000, "dtype": "float32"}),
    )


def _make_logits(p, rng):
    return (rng.standard_normal((p["n"], p["c"]), dtype=np.float32) * 3).astype(p["dtype"], copy=False)


def _score_impls(kind):
    def impls():
        import fastloss

        out = {}
        special = optional("scipy.special")
        torch = optional("torch")
        if kind == "energy":
            out["fastloss"] = fastloss.energy_score
            if special is not None:
                out["scipy"] = lambda x: special.logsumexp(x, axis=1)
            if torch is not None:
                out["torch"] = lambda x: torch.logsumexp(torch.from_numpy(x), 1)
        elif kind == "msp":
            out["fastloss"] = fastloss.msp_score
            if special is not None:
                out["scipy"] = lambda x: special.softmax(x, axis=1).max(axis=1)
            if torch is not None:
                out["torch"] = lambda x: torch.softmax(torch.from_numpy(x), 1).max(1).values
        elif kind == "entropy":
            out["fastloss"] = fastloss.entropy_score
            if special is not None:
                out["scipy"] = lambda x: -special.entr(special.softmax(x, axis=1)).sum(axis=1)
        else:
            out["fastloss"] = fastloss.max_logit_score
            out["numpy"] = lambda x: x.max(axis=1)
            if torch is not None:
                out["torch"] = lambda x: torch.from_numpy(x).max(1).values
        return out

    return impls


def _make_scores(p, rng):
    n = p["n"]
    return rng.standard_normal(n) + 1.0, rng.standard_normal(n // 10)


def _metrics_impls():
    import fastloss

    out = {"fastloss": lambda d: fastloss.ood_metrics(*d)}
    skm = optional("sklearn.metrics")
    if skm is not None:

        def sk(d):
            s_in, s_out = d
            y = np.r_[np.ones(s_in.size), np.zeros(s_out.size)]
            s = np.r_[s_in, s_out]
            fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
            return (
                skm.roc_auc_score(y, s),
                skm.average_precision_score(y, s),
                skm.average_precision_score(1 - y, -s),
                fpr[tpr >= 0.95].min(),
            )

        out["sklearn"] = sk
    return out


def _make_binary(p, rng):
    prob = rng.random(p["n"])
    return prob, (rng.random(p["n"]) < prob).astype(np.int64)


def _calib_impls():
    import fastloss

    out = {"fastloss": lambda d: fastloss.reliability_diagram(*d)}
    cal = optional("sklearn.calibration")
    if cal is not None:
        out["sklearn"] = lambda d: cal.calibration_curve(d[1], d[0], n_bins=15)
    return out


CASES = [
    Case("energy_score", "ood", "forward", _logit_shapes(), _make_logits, _score_impls("energy")),
    Case("msp_score", "ood", "forward", _logit_shapes(), _make_logits, _score_impls("msp")),
    Case("entropy_score", "ood", "forward", _logit_shapes()[:2], _make_logits, _score_impls("entropy")),
    Case("max_logit_score", "ood", "forward", _logit_shapes()[:2], _make_logits, _score_impls("max")),
    Case(
        "ood_metrics",
        "ood",
        "forward",
        (Shape("1e5+1e4", {"n": 10**5}, quick=True), Shape("1e7+1e6", {"n": 10**7})),
        _make_scores,
        _metrics_impls,
    ),
    Case(
        "reliability_diagram",
        "ood",
        "forward",
        (Shape("1e6 binary", {"n": 10**6}, quick=True), Shape("1e7 binary", {"n": 10**7})),
        _make_binary,
        _calib_impls,
    ),
]
