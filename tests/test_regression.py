"""Regression losses against their twins, PyTorch, scikit-learn and scipy."""
import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastloss
from inputs import FLOAT_DTYPES, LAYOUTS, layout, tol
from reference import REFERENCES

# (name, options) pairs covering every loss and its parameter edge cases.
LOSSES = [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 0.3}),
    ("smooth_l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.25}),
    ("smooth_l1_loss", {"beta": 0.0}),
    ("pseudo_huber_loss", {"delta": 2.0}),
    ("log_cosh_loss", {}),
    ("quantile_loss", {"quantile": 0.9}),
    ("quantile_loss", {"quantile": 0.1}),
]
NAMES = sorted({n for n, _ in LOSSES})
REDUCTIONS = ("mean", "sum", "none")


def data(rng, shape, dtype, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype), (rng.standard_normal(shape) * scale).astype(dtype)


def check(got, want, dtype):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name,opts", LOSSES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_twin(name, opts, dtype, reduction, rng):
    x, y = data(rng, (37, 53), dtype)  # several chunks worth of nothing, odd sizes
    got = getattr(fastloss, name)(x, y, reduction=reduction, **opts)
    want = REFERENCES[name](x, y, reduction=reduction, **opts)
    if reduction == "none":
        assert got.shape == x.shape and got.dtype == dtype
    else:
        assert isinstance(got, np.generic) and got.dtype == dtype
    check(got, want, dtype)


@pytest.mark.parametrize("name,opts", LOSSES)
def test_large_multichunk_float64(name, opts, rng):
    x, y = data(rng, (3 * 16384 + 17,), np.float64)
    w = rng.uniform(0, 2, x.shape)
    check(getattr(fastloss, name)(x, y, weight=w, **opts), REFERENCES[name](x, y, weight=w, **opts), np.float64)


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("name,opts", LOSSES[::2])
def test_layouts(kind, name, opts, rng):
    x, y = data(rng, (31, 41), np.float64)
    w = rng.uniform(0, 2, (41,))
    fn = getattr(fastloss, name)
    for reduction in REDUCTIONS:
        got = fn(layout(x, kind), layout(y, kind), weight=w, reduction=reduction, return_grad=True, **opts)
        want = fn(x, y, weight=w, reduction=reduction, return_grad=True, **opts)
        check(got[0], np.asarray(want[0], np.float64), np.float64)
        check(got[1], want[1], np.float64)


def test_buffered_path_spans_many_blocks(rng):
    # Non-contiguous input larger than the driver's block: exercises the
    # buffered nditer path across several blocks and output slices.
    from fastloss._core.driver import BLOCK

    x = rng.standard_normal((2 * BLOCK + 1000) * 2)[::2]
    y = rng.standard_normal(x.shape)
    loss, grad = fastloss.huber_loss(x, y, return_grad=True)
    check(loss, REFERENCES["huber_loss"](x, y), np.float64)
    d = x - y
    check(grad, np.clip(d, -1, 1) / d.size, np.float64)


def test_mixed_dtypes_and_integers(rng):
    x32 = rng.standard_normal(100).astype(np.float32)
    y64 = rng.standard_normal(100)
    out = fastloss.mse_loss(x32, y64)
    assert out.dtype == np.float32  # computed in the input's dtype
    xi = np.arange(10)
    assert fastloss.mse_loss(xi, xi[::-1]).dtype == np.float64
    x16 = x32.astype(np.float16)
    assert fastloss.l1_loss(x16, y64).dtype == np.float32
    # 0-d and empty
    assert fastloss.mse_loss(np.float64(3.0), np.float64(1.0)) == 4.0
    assert math.isnan(fastloss.mse_loss(np.zeros(0), np.zeros(0)))
    assert fastloss.mse_loss(np.zeros(0), np.zeros(0), reduction="sum") == 0.0
    assert fastloss.mse_loss(np.zeros((0, 3)), np.zeros((0, 3)), reduction="none").shape == (0, 3)


