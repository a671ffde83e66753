"""RNN-T loss: alignment enumeration and probability-space twins, the published
(1, 2, 3, 5) case, finite differences, FastEmit, clamp, in-place gradients,
torchaudio fixtures, extreme and long inputs, errors, threads."""
import pathlib

import numpy as np
import pytest
from inputs import fd_grad, layout, on_1_and_2_threads, tol
from ref_rnnt import log_softmax, rnnt_enumerate, rnnt_logz_diagonal, rnnt_loss_reference

import fastloss

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "rnnt_torchaudio.npz"


def batch(rng, B, T, U, V, blank=-1, dtype=np.float64, full=False, scale=1.0):
    x = (rng.standard_normal((B, T, U + 1, V)) * scale).astype(dtype)
    b = blank % V
    labels = np.array([c for c in range(V) if c != b])
    tg = rng.choice(labels, size=(B, U)).astype(np.int32)
    il = np.full(B, T) if full else rng.integers(1, T + 1, B)
    tl = np.full(B, U) if full else rng.integers(0, U + 1, B)
    return x, tg, il, tl


# --------------------------------------------------------------- twins


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("blank", [0, -1])
def test_matches_alignment_enumeration(rng, fused, blank):
    for T in range(1, 5):
        for U in range(0, 4):
            V = 4
            x = rng.standard_normal((1, T, U + 1, V))
            b = blank % V
            target = [int(v) for v in rng.choice([c for c in range(V) if c != b], U)]
            lp = log_softmax(x[0]) if fused else x[0]  # unnormalised log-probs: the true gradient still holds
            for lam in (0.0, 0.5):
                ref_loss, g = rnnt_enumerate(lp, target, b, lam)
                if fused:
                    g = g - np.exp(lp) * g.sum(-1, keepdims=True)
                loss, grad = fastloss.rnnt_loss(x, np.array([target], dtype=np.int64).reshape(1, U), [T], [U],
                                                blank=blank, reduction="sum", fused_log_softmax=fused,
                                                fastemit_lambda=lam, return_grad=True)
                np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
                np.testing.assert_allclose(grad[0], g, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("fused", [True, False])
def test_matches_probability_space_twin(rng, dtype, reduction, fused):
    x, tg, il, tl = batch(rng, 5, 9, 6, 7, dtype=dtype)
    il[0], tl[0] = 9, 6  # one sample filling the padding exactly
    for kw in ({}, {"clamp": 0.05}, {"fastemit_lambda": 0.01}, {"blank": 2}):
        xx, t2 = x, tg
        if "blank" in kw:
            t2 = np.where(tg == 2, 1, tg)
        loss, grad = fastloss.rnnt_loss(xx, t2, il, tl, reduction=reduction, fused_log_softmax=fused,
                                        return_grad=True, **kw)
        rloss, rgrad = rnnt_loss_reference(xx, t2, il, tl, reduction=reduction, fused_log_softmax=fused,
                                           return_grad=True, **kw)
        rtol, atol = tol(dtype)
        assert np.asarray(loss).dtype == dtype and grad.dtype == dtype and grad.shape == x.shape
        np.testing.assert_allclose(loss, rloss, rtol=rtol, atol=atol)
        np.testing.assert_allclose(grad, rgrad, rtol=rtol * 10, atol=atol * 10)


def test_published_cost():
    """warp-transducer's / torchaudio's unit test: cost 4.495666 (6 digits published)."""
    acts = np.array([[[[0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.1, 0.6, 0.1, 0.1], [0.1, 0.1, 0.2, 0.8, 0.1]],
                      [[0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.1, 0.2, 0.1, 0.1], [0.7, 0.1, 0.2, 0.1, 0.1]]]])
    for dtype in (np.float32, np.float64):
        loss = fastloss.rnnt_loss(acts.astype(dtype), np.array([[1, 2]], dtype=np.int32), [2], [2], blank=0,
                                  reduction="sum")
        assert abs(float(loss) - 4.495666) < 2e-6


def test_empty_targets_are_all_blanks(rng):
    x = rng.standard_normal((2, 6, 3, 5))
    loss = fastloss.rnnt_loss(x, np.zeros((2, 2), dtype=np.int64), [6, 4], [0, 0], blank=0, reduction="none")
    lp = log_softmax(x)
    np.testing.assert_allclose(loss, [-lp[0, :6, 0, 0].sum(), -lp[1, :4, 0, 0].sum()], rtol=1e-13)
    loss, grad = fastloss.rnnt_loss(x, np.zeros((2, 0), dtype=np.int64), [6, 4], [0, 0], blank=0,
                                    return_grad=True)
    assert np.all(grad[:, :, 1:] == 0) and np.all(grad[1, 4:] == 0)


# --------------------------------------------------------------- gradients


@pytest.mark.parametrize("fused", [True, False])
def test_finite_differences(rng, fused):
    x, tg, il, tl = batch(rng, 2, 3, 3, 4)
    for reduction in ("mean", "none"):
        _, grad = fastloss.rnnt_loss(x, tg, il, tl, fused_log_softmax=fused, reduction=reduction, return_grad=True)
        fd = fd_grad(lambda z: np.sum(fastloss.rnnt_loss(z, tg, il, tl, fused_log_softmax=fused,
                                                         reduction=reduction)), x)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_fastemit_gradient_is_that_of_the_documented_objective(rng):
    """FD of -log P - lam * sum e0 * log yhat with e0 (emit posteriors) frozen at x."""
    x, tg, il, tl = batch(rng, 1, 3, 2, 4, full=True)
    lam = 0.3
    target = [int(v) for v in tg[0]]
    lp0 = log_softmax(x[0])
    _, g = rnnt_enumerate(lp0, target, 3, 0.0)
    # emit posteriors = minus the plain gradient at the label entries
    e0 = np.zeros((3, 3))
    for u in range(2):
        e0[:, u] = -g[:, u, target[u]]

    def objective(z):
        lp = log_softmax(z[0])
        nll, _ = rnnt_enumerate(lp, target, 3, 0.0)
        return nll - lam * sum(e0[t, u] * lp[t, u, target[u]] for t in range(3) for u in range(2))

    loss, grad = fastloss.rnnt_loss(x, tg, il, tl, fastemit_lambda=lam, reduction="sum", return_grad=True)
    np.testing.assert_allclose(loss, objective(x), rtol=1e-12)
    np.testing.assert_allclose(grad, fd_grad(objective, x), rtol=1e-6, atol=1e-8)
    # NeMo's reported value, (1 + lam) * (-log P), is a different number
    nll = fastloss.rnnt_loss(x, tg, il, tl, reduction="sum")
    assert abs((1 + lam) * nll - loss) > 1e-3


@pytest.mark.parametrize("fused", [True, False])
def test_clamp(rng, fused):
    x, tg, il, tl = batch(rng, 3, 6, 4, 5, full=True)
    _, g0 = fastloss.rnnt_loss(x, tg, il, tl, reduction="sum", fused_log_softmax=fused, return_grad=True)
    c = 0.25 * np.abs(g0).max()
    _, g = fastloss.rnnt_loss(x, tg, il, tl, reduction="sum", fused_log_softmax=fused, clamp=c, return_grad=True)
    assert np.abs(g).max() == pytest.approx(c, rel=1e-15)
    np.testing.assert_array_equal(g, np.clip(g0, -c, c))
    _, gm = fastloss.rnnt_loss(x, tg, il, tl, fused_log_softmax=fused, clamp=c, return_grad=True)
    np.testing.assert_allclose(gm, g / 3, rtol=1e-15)  # 'mean' scales after clipping, as torchaudio


@pytest.mark.parametrize("dtype,fused", [(np.float32, True), (np.float64, True), (np.float32, False)])
def test_grad_out_in_place(rng, dtype, fused):
    x, tg, il, tl = batch(rng, 3, 7, 4, 6, dtype=dtype)
    kw = dict(return_grad=True, fastemit_lambda=0.1, clamp=0.3, fused_log_softmax=fused)
    ref_loss, ref = fastloss.rnnt_loss(x, tg, il, tl, **kw)
    buf = np.full_like(x, np.nan)
    loss, g = fastloss.rnnt_loss(x, tg, il, tl, grad_out=buf, **kw)
    assert g is buf and loss == ref_loss
    np.testing.assert_array_equal(g, ref)
    y = x.copy()
    loss, g = fastloss.rnnt_loss(y, tg, il, tl, grad_out=y, **kw)
    assert g is y and loss == ref_loss
    np.testing.assert_array_equal(y, ref)
    with pytest.raises(ValueError, match="overlaps"):
        z = np.zeros(x.size + 1, dtype=dtype)
        fastloss.rnnt_loss(z[1:].reshape(x.shape), tg, il, tl, return_grad=True,
                           grad_out=z[:-1].reshape(x.shape))


def test_padding_is_never_read(rng):
    x, tg, il, tl = batch(rng, 4, 8, 5, 6)
    y = x.copy()
    for b in range(4):
        y[b, il[b]:] = np.nan
        y[b, :, tl[b] + 1:] = np.nan
    tg2 = tg.copy()
    for b in range(4):
        tg2[b, tl[b]:] = -7
    l1, g1 = fastloss.rnnt_loss(x, tg, il, tl, reduction="none", return_grad=True)
    l2, g2 = fastloss.rnnt_loss(y, tg2, il, tl, reduction="none", return_grad=True)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("kind", ["strided", "fortran", "byteswapped"])
def test_layouts_and_input_untouched(rng, kind):
    x, tg, il, tl = batch(rng, 2, 5, 3, 4, dtype=np.float32)
    ref = fastloss.rnnt_loss(x, tg, il, tl, return_grad=True)
    y = layout(x, kind)
    before = y.copy()
    out = fastloss.rnnt_loss(y, tg.astype(np.int64), il.tolist(), tl, return_grad=True)
    np.testing.assert_array_equal(out[0], ref[0])
    np.testing.assert_array_equal(out[1], ref[1])
    np.testing.assert_array_equal(y, before)


def test_one_and_two_threads_bitwise(rng):
    x, tg, il, tl = batch(rng, 6, 30, 10, 33, dtype=np.float32)
    one, two = on_1_and_2_threads(lambda: fastloss.rnnt_loss(x, tg, il, tl, reduction="none", return_grad=True,
                                                             fastemit_lambda=0.01))
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


# --------------------------------------------------------------- extremes


def test_extreme_logits(rng):
    x, tg, il, tl = batch(rng, 3, 6, 3, 5, scale=1e4, full=True)
    loss, grad = fastloss.rnnt_loss(x, tg, il, tl, reduction="none", return_grad=True)
    lp = log_softmax(x)
    ref = [-rnnt_logz_diagonal(lp[b, :, :, -1], np.take_along_axis(lp[b, :, :3], tg[b][None, :, None].astype(int),
                                                                   2)[..., 0]) for b in range(3)]
    np.testing.assert_allclose(loss, ref, rtol=1e-12)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(-1), 0.0, atol=1e-12)  # softmax rows: the gradient sums to 0
    l32 = fastloss.rnnt_loss(x.astype(np.float32), tg, il, tl, reduction="none")
    np.testing.assert_allclose(l32, loss, rtol=1e-5)


