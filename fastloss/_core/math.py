"""Vectorisable ``exp`` and ``log`` for float64.

The llvmlite wheels on PyPI are built without SVML, so ``math.exp`` and
``math.log`` inside a Numba loop are scalar libm calls and stop LLVM from
vectorising the loop.  These versions use only arithmetic, comparisons
(selects) and bit casts, so a loop that calls them vectorises (AVX2: 4 float64
lanes).  Both are accurate to a few ulp over the whole float64 domain and keep
IEEE special values: ``exp(-inf) = 0``, ``exp(inf) = inf``, ``log(0) = -inf``,
``log(x<0) = nan``, ``log(inf) = inf``, NaN propagates.  The bound is checked
over the whole domain in ``tests/test_math.py``.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import kernel


@intrinsic
def _i64_as_f64(typingctx, x):
    """Reinterpret the bits of an int64 as a float64 (no conversion)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@intrinsic
def _f64_as_i64(typingctx, x):
    """Reinterpret the bits of a float64 as an int64 (no conversion)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@intrinsic
def fma(typingctx, a, b, c):
    """a*b + c with a single rounding (``llvm.fma``; AVX2 has FMA3).

    Used for range reduction.  The kernels are compiled with ``reassoc`` and
    Numba puts that flag on every floating-point instruction, so an
    error-free split written with ``-``/``*`` such as ``(x - k*hi) - k*lo``
    is refactored by LLVM into ``x - k*(hi + lo)``, losing the split; calls
    to ``llvm.fma`` are not refactored.
    """
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(args[0], args[1], args[2])

    return sig, codegen


_LOG2E = 1.4426950408889634
# ln(2) as the nearest double and the remainder ln(2) - _LN2 (for the
# two-step FMA range reduction), and fdlibm's split for log.
_LN2 = 0.6931471805599453
_LN2_REM = 2.3190468138462996e-17
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_HI = 709.782712893384  # exp overflows above this
_EXP_LO = -745.1332191019412  # exp underflows to 0 below this


@kernel(inline=True)
def exp_poly(r):
    """exp(r) for |r| <= ln2/2: the degree-13 Taylor polynomial (truncation
    < 2e-17 relative), in Horner form.  Shared by :func:`fexp` and the
    range-specialised exponentials of the CTC kernel."""
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p


@kernel(inline=True)
def fexp(x):
    """exp(x) for float64 x, vectorisable.

    Range reduction x = k ln2 + r, |r| <= ln2/2, a degree-13 Taylor polynomial
    for exp(r) (truncation error < 5e-18), and the 2^k factor applied through
    the exponent bits.
    """
    xc = x
    if xc > 710.0:
        xc = 710.0
    if xc < -746.0:
        xc = -746.0
    kf = np.floor(xc * _LOG2E + 0.5)
    r = fma(-kf, _LN2_REM, fma(-kf, _LN2, xc))
    p = exp_poly(r)
    # Scale by 2^k by adding k to p's exponent field.  p is in [0.7, 1.42],
    # so the sum is a normal float for every non-overflowing x; results in
    # the subnormal range are built 2^600 too large and scaled once (a single
    # rounding).  A product of two constant powers of two would be unsafe:
    # ``reassoc`` may fold it into one constant, which overflows.
    k = np.int64(kf)
    small = k < -1000
    if small:
        k = k + 600
    res = _i64_as_f64(_f64_as_i64(p) + (k << 52))
    if small:
        res = res * 2.409919865102884e-181  # 2^-600
    if x > _EXP_HI:
        res = np.inf
    if x < _EXP_LO:
        res = 0.0
    if x != x:
        res = x
    return res


_SQRT2 = 1.4142135623730951
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_MANT_MASK = (1 << 52) - 1
_EXP_ONE = 1023 << 52


@kernel(inline=True)
def log_kernel(f, dk):
    """dk*ln2 + log(1 + f) for f in [sqrt(2)/2 - 1, sqrt(2) - 1] (fdlibm's
    e_log.c kernel, error < 1 ulp).  :func:`flog` feeds it ``m - 1``; callers
    that know ``f`` exactly (log1p-like uses) feed it directly, keeping full
    relative accuracy for tiny ``f``."""
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    R = t2 + t1
    hfsq = 0.5 * f * f
    return dk * _LN2_HI - ((hfsq - (s * (hfsq + R) + dk * _LN2_LO)) - f)


@kernel(inline=True)
def flog(x):
    """log(x) for float64 x, vectorisable (fdlibm's e_log.c polynomial).

    x = 2^e m with m in [sqrt(2)/2, sqrt(2)); log(m) = 2 atanh(s),
    s = (m-1)/(m+1), by fdlibm's minimax polynomial (error < 1 ulp).
    Subnormals are scaled by 2^54 first.
    """
    xs = x
    e_adj = 0
    if x < 2.2250738585072014e-308:
        xs = x * 18014398509481984.0  # 2^54
        e_adj = -54
    bits = _f64_as_i64(xs)
    e = ((bits >> 52) & 0x7FF) - 1023 + e_adj
    m = _i64_as_f64((bits & _MANT_MASK) | _EXP_ONE)  # in [1, 2)
    if m > _SQRT2:
        m = m * 0.5
        e = e + 1
    res = log_kernel(m - 1.0, np.float64(e))
    if x == 0.0:
        res = -np.inf
    if x < 0.0:
        res = np.nan
    if x == np.inf:
        res = np.inf
    if x != x:
        res = x
    return res


@kernel(inline=True)
def flog1p_exp_neg(a):
    """log(1 + exp(-a)) for a >= 0 (softplus tail), vectorisable."""
    return flog(1.0 + fexp(-a)) if a < 36.0 else fexp(-a)


@intrinsic
def maxnum(typingctx, a, b):
    """``llvm.maxnum`` (max that ignores a NaN operand).

    A ``v if v > m else m`` reduction is not vectorised by LLVM without the
    ``nnan`` flag (which fastloss never sets); a ``maxnum`` reduction is.
    NaN rows are detected separately (see ``ood._row_max``, ``decode._argmax``).
    """
    sig = a(a, a)

    def codegen(context, builder, signature, args):
        lt = args[0].type
        name = "llvm.maxnum." + ("f32" if lt == ir.FloatType() else "f64")
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(lt, [lt, lt]), name)
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def _i32_as_f32(typingctx, x):
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@intrinsic
def _f32_as_i32(typingctx, x):
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return sig, codegen


@intrinsic
def _fma32(typingctx, a, b, c):
    """float32 a*b + c, one rounding (not refactored by ``reassoc``)."""
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        return builder.fma(args[0], args[1], args[2])

    return sig, codegen


_LOG2E_32 = np.float32(1.4426950408889634)
_LN2_HI_32 = np.float32(0.693145751953125)  # 12 significant bits: k * hi exact
_LN2_LO_32 = np.float32(1.428606765330187e-06)
Y32_MIN = np.float32(-86.0)  # exp(-86) = 4.4e-38, still a normal float32


@kernel(inline=True)
def fexp32_nonpos(y):
    """exp(y) in float32 for float32 y <= 0 (8 AVX2 lanes instead of 4).

    Used for float32 logits (softmax rows, OOD scores), on y = (x - max) / T <= 0, so the sum it
    feeds is >= 1 and terms below exp(-86) ~ 4e-38 are flushed to 0 (they
    cannot change a float64 sum that is >= 1).  Range reduction
    y = k ln2 + r with a two-constant FMA split, degree-7 Taylor polynomial
    (truncation < 6e-9 on |r| <= ln2/2); measured max relative error 7.6e-8
    (~1.3 float32 ulp) over [-86, 0] against float64 exp.
    """
    yc = y if y > Y32_MIN else Y32_MIN
    kf = np.floor(yc * _LOG2E_32 + np.float32(0.5))
    r = _fma32(-kf, _LN2_LO_32, _fma32(-kf, _LN2_HI_32, yc))
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    res = _i32_as_f32(_f32_as_i32(p) + (np.int32(kf) << 23))
    return res if y > Y32_MIN else np.float32(0.0)
