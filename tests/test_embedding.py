"""Embedding losses: twins, PyTorch cross-checks (values and gradients),
finite differences, layouts, dtypes, errors, thread-count independence."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastloss
from fastloss import batch_hard_triplet_loss, contrastive_loss, cosine_embedding_loss, triplet_margin_loss
from inputs import FLOAT_DTYPES, LAYOUTS, fd_grad, layout, on_1_and_2_threads, tol
from ref_embedding import (
    batch_hard_triplet_loss_reference,
    contrastive_loss_reference,
    cosine_embedding_loss_reference,
    triplet_margin_loss_reference,
)

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
REDUCTIONS = ("mean", "sum", "none")




def close(a, b, dtype=np.float64, scale=1.0):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol * scale)


def data(rng, n=9, d=6, dtype=np.float64):
    a, b, c = (rng.standard_normal((n, d)).astype(dtype) for _ in range(3))
    return a, b, c


# ----------------------------------------------------------------- twins, all reductions and dtypes


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_twins(rng, dtype, reduction):
    a, b, c = data(rng, dtype=dtype)
    lab = rng.integers(0, 2, a.shape[0])
    pm = np.where(lab == 1, 1, -1)
    cases = [
        (contrastive_loss(a, b, lab, margin=2.5, reduction=reduction),
         contrastive_loss_reference(a, b, lab, margin=2.5, reduction=reduction)),
        (cosine_embedding_loss(a, b, pm, margin=-0.2, reduction=reduction),
         cosine_embedding_loss_reference(a, b, pm, margin=-0.2, reduction=reduction)),
    ]
    for p in (1, 2, 1.5, math.inf):
        for swap in (False, True):
            cases.append((triplet_margin_loss(a, b, c, margin=1.5, p=p, swap=swap, reduction=reduction),
                          triplet_margin_loss_reference(a, b, c, margin=1.5, p=p, swap=swap, reduction=reduction)))
    for got, want in cases:
        assert got.dtype == dtype
        if reduction == "none":
            assert got.shape == (a.shape[0],)
        else:
            assert np.ndim(got) == 0 and isinstance(got, np.generic)
        close(got, want, dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("squared", (False, True))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_batch_hard_twin(rng, dtype, squared, reduction):
    e = rng.standard_normal((23, 5)).astype(dtype)
    y = rng.integers(0, 4, 23)
    y[0] = 17  # a label seen once: anchor 0 has no positive and is excluded
    got = batch_hard_triplet_loss(e, y, margin=0.8, squared=squared, reduction=reduction)
    want = batch_hard_triplet_loss_reference(e, y, margin=0.8, squared=squared, reduction=reduction)
    close(got, want, dtype)
    assert got.dtype == dtype


def test_batch_hard_excluded_anchors(rng):
    e = rng.standard_normal((5, 3))
    # single label: no negatives anywhere -> nothing valid: 0 and zero gradient
    l, g = batch_hard_triplet_loss(e, np.zeros(5, int), return_grad=True)
    assert l == 0.0 and not g.any()
    # all labels distinct: no positives
    assert batch_hard_triplet_loss(e, np.arange(5), reduction="sum") == 0.0
    # mean divides by the valid anchors only
    y = np.array([0, 0, 1, 1, 2])
    none = batch_hard_triplet_loss(e, y, reduction="none")
    assert none[4] == 0.0
    close(batch_hard_triplet_loss(e, y), none[:4].sum() / 4)


@settings(max_examples=15)
@given(n=st.integers(1, 12), d=st.integers(1, 7), k=st.integers(1, 4), seed=st.integers(0, 2**16),
       squared=st.booleans(), margin=st.floats(0, 3))
def test_batch_hard_hypothesis(n, d, k, seed, squared, margin):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n, d))
    y = rng.integers(0, k, n)
    close(batch_hard_triplet_loss(e, y, margin=margin, squared=squared, reduction="none"),
          batch_hard_triplet_loss_reference(e, y, margin=margin, squared=squared, reduction="none"))
    close(batch_hard_triplet_loss(e, y, margin=margin, squared=squared),
          batch_hard_triplet_loss_reference(e, y, margin=margin, squared=squared))


# ----------------------------------------------------------------- PyTorch cross-checks


def tgrad(fn, first, *rest):
    x = torch.tensor(first, requires_grad=True)
    out = fn(x, *[torch.tensor(r) for r in rest])
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@needs_torch
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_torch_triplet(rng, dtype, reduction):
    a, b, c = data(rng, n=11, d=7, dtype=dtype)
    for p in (1, 2, 3.0, 0.5, math.inf):
        for swap in (False, True):
            for eps in (1e-6, 0.0, 0.3):
                l, g = triplet_margin_loss(a, b, c, margin=2.0, p=p, eps=eps, swap=swap, reduction=reduction,
                                           return_grad=True)
                tl, tg = tgrad(lambda x, y, z: F.triplet_margin_loss(x, y, z, margin=2.0, p=p, eps=eps, swap=swap,
                                                                     reduction=reduction), a, b, c)
                close(l, tl, dtype, 10)
                close(g, tg, dtype, 10)
                assert g.dtype == dtype and g.shape == a.shape
                # grad_wrt='all': anchor (the same numbers), positive and negative
                l3, gs = triplet_margin_loss(a, b, c, margin=2.0, p=p, eps=eps, swap=swap, reduction=reduction,
                                             return_grad=True, grad_wrt="all")
                # torch in float64 (float32 torch is itself off by ~1e-3 where |v|^(p-1) is large)
                ts = [torch.tensor(v.astype(np.float64), requires_grad=True) for v in (a, b, c)]
                F.triplet_margin_loss(*ts, margin=2.0, p=p, eps=eps, swap=swap, reduction=reduction).sum().backward()
                assert np.array_equal(np.asarray(l3), np.asarray(l)) and np.array_equal(gs[0], g)
                for mine, t in zip(gs, ts):
                    close(mine, t.grad.numpy(), dtype, 10)
                    assert mine.dtype == dtype and mine.shape == a.shape


@needs_torch
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_torch_cosine(rng, dtype, reduction):
    a, b, _ = data(rng, n=12, d=5, dtype=dtype)
    a[3] = 0.0  # zero vector: torch's eps on the squared norms keeps it finite
    y = np.where(rng.random(12) < 0.5, 1, -1)
    for margin in (0.0, 0.3, -0.5):
        l, g = cosine_embedding_loss(a, b, y, margin=margin, reduction=reduction, return_grad=True)
        tl, tg = tgrad(lambda x, u, t: F.cosine_embedding_loss(x, u, t, margin=margin, reduction=reduction), a, b, y)
        close(l, tl, dtype)
        # float32: torch adds the 1e-12 to a float32 norm and differentiates
        # in float32; the zero row's gradient is ~1e6: compare relatively.
        np.testing.assert_allclose(g, tg, rtol=tol(dtype)[0] * (50 if dtype == np.float32 else 1),
                                   atol=tol(dtype)[1] * 10)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [1.5, 2, math.inf])
def test_triplet_all_gradients_finite_differences(rng, p, swap):
    """d loss / d (anchor, positive, negative) against central differences
    of the float64 twin (no torch needed)."""
    a, b, c = (rng.standard_normal((5, 4)) for _ in range(3))
    c[1] = b[1] + 0.1 * rng.standard_normal(4)  # a swap-active row (d(p, n) < d(a, n))
    _, grads = triplet_margin_loss(a, b, c, margin=2.0, p=p, swap=swap, reduction="sum", return_grad=True,
                                   grad_wrt="all")
    h = 1e-6
    arrays = [a, b, c]
    for j in range(3):
        num = np.zeros_like(arrays[j])
        for idx in np.ndindex(*arrays[j].shape):
            plus = [x.copy() for x in arrays]
            minus = [x.copy() for x in arrays]
            plus[j][idx] += h
            minus[j][idx] -= h
            num[idx] = (triplet_margin_loss_reference(*plus, margin=2.0, p=p, swap=swap, reduction="sum")
                        - triplet_margin_loss_reference(*minus, margin=2.0, p=p, swap=swap, reduction="sum")) / (2 * h)
        np.testing.assert_allclose(grads[j], num, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="grad_wrt"):
        triplet_margin_loss(a, b, c, return_grad=True, grad_wrt="positive")


@needs_torch
def test_torch_one_dimensional(rng):
    a, b, c = (rng.standard_normal(6) for _ in range(3))
    l, g = triplet_margin_loss(a, b, c, margin=3.0, return_grad=True)
    tl, tg = tgrad(lambda x, y, z: F.triplet_margin_loss(x, y, z, margin=3.0), a, b, c)
    assert np.ndim(l) == 0 and g.shape == (6,)
    close(l, tl)
    close(g, tg)
    assert triplet_margin_loss(a, b, c, reduction="none").shape == ()
    l, g = cosine_embedding_loss(a, b, np.array(-1.0), margin=-1.0, reduction="none", return_grad=True)
    tl, tg = tgrad(lambda x, y, t: F.cosine_embedding_loss(x, y, t, margin=-1.0, reduction="none"), a, b,
                   np.array(-1.0))
    assert l.shape == ()
    close(l, tl)
    close(g, tg)


@needs_torch
def test_torch_batched_leading_dims(rng):
    a, b, c = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    l, g = triplet_margin_loss(a, b, c, reduction="none", return_grad=True)
    tl, tg = tgrad(lambda x, y, z: F.triplet_margin_loss(x, y, z, reduction="none"), a, b, c)
    assert l.shape == (2, 3) and g.shape == a.shape
    close(l, tl)
    close(g, tg)


@needs_torch
def test_torch_empty():
    e = np.zeros((0, 4))
    assert np.isnan(triplet_margin_loss(e, e, e))
    assert float(triplet_margin_loss(e, e, e, reduction="sum")) == 0.0
    assert np.isnan(cosine_embedding_loss(e, e, np.zeros(0)))
    assert np.isnan(F.triplet_margin_loss(torch.tensor(e), torch.tensor(e), torch.tensor(e)).item())
    l, g = contrastive_loss(e, e, np.zeros(0), reduction="none", return_grad=True)
    assert l.shape == (0,) and g.shape == (0, 4)


# ----------------------------------------------------------------- finite differences


@pytest.mark.parametrize("reduction", ("mean", "sum", "none"))
def test_finite_differences(rng, reduction):
    a, b, c = data(rng, n=6, d=4)
    lab = np.array([1, 0, 0, 1, 0, 0])
    # dissimilar pairs: some inside the margin, some outside
    funcs = [
        lambda x: contrastive_loss(x, b, lab, margin=3.0, reduction=reduction, return_grad=True),
        lambda x: cosine_embedding_loss(x, b, 2 * lab - 1, margin=-0.3, reduction=reduction, return_grad=True),
        lambda x: triplet_margin_loss(x, b, c, margin=1.0, reduction=reduction, return_grad=True),
        lambda x: triplet_margin_loss(x, b, c, margin=1.0, p=1.5, swap=True, reduction=reduction, return_grad=True),
        lambda x: triplet_margin_loss(x, b, c, margin=1.0, p=1, reduction=reduction, return_grad=True),
    ]
    for f in funcs:
        _, g = f(a)
        num = fd_grad(lambda x: np.sum(f(x)[0]), a)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("squared", (False, True))
@pytest.mark.parametrize("reduction", ("mean", "sum", "none"))
def test_batch_hard_finite_differences(rng, squared, reduction):
    e = rng.standard_normal((10, 3))
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 4])  # 3 and 4: no positive
    l, g = batch_hard_triplet_loss(e, y, margin=1.5, squared=squared, reduction=reduction, return_grad=True)
    assert np.sum(l) > 0
    num = fd_grad(lambda x: np.sum(batch_hard_triplet_loss(x, y, margin=1.5, squared=squared,
                                                           reduction=reduction)), e)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7)
    # rows 8 and 9 are never anchors of a valid triplet but can be chosen as
    # someone's hardest negative: their gradient is exactly that contribution
    for j in (8, 9):
        chosen = np.abs(g[j]).sum() > 0
        assert chosen == (np.abs(num[j]).sum() > 1e-6)


def test_batch_hard_zero_distance_gradient_is_finite():
    e = np.array([[0.0, 0.0], [0.0, 0.0], [0.1, 0.0]])
    y = np.array([0, 0, 1])
    l, g = batch_hard_triplet_loss(e, y, squared=False, return_grad=True)
    assert np.isfinite(g).all() and l > 0


@needs_torch
def test_batch_hard_torch_autograd(rng):
    e = rng.standard_normal((16, 4))
    y = rng.integers(0, 3, 16)
    for squared in (False, True):
        x = torch.tensor(e, requires_grad=True)
        d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        d = d2 if squared else torch.sqrt(d2 + (torch.eye(16, dtype=torch.float64) > 0) * 1.0)
        same = torch.tensor(y[:, None] == y[None, :])
        eye = torch.eye(16, dtype=torch.bool)
        dap = torch.where(same & ~eye, d, torch.full_like(d, -1.0)).max(1).values
        dan = torch.where(~same, d, torch.full_like(d, math.inf)).min(1).values
        valid = (same & ~eye).any(1) & (~same).any(1)
        loss = torch.clamp_min(dap - dan + 0.5, 0)[valid].mean()
        loss.backward()
        l, g = batch_hard_triplet_loss(e, y, margin=0.5, squared=squared, return_grad=True)
        close(l, loss.item())
        close(g, x.grad.numpy())


def test_contrastive_zero_distance_dissimilar():
    a = np.array([[1.0, 2.0]])
    l, g = contrastive_loss(a, a.copy(), np.array([0]), margin=2.0, return_grad=True)
    assert l == 4.0 and np.all(g == 0)


def test_contrastive_conventions():
    # label 1 = similar: d^2; label 0 = dissimilar: max(0, m - d)^2
    x1, x2 = np.zeros((2, 2)), np.array([[0.6, 0.8], [0.6, 0.8]])
    np.testing.assert_allclose(contrastive_loss(x1, x2, [1, 0], margin=3.0, reduction="none"), [1.0, 4.0])


# ----------------------------------------------------------------- layouts, dtypes, inputs untouched


@pytest.mark.parametrize("kind", LAYOUTS)
def test_layouts(rng, kind):
    a, b, c = data(rng, n=8, d=5)
    lab = rng.integers(0, 2, 8)
    ref = [
        triplet_margin_loss(a, b, c, reduction="none", return_grad=True),
        contrastive_loss(a, b, lab, reduction="none", return_grad=True),
        cosine_embedding_loss(a, b, 2 * lab - 1, reduction="none", return_grad=True),
        batch_hard_triplet_loss(a, lab, reduction="none", return_grad=True),
    ]
    A, B, C = (layout(x, kind) for x in (a, b, c))
    copies = [x.copy() for x in (A, B, C)]
    got = [
        triplet_margin_loss(A, B, C, reduction="none", return_grad=True),
        contrastive_loss(A, B, layout(lab, kind), reduction="none", return_grad=True),
        cosine_embedding_loss(A, B, layout(2 * lab - 1, kind), reduction="none", return_grad=True),
        batch_hard_triplet_loss(A, layout(lab, kind), reduction="none", return_grad=True),
    ]
    for (l0, g0), (l1, g1) in zip(ref, got):
        np.testing.assert_array_equal(l0, l1)
        np.testing.assert_array_equal(g0, g1)
    for x, y in zip((A, B, C), copies):
        np.testing.assert_array_equal(x, y)


def test_integer_and_torch_inputs(rng):
    a = rng.integers(-3, 4, (5, 3))
    b = rng.integers(-3, 4, (5, 3))
    l = contrastive_loss(a, b, np.ones(5, bool))
    assert l.dtype == np.float64
    close(l, contrastive_loss_reference(a, b, np.ones(5)))
    if torch is not None:
        t = torch.tensor(a.astype(np.float32), requires_grad=True)
        l32 = contrastive_loss(t, torch.tensor(b.astype(np.float32)), torch.ones(5))
        assert l32.dtype == np.float32


def test_float32_accuracy_large_offsets(rng):
    a = (rng.standard_normal((50, 16)) + 1000).astype(np.float32)
    b = (rng.standard_normal((50, 16)) + 1000).astype(np.float32)
    c = (rng.standard_normal((50, 16)) + 1000).astype(np.float32)
    close(triplet_margin_loss(a, b, c), triplet_margin_loss_reference(a, b, c), np.float32)
    y = rng.integers(0, 4, 50)
    close(batch_hard_triplet_loss(a, y), batch_hard_triplet_loss_reference(a, y), np.float32)


def test_nan_propagates(rng):
    a, b, c = data(rng, n=4, d=3)
    a[1, 2] = np.nan
    assert np.isnan(triplet_margin_loss(a, b, c, reduction="none")[1])
    assert np.isnan(contrastive_loss(a, b, np.array([0, 0, 1, 1]), reduction="none")[1])
    assert np.isnan(cosine_embedding_loss(a, b, np.array([-1, -1, 1, 1]), margin=-1.0, reduction="none")[1])
    assert np.isnan(batch_hard_triplet_loss(a, np.array([0, 0, 1, 1])))


# ----------------------------------------------------------------- streaming


def test_streaming(rng):
    a, b, c = data(rng, n=20, d=4)
    lab = rng.integers(0, 2, 20)
    for loss, args, opts in [
        (triplet_margin_loss, (a, b, c), dict(margin=0.5, swap=True)),
        (contrastive_loss, (a, b, lab), dict(margin=2.0)),
        (cosine_embedding_loss, (a, b, 2 * lab - 1), dict(margin=0.1)),
    ]:
        acc = fastloss.LossAccumulator(loss, **opts)
        acc.update(*[x[:7] for x in args]).update(*[x[7:] for x in args])
        close(acc.result(), loss(*args, **opts))


# ----------------------------------------------------------------- errors


def test_errors(rng):
    a, b, c = data(rng, n=4, d=3)
    with pytest.raises(ValueError, match="same shape"):
        triplet_margin_loss(a, b[:3], c)
    with pytest.raises(ValueError, match="margin"):
        triplet_margin_loss(a, b, c, margin=0.0)
    with pytest.raises(ValueError, match="margin"):
        triplet_margin_loss(a, b, c, margin=math.nan)
    with pytest.raises(ValueError, match="p must"):
        triplet_margin_loss(a, b, c, p=0)
    with pytest.raises(TypeError, match="swap"):
        triplet_margin_loss(a, b, c, swap=1)
    with pytest.raises(ValueError, match="reduction"):
        triplet_margin_loss(a, b, c, reduction="batchmean")
    with pytest.raises(ValueError, match=r"label must hold .* at position \(2,\)"):
        contrastive_loss(a, b, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"label must have shape \(4,\)"):
        contrastive_loss(a, b, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="margin"):
        contrastive_loss(a, b, np.array([0, 1, 1, 0]), margin=-1.0)
    with pytest.raises(ValueError, match=r"target must hold 1 or -1, got .* at position \(1,\)"):
        cosine_embedding_loss(a, b, np.array([1, 0, 1, -1]))
    with pytest.raises(TypeError):
        cosine_embedding_loss(a, b, np.array(["a"] * 4))
    with pytest.raises(TypeError):
        triplet_margin_loss(a.astype(complex), b, c)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        triplet_margin_loss(np.float64(1.0), 1.0, 1.0)
    with pytest.raises(ValueError, match=r"shape \(N, D\)"):
        batch_hard_triplet_loss(a[0], np.zeros(3, int))
    with pytest.raises(ValueError, match="labels must have shape"):
        batch_hard_triplet_loss(a, np.zeros(3, int))
    with pytest.raises(ValueError, match="labels must hold integers"):
        batch_hard_triplet_loss(a, np.array([0, 0.5, 1, 1]))
    with pytest.raises(ValueError, match="margin"):
        batch_hard_triplet_loss(a, np.zeros(4, int), margin=-0.1)


# ----------------------------------------------------------------- thread count


def test_thread_count_bitwise(rng):
    a, b, c = data(rng, n=3000, d=16)  # several row chunks
    lab = rng.integers(0, 5, 3000)
    e, y = a[:300], lab[:300]

    def run():
        return [
            triplet_margin_loss(a, b, c, return_grad=True, swap=True),
            contrastive_loss(a, b, lab % 2, return_grad=True),
            cosine_embedding_loss(a, b, 2 * (lab % 2) - 1, return_grad=True),
            batch_hard_triplet_loss(e, y, return_grad=True),
        ]

    one, two = on_1_and_2_threads(run)
    for (l1, g1), (l2, g2) in zip(one, two):
        assert l1.tobytes() == l2.tobytes()
        assert g1.tobytes() == g2.tobytes()