def test_long_lattice(rng):
    T, U, V = 1000, 200, 5
    x = rng.standard_normal((1, T, U + 1, V)).astype(np.float32)
    tg = rng.integers(0, V - 1, (1, U))
    loss, grad = fastloss.rnnt_loss(x, tg, [T], [U], return_grad=True)
    lp = log_softmax(x[0].astype(np.float64))
    ref = -rnnt_logz_diagonal(lp[:, :, -1], np.take_along_axis(lp[:, :U], tg[0][None, :, None], 2)[..., 0])
    np.testing.assert_allclose(loss, ref, rtol=1e-7)  # a float32 result
    np.testing.assert_allclose(fastloss.rnnt_loss(x.astype(np.float64), tg, [T], [U]), ref, rtol=1e-12)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(-1), 0.0, atol=1e-6)


def test_impossible_and_nan(rng):
    x, tg, il, tl = batch(rng, 3, 4, 2, 4, full=True)
    il = np.array([4, 0, 4])
    x[2, 1, 0, 0] = np.nan
    loss, grad = fastloss.rnnt_loss(x, tg, il, tl, reduction="none", return_grad=True)
    assert np.isfinite(loss[0]) and loss[1] == np.inf and np.isnan(loss[2])
    assert np.all(grad[1] == 0) and np.all(np.isnan(grad[2]))
    xn = log_softmax(x)
    xn[0] = -np.inf
    loss, grad = fastloss.rnnt_loss(xn, tg, [4, 4, 4], tl, reduction="none", fused_log_softmax=False,
                                    return_grad=True)
    assert loss[0] == np.inf and np.all(grad[0] == 0)


