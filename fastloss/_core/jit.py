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

from . import runtime as _runtime

_runtime.prepare_threading()  # before Numba picks its threading layer

import numba  # noqa: E402
from numba.np.ufunc import parallel as _parallel  # noqa: E402
from .cpu import configure_numba as _configure_numba  # noqa: E402

_configure_numba(numba)  # vector width per host, before the first compile (see _core/cpu.py)

_runtime.install_cache_locator()
_runtime.defer_blas_check()

# Choose the threading layer now (Numba would on the first parallel call):
# the per-thread thread-count functions used by launch() exist only after it.
_parallel._launch_threads()
_runtime.check_layer(_parallel._threading_layer)
_get_threads = _parallel._get_num_threads
_set_threads = _parallel._set_num_threads

FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc"})

from .consts import CHUNK  # noqa: F401  (re-exported for the kernels)


def kernel(fn=None, *, parallel: bool = False, inline: bool = False, cache: bool = True):
    """Compile ``fn`` lazily with fastloss's Numba options.

    ``parallel=True`` enables ``prange``.  ``inline=True`` marks a small helper
    to be inlined at Numba IR level into its callers (used for the per-element
    loss functions so that the hot loop stays branch-light and vectorisable).
    """

    def wrap(f):
        opts = dict(cache=cache, fastmath=set(FASTMATH), error_model="numpy", nogil=True)
        if parallel:
            opts["parallel"] = True
        if inline:
            opts["inline"] = "always"
        return numba.njit(**opts)(f)

    return wrap(fn) if fn is not None else wrap


def launch(fn, work: int, serial_below: int, *args):
    """``fn(*args)``, on the calling thread alone when ``work < serial_below``.

    Below a family's measured threshold (``fastloss._core.consts``) a
    parallel region costs more than it saves, and with other processes busy
    on the cores its latency depends on theirs.  The same compiled kernel runs
    with Numba's thread count set to 1 for this thread only (Numba keeps it
    per thread), so results are bitwise identical to the parallel path
    (fixed chunks, see ``CHUNK``) and no second specialisation is compiled.
    Measured per small call: ~0.6 us for the two thread-count calls against
    ~1.5 us for a ``parallel=False`` twin's extra dispatch and a second
    compile (docs/design.md).
    """
    if work >= serial_below:
        return fn(*args)
    before = _get_threads()
    if before == 1:
        return fn(*args)
    _set_threads(1)
    try:
        return fn(*args)
    finally:
        _set_threads(before)


def threading_layer() -> str:
    return _parallel._threading_layer


__all__ = ["FASTMATH", "CHUNK", "kernel", "launch", "numba", "threading_layer"]
