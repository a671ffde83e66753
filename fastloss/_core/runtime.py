"""Process-level set-up that must happen before Numba runs a kernel: the
threading layer and where compiled kernels are cached.

This module imports no Numba (``fastloss info`` and ``fastloss cache clear``
read the cache location from here); :mod:`fastloss._core.jit` calls
:func:`prepare_threading` before it imports Numba and :func:`install_cache_locator`
right after.

Threading layer
---------------
Numba's layers on Linux: ``omp`` (GNU OpenMP, the default of the PyPI
wheels) kills a forked child that runs a parallel kernel after its parent did
("fork() called from a process already using GNU OpenMP") - PyTorch
``DataLoader`` workers and ``multiprocessing`` fork pools die or hang;
``workqueue`` aborts the process when two threads run parallel code at once.
``tbb`` is both fork- and thread-safe, and fastloss depends on the ``tbb``
wheel for it.  That wheel puts ``libtbb.so.12`` in the environment's ``lib/``
directory, which the dynamic loader does not search, so Numba alone cannot
load it; :func:`prepare_threading` loads it by absolute path with
``RTLD_GLOBAL`` before Numba chooses its layer, after which Numba's default
order (tbb, omp, workqueue) picks tbb.  Nothing for the user to set.

A user who sets ``NUMBA_THREADING_LAYER`` keeps their choice: ``tbb``,
``safe``, ``threadsafe``, ``forksafe`` and ``default`` get the preloaded TBB
where Numba can use it; ``omp`` or ``workqueue`` (or any layer that ends up
being used when TBB cannot be loaded) trigger one :class:`FastlossWarning` at
the first kernel call naming what is unsafe with that layer.  fastloss never
overrides the user's setting and never raises because of it.

Kernel cache
------------
Numba writes its cache next to the module when it can, i.e. into
``site-packages/fastloss`` for a regular install; pip does not own those
files, so an uninstall leaves a directory behind that later imports as an
empty namespace package.  fastloss registers a cache locator for its own
kernels only, which puts them in a per-user directory::

    <NUMBA_CACHE_DIR>                       if set (Numba's own layout), else
    <cache home>/fastloss/<version>/<cpu>/<install>/<module dir>

``<cache home>`` is ``$XDG_CACHE_HOME`` or ``~/.cache`` (``~/Library/Caches``
on macOS, ``%LOCALAPPDATA%`` on Windows); when it is not writable, a
directory in the system temporary directory (``fastloss-<user>``) is used.
``<version>`` is fastloss's version, ``<cpu>`` the LLVM host CPU name and a
hash of its feature flags (two CPU types never load each other's machine
code), ``<install>`` a hash of the package's location, so that a clone and an
installed copy (or two clones) do not invalidate each other's entries.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import tempfile
import warnings

#: Layers that are both fork- and thread-safe.
SAFE_LAYERS = frozenset({"tbb"})

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_tbb_path: str | None = None  # the libtbb loaded by prepare_threading
_tbb_error: str | None = None
_warned = False


class FastlossWarning(UserWarning):
    """A fastloss set-up issue the user should know about (not a wrong value)."""


# --------------------------------------------------------------------------
# Threading layer
# --------------------------------------------------------------------------

def _tbb_names() -> tuple[str, ...]:
    if sys.platform.startswith("win"):
        return ("tbb12.dll",)
    if sys.platform == "darwin":
        return ("libtbb.12.dylib",)
    return ("libtbb.so.12",)


def _tbb_candidates() -> list[str]:
    """Where the ``tbb`` wheel puts its library: ``<prefix>/lib`` of the
    environment (``Library/bin`` on Windows), the user base for ``pip install
    --user``; the wheel's RECORD is the fallback."""
    dirs = []
    for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix):
        dirs += [os.path.join(prefix, "lib"), os.path.join(prefix, "Library", "bin")]
    try:
        import site

        dirs.append(os.path.join(site.getuserbase(), "lib"))
    except Exception:  # pragma: no cover - unusual site set-ups
        pass
    out = []
    for d in dict.fromkeys(dirs):
        for name in _tbb_names():
            p = os.path.join(d, name)
            if os.path.exists(p):
                out.append(p)
    if not out:
        try:
            from importlib import metadata

            for f in metadata.files("tbb") or ():
                if os.path.basename(str(f)) in _tbb_names():
                    out.append(str(f.locate()))
        except Exception:
            pass
    return out


def requested_layer() -> str:
    """The user's ``NUMBA_THREADING_LAYER`` (lower case), ``'default'`` if unset."""
    return os.environ.get("NUMBA_THREADING_LAYER", "default").strip().lower() or "default"


