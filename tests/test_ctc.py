"""CTC loss: twins (enumeration, probability-space Graves), analytic cases,
extreme inputs, finite differences, PyTorch cross-checks, errors, threads."""
import numpy as np
import pytest
from inputs import layout, tol
from ref_ctc import ctc_enumerate, ctc_loss_reference

import fastloss
from fastloss.speech.ctc import _ctc_log_likelihoods


def log_softmax(x, axis=-1):
    m = x.max(axis, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis, keepdims=True)))


def batch(rng, T, N, C, S, blank=0, dtype=np.float64, normalised=True, min_t=0):
    x = rng.standard_normal((T, N, C))
    lp = log_softmax(x) if normalised else x
    labels = [c for c in range(C) if c != blank]
    tg = rng.choice(labels, size=(N, S))
    il = rng.integers(min_t, T + 1, N)
    tl = rng.integers(0, S + 1, N)
    return lp.astype(dtype), tg, il, tl


# --------------------------------------------------------------- twins


@pytest.mark.parametrize("blank", [0, 2])
def test_matches_alignment_enumeration(rng, blank):
    for T in range(0, 6):
        for C in (2, 3, 4):
            if C ** T > 1100 or blank >= C:
                continue
            for target in ([], [1], [1, 1], [1, 2 % C or 1], [1, 1, 1], [3 % C or 1, 1]):
                target = [c if c != blank else (blank + 1) % C for c in target]
                lp = rng.standard_normal((T, C))  # unnormalised: the true gradient still holds
                ref_loss, ref_grad = ctc_enumerate(lp, target, blank)
                loss, grad = fastloss.ctc_loss(lp, np.array(target, dtype=np.int64), T, len(target),
                                               blank=blank, reduction="sum", return_grad=True)
                if np.isinf(ref_loss):
                    assert np.isinf(loss) and np.all(grad == 0)
                else:
                    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
                    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_matches_graves_twin(rng, dtype, reduction):
    lp, tg, il, tl = batch(rng, 14, 5, 6, 5, dtype=dtype)
    tg[0, :3] = [2, 2, 2]  # repeats
    loss, grad = fastloss.ctc_loss(lp, tg, il, tl, reduction=reduction, return_grad=True)
    rloss, rgrad = ctc_loss_reference(lp, tg, il, tl, reduction=reduction, return_grad=True)
    rtol, atol = tol(dtype)
    assert np.asarray(loss).dtype == dtype and grad.dtype == dtype and grad.shape == lp.shape
    np.testing.assert_allclose(loss, rloss, rtol=rtol, atol=atol)
    np.testing.assert_allclose(grad, rgrad, rtol=rtol * 10, atol=atol * 10)


@pytest.mark.parametrize("kind", ["strided", "fortran", "byteswapped", "reversed"])
def test_layouts_and_transposed_views(rng, kind):
    lp, tg, il, tl = batch(rng, 9, 3, 5, 3)
    ref = fastloss.ctc_loss(lp, tg, il, tl, reduction="none", return_grad=True)
    got = fastloss.ctc_loss(layout(lp, kind), layout(tg, kind), il, tl, reduction="none", return_grad=True)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    # (N, T, C) memory read as a (T, N, C) view, and batch_first
    ntc = np.ascontiguousarray(lp.transpose(1, 0, 2))
    for args in ((ntc.transpose(1, 0, 2), {}), (ntc, {"batch_first": True})):
        l2, g2 = fastloss.ctc_loss(args[0], tg, il, tl, reduction="none", return_grad=True, **args[1])
        np.testing.assert_array_equal(l2, ref[0])
        g2 = g2 if not args[1] else g2.transpose(1, 0, 2)
        np.testing.assert_array_equal(g2, ref[1])


def test_concatenated_targets_unbatched_and_from_logits(rng):
    x, tg, il, tl = batch(rng, 10, 4, 5, 4, normalised=False, blank=3)
    concat = np.concatenate([tg[n, : tl[n]] for n in range(4)])
    a = fastloss.ctc_loss(x, tg, il, tl, blank=3, from_logits=True, return_grad=True)
    b = fastloss.ctc_loss(x, concat, il, tl, blank=3, from_logits=True, return_grad=True)
    r = ctc_loss_reference(x, tg, il, tl, blank=3, from_logits=True, return_grad=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[0], r[0], rtol=1e-12)
    np.testing.assert_allclose(a[1], r[1], rtol=1e-10, atol=1e-13)
    one = fastloss.ctc_loss(x[:, 1], tg[1, : tl[1]], il[1], tl[1], blank=3, reduction="none",
                            from_logits=True)
    assert one.shape == ()
    np.testing.assert_allclose(one, fastloss.ctc_loss(x, tg, il, tl, blank=3, reduction="none",
                                                      from_logits=True)[1], rtol=1e-14)


