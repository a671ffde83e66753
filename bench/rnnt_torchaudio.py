"""fastloss.rnnt_loss against torchaudio's CPU rnnt_loss, loss + gradient, float32.

torchaudio 2.11 does not import beside the main environment's torch 2.13, so
torchaudio is timed in a subprocess running the side environment (torch
2.14.1 + torchaudio 2.11.1), on the same inputs (same seed, same generator),
alternating with fastloss in blocks, ``--rounds`` times; the figures are the
medians over all rounds, so both libraries see the same machine states:

    python bench/rnnt_torchaudio.py [--side-python /work/side/ta/bin/python] [--rounds 3]

fastloss is timed with 1 and 2 Numba threads, writing its gradient into a
reused buffer (``grad_out``) and into a fresh one; torchaudio with
``torch.set_num_threads(2)`` (its CPU kernel is serial anyway).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

SHAPES = ((8, 200, 50, 500), (32, 150, 20, 1000))


def inputs(B, T, U, V):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, U + 1, V), dtype=np.float32)
    tg = rng.integers(0, V - 1, (B, U)).astype(np.int32)
    return x, tg, np.full(B, T, dtype=np.int32), np.full(B, U, dtype=np.int32)


def timed(fn, n):
    fn()  # warm-up (compile/cache load, page faults)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def worker(B, T, U, V, n):
    import torch
    import torchaudio
    import torchaudio.functional as F

    torch.set_num_threads(2)
    x, tg, il, tl = inputs(B, T, U, V)
    args = (torch.from_numpy(tg), torch.from_numpy(il), torch.from_numpy(tl))

    def run():
        xt = torch.from_numpy(x).requires_grad_(True)
        F.rnnt_loss(xt, *args).backward()
        return xt.grad

    ts = timed(run, n)
    print(json.dumps({"times": ts, "version": f"torch {torch.__version__}, torchaudio {torchaudio.__version__}"}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--side-python", default="/work/side/ta/bin/python")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--worker", nargs=4, type=int)
    a = ap.parse_args()
    if a.worker:
        worker(*a.worker, a.runs)
        return
    import numba

    import fastloss

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    print(f"CPU: {cpu}; numba {numba.__version__}, threading layer after first call below")
    for B, T, U, V in SHAPES:
        x, tg, il, tl = inputs(B, T, U, V)
        g = np.empty_like(x)
        res = {"fastloss 2 threads, grad_out": [], "fastloss 2 threads, fresh grad": [],
               "fastloss 1 thread, grad_out": [], "torchaudio": []}
        version = ""
        for _ in range(a.rounds):
            numba.set_num_threads(2)
            res["fastloss 2 threads, grad_out"] += timed(
                lambda: fastloss.rnnt_loss(x, tg, il, tl, return_grad=True, grad_out=g), a.runs)
            res["fastloss 2 threads, fresh grad"] += timed(
                lambda: fastloss.rnnt_loss(x, tg, il, tl, return_grad=True), a.runs)
            numba.set_num_threads(1)
            res["fastloss 1 thread, grad_out"] += timed(
                lambda: fastloss.rnnt_loss(x, tg, il, tl, return_grad=True, grad_out=g), a.runs)
            numba.set_num_threads(2)
            out = subprocess.run([a.side_python, __file__, "--worker", str(B), str(T), str(U), str(V),
                                  "--runs", str(a.runs)], capture_output=True, text=True, check=True)
            rec = json.loads(out.stdout.strip().splitlines()[-1])
            res["torchaudio"] += rec["times"]
            version = rec["version"]
        ta = statistics.median(res["torchaudio"])
        print(f"\nB={B} T={T} U={U} V={V} float32, loss + gradient ({version}; threading layer "
              f"{numba.threading_layer()}; {a.rounds} rounds x {a.runs} runs)")
        for k, v in res.items():
            med = statistics.median(v)
            print(f"  {k:32s} median {med * 1e3:9.1f} ms  min {min(v) * 1e3:9.1f} ms  "
                  f"torchaudio / this = {ta / med:6.1f}x")


if __name__ == "__main__":
    sys.exit(main())
