"""Benchmark cases for the embedding losses and the margin (hinge) losses.

Libraries: ``fastloss``; ``numpy`` (a vectorised formulation, forward only);
``torch`` (``torch.nn.functional`` where it has the loss, else the usual
composition of tensor ops; forward under ``no_grad``, forward+grad through
autograd; ``torch.set_num_threads(2)``); ``sklearn`` for ``hinge_loss``
(forward).  PyTorch's batch-hard baseline materialises the (N, N) distance
matrix with ``torch.cdist`` as the common implementations do.
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _torch():
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(2)
    return torch


def _shapes(big, quick, dtypes=("float32", "float64")):
    out = []
    for dt in dtypes:
        out.append(Shape(f"{big[0]}x{big[1]} {dt}", {"n": big[0], "d": big[1], "dtype": dt}))
    out.append(Shape(f"{quick[0]}x{quick[1]} float32", {"n": quick[0], "d": quick[1], "dtype": "float32"}, quick=True))
    return tuple(out)


def _make(params, rng):
    n, d, dt = params["n"], params["d"], np.dtype(params["dtype"])
    out = {k: rng.standard_normal((n, d)).astype(dt) for k in ("a", "b", "c")}
    out["pair"] = rng.integers(0, 2, n)
    out["pm"] = 2 * out["pair"] - 1
    out["cls"] = rng.integers(0, d, n)
    out["ids"] = rng.integers(0, max(2, n // 8), n)  # ~8 samples per identity
    return out


# ----------------------------------------------------------------- numpy formulations


def _np_triplet(d):
    a, p, n = d["a"], d["b"], d["c"]
    dp = np.linalg.norm(a - p + 1e-6, axis=1)
    dn = np.linalg.norm(a - n + 1e-6, axis=1)
    return np.mean(np.maximum(0.0, 1.0 + dp - dn))


def _np_contrastive(d):
    dist = np.linalg.norm(d["a"] - d["b"], axis=1)
    y = d["pair"]
    return np.mean(y * dist**2 + (1 - y) * np.maximum(0.0, 1.0 - dist) ** 2)


def _np_cosine(d):
    a, b = d["a"], d["b"]
    cos = np.einsum("ij,ij->i", a, b) / np.sqrt((np.einsum("ij,ij->i", a, a) + 1e-12) * (np.einsum("ij,ij->i", b, b) + 1e-12))
    return np.mean(np.where(d["pm"] == 1, 1.0 - cos, np.maximum(0.0, cos)))


def _np_batch_hard(d):
    e, y = d["a"], d["ids"]
    sq = np.einsum("ij,ij->i", e, e)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (e @ e.T), 0.0))
    same = y[:, None] == y[None, :]
    np.fill_diagonal(same, False)
    diff = y[:, None] != y[None, :]
    dap = np.where(same, dist, -np.inf).max(1)
    dan = np.where(diff, dist, np.inf).min(1)
    valid = same.any(1) & diff.any(1)
    return np.maximum(0.0, dap - dan + 1.0)[valid].mean()


def _np_multi_margin(d):
    x, t = d["a"], d["cls"]
    xy = np.take_along_axis(x, t[:, None], 1)
    h = np.maximum(0.0, 1.0 - xy + x)
    h[np.arange(x.shape[0]), t] = 0.0
    return np.mean(h.sum(1) / x.shape[1])


def _np_hinge(d):
    x, t = d["a"], d["cls"]
    xy = np.take_along_axis(x, t[:, None], 1)[:, 0]
    other = x.copy()
    other[np.arange(x.shape[0]), t] = -np.inf
    return np.mean(np.maximum(0.0, 1.0 - xy + other.max(1)))


_NUMPY = {
    "triplet_margin_loss": _np_triplet,
    "contrastive_loss": _np_contrastive,
    "cosine_embedding_loss": _np_cosine,
    "batch_hard_triplet_loss": _np_batch_hard,
    "multi_margin_loss": _np_multi_margin,
    "hinge_loss": _np_hinge,
}


# ----------------------------------------------------------------- fastloss and torch calls


def _fastloss(name):
    import fastloss

    fn = getattr(fastloss, name)
    args = {
        "triplet_margin_loss": lambda d: (d["a"], d["b"], d["c"]),
        "contrastive_loss": lambda d: (d["a"], d["b"], d["pair"]),
        "cosine_embedding_loss": lambda d: (d["a"], d["b"], d["pm"]),
        "batch_hard_triplet_loss": lambda d: (d["a"], d["ids"]),
        "multi_margin_loss": lambda d: (d["a"], d["cls"]),
        "hinge_loss": lambda d: (d["a"], d["cls"]),
    }[name]
    return fn, args


def _torch_loss(name, torch):
    F = torch.nn.functional

    def contrastive(x, x2, y):
        dist = (x - x2).pow(2).sum(1).sqrt()
        return (y * dist.pow(2) + (1 - y) * (1.0 - dist).clamp_min(0).pow(2)).mean()

    def batch_hard(e, y):
        dist = torch.cdist(e, e)
        same = y[:, None] == y[None, :]
        same.fill_diagonal_(False)
        diff = y[:, None] != y[None, :]
        dap = torch.where(same, dist, torch.full_like(dist, -float("inf"))).amax(1)
        dan = torch.where(diff, dist, torch.full_like(dist, float("inf"))).amin(1)
        valid = same.any(1) & diff.any(1)
        return (dap - dan + 1.0).clamp_min(0)[valid].mean()

    def hinge(x, t):
        xy = x.gather(1, t[:, None])[:, 0]
        other = x.scatter(1, t[:, None], -float("inf"))
        return (1.0 - xy + other.amax(1)).clamp_min(0).mean()

    return {
        "triplet_margin_loss": (lambda x, d: F.triplet_margin_loss(x, torch.from_numpy(d["b"]), torch.from_numpy(d["c"]))),
        "contrastive_loss": (lambda x, d: contrastive(x, torch.from_numpy(d["b"]), torch.from_numpy(d["pair"]).to(x.dtype))),
        "cosine_embedding_loss": (lambda x, d: F.cosine_embedding_loss(x, torch.from_numpy(d["b"]), torch.from_numpy(d["pm"]))),
        "batch_hard_triplet_loss": (lambda x, d: batch_hard(x, torch.from_numpy(d["ids"]))),
        "multi_margin_loss": (lambda x, d: F.multi_margin_loss(x, torch.from_numpy(d["cls"]))),
        "hinge_loss": (lambda x, d: hinge(x, torch.from_numpy(d["cls"]))),
    }[name]


def _impls(name, grad):
    def impls():
        fn, args = _fastloss(name)
        out = {}
        if grad:
            out["fastloss"] = lambda d: fn(*args(d), return_grad=True)
        else:
            out["fastloss"] = lambda d: fn(*args(d))
            out["numpy"] = lambda d: _NUMPY[name](d)
            if name == "hinge_loss":
                sk = optional("sklearn.metrics")
                if sk is not None:
                    out["sklearn"] = lambda d: sk.hinge_loss(d["cls"], d["a"], labels=np.arange(d["a"].shape[1]))
        torch = _torch()
        if torch is not None:
            loss = _torch_loss(name, torch)
            if grad:
                def run_torch(d):
                    x = torch.from_numpy(d["a"]).requires_grad_(True)
                    loss(x, d).backward()
                    return x.grad
            else:
                def run_torch(d):
                    with torch.no_grad():
                        return loss(torch.from_numpy(d["a"]), d)
            out["torch"] = run_torch
        return out

    return impls


_SIZES = {
    "triplet_margin_loss": ((65536, 128), (1024, 128)),
    "contrastive_loss": ((65536, 128), (1024, 128)),
    "cosine_embedding_loss": ((65536, 128), (1024, 128)),
    "batch_hard_triplet_loss": ((4096, 128), (512, 64)),
    "multi_margin_loss": ((65536, 100), (1024, 100)),
    "hinge_loss": ((65536, 100), (1024, 100)),
}

CASES = []
for _name, (_big, _quick) in _SIZES.items():
    for _grad in (False, True):
        CASES.append(Case(_name, "embedding", "forward+grad" if _grad else "forward", _shapes(_big, _quick), _make,
                          _impls(_name, _grad)))