# --------------------------------------------------------------- analytic


def test_analytic_cases(rng):
    T, C = 5, 6
    lp = log_softmax(rng.standard_normal((T, 1, C)))
    y = np.array([[1, 2, 3, 4, 5]])
    # T == L, no repeats: exactly one path
    loss, grad = fastloss.ctc_loss(lp, y, [5], [5], reduction="sum", return_grad=True)
    np.testing.assert_allclose(loss, -sum(lp[t, 0, y[0, t]] for t in range(T)), rtol=1e-14)
    expect = np.zeros_like(lp)
    expect[np.arange(T), 0, y[0]] = -1.0
    np.testing.assert_allclose(grad, expect, atol=1e-14)
    # empty target: the all-blank path
    np.testing.assert_allclose(fastloss.ctc_loss(lp, y, [5], [0], reduction="sum"), -lp[:, 0, 0].sum(), rtol=1e-14)
    # impossible: repeats need a blank between them; input shorter than target
    for tgt, L, Tn in (([[1, 1, 2, 3, 4]], 5, 5), ([[1, 2, 3, 4, 5]], 5, 4), ([[1, 1, 1, 1, 1]], 3, 4)):
        lo, g = fastloss.ctc_loss(lp, np.array(tgt), [Tn], [L], reduction="none", return_grad=True)
        assert np.isinf(lo[0]) and np.all(g == 0)
        lo, g = fastloss.ctc_loss(lp, np.array(tgt), [Tn], [L], zero_infinity=True, return_grad=True)
        assert lo == 0 and np.all(g == 0)
    # input length 0: loss 0 for an empty target, inf otherwise (as torch)
    assert fastloss.ctc_loss(lp, y, [0], [0], reduction="sum") == 0
    assert np.isinf(fastloss.ctc_loss(lp, y, [0], [1], reduction="sum"))
    # 'mean' divides by target length clamped to 1
    lp2 = log_softmax(rng.standard_normal((6, 2, C)))
    per = fastloss.ctc_loss(lp2, np.array([[1, 2], [3, 3]]), [6, 6], [0, 2], reduction="none")
    np.testing.assert_allclose(fastloss.ctc_loss(lp2, np.array([[1, 2], [3, 3]]), [6, 6], [0, 2]),
                               (per[0] / 1 + per[1] / 2) / 2, rtol=1e-14)
    assert np.isnan(fastloss.ctc_loss(np.zeros((4, 0, 3)), np.zeros((0, 2), int), [], []))


# --------------------------------------------------------------- extreme inputs


def test_extreme_inputs_finite_no_nan(rng):
    T, N, C, L = 2000, 2, 8, 300
    x = rng.standard_normal((T, N, C)) * 30.0
    tg = rng.integers(1, C, (N, L))
    for lp in (log_softmax(x), np.where(rng.random((T, N, C)) < 0.5, -1e4, 0.0)):
        loss, grad = fastloss.ctc_loss(lp, tg, [T, T - 7], [L, L - 3], reduction="none", return_grad=True)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        # occupancy sums to one per frame (true gradient of -log Z w.r.t. each frame)
        np.testing.assert_allclose(grad[: T - 7].sum(-1), -1.0, atol=1e-9)
    lp = log_softmax(x).astype(np.float32)
    loss32 = fastloss.ctc_loss(lp, tg, [T, T], [L, L], reduction="none")
    loss64 = fastloss.ctc_loss(lp.astype(np.float64), tg, [T, T], [L, L], reduction="none")
    np.testing.assert_allclose(loss32, loss64, rtol=1e-6)
    # -1e4 log-probs with a forced single path: exact value
    lp = np.full((4, 1, 3), -1e4)
    lp[[0, 1, 2, 3], 0, [1, 0, 2, 0]] = -1.0
    np.testing.assert_allclose(fastloss.ctc_loss(lp, np.array([[1, 2]]), [4], [2], reduction="sum"), 4.0, rtol=1e-15)
    # NaN propagates to the loss and the gradient rows of that sample
    lp = log_softmax(rng.standard_normal((5, 2, 3)))
    lp[2, 1, 0] = np.nan
    loss, grad = fastloss.ctc_loss(lp, np.array([[1], [2]]), [5, 5], [1, 1], reduction="none", return_grad=True)
    assert np.isfinite(loss[0]) and np.isnan(loss[1]) and np.isnan(grad[:, 1]).all() and np.isfinite(grad[:, 0]).all()


