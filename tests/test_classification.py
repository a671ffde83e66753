"""Classification losses against their twins, PyTorch, scikit-learn, finite
differences and analytic identities; bad input; thread-count independence."""
import math
import pickle

import numpy as np
import pytest

import fastloss
from inputs import EXTREME_LOGITS, FLOAT_DTYPES, LAYOUTS, layout, tol
from reference import REFERENCES

REDUCTIONS = ("mean", "sum", "none")


def check(got, want, dtype, rtol=None):
    r, a = tol(dtype)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=rtol or r, atol=a)


def logits(rng, shape, dtype=np.float64, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def probs(rng, shape, dtype=np.float64):
    return rng.uniform(0.02, 0.98, shape).astype(dtype)


# name -> (make inputs (rng, dtype) -> (args, options)) for every public function
def _cases():
    def bce(rng, dt, n=9, c=7):
        return (probs(rng, (n, c), dt), rng.uniform(0, 1, (n, c)).astype(dt)), {"weight": rng.uniform(0.5, 2, (c,))}

    def bcel(rng, dt, n=9, c=7):
        return (logits(rng, (n, c), dt), rng.uniform(0, 1, (n, c)).astype(dt)), {
            "weight": rng.uniform(0.5, 2, (n, 1)), "pos_weight": rng.uniform(0.5, 3, (c,))}

    def focal(rng, dt, n=9, c=7):
        return (logits(rng, (n, c), dt), (rng.uniform(size=(n, c)) < 0.3).astype(dt)), {"alpha": 0.3, "gamma": 1.5}

    def kl(rng, dt, n=9, c=7):
        return (np.log(probs(rng, (n, c), dt)), probs(rng, (n, c), dt)), {}

    def ce(rng, dt, n=9, c=7):
        return (logits(rng, (n, c), dt), rng.integers(0, c, n)), {
            "weight": rng.uniform(0.5, 2, c), "label_smoothing": 0.15, "ignore_index": 3}

    def nll(rng, dt, n=9, c=7):
        return (np.log(probs(rng, (n, c), dt)), rng.integers(0, c, n)), {"weight": rng.uniform(0.5, 2, c), "ignore_index": 1}

    def sfocal(rng, dt, n=9, c=7):
        return (logits(rng, (n, c), dt), rng.integers(0, c, n)), {"alpha": rng.uniform(0.5, 2, c), "gamma": 2.5, "ignore_index": 0}

    return {
        "binary_cross_entropy": bce,
        "binary_cross_entropy_with_logits": bcel,
        "sigmoid_focal_loss": focal,
        "kl_div": kl,
        "cross_entropy": ce,
        "nll_loss": nll,
        "softmax_focal_loss": sfocal,
    }


CASES = _cases()
NAMES = list(CASES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_twin(name, dtype, reduction, rng):
    args, opts = CASES[name](rng, dtype)
    got = getattr(fastloss, name)(*args, reduction=reduction, **opts)
    want = REFERENCES[name](*args, reduction=reduction, **opts)
    if reduction == "none":
        assert isinstance(got, np.ndarray) and got.dtype == dtype
        assert got.shape == np.shape(want)
    else:
        assert isinstance(got, np.generic) and got.dtype == dtype
    check(got, want, dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradient_finite_differences(name, reduction, rng):
    args, opts = CASES[name](rng, np.float64, 4, 3)
    fn = getattr(fastloss, name)
    x = args[0]
    _, grad = fn(*args, reduction=reduction, return_grad=True, **opts)
    assert grad.shape == x.shape and grad.dtype == x.dtype
    total = (lambda v: np.sum(v)) if reduction == "none" else (lambda v: float(v))
    h = 1e-6
    num = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        num[i] = (total(fn(xp, *args[1:], reduction=reduction, **opts)) - total(fn(xm, *args[1:], reduction=reduction, **opts))) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


def test_kl_batchmean_and_log_target(rng):
    x = np.log(probs(rng, (5, 4)))
    t = probs(rng, (5, 4))
    for lt in (False, True):
        tt = np.log(t) if lt else t
        loss, g = fastloss.kl_div(x, tt, reduction="batchmean", log_target=lt, return_grad=True)
        check(loss, REFERENCES["kl_div"](x, tt, reduction="batchmean", log_target=lt), np.float64)
        check(g, -t / 5, np.float64)
    # 0-d input: batchmean is the sum (as PyTorch)
    check(fastloss.kl_div(np.float64(0.3), np.float64(0.2), reduction="batchmean"), 0.2 * np.log(0.2) - 0.06, np.float64)


# -- cross-entropy specifics ------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 3), (2, 5, 3, 2), (5,)])
@pytest.mark.parametrize("soft", [False, True])
def test_cross_entropy_layouts_and_kdim_vs_twin(dtype, shape, soft, rng):
    x = logits(rng, shape, dtype)
    C = shape[1] if len(shape) > 1 else shape[0]
    if soft:
        t = rng.dirichlet(np.ones(C), size=int(np.prod(shape)) // C).reshape(np.moveaxis(x, min(1, x.ndim - 1), -1).shape)
        t = np.moveaxis(t, -1, min(1, x.ndim - 1)).astype(dtype)
    else:
        t = rng.integers(0, C, (shape[0],) + shape[2:] if len(shape) > 1 else ())
    w = rng.uniform(0.5, 2, C)
    for kind in LAYOUTS:
        for ls in (0.0, 0.2):
            for reduction in REDUCTIONS:
                got, g = fastloss.cross_entropy(layout(x, kind), t, weight=w, label_smoothing=ls, reduction=reduction, return_grad=True)
                want = REFERENCES["cross_entropy"](x, t, weight=w, label_smoothing=ls, reduction=reduction)
                check(got, want, dtype)
                assert g.shape == x.shape and g.dtype == dtype


def _torch_pair(fn_t, x, *targs, reduction):
    torch = pytest.importorskip("torch")
    tx = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)
    tl = fn_t(tx, *targs, reduction=reduction)
    tl.sum().backward()
    return tl.detach().numpy(), tx.grad.numpy()


def _assert_torch(got, want, dtype):
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=rtol, atol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(8, 6), (3, 6, 4), (6,)])
def test_cross_entropy_and_nll_against_torch(dtype, reduction, shape, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = logits(rng, shape, dtype)
    C = shape[1] if len(shape) > 1 else shape[0]
    t = rng.integers(0, C, (shape[0],) + shape[2:] if len(shape) > 1 else ())
    if t.ndim:
        t.flat[0] = 2  # make sure ignore_index=2 hits something
    w = rng.uniform(0.5, 2, C).astype(dtype)
    tt, tw = torch.from_numpy(np.asarray(t, np.int64)), torch.from_numpy(w)
    for opts in ({}, {"weight": w}, {"ignore_index": 2}, {"weight": w, "ignore_index": 2, "label_smoothing": 0.3}, {"label_smoothing": 0.1}):
        topts = {k: (tw if k == "weight" else v) for k, v in opts.items()}
        want, wgrad = _torch_pair(lambda a, b, reduction: F.cross_entropy(a, b, reduction=reduction, **topts), x, tt, reduction=reduction)
        got, grad = fastloss.cross_entropy(x, t, reduction=reduction, return_grad=True, **opts)
        _assert_torch(got, want, dtype)
        _assert_torch(grad, wgrad, dtype)
        nopts = {k: v for k, v in opts.items() if k != "label_smoothing"}
        ntopts = {k: v for k, v in topts.items() if k != "label_smoothing"}
        lp = np.asarray(torch.log_softmax(torch.from_numpy(x), dim=0 if x.ndim == 1 else 1).numpy())
        want, wgrad = _torch_pair(lambda a, b, reduction: F.nll_loss(a, b, reduction=reduction, **ntopts), lp, tt, reduction=reduction)
        got, grad = fastloss.nll_loss(lp, t, reduction=reduction, return_grad=True, **nopts)
        _assert_torch(got, want, dtype)
        _assert_torch(grad, wgrad, dtype)
    # probability targets (weights, smoothing)
    p = torch.softmax(torch.randn(x.shape, dtype=torch.float64), dim=0 if x.ndim == 1 else 1).numpy().astype(dtype)
    for opts in ({}, {"weight": w, "label_smoothing": 0.25}):
        topts = {k: (tw if k == "weight" else v) for k, v in opts.items()}
        want, wgrad = _torch_pair(lambda a, b, reduction: F.cross_entropy(a, b, reduction=reduction, **topts), x, torch.from_numpy(p), reduction=reduction)
        got, grad = fastloss.cross_entropy(x, p, reduction=reduction, return_grad=True, **opts)
        _assert_torch(got, want, dtype)
        _assert_torch(grad, wgrad, dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_and_kl_against_torch(dtype, reduction, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = logits(rng, (6, 5), dtype)
    t = rng.uniform(0, 1, (6, 5)).astype(dtype)
    w = rng.uniform(0.5, 2, (6, 1)).astype(dtype)
    pw = rng.uniform(0.5, 3, (5,)).astype(dtype)
    T = torch.from_numpy
    want, wg = _torch_pair(lambda a, b, reduction: F.binary_cross_entropy_with_logits(a, b, weight=T(w), pos_weight=T(pw), reduction=reduction), x, T(t), reduction=reduction)
    got, g = fastloss.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw, reduction=reduction, return_grad=True)
    _assert_torch(got, want, dtype)
    _assert_torch(g, wg, dtype)
    p = probs(rng, (6, 5), dtype)
    want, wg = _torch_pair(lambda a, b, reduction: F.binary_cross_entropy(a, b, weight=T(w), reduction=reduction), p, T(t), reduction=reduction)
    got, g = fastloss.binary_cross_entropy(p, t, weight=w, reduction=reduction, return_grad=True)
    _assert_torch(got, want, dtype)
    _assert_torch(g, wg, dtype)
    lq = np.log(probs(rng, (6, 5), dtype))
    for red in (reduction, "batchmean"):
        for lt, tgt in ((False, p), (True, np.log(p))):
            want, wg = _torch_pair(lambda a, b, reduction: F.kl_div(a, b, reduction=reduction, log_target=lt), lq, T(tgt), reduction=red)
            got, g = fastloss.kl_div(lq, tgt, reduction=red, log_target=lt, return_grad=True)
            _assert_torch(got, want, dtype)
            _assert_torch(g, wg, dtype)


def test_sigmoid_focal_against_torchvision_formula(rng):
    # torchvision is not installed here: its formula, written in torch ops, float64.
    torch = pytest.importorskip("torch")
    x = logits(rng, (40,))
    t = (rng.uniform(size=40) < 0.4).astype(np.float64)
    for alpha, gamma in ((0.25, 2.0), (-1.0, 0.5), (0.7, 0.0), (0.5, 3.3)):
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        tt = torch.from_numpy(t)
        p = torch.sigmoid(tx)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(tx, tt, reduction="none")
        p_t = p * tt + (1 - p) * (1 - tt)
        loss = ce * ((1 - p_t) ** gamma)
        if alpha >= 0:
            loss = (alpha * tt + (1 - alpha) * (1 - tt)) * loss
        loss.mean().backward()
        got, g = fastloss.sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction="mean", return_grad=True)
        np.testing.assert_allclose(got, loss.mean().item(), rtol=1e-12)
        np.testing.assert_allclose(g, tx.grad.numpy(), rtol=1e-9, atol=1e-15)
    assert fastloss.sigmoid_focal_loss(x, t).shape == x.shape  # default reduction "none"


def test_against_sklearn_log_loss(rng):
    metrics = pytest.importorskip("sklearn.metrics")
    p = probs(rng, (200,))
    y = (rng.uniform(size=200) < 0.5).astype(np.float64)
    np.testing.assert_allclose(fastloss.binary_cross_entropy(p, y), metrics.log_loss(y, p), rtol=1e-13)
    z = logits(rng, (100, 4))
    lab = rng.integers(0, 4, 100)
    sm = np.exp(z - z.max(1, keepdims=True))
    sm /= sm.sum(1, keepdims=True)
    np.testing.assert_allclose(fastloss.cross_entropy(z, lab), metrics.log_loss(lab, sm, labels=range(4)), rtol=1e-12)


# -- identities -------------------------------------------------------------------


def test_identities(rng):
    x = logits(rng, (50, 6))
    t = (rng.uniform(size=(50, 6)) < 0.5).astype(np.float64)
    for red in REDUCTIONS:
        a = fastloss.sigmoid_focal_loss(x, t, alpha=-1.0, gamma=0.0, reduction=red, return_grad=True)
        b = fastloss.binary_cross_entropy_with_logits(x, t, reduction=red, return_grad=True)
        check(a[0], b[0], np.float64)
        check(a[1], b[1], np.float64)
    lab = rng.integers(0, 6, 50)
    w = rng.uniform(0.5, 2, 6)
    for red in REDUCTIONS:
        a = fastloss.cross_entropy(x, lab, weight=w, label_smoothing=0.0, reduction=red, return_grad=True)
        b = fastloss.cross_entropy(x, lab, weight=w, reduction=red, return_grad=True)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        # soft one-hot == index targets (unweighted 'mean' divides by N in both)
        onehot = np.eye(6)[lab]
        c = fastloss.cross_entropy(x, onehot, reduction=red, return_grad=True)
        d = fastloss.cross_entropy(x, lab, reduction=red, return_grad=True)
        check(c[0], d[0], np.float64)
        check(c[1], d[1], np.float64)
        # focal gamma=0 == cross-entropy with weight=alpha
        e = fastloss.softmax_focal_loss(x, lab, gamma=0.0, alpha=w, reduction=red, return_grad=True)
        f = fastloss.cross_entropy(x, lab, weight=w, reduction=red, return_grad=True)
        check(e[0], f[0], np.float64)
        check(e[1], f[1], np.float64)
        # cross_entropy == nll_loss of log_softmax (gradients differ by the softmax chain)
        lp = x - np.log(np.exp(x).sum(1, keepdims=True))
        check(fastloss.nll_loss(lp, lab, weight=w, reduction=red), f[0], np.float64)
    # soft targets with smoothing == smoothed soft targets without
    p = rng.dirichlet(np.ones(6), 50)
    check(fastloss.cross_entropy(x, p, label_smoothing=0.3), fastloss.cross_entropy(x, 0.7 * p + 0.3 / 6), np.float64)


def test_extreme_logits_finite():
    x = EXTREME_LOGITS
    for t in (np.zeros_like(x), np.ones_like(x), np.full_like(x, 0.5)):
        for fn in (fastloss.binary_cross_entropy_with_logits, fastloss.sigmoid_focal_loss):
            loss, g = fn(x, t, reduction="none", return_grad=True)
            assert np.all(np.isfinite(loss)) and np.all(np.isfinite(g)), fn.__name__
            check(loss, REFERENCES[fn.__name__](x, t, reduction="none"), np.float64)
        _, g = fastloss.sigmoid_focal_loss(x, t, gamma=0.5, reduction="none", return_grad=True)
        assert np.all(np.isfinite(g))
    X = np.stack([EXTREME_LOGITS, EXTREME_LOGITS[::-1], np.full(9, 1e4)])
    for lab in (np.array([0, 0, 3]), np.array([8, 4, 0])):
        for fn in (fastloss.cross_entropy, fastloss.softmax_focal_loss):
            loss, g = fn(X, lab, reduction="none", return_grad=True)
            assert np.all(np.isfinite(loss)) and np.all(np.isfinite(g))
            check(loss, REFERENCES[fn.__name__](X, lab, reduction="none"), np.float64)
    loss, g = fastloss.binary_cross_entropy(np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0]), reduction="none", return_grad=True)
    np.testing.assert_array_equal(loss, [0, 0, 100, 100])
    np.testing.assert_array_equal(g, [1, -1, 0, 0])  # true derivative of the clamped loss


