"""Issue-16 losses (torch semantics): Poisson/Gaussian NLL, soft margin,
hinge embedding, margin ranking, multilabel soft margin / margin, and BCE
with a per-class weight on (N, K).  Against the twins
(tests/ref_torch_losses.py), finite differences and torch (skipped when it is
not installed)."""
from __future__ import annotations

import numpy as np
import pytest

import fastloss
from inputs import fd_grad, layout, on_1_and_2_threads, tol
from ref_torch_losses import (
    gaussian_nll_loss_reference, hinge_embedding_loss_reference, margin_ranking_loss_reference,
    multilabel_margin_loss_reference, multilabel_soft_margin_loss_reference, poisson_nll_loss_reference,
    soft_margin_loss_reference,
)

REDUCTIONS = ("mean", "sum", "none")


def cases(rng, dtype):
    """(name, fastloss call taking x, twin taking x, x, options) for each loss."""
    shape = (6, 5)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    cnt = rng.poisson(2.0, shape).astype(dtype)
    var = rng.random(shape).astype(dtype) + 0.1
    pm = rng.choice([-1.0, 1.0], shape).astype(dtype)
    x2 = (rng.standard_normal(shape) * 2).astype(dtype)
    t01 = rng.integers(0, 2, shape).astype(dtype)
    cw = rng.random(shape[1]).astype(dtype)
    tgt = np.full(shape, -1, dtype=np.int64)
    for i in range(shape[0]):
        k = int(rng.integers(0, shape[1] + 1))
        tgt[i, :k] = rng.permutation(shape[1])[:k]
    out = []
    for li in (True, False):
        for full in (False, True):
            xx = x if li else np.abs(x) + 0.1
            out.append(("poisson", lambda a, li=li, full=full, **k: fastloss.poisson_nll_loss(a, cnt, log_input=li, full=full, **k),
                        lambda a, li=li, full=full, **k: poisson_nll_loss_reference(a, cnt, log_input=li, full=full, **k), xx))
    for v in (var, var[:, 0], var[:, :1]):
        out.append(("gaussian", lambda a, v=v, **k: fastloss.gaussian_nll_loss(a, cnt, v, full=True, **k),
                    lambda a, v=v, **k: gaussian_nll_loss_reference(a, cnt, v, full=True, **k), x))
    out.append(("soft_margin", lambda a, **k: fastloss.soft_margin_loss(a, pm, **k),
                lambda a, **k: soft_margin_loss_reference(a, pm, **k), x * 20))
    out.append(("hinge_embedding", lambda a, **k: fastloss.hinge_embedding_loss(a, pm, margin=0.7, **k),
                lambda a, **k: hinge_embedding_loss_reference(a, pm, margin=0.7, **k), x))
    out.append(("margin_ranking", lambda a, **k: fastloss.margin_ranking_loss(a, x2, pm, margin=0.3, **k),
                lambda a, **k: margin_ranking_loss_reference(a, x2, pm, margin=0.3, **k), x))
    out.append(("multilabel_soft_margin", lambda a, **k: fastloss.multilabel_soft_margin_loss(a, t01, weight=cw, **k),
                lambda a, **k: multilabel_soft_margin_loss_reference(a, t01, weight=cw, **k), x))
    out.append(("multilabel_margin", lambda a, **k: fastloss.multilabel_margin_loss(a, tgt, **k),
                lambda a, **k: multilabel_margin_loss_reference(a, tgt, **k), x))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_twins_and_gradients(rng, dtype, reduction):
    rtol, atol = tol(dtype)
    for name, f, ref, x in cases(rng, dtype):
        got, g = f(x, reduction=reduction, return_grad=True)
        want = ref(x, reduction=reduction)
        assert np.shape(got) == np.shape(want), name
        assert np.asarray(got).dtype == dtype, name
        assert np.allclose(got, want, rtol=rtol * 10, atol=atol * 10), (name, got, want)
        assert g.shape == x.shape and g.dtype == dtype, name
        if dtype == np.float64:
            fd = fd_grad(lambda a: np.sum(ref(a, reduction=reduction)), x.astype(np.float64))
            assert np.allclose(g, fd, rtol=1e-5, atol=1e-6), (name, g, fd)
        assert np.allclose(f(x, reduction=reduction), got, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0), name