# --------------------------------------------------------------- finite differences


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_finite_differences(rng, reduction, from_logits):
    x, tg, il, tl = batch(rng, 7, 3, 4, 3, normalised=False, min_t=6)
    loss, grad = fastloss.ctc_loss(x, tg, il, tl, reduction=reduction, from_logits=from_logits, return_grad=True)

    def f(z):
        return np.sum(fastloss.ctc_loss(z, tg, il, tl, reduction=reduction, from_logits=from_logits))

    h = 1e-6
    fd = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        zp, zm = x.copy(), x.copy()
        zp[i] += h
        zm[i] -= h
        fd[i] = (f(zp) - f(zm)) / (2 * h)
    np.testing.assert_allclose(grad, fd, atol=1e-7)


# --------------------------------------------------------------- torch


torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant", ["padded", "concat", "blank2_batch_first", "zero_inf"])
def test_torch_values_and_chained_gradients(rng, reduction, dtype, variant):
    T, N, C, S = 16, 5, 6, 6
    x = rng.standard_normal((T, N, C)).astype(dtype)
    blank = 2 if variant.startswith("blank2") else 0
    tg = rng.choice([c for c in range(C) if c != blank], size=(N, S))
    il = rng.integers(1, T + 1, N)
    tl = rng.integers(0, S + 1, N)
    if variant == "zero_inf":
        il[0], tl[0] = 2, 5  # impossible sample
    tgt = tg if variant != "concat" else np.concatenate([tg[n, : tl[n]] for n in range(N)])
    zi = variant == "zero_inf"
    bf = variant.endswith("batch_first")
    xt = torch.tensor(x, requires_grad=True)
    ref = F.ctc_loss(xt.log_softmax(-1), torch.tensor(tgt), torch.tensor(il), torch.tensor(tl),
                     blank=blank, reduction=reduction, zero_infinity=zi)
    ref.sum().backward()
    lp = xt.detach().log_softmax(-1).numpy()
    if bf:
        lp = lp.transpose(1, 0, 2).copy()
    loss, g = fastloss.ctc_loss(lp, tgt, il, tl, blank=blank, reduction=reduction, zero_infinity=zi,
                                batch_first=bf, return_grad=True)
    if bf:
        g = g.transpose(1, 0, 2)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=rtol, atol=rtol)
    # chain ours through log_softmax: dx = g - softmax * sum_c g
    sm = np.exp(xt.detach().log_softmax(-1).numpy().astype(np.float64))
    dx = g - sm * g.sum(-1, keepdims=True)
    refg = xt.grad.numpy()
    finite = np.isfinite(refg).all(axis=(0, 2))  # torch gives NaN for infinite samples without zero_infinity
    np.testing.assert_allclose(dx[:, finite], refg[:, finite], rtol=10 * rtol, atol=10 * rtol)


def test_torch_peaky_long(rng):
    T, N, C, L = 2000, 2, 10, 300
    x = rng.standard_normal((T, N, C)) * 30.0
    tg = rng.integers(1, C, (N, L))
    lp = torch.tensor(x).log_softmax(-1)
    ref = F.ctc_loss(lp, torch.tensor(tg), torch.tensor([T, T]), torch.tensor([L, L]), reduction="none")
    got = fastloss.ctc_loss(lp.numpy(), tg, [T, T], [L, L], reduction="none")
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-10)


@pytest.mark.parametrize("scale", [1.0, 3.0, 30.0])
def test_torch_long_gradients_every_path(rng, scale):
    # scale 1: the scaled probability-space path (long enough for values to
    # fall below its flush threshold, within its error bound); scales 3 and
    # 30 (peaky): the scaled path declines, the extended-range path runs.
    # Loss (with and without the gradient pass) and gradients vs torch, ours
    # chained through log_softmax.
    T, N, C, L = 1500, 3, 10, 250
    x = rng.standard_normal((T, N, C)) * scale
    tg = rng.integers(1, C, (N, L))
    il = np.array([T, T - 11, T])
    tl = np.array([L, L - 5, L])
    xt = torch.tensor(x, requires_grad=True)
    ref = F.ctc_loss(xt.log_softmax(-1), torch.tensor(tg), torch.tensor(il), torch.tensor(tl), reduction="none")
    ref.sum().backward()
    lp = xt.detach().log_softmax(-1).numpy()
    loss, g = fastloss.ctc_loss(lp, tg, il, tl, reduction="none", return_grad=True)
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(fastloss.ctc_loss(lp, tg, il, tl, reduction="none"), loss, rtol=1e-12)
    dx = g - np.exp(lp) * g.sum(-1, keepdims=True)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-8, atol=1e-9)


# --------------------------------------------------------------- errors