def test_tiny_values_accuracy():
    # log1p-accurate paths: tiny losses keep full relative accuracy.
    x = np.array([-40.0, -30.0, -1e-3, 40.0])
    t = np.array([0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(
        fastloss.binary_cross_entropy_with_logits(x, t, reduction="none"),
        REFERENCES["binary_cross_entropy_with_logits"](x, t, reduction="none"), rtol=1e-14, atol=0)
    p = np.array([1e-12, 1e-300, 0.3])
    np.testing.assert_allclose(fastloss.binary_cross_entropy(p, np.zeros(3), reduction="none"), -np.log1p(-p), rtol=1e-15, atol=0)


def test_ignore_index_all_ignored_and_empty(rng):
    x = logits(rng, (3, 4))
    lab = np.full(3, -100)
    loss, g = fastloss.cross_entropy(x, lab, return_grad=True)
    assert math.isnan(loss) and np.all(g == 0)  # PyTorch: nan loss, zero gradient
    assert fastloss.cross_entropy(x, lab, reduction="sum") == 0.0
    assert math.isnan(fastloss.nll_loss(x, lab))
    assert math.isnan(fastloss.cross_entropy(np.zeros((0, 4)), np.zeros(0, np.int64)))
    assert fastloss.cross_entropy(np.zeros((0, 4)), np.zeros(0, np.int64), reduction="sum") == 0.0
    assert fastloss.cross_entropy(np.zeros((0, 4)), np.zeros(0, np.int64), reduction="none").shape == (0,)
    # ignore_index that is a valid class ignores that class
    lab = np.array([0, 2, 3])
    check(fastloss.cross_entropy(x, lab, ignore_index=2), REFERENCES["cross_entropy"](x, lab, ignore_index=2), np.float64)
    # unbatched: (C,) with a 0-d target, 'none' gives a 0-d array
    out = fastloss.cross_entropy(x[0], np.int64(1), reduction="none")
    assert out.shape == () and np.isclose(out, REFERENCES["cross_entropy"](x[:1], np.array([1])))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_grad_out_in_place(dtype, rng):
    x = logits(rng, (20, 11), dtype)
    lab = rng.integers(0, 11, 20)
    lab[3] = -100
    w = rng.uniform(0.5, 2, 11)
    for fn, opts in ((fastloss.cross_entropy, {"weight": w, "label_smoothing": 0.1}), (fastloss.cross_entropy, {}),
                     (fastloss.nll_loss, {"weight": w}), (fastloss.softmax_focal_loss, {"alpha": w})):
        want_l, want_g = fn(x, lab, return_grad=True, **opts)
        buf = x.copy()
        got_l, got_g = fn(buf, lab, return_grad=True, grad_out=buf, **opts)
        assert got_g is buf
        # Same arithmetic; only the vectorised/scalar split of the row sum may
        # differ when the output aliases the input (LLVM's runtime alias check):
        # in float64 a different summation order, in float32 also the float32
        # partial sums of the exp terms (EXP_BLOCK), i.e. float32 rounding.
        tol = 1e-13 if dtype == np.float64 else 2e-6
        np.testing.assert_allclose(got_l, want_l, rtol=tol / 10)
        np.testing.assert_allclose(got_g, want_g, rtol=tol, atol=1e-300 if dtype == np.float64 else 1e-12)
        out = np.full_like(x, 9)
        assert fn(x, lab, return_grad=True, grad_out=out, **opts)[1] is out
        np.testing.assert_array_equal(out, want_g)
    with pytest.raises(ValueError, match="grad_out"):
        fastloss.cross_entropy(x, lab, return_grad=True, grad_out=np.empty((11, 20), dtype))


def test_large_rows_multi_chunk(rng):
    # rows longer than a vector width and many rows; float32 vs float64 twin
    x = logits(rng, (300, 1031), np.float32, scale=5)
    lab = rng.integers(0, 1031, 300)
    check(fastloss.cross_entropy(x, lab), REFERENCES["cross_entropy"](x, lab), np.float32)
    x64 = x.astype(np.float64)
    loss, g = fastloss.cross_entropy(x64, lab, return_grad=True)
    check(loss, REFERENCES["cross_entropy"](x64, lab), np.float64)
    sm = np.exp(x64 - x64.max(1, keepdims=True))
    sm /= sm.sum(1, keepdims=True)
    sm[np.arange(300), lab] -= 1
    check(g, sm / 300, np.float64)
    xb = logits(rng, (3 * 16384 + 11,))
    tb = rng.uniform(size=xb.shape)
    check(fastloss.binary_cross_entropy_with_logits(xb, tb), REFERENCES["binary_cross_entropy_with_logits"](xb, tb), np.float64)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_elementwise_layouts(kind, rng):
    x = logits(rng, (7, 6))
    t = rng.uniform(size=(7, 6))
    pw = rng.uniform(0.5, 2, 6)
    for fn, a, opts in ((fastloss.binary_cross_entropy_with_logits, x, {"pos_weight": pw}),
                        (fastloss.sigmoid_focal_loss, x, {}),
                        (fastloss.binary_cross_entropy, probs(rng, (7, 6)), {}),
                        (fastloss.kl_div, x, {})):
        for reduction in REDUCTIONS:
            got = fn(layout(a, kind), layout(t, kind), reduction=reduction, return_grad=True, **opts)
            want = fn(a, t, reduction=reduction, return_grad=True, **opts)
            check(got[0], np.asarray(want[0], np.float64), np.float64)
            check(got[1], want[1], np.float64)


def test_inputs_not_modified(rng):
    arrays = {n: CASES[n](rng, np.float64) for n in NAMES}
    copies = {n: ([np.copy(a) for a in args], {k: np.copy(v) for k, v in opts.items() if isinstance(v, np.ndarray)}) for n, (args, opts) in arrays.items()}
    for n, (args, opts) in arrays.items():
        for red in REDUCTIONS:
            getattr(fastloss, n)(*args, reduction=red, return_grad=True, **opts)
    for n, (args, opts) in arrays.items():
        for a, c in zip(args, copies[n][0]):
            assert np.array_equal(a, c), n
        for k, v in copies[n][1].items():
            assert np.array_equal(opts[k], v), n


def test_thread_count_bitwise_equal(rng):
    import numba

    xb = logits(rng, (5 * 16384 + 3,), np.float32)
    tb = rng.uniform(size=xb.shape).astype(np.float32)
    x = logits(rng, (257, 301), np.float32)
    lab = rng.integers(0, 301, 257)
    calls = [
        lambda: fastloss.binary_cross_entropy_with_logits(xb, tb, return_grad=True),
        lambda: fastloss.sigmoid_focal_loss(xb, tb, reduction="sum", return_grad=True),
        lambda: fastloss.binary_cross_entropy(1 / (1 + np.exp(-xb)), tb, return_grad=True),
        lambda: fastloss.kl_div(xb, tb, return_grad=True),
        lambda: fastloss.cross_entropy(x, lab, label_smoothing=0.1, return_grad=True),
        lambda: fastloss.softmax_focal_loss(x, lab, return_grad=True),
        lambda: fastloss.nll_loss(x, lab, return_grad=True),
    ]
    results = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            results.append([c() for c in calls])
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for (l1, g1), (l2, g2) in zip(*results):
        assert l1.tobytes() == l2.tobytes()
        assert g1.tobytes() == g2.tobytes()


def test_nan_propagates():
    x = np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0]])
    out = fastloss.cross_entropy(x, np.array([0, 1]), reduction="none")
    assert np.isnan(out[0]) and np.isfinite(out[1])
    out = fastloss.binary_cross_entropy_with_logits(np.array([np.nan, 1.0]), np.array([1.0, 0.0]), reduction="none")
    assert np.isnan(out[0]) and np.isfinite(out[1])
    out = fastloss.sigmoid_focal_loss(np.array([np.nan, 1.0]), np.array([1.0, 0.0]))
    assert np.isnan(out[0]) and np.isfinite(out[1])


