"""hinge_loss and multi_margin_loss: twins, scikit-learn and PyTorch
cross-checks, identities, finite differences, layouts, errors, threads."""
import math

import numpy as np
import pytest

import fastloss
from fastloss.losses.margin import hinge_loss, multi_margin_loss
from inputs import FLOAT_DTYPES, LAYOUTS, fd_grad, layout, on_1_and_2_threads, tol
from ref_embedding import hinge_loss_reference, multi_margin_loss_reference

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None
try:
    from sklearn.metrics import hinge_loss as sk_hinge
except ImportError:  # pragma: no cover
    sk_hinge = None

REDUCTIONS = ("mean", "sum", "none")


def close(a, b, dtype=np.float64, scale=1.0):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol * scale)




@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_twins(rng, dtype, reduction):
    x = rng.standard_normal((10, 4)).astype(dtype)
    t = rng.integers(0, 4, 10)
    tb = rng.integers(0, 2, (10, 4))
    w = rng.random(10)
    for sq in (False, True):
        for m in (1.0, 0.3):
            close(hinge_loss(x, t, margin=m, squared=sq, reduction=reduction),
                  hinge_loss_reference(x, t, margin=m, squared=sq, reduction=reduction), dtype)
            close(hinge_loss(x, t, margin=m, squared=sq, weight=w, reduction=reduction),
                  hinge_loss_reference(x, t, margin=m, squared=sq, weight=w, reduction=reduction), dtype)
            close(hinge_loss(x, tb, margin=m, squared=sq, reduction=reduction),
                  hinge_loss_reference(x, tb, margin=m, squared=sq, reduction=reduction), dtype)
            close(hinge_loss(x, 2 * tb - 1, margin=m, squared=sq, weight=w[:4], reduction=reduction),
                  hinge_loss_reference(x, 2 * tb - 1, margin=m, squared=sq, weight=w[:4], reduction=reduction), dtype)
    cw = rng.random(4)
    for p in (1, 2):
        for m in (1.0, -0.5, 2.0):
            got = multi_margin_loss(x, t, p=p, margin=m, weight=cw, reduction=reduction)
            close(got, multi_margin_loss_reference(x, t, p=p, margin=m, weight=cw, reduction=reduction), dtype)
            assert got.dtype == dtype
            assert got.shape == ((10,) if reduction == "none" else ())


def test_hinge_output_shapes(rng):
    x = rng.standard_normal((3, 4, 5))
    t = rng.integers(0, 2, (3, 4, 5))
    l, g = hinge_loss(x, t, reduction="none", return_grad=True)
    assert l.shape == g.shape == x.shape
    l, g = hinge_loss(x[0], np.arange(4) % 5, reduction="none", return_grad=True)
    assert l.shape == (4,) and g.shape == (4, 5)


# ----------------------------------------------------------------- scikit-learn


@pytest.mark.skipif(sk_hinge is None, reason="scikit-learn not installed")
def test_sklearn(rng):
    for dtype in FLOAT_DTYPES:
        # binary, both label conventions; (N, 1) column decisions
        d = rng.standard_normal(40).astype(dtype)
        for y in (rng.integers(0, 2, 40), 2 * rng.integers(0, 2, 40) - 1):
            close(hinge_loss(d, y), sk_hinge(y, d), dtype)
            close(hinge_loss(d[:, None], y), sk_hinge(y, d[:, None]), dtype)
        # multi-class (Crammer-Singer), all labels present and via labels=
        s = rng.standard_normal((40, 5)).astype(dtype)
        y = np.arange(40) % 5
        close(hinge_loss(s, y), sk_hinge(y, s), dtype)
        y2 = rng.integers(0, 3, 40)
        close(hinge_loss(s, y2), sk_hinge(y2, s, labels=np.arange(5)), dtype)
        # weighted: sklearn's weighted average = sum / sum(w)
        w = rng.random(40)
        close(hinge_loss(s, y, weight=w, reduction="sum") / w.sum(), sk_hinge(y, s, sample_weight=w), dtype)
    # sklearn's docstring example (its printed 0.30 is rounded): only the
    # third sample is inside the margin, 1 - 0.09 = 0.91
    close(hinge_loss(np.array([-2.18, 2.36, 0.09]), np.array([-1, 1, 1])), 0.91 / 3)


