"""Tests for fastloss.calibration: ECE, reliability diagram, plot."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.special as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import fastloss
from inputs import FLOAT_DTYPES, LAYOUTS, layout
from ref_ood import (
    expected_calibration_error_reference,
    plot_reliability_diagram_reference,
    reliability_diagram_reference,
)

ece = fastloss.expected_calibration_error


def _multiclass(rng, n=400, c=5, sharp=2.0):
    logits = rng.standard_normal((n, c)) * sharp
    labels = rng.integers(0, c, n)
    return logits, ss.softmax(logits, axis=1), labels


def _diagram_equal(got, want, rtol=1e-12):
    edges, conf, acc, count = want
    np.testing.assert_array_equal(got.edges, edges)
    np.testing.assert_array_equal(got.count, count)
    np.testing.assert_allclose(got.confidence, conf, rtol=rtol)  # NaN where empty, on both
    np.testing.assert_allclose(got.accuracy, acc, rtol=rtol)
    assert got.count.dtype == np.int64


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 7, 15])
def test_ece_twin_multiclass(norm, strategy, n_bins, rng):
    logits, probs, labels = _multiclass(rng)
    want = expected_calibration_error_reference(probs, labels, n_bins=n_bins, norm=norm, strategy=strategy)
    got = ece(probs, labels, n_bins=n_bins, norm=norm, strategy=strategy)
    assert isinstance(got, np.float64)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    got_l = ece(logits, labels, n_bins=n_bins, norm=norm, strategy=strategy, logits=True)
    want_l = expected_calibration_error_reference(logits, labels, n_bins=n_bins, norm=norm, strategy=strategy, logits=True)
    assert got_l == pytest.approx(want_l, rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_ece_twin_binary(norm, strategy, rng):
    p = rng.random(300)
    y = (rng.random(300) < p**2).astype(np.int64)
    want = expected_calibration_error_reference(p, y, norm=norm, strategy=strategy)
    assert ece(p, y, norm=norm, strategy=strategy) == pytest.approx(want, rel=1e-12, abs=1e-15)
    z = ss.logit(p)
    want_z = expected_calibration_error_reference(z, y, norm=norm, strategy=strategy, logits=True)
    assert ece(z, y, norm=norm, strategy=strategy, logits=True) == pytest.approx(want_z, rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [3, 10, 15])
def test_diagram_vs_sklearn_calibration_curve(strategy, n_bins, rng):
    calibration_curve = pytest.importorskip("sklearn.calibration").calibration_curve
    # binary, with values on the edges (0, 1, k/n_bins) and heavy ties
    p = np.r_[rng.random(200), np.linspace(0, 1, n_bins + 1), np.round(rng.random(100), 1), [0.0, 1.0, 1.0]]
    y = rng.integers(0, 2, p.size)
    d = fastloss.reliability_diagram(p, y, n_bins=n_bins, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    nz = d.count > 0
    np.testing.assert_allclose(d.accuracy[nz], prob_true, rtol=1e-14)
    np.testing.assert_allclose(d.confidence[nz], prob_pred, rtol=1e-14)
    assert d.count.sum() == p.size
    # multi-class: top-label confidence and correctness through calibration_curve
    logits, probs, labels = _multiclass(rng)
    d = fastloss.reliability_diagram(probs, labels, n_bins=n_bins, strategy=strategy)
    correct = (probs.argmax(1) == labels).astype(int)
    prob_true, prob_pred = calibration_curve(correct, probs.max(1), n_bins=n_bins, strategy=strategy)
    nz = d.count > 0
    np.testing.assert_allclose(d.accuracy[nz], prob_true, rtol=1e-14)
    np.testing.assert_allclose(d.confidence[nz], prob_pred, rtol=1e-14)


def test_one_and_zero_confidence_bins():
    p = np.array([1.0, 1.0, 0.0, 0.5, 0.5000001])
    y = np.array([1, 0, 0, 1, 1])
    d = fastloss.reliability_diagram(p, y, n_bins=2)
    # bins [0, .5] and (.5, 1]: 0.0 and 0.5 in the first, 1.0 in the last
    np.testing.assert_array_equal(d.count, [2, 3])
    np.testing.assert_allclose(d.confidence, [0.25, (2 + 0.5000001) / 3])
    np.testing.assert_allclose(d.accuracy, [0.5, 2 / 3])
    _diagram_equal(d, reliability_diagram_reference(p, y, n_bins=2))
    # a perfectly confident, always right model is perfectly calibrated
    assert ece(np.eye(4)[[0, 1, 2, 3, 1]], [0, 1, 2, 3, 1]) == 0.0
    # always confident (1.0) and always wrong: ECE = MCE = 1
    assert ece(np.eye(3), [1, 2, 0], norm="max") == 1.0


def test_norms_by_hand():
    # bins of 0.5: confidences 0.3, 0.4 (acc 0) and 0.9, 0.8, 0.7 (acc 2/3)
    p = np.array([0.3, 0.4, 0.9, 0.8, 0.7])
    y = np.array([0, 0, 1, 1, 0])
    g1, g2 = 0.35, 0.8 - 2 / 3
    assert ece(p, y, n_bins=2) == pytest.approx((2 * g1 + 3 * g2) / 5, rel=1e-14)
    assert ece(p, y, n_bins=2, norm="l2") == pytest.approx(np.sqrt((2 * g1**2 + 3 * g2**2) / 5), rel=1e-14)
    assert ece(p, y, n_bins=2, norm="max") == pytest.approx(max(g1, g2), rel=1e-14)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
def test_dtypes_layouts(dtype, kind, rng):
    logits, probs, labels = _multiclass(rng, n=120, c=4)
    for x, lg in ((probs, False), (logits, True)):
        xd = x.astype(dtype)
        want = expected_calibration_error_reference(xd, labels, logits=lg)
        got = ece(layout(xd, kind), layout(labels, kind), logits=lg)
        assert isinstance(got, dtype)
        assert got == pytest.approx(want, rel=1e-5 if dtype == np.float32 else 1e-11, abs=1e-6)
    pb = probs[:, 0].astype(dtype)
    yb = (labels == 0).astype(np.int64)
    assert ece(layout(pb, kind), yb) == ece(pb, yb)


def test_torch_and_bool_inputs(rng):
    torch = pytest.importorskip("torch")
    _, probs, labels = _multiclass(rng, n=50)
    assert ece(torch.from_numpy(probs), torch.from_numpy(labels)) == ece(probs, labels)
    p = rng.random(40)
    y = rng.random(40) < 0.5
    assert ece(p, y) == ece(p, y.astype(int))


def test_inputs_not_modified(rng):
    logits, probs, labels = _multiclass(rng, n=30)
    keep = (logits.copy(), probs.copy(), labels.copy())
    ece(probs, labels, strategy="quantile")
    ece(logits, labels, logits=True)
    assert all(np.array_equal(a, b) for a, b in zip(keep, (logits, probs, labels)))


def test_thread_count_bitwise(rng):
    numba = pytest.importorskip("numba")
    logits, probs, labels = _multiclass(rng, n=70_000, c=6)
    res = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            d = fastloss.reliability_diagram(logits, labels, logits=True, strategy="quantile")
            res.append((ece(probs, labels).tobytes(), d.confidence.tobytes(), d.accuracy.tobytes()))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert res[0] == res[1]


@settings(max_examples=25)
@given(
    n=st.integers(1, 60),
    c=st.integers(2, 6),
    n_bins=st.integers(1, 20),
    strategy=st.sampled_from(["uniform", "quantile"]),
    seed=st.integers(0, 2**16),
)
def test_diagram_property(n, c, n_bins, strategy, seed):
    rng = np.random.default_rng(seed)
    probs = ss.softmax(rng.standard_normal((n, c)) * 3, axis=1)
    probs = np.round(probs, 2)  # ties and values on edges
    probs = probs / probs.sum(axis=1, keepdims=True)  # rows must sum to 1 (issue 12)
    labels = rng.integers(0, c, n)
    d = fastloss.reliability_diagram(probs, labels, n_bins=n_bins, strategy=strategy)
    _diagram_equal(d, reliability_diagram_reference(probs, labels, n_bins=n_bins, strategy=strategy))


def test_plot(rng):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, probs, labels = _multiclass(rng, n=200)
    ax = fastloss.plot_reliability_diagram(probs, labels, n_bins=10)
    bars = [(p.get_x(), p.get_width(), p.get_height()) for p in ax.patches]
    want = plot_reliability_diagram_reference(probs, labels, n_bins=10)
    np.testing.assert_allclose(bars, want, rtol=1e-12)
    assert "ECE" in ax.get_title()
    plt.close("all")
    _, ax2 = plt.subplots()
    assert fastloss.plot_reliability_diagram(probs, labels, ax=ax2) is ax2
    plt.close("all")


def test_plot_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="matplotlib"):
        fastloss.plot_reliability_diagram(np.array([0.2, 0.7]), np.array([0, 1]))


P2 = np.array([[0.7, 0.3], [0.2, 0.8]])


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: ece(np.array([[2.0, -1.0], [0.0, 1.0]]), [0, 1]), ValueError, "logits=True"),
        (lambda: ece(np.array([0.2, np.nan]), [0, 1]), ValueError, "NaN"),
        (lambda: ece(np.array([[0.0, np.nan]]), [0], logits=True), ValueError, "sample 0"),
        (lambda: ece(P2, [0, 2]), ValueError, r"labels must be in \[0, 2\), got 2"),
        (lambda: ece(np.array([0.2, 0.7]), [0, 3]), ValueError, "labels"),
        (lambda: ece(P2, [0, 1, 1]), ValueError, "labels must have shape"),
        (lambda: ece(P2, [0.5, 1]), ValueError, "labels must hold integers"),
        (lambda: ece(P2, [0, 1], n_bins=0), ValueError, "n_bins"),
        (lambda: ece(P2, [0, 1], n_bins=2.5), TypeError, "n_bins"),
        (lambda: ece(P2, [0, 1], norm="l3"), ValueError, "norm"),
        (lambda: ece(P2, [0, 1], strategy="log"), ValueError, "strategy"),
        (lambda: ece(P2, [0, 1], logits="yes"), TypeError, "logits"),
        (lambda: ece(np.zeros((0, 3)), []), ValueError, "empty"),
        (lambda: ece(np.full((2, 1), 0.5), [0, 0]), ValueError, "C >= 2"),
        (lambda: ece(np.zeros((2, 2, 2)), [0, 0]), ValueError, "shape"),
        (lambda: fastloss.reliability_diagram(P2, [0, -1]), ValueError, "labels"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- the fused common call (calibration._fast_bins): same bits, same errors --


def _general(x):
    """The same data as a Fortran-ordered copy: not C-contiguous, so it
    takes the NumPy path (checks, confidences, binning in separate passes)."""
    return np.asfortranarray(x) if x.ndim == 2 else x[::-1].copy()[::-1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 37, 40_000])  # 40_000: ten chunks of partial sums (4096 rows)
def test_fused_path_bitwise(dtype, n, rng):
    logits, probs, labels = _multiclass(rng, n=n, c=7)
    probs = probs.astype(dtype)
    logits = logits.astype(dtype)
    for x, lg in ((probs, False), (logits, True), (probs[:, 0].copy(), False)):
        y = labels if x.ndim == 2 else (labels % 2)
        got = fastloss.reliability_diagram(x, y, n_bins=13, logits=lg)
        want = fastloss.reliability_diagram(_general(x), y, n_bins=13, logits=lg)
        for g, w in zip(got, want):
            assert g.tobytes() == w.tobytes()
        assert ece(x, y.astype(np.int32), logits=lg) == ece(_general(x), y, logits=lg)


def _outcome(f):
    try:
        return f().tobytes()
    except ValueError as exc:
        return str(exc)


def test_fused_path_row_sum_tolerance():
    # np.isclose(row sum, 1) decides, to the last bit, also where the fused
    # pass rounds its sum differently: rows near the tolerance go to NumPy.
    tol = 1e-08 + 1e-05
    y = np.array([0, 2])
    for d in np.linspace(-6e-15, 6e-15, 25):
        for sign in (1.0, -1.0):
            p = np.array([[0.5, 0.25 + sign * (tol + d), 0.25], [0.3, 0.3, 0.4]])
            assert _outcome(lambda: ece(p, y)) == _outcome(lambda: ece(_general(p), y))
    with pytest.raises(ValueError, match="row 0 sums to"):
        ece(np.array([[0.5, 0.25 + 2 * tol, 0.25]]), np.array([0]))


@pytest.mark.parametrize(
    "x, y, lg, match",
    [
        (np.array([[0.7, 0.3], [0.2, 0.8]]), np.array([0, 2]), False, r"labels must be in \[0, 2\), got 2 at position \(1,\)"),
        (np.array([[0.7, 0.3], [0.2, 0.8]]), np.array([-1, 0]), False, r"labels must be in \[0, 2\), got -1"),
        (np.array([[0.7, 0.3], [np.nan, 0.8]]), np.array([0, 1]), False, "contains NaN"),
        (np.array([[1.5, -0.5], [0.2, 0.8]]), np.array([0, 1]), False, r"in \[0, 1\] \(got values in \[-0.5, 1.5\]\)"),
        (np.array([[0.7, 0.2], [0.2, 0.8]]), np.array([0, 1]), False, "row 0 sums to 0.8999"),
        (np.array([0.2, 1.5]), np.array([0, 1]), False, "logits=True"),
        (np.array([0.2, 0.5]), np.array([0, 2]), False, r"labels must be in \[0, 2\)"),
        (np.array([[0.0, np.nan], [1.0, 2.0]]), np.array([0, 1]), True, "NaN or \\+inf logit in sample 0"),
        (np.array([[0.0, 1.0], [np.inf, 2.0]]), np.array([0, 1]), True, "sample 1"),
        (np.array([[0.0, 1.0]], dtype=np.float32), np.array([2**63], dtype=np.uint64), False, "labels must be in"),
    ],
)
def test_fused_path_errors(x, y, lg, match):
    keep = x.copy(), y.copy()
    with pytest.raises(ValueError, match=match):
        ece(x, y, logits=lg)
    b = fastloss.CalibrationBins(n_bins=4, logits=lg)
    empty = b.to_state()
    with pytest.raises(ValueError, match=match):
        b.update(x, y)
    assert b == fastloss.CalibrationBins.from_state(empty)  # nothing added
    assert np.array_equal(x, keep[0], equal_nan=True) and np.array_equal(y, keep[1])


def test_calibration_bins_fused_update_equals_general(rng):
    _, probs, labels = _multiclass(rng, n=3000, c=10)
    probs = probs.astype(np.float32)
    fast, slow = fastloss.CalibrationBins(), fastloss.CalibrationBins()
    for lo in range(0, 3000, 700):
        fast.update(probs[lo:lo + 700], labels[lo:lo + 700])
        slow.update(_general(probs[lo:lo + 700]), labels[lo:lo + 700].tolist())
    assert fast == slow and fast.dtype == slow.dtype == "f4"
    assert fast.result() == pytest.approx(ece(probs, labels), rel=1e-12)


def test_uniform_bins_on_and_next_to_edges(rng):
    # The kernels' branch-free bin index equals np.searchsorted(edges[1:-1], c)
    # (scikit-learn's rule), on the edges and one ulp either side of them.
    for nb in [*range(1, 41), 97, 1000, 4099, (1 << 20) + 7]:  # the last: no inside-the-bin shortcut
        e = np.linspace(0.0, 1.0, nb + 1)
        c = np.concatenate([e, np.nextafter(e, 2.0), np.nextafter(e, -1.0), rng.random(200)])
        c = np.clip(c, 0.0, 1.0)
        want = np.bincount(np.searchsorted(e[1:-1], c), minlength=nb)
        y = np.zeros(c.size, dtype=np.int64)
        assert np.array_equal(fastloss.reliability_diagram(c, y, n_bins=nb).count, want)  # fused pass
        assert np.array_equal(fastloss.reliability_diagram(c[::-1].copy()[::-1], y, n_bins=nb).count, want)
        c32 = c.astype(np.float32)
        want32 = np.bincount(np.searchsorted(e[1:-1], c32.astype(np.float64)), minlength=nb)
        assert np.array_equal(fastloss.reliability_diagram(c32, y, n_bins=nb).count, want32)
