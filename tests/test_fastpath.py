"""The common-call fast paths (issue 11: per-call overhead) give the same bits,
the same errors and the same untouched inputs as the general path.

The fast path takes plain ``np.ndarray`` operands only; an ndarray subclass
takes the general path with the same data, so each case is run both ways.
"""
import numpy as np
import pytest

import fastloss


class _Sub(np.ndarray):
    """Same data, not a plain ndarray: forces the general path."""


def _slow(a):
    return a.view(_Sub)


def _both(f, x, t, **kw):
    return f(x, t, **kw), f(_slow(x), _slow(t), **kw)


def _same(a, b):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for u, v in zip(a, b):
        u, v = np.asarray(u), np.asarray(v)
        assert u.dtype == v.dtype and u.shape == v.shape
        assert u.tobytes() == v.tobytes()


ELEMENTWISE = [
    fastloss.mse_loss, fastloss.l1_loss, fastloss.huber_loss, fastloss.smooth_l1_loss,
    fastloss.binary_cross_entropy, fastloss.binary_cross_entropy_with_logits,
]


@pytest.mark.parametrize("f", ELEMENTWISE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("return_grad", [False, True])
@pytest.mark.parametrize("n", [1, 1000, 70_000])  # 70,000: above the serial threshold, several chunks
def test_elementwise_fast_path_same_bits(f, dtype, reduction, return_grad, n):
    rng = np.random.default_rng(n)
    x = rng.random(n).astype(dtype)
    t = rng.random(n).astype(dtype)
    x0, t0 = x.copy(), t.copy()
    fast, slow = _both(f, x, t, reduction=reduction, return_grad=return_grad)
    _same(fast, slow)
    assert np.array_equal(x, x0) and np.array_equal(t, t0)


def test_bce_fast_path_reports_the_first_bad_value():
    x = np.full(100, 0.5, dtype=np.float32)
    t = np.zeros(100, dtype=np.float32)
    x[37] = 1.5
    with pytest.raises(ValueError, match=r"input must be in \[0, 1\], got 1.5 at position \(37,\)"):
        fastloss.binary_cross_entropy(x, t)
    x[37] = 0.5
    t[5] = np.nan
    with pytest.raises(ValueError, match=r"target must be in \[0, 1\], got nan at position \(5,\)"):
        fastloss.binary_cross_entropy(x, t, return_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("return_grad", [False, True])
@pytest.mark.parametrize("shape", [(1, 1), (64, 10), (300, 37)])  # 300x37: above the softmax threshold
@pytest.mark.parametrize("ignore_index", [-100, 3])
def test_cross_entropy_fast_path_same_bits(dtype, reduction, return_grad, shape, ignore_index):
    rng = np.random.default_rng(shape[0])
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.integers(0, shape[1], shape[0])
    if shape[0] > 1:
        y[::7] = ignore_index  # some ignored rows (-100: out of range, 3: a real class)
    x0, y0 = x.copy(), y.copy()
    kw = dict(reduction=reduction, return_grad=return_grad, ignore_index=ignore_index)
    fast = fastloss.cross_entropy(x, y, **kw)
    slow = fastloss.cross_entropy(_slow(x), _slow(y), **kw)
    _same(fast, slow)
    assert np.array_equal(x, x0) and np.array_equal(y, y0)


def test_cross_entropy_fast_path_all_ignored_and_bad_labels():
    x = np.zeros((4, 3))
    y = np.full(4, -100)
    loss, g = fastloss.cross_entropy(x, y, return_grad=True)
    assert np.isnan(loss) and not g.any()  # mean over no target: NaN, zero gradient (as torch)
    assert float(fastloss.cross_entropy(x, y, reduction="sum")) == 0.0
    y = np.array([0, 1, 3, 2])
    with pytest.raises(ValueError, match=r"target must be in \[0, 3\) or equal ignore_index=-100, got 3 at position \(2,\)"):
        fastloss.cross_entropy(x, y)
    y = np.array([0, -1, 2, 2])
    with pytest.raises(ValueError, match=r"got -1 at position \(1,\)"):
        fastloss.cross_entropy(x, y, return_grad=True)


def test_fast_path_options_outside_it_still_checked():
    x = np.ones(5, dtype=np.float32)
    with pytest.raises(ValueError, match="reduction"):
        fastloss.mse_loss(x, x, reduction="avg")
    with pytest.raises(TypeError, match="return_grad"):
        fastloss.mse_loss(x, x, return_grad=1)
    with pytest.raises(ValueError, match="same shape"):
        fastloss.mse_loss(x, np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match="label_smoothing"):
        fastloss.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=2.0)
