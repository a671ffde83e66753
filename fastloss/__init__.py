"""fastloss: fast, exact losses, gradients and evaluation scores on the CPU.

Kernels are Numba-JIT parallel loops compiled on first use and cached on disk;
``import fastloss`` imports neither Numba nor PyTorch.  Public names live here;
the code is grouped by domain (``fastloss.losses``, ``fastloss.speech``,
``fastloss.metrics``; map in ``docs/design.md``).
"""
from __future__ import annotations

import sys as _sys

from ._core import runtime as _runtime

# Make the tbb wheel's library loadable now (a dlopen, ~1 ms; no Numba
# import), so that Numba picks its fork- and thread-safe TBB layer even when
# other code runs Numba's parallel code before fastloss's first kernel call.
_runtime.prepare_threading()

from . import losses, metrics, speech  # noqa: E402
from . import text  # noqa: F401,E402  (jiwer-style transforms, issue 16)
from ._core.streaming import LossAccumulator
from .losses import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .speech import *  # noqa: F401,F403

__version__ = "0.1.0"

__all__ = [*losses.__all__, *speech.__all__, *metrics.__all__, "LossAccumulator"]

# Module paths of 0.1.0 (flat layout), kept importable: ``import fastloss.ctc``
# and ``from fastloss.regression import huber_loss`` still work (CHANGELOG).
_MOVED = {
    "regression": losses.regression,
    "classification": losses.classification,
    "embedding": losses.embedding,
    "ctc": speech.ctc,
    "decode": speech.decode,
    "ood": metrics.ood,
    "calibration": metrics.calibration,
    "streaming": _sys.modules[LossAccumulator.__module__],
}
for _name, _module in _MOVED.items():
    globals()[_name] = _module
    _sys.modules[f"{__name__}.{_name}"] = _module
del _name, _module
