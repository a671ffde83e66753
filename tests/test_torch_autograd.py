"""fastloss.torch: every loss differentiable, torch's names and signatures (issue 12).

Values and gradients against torch where torch has the loss, float64
gradcheck for every row (reduction 'sum' and 'none': the latter checks how
grad_output is laid out), double backward raising, bfloat16 / unsupported
gradient / non-tensor errors, modules, zero-copy."""
import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
import fastloss  # noqa: E402
import fastloss.torch as ft  # noqa: E402


def t(a, dtype=torch.float64, grad=False):
    return torch.tensor(np.asarray(a), dtype=dtype, requires_grad=grad)


def case(name, rng, dtype=torch.float64):
    """(tensors, options) for one loss: small, away from kinks."""
    r = rng.standard_normal
    if name in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "pseudo_huber_loss", "log_cosh_loss",
                "quantile_loss"):
        return [t(r((4, 3)), dtype), t(r((4, 3)), dtype)], {}
    if name == "binary_cross_entropy":
        return [t(1 / (1 + np.exp(-r((4, 3)))), dtype), t(rng.random((4, 3)), dtype)], {"weight": t(rng.random(3), dtype)}
    if name == "binary_cross_entropy_with_logits":
        return [t(r((4, 3)), dtype), t(rng.random((4, 3)), dtype)], {"pos_weight": t(rng.random(3) + 0.5, dtype)}
    if name in ("cross_entropy", "softmax_focal_loss", "multi_margin_loss"):
        opts = {"label_smoothing": 0.1} if name == "cross_entropy" else {}
        return [t(r((4, 5)), dtype), torch.tensor([0, 4, 2, 2])], opts
    if name == "nll_loss":
        return [t(r((4, 5)), dtype).log_softmax(-1), torch.tensor([0, 4, -100, 2])], {}
    if name == "kl_div":
        return [t(r((4, 5)), dtype).log_softmax(-1), t(r((4, 5)), dtype).softmax(-1)], {"reduction": "batchmean"}
    if name == "sigmoid_focal_loss":
        return [t(r((4, 3)), dtype), t(rng.integers(0, 2, (4, 3)), dtype)], {}
    if name == "hinge_loss":
        return [t(r(6) * 0.5, dtype), t(rng.choice([-1, 1], 6), dtype)], {}
    if name == "contrastive_loss":
        return [t(r((4, 3)), dtype), t(r((4, 3)), dtype), torch.tensor([0, 1, 1, 0])], {"margin": 3.0}
    if name == "cosine_embedding_loss":
        return [t(r((4, 3)), dtype), t(r((4, 3)), dtype), torch.tensor([1, -1, 1, -1])], {"margin": -0.5}
    if name == "triplet_margin_loss":
        return [t(r((4, 3)), dtype), t(r((4, 3)), dtype), t(r((4, 3)), dtype)], {"margin": 5.0}
    if name == "batch_hard_triplet_loss":
        return [t(r((6, 3)), dtype), torch.tensor([0, 0, 1, 1, 2, 2])], {"margin": 5.0}
    if name == "ctc_loss":
        lp = t(r((8, 2, 5)), dtype).log_softmax(-1)
        return [lp, torch.tensor([[1, 2, 2], [3, 1, 0]]), torch.tensor([8, 7]), torch.tensor([3, 2])], {}
    if name == "poisson_nll_loss":
        return [t(r((4, 3)), dtype), t(rng.poisson(2.0, (4, 3)), dtype)], {}
    if name == "gaussian_nll_loss":
        return [t(r((4, 3)), dtype), t(r((4, 3)), dtype), t(rng.random((4, 3)) + 0.5, dtype)], {}
    if name == "margin_ranking_loss":
        return [t(r(6), dtype), t(r(6), dtype), t(rng.choice([-1, 1], 6), dtype)], {"margin": 0.3}
    if name in ("soft_margin_loss", "hinge_embedding_loss"):
        return [t(r((4, 3)) + 0.05, dtype), t(rng.choice([-1, 1], (4, 3)), dtype)], {}
    if name == "multilabel_soft_margin_loss":
        return [t(r((4, 5)), dtype), t(rng.integers(0, 2, (4, 5)), dtype)], {}
    if name == "multilabel_margin_loss":
        return [t(r((4, 5)), dtype), torch.tensor([[3, 0, -1, 1, 1], [1, 2, 4, -1, 0], [0, -1, 2, 2, 2], [4, 3, 2, 1, 0]])], {}
    raise KeyError(name)


ROWS = {row.name: row for row in ft._LOSSES}
TORCH_NAMED = [n for n, row in ROWS.items() if row.torch_named]


