"""Kernels of the mergeable exact curve (see ``fastloss/metrics/states.py``).

A state is a *run*: distinct scores ``u`` ascending with the summed positive
weight ``a`` and negative weight ``b`` at each.  Both kernels are one linear
two-pointer walk (the inputs are already sorted), sequential on purpose: they
run inside Dask tasks and merges, where the parallelism is across tasks.

* :func:`runs_from_sorted`: one batch -> a run, from the positive and the
  negative scores, each sorted ascending (tied scores collapse into one entry).
* :func:`merge_runs`: two runs -> one (equal scores add their weights).
* :func:`split_scores`: an unweighted batch's scores split by class (and
  checked finite) in one pass, kept unsorted until the state is read.
"""
from __future__ import annotations

import math

import numpy as np

from ..._core.jit import kernel


@kernel()
def split_scores(y, s, pos_label, out):
    """Scores of the positives (``y == pos_label``) to the front of ``out``,
    of the negatives to the back (order within each part: any); returns the
    number of positives, or -1 when a score is NaN or infinite (then the
    wrapper's general path reports it).

    Branch-free: both candidate slots are written, then one cursor moves
    (labels of real data are unpredictable to a branch predictor).  Both
    slots are free: after i samples the free slots are ``out[p:q]`` with
    ``q - p = n - i >= 1``."""
    n = s.size
    p = 0
    q = n
    bad = 0
    for i in range(n):
        v = s[i]
        bad += not math.isfinite(v)
        pos = np.int64(y[i] == pos_label)  # (an int, not ``1 if .. else 0``: that can compile to a branch)
        out[p] = v
        out[q - 1] = v
        p += pos
        q -= 1 - pos
    return -1 if bad else p


@kernel()
def runs_from_sorted(ps, pw, ns, nw, has_w, u, a, b):
    """Write the run of (ps, pw) positive and (ns, nw) negative samples into
    u, a, b (length >= ps.size + ns.size); return its length."""
    i = 0
    j = 0
    m = 0
    n1 = ps.size
    n2 = ns.size
    while i < n1 or j < n2:
        if j >= n2 or (i < n1 and ps[i] <= ns[j]):
            v = ps[i]
        else:
            v = ns[j]
        sp = 0.0
        sn = 0.0
        while i < n1 and ps[i] == v:
            sp += pw[i] if has_w else 1.0
            i += 1
        while j < n2 and ns[j] == v:
            sn += nw[j] if has_w else 1.0
            j += 1
        u[m] = v
        a[m] = sp
        b[m] = sn
        m += 1
    return m


@kernel()
def merge_runs(u1, a1, b1, u2, a2, b2, u, a, b):
    """Merge two runs into u, a, b (length >= u1.size + u2.size); return its length."""
    i = 0
    j = 0
    m = 0
    n1 = u1.size
    n2 = u2.size
    # Branch-free body (selects, not jumps): random scores would mispredict
    # about every other comparison of the textbook merge.
    while i < n1 and j < n2:
        x = u1[i]
        y = u2[j]
        t1 = x <= y
        t2 = y <= x
        u[m] = x if t1 else y
        a[m] = (a1[i] if t1 else 0.0) + (a2[j] if t2 else 0.0)
        b[m] = (b1[i] if t1 else 0.0) + (b2[j] if t2 else 0.0)
        i += 1 if t1 else 0
        j += 1 if t2 else 0
        m += 1
    while i < n1:
        u[m] = u1[i]
        a[m] = a1[i]
        b[m] = b1[i]
        i += 1
        m += 1
    while j < n2:
        u[m] = u2[j]
        a[m] = a2[j]
        b[m] = b2[j]
        j += 1
        m += 1
    return m


@kernel()
def auc_ap(a, b):
    """(Mann-Whitney ROC AUC numerator, AP numerator, total positive weight)
    of a run's weights ``a`` (positive) and ``b`` (negative) per distinct
    score, ascending: one pass each way, no temporaries (the NumPy form made
    five state-sized arrays).  AUC: sum_i a_i (sum_{j<i} b_j + b_i / 2);
    AP: over scores descending, sum_i a_i TP_i / (TP_i + FP_i)."""
    n = a.size
    below = 0.0
    auc = 0.0
    for i in range(n):
        auc += a[i] * (below + 0.5 * b[i])
        below += b[i]
    tp = 0.0
    fp = 0.0
    ap = 0.0
    for i in range(n - 1, -1, -1):
        tp += a[i]
        fp += b[i]
        den = tp + fp
        if den != 0.0:
            ap += a[i] * (tp / den)
    return auc, ap, tp


@kernel()
def merge_k(u_in, a_in, b_in, starts, u, a, b):
    """Merge the k runs ``u_in[starts[r]:starts[r + 1]]`` (with their ``a_in``,
    ``b_in``) into u, a, b in one pass (each output written once; k small:
    the heads are scanned linearly); return the merged length."""
    k = starts.size - 1
    pos = starts[:-1].copy()
    m = 0
    while True:
        best = 0.0
        found = False
        for r in range(k):
            p = pos[r]
            if p < starts[r + 1]:
                v = u_in[p]
                if not found or v < best:
                    best = v
                    found = True
        if not found:
            break
        sa = 0.0
        sb = 0.0
        for r in range(k):
            p = pos[r]
            if p < starts[r + 1] and u_in[p] == best:
                sa += a_in[p]
                sb += b_in[p]
                pos[r] = p + 1
        u[m] = best
        a[m] = sa
        b[m] = sb
        m += 1
    return m