def test_bad_inputs_raise_naming_the_sample(rng):
    lp = log_softmax(rng.standard_normal((5, 2, 4)))
    tg = np.array([[1, 2], [3, 1]])
    good = dict(targets=tg, input_lengths=[5, 5], target_lengths=[2, 2])
    bad = [
        (dict(input_lengths=[5, -1]), "sample 1"),
        (dict(input_lengths=[6, 5]), "sample 0"),
        (dict(target_lengths=[2, 3]), "sample 1"),
        (dict(target_lengths=[-2, 2]), "sample 0"),
        (dict(targets=np.array([[1, 4], [1, 1]])), "sample 0"),
        (dict(targets=np.array([[1, 2], [0, 1]])), "sample 1"),
        (dict(targets=np.array([[1, 2], [-1, 1]])), "sample 1"),
        (dict(input_lengths=[5, 5, 5]), "input_lengths"),
        (dict(target_lengths=[2]), "target_lengths"),
        (dict(targets=np.array([[1.5, 2], [1, 1]])), "targets"),
        (dict(targets=np.array([[np.nan, 2], [1, 1]])), "targets"),
        (dict(targets=np.array([1, 2, 3])), "sum"),
    ]
    for change, words in bad:
        kw = {**good, **change}
        with pytest.raises(ValueError, match=words):
            fastloss.ctc_loss(lp, kw["targets"], kw["input_lengths"], kw["target_lengths"])
    with pytest.raises(ValueError, match="blank"):
        fastloss.ctc_loss(lp, tg, [5, 5], [2, 2], blank=4)
    # floating-point lengths are refused, as torch ("must be integral"; issue 12)
    for il, tl in (([np.nan, 5], [2, 2]), (np.array([5.0, 5.0]), [2, 2]), ([5, 5], np.array([True, True]))):
        with pytest.raises(TypeError, match="lengths must be integral"):
            fastloss.ctc_loss(lp, tg, il, tl)
    # (N, 1) length arrays are accepted, as torch
    np.testing.assert_equal(fastloss.ctc_loss(lp, tg, np.array([[5], [5]]), np.array([[2], [2]])),
                            fastloss.ctc_loss(lp, tg, [5, 5], [2, 2]))
    with pytest.raises(ValueError, match="shape"):
        fastloss.ctc_loss(lp[0, 0], tg, [5, 5], [2, 2])
    with pytest.raises(ValueError, match="reduction"):
        fastloss.ctc_loss(lp, tg, [5, 5], [2, 2], reduction="avg")
    with pytest.raises(TypeError):
        fastloss.ctc_loss(lp, np.array([["a", "b"], ["c", "d"]]), [5, 5], [2, 2])
    with pytest.raises(ValueError, match="grad_out"):
        fastloss.ctc_loss(lp, tg, [5, 5], [2, 2], return_grad=True, grad_out=np.empty((5, 2, 3)))


# --------------------------------------------------------------- contracts


def test_threads_bitwise_equal_inputs_untouched_grad_out(rng):
    numba = pytest.importorskip("numba")
    lp, tg, il, tl = batch(rng, 40, 7, 9, 8, dtype=np.float32)
    before = lp.copy()
    res = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            res.append(fastloss.ctc_loss(lp, tg, il, tl, reduction="none", return_grad=True))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert res[0][0].tobytes() == res[1][0].tobytes() and res[0][1].tobytes() == res[1][1].tobytes()
    assert np.array_equal(lp, before)
    buf = np.full_like(lp, 7.0)
    _, g = fastloss.ctc_loss(lp, tg, il, tl, reduction="none", return_grad=True, grad_out=buf)
    assert g is buf and np.array_equal(buf, res[0][1])


def test_streaming_matches_one_shot(rng):
    lp, tg, il, tl = batch(rng, 12, 6, 5, 4, min_t=9)
    acc = fastloss.LossAccumulator(fastloss.ctc_loss)
    acc.update(lp[:, :2], tg[:2], il[:2], tl[:2])
    acc.update(lp[:, 2:], tg[2:], il[2:], tl[2:])
    np.testing.assert_allclose(acc.result(), fastloss.ctc_loss(lp, tg, il, tl), rtol=1e-13)


def test_log_likelihoods_for_rescoring(rng):
    lp, _, il, _ = batch(rng, 12, 3, 5, 4, min_t=4)
    cands = [[1, 2], [3], [], [4, 4, 1], [2, 2, 2, 2, 2, 2, 2]]
    rows = np.array([0, 0, 1, 2, 1])
    tl = np.array([len(c) for c in cands])
    flat = np.array([c for cand in cands for c in cand], dtype=np.int64)
    got = _ctc_log_likelihoods(lp, flat, tl, il, rows, blank=0)
    for k, (cand, n) in enumerate(zip(cands, rows)):
        ref = -fastloss.ctc_loss(lp[:, n], np.array(cand, dtype=np.int64), il[n], len(cand), reduction="sum")
        assert got[k] == ref or (np.isinf(ref) and got[k] == -np.inf)
