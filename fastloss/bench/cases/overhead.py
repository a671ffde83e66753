"""Per-call overhead at training-step sizes, against ``torch.nn.functional``.

Small inputs, where what is timed is mostly the Python side of a call
(argument checks, dispatch, allocation of the result) rather than the loop:
``fastloss bench --family overhead`` times each at least 300 times (median)
and then measures latency while another process keeps the cores busy with
parallel fastloss kernels (see :mod:`fastloss.bench.busy`).  torch gets the
same inputs as CPU tensors (``torch.from_numpy``, no copy), forward only, as
fastloss's forward only.
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional

#: Calls timed per library and shape (median reported).
MIN_RUNS = 300


def _make(params, rng):
    dt = np.dtype(params.get("dtype", "float32"))
    if "c" in params:
        n, c = params["n"], params["c"]
        return {"x": rng.standard_normal((n, c)).astype(dt), "y": rng.integers(0, c, n), "grad": np.empty((n, c), dt)}
    n = params["n"]
    x = rng.standard_normal(n).astype(dt)
    return {"x": x, "t": (rng.random(n) < 0.3).astype(dt), "p": (1 / (1 + np.exp(-x))).astype(dt), "y": rng.standard_normal(n).astype(dt),
            "grad": np.empty(n, dt)}


def _torch_inputs(d):
    import torch

    return {k: torch.from_numpy(v) for k, v in d.items() if isinstance(v, np.ndarray)}


def _impls(name, grad):
    def impls():
        import fastloss

        f = getattr(fastloss, name)
        if name == "cross_entropy":
            fl = (lambda d: f(d["x"], d["y"], return_grad=True, grad_out=d["grad"])) if grad else (lambda d: f(d["x"], d["y"]))
        elif name == "binary_cross_entropy":
            fl = lambda d: f(d["p"], d["t"])  # noqa: E731
        elif name == "binary_cross_entropy_with_logits":
            fl = lambda d: f(d["x"], d["t"])  # noqa: E731
        else:  # mse_loss
            fl = (lambda d: f(d["x"], d["y"], return_grad=True, grad_out=d["grad"])) if grad else (lambda d: f(d["x"], d["y"]))
        out = {"fastloss": fl}
        torch = optional("torch")
        if torch is not None:
            torch.set_num_threads(2)
            F = torch.nn.functional
            cache = {}

            def tin(d):
                key = id(d)
                if key not in cache:
                    cache.clear()
                    cache[key] = _torch_inputs(d)
                return cache[key]

            if name == "cross_entropy" and grad:
                def tg(d):
                    t = tin(d)
                    x = t["x"].detach().requires_grad_(True)
                    F.cross_entropy(x, t["y"]).backward()
                    return x.grad
            elif name == "cross_entropy":
                tg = lambda d: F.cross_entropy(tin(d)["x"], tin(d)["y"])  # noqa: E731
            elif name == "binary_cross_entropy":
                tg = lambda d: F.binary_cross_entropy(tin(d)["p"], tin(d)["t"])  # noqa: E731
            elif name == "binary_cross_entropy_with_logits":
                tg = lambda d: F.binary_cross_entropy_with_logits(tin(d)["x"], tin(d)["t"])  # noqa: E731
            elif grad:
                def tg(d):
                    t = tin(d)
                    x = t["x"].detach().requires_grad_(True)
                    F.mse_loss(x, t["y"]).backward()
                    return x.grad
            else:
                tg = lambda d: F.mse_loss(tin(d)["x"], tin(d)["y"])  # noqa: E731
            out["torch"] = tg
        return out

    return impls


def _s(label, **params):
    return (Shape(label, params, quick=True),)


CASES = [
    Case("mse_loss", "overhead", "forward", _s("1000 f32", n=1000, dtype="float32"), _make, _impls("mse_loss", False)),
    Case("mse_loss", "overhead", "forward+grad", _s("1000 f32", n=1000, dtype="float32"), _make, _impls("mse_loss", True)),
    Case("binary_cross_entropy", "overhead", "forward", _s("1000 f32", n=1000, dtype="float32"), _make,
         _impls("binary_cross_entropy", False)),
    Case("binary_cross_entropy_with_logits", "overhead", "forward", _s("1000 f32", n=1000, dtype="float32"), _make,
         _impls("binary_cross_entropy_with_logits", False)),
    Case("cross_entropy", "overhead", "forward", _s("64x10 f32", n=64, c=10, dtype="float32"), _make,
         _impls("cross_entropy", False)),
    Case("cross_entropy", "overhead", "forward+grad", _s("64x10 f32", n=64, c=10, dtype="float32"), _make,
         _impls("cross_entropy", True)),
    Case("cross_entropy", "overhead", "forward", _s("256x1000 f32", n=256, c=1000, dtype="float32"), _make,
         _impls("cross_entropy", False)),
]