def prepare_threading() -> None:
    """Make the ``tbb`` wheel's library loadable by Numba (before Numba picks
    its threading layer).  Never raises: without TBB, Numba picks another
    layer and :func:`check_layer` warns at the first kernel call."""
    global _tbb_path, _tbb_error
    if _tbb_path is not None or _tbb_error is not None:
        return
    if requested_layer() in ("omp", "workqueue"):
        _tbb_error = f"not loaded: NUMBA_THREADING_LAYER={requested_layer()}"
        return
    errors = []
    for path in _tbb_candidates():
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:
            errors.append(f"{path}: {exc}")
            continue
        _tbb_path = path
        return
    _tbb_error = "; ".join(errors) or "the tbb package is not installed (pip install tbb)"


def tbb_status() -> str:
    return _tbb_path if _tbb_path is not None else f"not loaded ({_tbb_error or 'not tried yet'})"


_UNSAFE = {
    "omp": "GNU OpenMP is not fork-safe: a forked child (multiprocessing 'fork' "
    "pools, torch DataLoader workers, os.fork) that calls fastloss after this "
    "process did is killed by OpenMP",
    "workqueue": "the workqueue layer is not thread-safe: two Python threads calling "
    "fastloss at the same time abort the process",
}


def check_layer(layer: str) -> None:
    """Warn once per process when the active layer is not fork- and thread-safe."""
    global _warned
    if _warned or layer in SAFE_LAYERS:
        return
    _warned = True
    why = _UNSAFE.get(layer, f"the {layer!r} layer is not known to be fork- and thread-safe")
    how = (
        f"NUMBA_THREADING_LAYER={os.environ['NUMBA_THREADING_LAYER']} is set; unset it"
        if "NUMBA_THREADING_LAYER" in os.environ
        else f"TBB could not be loaded ({_tbb_error or 'Numba chose another layer first'}); pip install tbb"
    )
    warnings.warn(
        f"fastloss runs on Numba's {layer!r} threading layer: {why}. {how} to get the "
        f"fork- and thread-safe 'tbb' layer (see `fastloss info`).",
        FastlossWarning,
        stacklevel=4,
    )


# --------------------------------------------------------------------------
# Kernel cache
# --------------------------------------------------------------------------

def _version() -> str:
    mod = sys.modules.get("fastloss")
    return getattr(mod, "__version__", None) or "unknown"


