"""Benchmark cases for the classification losses.

Libraries: ``fastloss`` (allocating its gradient on every call, as torch
does; variant ``forward+grad grad_out``, for ``cross_entropy``: into a reused
``grad_out``, as a training loop may), ``numpy`` (a straightforward NumPy/scipy formulation,
gradient included for the ``forward+grad`` variant) and ``torch``
(``torch.nn.functional``; forward+backward through autograd for the
``forward+grad`` variant, with ``torch.set_num_threads(2)``).  The issue's
bars: ``cross_entropy`` forward+grad >= 5x torch at 4096x32000 and >= 4x at
65536x1000; ``binary_cross_entropy_with_logits`` and ``sigmoid_focal_loss``
>= 3x at 10^7.
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _torch():
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(2)
    return torch


# -- shapes and inputs ----------------------------------------------------------------


def _elem_shapes():
    out = []
    for dt in ("float32", "float64"):
        for n, label in ((10**4, "1e4"), (10**6, "1e6"), (10**7, "1e7")):
            out.append(Shape(f"{label} {dt}", {"n": n, "dtype": dt}, quick=(n == 10**4 and dt == "float32")))
    return tuple(out)


def _rows_shapes():
    out = []
    for dt in ("float32", "float64"):
        for (n, c) in ((256, 1000), (4096, 32000), (65536, 1000)):
            out.append(Shape(f"{n}x{c} {dt}", {"n": n, "c": c, "dtype": dt}, quick=(n == 256 and dt == "float32")))
    return tuple(out)


def _make_elem(kind):
    def make(params, rng):
        n, dt = params["n"], np.dtype(params["dtype"])
        x = rng.standard_normal(n).astype(dt) * dt.type(3)
        if kind == "probs":
            x = (1 / (1 + np.exp(-x))).astype(dt)
        t = (rng.uniform(size=n) < 0.3).astype(dt) if kind != "kl" else rng.uniform(size=n).astype(dt)
        return {"x": x, "t": t, "grad": np.empty_like(x)}

    return make


def _make_rows(params, rng):
    n, c, dt = params["n"], params["c"], np.dtype(params["dtype"])
    x = np.empty((n, c), dt)
    for lo in range(0, n, 1024):  # fill in pieces: no full-size float64 temporary
        x[lo : lo + 1024] = rng.standard_normal((min(1024, n - lo), c))
    y = rng.integers(0, c, n)
    return {"x": x, "y": y, "grad": np.empty_like(x)}


# -- NumPy formulations (forward, forward+grad) ---------------------------------------


def _np_softplus(z):
    return np.logaddexp(0, z)


def _np_bce(x, t, grad):
    loss = -np.mean(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
    return (loss, ((1 - t) / (1 - x) - t / x) / x.size) if grad else loss


def _np_bce_logits(x, t, grad):
    loss = np.mean(t * _np_softplus(-x) + (1 - t) * _np_softplus(x))
    if not grad:
        return loss
    from scipy.special import expit

    return loss, (expit(x) - t) / x.size


def _np_sigmoid_focal(x, t, grad):
    from scipy.special import expit

    p = expit(x)
    ce = t * _np_softplus(-x) + (1 - t) * _np_softplus(x)
    m = p * (1 - t) + (1 - p) * t
    at = 0.25 * t + 0.75 * (1 - t)
    loss = np.mean(at * ce * m * m)
    if not grad:
        return loss
    g = at * ((p - t) * m * m + ce * 2 * m * p * (1 - p) * (1 - 2 * t)) / x.size
    return loss, g


def _np_kl(x, t, grad):
    from scipy.special import xlogy

    loss = np.mean(xlogy(t, t) - t * x)
    return (loss, -t / x.size) if grad else loss


def _np_log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    z = x - m
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _np_ce(x, y, grad):
    lp = _np_log_softmax(x)
    rows = np.arange(x.shape[0])
    loss = -lp[rows, y].mean()
    if not grad:
        return loss
    g = np.exp(lp)
    g[rows, y] -= 1
    g /= x.shape[0]
    return loss, g


def _np_nll(x, y, grad):
    rows = np.arange(x.shape[0])
    loss = -x[rows, y].mean()
    if not grad:
        return loss
    g = np.zeros_like(x)
    g[rows, y] = -1.0 / x.shape[0]
    return loss, g


def _np_softmax_focal(x, y, grad):
    lp = _np_log_softmax(x)
    rows = np.arange(x.shape[0])
    ly = lp[rows, y]
    py = np.exp(ly)
    m = -np.expm1(ly)
    loss = -np.mean(m * m * ly)
    if not grad:
        return loss
    F = m * m - 2 * m * py * ly
    g = np.exp(lp) * F[:, None]
    g[rows, y] -= F
    g /= x.shape[0]
    return loss, g


_NUMPY = {
    "binary_cross_entropy": _np_bce,
    "binary_cross_entropy_with_logits": _np_bce_logits,
    "sigmoid_focal_loss": _np_sigmoid_focal,
    "kl_div": _np_kl,
    "cross_entropy": _np_ce,
    "nll_loss": _np_nll,
    "softmax_focal_loss": _np_softmax_focal,
}


# -- torch formulations ---------------------------------------------------------------


def _torch_fn(name, torch):
    F = torch.nn.functional
    if name == "sigmoid_focal_loss":  # torchvision's formula (torchvision may be absent)
        def focal(x, t):
            p = torch.sigmoid(x)
            ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
            p_t = p * t + (1 - p) * (1 - t)
            return ((0.25 * t + 0.75 * (1 - t)) * ce * (1 - p_t) ** 2).mean()

        return focal
    if name == "softmax_focal_loss":
        def sfocal(x, y):
            lp = F.log_softmax(x, dim=1).gather(1, y[:, None])[:, 0]
            return -((-torch.expm1(lp)) ** 2 * lp).mean()

        return sfocal
    if name == "nll_loss":
        return F.nll_loss
    if name == "kl_div":
        return lambda x, t: F.kl_div(x, t, reduction="mean")
    return getattr(F, name)


def _impls(name, grad, rows, reuse=False):
    tkey = "y" if rows else "t"

    def impls():
        import fastloss

        fn = getattr(fastloss, name)
        opts = {"reduction": "mean"} if name == "sigmoid_focal_loss" else {}
        out = {}
        if grad and reuse:
            out["fastloss"] = lambda d: fn(d["x"], d[tkey], return_grad=True, grad_out=d["grad"], **opts)
        elif grad:
            out["fastloss"] = lambda d: fn(d["x"], d[tkey], return_grad=True, **opts)
        else:
            out["fastloss"] = lambda d: fn(d["x"], d[tkey], **opts)
        out["numpy"] = lambda d: _NUMPY[name](d["x"], d[tkey], grad)
        torch = _torch()
        if torch is not None:
            tf = _torch_fn(name, torch)
            if grad:
                def run_torch(d):
                    x = torch.from_numpy(d["x"]).requires_grad_(True)
                    tf(x, torch.from_numpy(d[tkey])).backward()
                    return x.grad
            else:
                def run_torch(d):
                    with torch.no_grad():
                        return tf(torch.from_numpy(d["x"]), torch.from_numpy(d[tkey]))

            out["torch"] = run_torch
        return out

    return impls


_ELEM = {
    "binary_cross_entropy": "probs",
    "binary_cross_entropy_with_logits": "logits",
    "sigmoid_focal_loss": "logits",
    "kl_div": "kl",
}
_ROWS = ("cross_entropy", "nll_loss", "softmax_focal_loss")

CASES = []
for _name, _kind in _ELEM.items():
    for _grad in (False, True):
        CASES.append(Case(_name, "classification", "forward+grad" if _grad else "forward", _elem_shapes(),
                          _make_elem(_kind), _impls(_name, _grad, False)))
for _name in _ROWS:
    for _grad in (False, True):
        CASES.append(Case(_name, "classification", "forward+grad" if _grad else "forward", _rows_shapes(),
                          _make_rows, _impls(_name, _grad, True)))
CASES.append(Case("cross_entropy", "classification", "forward+grad grad_out", _rows_shapes(), _make_rows,
                  _impls("cross_entropy", True, True, reuse=True)))
