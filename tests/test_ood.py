"""Tests for fastloss.ood: OOD scores and ood_metrics."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import fastloss
from inputs import EXTREME_LOGITS, FLOAT_DTYPES, LAYOUTS, layout, tol
from ref_ood import (
    energy_score_reference,
    entropy_score_reference,
    max_logit_score_reference,
    msp_score_reference,
    ood_metrics_reference,
)

SCORES = {
    "msp_score": (fastloss.msp_score, msp_score_reference, True),
    "max_logit_score": (fastloss.max_logit_score, max_logit_score_reference, False),
    "energy_score": (fastloss.energy_score, energy_score_reference, True),
    "entropy_score": (fastloss.entropy_score, entropy_score_reference, True),
}


def _call(name, x, temperature=1.0):
    fn, ref, has_t = SCORES[name]
    kw = {"temperature": temperature} if has_t else {}
    return fn(x, **kw), ref(x, **kw)


def _close(got, want, dtype, scale=1.0):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=rtol, atol=atol * scale)


# ---------------------------------------------------------------- scores


@pytest.mark.parametrize("name", sorted(SCORES))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("kind", LAYOUTS)
def test_scores_match_twin_all_layouts(name, dtype, kind, rng):
    x = (rng.standard_normal((37, 11)) * 4).astype(dtype)
    got, want = _call(name, layout(x, kind), temperature=1.0)
    assert got.dtype == dtype and got.shape == (37,)
    _close(got, want, dtype, scale=10)


@pytest.mark.parametrize("name", ["msp_score", "energy_score", "entropy_score"])
@pytest.mark.parametrize("temperature", [0.05, 1.0, 3.7, 1000.0])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_scores_temperature_twin(name, temperature, dtype, rng):
    x = (rng.standard_normal((23, 9)) * 5).astype(dtype)
    got, want = _call(name, x, temperature)
    _close(got, want, dtype, scale=10)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_scores_vs_scipy(dtype, rng):
    x = (rng.standard_normal((64, 300)) * 6).astype(dtype)
    x64 = x.astype(np.float64)
    T = 2.5
    p = ss.softmax(x64 / T, axis=1)
    _close(fastloss.energy_score(x, temperature=T), T * ss.logsumexp(x64 / T, axis=1), dtype, scale=10)
    _close(fastloss.msp_score(x, temperature=T), p.max(axis=1), dtype)
    _close(fastloss.entropy_score(x, temperature=T), -ss.entr(p).sum(axis=1), dtype, scale=10)
    np.testing.assert_array_equal(fastloss.max_logit_score(x), x.max(axis=1))


def test_scores_vs_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((16, 50)) * 3
    t = torch.from_numpy(x)
    np.testing.assert_allclose(fastloss.energy_score(t), torch.logsumexp(t, 1).numpy(), rtol=1e-13)
    np.testing.assert_allclose(fastloss.msp_score(t), torch.softmax(t, 1).max(1).values.numpy(), rtol=1e-13)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_extreme_logits(dtype):
    # every pair of extreme values, plus +-1e4 rows of 1000 classes
    x = np.array([[a, b, 0.0] for a in EXTREME_LOGITS for b in EXTREME_LOGITS], dtype=dtype)
    for name in SCORES:
        got, want = _call(name, x)
        assert np.all(np.isfinite(got)), name
        _close(got, want, dtype, scale=10)
    big = np.full((2, 1000), -1e4, dtype=dtype)
    big[0, 17] = 1e4
    big[1, :] = 1e4
    np.testing.assert_allclose(fastloss.energy_score(big), [1e4, 1e4 + np.log(1000)], rtol=tol(dtype)[0])
    np.testing.assert_allclose(fastloss.msp_score(big), [1.0, 1e-3], rtol=tol(dtype)[0])
    np.testing.assert_allclose(fastloss.entropy_score(big), [0.0, -np.log(1000)], rtol=tol(dtype)[0], atol=1e-12)


def test_analytic_values():
    # uniform logits: msp 1/C, energy log C + c, neg entropy -log C
    x = np.full((3, 8), 2.0)
    np.testing.assert_allclose(fastloss.msp_score(x), 1 / 8, rtol=1e-15)
    np.testing.assert_allclose(fastloss.energy_score(x), 2.0 + np.log(8), rtol=1e-15)
    np.testing.assert_allclose(fastloss.entropy_score(x), -np.log(8), rtol=1e-15)
    # energy with temperature T: T * logsumexp(x / T); T -> 0 gives the max
    y = np.array([[1.0, 3.0, -2.0]])
    np.testing.assert_allclose(fastloss.energy_score(y, temperature=1e-3), [3.0], rtol=1e-12)
    # one class: msp 1, neg entropy 0, energy = the logit
    z = np.array([[5.0], [-7.0]])
    np.testing.assert_array_equal(fastloss.msp_score(z), [1.0, 1.0])
    np.testing.assert_array_equal(fastloss.entropy_score(z), [0.0, 0.0])
    np.testing.assert_array_equal(fastloss.energy_score(z), [5.0, -7.0])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_non_finite_logits(dtype):
    inf, nan = np.inf, np.nan
    x = np.array(
        [[nan, 0.0, 1.0], [0.0, inf, 1.0], [-inf, -inf, -inf], [-inf, 0.0, 1.0], [inf, nan, 0.0]], dtype=dtype
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x64 = x.astype(np.float64)
        lse = ss.logsumexp(x64, axis=1)
        sm = ss.softmax(x64, axis=1)
    np.testing.assert_allclose(fastloss.energy_score(x), lse, rtol=tol(dtype)[0])  # NaN/inf where equal
    np.testing.assert_array_equal(fastloss.max_logit_score(x), x.max(axis=1))
    msp = fastloss.msp_score(x)
    assert np.isnan(msp[[0, 1, 2, 4]]).all()
    _close(msp[3], sm[3].max(), dtype)
    ent = fastloss.entropy_score(x)
    assert np.isnan(ent[[0, 1, 2, 4]]).all()
    _close(ent[3], -ss.entr(sm[3]).sum(), dtype)


@pytest.mark.parametrize("name", sorted(SCORES))
def test_unbatched_and_dtypes(name, rng):
    fn = SCORES[name][0]
    row = rng.standard_normal(10)
    r = fn(row)
    assert isinstance(r, np.float64) and np.ndim(r) == 0
    assert r == fn(row[None, :])[0]
    assert isinstance(fn(row.astype(np.float32)), np.float32)
    ints = np.arange(12).reshape(3, 4)
    assert fn(ints).dtype == np.float64
    np.testing.assert_array_equal(fn(ints), fn(ints.astype(np.float64)))
    assert fn(np.float16(row)).dtype == np.float32
    assert fn(np.zeros((0, 5))).shape == (0,)


def test_inputs_not_modified(rng):
    x = rng.standard_normal((5, 6))
    keep = x.copy()
    for name in SCORES:
        _call(name, x)
    assert np.array_equal(x, keep)


def test_scores_large_blocked_layout_matches_contiguous(rng):
    # more rows than one copy block (fastloss.ood._BLOCK elements) on the non-contiguous path
    import fastloss.metrics.ood as ood

    x = rng.standard_normal((ood._BLOCK // 64 * 2 + 3, 128)).astype(np.float32)
    f = np.asfortranarray(x)
    for name in ("energy_score", "msp_score"):
        np.testing.assert_array_equal(SCORES[name][0](f), SCORES[name][0](x))


def test_thread_count_bitwise(rng):
    numba = pytest.importorskip("numba")
    x = rng.standard_normal((3001, 67)).astype(np.float32)
    s_in, s_out = rng.standard_normal(5000), rng.standard_normal(4000) - 0.5
    res = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            res.append(
                [SCORES[n][0](x) for n in sorted(SCORES)] + [fastloss.ood_metrics(s_in, s_out)]
            )
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(*res):
        if isinstance(a, dict):
            assert a == b
        else:
            assert a.tobytes() == b.tobytes()


@settings(max_examples=25)
@given(
    n=st.integers(1, 6),
    c=st.integers(1, 40),
    scale=st.sampled_from([0.1, 3.0, 300.0]),
    seed=st.integers(0, 2**16),
)
def test_scores_property(n, c, scale, seed):
    x = np.random.default_rng(seed).standard_normal((n, c)) * scale
    for name in SCORES:
        got, want = _call(name, x, 1.3)
        _close(got, want, np.float64, scale=max(1.0, scale))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: fastloss.msp_score(np.zeros((2, 3)), temperature=0.0), ValueError, "temperature"),
        (lambda: fastloss.energy_score(np.zeros((2, 3)), temperature=-1), ValueError, "temperature"),
        (lambda: fastloss.energy_score(np.zeros((2, 3)), temperature=np.nan), ValueError, "temperature"),
        (lambda: fastloss.entropy_score(np.zeros((2, 3)), temperature=np.inf), ValueError, "temperature"),
        (lambda: fastloss.energy_score(np.zeros((2, 3)), temperature=1e-320), ValueError, "temperature"),
        (lambda: fastloss.msp_score(np.zeros((2, 3)), temperature="1"), TypeError, "temperature"),
        (lambda: fastloss.msp_score(np.zeros((2, 3, 4))), ValueError, "logits"),
        (lambda: fastloss.msp_score(np.float64(1.0)), ValueError, "logits"),
        (lambda: fastloss.energy_score(np.zeros((2, 0))), ValueError, "logits"),
        (lambda: fastloss.max_logit_score(np.zeros((2, 3), complex)), TypeError, "logits"),
        (lambda: fastloss.max_logit_score(np.array([["a"]])), TypeError, "logits"),
    ],
)
def test_score_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- ood_metrics


def _sklearn_metrics(s_in, s_out):
    sk = pytest.importorskip("sklearn.metrics")
    y = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
    s = np.r_[np.asarray(s_in, np.float64), np.asarray(s_out, np.float64)]
    fpr, tpr, _ = sk.roc_curve(y, s, drop_intermediate=False)
    return {
        "auroc": sk.roc_auc_score(y, s),
        "aupr_in": sk.average_precision_score(y, s),
        "aupr_out": sk.average_precision_score(1 - y, -s),
        "fpr_at_95_tpr": fpr[tpr >= 0.95].min(),
    }


def _assert_metrics(got, want):
    assert set(got) == {"auroc", "aupr_in", "aupr_out", "fpr_at_95_tpr"}
    for k in want:
        assert isinstance(got[k], float)
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-14, err_msg=k)


@pytest.mark.parametrize(
    "make",
    [
        lambda r: (r.standard_normal(500) + 1, r.standard_normal(300)),
        lambda r: (np.round(r.standard_normal(400), 1) + 0.3, np.round(r.standard_normal(700), 1)),  # heavy ties
        lambda r: (r.integers(0, 3, 200), r.integers(0, 3, 150)),  # 3 distinct values, int dtype
        lambda r: (r.standard_normal(2000).astype(np.float32), r.standard_normal(3).astype(np.float32)),
        lambda r: (r.standard_normal(1), r.standard_normal(1000)),  # single in-distribution sample
        lambda r: (np.zeros(10), np.zeros(5)),  # all tied
        lambda r: (r.standard_normal(100) + 100, r.standard_normal(50)),  # perfectly separated
        lambda r: (r.standard_normal(100) - 100, r.standard_normal(50)),  # perfectly reversed
        lambda r: (r.standard_normal(100).astype(np.float32), r.standard_normal(80)),  # mixed dtypes
    ],
)
def test_ood_metrics_vs_sklearn_and_twin(make, rng):
    s_in, s_out = make(rng)
    got = fastloss.ood_metrics(s_in, s_out)
    _assert_metrics(got, _sklearn_metrics(s_in, s_out))
    _assert_metrics(got, ood_metrics_reference(s_in, s_out))


def test_ood_metrics_fpr_boundary():
    # 20 in-distribution samples: TPR 19/20 = 0.95 exactly must count as reaching 95%
    s_in = np.arange(20, dtype=np.float64)  # 0..19
    s_out = np.array([0.5, 1.5, 100.0])
    got = fastloss.ood_metrics(s_in, s_out)
    # threshold 1 keeps 19 in-samples and 2 OOD (1.5 and 100) -> FPR 2/3
    assert got["fpr_at_95_tpr"] == pytest.approx(2 / 3, rel=1e-15)
    _assert_metrics(got, _sklearn_metrics(s_in, s_out))


def test_ood_metrics_extreme_imbalance_and_order(rng):
    s_in = rng.standard_normal(200_000)
    s_out = np.array([0.3])
    got = fastloss.ood_metrics(s_in, s_out)
    _assert_metrics(got, _sklearn_metrics(s_in, s_out))
    # order of the samples is irrelevant; layouts and torch tensors accepted
    got2 = fastloss.ood_metrics(s_in[::-1].copy(), s_out)
    assert got2 == got
    got3 = fastloss.ood_metrics(layout(s_in, "byteswapped"), s_out)
    assert got3 == got


def test_ood_metrics_infinite_scores():
    got = fastloss.ood_metrics(np.array([np.inf, 1.0, 2.0]), np.array([-np.inf, 1.0]))
    want = _sklearn_metrics([1e308, 1.0, 2.0], [-1e308, 1.0])  # same order, finite stand-ins
    _assert_metrics(got, want)


def test_ood_metrics_swap_identity(rng):
    a, b = rng.standard_normal(300) + 0.5, np.round(rng.standard_normal(200), 1)
    m = fastloss.ood_metrics(a, b)
    swapped = fastloss.ood_metrics(-b, -a)
    assert swapped["auroc"] == pytest.approx(m["auroc"], rel=1e-14)
    assert swapped["aupr_in"] == pytest.approx(m["aupr_out"], rel=1e-14)
    assert swapped["aupr_out"] == pytest.approx(m["aupr_in"], rel=1e-14)


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((np.array([1.0, np.nan]), np.zeros(3)), ValueError, "scores_in contains NaN"),
        ((np.zeros(3), np.array([np.nan])), ValueError, "scores_out contains NaN"),
        ((np.zeros(0), np.zeros(3)), ValueError, "scores_in is empty"),
        ((np.zeros(3), []), ValueError, "scores_out is empty"),
        ((np.zeros((3, 2)), np.zeros(3)), ValueError, "scores_in must be 1-D"),
        ((np.zeros(3), np.zeros(3, complex)), TypeError, "scores_out"),
        ((np.array(["a"]), np.zeros(3)), TypeError, "scores_in"),
    ],
)
def test_ood_metrics_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        fastloss.ood_metrics(*args)
