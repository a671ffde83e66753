"""Root conftest: doctests run over fastloss/ and docs/ (see pyproject.toml).

Modules that need an optional package are skipped from doctest collection
when it is not installed, so the suite passes without the ``compare`` extras.
"""
import importlib.util

collect_ignore = ["bench"]
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("fastloss/torch.py")
if importlib.util.find_spec("matplotlib") is None:
    collect_ignore.append("fastloss/metrics/calibration.py")
if importlib.util.find_spec("dask") is None or importlib.util.find_spec("distributed") is None:
    collect_ignore += ["fastloss/dask.py", "docs/dask.md"]
