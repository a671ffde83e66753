"""The package map of docs/design.md, enforced.

* public modules import no Numba at import time (each checked in a fresh
  interpreter);
* ``fastloss._core`` imports nothing from the domains;
* a domain (``losses``, ``speech``, ``metrics``) imports no other domain,
  except the exceptions named here;
* kernel modules (``fastloss._kernels.<domain>.<module>``) import only
  ``fastloss._core`` and their own domain's kernels.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "fastloss"
DOMAINS = ("losses", "speech", "metrics")
# Named exceptions to "domains do not import each other": (importer, imported).
EXCEPTIONS: set = set()


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path):
    """Absolute names of the fastloss modules ``path`` imports (anywhere in it)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("fastloss"):
                yield mod
                for alias in node.names:  # ``from . import ctc`` imports fastloss.<pkg>.ctc
                    yield f"{mod}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fastloss"):
                    yield alias.name


def _modules(sub):
    return sorted((ROOT / sub).rglob("*.py"))


def _domain(mod: str):
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAINS else None


def test_core_imports_no_domain():
    bad = [(_module_name(p), m) for p in _modules("_core") for m in _imports(p)
           if not m.startswith("fastloss._core") and m != "fastloss"]
    assert not bad, bad


@pytest.mark.parametrize("domain", DOMAINS)
def test_domains_do_not_import_each_other(domain):
    bad = []
    for p in _modules(domain):
        for m in _imports(p):
            other = _domain(m)
            if other not in (None, domain) and (domain, other) not in EXCEPTIONS:
                bad.append((_module_name(p), m))
            if m.startswith("fastloss._kernels.") and m.split(".")[2] != domain:
                bad.append((_module_name(p), m))
    assert not bad, bad


def test_kernels_import_only_core_and_their_domain():
    bad = []
    for p in _modules("_kernels"):
        name = _module_name(p)
        own = ".".join(name.split(".")[:3])
        for m in _imports(p):
            if not (m.startswith("fastloss._core") or m.startswith(own)):
                bad.append((name, m))
    assert not bad, bad


def _public_modules():
    skip = ("fastloss._kernels", "fastloss._core.jit", "fastloss._core.math", "fastloss.bench", "fastloss.torch",
            "fastloss.dask", "fastloss.cli", "fastloss.__main__")
    names = [_module_name(p) for p in sorted(ROOT.rglob("*.py"))]
    return [n for n in names if not n.startswith(skip)]


def test_public_modules_import_no_numba():
    code = (
        "import importlib, sys\n"
        f"for name in {_public_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "    assert 'numba' not in sys.modules, name\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_old_module_paths_still_import():
    code = (
        "import fastloss.ctc, fastloss.decode, fastloss.metrics, fastloss.regression\n"
        "from fastloss.classification import cross_entropy\n"
        "from fastloss.streaming import LossAccumulator\n"
        "import fastloss\n"
        "assert fastloss.ctc.ctc_loss is fastloss.ctc_loss\n"
        "assert fastloss.metrics.roc_auc is fastloss.roc_auc\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
