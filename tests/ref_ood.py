"""Reference twins for fastloss.ood and fastloss.calibration.

Plain float64 NumPy/Python, written for clarity: scores row by row with
``np.logaddexp.reduce`` (not max-shift + exp-sum), AUROC by counting pairs
(Mann-Whitney), AP and FPR@TPR by looping over thresholds, calibration bins
by explicit interval tests.
"""
from __future__ import annotations

import math

import numpy as np

from reference import twin


def _rows(logits):
    x = np.asarray(logits, dtype=np.float64)
    return x[None, :] if x.ndim == 1 else x, x.ndim == 1


def _per_row(fn, logits):
    x, single = _rows(logits)
    out = np.array([fn(row) for row in x], dtype=np.float64)
    return out[0] if single else out


def _log_softmax(row, temperature):
    z = row / temperature
    return z - np.logaddexp.reduce(z)


@twin
def msp_score_reference(logits, *, temperature=1.0):
    return _per_row(lambda r: math.exp(_log_softmax(r, temperature).max()), logits)


@twin
def max_logit_score_reference(logits):
    return _per_row(lambda r: max(r.tolist()) if not np.isnan(r).any() else np.nan, logits)


@twin
def energy_score_reference(logits, *, temperature=1.0):
    return _per_row(lambda r: temperature * np.logaddexp.reduce(r / temperature), logits)


@twin
def entropy_score_reference(logits, *, temperature=1.0):
    def neg_entropy(row):
        logp = _log_softmax(row, temperature)
        return sum(math.exp(lp) * lp for lp in logp if lp > -np.inf)

    return _per_row(neg_entropy, logits)


@twin
def ood_metrics_reference(scores_in, scores_out):
    s_in = np.asarray(scores_in, dtype=np.float64)
    s_out = np.asarray(scores_out, dtype=np.float64)
    # AUROC: probability that an in-distribution sample outscores an OOD one.
    wins = (s_in[:, None] > s_out[None, :]).sum() + 0.5 * (s_in[:, None] == s_out[None, :]).sum()
    auroc = wins / (s_in.size * s_out.size)

    def average_precision(pos, neg):
        # step-wise: sum over thresholds of (recall gain) * precision
        ap = 0.0
        prev_recall = 0.0
        for t in sorted(set(pos.tolist()) | set(neg.tolist()), reverse=True):
            tp = (pos >= t).sum()
            fp = (neg >= t).sum()
            recall = tp / pos.size
            ap += (recall - prev_recall) * tp / (tp + fp)
            prev_recall = recall
        return ap

    fpr95 = min(
        (s_out >= t).mean()
        for t in set(s_in.tolist()) | set(s_out.tolist())
        if (s_in >= t).mean() >= 0.95
    )
    return {
        "auroc": float(auroc),
        "aupr_in": float(average_precision(s_in, s_out)),
        "aupr_out": float(average_precision(-s_out, -s_in)),
        "fpr_at_95_tpr": float(fpr95),
    }


def _conf_correct(probs_or_logits, labels, logits):
    x = np.asarray(probs_or_logits, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    if x.ndim == 1:
        p = 1.0 / (1.0 + np.exp(-x)) if logits else x
        return p, (y == 1).astype(np.float64)
    conf, correct = [], []
    for row, label in zip(x, y):
        p = np.exp(row - np.logaddexp.reduce(row)) if logits else row
        k = int(np.argmax(row))  # first maximum
        conf.append(p[k])
        correct.append(1.0 if k == label else 0.0)
    return np.array(conf), np.array(correct)


def _edges(conf, n_bins, strategy):
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    return np.percentile(conf, np.linspace(0, 1, n_bins + 1) * 100)


@twin
def reliability_diagram_reference(probs_or_logits, labels, *, n_bins=15, strategy="uniform", logits=False):
    conf, correct = _conf_correct(probs_or_logits, labels, logits)
    edges = _edges(conf, n_bins, strategy)
    count = np.zeros(n_bins, dtype=np.int64)
    mean_conf = np.full(n_bins, np.nan)
    acc = np.full(n_bins, np.nan)
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        # right-closed (lo, hi]; the first bin also takes conf <= hi below lo,
        # the last also everything above its upper edge (scikit-learn).
        above = conf > lo if b > 0 else np.ones(conf.size, bool)
        below = conf <= hi if b < n_bins - 1 else np.ones(conf.size, bool)
        inside = above & below
        count[b] = inside.sum()
        if count[b]:
            mean_conf[b] = conf[inside].mean()
            acc[b] = correct[inside].mean()
    return edges, mean_conf, acc, count


@twin
def expected_calibration_error_reference(
    probs_or_logits, labels, *, n_bins=15, norm="l1", strategy="uniform", logits=False
):
    edges, conf, acc, count = reliability_diagram_reference(
        probs_or_logits, labels, n_bins=n_bins, strategy=strategy, logits=logits
    )
    weight = count / count.sum()
    gaps = [abs(a - c) for a, c, n in zip(acc, conf, count) if n > 0]
    weights = [w for w, n in zip(weight, count) if n > 0]
    if norm == "l1":
        return sum(w * g for w, g in zip(weights, gaps))
    if norm == "l2":
        return math.sqrt(sum(w * g * g for w, g in zip(weights, gaps)))
    return max(gaps)


@twin
def plot_reliability_diagram_reference(probs_or_logits, labels, *, n_bins=15, strategy="uniform", logits=False):
    """The bars the plot must draw: (left edge, width, height) per non-empty bin."""
    edges, conf, acc, count = reliability_diagram_reference(
        probs_or_logits, labels, n_bins=n_bins, strategy=strategy, logits=logits
    )
    return [(edges[b], edges[b + 1] - edges[b], acc[b]) for b in range(n_bins) if count[b] > 0]
