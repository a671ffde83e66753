"""Benchmark cases for the regression losses.

Besides the baselines (the NumPy formulation and PyTorch), two *bounds* are
timed on the same bytes: ``bound:read`` is a plain parallel Numba sum over
both inputs (what a memory-bound loss cannot beat), and ``bound:read+write``
reads both inputs and writes one output array (the floor for a fused
loss-and-gradient pass).
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional

_bounds = {}


def _bound_kernels():
    if not _bounds:
        from ..._core.jit import CHUNK, kernel, numba

        @kernel(parallel=True)
        def read_sum(x, t, partials):
            n = x.size
            for c in numba.prange(partials.size):
                lo = c * CHUNK
                hi = min(lo + CHUNK, n)
                xs = x[lo:hi]
                ts = t[lo:hi]
                acc = 0.0
                for i in range(xs.size):
                    acc += np.float64(xs[i]) + np.float64(ts[i])
                partials[c] = acc

        @kernel(parallel=True)
        def read_write(x, t, out):
            n = x.size
            for c in numba.prange((n + CHUNK - 1) // CHUNK):
                lo = c * CHUNK
                hi = min(lo + CHUNK, n)
                xs = x[lo:hi]
                ts = t[lo:hi]
                os = out[lo:hi]
                for i in range(xs.size):
                    os[i] = xs[i] - ts[i]

        _bounds["read"] = read_sum
        _bounds["read+write"] = read_write
        _bounds["chunk"] = CHUNK
    return _bounds


def _sizes(dtypes=("float32", "float64"), big=True):
    shapes = []
    for dt in dtypes:
        for n, label in ((10**4, "1e4"), (10**6, "1e6"), (10**7, "1e7"), (10**8, "1e8")):
            if n == 10**8 and not big:
                continue
            shapes.append(Shape(f"{label} {dt}", {"n": n, "dtype": dt}, quick=(n == 10**6)))
    return tuple(shapes)


def _make(params, rng):
    n, dt = params["n"], np.dtype(params["dtype"])
    x = np.empty(n, dt)
    t = np.empty(n, dt)
    # Fill in pieces: avoids a float64 temporary of the full size at 10^8.
    step = 1 << 22
    for lo in range(0, n, step):
        x[lo : lo + step] = rng.standard_normal(min(step, n - lo))
        t[lo : lo + step] = rng.standard_normal(min(step, n - lo))
    return {"x": x, "t": t, "grad": np.empty_like(x)}


# name -> (fastloss call options, numpy formulation, torch functional name + kwargs)
def _np_huber(x, t, delta=1.0):
    d = np.abs(x - t)
    return np.mean(np.where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta)))


_NUMPY = {
    "mse_loss": lambda x, t: np.mean((x - t) ** 2),
    "l1_loss": lambda x, t: np.mean(np.abs(x - t)),
    "huber_loss": _np_huber,
    "smooth_l1_loss": lambda x, t: _np_huber(x, t, 1.0),  # beta=1 equals huber delta=1
    "pseudo_huber_loss": lambda x, t: np.mean(np.sqrt(1 + (x - t) ** 2) - 1),
    "log_cosh_loss": lambda x, t: np.mean(np.logaddexp(x - t, t - x) - np.log(2)),
    "quantile_loss": lambda x, t: np.mean(np.maximum(0.5 * (t - x), -0.5 * (t - x))),
}
_TORCH = {"mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"}


def _impls(name, grad):
    def impls():
        import fastloss

        fn = getattr(fastloss, name)
        out = {}
        if grad:
            out["fastloss"] = lambda d: fn(d["x"], d["t"], return_grad=True, grad_out=d["grad"])
        else:
            out["fastloss"] = lambda d: fn(d["x"], d["t"])
        if not grad:
            out["numpy"] = lambda d: _NUMPY[name](d["x"], d["t"])
        torch = optional("torch") if name in _TORCH else None
        if torch is not None:
            F = getattr(torch.nn.functional, name)

            if grad:
                def run_torch(d):
                    x = torch.from_numpy(d["x"]).requires_grad_(True)
                    F(x, torch.from_numpy(d["t"])).backward()
                    return x.grad
            else:
                def run_torch(d):
                    with torch.no_grad():
                        return F(torch.from_numpy(d["x"]), torch.from_numpy(d["t"]))

            out["torch"] = run_torch
        if name in ("mse_loss", "huber_loss", "l1_loss"):
            b = _bound_kernels()
            if grad:
                out["bound:read+write"] = lambda d: b["read+write"](d["x"], d["t"], d["grad"])
            else:
                def read(d, k=b["read"], chunk=b["chunk"]):
                    parts = np.empty((d["x"].size + chunk - 1) // chunk)
                    k(d["x"], d["t"], parts)
                    return parts.sum()

                out["bound:read"] = read
        return out

    return impls


CASES = []
for _name in ("huber_loss", "mse_loss", "l1_loss"):
    for _grad in (False, True):
        CASES.append(
            Case(_name, "regression", "forward+grad" if _grad else "forward", _sizes(), _make, _impls(_name, _grad))
        )
for _name in ("smooth_l1_loss", "pseudo_huber_loss", "log_cosh_loss", "quantile_loss"):
    CASES.append(Case(_name, "regression", "forward", _sizes(("float32",), big=False), _make, _impls(_name, False)))
