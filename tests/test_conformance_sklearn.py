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

MODULES = ("sklearn.metrics.tests.test_ranking", "sklearn.metrics.tests.test_classification",
           "sklearn.tests.test_calibration")


@pytest.fixture
def global_random_seed():
    # scikit-learn's conftest fixture (its default seed, 42)
    return 42


@pytest.fixture
def pyplot():
    # scikit-learn's conftest fixture (matplotlib, figures closed around the test)
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.close("all")
    yield plt
    plt.close("all")


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


def _swap(value, originals):
    """``value`` with scikit-learn's functions replaced by their shims (also
    inside tuples and ``pytest.param``), and whether any was replaced."""
    try:
        if value in originals:
            return originals[value], True
    except TypeError:  # unhashable parameter value
        return value, False
    if isinstance(value, tuple) and type(value) is tuple:
        pairs = [_swap(v, originals) for v in value]
        return tuple(v for v, _ in pairs), any(hit for _, hit in pairs)
    if type(value).__name__ == "ParameterSet":
        inner, hit = _swap(tuple(value.values), originals)
        return value._replace(values=inner), hit
    return value, False


def _swap_params(fn, originals) -> bool:
    """Point ``@pytest.mark.parametrize`` values that are scikit-learn
    metrics (bound when scikit-learn's module was imported, before the
    shims) at the shims; True if the test takes any."""
    marks = getattr(fn, "pytestmark", [])
    hit_any = False
    new = []
    for mark in marks:
        if mark.name == "parametrize" and len(mark.args) >= 2:
            values, hit = [], False
            for v in mark.args[1]:
                v2, h = _swap(v, originals)
                values.append(v2)
                hit |= h
            if hit:
                mark = pytest.mark.parametrize(mark.args[0], values, *mark.args[2:], **mark.kwargs).mark
                hit_any = True
        new.append(mark)
    if hit_any:
        fn.pytestmark = new
    return hit_any


def _export():
    for modname in MODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:  # pragma: no cover - wheel without tests
            continue
        originals = {}
        for name, obj in sklearn_shim.SHIMS.items():
            if name in module.__dict__:
                if module.__dict__[name] is not obj:
                    originals[module.__dict__[name]] = obj
                module.__dict__[name] = obj
        short = modname.rsplit(".", 1)[1]
        for name, obj in module.__dict__.items():  # the test module's own fixtures (e.g. ``data``)
            if type(obj).__name__ == "FixtureFunctionDefinition" and name not in globals():
                globals()[name] = obj
        for name, fn in list(module.__dict__.items()):
            if not (name.startswith("test_") and isinstance(fn, types.FunctionType)):
                continue
            swapped = _swap_params(fn, originals)
            if not (_uses_shim(fn, module, set()) or swapped):
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