@pytest.mark.parametrize("name,opts", LOSSES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradient_finite_differences(name, opts, reduction, rng):
    x, y = data(rng, (4, 5), np.float64)
    w = rng.uniform(0.5, 1.5, (4, 5))
    fn = getattr(fastloss, name)
    _, grad = fn(x, y, weight=w, reduction=reduction, return_grad=True, **opts)
    total = (lambda v: np.sum(v)) if reduction == "none" else (lambda v: v)
    h = 1e-6
    num = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        num[i] = (total(fn(xp, y, weight=w, reduction=reduction, **opts)) - total(fn(xm, y, weight=w, reduction=reduction, **opts))) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_grad_out_buffer_and_dtype(dtype, rng):
    x, y = data(rng, (64, 3), dtype)
    buf = np.full(x.shape, 7, dtype=dtype)
    loss, g = fastloss.mse_loss(x, y, return_grad=True, grad_out=buf)
    assert g is buf and g.dtype == dtype
    np.testing.assert_allclose(g, 2 * (x.astype(np.float64) - y) / x.size, rtol=tol(dtype)[0])
    with pytest.raises(ValueError, match="grad_out"):
        fastloss.mse_loss(x, y, return_grad=True, grad_out=np.empty((3, 64), dtype))


def test_identities(rng):
    x, y = data(rng, (1000,), np.float64, scale=3)
    np.testing.assert_allclose(fastloss.huber_loss(x, y, delta=1e9), fastloss.mse_loss(x, y) / 2, rtol=1e-14)
    np.testing.assert_allclose(fastloss.quantile_loss(x, y, quantile=0.5), fastloss.l1_loss(x, y) / 2, rtol=1e-14)
    np.testing.assert_allclose(fastloss.smooth_l1_loss(x, y, beta=0.7), fastloss.huber_loss(x, y, delta=0.7) / 0.7, rtol=1e-14)
    assert fastloss.smooth_l1_loss(x, y, beta=0.0) == fastloss.l1_loss(x, y)
    # pseudo-Huber tends to Huber-like behaviour: d^2/2 for small d
    tiny = np.array([1e-9])
    np.testing.assert_allclose(fastloss.pseudo_huber_loss(tiny, 0 * tiny), 5e-19, rtol=1e-12)
    np.testing.assert_allclose(fastloss.log_cosh_loss(tiny, 0 * tiny), 5e-19, rtol=1e-12)
    big = np.array([800.0, -800.0])
    np.testing.assert_allclose(fastloss.log_cosh_loss(big, 0 * big, reduction="none"), 800 - np.log(2), rtol=1e-15)


@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=9), elements=st.floats(-1e6, 1e6)),
    st.sampled_from(LOSSES),
    st.sampled_from(REDUCTIONS),
    st.booleans(),
)
def test_property_matches_twin(x, loss, reduction, weighted):
    name, opts = loss
    y = np.flip(x).copy() if x.ndim else x * 0.5
    w = np.linspace(0, 2, x.size).reshape(x.shape) if weighted else None
    got = getattr(fastloss, name)(x, y, weight=w, reduction=reduction, **opts)
    want = REFERENCES[name](x, y, weight=w, reduction=reduction, **opts)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-12, atol=1e-300)


def test_nan_and_inf_propagate():
    x = np.array([np.nan, 1.0, np.inf, 2.0])
    y = np.array([0.0, np.nan, 0.0, 2.0])
    for name in NAMES:
        fn = getattr(fastloss, name)
        out = fn(x, y, reduction="none")
        assert np.isnan(out[0]) and np.isnan(out[1]), name
        assert out[3] == 0.0, name
        assert np.isnan(fn(x, y)), name


def test_inputs_not_modified(rng):
    x, y = data(rng, (50,), np.float64)
    w = rng.uniform(size=50)
    copies = [a.copy() for a in (x, y, w)]
    for name in NAMES:
        getattr(fastloss, name)(x, y, weight=w, return_grad=True)
    for a, c in zip((x, y, w), copies):
        assert np.array_equal(a, c)


def test_thread_count_bitwise_equal(rng):
    import numba

    x, y = data(rng, (5 * 16384 + 3,), np.float32)
    w = rng.uniform(size=x.shape).astype(np.float32)
    results = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            results.append([getattr(fastloss, n)(x, y, weight=w, return_grad=True) for n in NAMES])
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for (l1, g1), (l2, g2) in zip(*results):
        assert l1.tobytes() == l2.tobytes()
        assert g1.tobytes() == g2.tobytes()


def test_memmap_input(tmp_path, rng):
    n = 3 * 16384 + 5
    x = np.memmap(tmp_path / "x.f32", dtype=np.float32, mode="w+", shape=(n,))
    x[:] = rng.standard_normal(n)
    x.flush()
    ro = np.memmap(tmp_path / "x.f32", dtype=np.float32, mode="r", shape=(n,))
    y = np.zeros(n, np.float32)
    check(fastloss.mse_loss(ro, y), REFERENCES["mse_loss"](ro, y), np.float32)


