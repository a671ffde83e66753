"""Benchmark cases for the imbalanced-data metrics.

Baseline: scikit-learn (``average_precision_score``, ``roc_auc_score``,
``roc_curve``, ``confusion_matrix``, ``precision_recall_fscore_support``).
The issue's bars: AP and ROC AUC >= 5x scikit-learn at 10^7 scores with 1%
positives; confusion matrix and macro precision/recall/F >= 20x at 10^7
labels and 10 classes.
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _make_binary(p, rng):
    n = p["n"]
    y = (rng.random(n) < p.get("pos", 0.01)).astype(np.int64)
    s = rng.random(n) + 0.5 * y
    return y, s


def _make_labels(p, rng):
    n, c = p["n"], p["c"]
    t = rng.integers(0, c, n)
    pred = np.where(rng.random(n) < 0.7, t, rng.integers(0, c, n))
    return t, pred


def _make_multiclass(p, rng):
    n, c = p["n"], p["c"]
    y = rng.integers(0, c, n)
    z = rng.standard_normal((n, c)) + np.eye(c)[y]
    prob = np.exp(z)
    prob /= prob.sum(axis=1, keepdims=True)
    return y, prob


def _impls(name):
    def impls():
        import fastloss

        skm = optional("sklearn.metrics")
        if name == "average_precision":
            out = {"fastloss": lambda d: fastloss.average_precision(*d)}
            if skm is not None:
                out["sklearn"] = lambda d: skm.average_precision_score(*d)
        elif name == "roc_auc":
            out = {"fastloss": lambda d: fastloss.roc_auc(*d)}
            if skm is not None:
                out["sklearn"] = lambda d: skm.roc_auc_score(*d, multi_class="ovr")
        elif name == "roc_curve":
            out = {"fastloss": lambda d: fastloss.roc_curve(*d)}
            if skm is not None:
                out["sklearn"] = lambda d: skm.roc_curve(*d)
        elif name == "confusion_matrix":
            out = {"fastloss": lambda d: fastloss.confusion_matrix(*d)}
            if skm is not None:
                out["sklearn"] = lambda d: skm.confusion_matrix(*d)
        else:
            out = {"fastloss": lambda d: fastloss.precision_recall_fscore(*d, average="macro")}
            if skm is not None:
                out["sklearn"] = lambda d: skm.precision_recall_fscore_support(*d, average="macro")
        return out

    return impls


_BINARY = (
    Shape("1e5 1%pos", {"n": 10**5}, quick=True),
    Shape("1e7 1%pos", {"n": 10**7}),
    Shape("1e7 50%pos", {"n": 10**7, "pos": 0.5}),
)
_LABELS = (
    Shape("1e5 C10", {"n": 10**5, "c": 10}, quick=True),
    Shape("1e7 C10", {"n": 10**7, "c": 10}),
    Shape("1e7 C1000", {"n": 10**7, "c": 1000}),
)

CASES = [
    Case("average_precision", "metrics", "forward", _BINARY, _make_binary, _impls("average_precision")),
    Case("roc_auc", "metrics", "forward", _BINARY, _make_binary, _impls("roc_auc")),
    Case(
        "roc_auc",
        "metrics",
        "forward",
        (Shape("1e4x10 ovr", {"n": 10**4, "c": 10}, quick=True), Shape("1e6x10 ovr", {"n": 10**6, "c": 10})),
        _make_multiclass,
        _impls("roc_auc"),
        note="multi-class one-vs-rest, macro",
    ),
    Case("roc_curve", "metrics", "forward", _BINARY[:2], _make_binary, _impls("roc_curve")),
    Case("confusion_matrix", "metrics", "forward", _LABELS, _make_labels, _impls("confusion_matrix")),
    Case("precision_recall_fscore", "metrics", "forward", _LABELS, _make_labels, _impls("prf")),
]
