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
import functools
import importlib
import types

import pytest

pytest.importorskip("sklearn")
import conformance  # noqa: E402
import sklearn_shim  # noqa: E402

MODULES = ("sklearn.metrics.tests.test_ranking", "sklearn.metrics.tests.test_classification",
           "sklearn.metrics.tests.test_common", "sklearn.tests.test_calibration")


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
    inside ``functools.partial``, tuples and ``pytest.param``), and whether
    any was replaced."""
    try:
        if value in originals:
            return originals[value], True
    except TypeError:  # unhashable parameter value
        return value, False
    if isinstance(value, functools.partial) and value.func in originals:
        return functools.partial(originals[value.func], *value.args, **value.keywords), True
    if type(value) is tuple:
        pairs = [_swap(v, originals) for v in value]
        return tuple(v for v, _ in pairs), any(hit for _, hit in pairs)
    if type(value).__name__ == "ParameterSet":
        inner, hit = _swap(tuple(value.values), originals)
        return value._replace(values=inner), hit
    return value, False


def _names_in(value):
    """The strings in a parametrize value (itself, a tuple's, a pytest.param's)."""
    if isinstance(value, str):
        return {value}
    if type(value).__name__ == "ParameterSet":
        value = value.values
    if type(value) is tuple:
        return {v for v in value if isinstance(v, str)}
    return set()


def _swap_params(fn, originals, shimmed, unshimmed, key) -> bool | None:
    """Point ``@pytest.mark.parametrize`` values that are scikit-learn
    metrics (bound when scikit-learn's module was imported, before the
    shims) at the shims, and keep, of the values naming a metric of
    test_common's tables (``"weighted_f1_score"``), those fastloss has.
    A metric-name value listed as ``key[name]`` in
    ``conformance.SKLEARN_UNSUPPORTED`` becomes a strict expected failure.
    True if the test takes a shim; None if no parameter set is left."""
    marks = getattr(fn, "pytestmark", [])
    hit_any = False
    new = []
    for mark in marks:
        if mark.name == "parametrize" and len(mark.args) >= 2:
            values, hit, dropped = [], False, False
            for v in mark.args[1]:
                names = _names_in(v)
                if names & unshimmed:
                    dropped = True
                    continue
                v2, h = _swap(v, originals)
                reason = conformance.SKLEARN_UNSUPPORTED.get(f"{key}[{v}]") if isinstance(v, str) else None
                if reason is not None:
                    v2 = pytest.param(v2, marks=pytest.mark.xfail(reason=reason, strict=True))
                    hit = True
                values.append(v2)
                hit |= h or bool(names & shimmed)
            if dropped and not values:
                return None
            if hit or dropped:  # (rebuilt also when only expected failures were marked)
                mark = pytest.mark.parametrize(mark.args[0], values, *mark.args[2:], **mark.kwargs).mark
            hit_any |= hit
        new.append(mark)
    fn.pytestmark = new
    return hit_any


def _swap_tables(module, originals):
    """Shim the entries of test_common-style tables (``ALL_METRICS`` etc.,
    name -> metric or partial); returns (names now reaching fastloss, names
    of metrics fastloss does not have)."""
    shimmed, seen = set(), set()
    for gname, table in list(module.__dict__.items()):
        if not (gname.isupper() and isinstance(table, dict)):
            continue
        for key, v in list(table.items()):
            if not (isinstance(key, str) and callable(v)):
                continue
            seen.add(key)
            v2, hit = _swap(v, originals)
            if hit:
                table[key] = v2
                shimmed.add(key)
            elif isinstance(v, types.FunctionType) and _uses_shim(v, module, set()):
                shimmed.add(key)  # a lambda or helper calling a shimmed global
    return shimmed, seen - shimmed


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
        shimmed, unshimmed = _swap_tables(module, originals)
        short = modname.rsplit(".", 1)[1]
        for name, obj in module.__dict__.items():  # the test module's own fixtures (e.g. ``data``)
            if type(obj).__name__ == "FixtureFunctionDefinition" and name not in globals():
                globals()[name] = obj
        for name, fn in list(module.__dict__.items()):
            if not (name.startswith("test_") and isinstance(fn, types.FunctionType)):
                continue
            key = f"{short}::{name}"
            swapped = _swap_params(fn, originals, shimmed, unshimmed, key)
            if swapped is None or not (swapped or _uses_shim(fn, module, set())):
                continue
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
