"""The bench report: table columns, JSON metadata, the summary chart (no timing here)."""
import json

import pytest

from fastloss.bench import plot as bplot
from fastloss.bench import run as brun


def _results():
    R = brun.Result
    rows = []
    for n in (10**4, 10**6):
        for lib, t in (("fastloss", 1e-3), ("torch", 5e-3), ("numpy", 2e-2)):
            rows.append(R("binary_cross_entropy_with_logits", "forward+grad", "classification", f"{n} float32", lib,
                          t * n / 1e4, t, 3, params={"n": n, "dtype": "float32"}))
    for c in (10, 1000):  # same n, other class count: not a size sweep
        for lib, t in (("fastloss", 1e-3), ("sklearn", 4e-3)):
            rows.append(R("roc_auc", "forward", "metrics", f"1e5 C{c}", lib, t, t, 3, params={"n": 10**5, "c": c}))
    for r in rows:
        base = next(x.median_s for x in rows if x.func == r.func and x.shape == r.shape and x.library == "fastloss")
        r.speedup = r.median_s / base
    return rows


def test_table_columns_never_run_together():
    text = brun.table(_results())
    lines = text.splitlines()
    assert "binary_cross_entropy_with_logits  forward+grad" in lines[1]
    assert "5.00x" in text and "20.00x" in text
    md = brun.table(_results(), markdown=True)
    assert md.splitlines()[0].startswith("| function |")


def test_sweeps_join_only_shapes_that_differ_in_n():
    sw = bplot.sweeps(_results())
    assert len(sw) == 1
    (func, variant, rest), libs = next(iter(sw.items()))
    assert func == "binary_cross_entropy_with_logits" and sorted(libs) == ["fastloss", "numpy", "torch"]


def test_speedups_per_family():
    sp = bplot.speedups(_results())
    assert set(sp) == {"classification", "metrics"}
    label, peers = sp["classification"][0]
    assert peers == {"torch": pytest.approx(5.0), "numpy": pytest.approx(20.0)}


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "b.png"
    bplot.plot(_results(), str(out), cpu="test cpu")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fixed_colours():
    assert bplot.colour("torch") == bplot.PEER_COLOURS["torch"]
    assert bplot.colour("some-new-peer") == bplot.colour("some-new-peer")


def test_plot_is_checked_before_running(tmp_path):
    with pytest.raises(SystemExit, match="does not exist"):
        bplot.check_backend(str(tmp_path / "missing" / "x.png"))
    with pytest.raises(SystemExit, match="png"):
        bplot.check_backend(str(tmp_path / "x.txt"))


def test_json_records_the_cpu(tmp_path):
    path = tmp_path / "r.json"
    brun.write_json(_results(), str(path))
    meta = json.loads(path.read_text())["meta"]
    assert meta["cpu"]["model"] and isinstance(meta["cpu"]["flags"], list)


def test_every_case_resolves_its_fastloss_function():
    from fastloss.bench.cases import all_cases

    cases = all_cases()
    assert cases
    for case in cases:
        assert callable(case.impls()["fastloss"]), case.func