# ----------------------------------------------------------------- PyTorch


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_torch_multi_margin(rng, dtype, reduction):
    x = rng.standard_normal((13, 6)).astype(dtype)
    t = rng.integers(0, 6, 13)
    cw = rng.random(6).astype(dtype)
    for p in (1, 2):
        for m in (1.0, 0.2, -0.3):
            for w in (None, cw):
                l, g = multi_margin_loss(x, t, p=p, margin=m, weight=w, reduction=reduction, return_grad=True)
                tx = torch.tensor(x, requires_grad=True)
                tl = F.multi_margin_loss(tx, torch.tensor(t), p=p, margin=m,
                                         weight=None if w is None else torch.tensor(w), reduction=reduction)
                tl.sum().backward()
                close(l, tl.detach().numpy(), dtype)
                close(g, tx.grad.numpy(), dtype)
                assert g.dtype == dtype


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_torch_multi_margin_1d(rng):
    x = rng.standard_normal(5)
    for t in (np.array(2), np.array([2])):
        for red in REDUCTIONS:
            l, g = multi_margin_loss(x, t, reduction=red, return_grad=True)
            tx = torch.tensor(x, requires_grad=True)
            tl = F.multi_margin_loss(tx, torch.tensor(t), reduction=red)
            tl.sum().backward()
            assert np.shape(l) == tuple(tl.shape)
            close(l, tl.detach().numpy())
            close(g, tx.grad.numpy())
            assert g.shape == (5,)


# ----------------------------------------------------------------- identities, gradients


def test_squared_vs_plain(rng):
    x = rng.standard_normal((30, 4))
    for t in (rng.integers(0, 4, 30), rng.integers(0, 2, (30, 4))):
        plain, gp = hinge_loss(x, t, reduction="none", return_grad=True)
        sq, gs = hinge_loss(x, t, squared=True, reduction="none", return_grad=True)
        np.testing.assert_allclose(sq, plain**2, rtol=1e-14)
        # d(h^2) = 2 h dh
        scale = 2 * plain.reshape(plain.shape + (1,) * (gp.ndim - plain.ndim))
        np.testing.assert_allclose(gs, scale * gp, rtol=1e-14)
        assert np.any(plain > 0) and np.any(plain == 0)


def test_binary_zero_one_equals_plus_minus(rng):
    x = rng.standard_normal(50)
    t = rng.integers(0, 2, 50)
    np.testing.assert_array_equal(hinge_loss(x, t, reduction="none"), hinge_loss(x, 2 * t - 1, reduction="none"))
    np.testing.assert_array_equal(hinge_loss(x, t.astype(bool), reduction="none"),
                                  hinge_loss(x, t, reduction="none"))


def test_multiclass_two_classes_equals_binary(rng):
    # Crammer-Singer with C = 2 is the binary hinge on the score difference
    s = rng.standard_normal((20, 2))
    t = rng.integers(0, 2, 20)
    close(2 * hinge_loss(s, t, margin=2.0, reduction="none"),
          2 * hinge_loss((s[:, 1] - s[:, 0]), t, margin=2.0, reduction="none"))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_finite_differences(rng, reduction):
    x = rng.standard_normal((6, 4))
    t = rng.integers(0, 4, 6)
    tb = rng.integers(0, 2, (6, 4))
    w = rng.random(6)
    cases = [
        lambda z: hinge_loss(z, t, margin=1.5, reduction=reduction, return_grad=True),
        lambda z: hinge_loss(z, t, squared=True, weight=w, reduction=reduction, return_grad=True),
        lambda z: hinge_loss(z, tb, squared=True, reduction=reduction, return_grad=True),
        lambda z: hinge_loss(z, tb, weight=w[:4], reduction=reduction, return_grad=True),
        lambda z: multi_margin_loss(z, t, p=1, reduction=reduction, return_grad=True),
        lambda z: multi_margin_loss(z, t, p=2, margin=0.5, weight=w[:4], reduction=reduction, return_grad=True),
    ]
    for f in cases:
        _, g = f(x)
        num = fd_grad(lambda z: np.sum(f(z)[0]), x)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7)


def test_nan_and_extremes():
    x = np.array([[0.1, np.nan, 0.3], [1e4, -1e4, 0.0]])
    t = np.array([0, 0])
    l = multi_margin_loss(x, t, reduction="none")
    assert np.isnan(l[0]) and l[1] == 0.0
    l = hinge_loss(x, t, reduction="none")
    assert np.isnan(l[0]) and l[1] == 0.0
    l, g = hinge_loss(np.array([1e4, -1e4]), np.array([-1, 1]), squared=True, return_grad=True)
    assert np.isfinite(l) and np.isfinite(g).all()


