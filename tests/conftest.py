import os

import numpy as np
import pytest

# Hypothesis: deterministic, bounded (the suite must stay within minutes on 2 cores).
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "fastloss",
        max_examples=int(os.environ.get("FASTLOSS_HYPOTHESIS_EXAMPLES", "40")),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.load_profile("fastloss")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
