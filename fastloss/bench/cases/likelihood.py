"""Benchmark cases for the issue-16 torch losses (value and gradient, as
``loss.backward()`` computes them) against ``torch.nn.functional``."""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional


def _pair(kind):
    def make(p, rng):
        n = p["n"]
        x = rng.standard_normal(n).astype(np.float32)
        if kind == "poisson":
            return x, rng.poisson(2.0, n).astype(np.float32)
        if kind == "gaussian":
            return x, rng.standard_normal(n).astype(np.float32), rng.random(n).astype(np.float32) + 0.1
        if kind == "ranking":
            return x, rng.standard_normal(n).astype(np.float32), np.sign(rng.standard_normal(n)).astype(np.float32)
        if kind == "multilabel":
            return x.reshape(-1, 100), rng.integers(0, 2, (n // 100, 100)).astype(np.float32)
        return x, np.sign(rng.standard_normal(n)).astype(np.float32)

    return make


def _impls(name):
    def impls():
        import fastloss

        out = {"fastloss": lambda d: getattr(fastloss, name)(*d, return_grad=True)}
        torch = optional("torch")
        if torch is not None:
            F = torch.nn.functional

            def run(d):
                x = torch.from_numpy(d[0]).requires_grad_(True)
                loss = getattr(F, name)(x, *(torch.from_numpy(a) for a in d[1:]))
                loss.backward()
                return loss

            out["torch"] = run
        return out

    return impls


_S = (Shape("1e5", {"n": 10**5}, quick=True), Shape("1e7", {"n": 10**7}))

CASES = [
    Case("poisson_nll_loss", "likelihood", "forward+grad", _S, _pair("poisson"), _impls("poisson_nll_loss")),
    Case("gaussian_nll_loss", "likelihood", "forward+grad", _S, _pair("gaussian"), _impls("gaussian_nll_loss")),
    Case("soft_margin_loss", "likelihood", "forward+grad", _S, _pair("sign"), _impls("soft_margin_loss")),
    Case("hinge_embedding_loss", "likelihood", "forward+grad", _S, _pair("sign"), _impls("hinge_embedding_loss")),
    Case("margin_ranking_loss", "likelihood", "forward+grad", _S, _pair("ranking"), _impls("margin_ranking_loss")),
    Case("multilabel_soft_margin_loss", "likelihood", "forward+grad", _S, _pair("multilabel"),
         _impls("multilabel_soft_margin_loss")),
]
