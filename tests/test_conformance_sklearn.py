"""scikit-learn's own metric tests, run against fastloss (issue 12).

scikit-learn ships ``sklearn/metrics/tests/test_ranking.py`` and
``test_classification.py`` in its wheel.  This module imports them, points
their module-level metric names at ``tests/sklearn_shim.py`` (which forwards
to fastloss, adapting names only), and re-exports every test that calls one
of those names, directly or through the test module's own helpers, so pytest
runs it here.  Each ends as:

* a pass;
* an expected failure listed in ``conformance.SKLEARN_UNSUPPORTED`` with its
  reason, each reason a row of the fidelity table in ``docs/fidelity.md``
  (strict: a listed test that starts passing fails, so the list stays true);
* otherwise a failure, which fails CI.

Tests that exercise none of the shimmed names are not collected: they test
scikit-learn, not fastloss.  Slow ones are marked ``slow``.
"""
import importlib
import types

import pytest

pytest.importorskip("sklearn")
import conformance  # noqa: E402
import sklearn_shim  # noqa: E402

MODULES = ("sklearn.metrics.tests.test_ranking", "sklearn.metrics.tests.test_classification")


@pytest.fixture
def global_random_seed():
    # scikit-learn's conftest fixture (its default seed, 42)
    return 42


def _uses_shim(fn, module, seen):
    """Whether ``fn`` reaches a shimmed name through the module's globals."""
    code = fn.__code__
    names = set(code.co_names)
    for const in code.co_consts:  # nested functions / lambdas
        if isinstance(const, types.CodeType):
            names |= set(const.co_names)
    if names & set(sklearn_shim.SHIMS):
        return True
    for n in names:
        obj = module.__dict__.get(n)
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__ and obj not in seen:
            seen.add(obj)
            if _uses_shim(obj, module, seen):
                return True
    return False


def _export():
    for modname in MODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:  # pragma: no cover - wheel without tests
            continue
        for name, obj in sklearn_shim.SHIMS.items():
            if name in module.__dict__:
                module.__dict__[name] = obj
        short = modname.rsplit(".", 1)[1]
        for name, fn in list(module.__dict__.items()):
            if not (name.startswith("test_") and isinstance(fn, types.FunctionType)):
                continue
            if not _uses_shim(fn, module, set()):
                continue
            key = f"{short}::{name}"
            reason = conformance.SKLEARN_UNSUPPORTED.get(key)
            if reason is not None:
                fn = pytest.mark.xfail(reason=reason, strict=True)(fn)
            if key in conformance.SKLEARN_SLOW:
                fn = pytest.mark.slow(fn)
            globals()[f"test_sk_{short[5:]}__{name[5:]}"] = fn


_export()


def test_every_unsupported_reason_is_in_the_docs():
    import pathlib

    doc = (pathlib.Path(__file__).parents[1] / "docs" / "fidelity.md").read_text()
    for reason in set(conformance.SKLEARN_UNSUPPORTED.values()) | set(conformance.TORCH_UNSUPPORTED.values()):
        assert reason in doc, reason
