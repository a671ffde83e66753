"""Twins of the issue-16 losses (torch semantics): per-element float64
formulas written from the definitions (math module, explicit loops), and
plain reductions."""
from __future__ import annotations

import math

import numpy as np
from reference import reduce, twin


def _map(f, *arrays):
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    b = np.broadcast_arrays(*arrays)
    out = np.empty(b[0].shape)
    for idx in np.ndindex(out.shape):
        out[idx] = f(*(float(a[idx]) for a in b))
    return out


@twin
def poisson_nll_loss_reference(input, target, *, log_input=True, full=False, eps=1e-8, reduction="mean"):
    def f(x, y):
        v = math.exp(x) - y * x if log_input else x - y * math.log(x + eps)
        if full and y > 1:
            v += y * math.log(y) - y + 0.5 * math.log(2 * math.pi * y)
        return v

    return reduce(_map(f, input, target), reduction)


@twin
def gaussian_nll_loss_reference(input, target, var, *, full=False, eps=1e-6, reduction="mean"):
    x = np.asarray(input, dtype=np.float64)
    v = np.asarray(var, dtype=np.float64)
    if v.shape != x.shape and v.shape == x.shape[:-1]:
        v = v[..., None]

    def f(a, b, s):
        s = max(s, eps)
        return 0.5 * (math.log(s) + (a - b) ** 2 / s) + (0.5 * math.log(2 * math.pi) if full else 0.0)

    return reduce(_map(f, x, target, v), reduction)


@twin
def soft_margin_loss_reference(input, target, *, reduction="mean"):
    def f(x, y):
        z = -y * x
        return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))

    return reduce(_map(f, input, target), reduction)


@twin
def hinge_embedding_loss_reference(input, target, *, margin=1.0, reduction="mean"):
    return reduce(_map(lambda x, y: x if y == 1 else max(0.0, margin - x), input, target), reduction)


@twin
def margin_ranking_loss_reference(input1, input2, target, *, margin=0.0, reduction="mean"):
    return reduce(_map(lambda a, b, y: max(0.0, -y * (a - b) + margin), input1, input2, target), reduction)


@twin
def multilabel_soft_margin_loss_reference(input, target, *, weight=None, reduction="mean"):
    X = np.atleast_2d(np.asarray(input, dtype=np.float64))
    Y = np.atleast_2d(np.asarray(target, dtype=np.float64))
    C = X.shape[1]
    w = np.ones(C) if weight is None else np.asarray(weight, dtype=np.float64)
    rows = []
    for x, y in zip(X, Y):
        tot = 0.0
        for c in range(C):
            sig = 1.0 / (1.0 + math.exp(-x[c]))
            tot -= w[c] * (y[c] * math.log(sig) + (1 - y[c]) * math.log(1 - sig))
        rows.append(tot / C)
    return reduce(rows, reduction)


@twin
def multilabel_margin_loss_reference(input, target, *, reduction="mean"):
    X = np.atleast_2d(np.asarray(input, dtype=np.float64))
    T = np.atleast_2d(np.asarray(target))
    C = X.shape[1]
    rows = []
    for x, t in zip(X, T):
        targets = []
        for v in t.tolist():
            if v < 0:
                break
            targets.append(v)
        others = [k for k in range(C) if k not in targets]
        rows.append(sum(max(0.0, 1 - (x[j] - x[k])) for j in targets for k in others) / C)
    return reduce(rows, reduction)