# -- streaming --------------------------------------------------------------------


def test_streaming_equals_one_shot(rng):
    x = logits(rng, (300, 7))
    lab = rng.integers(0, 7, 300)
    lab[::13] = -100
    w = rng.uniform(0.5, 2, 7)
    t = rng.uniform(size=(300, 7))
    cuts = [0, 1, 100, 101, 250, 300]
    streams = [
        (fastloss.cross_entropy, (x, lab), {"weight": w, "label_smoothing": 0.2}),
        (fastloss.cross_entropy, (x, rng.dirichlet(np.ones(7), 300)), {"weight": w}),
        (fastloss.nll_loss, (x, lab), {"weight": w}),
        (fastloss.softmax_focal_loss, (x, lab), {"alpha": w, "gamma": 1.5}),
        (fastloss.binary_cross_entropy_with_logits, (x, t), {"pos_weight": w}),
        (fastloss.binary_cross_entropy, (1 / (1 + np.exp(-x)), t), {}),
        (fastloss.sigmoid_focal_loss, (x, t), {"alpha": 0.4}),
        (fastloss.kl_div, (x, t), {}),
    ]
    for fn, arrays, opts in streams:
        a = fastloss.LossAccumulator(fn, **opts)
        b = fastloss.LossAccumulator(fn, **opts)
        for k, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
            (a if k % 2 else b).update(*(arr[lo:hi] for arr in arrays))
        a.merge(pickle.loads(pickle.dumps(b)))
        np.testing.assert_allclose(a.result(), fn(*arrays, reduction="mean", **opts), rtol=1e-12, err_msg=fn.__name__)
        np.testing.assert_allclose(a.result("sum"), fn(*arrays, reduction="sum", **opts), rtol=1e-12, err_msg=fn.__name__)


