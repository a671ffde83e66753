"""The gallery (examples/): every script runs, writes its figures, and shows what it says.

The quick versions of all examples run once, in one subprocess (`examples/run_all.py
--quick --json`), so Python, Numba, scikit-learn and matplotlib start once; each test then
checks one example's result: no error, its PNG files exist, and the claim its text makes
holds (the Huber line is closer to the clean line than the MSE line, weighting helps the
rare class, ...). The full-size run is the slow twin. The examples need scikit-learn (their
data) and matplotlib: without them these tests are skipped.
"""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
NAMES = sorted(f[:-3] for f in os.listdir(EXAMPLES) if f[:2].isdigit() and f.endswith(".py"))


def run_gallery(out, quick):
    results = os.path.join(out, "results.json")
    env = dict(os.environ)
    # the fastloss of this checkout, not whatever an installed copy points at
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in [env.get("PYTHONPATH")] if p])
    cmd = [sys.executable, os.path.join(EXAMPLES, "run_all.py"), out, "--json", results]
    proc = subprocess.run(cmd + (["--quick"] if quick else []), env=env, capture_output=True,
                          text=True, timeout=900)
    assert os.path.exists(results), proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(results) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    return run_gallery(str(tmp_path_factory.mktemp("gallery")), quick=True)


def check_huber(n):
    assert n["Huber gap to clean line"] < 0.5 * n["MSE gap to clean line"]
    assert n["L1 gap to clean line"] < 0.5 * n["MSE gap to clean line"]
    assert n["Huber test MAE (sd)"] < n["MSE test MAE (sd)"]


def check_bce(n):
    assert n["final train BCE"] < 0.25 < 0.69  # from log 2 at the zero start
    assert n["test accuracy @0.5"] > 0.9 and n["test ROC AUC"] > 0.95
    assert n["best F1"] >= n["F1 @0.5"]


def check_softmax(n):
    assert n["hard targets: test accuracy"] > 0.85
    assert n["label smoothing 0.1: test accuracy"] > 0.85
    assert n["label smoothing 0.1: mean top probability"] < n["hard targets: mean top probability"]


def check_svm(n):
    assert n["iris: training accuracy"] > 0.85 and n["iris: points on or inside the margin"] > 0
    assert n["wine 13 features, Crammer-Singer: test accuracy"] > 0.9
    assert n["wine 13 features, Weston-Watkins: test accuracy"] > 0.9


def check_focal(n):
    plain = n["plain BCE: mean AP"]
    assert n["weighted BCE: mean AP"] > plain
    assert n["focal (gamma 2, alpha 0.75): mean AP"] > plain
    assert n["weighted BCE: mean F1 @0.5"] > n["plain BCE: mean F1 @0.5"] + 0.2


def check_quantile(n):
    assert n["q=0.1: test fraction below"] < n["q=0.5: test fraction below"] < n["q=0.9: test fraction below"]
    assert 0.6 < n["10-90% interval coverage (test)"] < 0.95


def check_embeddings(n):
    before = n["before (random map): test recall@1"]
    assert n["contrastive: test recall@1"] > before + 0.1
    assert n["batch-hard triplet: test recall@1"] > before + 0.1


def check_kl(n):
    assert n["train KL, last step"] < 0.5 * n["train KL, first step"]
    assert n["distilled student (16 pixels): test accuracy"] > 0.6


def check_ctc(n):
    assert n["CTC loss, last step (per label)"] < n["CTC loss, first step (per label)"] / 10
    assert n["test CER, greedy"] < 0.3
    assert n["test CER, beam search (8)"] <= n["test CER, greedy"] + 0.02


def check_imbalanced(n):
    assert n["balanced weights: macro F1"] > n["unweighted: macro F1"]
    # the same scores: ROC does not move with the prevalence, average precision does
    assert n["9 vs rest, 10% nines: ROC AUC"] == pytest.approx(n["9 vs rest, ~1% nines (weighted): ROC AUC"],
                                                               abs=1e-12)
    assert n["9 vs rest, ~1% nines (weighted): AP"] < n["9 vs rest, 10% nines: AP"] - 0.1
    assert n["~1% nines: best F1"] >= n["~1% nines: F1 at threshold 0.5"]


def check_ood(n):
    for score in ("MSP", "energy", "neg. entropy"):
        assert 0.5 < n[f"{score}: AUROC"] <= 1 and 0 <= n[f"{score}: FPR@95TPR"] < 1
    assert n["unknown digits with MSP > 0.9"] > 0.1  # confidently wrong on unseen digits


def check_calibration(n):
    assert n["test ECE after"] < n["test ECE before"]
    assert n["test NLL after"] < n["test NLL before"]
    assert n["fitted temperature"] > 1  # the model was over-confident


CLAIMS = {
    "01_huber_outliers": check_huber,
    "02_logistic_bce": check_bce,
    "03_softmax_digits": check_softmax,
    "04_svm_hinge": check_svm,
    "05_focal_rare_class": check_focal,
    "06_quantile_intervals": check_quantile,
    "07_embeddings": check_embeddings,
    "08_kl_distillation": check_kl,
    "09_ctc_digit_strings": check_ctc,
    "10_imbalanced_evaluation": check_imbalanced,
    "11_ood_digits": check_ood,
    "12_calibration": check_calibration,
}


def check(result):
    assert result["error"] is None, result["error"]
    assert result["figures"]
    for path in result["figures"]:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", path


def test_every_example_has_a_claim():
    assert sorted(CLAIMS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_example_quick(quick_results, name):
    check(quick_results[name])
    CLAIMS[name](quick_results[name]["numbers"])


@pytest.mark.slow
def test_examples_full_size(tmp_path):
    results = run_gallery(str(tmp_path), quick=False)
    assert sorted(results) == NAMES
    for name in NAMES:
        check(results[name])
        CLAIMS[name](results[name]["numbers"])


def test_gallery_page_shows_every_example():
    page = os.path.join(ROOT, "docs", "gallery.md")
    with open(page) as f:
        text = f.read()
    for name in NAMES:
        assert f"examples/{name}.py" in text, name
    for line in text.splitlines():
        if line.startswith("!["):
            target = line[line.index("](") + 2 : -1]
            assert os.path.exists(os.path.join(ROOT, "docs", target)), target
