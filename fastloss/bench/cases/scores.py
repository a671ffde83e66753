"""Benchmark cases for the issue-16 metrics against scikit-learn: accuracy,
balanced accuracy, MCC, Cohen's kappa, log loss, Brier score, top-k
accuracy, DET curve, calibration curve, multilabel P/R/F (samples).  The
issue's bar: >= 5x scikit-learn at 10^7 samples."""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _labels(p, rng):
    n, c = p["n"], p.get("c", 10)
    t = rng.integers(0, c, n)
    return t, np.where(rng.random(n) < 0.7, t, rng.integers(0, c, n))


def _proba(p, rng):
    n, c = p["n"], p.get("c", 10)
    y = rng.integers(0, c, n)
    z = rng.random((n, c)) + np.eye(c)[y]
    return y, z / z.sum(axis=1, keepdims=True)


def _binary(p, rng):
    n = p["n"]
    y = (rng.random(n) < 0.3).astype(np.int64)
    return y, np.clip(rng.random(n) * 0.8 + 0.2 * y, 0, 1)


def _multilabel(p, rng):
    n, c = p["n"], p.get("c", 10)
    return rng.integers(0, 2, (n, c)), rng.integers(0, 2, (n, c))


def _impls(ours, theirs, **kw):
    def impls():
        import fastloss

        out = {"fastloss": lambda d: getattr(fastloss, ours)(*d, **kw)}
        skm = optional("sklearn.metrics")
        if theirs == "calibration_curve":
            skm = optional("sklearn.calibration")
        if skm is not None:
            out["sklearn"] = lambda d: getattr(skm, theirs)(*d, **kw)
        return out

    return impls


_N = (Shape("1e5", {"n": 10**5}, quick=True), Shape("1e7", {"n": 10**7}))
_NC = (Shape("1e4x10", {"n": 10**4}, quick=True), Shape("1e6x10", {"n": 10**6}), Shape("1e7x10", {"n": 10**7}))

CASES = [
    Case("accuracy", "scores", "forward", _N, _labels, _impls("accuracy", "accuracy_score")),
    Case("balanced_accuracy", "scores", "forward", _N, _labels, _impls("balanced_accuracy", "balanced_accuracy_score")),
    Case("matthews_corrcoef", "scores", "forward", _N, _labels, _impls("matthews_corrcoef", "matthews_corrcoef")),
    Case("cohen_kappa", "scores", "forward", _N, _labels, _impls("cohen_kappa", "cohen_kappa_score", weights="quadratic")),
    Case("log_loss", "scores", "forward", _NC, _proba, _impls("log_loss", "log_loss")),
    Case("brier_score", "scores", "forward", _NC, _proba, _impls("brier_score", "brier_score_loss")),
    Case("top_k_accuracy", "scores", "forward", _NC, _proba, _impls("top_k_accuracy", "top_k_accuracy_score", k=3)),
    Case("det_curve", "scores", "forward", _N, _binary, _impls("det_curve", "det_curve")),
    Case("calibration_curve", "scores", "forward", _N, _binary, _impls("calibration_curve", "calibration_curve", n_bins=10)),
    Case("precision_recall_fscore", "scores", "forward", _NC[:2], _multilabel,
         _impls("precision_recall_fscore", "precision_recall_fscore_support", average="samples"),
         note="multilabel indicators, average='samples'"),
]