def test_empty():
    assert np.isnan(multi_margin_loss(np.zeros((0, 3)), np.zeros(0, int)))
    assert multi_margin_loss(np.zeros((0, 3)), np.zeros(0, int), reduction="sum") == 0.0
    assert np.isnan(hinge_loss(np.zeros(0), np.zeros(0)))
    assert np.isnan(hinge_loss(np.zeros((0, 3)), np.zeros(0, int)))


@pytest.mark.parametrize("kind", LAYOUTS)
def test_layouts(rng, kind):
    x = rng.standard_normal((7, 5))
    t = rng.integers(0, 5, 7)
    tb = rng.integers(0, 2, (7, 5))
    X = layout(x, kind)
    X0 = X.copy()
    for f, tt in ((hinge_loss, t), (multi_margin_loss, t), (hinge_loss, tb)):
        l0, g0 = f(x, tt, reduction="none", return_grad=True)
        l1, g1 = f(X, layout(tt, kind), reduction="none", return_grad=True)
        np.testing.assert_array_equal(l0, l1)
        np.testing.assert_array_equal(g0, g1)
    np.testing.assert_array_equal(X, X0)


def test_streaming(rng):
    x = rng.standard_normal((20, 4))
    t = rng.integers(0, 4, 20)
    for loss, opts in ((hinge_loss, dict(squared=True)), (multi_margin_loss, dict(p=2))):
        acc = fastloss.LossAccumulator(loss, **opts)
        acc.update(x[:9], t[:9]).update(x[9:], t[9:])
        close(acc.result(), loss(x, t, **opts))


def test_errors(rng):
    x = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"target must be in \[0, 3\), got 3 at position \(2,\)"):
        hinge_loss(x, np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"target must be in \[0, 3\), got -1 at position \(1,\)"):
        multi_margin_loss(x, np.array([0, -1, 2, 0]))
    with pytest.raises(ValueError, match=r"binary target .* got 3.0 at position \(1, 0\)"):
        hinge_loss(x, np.array([[1, 0, 1]] * 4) + np.array([[0], [2], [0], [0]]))
    with pytest.raises(ValueError, match="mixture"):
        hinge_loss(x[0], np.array([-1, 0, 1]))
    with pytest.raises(ValueError, match="binary target"):
        hinge_loss(x[0], np.array([1, np.nan, 1]))
    with pytest.raises(ValueError, match="target must have input's shape"):
        hinge_loss(x, np.array([1, 0]))
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        multi_margin_loss(x, np.zeros(4, int), p=3)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        multi_margin_loss(x, np.zeros(4, int), weight=np.ones(4))
    with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
        multi_margin_loss(x, np.zeros(3, int))
    with pytest.raises(ValueError, match=r"shape \(N, C\) or \(C,\)"):
        multi_margin_loss(x[None], np.zeros(4, int))
    with pytest.raises(ValueError, match="margin"):
        hinge_loss(x, np.zeros(4, int), margin=-1.0)
    with pytest.raises(ValueError, match="margin"):
        multi_margin_loss(x, np.zeros(4, int), margin=math.nan)
    with pytest.raises(ValueError, match="integers"):
        multi_margin_loss(x, np.array([0, 0.5, 1, 1]))
    with pytest.raises(ValueError, match="weight"):
        hinge_loss(x, np.zeros(4, int), weight=np.ones(3))
    with pytest.raises(TypeError, match="squared"):
        hinge_loss(x, np.zeros(4, int), squared=None)


def test_thread_count_bitwise(rng):
    x = rng.standard_normal((5000, 37))
    t = rng.integers(0, 37, 5000)
    xb = rng.standard_normal(70000)
    tb = rng.integers(0, 2, 70000)

    def run():
        return [
            hinge_loss(x, t, return_grad=True),
            hinge_loss(xb, tb, squared=True, return_grad=True),
            multi_margin_loss(x, t, p=2, return_grad=True),
        ]

    one, two = on_1_and_2_threads(run)
    for (l1, g1), (l2, g2) in zip(one, two):
        assert l1.tobytes() == l2.tobytes() and g1.tobytes() == g2.tobytes()