# -- bad input -----------------------------------------------------------------

BAD_CALLS = [
    (lambda: fastloss.mse_loss(np.zeros(3), np.zeros(4)), ValueError, "same shape"),
    (lambda: fastloss.mse_loss(np.zeros(3, complex), np.zeros(3)), TypeError, "complex"),
    (lambda: fastloss.mse_loss(np.array(["a", "b"]), np.zeros(2)), TypeError, "input"),
    (lambda: fastloss.mse_loss(np.zeros(2, object), np.zeros(2)), TypeError, "input"),
    (lambda: fastloss.mse_loss(np.zeros(2), np.zeros(2, complex)), TypeError, "target"),
    (lambda: fastloss.mse_loss(np.zeros(3), np.zeros(3), reduction="avg"), ValueError, "reduction"),
    (lambda: fastloss.mse_loss(np.zeros(3), np.zeros(3), reduction=None), TypeError, "reduction"),
    (lambda: fastloss.mse_loss(np.zeros((2, 3)), np.zeros((2, 3)), weight=np.ones(2)), ValueError, "weight"),
    (lambda: fastloss.huber_loss(np.zeros(3), np.zeros(3), delta=-1.0), ValueError, "delta"),
    (lambda: fastloss.huber_loss(np.zeros(3), np.zeros(3), delta=0.0), ValueError, "delta"),
    (lambda: fastloss.huber_loss(np.zeros(3), np.zeros(3), delta=float("nan")), ValueError, "delta"),
    (lambda: fastloss.huber_loss(np.zeros(3), np.zeros(3), delta="1"), TypeError, "delta"),
    (lambda: fastloss.smooth_l1_loss(np.zeros(3), np.zeros(3), beta=-0.5), ValueError, "beta"),
    (lambda: fastloss.pseudo_huber_loss(np.zeros(3), np.zeros(3), delta=0.0), ValueError, "delta"),
    (lambda: fastloss.quantile_loss(np.zeros(3), np.zeros(3), quantile=1.0), ValueError, "quantile"),
    (lambda: fastloss.quantile_loss(np.zeros(3), np.zeros(3), quantile=0.0), ValueError, "quantile"),
    (lambda: fastloss.quantile_loss(np.zeros(3), np.zeros(3), quantile=float("nan")), ValueError, "quantile"),
    (lambda: fastloss.mse_loss(np.zeros(3), np.zeros(3), return_grad=1), TypeError, "return_grad"),
    (lambda: fastloss.mse_loss(np.zeros(3), np.zeros(3), return_grad=True, grad_out=[0, 0, 0]), TypeError, "grad_out"),
]


@pytest.mark.parametrize("call,exc,match", BAD_CALLS)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        fastloss.huber_loss(np.zeros(3), np.zeros(3), 1.0)


# -- cross-checks against other libraries -------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_against_torch(dtype, reduction, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, y = data(rng, (6, 7, 5), dtype)
    pairs = [
        ("mse_loss", {}, lambda a, b: F.mse_loss(a, b, reduction=reduction)),
        ("l1_loss", {}, lambda a, b: F.l1_loss(a, b, reduction=reduction)),
        ("huber_loss", {"delta": 0.7}, lambda a, b: F.huber_loss(a, b, delta=0.7, reduction=reduction)),
        ("smooth_l1_loss", {"beta": 0.4}, lambda a, b: F.smooth_l1_loss(a, b, beta=0.4, reduction=reduction)),
        ("smooth_l1_loss", {"beta": 0.0}, lambda a, b: F.smooth_l1_loss(a, b, beta=0.0, reduction=reduction)),
    ]
    for name, opts, tfn in pairs:
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        tl = tfn(tx, torch.from_numpy(y))
        tl.sum().backward()
        loss, grad = getattr(fastloss, name)(x, y, reduction=reduction, return_grad=True, **opts)
        rtol = 1e-12 if dtype == np.float64 else 2e-5
        np.testing.assert_allclose(np.asarray(loss), tl.detach().numpy(), rtol=rtol, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=rtol, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_against_torch(reduction, rng):
    # torch 2.6+ takes weight= in mse/l1/huber; its weighted 'mean' is
    # sum(w l)/sum(w) for mse and l1 but sum(w l)/n for huber: ours follows.
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    if "weight" not in __import__("inspect").signature(F.huber_loss).parameters:
        pytest.skip("this torch has no weight= on its regression losses")
    x, y = data(rng, (6, 7, 5), np.float64)
    w = rng.uniform(0, 2, size=x.shape)
    for name, opts in [("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": 0.7})]:
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        tl = getattr(F, name)(tx, torch.from_numpy(y), weight=torch.from_numpy(w), reduction=reduction, **opts)
        tl.sum().backward()
        loss, grad = getattr(fastloss, name)(x, y, weight=w, reduction=reduction, return_grad=True, **opts)
        np.testing.assert_allclose(np.asarray(loss), tl.detach().numpy(), rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)


