"""Issue 17: softmax rows (cross_entropy float32) at 256 and 512 bits by class count.

python scripts/vecwidth_ce17.py [rounds] [repeats]
CPU time of one thread (`time.thread_time`, reused `grad_out`), 2e7 logits per
case, rows of C = 10 ... 32000; one fresh process per width and round,
alternating (FASTLOSS_VECTOR_WIDTH=256 / 512, each with its own kernel cache,
compiled in an untimed round 0); medians over rounds.  On an AVX-512 host the
row maximum's scalar tail (up to lanes x interleave - 1 = 63 elements at 512
bits) shows at C = 100; see docs/benchmarks.md, "AMD EPYC (Zen 4, AVX-512)".
"""
import os as _os
import sys as _sys

_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r'''
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
print(json.dumps(out))
'''
root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
reps = sys.argv[2] if len(sys.argv) > 2 else "5"
caches = {w: tempfile.mkdtemp(prefix=f"nc{w}_") for w in ("256", "512")}
res = {w: [] for w in caches}
print("load", os.getloadavg(), flush=True)
for r in range(rounds + 1):
    for w in caches:
        env = dict(os.environ, FASTLOSS_VECTOR_WIDTH=w, NUMBA_CACHE_DIR=caches[w],
                   PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        p = subprocess.run([sys.executable, "-c", CHILD, reps if r else "1"], env=env, capture_output=True, text=True)
        if p.returncode:
            sys.exit(p.stderr[-3000:])
        if r:
            res[w].append(json.loads(p.stdout.strip().splitlines()[-1]))
print(f"| cross_entropy f32, 2e7 logits (1 thread, CPU time, median of {rounds} rounds) | 256-bit | 512-bit | 512 / 256 |")
print("|---|---:|---:|---:|")
for k in res["256"][0]:
    a = statistics.median(d[k] for d in res["256"])
    b = statistics.median(d[k] for d in res["512"])
    print(f"| {k} | {a * 1e3:.1f} ms | {b * 1e3:.1f} ms | {b / a:.2f} |", flush=True)
