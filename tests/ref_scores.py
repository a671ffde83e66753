"""Twins of the issue-16 metrics: plain Python float64 from the definitions
(per-sample loops, explicit sums over the confusion matrix, per-threshold
rescans), never like the kernels."""
from __future__ import annotations

import math

import numpy as np
from reference import twin


def _cm(y_true, y_pred, w=None, labels=None):
    y_true, y_pred = list(np.asarray(y_true).tolist()), list(np.asarray(y_pred).tolist())
    if labels is None:
        labels = sorted(set(y_true) | set(y_pred))
    w = [1.0] * len(y_true) if w is None else [float(v) for v in w]
    pos = {lab: i for i, lab in enumerate(labels)}
    cm = [[0.0] * len(labels) for _ in labels]
    for t, p, wi in zip(y_true, y_pred, w):
        if t in pos and p in pos:
            cm[pos[t]][pos[p]] += wi
    return cm


@twin
def accuracy_reference(y_true, y_pred, *, normalize=True, sample_weight=None):
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    w = [1.0] * len(yt) if sample_weight is None else [float(v) for v in sample_weight]
    hit = 0.0
    for t, p, wi in zip(yt, yp, w):
        if np.all(np.asarray(t) == np.asarray(p)):
            hit += wi
    return hit / sum(w) if normalize else hit


@twin
def balanced_accuracy_reference(y_true, y_pred, *, sample_weight=None, adjusted=False):
    cm = _cm(y_true, y_pred, sample_weight)
    recalls = [cm[i][i] / sum(cm[i]) for i in range(len(cm)) if sum(cm[i]) > 0]
    s = sum(recalls) / len(recalls)
    if adjusted:
        chance = 1.0 / len(recalls)
        s = (s - chance) / (1.0 - chance)
    return s


@twin
def matthews_corrcoef_reference(y_true, y_pred, *, sample_weight=None):
    cm = _cm(y_true, y_pred, sample_weight)
    k = len(cm)
    s = sum(map(sum, cm))
    c = sum(cm[i][i] for i in range(k))
    t = [sum(cm[i]) for i in range(k)]
    p = [sum(cm[i][j] for i in range(k)) for j in range(k)]
    num = c * s - sum(ti * pi for ti, pi in zip(t, p))
    den = math.sqrt((s * s - sum(x * x for x in p)) * (s * s - sum(x * x for x in t)))
    return 0.0 if den == 0 else num / den


@twin
def cohen_kappa_reference(y1, y2, *, labels=None, weights=None, sample_weight=None):
    cm = _cm(y1, y2, sample_weight, labels)
    k = len(cm)
    n = sum(map(sum, cm))
    rows = [sum(cm[i]) for i in range(k)]
    cols = [sum(cm[i][j] for i in range(k)) for j in range(k)]

    def wgt(i, j):
        if weights is None:
            return 0.0 if i == j else 1.0
        return abs(i - j) if weights == "linear" else (i - j) ** 2

    obs = sum(wgt(i, j) * cm[i][j] for i in range(k) for j in range(k))
    exp = sum(wgt(i, j) * rows[i] * cols[j] / n for i in range(k) for j in range(k))
    return 1.0 - obs / exp


