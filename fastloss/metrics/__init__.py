"""Evaluation metrics: confusion-matrix metrics, ranking (AUC, AP, curves),
streaming curve states, out-of-distribution scores and calibration.

scikit-learn's semantics; ``fastloss.metrics.<name>`` and ``fastloss.<name>``
are the same functions.
"""
from __future__ import annotations

from . import calibration, confusion, ood, probabilistic, ranking, states, streaming
from .calibration import *  # noqa: F401,F403
from .confusion import *  # noqa: F401,F403
from .ood import *  # noqa: F401,F403
from .probabilistic import *  # noqa: F401,F403
from .ranking import *  # noqa: F401,F403
from .states import *  # noqa: F401,F403
from .states import ErrorRates  # noqa: F401  (not at top level: fastloss.ErrorRates is the result record)
from .streaming import *  # noqa: F401,F403

__all__ = [*confusion.__all__, *ranking.__all__, *streaming.__all__, *states.__all__, *ood.__all__, *calibration.__all__,
           *probabilistic.__all__]
