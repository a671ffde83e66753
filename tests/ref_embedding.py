"""Reference twins: embedding losses and the margin (hinge) losses.

Plain float64 NumPy/Python, one sample at a time, written from the papers'
and PyTorch's documented formulas, not like the kernels.
"""
from __future__ import annotations

import numpy as np

from reference import reduce, twin


def _f64(a):
    return np.array(a, dtype=np.float64)


@twin
def hinge_loss_reference(input, target, *, margin=1.0, squared=False, weight=None, reduction="mean"):
    x = _f64(input)
    t = np.asarray(target)
    q = 2 if squared else 1
    if x.ndim == 2 and x.shape[1] >= 2 and t.ndim == 1 and t.shape[0] == x.shape[0]:
        losses = []
        for i in range(x.shape[0]):
            y = int(t[i])
            others = [x[i, k] for k in range(x.shape[1]) if k != y]
            losses.append(max(0.0, margin - x[i, y] + max(others)) ** q)
        losses = np.array(losses)
        if weight is not None:
            losses = losses * np.broadcast_to(_f64(weight), losses.shape)
        return reduce(losses, reduction)
    t = _f64(t).reshape(x.shape)
    y = np.where(t == 0, -1.0, t)
    losses = np.maximum(0.0, margin - y * x) ** q
    if weight is not None:
        losses = losses * np.broadcast_to(_f64(weight), x.shape)
    return reduce(losses, reduction)


@twin
def multi_margin_loss_reference(input, target, *, p=1, margin=1.0, weight=None, reduction="mean"):
    x = _f64(input)
    t = np.asarray(target)
    shape = t.shape
    x2 = x.reshape(-1, x.shape[-1])
    t2 = t.reshape(-1)
    C = x2.shape[1]
    w = np.ones(C) if weight is None else _f64(weight)
    losses = np.zeros(x2.shape[0])
    for i in range(x2.shape[0]):
        y = int(t2[i])
        for k in range(C):
            if k != y:
                losses[i] += w[y] * max(0.0, margin - x2[i, y] + x2[i, k]) ** p
        losses[i] /= C
    return reduce(losses.reshape(shape), reduction)


@twin
def contrastive_loss_reference(x1, x2, label, *, margin=1.0, reduction="mean"):
    a, b = _f64(x1), _f64(x2)
    d = np.sqrt(((a - b) ** 2).sum(-1))
    y = _f64(label)
    losses = y * d**2 + (1 - y) * np.maximum(0.0, margin - d) ** 2
    return reduce(losses, reduction)


@twin
def cosine_embedding_loss_reference(input1, input2, target, *, margin=0.0, reduction="mean"):
    a, b = _f64(input1), _f64(input2)
    eps = float(np.float32(1e-12))  # PyTorch's EPSILON is a C float
    cos = (a * b).sum(-1) / np.sqrt(((a * a).sum(-1) + eps) * ((b * b).sum(-1) + eps))
    y = _f64(target)
    losses = np.where(y == 1, 1.0 - cos, np.maximum(0.0, cos - margin))
    return reduce(losses, reduction)


def _pdist(x, y, p, eps):
    v = np.abs(x - y + eps)
    if np.isinf(p):
        return v.max(-1)
    return (v**p).sum(-1) ** (1.0 / p)


@twin
def triplet_margin_loss_reference(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False,
                                  reduction="mean"):
    a, pos, neg = _f64(anchor), _f64(positive), _f64(negative)
    dp = _pdist(a, pos, p, eps)
    dn = _pdist(a, neg, p, eps)
    if swap:
        dn = np.minimum(dn, _pdist(pos, neg, p, eps))
    return reduce(np.maximum(0.0, margin + dp - dn), reduction)


@twin
def batch_hard_triplet_loss_reference(embeddings, labels, *, margin=1.0, squared=False, reduction="mean"):
    e = _f64(embeddings)
    y = np.asarray(labels)
    n = e.shape[0]
    d2 = np.array([[((e[i] - e[j]) ** 2).sum() for j in range(n)] for i in range(n)])
    d = d2 if squared else np.sqrt(d2)
    losses, valid = np.zeros(n), np.zeros(n, bool)
    for i in range(n):
        pos = [d[i, j] for j in range(n) if j != i and y[j] == y[i]]
        neg = [d[i, j] for j in range(n) if y[j] != y[i]]
        if pos and neg:
            valid[i] = True
            losses[i] = max(0.0, max(pos) - min(neg) + margin)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses[valid].mean() if valid.any() else 0.0