def test_against_sklearn(rng):
    metrics = pytest.importorskip("sklearn.metrics")
    x, y = data(rng, (500,), np.float64)
    sw = rng.uniform(0, 3, size=x.shape)
    for q in (0.1, 0.5):
        np.testing.assert_allclose(
            fastloss.quantile_loss(x, y, quantile=q, weight=sw),
            metrics.mean_pinball_loss(y, x, alpha=q, sample_weight=sw), rtol=1e-13,
        )
    np.testing.assert_allclose(fastloss.mse_loss(x, y, weight=sw), metrics.mean_squared_error(y, x, sample_weight=sw), rtol=1e-13)
    np.testing.assert_allclose(fastloss.l1_loss(x, y, weight=sw), metrics.mean_absolute_error(y, x, sample_weight=sw), rtol=1e-13)
    np.testing.assert_allclose(fastloss.mse_loss(x, y), metrics.mean_squared_error(y, x), rtol=1e-13)
    np.testing.assert_allclose(fastloss.l1_loss(x, y), metrics.mean_absolute_error(y, x), rtol=1e-13)
    for q in (0.05, 0.5, 0.77):
        np.testing.assert_allclose(fastloss.quantile_loss(x, y, quantile=q), metrics.mean_pinball_loss(y, x, alpha=q), rtol=1e-13)


def test_against_scipy_pseudo_huber(rng):
    from scipy.special import pseudo_huber

    x, y = data(rng, (300,), np.float64, scale=10)
    for delta in (0.01, 1.0, 50.0):
        np.testing.assert_allclose(
            fastloss.pseudo_huber_loss(x, y, delta=delta, reduction="none"), pseudo_huber(delta, x - y), rtol=1e-13
        )


# -- streaming -------------------------------------------------------------------


@pytest.mark.parametrize("name,opts", LOSSES)
def test_streaming_equals_one_shot(name, opts, rng):
    x, y = data(rng, (10_000,), np.float64)
    w = rng.uniform(size=x.shape)
    fn = getattr(fastloss, name)
    a = fastloss.LossAccumulator(fn, **opts)
    b = fastloss.LossAccumulator(fn, **opts)
    cuts = [0, 17, 3000, 3001, 7000, 10_000]
    for k, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
        (a if k % 2 else b).update(x[lo:hi], y[lo:hi], weight=w[lo:hi])
    b = pickle.loads(pickle.dumps(b))
    a.merge(b)
    np.testing.assert_allclose(a.result(), fn(x, y, weight=w, **opts), rtol=1e-12)
    np.testing.assert_allclose(a.result("sum"), fn(x, y, weight=w, reduction="sum", **opts), rtol=1e-12)
    # the denominator of 'mean': summed weights where the weighted mean is sum(w l)/sum(w)
    divisor = w.sum() if name in ("mse_loss", "l1_loss", "quantile_loss") else x.size
    np.testing.assert_allclose(a.count, divisor, rtol=1e-13)
    assert a.batches == 5


def test_accumulator_errors():
    with pytest.raises(TypeError, match="streaming"):
        fastloss.LossAccumulator(np.sum)
    with pytest.raises(TypeError, match="reduction"):
        fastloss.LossAccumulator(fastloss.mse_loss, reduction="sum")
    acc = fastloss.LossAccumulator(fastloss.mse_loss)
    assert math.isnan(acc.result())
    with pytest.raises(ValueError, match="reduction"):
        acc.result("none")
    with pytest.raises(ValueError, match="delta"):
        fastloss.LossAccumulator(fastloss.huber_loss, delta=-1).update(np.zeros(2), np.zeros(2))
