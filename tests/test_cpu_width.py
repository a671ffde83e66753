"""Run-time vector width (issue 17): the choice, and that a 512-bit build is
keyed apart from the default one in Numba's cache (an AVX2 host never loads
an AVX-512 kernel)."""
import subprocess
import sys

import pytest

from fastloss._core import cpu


def test_choose_width():
    assert cpu.choose_width(None, "znver3", False)[0] == 0
    assert cpu.choose_width("512", "znver3", False)[0] == 0  # no avx512f: ignored
    assert "ignored" in cpu.choose_width("512", "znver3", False)[1]
    assert cpu.choose_width("512", "sapphirerapids", True)[0] == 512
    assert cpu.choose_width("256", "sapphirerapids", True)[0] == 256
    assert cpu.choose_width("256", "znver3", False)[0] == 0  # nothing wider to give up
    assert cpu.choose_width("default", "znver4", True)[0] == 0
    assert cpu.choose_width("auto", "unmeasured-avx512-cpu", True)[0] == 0
    assert cpu.choose_width("auto", "znver4", True)[0] == 256  # measured: docs/benchmarks.md
    assert cpu.choose_width("auto", "znver4", False)[0] == 0  # a Zen 4 VM without avx512 flags
    assert "not understood" in cpu.choose_width("1024", "x", True)[1]


def test_this_host_gets_default_width():
    pytest.importorskip("numba")
    import fastloss._core.jit  # noqa: F401  (applies the choice)

    info = cpu.vector_width_info()
    assert set(info) >= {"width", "reason"}
    import llvmlite.binding as ll

    if not ll.get_host_cpu_features().get("avx512f", False):
        assert info["width"] == 0
    elif ll.get_host_cpu_name() in cpu.PREFER_512:
        assert info["width"] == 512
    elif ll.get_host_cpu_name() in cpu.PREFER_256:
        assert info["width"] == 256


_SIMULATED = r"""
import sys
import llvmlite.binding as ll
from fastloss._core import cpu
feats = ll.get_host_cpu_features()
for k in ("avx512f", "avx512bw", "avx512vl", "avx512dq"):
    feats[k] = True
cpu._host = lambda: ("simulated-avx512", feats)
import os
os.environ["FASTLOSS_VECTOR_WIDTH"] = sys.argv[1]
import numba
from fastloss._core import jit  # noqa: F401
from numba.core.registry import cpu_target
key = cpu_target.target_context.codegen().magic_tuple()
@numba.njit("void(f8[::1], f8[::1])", cache=False, fastmath=True)
def f(x, y):
    for i in range(x.size):
        y[i] = x[i] * 2.0 + 1.0
asm = f.inspect_asm(f.signatures[0])  # compiled, never run (no AVX-512 here)
print(cpu.vector_width_info()["width"], "+avx512f" in key[2], key[2].split(",")[-1], "zmm" in asm)
"""


@pytest.mark.parametrize("width, flag, zmm", [("512", "-prefer-256-bit", "True"), ("256", "+prefer-256-bit", "False")])
def test_simulated_avx512_host_compiles_its_width_under_its_own_cache_key(width, flag, zmm):
    pytest.importorskip("numba")
    out = subprocess.run([sys.executable, "-c", _SIMULATED, width], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [width, "True", flag, zmm]
