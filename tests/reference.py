"""Slow, obviously-correct float64 twins of every public fastloss function.

Each family keeps its twins in ``tests/ref_<family>.py`` and registers them
with :func:`twin`; a twin is named ``<public name>_reference`` and written
for clarity (plain NumPy/Python, float64), never for speed, and
deliberately not like the production kernels.  ``tests/test_registry.py``
fails when a public name has no twin.
"""
from __future__ import annotations

import importlib
import pathlib

REFERENCES: dict = {}


def twin(fn):
    """Register ``<name>_reference`` as the twin of ``fastloss.<name>``."""
    name = fn.__name__
    assert name.endswith("_reference"), name
    REFERENCES[name[: -len("_reference")]] = fn
    return fn


def reduce(values, reduction: str):
    """PyTorch-style reduction of an array of per-element losses."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.mean() if values.size else np.nan


for _path in sorted(pathlib.Path(__file__).parent.glob("ref_*.py")):
    importlib.import_module(_path.stem)