# -- bad input --------------------------------------------------------------------

Z = np.zeros((3, 4))
L = np.array([0, 1, 2])
BAD_CALLS = [
    (lambda: fastloss.cross_entropy(Z, np.array([0, 4, 9])), ValueError, r"\[0, 4\).*4 at position \(1,\)"),
    (lambda: fastloss.cross_entropy(Z, np.array([0, -1, 2])), ValueError, r"position \(1,\)"),
    (lambda: fastloss.nll_loss(np.zeros((2, 4, 3)), np.array([[0, 1, 2], [3, 0, 7]])), ValueError, r"7 at position \(1, 2\)"),
    (lambda: fastloss.softmax_focal_loss(Z, np.array([5, 0, 0])), ValueError, "position"),
    (lambda: fastloss.cross_entropy(Z, L, weight=np.ones(3)), ValueError, r"weight.*\(4,\)"),
    (lambda: fastloss.cross_entropy(Z, L, weight=np.ones((1, 4))), ValueError, "weight"),
    (lambda: fastloss.nll_loss(Z, L, weight=np.ones(5)), ValueError, "weight"),
    (lambda: fastloss.softmax_focal_loss(Z, L, alpha=np.ones(2)), ValueError, "alpha"),
    (lambda: fastloss.cross_entropy(Z, np.array([0, 1])), ValueError, r"shape \(3,\)"),
    (lambda: fastloss.cross_entropy(Z, np.zeros((3, 3))), ValueError, "probabilities"),
    (lambda: fastloss.cross_entropy(Z, np.array([0.0, 1.0, 2.0])), ValueError, "probabilities"),
    (lambda: fastloss.cross_entropy(Z, np.array(["a", "b", "c"])), TypeError, "target"),
    (lambda: fastloss.nll_loss(Z, np.array([0.0, 1.0, 2.0])), TypeError, "integer"),
    (lambda: fastloss.softmax_focal_loss(Z, np.zeros((3, 4))), TypeError, "integer"),
    (lambda: fastloss.cross_entropy(np.float64(1.0), np.int64(0)), ValueError, "dimension"),
    (lambda: fastloss.cross_entropy(np.zeros((3, 0)), L), ValueError, "class"),
    (lambda: fastloss.cross_entropy(Z, L, label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: fastloss.cross_entropy(Z, L, label_smoothing=float("nan")), ValueError, "label_smoothing"),
    (lambda: fastloss.cross_entropy(Z, L, ignore_index=1.5), TypeError, "ignore_index"),
    (lambda: fastloss.cross_entropy(Z, L, reduction="batchmean"), ValueError, "reduction"),
    (lambda: fastloss.cross_entropy(Z, L, return_grad="yes"), TypeError, "return_grad"),
    (lambda: fastloss.binary_cross_entropy(np.array([0.5, 1.5]), np.array([0.0, 1.0])), ValueError, r"input.*1.5 at position \(1,\)"),
    (lambda: fastloss.binary_cross_entropy(np.array([np.nan, 0.5]), np.array([0.0, 1.0])), ValueError, "input"),
    (lambda: fastloss.binary_cross_entropy(np.array([0.5, 0.5]), np.array([0.0, -1.0])), ValueError, "target"),
    (lambda: fastloss.binary_cross_entropy(np.array([0.5, 0.5]), np.array([0.0, 1.0, 1.0])), ValueError, "same shape"),
    (lambda: fastloss.binary_cross_entropy_with_logits(Z, Z, pos_weight=np.ones(3)), ValueError, "pos_weight"),
    (lambda: fastloss.binary_cross_entropy_with_logits(Z, Z, weight=np.ones(2)), ValueError, "weight"),
    (lambda: fastloss.binary_cross_entropy_with_logits(Z, Z.astype(complex)), TypeError, "complex"),
    (lambda: fastloss.sigmoid_focal_loss(Z, Z, gamma=-1.0), ValueError, "gamma"),
    (lambda: fastloss.sigmoid_focal_loss(Z, Z, gamma=float("nan")), ValueError, "gamma"),
    (lambda: fastloss.sigmoid_focal_loss(Z, Z, alpha=float("nan")), ValueError, "alpha"),
    (lambda: fastloss.sigmoid_focal_loss(Z, Z, alpha=1.5), ValueError, "alpha"),
    (lambda: fastloss.sigmoid_focal_loss(Z, Z, reduction="avg"), ValueError, "reduction"),
    (lambda: fastloss.softmax_focal_loss(Z, L, gamma=-0.5), ValueError, "gamma"),
    (lambda: fastloss.kl_div(Z, Z, reduction="batch"), ValueError, "reduction"),
    (lambda: fastloss.kl_div(Z, Z, log_target=1), TypeError, "log_target"),
    (lambda: fastloss.kl_div(Z, Z[:2]), ValueError, "same shape"),
]


@pytest.mark.parametrize("call,exc,match", BAD_CALLS)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        fastloss.cross_entropy(Z, L, None)
    with pytest.raises(TypeError):
        fastloss.sigmoid_focal_loss(Z, Z, 0.25)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [50, 10])  # 10: the row-blocked kernel for few classes (NARROW_C)
def test_cross_entropy_nan_and_inf_logits_as_torch(dtype, C):
    # float32 rows take a float32-exp path that flushes NaN terms to 0: the
    # NaN must still reach the loss and gradient; -inf logits stay legal.
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((4, C)).astype(dtype)
    x[0, 7] = np.nan
    x[1, 3] = -np.inf
    x[2, 5] = np.inf
    y = np.array([1, 2, 3, 4])
    loss, grad = fastloss.cross_entropy(x, y, reduction="none", return_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    want = torch.nn.functional.cross_entropy(xt, torch.from_numpy(y), reduction="none")
    want.sum().backward()
    np.testing.assert_allclose(loss, want.detach().numpy(), rtol=2e-6)
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(xt.grad.numpy()))
    ok = ~np.isnan(grad)
    np.testing.assert_allclose(grad[ok], xt.grad.numpy()[ok], rtol=2e-5, atol=1e-7)