def grad_args(row):
    if row.all_grads:  # every array argument (triplet: anchor, positive, negative)
        return list(range(row.arrays))
    return [0, 1] if row.second else [0]


def call(name, tensors, **kw):
    return getattr(ft, name)(*tensors, **kw)


def test_every_loss_has_a_row():
    # A new loss in fastloss.losses / fastloss.speech needs its row in fastloss.torch._LOSSES.
    have = set(ROWS)
    want = {n for n in fastloss.losses.__all__ if n.endswith("_loss") or n in ("kl_div",) or "entropy" in n}
    want |= {n for n in fastloss.speech.__all__ if n.endswith("_loss")}
    # rnnt: hand-written adapter (torchaudio signature).
    pending = {"rnnt_loss"}
    assert want <= have | pending, sorted(want - have - pending)


def test_signatures_are_torchs():
    for name in TORCH_NAMED:
        assert inspect.signature(getattr(ft, name)) == inspect.signature(getattr(F, name)), name
        assert issubclass(getattr(ft, ROWS[name].module), getattr(torch.nn, ROWS[name].module))


@pytest.mark.parametrize("name", TORCH_NAMED)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_values_and_gradients_match_torch(rng, name, reduction):
    tensors, opts = case(name, rng)
    if name == "kl_div" and reduction == "mean":
        opts = {}
    elif reduction != "mean" or name != "kl_div":
        opts = {**opts, "reduction": reduction}
    row = ROWS[name]
    outs = []
    for fn in (getattr(F, name), getattr(ft, name)):
        xs = [x.detach().clone().requires_grad_(i in grad_args(row)) if x.is_floating_point() else x
              for i, x in enumerate(tensors)]
        if name == "ctc_loss":  # torch's CTC backward assumes a log_softmax upstream: put one there
            loss = fn(xs[0].log_softmax(-1), *xs[1:], **opts)
        else:
            loss = fn(*xs, **opts)
        w = torch.rand(loss.shape, dtype=loss.dtype, generator=torch.Generator().manual_seed(0))
        (loss * w).sum().backward()
        outs.append((loss.detach(), [xs[i].grad for i in grad_args(row)]))
    (v0, g0), (v1, g1) = outs
    assert v1.dtype == v0.dtype and v1.shape == v0.shape
    torch.testing.assert_close(v1, v0, rtol=1e-10, atol=1e-12)
    for a, b in zip(g1, g0):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", sorted(ROWS))
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_gradcheck_float64(rng, name, reduction):
    tensors, opts = case(name, rng)
    opts = {**opts, "reduction": reduction}
    row = ROWS[name]
    idx = grad_args(row)
    xs = [x.detach().requires_grad_(i in idx) if x.is_floating_point() else x for i, x in enumerate(tensors)]
    if reduction == "none" and not row.local:
        # Loss i depends on other samples: only a uniform grad_output is supported ...
        assert torch.autograd.gradcheck(lambda *a: call(name, [*a, *xs[len(idx):]], **opts).sum(),
                                        tuple(xs[i] for i in idx))
        loss = call(name, xs, **opts)
        with pytest.raises(NotImplementedError, match="uniform grad_output"):
            loss.backward(torch.arange(loss.numel(), dtype=loss.dtype).reshape(loss.shape))
        return
    assert torch.autograd.gradcheck(lambda *a: call(name, [*a, *xs[len(idx):]], **opts), tuple(xs[i] for i in idx))


@pytest.mark.parametrize("name", sorted(ROWS))
def test_double_backward_raises(rng, name):
    tensors, opts = case(name, rng)
    x = tensors[0].detach().requires_grad_()
    loss = call(name, [x, *tensors[1:]], **opts)
    (g,) = torch.autograd.grad(loss.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="second derivatives"):
        g.pow(2).sum().backward()


def test_gradgradcheck_ctc_raises_not_wrong(rng):
    tensors, _ = case("ctc_loss", rng)
    x = tensors[0].detach().requires_grad_()
    with pytest.raises(RuntimeError, match="second derivatives"):
        torch.autograd.gradgradcheck(lambda z: ft.ctc_loss(z, *tensors[1:]), (x,))


def test_bfloat16_and_non_tensor_are_clear_errors(rng):
    x = torch.randn(4, 3)
    with pytest.raises(TypeError, match="input is a bfloat16 tensor"):
        ft.mse_loss(x.bfloat16(), x)
    with pytest.raises(TypeError, match="target is a bfloat16 tensor"):
        ft.mse_loss(x, x.bfloat16())
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        ft.mse_loss(x.numpy(), x)


