"""What every domain shares: argument checks, the elementwise driver, the
streaming accumulator, Numba options and shared math kernels.

``_core`` imports nothing from the domains.  ``consts``, ``checks``,
``driver`` and ``streaming`` import no Numba; ``jit`` and ``math`` do, and
are imported only by kernel modules (``fastloss/_kernels``), lazily.
"""