def test_empty_batch():
    x = np.zeros((0, 3, 2, 4), dtype=np.float32)
    assert np.isnan(fastloss.rnnt_loss(x, np.zeros((0, 1), np.int64), [], []))
    loss, grad = fastloss.rnnt_loss(x, np.zeros((0, 1), np.int64), [], [], reduction="sum", return_grad=True)
    assert loss == 0 and grad.shape == x.shape


def test_streaming(rng):
    x, tg, il, tl = batch(rng, 5, 6, 3, 5)
    acc = fastloss.LossAccumulator(fastloss.rnnt_loss, fastemit_lambda=0.01)
    acc.update(x[:2], tg[:2], il[:2], tl[:2])
    acc.update(x[2:], tg[2:], il[2:], tl[2:])
    np.testing.assert_allclose(acc.result(), fastloss.rnnt_loss(x, tg, il, tl, fastemit_lambda=0.01), rtol=1e-13)


# --------------------------------------------------------------- errors


def test_errors(rng):
    x, tg, il, tl = batch(rng, 2, 4, 3, 5, full=True)
    f = fastloss.rnnt_loss
    cases = [
        ((x[0], tg, il, tl), {}, "shape \\(B, T, U\\+1, V\\)"),
        ((x, tg, [5, 4], tl), {}, "logit_lengths\\[0\\] = 5 exceeds.*sample 0"),
        ((x, tg, [4, -1], tl), {}, "logit_lengths\\[1\\] = -1 is negative"),
        ((x, tg, il, [3, 4]), {}, "target_lengths\\[1\\] = 4"),
        ((x, tg, il, [1]), {}, "target_lengths must have shape \\(2,\\)"),
        ((x, np.where(tg == tg[1, 1], 7, tg), il, tl), {}, "sample .*label 7 .*outside"),
        ((x, np.where(tg == tg[1, 1], 4, tg), il, tl), {}, "equals blank=4"),
        ((x, tg[:, :2], il, tl), {}, "exceeds the padded targets"),
        ((x, tg[0], il, tl), {}, "targets must have shape"),
        ((x, tg + 0.5, il, tl), {}, "targets must hold integers"),
        ((x, tg, il, tl), {"blank": 5}, "blank must be in"),
        ((x, tg, il, tl), {"reduction": "avg"}, "reduction"),
        ((x, tg, il, tl), {"fastemit_lambda": -0.1}, "fastemit_lambda"),
        ((x, tg, il, tl), {"return_grad": True, "grad_out": np.zeros(3)}, "grad_out"),
        ((x, tg, il, tl), {"grad_out": np.zeros_like(x)}, "return_grad"),
    ]
    for args, kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            f(*args, **kw)
    with pytest.raises(TypeError, match="targets"):
        f(x, tg.astype(str), il, tl)
    with pytest.raises(TypeError, match="logits"):
        f(x.astype(complex), tg, il, tl)


