"""The one place that sets Numba options for every fastloss kernel.

Kernels import :func:`kernel` from here instead of calling ``numba.njit``
directly, so caching, threading and floating-point semantics are decided once:

* ``cache=True``: compiled machine code is stored on disk, in a per-user
  directory keyed by fastloss version and CPU (``NUMBA_CACHE_DIR`` if set; see
  :mod:`fastloss._core.runtime`), never inside the installed package, so that
  a fresh process pays only the cache load, not the compile.
* Threading: the fork- and thread-safe ``tbb`` layer is made loadable before
  Numba is imported (:func:`fastloss._core.runtime.prepare_threading`), and
  the layer is chosen when this module is imported, so a user-chosen unsafe
  layer is reported once, up front.  :func:`launch` runs small inputs on the
  calling thread.
* ``fastmath`` is a *subset* of LLVM's fast-math flags.  ``reassoc`` lets LLVM
  vectorise float64 accumulations (the order is then fixed by the compiled
  vector width, so results still do not depend on the thread count);
  ``contract`` allows fused multiply-add; ``nsz``/``arcp`` are harmless.
  ``nnan`` and ``ninf`` are deliberately absent: NaN and inf in the data must
  propagate exactly as NumPy would propagate them, and ``afn`` is absent so
  libm calls keep their full accuracy.
* ``error_model="numpy"``: division by zero gives inf/NaN instead of raising,
  and removes the zero-division checks that block vectorisation.

This module imports Numba, so it is imported only from ``fastloss._kernels``
(which the public wrappers import lazily, on first call) and ``_core.math``.
"""
from __future__ import annotations

import types

from . import runtime as _runtime

_runtime.prepare_threading()  # before Numba picks its threading layer

import numba  # noqa: E402
from numba.np.ufunc import parallel as _parallel  # noqa: E402
from .cpu import configure_numba as _configure_numba  # noqa: E402

_configure_numba(numba)  # vector width per host, before the first compile (see _core/cpu.py)

_runtime.install_cache_locator()
_runtime.defer_context_refresh()  # also defers defer_blas_check's import to the first compile

# Choose the threading layer now (Numba would on the first parallel call), so
# that an unsafe layer is reported once, up front.
_parallel._launch_threads()
_runtime.check_layer(_parallel._threading_layer)

FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc"})

from .consts import CHUNK  # noqa: F401  (re-exported for the kernels)


def kernel(fn=None, *, parallel: bool = False, inline: bool = False, cache: bool = True, exact: bool = False):
    """Compile ``fn`` lazily with fastloss's Numba options.

    ``parallel=True`` enables ``prange``.  ``inline=True`` marks a small helper
    to be inlined at Numba IR level into its callers (used for the per-element
    loss functions so that the hot loop stays branch-light and vectorisable).
    ``exact=True`` drops the fast-math flags (strict IEEE arithmetic), for code
    that must round exactly as Python does, such as a decimal-to-float parser
    (``arcp`` may turn ``m / 10**k`` into ``m * 10**-k``, ``nsz`` loses ``-0``).
    """

    def wrap(f):
        opts = dict(cache=cache, fastmath=set() if exact else set(FASTMATH), error_model="numpy", nogil=True)
        if inline:
            opts["inline"] = "always"
        if not parallel:
            return numba.njit(**opts)(f)
        par = numba.njit(parallel=True, **opts)(f)
        par.serial = numba.njit(**opts)(_twin(f))
        return par

    return wrap(fn) if fn is not None else wrap


def _twin(f):
    """A copy of ``f`` under its own qualified name, for the serial twin of a
    parallel kernel: Numba's cache index is keyed by the function's name and
    bytecode, not by compile options, so the twin must not share the
    parallel kernel's cache entry."""
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    g.__qualname__ = f.__qualname__ + "__serial"
    g.__module__ = f.__module__
    g.__doc__ = f.__doc__
    return g


def launch(fn, work: int, serial_below: int, *args):
    """``fn(*args)``, or its serial twin ``fn.serial(*args)`` (the same
    source compiled without ``parallel=True``, ``prange`` as ``range``) when
    ``work < serial_below``.

    Below a family's measured threshold (``fastloss._core.consts``) a
    parallel region costs more than it saves, and with other processes busy
    on the cores its latency depends on theirs.  The twin runs the same fixed
    chunks in order, so results are bitwise identical to the parallel path
    (``CHUNK``; tests/test_runtime.py checks it).  Measured per small call
    (quiet AMD EPYC): entering a parallel kernel costs ~2.4 us even at one
    thread, setting the thread count to 1 and back ~0.7 us, a serial
    function's dispatch ~0.4-0.9 us (docs/design.md).  The twin compiles on
    its first small call only.
    """
    if work >= serial_below:
        return fn(*args)
    return fn.serial(*args)


def threading_layer() -> str:
    return _parallel._threading_layer


__all__ = ["FASTMATH", "CHUNK", "kernel", "launch", "numba", "threading_layer"]
