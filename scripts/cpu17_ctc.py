"""Issue 17, CTC: one-thread CPU time of ctc_loss forward+gradient per shape of speed17.

python scripts/cpu17_ctc.py CHECKOUT     (e.g. /work/main, or . for this one)
Less sensitive to other jobs on the machine than wall-clock ratios; alternate two
checkouts to compare kernels.  Prints the medians of 5 calls in ms, shapes in the
order of scripts/speed17.py's CTC_SHAPES.
"""
import os
import sys, time, statistics
root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.')
sys.path.insert(0, root); sys.path.insert(0, root + "/scripts")
import numpy as np, numba
import fastloss
assert fastloss.__file__.startswith(root), fastloss.__file__
from speed17 import ctc_data, CTC_SHAPES
numba.set_num_threads(1)
out = []
for T,N,C,L,sc,dt in CTC_SHAPES:
    lp,tg,il,tl = ctc_data(T,N,C,L,sc,dt)
    f = lambda: fastloss.ctc_loss(lp,tg,il,tl,return_grad=True)
    f(); ts=[]
    for _ in range(5):
        t=time.process_time(); f(); ts.append(time.process_time()-t)
    out.append(statistics.median(ts)*1e3)
print(root, " ".join(f"{v:.1f}" for v in out), flush=True)
