"""Run-time choice of the SIMD vector width the kernels are compiled for.

LLVM compiles for the host CPU, but on Intel's AVX-512 parts (Skylake-X and
later) its tuning feature ``prefer-256-bit`` keeps loops on 256-bit ``ymm``
registers unless told otherwise (on AMD Zen 4 it does not).  For the exp/log-bound
kernels (softmax rows, CTC log-sum-exp, BCE/focal) 512-bit ``zmm`` vectors
may be faster; whether they are depends on the CPU (clock offsets, port
layout), so the width is chosen per process, before Numba's code generator
starts:

``FASTLOSS_VECTOR_WIDTH``
    ``auto`` (default): on a host with ``avx512f``, 512 if its LLVM CPU name
    is in :data:`PREFER_512`, 256 if it is in :data:`PREFER_256` (CPUs
    measured faster one way or the other), else LLVM's own choice.  ``512``:
    512-bit vectors whenever the host has ``avx512f`` (ignored, with the
    reason in :func:`vector_width_info`, on hosts without it).  ``256``:
    256-bit vectors (on a host without AVX-512 there is nothing wider anyway).
    ``default``: LLVM's own choice, which depends on the CPU: its tuning
    tables set ``prefer-256-bit`` for the Intel server parts (Skylake-X to
    Sapphire Rapids) but not for ``znver4``, where the default build already
    uses ``zmm`` registers (checked on this project's Zen 4 host).  With 512
    bits (``512``, or ``default`` on ``znver4``) ``ctc_loss``'s gradient is
    not bitwise reproducible across thread counts (last-bit differences, see
    :data:`PREFER_256`).

512 bits are requested by compiling with the host's own feature string plus
``-prefer-256-bit`` (``numba.config.CPU_FEATURES``), 256 bits with
``+prefer-256-bit``; nothing changes on a host without AVX-512, or when the
user set ``NUMBA_CPU_FEATURES`` or ``NUMBA_CPU_NAME`` themselves.

Cache safety: Numba's on-disk cache index keys every compiled kernel by its
signature and ``codegen.magic_tuple()`` = (LLVM target triple, host CPU name,
target feature string) (``numba/core/caching.py``, ``_index_key``), checked
on every load.  A kernel compiled on an AVX-512 machine carries
``+avx512f...`` (and ``-prefer-256-bit`` or ``+prefer-256-bit`` when a width
was chosen) in that key, so an AVX2 machine sharing the cache directory never loads it: it finds
no entry for its own key and compiles its own.  The two widths on one
AVX-512 host are likewise two separate cache entries.

This module imports neither Numba nor llvmlite at import time.
"""
from __future__ import annotations

import functools
import os

ENV = "FASTLOSS_VECTOR_WIDTH"

#: LLVM CPU names (``llvmlite.binding.get_host_cpu_name()``) on which the
#: 512-bit build was measured faster for the exp/log-bound kernels
#: (``scripts/vecwidth_cpu17.py``) and keeps every contract; an AVX-512 CPU
#: not listed here or in :data:`PREFER_256` keeps LLVM's default.
PREFER_512: frozenset = frozenset()
#: LLVM CPU names given 256-bit vectors.  ``znver4`` (AMD EPYC Zen 4), where
#: LLVM's default is 512 bits: the 512-bit build makes BCE and focal loss
#: 1.5x faster but float32 softmax rows at 64-200 classes up to 1.4x slower
#: (docs/benchmarks.md, "512-bit vectors"), and it breaks a contract:
#: ``ctc_loss``'s gradient changed in the last bit (~2e-18) with the thread
#: count and between calls (tests/test_runtime.py, fork and pool workers),
#: the summation order of some loop depending on where the allocator put the
#: per-job scratch arrays.  With 256 bits every result is bitwise the same
#: for any thread count, as on AVX2 hosts.
PREFER_256: frozenset = frozenset({"znver4"})

_state: dict = {}


def _host():
    import llvmlite.binding as ll

    name = ll.get_host_cpu_name()
    feats = ll.get_host_cpu_features()
    return name, feats


def choose_width(setting: str | None, cpu_name: str, has_avx512: bool) -> tuple[int, str]:
    """-> (width, reason): 512, 256, or 0 for LLVM's default; pure, for tests."""
    s = (setting or "auto").strip().lower()
    if s == "default":
        return 0, f"{ENV}=default"
    if s not in ("auto", "256", "512"):
        return 0, f"{ENV}={setting!r} not understood (auto, 256, 512, default): LLVM's default"
    if not has_avx512:
        if s == "512":
            return 0, f"{ENV}=512 ignored: the host has no avx512f"
        return 0, f"{ENV}={s}: no avx512f on this host, 256 bits is the widest"
    if s in ("256", "512"):
        return int(s), f"{ENV}={s}"
    if cpu_name in PREFER_512:
        return 512, f"auto: {cpu_name} is measured faster with 512-bit vectors"
    if cpu_name in PREFER_256:
        return 256, f"auto: {cpu_name} runs with 256-bit vectors (measured; see PREFER_256)"
    return 0, f"auto: {cpu_name} has avx512f, no measured preference: LLVM's default"


def configure_numba(numba) -> None:
    """Apply the chosen width to ``numba.config`` (call once, before the
    first compile or cache load; later calls do nothing)."""
    if _state:
        return
    cfg = numba.config
    if cfg.CPU_FEATURES is not None or cfg.CPU_NAME is not None:
        _state.update(width=0, reason="NUMBA_CPU_NAME/NUMBA_CPU_FEATURES set by the user: left as is")
        return
    try:
        name, feats = _host()
    except Exception as e:  # pragma: no cover - llvmlite always present with numba
        _state.update(width=0, reason=f"host CPU unknown ({e}): LLVM's default")
        return
    width, reason = choose_width(os.environ.get(ENV), name, host_has_avx512())
    if width:
        cfg.CPU_FEATURES = feats.flatten() + (",-prefer-256-bit" if width == 512 else ",+prefer-256-bit")
    _state.update(width=width, reason=reason, cpu=name)


@functools.lru_cache(maxsize=None)
def host_has_avx512() -> bool:
    """Whether LLVM sees ``avx512f`` on this host."""
    return bool(_host()[1].get("avx512f", False))


def vector_width_info() -> dict:
    """{'width': 512, 256 or 0 (LLVM's default), 'reason': ..., 'cpu': ...}
    (empty until the first kernel is loaded or compiled)."""
    return dict(_state)


__all__ = ["ENV", "PREFER_256", "PREFER_512", "host_has_avx512", "choose_width", "configure_numba", "vector_width_info"]
