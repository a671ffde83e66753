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
