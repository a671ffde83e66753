"""Shared input generators: dtypes, layouts, extreme values.

``layout(a, kind)`` returns an array equal to ``a`` (same values, same shape)
but laid out differently in memory, so every function can be run again on
non-contiguous, Fortran-ordered and byte-swapped inputs (as PyTorch's loss
tests do).
"""
from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)
LAYOUTS = ("contiguous", "strided", "fortran", "byteswapped", "reversed")


def layout(a: np.ndarray, kind: str) -> np.ndarray:
    a = np.asarray(a)
    if kind == "contiguous":
        return np.ascontiguousarray(a)
    if kind == "strided":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],) if a.ndim else (), dtype=a.dtype) if a.ndim else a.copy()
        if a.ndim == 0:
            return big
        big[..., ::2] = a
        out = big[..., ::2]
        assert not out.flags.c_contiguous or a.shape[-1] <= 1
        return out
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "byteswapped":
        return a.astype(a.dtype.newbyteorder("S"))
    if kind == "reversed":
        if a.ndim == 0:
            return a.copy()
        return np.ascontiguousarray(a[::-1])[::-1]
    raise ValueError(kind)


def rand(rng, shape, dtype=np.float64, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def tol(dtype):
    """(rtol, atol) for comparing a fastloss result with a float64 twin."""
    return (1e-12, 1e-13) if np.dtype(dtype) == np.float64 else (2e-6, 1e-6)


EXTREME_LOGITS = np.array([-1e4, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e4])


def fd_grad(f, x, h=1e-6):
    """Central finite differences of a scalar function of a float64 array."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (float(f(xp)) - float(f(xm))) / (2 * h)
    return g


def on_1_and_2_threads(run):
    """``(run() with 1 Numba thread, run() with 2)``, restoring the thread count."""
    import numba

    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run()
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = run()
    finally:
        numba.set_num_threads(old)
    return one, two