def cache_home() -> str:
    """The per-user cache root (without the ``fastloss`` part)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return xdg
    if sys.platform.startswith("win"):
        return os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches")
    return os.path.join(os.path.expanduser("~"), ".cache")


def _fallback_root() -> str:
    try:
        user = str(os.getuid())
    except AttributeError:  # pragma: no cover - Windows
        user = os.environ.get("USERNAME", "user")
    return os.path.join(tempfile.gettempdir(), f"fastloss-{user}")


def cache_roots() -> list[str]:
    """Candidate ``fastloss`` cache roots, in order of preference."""
    return [os.path.join(cache_home(), "fastloss"), _fallback_root()]


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def cpu_key() -> str:
    """LLVM host CPU name and a hash of its features (as Numba compiles for
    them; ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` override both)."""
    name = os.environ.get("NUMBA_CPU_NAME")
    feats = os.environ.get("NUMBA_CPU_FEATURES")
    if name is None or feats is None:
        from llvmlite import binding

        name = name or binding.get_host_cpu_name()
        feats = feats if feats is not None else binding.get_host_cpu_features().flatten()
    return f"{name}-{hashlib.sha1(feats.encode()).hexdigest()[:8]}"


_cache_dir: str | None = None


def cache_dir() -> str:
    """Where this process caches fastloss's kernels (created if needed)."""
    global _cache_dir
    if _cache_dir is None:
        user = os.environ.get("NUMBA_CACHE_DIR")
        if user:
            _cache_dir = user
        else:
            install = hashlib.sha1(_PACKAGE_DIR.encode()).hexdigest()[:10]
            tail = os.path.join(_version(), cpu_key(), install)
            for root in cache_roots():
                if _writable(os.path.join(root, tail)):
                    _cache_dir = os.path.join(root, tail)
                    break
            else:  # nothing writable: a private directory for this process only
                _cache_dir = tempfile.mkdtemp(prefix="fastloss-")
    return _cache_dir


def install_cache_locator() -> bool:
    """Register the cache locator of fastloss's kernels with Numba (once).

    Uses Numba's locator protocol (``numba.core.caching``); if a future Numba
    changes it, fastloss falls back to Numba's own locators (``fastloss
    info`` then shows ``numba default``)."""
    try:
        from numba.core import caching, config
    except ImportError:  # pragma: no cover
        return False
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    if impl is None:  # pragma: no cover - a Numba without this protocol
        return False
    if any(getattr(c, "_fastloss", False) for c in impl._locator_classes):
        return True
    try:
        base = (caching._SourceFileBackedLocatorMixin, caching._CacheLocator)
    except AttributeError:  # pragma: no cover - a Numba without this protocol
        return False

    class FastlossCacheLocator(*base):
        """fastloss's kernels, cached under :func:`cache_dir`; every other
        function is left to Numba's own locators."""

        _fastloss = True

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            rel = os.path.relpath(os.path.dirname(os.path.abspath(py_file)), _PACKAGE_DIR)
            self._cache_path = os.path.join(cache_dir(), rel)

        def get_cache_path(self):
            return self._cache_path

        @classmethod
        def from_function(cls, py_func, py_file):
            if config.CACHE_DIR:  # NUMBA_CACHE_DIR: Numba's UserProvidedCacheLocator
                return None
            path = os.path.abspath(py_file)
            if not path.startswith(_PACKAGE_DIR + os.sep):
                return None
            return super().from_function(py_func, py_file)

    impl._locator_classes.insert(0, FastlossCacheLocator)
    return True


def clear_cache() -> tuple[list[str], int]:
    """Remove every fastloss cache root (all versions and CPUs); returns the
    roots removed and the bytes freed.  A user-set ``NUMBA_CACHE_DIR`` is
    Numba's, shared with other code, and is left alone."""
    import shutil

    removed, freed = [], 0
    for root in cache_roots():
        if not os.path.isdir(root):
            continue
        for dirpath, _, files in os.walk(root):
            for f in files:
                try:
                    freed += os.path.getsize(os.path.join(dirpath, f))
                except OSError:
                    pass
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed, freed


# --------------------------------------------------------------------------
# Start-up
# --------------------------------------------------------------------------

def defer_blas_check() -> None:
    """Import ``numba.np.arraymath`` without its eager ``scipy.linalg`` import.

    Numba imports ``numba.np.arraymath`` when it loads the first cached
    kernel, and that module checks at import that BLAS is available by
    importing ``scipy.linalg.cython_blas`` - which pulls in all of
    ``scipy.linalg``: measured as the largest single item of a warm-cache
    first call (docs/design.md).  No fastloss kernel uses BLAS.  When SciPy
    is installed, the answer of that check is known without importing it, so
    the check is skipped at import and the real ``ensure_blas`` is restored
    right after: any code that compiles ``np.dot`` & co. still runs Numba's
    full check (and imports SciPy) at that point.  Without SciPy, or with a
    Numba whose internals differ, nothing is changed.
    """
    if "numba.np.arraymath" in sys.modules:
        return
    import importlib.util

    try:
        if importlib.util.find_spec("scipy") is None:
            return
        from numba.np import linalg
    except ImportError:  # pragma: no cover
        return
    real = getattr(linalg, "ensure_blas", None)
    if real is None:  # pragma: no cover
        return
    linalg.ensure_blas = lambda: None
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        linalg.ensure_blas = real


def defer_context_refresh() -> bool:
    """Load cached fastloss kernels without refreshing Numba's whole context.

    Numba's ``Cache.load_overload`` starts with ``target_context.refresh()``,
    which imports and installs every typing and lowering registry of Numba
    (``numba.np.npyimpl``, ``arrayobj``, ``mathimpl``, the typed containers,
    ...): measured 0.12 s of a 0.17 s warm-cache first call (after
    ``import numba``; docs/design.md, "Start-up").  Loading machine code from
    the cache needs none of it: it needs the NRT runtime (``rtsys``, whose
    symbols the object code links against), which is what this does instead.
    Every compile still refreshes first (Numba's ``CompilerBase`` does, and
    so does ``BaseContext.get_function``), so a later cache miss compiles
    exactly as before.  Applies to fastloss's own kernels only (functions
    defined in the ``fastloss`` package); other cached functions keep
    Numba's behaviour.  The deferred ``refresh`` keeps the SciPy-free BLAS
    check of :func:`defer_blas_check`.  Returns False, changing nothing, on
    a Numba whose internals differ.
    """
    try:
        from numba.core import caching
        from numba.core.cpu import CPUContext
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover
        return False
    real_load = caching.Cache.__dict__.get("load_overload")
    real_lar = CPUContext.__dict__.get("load_additional_registries")
    if real_load is None or real_lar is None or getattr(real_load, "__fastloss__", False):
        return False
    if not (hasattr(caching.Cache, "_load_overload") and hasattr(caching.Cache, "_guard_against_spurious_io_errors")):
        return False  # pragma: no cover

    def load_overload(self, sig, target_context):
        py_func = getattr(self, "_py_func", None)
        mod = getattr(py_func, "__module__", "") or ""
        if not (mod.startswith("fastloss.") and isinstance(target_context, CPUContext)):
            return real_load(self, sig, target_context)
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    def load_additional_registries(self):
        defer_blas_check()
        return real_lar(self)

    load_overload.__fastloss__ = True
    caching.Cache.load_overload = load_overload
    CPUContext.load_additional_registries = load_additional_registries
    return True
