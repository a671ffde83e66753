"""Mergeable exact-AUROC states: fastloss's ExactCurve against torchmetrics.

Run: ``python bench/torchmetrics_states.py`` (needs torch and torchmetrics;
prints a Markdown table for docs/dask.md).  One process, one thread for both
(``torch.set_num_threads(1)``, ``NUMBA_NUM_THREADS=1`` is set below): the
setting of one Dask task.

For N scores in P partitions: every partition's state is built (``update``),
the P states are merged into one (torchmetrics ``merge_state``: its exact
``BinaryAUROC`` keeps every score and label and concatenates the lists;
fastloss ``ExactCurve.merge_all``: a k-way merge of sorted distinct scores),
and the AUROC is read off (torchmetrics sorts everything at ``compute()``).
Reported: state bytes (one partition, the merged one), the time of each step,
and the AUROC of both against scikit-learn.  Two score sets: float32
probabilities (nearly all distinct) and the same rounded to 3 decimals
(1001 distinct values: a calibrated model's output, or quantised storage).
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _tm_bytes(m) -> int:
    total = 0
    for name in m._defaults:
        v = getattr(m, name)
        for t in (v if isinstance(v, list) else [v]):
            total += t.element_size() * t.nelement()
    return total


def run(n=10**6, parts=8, seed=0):
    import torch
    import torchmetrics
    from sklearn.metrics import roc_auc_score

    import fastloss

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    rows = []
    for label, s in (("float32 probabilities", rng.random(n, dtype=np.float32)),
                     ("rounded to 3 decimals", np.round(rng.random(n), 3).astype(np.float32))):
        ref = roc_auc_score(y, s)
        cut = np.linspace(0, n, parts + 1).astype(int)
        blocks = [(y[a:b], s[a:b]) for a, b in zip(cut[:-1], cut[1:])]
        fastloss.ExactCurve().update(*blocks[0])  # compile / cache load outside the timing
        tm = {}
        t0 = time.perf_counter()
        ms = []
        for yy, ss in blocks:
            m = torchmetrics.classification.BinaryAUROC(thresholds=None)
            m.update(torch.from_numpy(ss), torch.from_numpy(yy))
            ms.append(m)
        t1 = time.perf_counter()
        one = _tm_bytes(ms[0])
        root = ms[0]
        for m in ms[1:]:
            root.merge_state(m)
        t2 = time.perf_counter()
        auc = float(root.compute())
        t3 = time.perf_counter()
        tm = dict(update=t1 - t0, merge=t2 - t1, compute=t3 - t2, part=one, merged=_tm_bytes(root), auc=auc)
        t0 = time.perf_counter()
        cs = [fastloss.ExactCurve().update(yy, ss) for yy, ss in blocks]
        t1 = time.perf_counter()
        merged = fastloss.ExactCurve.merge_all(cs)
        t2 = time.perf_counter()
        auc = merged.roc_auc()
        t3 = time.perf_counter()
        fl = dict(update=t1 - t0, merge=t2 - t1, compute=t3 - t2, part=cs[0].nbytes, merged=merged.nbytes, auc=auc)
        rows.append((label, ref, tm, fl))
    return rows


def table(rows, n, parts) -> str:
    out = [f"N = {n:.0e} scores (int64 labels, 30% positive) in {parts} partitions, one thread.", "",
           "| scores | library | state / partition | merged state | update (all) | merge | AUROC read | |AUROC - sklearn| |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for label, ref, tm, fl in rows:
        for lib, r in (("torchmetrics BinaryAUROC", tm), ("fastloss ExactCurve", fl)):
            out.append(f"| {label} | {lib} | {r['part'] / 1e6:.2f} MB | {r['merged'] / 1e6:.2f} MB | "
                       f"{r['update'] * 1e3:.0f} ms | {r['merge'] * 1e3:.1f} ms | {r['compute'] * 1e3:.0f} ms | "
                       f"{abs(r['auc'] - ref):.1e} |")
    return "\n".join(out)


if __name__ == "__main__":
    import subprocess

    n, parts = 10**6, 8
    print(table(run(n, parts), n, parts))
    print()
    print(subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout.strip())
