"""Private Numba kernels, one module per family.

Kernels contain no argument checks and no Python objects: the public wrappers
(``fastloss/<domain>/<module>.py``; kernels mirror them as ``fastloss/_kernels/<domain>/<module>.py``) validate and normalise every argument first, so a
kernel never reads out of bounds.  Importing anything here imports Numba; the
wrappers therefore import these modules lazily, on first call.
"""
