"""Latency of small calls while another process keeps the cores busy.

``fastloss bench --family overhead`` runs this after the overhead table.  In
each of several fresh processes it times ``mse_loss`` on 1,000 elements
(forward) and ``cross_entropy`` 64x10 (forward+grad), median of 300 calls:
first on the machine as it is ("quiet"), then while a background process
loops a parallel ``huber_loss`` over 10^7 elements ("busy"), and, for
comparison, busy again with the small-input threshold switched off (every
call opens a parallel region, as before the threshold existed).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

_PROBE = r"""
import json, sys, time
import numpy as np
import fastloss
if sys.argv[1] == "off":  # every call opens a parallel region
    import fastloss._core.driver as driver, fastloss.losses.classification as cls
    driver.SERIAL_BELOW_ELEMENTWISE = 0
    cls.SERIAL_BELOW_SOFTMAX = 0
rng = np.random.default_rng(0)
x = rng.standard_normal(1000).astype(np.float32); y = rng.standard_normal(1000).astype(np.float32)
lg = rng.standard_normal((64, 10)).astype(np.float32); lb = rng.integers(0, 10, 64); g = np.empty_like(lg)
calls = {"mse_loss 1000 fwd": lambda: fastloss.mse_loss(x, y),
         "cross_entropy 64x10 fwd+grad": lambda: fastloss.cross_entropy(lg, lb, return_grad=True, grad_out=g)}
out = {}
for name, f in calls.items():
    for _ in range(20):
        f()
    ts = []
    for _ in range(300):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    ts.sort()
    out[name] = ts[len(ts) // 2]
print(json.dumps(out))
"""

_BUSY = r"""
import sys, time
import numpy as np
import fastloss
x = np.random.default_rng(1).standard_normal(10**7); y = np.zeros(10**7)
fastloss.huber_loss(x, y)
print("ready", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    fastloss.huber_loss(x, y)
"""


def _env():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))


def _probe(mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, env=_env(), timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(processes: int = 3, progress: bool = True) -> list:
    """Rows ``(call, state, [median seconds per fresh process])``."""
    rows = {}

    def note(state, res):
        for name, v in res.items():
            rows.setdefault((name, state), []).append(v)

    for i in range(processes):
        if progress:
            print(f"busy-core latency: quiet process {i + 1}/{processes}", file=sys.stderr, flush=True)
        note("quiet", _probe("on"))
    busy = subprocess.Popen([sys.executable, "-c", _BUSY, "600"], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        busy.stdout.readline()  # "ready": its kernel is loaded and looping
        time.sleep(0.5)
        for i in range(processes):
            if progress:
                print(f"busy-core latency: busy process {i + 1}/{processes}", file=sys.stderr, flush=True)
            note("busy", _probe("on"))
            note("busy, no threshold", _probe("off"))
    finally:
        busy.kill()
        busy.wait()
    return [(name, state, v) for (name, state), v in rows.items()]


def table(rows, markdown=False) -> str:
    quiet = {name: sorted(v)[len(v) // 2] for name, state, v in rows if state == "quiet"}
    lines = []
    if markdown:
        lines += ["| call | state | median per fresh process | worst / quiet median |", "|---|---|---|---:|"]
    else:
        lines.append(f"{'call':<32}{'state':<22}{'median per fresh process (us)':<40}{'worst/quiet':>12}")
    for name, state, v in sorted(rows, key=lambda r: (r[0], ["quiet", "busy", "busy, no threshold"].index(r[1]))):
        per = ", ".join(f"{t * 1e6:.1f}" for t in v)
        ratio = f"{max(v) / quiet[name]:.2f}x"
        if markdown:
            lines.append(f"| {name} | {state} | {per} us | {ratio} |")
        else:
            lines.append(f"{name:<32}{state:<22}{per:<40}{ratio:>12}")
    return "\n".join(lines)
