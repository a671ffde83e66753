"""Every public function has a reference twin (tests/reference.py)."""
import inspect

import fastloss
from reference import REFERENCES


def test_every_public_function_has_a_twin():
    public = [n for n in fastloss.__all__ if inspect.isfunction(getattr(fastloss, n))]
    missing = sorted(set(public) - set(REFERENCES))
    assert not missing, f"public functions without a reference twin: {missing}"


def test_no_twin_without_a_function():
    extra = sorted(set(REFERENCES) - set(fastloss.__all__))
    assert not extra, f"twins of functions that are not public: {extra}"
