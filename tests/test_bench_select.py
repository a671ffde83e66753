"""What `fastloss bench --quick` runs and what its first run compiles (no kernels run here)."""
from __future__ import annotations

from fastloss.bench import cases, run, warmup


def test_tour_names_existing_cases_only():
    groups = {case.group(shape) for case in cases.all_cases() for shape in case.shapes}
    missing = sorted(cases.TOUR - groups)
    assert not missing, f"tour entries with no case (renamed?): {missing}"


def test_quick_without_family_is_the_tour():
    plan = run.select(None, None, quick=True)
    assert {case.group(shape) for case, shape in plan} == set(cases.TOUR)
    assert len(plan) == len(cases.TOUR)


def test_quick_with_family_or_func_keeps_every_quick_shape():
    fam = run.select(["regression"], None, quick=True)
    expect = [(c.group(s)) for c in cases.all_cases(("regression",)) for s in c.shapes if s.quick]
    assert [c.group(s) for c, s in fam] == expect and len(expect) > 2
    func = run.select(None, ["huber_loss"], quick=True)
    assert {c.func for c, _ in func} == {"huber_loss"} and len(func) >= 2


def test_first_run_compiles_what_the_run_calls():
    tour = {c.group(s) for c, s, _ in warmup.calls(None, quick=True, tour=True)}
    assert tour <= set(cases.TOUR)
    # every tour case is warmed through its own smallest shape of each dtype
    assert {(c.func, c.variant) for c, s, _ in warmup.calls(None, True, True)} == {
        (c.func, c.variant) for c, _ in run.select(None, None, True)}
    full = warmup.calls(["regression"], quick=True)
    assert len(full) > len([1 for c, s, _ in warmup.calls(["regression"], True, True)])