def test_layouts_and_threads(rng):
    for name, f, ref, x in cases(rng, np.float64):
        base = f(x)
        for kind in ("strided", "fortran", "byteswapped", "reversed"):
            assert np.isclose(f(layout(x, kind)), base, rtol=1e-14), (name, kind)
    big = rng.standard_normal(200_000)
    t = rng.poisson(1.0, 200_000).astype(float)
    one, two = on_1_and_2_threads(lambda: fastloss.poisson_nll_loss(big, t))
    assert one == two
    one, two = on_1_and_2_threads(lambda: fastloss.soft_margin_loss(big, np.sign(t - 0.5)))
    assert one == two


def test_bce_per_class_weight_on_multilabel(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.random((8, 3))
    t = rng.integers(0, 2, (8, 3)).astype(float)
    w = rng.random(3)
    for red in REDUCTIONS:
        got, g = fastloss.binary_cross_entropy(x, t, weight=w, reduction=red, return_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        want = F.binary_cross_entropy(xt, torch.tensor(t), weight=torch.tensor(w), reduction=red)
        want.sum().backward()
        assert np.allclose(got, want.detach().numpy(), rtol=1e-12) and np.allclose(g, xt.grad.numpy(), rtol=1e-12)


def _torch_ref(name):
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_torch(rng, dtype):
    torch, F = _torch_ref("")
    shape = (7, 5)
    x = np.round(rng.standard_normal(shape) * 4) / 4  # ties at the hinge corners
    x = x.astype(dtype)
    cnt = rng.poisson(2.0, shape).astype(dtype)
    var = rng.random(shape).astype(dtype)
    var[0, 0] = 0  # clamped at eps
    pm = rng.choice([-1.0, 1.0], shape).astype(dtype)
    odd = rng.choice([-1.0, 1.0, 0.0, 2.0], shape).astype(dtype)  # torch's both-terms rule
    x2 = (np.round(rng.standard_normal(shape) * 4) / 4).astype(dtype)
    t01 = rng.integers(0, 2, shape).astype(dtype)
    cw = rng.random(shape[1]).astype(dtype)
    tgt = np.full(shape, -1, dtype=np.int64)
    for i in range(shape[0]):
        k = int(rng.integers(0, shape[1] + 1))
        tgt[i, :k] = rng.permutation(shape[1])[:k]
    tgt[3] = [1, 1, -1, 2, 3]  # repeated target, ignored after -1
    T = torch.tensor
    calls = []
    for li in (True, False):
        for full in (False, True):
            xx = x if li else np.abs(x)
            calls.append((lambda a, r, li=li, full=full: fastloss.poisson_nll_loss(a, cnt, log_input=li, full=full, reduction=r, return_grad=True),
                          lambda a, r, li=li, full=full: F.poisson_nll_loss(a, T(cnt), log_input=li, full=full, reduction=r), xx))
    for v in (var, var[:, 0], var[:, :1]):
        for full in (False, True):
            calls.append((lambda a, r, v=v, full=full: fastloss.gaussian_nll_loss(a, cnt, v, full=full, reduction=r, return_grad=True),
                          lambda a, r, v=v, full=full: F.gaussian_nll_loss(a, T(cnt), T(v), full=full, reduction=r), x))
    calls.append((lambda a, r: fastloss.soft_margin_loss(a, pm, reduction=r, return_grad=True),
                  lambda a, r: F.soft_margin_loss(a, T(pm), reduction=r), x * 30))
    for tt in (pm, odd):
        for m in (1.0, 0.5):
            calls.append((lambda a, r, tt=tt, m=m: fastloss.hinge_embedding_loss(a, tt, margin=m, reduction=r, return_grad=True),
                          lambda a, r, tt=tt, m=m: F.hinge_embedding_loss(a, T(tt), margin=m, reduction=r), x))
    for m in (0.0, 0.5):
        calls.append((lambda a, r, m=m: fastloss.margin_ranking_loss(a, x2, pm, margin=m, reduction=r, return_grad=True),
                      lambda a, r, m=m: F.margin_ranking_loss(a, T(x2), T(pm), margin=m, reduction=r), x))
    calls.append((lambda a, r: fastloss.multilabel_soft_margin_loss(a, t01, weight=cw, reduction=r, return_grad=True),
                  lambda a, r: F.multilabel_soft_margin_loss(a, T(t01), weight=T(cw), reduction=r), x * 10))
    calls.append((lambda a, r: fastloss.multilabel_margin_loss(a, tgt, reduction=r, return_grad=True),
                  lambda a, r: F.multilabel_margin_loss(a, T(tgt), reduction=r), x))
    calls.append((lambda a, r: fastloss.multilabel_margin_loss(a, tgt[0], reduction=r, return_grad=True),
                  lambda a, r: F.multilabel_margin_loss(a, T(tgt[0]), reduction=r), x[0]))
    rt = 1e-10 if dtype == np.float64 else 2e-5
    for k, (ours, theirs, a) in enumerate(calls):
        for r in REDUCTIONS:
            v, g = ours(a, r)
            at = T(a, requires_grad=True)
            out = theirs(at, r)
            out.sum().backward()
            assert np.shape(v) == tuple(out.shape), (k, r)
            assert np.allclose(v, out.detach().numpy(), rtol=rt, atol=rt), (k, r, v, out)
            assert np.allclose(g, at.grad.numpy(), rtol=rt, atol=rt), (k, r, g, at.grad)


def test_errors(rng):
    x = rng.standard_normal((3, 4))
    with pytest.raises(ValueError, match="shape"):
        fastloss.poisson_nll_loss(x, x[:2])
    with pytest.raises(ValueError, match="var has negative"):
        fastloss.gaussian_nll_loss(x, x, -np.ones((3, 4)))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        fastloss.gaussian_nll_loss(x, x, np.ones((2, 4)))
    with pytest.raises(ValueError, match="reduction"):
        fastloss.soft_margin_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"target must be in \[-1, 4\)"):
        fastloss.multilabel_margin_loss(x, np.full((3, 4), 4))
    with pytest.raises(ValueError, match="weight"):
        fastloss.multilabel_soft_margin_loss(x, x, weight=np.ones(3))
    with pytest.raises(ValueError, match="input1"):
        fastloss.margin_ranking_loss(x, x[:, :2], x)
    with pytest.raises(TypeError, match="input"):
        fastloss.soft_margin_loss(x.astype(complex), x)
    before = x.copy()
    fastloss.gaussian_nll_loss(x, x, np.abs(x), return_grad=True)
    assert np.array_equal(x, before)
    assert np.isnan(fastloss.poisson_nll_loss(np.array([np.nan]), np.array([1.0])))
    assert np.isnan(fastloss.soft_margin_loss(np.array([np.nan]), np.array([1.0])))
    assert np.isnan(fastloss.poisson_nll_loss(np.zeros(0), np.zeros(0)))


def test_streaming_equals_one_shot(rng):
    import pickle

    x = rng.standard_normal((10, 4))
    t = rng.poisson(1.0, (10, 4)).astype(float)
    y = np.sign(rng.standard_normal((10, 4)))
    tgt = np.full((10, 4), -1)
    tgt[:, 0] = 1
    for f, args in ((fastloss.poisson_nll_loss, (x, t)), (fastloss.gaussian_nll_loss, (x, t, np.abs(x))),
                    (fastloss.soft_margin_loss, (x, y)), (fastloss.hinge_embedding_loss, (x, y)),
                    (fastloss.margin_ranking_loss, (x, t, y)), (fastloss.multilabel_soft_margin_loss, (x, (y > 0) * 1.0)),
                    (fastloss.multilabel_margin_loss, (x, tgt))):
        a, b = fastloss.LossAccumulator(f), fastloss.LossAccumulator(f)
        a.update(*[v[:3] for v in args])
        b.update(*[v[3:] for v in args])
        a.merge(pickle.loads(pickle.dumps(b)))
        assert np.isclose(a.result(), f(*args), rtol=1e-13) and np.isclose(a.result("sum"), f(*args, reduction="sum"), rtol=1e-13)
