"""fastloss: fast, exact losses, gradients and evaluation scores on the CPU.

Kernels are Numba-JIT parallel loops compiled on first use and cached on disk;
``import fastloss`` imports neither Numba nor PyTorch.
"""
from __future__ import annotations

from . import calibration, classification, ctc, decode, embedding, metrics, ood, regression
from .calibration import *  # noqa: F401,F403
from .classification import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .decode import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .ood import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403
from .streaming import LossAccumulator

__version__ = "0.1.0"

__all__ = [
    *regression.__all__,
    *classification.__all__,
    *embedding.__all__,
    *ctc.__all__,
    *decode.__all__,
    *metrics.__all__,
    *ood.__all__,
    *calibration.__all__,
    "LossAccumulator",
]
