"""Issue 17: 256- vs 512-bit vectors, kernel CPU time only, one thread.

python scripts/vecwidth_cpu17.py [rounds] [repeats] [kernels|classes]
``kernels`` (default): the exp/log-bound kernels below.  ``classes``:
cross_entropy float32 alone, 2e7 logits in rows of C = 10 ... 32000 (on an
AVX-512 host the row maximum's scalar tail shows at C = 100; see
docs/benchmarks.md, "AMD EPYC (Zen 4, AVX-512)").
The wall-clock A/B of scripts/vecwidth17.py mixes the vector width with page
faults and the other thread's timing; this one isolates the kernels: one Numba
thread, reused output buffers (`grad_out`, no page faults after the warm-up),
`time.thread_time` medians.  Each round runs one fresh process per width,
alternating 256 / 512 (FASTLOSS_VECTOR_WIDTH: both forced, whatever LLVM's
default for the CPU; each width with its own NUMBA_CACHE_DIR, compiled once
in a first, untimed process), so slow spells of a shared machine land on both.
Prints per case the median over rounds of each width and 512/256.
"""
import os as _os
import sys as _sys

# run this checkout, not the editable install (sys.path[0] is scripts/)
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, statistics, sys, time
import numpy as np
import numba
import fastloss
from fastloss._core import cpu
numba.set_num_threads(1)
reps = int(sys.argv[1])

def med(fn):
    fn()
    ts = []
    for _ in range(reps):
        t = time.thread_time(); fn(); ts.append(time.thread_time() - t)
    return statistics.median(ts)

def ctc_data(T, N, C, L, scale, dt):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, N, C)) * scale
    m = x.max(-1, keepdims=True)
    lp = (x - (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))).astype(dt)
    return lp, rng.integers(1, C, (N, L)), np.full(N, T, np.int64), np.full(N, L, np.int64)

out = {}
rng = np.random.default_rng(0)
for R, C in ((4096, 32000), (65536, 1000)):
    x = rng.standard_normal((R, C), dtype=np.float32); y = rng.integers(0, C, R); go = np.empty_like(x)
    out[f"cross_entropy fwd+grad {R}x{C} f32"] = med(lambda: fastloss.cross_entropy(x, y, return_grad=True, grad_out=go))
    out[f"cross_entropy fwd {R}x{C} f32"] = med(lambda: fastloss.cross_entropy(x, y))
for T, N, C, L, sc, dt in ((2000, 8, 30, 300, 30.0, "float32"), (2000, 8, 30, 300, 30.0, "float64"),
                           (500, 32, 30, 100, 1.0, "float32"), (1000, 8, 5000, 200, 1.0, "float32")):
    lp, tg, il, tl = ctc_data(T, N, C, L, sc, dt); go = np.empty_like(lp)
    out[f"ctc_loss fwd+grad T{T} N{N} C{C} L{L}{' peaky' if sc != 1 else ''} {dt}"] = med(
        lambda: fastloss.ctc_loss(lp, tg, il, tl, return_grad=True, grad_out=go))
n = 10**7
for dt in ("float32", "float64"):
    p = rng.uniform(0.01, 0.99, n).astype(dt); t = (rng.random(n) < 0.5).astype(dt); z = rng.standard_normal(n).astype(dt)
    out[f"binary_cross_entropy 1e7 {dt}"] = med(lambda: fastloss.binary_cross_entropy(p, t))
    out[f"binary_cross_entropy_with_logits 1e7 {dt}"] = med(lambda: fastloss.binary_cross_entropy_with_logits(z, t))
    out[f"sigmoid_focal_loss 1e7 {dt}"] = med(lambda: fastloss.sigmoid_focal_loss(z, t, reduction="mean"))
out["width"] = cpu.vector_width_info().get("width")
print(json.dumps(out))
"""

CLASSES = r'''
import json, statistics, sys, time, numpy as np, numba, fastloss
numba.set_num_threads(1)
rng = np.random.default_rng(0); out = {}
def med(f, r):
    f(); ts = []
    for _ in range(r):
        t = time.thread_time(); f(); ts.append(time.thread_time() - t)
    return statistics.median(ts)
for C in (10, 30, 64, 100, 128, 200, 1000, 32000):
    R = 2 * 10**7 // C
    x = rng.standard_normal((R, C), dtype=np.float32); t = rng.integers(0, C, R); go = np.empty_like(x)
    out[f"C{C} fwd"] = med(lambda: fastloss.cross_entropy(x, t), int(sys.argv[1]))
    out[f"C{C} fwd+grad"] = med(lambda: fastloss.cross_entropy(x, t, return_grad=True, grad_out=go), int(sys.argv[1]))
from fastloss._core import cpu
out["width"] = cpu.vector_width_info().get("width")
print(json.dumps(out))
'''

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
reps = sys.argv[2] if len(sys.argv) > 2 else "7"
child = CLASSES if len(sys.argv) > 3 and sys.argv[3] == "classes" else CHILD
caches = {w: tempfile.mkdtemp(prefix=f"nc{w}_") for w in ("256", "512")}
res = {"256": [], "512": []}
print("load", os.getloadavg(), flush=True)
for r in range(rounds + 1):
    for w in ("256", "512"):
        env = dict(os.environ, FASTLOSS_VECTOR_WIDTH=w, NUMBA_CACHE_DIR=caches[w])
        p = subprocess.run([sys.executable, "-c", child, reps if r else "1"], env=env, capture_output=True, text=True)
        if p.returncode:
            sys.exit(p.stderr)
        if r:  # round 0 compiles
            res[w].append(json.loads(p.stdout.strip().splitlines()[-1]))
print(f"widths: 256 -> {res['256'][0]['width']}, 512 -> {res['512'][0]['width']}; load", os.getloadavg())
print(f"| kernel (1 thread, CPU time, median of {rounds} rounds) | 256-bit | 512-bit | 512 / 256 |")
print("|---|---:|---:|---:|")
for k in res["256"][0]:
    if k == "width":
        continue
    a = statistics.median(d[k] for d in res["256"])
    b = statistics.median(d[k] for d in res["512"])
    print(f"| {k} | {a * 1e3:.2f} ms | {b * 1e3:.2f} ms | {b / a:.3f} |", flush=True)
