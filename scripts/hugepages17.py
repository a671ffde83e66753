"""Issue 17: does madvise(MADV_HUGEPAGE) pay for a fresh gradient buffer?

NumPy (>= 1.22, Linux >= 4.6) already madvises every allocation of 4 MiB or
more with MADV_HUGEPAGE (numpy._core.multiarray._get_madvise_hugepage()),
so np.empty is the huge-page variant; this script toggles it off to compare,
interleaving the variants call by call, and counts the minor page faults.

python scripts/hugepages17.py [repeats] [blocks|interleaved]
blocks (default): each variant's calls one after the other, as a training
loop allocates; interleaved: variants alternate call by call (a 4 KiB-page
call then leaves fragmented free memory for the next huge-page call to
compact, with THP defrag=madvise).
"""
import os as _os
import sys as _sys

# run this checkout, not the editable install (sys.path[0] is scripts/)
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import os
import resource
import statistics
import sys
import time

import numpy as np
from numpy._core import multiarray as _ma

import fastloss

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 11
mode = sys.argv[2] if len(sys.argv) > 2 else "blocks"
rng = np.random.default_rng(0)
for R, C in ((4096, 32000), (65536, 1000)):
    x = rng.standard_normal((R, C), dtype=np.float32)
    y = rng.integers(0, C, R)
    reused = np.empty_like(x)
    fastloss.cross_entropy(x, y, return_grad=True, grad_out=reused)
    names = ("reused grad_out", "np.empty, huge pages", "np.empty, 4 KiB pages")
    ts = {k: [] for k in names}
    fl = {k: [] for k in names}
    order = [n for _ in range(reps) for n in names] if mode == "interleaved" else \
        [n for n in names for _ in range(reps + 1)]
    seen = set()
    for name in order:
        if mode != "interleaved" and name not in seen:  # a warm-up call per block
            seen.add(name)
            _ma._set_madvise_hugepage(name != names[2])
            if name != names[0]:
                fastloss.cross_entropy(x, y, return_grad=True)
            continue
        _ma._set_madvise_hugepage(name != names[2])
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.perf_counter()
        if name == names[0]:
            fastloss.cross_entropy(x, y, return_grad=True, grad_out=reused)
        else:
            g = fastloss.cross_entropy(x, y, return_grad=True)[1]
            del g
        ts[name].append(time.perf_counter() - t)
        fl[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    _ma._set_madvise_hugepage(True)
    print(f"cross_entropy fwd+grad {R}x{C} f32, {mode} (load {os.getloadavg()[0]:.1f}):", flush=True)
    for k in names:
        print(f"  {k:24s} {statistics.median(ts[k]) * 1e3:8.1f} ms  {int(statistics.median(fl[k])):7d} minor faults",
              flush=True)