def test_float16_returns_float16(rng):
    x = torch.randn(4, 3).half().requires_grad_()
    loss = ft.mse_loss(x, torch.zeros(4, 3).half())
    loss.backward()
    assert loss.dtype == torch.float16 and x.grad.dtype == torch.float16
    torch.testing.assert_close(loss.float(), (x.detach().float() ** 2).mean(), rtol=1e-3, atol=1e-3)


def test_unsupported_gradients_raise_not_detach(rng):
    (x, y, var), opts = case("gaussian_nll_loss", rng)
    with pytest.raises(NotImplementedError, match="with respect to var"):
        ft.gaussian_nll_loss(x, y, var.requires_grad_())
    (x, y), opts = case("cross_entropy", rng)
    with pytest.raises(NotImplementedError, match="with respect to weight"):
        ft.cross_entropy(x, y, weight=torch.ones(5, dtype=torch.float64, requires_grad=True))
    # requires_grad tensors are no longer detached: .backward() works
    x.requires_grad_()
    ft.cross_entropy(x, y).backward()
    assert x.grad is not None


def test_triplet_shared_embeddings(rng):
    """One embedding table feeding anchor, positive and negative (the usual
    metric-learning setup): autograd sums the three fused gradients."""
    e = torch.tensor(rng.standard_normal((12, 5)), requires_grad=True)
    idx = torch.tensor(rng.integers(0, 12, (3, 8)))
    for swap in (False, True):
        grads = []
        for fn in (F.triplet_margin_loss, ft.triplet_margin_loss):
            e.grad = None
            fn(e[idx[0]], e[idx[1]], e[idx[2]], margin=2.0, swap=swap).backward()
            grads.append(e.grad.clone())
        torch.testing.assert_close(grads[1], grads[0], rtol=1e-10, atol=1e-12)
    # only the negative requires a gradient: no NotImplementedError, torch's answer
    n = e.detach()[idx[2]].clone().requires_grad_()
    (g1,) = torch.autograd.grad(ft.triplet_margin_loss(e.detach()[idx[0]], e.detach()[idx[1]], n), n)
    (g0,) = torch.autograd.grad(F.triplet_margin_loss(e.detach()[idx[0]], e.detach()[idx[1]], n), n)
    torch.testing.assert_close(g1, g0, rtol=1e-10, atol=1e-12)


def test_legacy_size_average_and_reduce(rng):
    (x, y), _ = case("mse_loss", rng)
    for kw in (dict(size_average=False), dict(reduce=False), dict(size_average=True, reduce=True)):
        with pytest.warns(UserWarning):
            ref = F.mse_loss(x, y, **kw)
        with pytest.warns(UserWarning):
            got = ft.mse_loss(x, y, **kw)
        torch.testing.assert_close(got, ref)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_modules(rng, name):
    row = ROWS[name]
    tensors, opts = case(name, rng)
    opts.pop("reduction", None)
    mod = getattr(ft, row.module)(**opts)
    got = mod(*tensors)
    if row.torch_named:
        ref = getattr(torch.nn, row.module)(**opts)(*tensors)
        assert isinstance(mod, getattr(torch.nn, row.module))
    else:
        ref = call(name, tensors, **opts)
        assert set(opts) <= set(vars(mod)) and repr(mod).startswith(row.module)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


def test_zero_copy_views(rng):
    x = torch.randn(6, 5, dtype=torch.float32)[:, 1:]  # non-contiguous, read in place
    for v in (x, x.t(), torch.randn(3, 4)):
        assert ft._np(v, "input").__array_interface__["data"][0] == v.data_ptr()
    out = ft.mse_loss(torch.randn(4, 3), torch.randn(4, 3), reduction="none")
    assert out.shape == (4, 3) and out.dtype == torch.float32


def test_grad_out_without_return_grad_is_an_error():
    x = np.zeros((2, 3))
    for fn, args in ((fastloss.mse_loss, (x, x)), (fastloss.cross_entropy, (x, np.array([0, 1]))),
                     (fastloss.nll_loss, (x, np.array([0, 1]))), (fastloss.binary_cross_entropy_with_logits, (x, x))):
        with pytest.raises(ValueError, match="grad_out= is only written with return_grad=True"):
            fn(*args, grad_out=np.empty_like(x))
    lp = np.log(np.full((4, 1, 3), 1 / 3))
    with pytest.raises(ValueError, match="grad_out="):
        fastloss.ctc_loss(lp, np.array([[1]]), [4], [1], grad_out=np.empty_like(lp))
