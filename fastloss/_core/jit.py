"""The one place that sets Numba options for every fastloss kernel.

Kernels import :func:`kernel` from here instead of calling ``numba.njit``
directly, so caching, threading and floating-point semantics are decided once:

* ``cache=True``: compiled machine code is stored on disk (``NUMBA_CACHE_DIR``
  or ``__pycache__`` next to the kernel module) so that a fresh process pays
  only the cache load, not the compile.
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

import numba

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


__all__ = ["FASTMATH", "CHUNK", "kernel", "numba"]
