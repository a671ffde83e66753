"""Issue 17: ctc_beam_search with and without pyctcdecode's default pruning.

python scripts/beam17.py [repeats]
8 utterances x T500 x C29, beam 16, log-softmax of N(0,1) logits times
`scale` (1: flat posteriors; 30: peaky, as a trained model's).  fastloss is
timed here (2 Numba threads) without pruning and with token_min_logp=-5,
beam_prune_logp=-10; pyctcdecode 0.5.0 (which prunes so by default, no LM)
is timed right after in the side environment /work/side/pcd (numpy<2, no
Numba there), on the same arrays saved to a temporary file.
"""
import os as _os
import sys as _sys

# run this checkout, not the editable install (sys.path[0] is scripts/)
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import fastloss

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
PCD = "/work/side/pcd/bin/python"
LABELS = [""] + [" "] + [chr(ord("a") + i) for i in range(26)] + ["'"]

PCD_SCRIPT = r"""
import sys, time, statistics, numpy as np
from pyctcdecode import build_ctcdecoder
import logging; logging.disable(logging.WARNING)
lp = np.load(sys.argv[1]); reps = int(sys.argv[2])
labels = [""] + [" "] + [chr(ord("a") + i) for i in range(26)] + ["'"]
dec = build_ctcdecoder(labels)
def run():
    return [dec.decode_beams(lp[:, n, :], beam_width=16) for n in range(lp.shape[1])]
run(); ts = []
for _ in range(reps):
    t = time.perf_counter(); run(); ts.append(time.perf_counter() - t)
print(statistics.median(ts))
"""


def med(fn):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


print("load", os.getloadavg(), flush=True)
for scale in (1.0, 30.0):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 8, 29)) * scale
    lp = (x - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)) - x.max(-1, keepdims=True))
    lp = lp.astype(np.float32)
    none = med(lambda: fastloss.ctc_beam_search(lp, beam_width=16))
    pr = med(lambda: fastloss.ctc_beam_search(lp, beam_width=16, token_min_logp=-5.0, beam_prune_logp=-10.0))
    line = (f"scale {scale:g}: fastloss no pruning {none * 1e3:.2f} ms, pyctcdecode pruning {pr * 1e3:.2f} ms")
    if os.path.exists(PCD):
        with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as f:
            np.save(f, lp)
        out = subprocess.run([PCD, "-c", PCD_SCRIPT, f.name, str(reps)], capture_output=True, text=True)
        os.unlink(f.name)
        if out.returncode == 0:
            p = float(out.stdout.split()[-1])
            line += f"; pyctcdecode {p * 1e3:.1f} ms -> {p / pr:.1f}x (pruned), {p / none:.1f}x (unpruned)"
        else:
            line += f"; pyctcdecode failed: {out.stderr.strip().splitlines()[-1:]}"
    print(line, flush=True)
