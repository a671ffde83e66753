"""Fork, thread and threading-layer safety; the kernel cache; the CLI.

Each scenario runs in its own subprocess (tests/runtime_child.py) with a
timeout, so a killed child, an abort or a hang fails one test instead of the
run; every scenario asserts values (bitwise equal to the parent's), not just
survival.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHILD = os.path.join(HERE, "runtime_child.py")
TIMEOUT = 900  # generous: the machine may be busy and the cache cold


def _run(mode, env=None, timeout=TIMEOUT):
    e = dict(os.environ)
    e.pop("NUMBA_THREADING_LAYER", None)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, e.get("PYTHONPATH")]))
    e.update(env or {})
    proc = subprocess.run([sys.executable, CHILD, mode], capture_output=True, text=True, timeout=timeout, env=e, cwd=HERE)
    assert proc.returncode == 0 and proc.stdout.startswith("OK"), (
        f"{mode}: exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-3000:]}"
    )
    return proc


def test_default_layer_is_safe():
    proc = subprocess.run(
        [sys.executable, "-c", "import fastloss._core.jit as j, fastloss._core.runtime as r; print(j.threading_layer(), r.tbb_status())"],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"},
    )
    assert proc.returncode == 0, proc.stderr
    layer = proc.stdout.split()[0]
    if layer != "tbb":
        pytest.skip(f"no TBB on this platform ({proc.stdout.strip()})")
    assert "FastlossWarning" not in proc.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_after_use():
    _run("fork")


def test_thread_pool_start_methods():
    _run("pools")


def test_eight_threads_every_family():
    _run("threads")


def test_torch_dataloader_workers():
    pytest.importorskip("torch")
    _run("dataloader")


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["tbb", "omp", "workqueue"])
def test_user_set_layer(layer):
    """A user-chosen layer is kept; values are right; an unsafe one warns once."""
    import importlib.util

    mod = {"tbb": "tbbpool", "omp": "omppool", "workqueue": "workqueue"}[layer]
    if importlib.util.find_spec(f"numba.np.ufunc.{mod}") is None:  # (in a slow test: imports numba)
        pytest.skip(f"this Numba build has no {layer} layer")
    proc = _run("layer", env={"NUMBA_THREADING_LAYER": layer})
    words = proc.stdout.split("|")[0].split()
    assert words[2] == layer
    assert int(words[3]) == (0 if layer == "tbb" else 1)
    if layer != "tbb":
        assert "NUMBA_THREADING_LAYER" in proc.stdout
    if layer == "tbb":  # fork- and thread-safe under the user's own setting too
        _run("fork", env={"NUMBA_THREADING_LAYER": layer})
        _run("threads", env={"NUMBA_THREADING_LAYER": layer})
    if layer == "omp":  # thread-safe (not fork-safe: documented, warned)
        _run("threads", env={"NUMBA_THREADING_LAYER": layer})


# ---------------------------------------------------------------------------
# Small inputs on the calling thread: the same bits as the parallel path
# ---------------------------------------------------------------------------

def test_serial_path_bitwise_equal_to_parallel(monkeypatch):
    import fastloss
    from fastloss._core import consts

    rng = np.random.default_rng(3)
    x = rng.standard_normal(3 * consts.CHUNK + 17).astype(np.float32)
    y = rng.standard_normal(x.size).astype(np.float32)
    logits = rng.standard_normal((1000, 40))  # 40,000 elements: above every threshold
    labels = rng.integers(0, 40, 1000)
    calls = [
        lambda: fastloss.huber_loss(x, y, return_grad=True),
        lambda: fastloss.mse_loss(x, y, reduction="none"),
        lambda: fastloss.cross_entropy(logits, labels, return_grad=True),
        lambda: fastloss.multi_margin_loss(logits, labels, return_grad=True),
    ]
    assert min(x.size, logits.size) >= max(consts.SERIAL_BELOW_ELEMENTWISE, consts.SERIAL_BELOW_ROWS,
                                           consts.SERIAL_BELOW_SOFTMAX)
    parallel = [c() for c in calls]
    import fastloss._core.driver as driver
    import fastloss.losses.classification as cls

    monkeypatch.setattr(driver, "SERIAL_BELOW_ELEMENTWISE", 1 << 40)
    monkeypatch.setattr(driver, "SERIAL_BELOW_ROWS", 1 << 40)
    monkeypatch.setattr(cls, "SERIAL_BELOW_SOFTMAX", 1 << 40)
    serial = [c() for c in calls]
    for p, s in zip(parallel, serial):
        for a, b in zip(p if isinstance(p, tuple) else (p,), s if isinstance(s, tuple) else (s,)):
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_launch_runs_the_serial_twin_below_the_threshold():
    import numba

    from fastloss._core import jit

    @jit.kernel(parallel=True, cache=False)
    def total(a):
        s = 0.0
        for i in numba.prange(a.size):
            s += a[i]
        return s

    # The twin is a separate function for Numba's cache (its own name), so a
    # cached parallel kernel is never loaded as the serial one or back.
    assert total.serial.py_func.__qualname__ == total.py_func.__qualname__ + "__serial"
    assert total.serial.targetoptions.get("parallel") in (None, False)
    assert total.targetoptions.get("parallel") is True
    a = np.arange(10.0)
    assert jit.launch(total, a.size, 100, a) == 45.0
    assert list(total.serial.overloads) and not list(total.overloads)
    assert jit.launch(total, a.size, 5, a) == 45.0
    assert list(total.overloads)


# ---------------------------------------------------------------------------
# Kernel cache location
# ---------------------------------------------------------------------------

def _cache_dir(env):
    e = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    e.update(env)
    proc = subprocess.run([sys.executable, "-m", "fastloss", "cache", "dir"], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=ROOT, env=e)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_cache_dir_respects_environment(tmp_path):
    import fastloss

    xdg = _cache_dir({"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert xdg.startswith(str(tmp_path / "xdg" / "fastloss" / fastloss.__version__))
    assert not xdg.startswith(os.path.dirname(fastloss.__file__))
    assert _cache_dir({"NUMBA_CACHE_DIR": str(tmp_path / "nb")}) == str(tmp_path / "nb")
    # Unwritable cache home (a regular file where a directory should be:
    # unwritable even for root): the temporary-directory fallback is used.
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    fallback = _cache_dir({"XDG_CACHE_HOME": str(blocked)})
    assert not fallback.startswith(str(blocked)) and "fastloss" in fallback


def test_kernels_cached_outside_package_and_cleared(tmp_path):
    code = (
        "import numpy as np, fastloss, os\n"
        "from fastloss._core import runtime\n"
        "fastloss.mse_loss(np.ones(3), np.zeros(3))\n"
        "print(runtime.cache_dir())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    where = proc.stdout.strip()
    files = [f for _, _, fs in os.walk(where) for f in fs if f.endswith(".nbi")]
    assert files, f"no index files under {where}"
    cpu = os.path.basename(os.path.dirname(where))
    assert "-" in cpu  # <cpu name>-<feature hash>
    proc = subprocess.run([sys.executable, "-m", "fastloss", "cache", "clear"], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=ROOT, env=env)
    assert proc.returncode == 0 and "removed" in proc.stdout, proc.stdout + proc.stderr
    assert not os.path.exists(os.path.join(str(tmp_path), "fastloss"))


def test_info_shows_cache_and_layer():
    proc = subprocess.run([sys.executable, "-m", "fastloss", "info"], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "kernel cache" in proc.stdout and "threading" in proc.stdout and "serial below" in proc.stdout


# ---------------------------------------------------------------------------
# The README's two install commands in sequence, in one fresh venv
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_install_sequence_leaves_nothing(tmp_path):
    """``pip install .`` then (after a run that fills the kernel cache)
    ``pip install -e .``, import from another directory, uninstall: nothing of
    fastloss is left in site-packages and ``import fastloss`` fails cleanly."""
    import shutil

    venv = tmp_path / "venv"
    # --without-pip: pip and setuptools come from this environment too (a
    # venv's bundled setuptools may be too old to build a wheel offline).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=600)
    py = str(venv / "bin" / "python")
    # The dependencies (numpy, numba, tbb, ...) come from this environment's
    # site-packages, appended to the new venv's path (offline CI); its .pth
    # files (e.g. an editable fastloss) are not processed, so fastloss itself
    # is only what the commands below install.
    import sysconfig

    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(purelib, "zz_parent_env.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", ".hypothesis", ".venv*", "venv"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def sh(*args, cwd=elsewhere, check=True):
        proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
        assert not check or proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return proc

    def site_dir():
        return sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()

    # --no-deps --no-build-isolation: the dependencies come from the parent
    # environment (offline CI); what is tested is where fastloss's files go.
    sh(py, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q", ".", cwd=src)
    run = "import numpy as np, fastloss; print(fastloss.__file__, fastloss.mse_loss(np.ones(4), np.zeros(4)))"
    out = sh(py, "-c", run).stdout
    assert str(venv) in out and "1.0" in out
    pkg = os.path.join(site_dir(), "fastloss")
    stray = [os.path.join(d, f) for d, _, fs in os.walk(pkg) for f in fs if f.endswith((".nbi", ".nbc"))]
    assert not stray, stray[:3]
    sh(py, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q", "-e", ".", cwd=src)
    out = sh(py, "-c", run).stdout
    assert str(src) in out and "1.0" in out
    assert not os.path.exists(pkg), os.listdir(pkg)
    sh(py, "-m", "fastloss", "info")
    sh(py, "-m", "pip", "uninstall", "-y", "-q", "fastloss")
    assert not os.path.exists(pkg)
    left = [f for f in os.listdir(site_dir()) if f.lower().startswith(("fastloss", "__editable__.fastloss"))]
    assert not left, left
    proc = sh(py, "-c", "import fastloss", check=False)
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr


def test_cache_load_defers_the_registries_and_compiles_still_work(tmp_path):
    """A warm-cache fastloss call loads machine code without Numba's typing
    and lowering registries (runtime.defer_context_refresh); anything that
    compiles afterwards (the user's own njit function, a fastloss kernel
    for a new signature) refreshes first and gives the right answer."""
    code = (
        "import sys, numpy as np, fastloss\n"
        "x = np.linspace(0, 1, 1000, dtype=np.float32); y = x[::-1].copy()\n"
        "v = float(fastloss.mse_loss(x, y))\n"
        "assert abs(v - float(np.mean((x.astype(np.float64) - y) ** 2))) < 1e-6, v\n"
        "print('npyimpl' if 'numba.np.npyimpl' in sys.modules else 'deferred')\n"
        "import numba\n"
        "f = numba.njit(lambda a: np.sum(np.sqrt(a)))\n"
        "assert abs(f(np.arange(4.0)) - np.sum(np.sqrt(np.arange(4.0)))) < 1e-12\n"
        "h = fastloss.huber_loss(x.astype(np.float16).astype(np.float64)[::2], y[::2].astype(np.float64))\n"
        "ref = np.mean(np.where(abs(d := x.astype(np.float16).astype(np.float64)[::2] - y[::2]) < 1, 0.5 * d * d, abs(d) - 0.5))\n"
        "assert abs(h - ref) < 1e-12, (h, ref)\n"
        "print('OK')\n"
    )
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    outs = []
    for _ in range(2):  # the first run fills the cache, the second loads from it
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs.append(proc.stdout.split())
    assert outs[0][-1] == outs[1][-1] == "OK"
    assert outs[1][0] == "deferred", outs
