"""Twins of the imbalanced-data metrics: plain Python/NumPy float64, written
from the definitions (threshold loops, pairwise comparisons), never like the
kernels (no sorting walk, no histogram blocks, no binary search)."""
from __future__ import annotations

import math

import numpy as np
from reference import twin


@twin
def confusion_matrix_reference(y_true, y_pred, *, labels=None, sample_weight=None):
    y_true, y_pred = list(np.asarray(y_true)), list(np.asarray(y_pred))
    if labels is None:
        labels = sorted(set(y_true) | set(y_pred))
    w = [1.0] * len(y_true) if sample_weight is None else [float(v) for v in sample_weight]
    pos = {lab: i for i, lab in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)))
    for t, p, wi in zip(y_true, y_pred, w):
        if t in pos and p in pos:
            cm[pos[t], pos[p]] += wi
    return cm


@twin
def precision_recall_fscore_reference(y_true, y_pred, *, labels=None, beta=1.0, zero_division=0.0, sample_weight=None):
    """Per-class (precision, recall, fscore, support) by counting directly."""
    y_true, y_pred = list(np.asarray(y_true)), list(np.asarray(y_pred))
    if labels is None:
        labels = sorted(set(y_true) | set(y_pred))
    w = [1.0] * len(y_true) if sample_weight is None else [float(v) for v in sample_weight]
    out = []
    for c in labels:
        tp = sum(wi for t, p, wi in zip(y_true, y_pred, w) if t == c and p == c)
        fp = sum(wi for t, p, wi in zip(y_true, y_pred, w) if t != c and p == c)
        fn = sum(wi for t, p, wi in zip(y_true, y_pred, w) if t == c and p != c)
        prec = tp / (tp + fp) if tp + fp else zero_division
        rec = tp / (tp + fn) if tp + fn else zero_division
        b2 = beta * beta
        den = (1 + b2) * tp + b2 * fn + fp
        f = (1 + b2) * tp / den if den else zero_division
        out.append((prec, rec, f, tp + fn))
    return tuple(np.array(col, dtype=np.float64) for col in zip(*out))


def _points(y_true, y_score, pos_label, sample_weight):
    """[(threshold, TP weight >= t, FP weight >= t)] for each distinct score,
    by rescanning all samples per threshold (O(N * distinct))."""
    y = np.asarray(y_true) == pos_label
    s = np.asarray(y_score, dtype=np.float64)
    w = np.ones(s.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    keep = w != 0
    y, s, w = y[keep], s[keep], w[keep]
    pts = []
    for t in sorted(set(s.tolist()), reverse=True):
        sel = s >= t
        pts.append((t, float(np.sum(w[sel & y])), float(np.sum(w[sel & ~y]))))
    return pts


@twin
def roc_curve_reference(y_true, y_score, *, pos_label=1, sample_weight=None, drop_intermediate=True):
    pts = _points(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and len(pts) > 2:
        kept = [pts[0]]
        for a, b, c in zip(pts, pts[1:], pts[2:]):
            # keep b unless it lies on the straight line a-c with equal steps
            if (c[1] - b[1]) != (b[1] - a[1]) or (c[2] - b[2]) != (b[2] - a[2]):
                kept.append(b)
        kept.append(pts[-1])
        pts = kept
    P = pts[-1][1] if pts else 0.0
    N = pts[-1][2] if pts else 0.0
    fpr = [0.0] + [p[2] / N if N > 0 else math.nan for p in pts]
    tpr = [0.0] + [p[1] / P if P > 0 else math.nan for p in pts]
    if N <= 0:
        fpr = [math.nan] * len(fpr)
    if P <= 0:
        tpr = [math.nan] * len(tpr)
    return np.array(fpr), np.array(tpr), np.array([math.inf] + [p[0] for p in pts])


@twin
def precision_recall_curve_reference(y_true, y_score, *, pos_label=1, sample_weight=None):
    pts = _points(y_true, y_score, pos_label, sample_weight)[::-1]  # increasing thresholds
    P = pts[0][1]
    prec = [tp / (tp + fp) if tp + fp else 0.0 for _, tp, fp in pts] + [1.0]
    rec = [tp / P if P else 1.0 for _, tp, _ in pts] + [0.0]
    return np.array(prec), np.array(rec), np.array([p[0] for p in pts])


@twin
def average_precision_reference(y_true, y_score, *, pos_label=1, sample_weight=None):
    """Step-wise AP: sum over thresholds of (recall gain) x precision."""
    pts = _points(y_true, y_score, pos_label, sample_weight)
    P = pts[-1][1]
    if P == 0:
        return 0.0
    ap, prev = 0.0, 0.0
    for _, tp, fp in pts:
        ap += (tp - prev) / P * (tp / (tp + fp))
        prev = tp
    return ap


def _mann_whitney(ybin, s, w):
    pos = [(si, wi) for si, wi, yi in zip(s, w, ybin) if yi]
    neg = [(si, wi) for si, wi, yi in zip(s, w, ybin) if not yi]
    P = sum(wi for _, wi in pos)
    N = sum(wi for _, wi in neg)
    if not pos or not neg:
        return math.nan
    tot = 0.0
    for sp, wp in pos:
        for sn, wn in neg:
            tot += wp * wn * (1.0 if sp > sn else 0.5 if sp == sn else 0.0)
    return tot / (P * N)


@twin
def roc_auc_reference(y_true, y_score, *, average="macro", multi_class="ovr", sample_weight=None):
    """Binary: pairwise Mann-Whitney statistic (ties 1/2).  Multi-class:
    one-vs-rest over sorted classes, macro or prevalence-weighted mean; or
    one-vs-one (Hand & Till 2001): for every pair of classes, the mean of
    the two Mann-Whitney statistics on that pair's samples."""
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=np.float64)
    w = np.ones(y.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    classes = sorted(set(y.tolist()))
    if s.ndim == 1:
        return _mann_whitney(y == classes[-1], s, w)
    if multi_class == "ovo":
        pair_aucs, shares = [], []
        for i, a in enumerate(classes):
            for b in classes[i + 1:]:
                ab = (y == a) | (y == b)
                ka, kb = classes.index(a), classes.index(b)
                one = _mann_whitney(y[ab] == a, s[ab, ka], w[ab])
                other = _mann_whitney(y[ab] == b, s[ab, kb], w[ab])
                pair_aucs.append((one + other) / 2)
                shares.append(ab.mean())
        if average == "weighted":
            return float(np.dot(pair_aucs, shares) / np.sum(shares))
        return float(np.mean(pair_aucs))
    aucs = np.array([_mann_whitney(y == c, s[:, k], w) for k, c in enumerate(classes)])
    if average is None:
        return aucs
    if average == "weighted":
        prev = np.array([w[y == c].sum() for c in classes])
        return float(np.sum(aucs * prev) / prev.sum())
    return float(np.mean(aucs))


@twin
def class_weights_reference(y, *, method="balanced", beta=0.999):
    y = np.asarray(y)
    classes = sorted(set(y.tolist()))
    counts = np.array([np.sum(y == c) for c in classes], dtype=np.float64)
    if method == "balanced":
        return np.array([len(y) / (len(classes) * n) for n in counts])
    w = np.array([(1 - beta) / (1 - beta**n) if beta > 0 else 1.0 for n in counts])
    return w / w.sum() * len(classes)
