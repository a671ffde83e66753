"""The benchmark table: one entry per (function, variant), shared by
``fastloss bench`` and the pytest-benchmark suite in ``bench/``.

Each family lists its cases in ``fastloss/bench/cases/<family>.py`` as
``CASES = [Case(...), ...]``.  A case knows how to build its inputs for each
shape and gives ``{library: callable(data)}``: ``"fastloss"`` first, then the
NumPy formulation and the baselines (PyTorch, scikit-learn, jiwer, ...) that
are installed.  Baselines are imported only inside ``impls()``, so listing the
cases imports nothing heavy.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

FAMILIES = ("regression", "classification", "embedding", "ctc", "rnnt", "decode", "metrics", "ood", "scores", "likelihood",
            "states")


@dataclass(frozen=True)
class Shape:
    label: str  # short, shown in tables: "1e6", "4096x32000", "T500 N32 C30"
    params: dict  # passed to Case.make
    quick: bool = False  # part of ``fastloss bench --quick`` (keep each quick shape < ~2 s for all libraries)


@dataclass(frozen=True)
class Case:
    func: str  # public fastloss name, e.g. "huber_loss"
    family: str
    variant: str  # "forward" or "forward+grad" (what is timed, for every library alike)
    shapes: tuple  # of Shape
    make: Callable[[dict, np.random.Generator], Any]  # inputs for one shape
    impls: Callable[[], dict]  # {library: fn(data)}; only installed libraries
    note: str = field(default="")

    def group(self, shape: Shape) -> str:
        return f"{self.func}[{self.variant}]|{shape.label}"


#: ``fastloss bench --quick`` without ``--family``/``--func``: a tour of the headline cases of the
#: families (float32 where a case has a dtype), chosen so that the very first run on a fresh
#: install, compiling included, stays under a minute on 2 cores (issue 11; measured in
#: docs/benchmarks.md, "First run").  Every kernel compile costs seconds (CTC loss ~20 s, the LM
#: decoder ~30 s), so the tour keeps one case per headline function and leaves out the float64
#: twins, the LM decoder, RNN-T and the embedding losses.  ``fastloss bench --quick --family F`` runs every quick shape of family F.
TOUR = frozenset({
    "huber_loss[forward]|1e6 float32",
    "mse_loss[forward+grad]|1e6 float32",
    "cross_entropy[forward]|256x1000 float32",
    "cross_entropy[forward+grad]|256x1000 float32",
    "ctc_loss[forward+grad]|T500 N32 C30 L100 float32",
    "ctc_greedy_decode[forward]|T500 N32 C29",
    "wer[forward]|5k pairs",
    "roc_auc[forward]|1e5 1%pos",
    "confusion_matrix[forward]|1e5 C10",
    "matthews_corrcoef[forward]|1e5",
    "ood_metrics[forward]|1e5+1e4",
    "ConfusionMatrix[update+compute]|100x1e3",
})


def picked(case: Case, quick: bool = False, tour: bool = False) -> list:
    """The shapes of ``case`` a run uses: all, the quick ones, or those in :data:`TOUR`."""
    if tour:
        return [s for s in case.shapes if case.group(s) in TOUR]
    return [s for s in case.shapes if s.quick or not quick]


def optional(module: str):
    """Import an optional baseline, or return None when it is not installed."""
    try:
        return importlib.import_module(module)
    except Exception:  # ImportError, or a broken install
        return None


def all_cases(families=FAMILIES) -> list:
    cases = []
    for fam in families:
        try:
            mod = importlib.import_module(f"{__name__}.{fam}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{fam}":
                continue
            raise
        cases.extend(mod.CASES)
    return cases