@twin
def multilabel_confusion_matrix_reference(y_true, y_pred, *, sample_weight=None, samplewise=False):
    Y, P = np.asarray(y_true), np.asarray(y_pred)
    if Y.ndim == 1:
        labels = sorted(set(Y.tolist()) | set(P.tolist()))
        Y = np.array([[y == c for c in labels] for y in Y.tolist()])
        P = np.array([[y == c for c in labels] for y in P.tolist()])
    w = np.ones(Y.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if samplewise:
        Y, P = Y.T, P.T
    out = []
    for c in range(Y.shape[1]):
        m = np.zeros((2, 2))
        for i in range(Y.shape[0]):
            m[int(Y[i, c]), int(P[i, c])] += w[i] if not samplewise else w[c]
        out.append(m)
    return np.array(out)


@twin
def classification_report_reference(y_true, y_pred, *, sample_weight=None):
    """The dict form: per class and the averages, from direct counts."""
    yt, yp = np.asarray(y_true).tolist(), np.asarray(y_pred).tolist()
    labels = sorted(set(yt) | set(yp))
    w = [1.0] * len(yt) if sample_weight is None else [float(v) for v in sample_weight]
    rows = {}
    tps, pps, sups = [], [], []
    for c in labels:
        tp = sum(wi for t, p, wi in zip(yt, yp, w) if t == c and p == c)
        pp = sum(wi for p, wi in zip(yp, w) if p == c)
        sup = sum(wi for t, wi in zip(yt, w) if t == c)
        pr = tp / pp if pp else 0.0
        rc = tp / sup if sup else 0.0
        f = 2 * tp / (pp + sup) if pp + sup else 0.0
        rows[str(c)] = {"precision": pr, "recall": rc, "f1-score": f, "support": sup}
        tps.append(tp), pps.append(pp), sups.append(sup)
    total = sum(sups)
    rows["accuracy"] = sum(tps) / total
    for name, wts in (("macro avg", [1.0] * len(labels)), ("weighted avg", sups)):
        rows[name] = {
            m: sum(rows[str(c)][m] * wt for c, wt in zip(labels, wts)) / sum(wts)
            for m in ("precision", "recall", "f1-score")
        }
        rows[name]["support"] = total
    return rows


@twin
def log_loss_reference(y_true, y_proba, *, labels=None, sample_weight=None, normalize=True):
    P = np.asarray(y_proba, dtype=np.float64)
    if P.ndim == 1:
        P = np.stack([1 - P, P], axis=1)
    eps = np.finfo(np.asarray(y_proba).dtype).eps
    w = [1.0] * P.shape[0] if sample_weight is None else [float(v) for v in sample_weight]
    tot = 0.0
    if np.ndim(y_true) == 2:  # label indicator matrix: every marked column counts
        for i, row in enumerate(np.asarray(y_true).tolist()):
            tot -= w[i] * sum(math.log(min(max(P[i][k], eps), 1 - eps)) for k in range(len(row)) if row[k])
        return tot / sum(w) if normalize else tot
    classes = sorted(set(np.asarray(y_true).tolist())) if labels is None else list(labels)
    for i, y in enumerate(np.asarray(y_true).tolist()):
        p = min(max(P[i][classes.index(y)], eps), 1 - eps)
        tot -= w[i] * math.log(p)
    return tot / sum(w) if normalize else tot


@twin
def brier_score_reference(y_true, y_proba, *, sample_weight=None, pos_label=1, labels=None):
    P = np.asarray(y_proba, dtype=np.float64)
    y = np.asarray(y_true).tolist()
    w = [1.0] * len(y) if sample_weight is None else [float(v) for v in sample_weight]
    if P.ndim == 1:
        tot = sum(wi * ((1.0 if t == pos_label else 0.0) - p) ** 2 for t, p, wi in zip(y, P, w))
        return tot / sum(w)
    tot = 0.0
    if np.ndim(y_true) == 2:  # label indicator matrix
        for i, row in enumerate(y):
            tot += w[i] * sum((float(row[k]) - P[i, k]) ** 2 for k in range(P.shape[1]))
        s = tot / sum(w)
        return s / 2 if P.shape[1] < 3 else s
    classes = sorted(set(y)) if labels is None else list(labels)
    for i, t in enumerate(y):
        tot += w[i] * sum(((1.0 if classes[k] == t else 0.0) - P[i, k]) ** 2 for k in range(P.shape[1]))
    s = tot / sum(w)
    return s / 2 if P.shape[1] < 3 else s


@twin
def top_k_accuracy_reference(y_true, y_score, *, k=2, sample_weight=None):
    """Multiclass: rank by (score desc, column index desc) with a full sort."""
    S = np.asarray(y_score, dtype=np.float64)
    classes = sorted(set(np.asarray(y_true).tolist()))
    w = [1.0] * S.shape[0] if sample_weight is None else [float(v) for v in sample_weight]
    hit = 0.0
    for i, y in enumerate(np.asarray(y_true).tolist()):
        order = sorted(range(S.shape[1]), key=lambda j: (-S[i, j], -j))
        if classes.index(y) in order[:k]:
            hit += w[i]
    return hit / sum(w)


@twin
def det_curve_reference(y_true, y_score, *, sample_weight=None):
    """(fpr, fnr, thresholds) by rescanning every sample per threshold,
    trimmed as scikit-learn: from the last point with FP = 0 to the first
    with FN = 0, thresholds increasing."""
    y = np.asarray(y_true) == 1
    s = np.asarray(y_score, dtype=np.float64)
    w = np.ones(s.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    P, N = w[y].sum(), w[~y].sum()
    pts = [(math.inf, 0.0, P)]
    for t in sorted(set(s[w != 0].tolist()), reverse=True):
        pts.append((t, w[(s >= t) & ~y].sum(), w[(s < t) & y].sum()))
    first = max(i for i, p in enumerate(pts) if p[1] == 0)
    last = min(i for i, p in enumerate(pts) if p[2] == 0)
    pts = pts[first:last + 1][::-1]
    return (np.array([p[1] / N for p in pts]), np.array([p[2] / P for p in pts]), np.array([p[0] for p in pts]))


@twin
def calibration_curve_reference(y_true, y_prob, *, n_bins=5):
    """Uniform bins, right-closed: a probability goes to the bin numbered by
    how many inner edges lie strictly below it."""
    y = np.asarray(y_true, dtype=np.float64).tolist()
    p = np.asarray(y_prob, dtype=np.float64).tolist()
    inner = np.linspace(0, 1, n_bins + 1)[1:-1].tolist()
    bins = {}
    for yi, pi in zip(y, p):
        b = sum(1 for e in inner if e < pi)
        bins.setdefault(b, []).append((yi, pi))
    true = [sum(v[0] for v in bins[b]) / len(bins[b]) for b in sorted(bins)]
    pred = [sum(v[1] for v in bins[b]) / len(bins[b]) for b in sorted(bins)]
    return np.array(true), np.array(pred)
