"""Accuracy of the vectorisable exp/log over their whole float64 domain."""
import numpy as np
import pytest


@pytest.fixture(scope="module")
def vec():
    from fastloss._core.jit import kernel, numba
    from fastloss._core.math import fexp, flog

    @kernel(parallel=True, cache=False)
    def vexp(x, out):
        for i in numba.prange(x.size):
            out[i] = fexp(x[i])

    @kernel(parallel=True, cache=False)
    def vlog(x, out):
        for i in numba.prange(x.size):
            out[i] = flog(x[i])

    def run(f, x):
        out = np.empty_like(x)
        f(x, out)
        return out

    return lambda x: run(vexp, x), lambda x: run(vlog, x)


def ulp_error(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_exp_whole_domain(vec):
    fexp, _ = vec
    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.uniform(-745.2, 709.8, 400_000),
        rng.uniform(-1, 1, 100_000),
        rng.uniform(-40, 40, 100_000),
        np.linspace(-745.2, 709.8, 200_001),
    ])
    got, want = fexp(x), np.exp(x)
    normal = (want >= np.finfo(np.float64).tiny) & np.isfinite(want)
    assert np.all(got[np.isinf(want)] == np.inf)
    assert ulp_error(got[normal], want[normal]).max() <= 1.0
    # subnormal results: within one unit of the smallest subnormal
    sub = (want < np.finfo(np.float64).tiny)
    assert np.abs(got[sub] - want[sub]).max() <= 5e-324


def test_exp_special_values(vec):
    fexp, _ = vec
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 709.782712893384, 709.7827128933841, -745.1332191019411, -745.14, 1e-300])
    with np.errstate(over="ignore"):
        want = np.exp(x)
    got = fexp(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.all(ulp_error(got[ok & (want > 1e-300) & np.isfinite(want)], want[ok & (want > 1e-300) & np.isfinite(want)]) <= 1)
    assert got[2] == np.inf and got[3] == 0.0 and got[6] == np.inf and got[8] == 0.0


def test_log_whole_domain(vec):
    _, flog = vec
    rng = np.random.default_rng(1)
    bits = rng.integers(1, 0x7FF0000000000000, 500_000, dtype=np.int64)  # every positive finite double, subnormals included
    x = np.concatenate([bits.view(np.float64), rng.uniform(0.5, 2.0, 200_000), 1 + rng.uniform(-1e-6, 1e-6, 100_000)])
    got, want = flog(x), np.log(x)
    nz = want != 0
    assert ulp_error(got[nz], want[nz]).max() <= 2.0
    assert np.all(got[~nz] == 0)


def test_log_special_values(vec):
    _, flog = vec
    x = np.array([0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 5e-324, 1.0])
    got = flog(x)
    assert got[0] == -np.inf and got[1] == -np.inf
    assert np.isnan(got[2]) and np.isnan(got[4]) and np.isnan(got[5])
    assert got[3] == np.inf and got[7] == 0.0
    assert abs(got[6] - np.log(5e-324)) <= np.spacing(745.0)
