"""pytest-benchmark suite, driven by the same table as ``fastloss bench``.

    pytest bench/ --benchmark-group-by=group --benchmark-columns=median,min,rounds
    FASTLOSS_BENCH_QUICK=1 pytest bench/          # quick shapes only
    pytest bench/ -k "huber_loss and 1e8"         # one function, one size

Each test is one (function, variant, shape, library); tests of one
function/shape share a group (``func[variant]|shape``) so pytest-benchmark
prints the libraries side by side, measured in the same run.  Every library
gets an explicit warm-up call first (JIT load or compile for fastloss).
"""
import os

import numpy as np
import pytest

from fastloss.bench.cases import all_cases

QUICK = os.environ.get("FASTLOSS_BENCH_QUICK") == "1"
_PARAMS = []
for _case in all_cases():
    _libs = list(_case.impls())
    for _shape in _case.shapes:
        if QUICK and not _shape.quick:
            continue
        for _lib in _libs:
            _PARAMS.append(pytest.param(_case, _shape, _lib, id=f"{_case.group(_shape)}|{_lib}"))

_data = {}


def _inputs(case, shape):
    key = (case.func, case.variant, shape.label)
    if key not in _data:
        _data.clear()  # keep one shape's inputs alive at a time (10^8 elements are big)
        _data[key] = case.make(shape.params, np.random.default_rng(0))
    return _data[key]


@pytest.mark.parametrize("case,shape,lib", _PARAMS)
def test_bench(benchmark, case, shape, lib):
    benchmark.group = case.group(shape)
    benchmark.extra_info.update(library=lib, family=case.family, **{k: str(v) for k, v in shape.params.items()})
    fn = case.impls()[lib]
    data = _inputs(case, shape)
    fn(data)  # explicit warm-up (JIT compile/cache load, page faults)
    benchmark.pedantic(fn, args=(data,), rounds=5 if not QUICK else 3, iterations=1, warmup_rounds=1)