# --------------------------------------------------------------- torchaudio


@pytest.mark.skipif(not FIXTURE.exists(), reason="tests/fixtures/rnnt_torchaudio.npz not generated")
def test_matches_torchaudio_fixtures():
    """Recorded with torchaudio 2.11 (tests/fixtures/make_rnnt_fixtures.py, float32)."""
    data = np.load(FIXTURE)
    names = sorted({k.split("/")[0] for k in data.files} - {"meta"})
    assert names
    for name in names:
        d = {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith(name + "/")}
        kw = dict(blank=int(d["blank"]), clamp=float(d["clamp"]), reduction=str(d["reduction"]),
                  fused_log_softmax=bool(d["fused"]))
        if "fastemit_lambda" in d:
            kw["fastemit_lambda"] = float(d["fastemit_lambda"])
        loss, grad = fastloss.rnnt_loss(d["logits"], d["targets"], d["logit_lengths"], d["target_lengths"],
                                        return_grad=True, **kw)
        np.testing.assert_allclose(loss, d["loss"], rtol=2e-5, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(grad, d["grad"], rtol=1e-4, atol=2e-6, err_msg=name)


# --------------------------------------------------------------- torch adapter


@pytest.mark.parametrize("reduction,fused", [("mean", True), ("none", False), ("sum", False)])
def test_torch_adapter_gradcheck(rng, reduction, fused):
    torch = pytest.importorskip("torch")
    import fastloss.torch as ft

    x, tg, il, tl = batch(rng, 2, 3, 2, 4)
    xt = torch.tensor(x, requires_grad=True)
    args = (torch.from_numpy(tg), torch.from_numpy(il), torch.from_numpy(tl))
    # full Jacobian check once; fast mode (random projections, a few calls) for the others
    fast = reduction != "mean"
    assert torch.autograd.gradcheck(
        lambda z: ft.rnnt_loss(z, *args, reduction=reduction, fused_log_softmax=fused), (xt,), fast_mode=fast)
    # through a log_softmax upstream, fused off
    if not fused:
        assert torch.autograd.gradcheck(
            lambda z: ft.rnnt_loss(z.log_softmax(-1), *args, reduction=reduction, fused_log_softmax=False), (xt,),
            fast_mode=fast)


def test_torch_adapter_values_module_and_double_backward(rng):
    torch = pytest.importorskip("torch")
    import fastloss.torch as ft

    x, tg, il, tl = batch(rng, 3, 6, 4, 7, dtype=np.float32)
    ref_loss, ref_grad = fastloss.rnnt_loss(x, tg, il, tl, clamp=0.1, return_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    mod = ft.RNNTLoss(clamp=0.1)
    assert "clamp=0.1" in repr(mod)
    loss = mod(xt, torch.from_numpy(tg), torch.from_numpy(il), torch.from_numpy(tl))
    assert loss.dtype == torch.float32 and loss.item() == float(ref_loss)
    loss.backward()
    np.testing.assert_array_equal(xt.grad.numpy(), ref_grad)
    # 'none' with per-sample weights
    xt.grad = None
    w = torch.tensor([1.0, 2.0, -0.5])
    (ft.rnnt_loss(xt, tg, il.tolist(), tl.tolist(), reduction="none") * w).sum().backward()
    _, g = fastloss.rnnt_loss(x, tg, il, tl, reduction="none", return_grad=True)
    np.testing.assert_allclose(xt.grad.numpy(), g * w.numpy()[:, None, None, None], rtol=1e-6)
    # double backward must raise, never be silently zero
    x64 = torch.tensor(x.astype(np.float64), requires_grad=True)
    out = ft.rnnt_loss(x64, tg, il, tl)
    (gx,) = torch.autograd.grad(out, x64, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiable once"):
        torch.autograd.grad(gx.sum(), x64)
    with pytest.raises(ValueError, match="sample"):
        ft.rnnt_loss(xt, tg, il + 10, tl)


def test_bench_torch_recursion_baseline_agrees(rng):
    """The bench's plain-PyTorch baseline computes the same loss and gradient."""
    torch = pytest.importorskip("torch")
    from fastloss.bench.cases.rnnt import torch_rnnt_loss

    x, tg, il, tl = batch(rng, 3, 6, 4, 7)
    xt = torch.tensor(x, requires_grad=True)
    out = torch_rnnt_loss(xt, torch.from_numpy(tg), il, tl)
    out.sum().backward()
    loss, grad = fastloss.rnnt_loss(x, tg, il, tl, reduction="none", return_grad=True)
    np.testing.assert_allclose(out.detach().numpy(), loss, rtol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), grad, rtol=1e-9, atol=1e-12)


def test_property_random_shapes_against_twin():
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies

    @hyp.given(B=st.integers(1, 3), T=st.integers(1, 6), U=st.integers(0, 4), V=st.integers(2, 6),
               seed=st.integers(0, 2**31), fused=st.booleans(), reduction=st.sampled_from(["none", "sum", "mean"]),
               blank=st.integers(-6, 5), lam=st.sampled_from([0.0, 0.2]), clamp=st.sampled_from([-1.0, 0.1]))
    @hyp.settings(max_examples=25)
    def check(B, T, U, V, seed, fused, reduction, blank, lam, clamp):
        hyp.assume(-V <= blank < V and (U == 0 or V >= 2))
        rng = np.random.default_rng(seed)
        x, tg, il, tl = batch(rng, B, T, U, V, blank=blank)
        kw = dict(blank=blank, reduction=reduction, fused_log_softmax=fused, fastemit_lambda=lam, clamp=clamp,
                  return_grad=True)
        loss, grad = fastloss.rnnt_loss(x, tg, il, tl, **kw)
        rloss, rgrad = rnnt_loss_reference(x, tg, il, tl, **kw)
        np.testing.assert_allclose(loss, rloss, rtol=1e-11)
        np.testing.assert_allclose(grad, rgrad, rtol=1e-9, atol=1e-12)

    check()
