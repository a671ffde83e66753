"""Forced-alignment (Viterbi) and alignment-posterior kernels.

One *job* is one (label sequence, utterance) pair, computed from start to end
by one thread; jobs run in parallel (``prange``), so results do not depend on
the thread count.  Nothing here checks arguments: :mod:`fastloss.speech.align`
proves every index valid first.

States are CTC's blank-extended sequence ``blank, y1, blank, ..., yL, blank``
(``S = 2L + 1``), kept with two ``-inf`` pads in front so that ``s - 1`` and
``s - 2`` need no branch (the layout of :mod:`fastloss._kernels.ctc`).

Viterbi (max-plus) recursion, exactly torchaudio's ``forced_align`` (CPU)::

    x0 = a_{t-1}(s), x1 = a_{t-1}(s-1), x2 = a_{t-1}(s-2) if s is a label
                                              different from label s-2 else -inf
    a_t(s) = max(x0, x1, x2) + lp[t, lab(s)]

with its tie-breaking: ``x2`` only if strictly greater than both others, else
``x1`` if strictly greater than ``x0``, else ``x0`` (stay); at the end the
final blank ``S-1`` only if strictly better than the last label ``S-2``.
``legacy=True`` reproduces torchaudio 2.11's release instead, which takes
``x1`` only if strictly greater than both ``x0`` and ``x2`` and otherwise
``x0``, even when ``x1 == x2 > x0`` (then its path is not the best one).
The sums are kept in the input's dtype, as torchaudio keeps them, so that
float32 inputs give torchaudio's path even where float32 rounding decides a
near-tie (a float64 input gives a float64 search).

Only states within ``lo_t = max(0, S - 2(T - t)) <= s < hi_t = min(S, 2t + 2)``
are computed.  This window is wider than torchaudio's exact one (which also
accounts for repeats) but gives the same path whenever the best path has a
non-zero probability: a state on that path has a finite score, so it is
reachable and can reach the end, and so are its candidate predecessors.  A
best score of ``-inf`` is reported (status) and turned into an error by the
wrapper; torchaudio then returns an arbitrary path.

The inner loops are branch-free selects over slices (no data-dependent
branches, no run-time loop start), which LLVM vectorises; the gather of the
``L`` label emissions of a frame is the only scalar part.  The two per-frame
helpers are inlined into the frame loop (Numba IR inlining): 20-25% faster in
an interleaved A/B run on the benchmark shape.
"""
from __future__ import annotations

import numpy as np

from ..._core.jit import kernel, numba
from ..._core.math import fexp
from .ctc import _alpha_step, _beta_step, _gather, _lse3

NEG_INF = -np.inf


@kernel(inline=True)
def _emissions(lp, rowbase, C, tg, blank, g, lo, hi):
    """g[s] = lp[rowbase + label of state s] for s in [lo, hi); True if one
    of them is NaN or +inf.

    Blank states take one broadcast value (a vectorised fill) and only the
    label states are gathered, from the frame's row sliced once, into a
    strided view, with the NaN/+inf test counted as an integer sum: 2-3x
    faster than indexing ``lp`` per label and or-ing a flag."""
    row = lp[rowbase : rowbase + C]
    b = row[blank]
    gs = g[lo:hi]
    for i in range(gs.size):
        gs[i] = b
    j0 = lo // 2
    j1 = min(hi // 2, tg.size)
    if j1 <= j0:
        return not (b < np.inf)
    labels = tg[j0:j1]
    gl = g[2 * j0 + 1 : 2 * j1 : 2]
    ok = 0
    for i in range(labels.size):
        v = row[labels[i]]
        gl[i] = v
        ok += v < np.inf
    return (ok != labels.size) | (not (b < np.inf))


@kernel(inline=True)
def _viterbi_step(prev, cur, skipadd, g, bp, lo, hi, modern):
    """cur[s+2] = a_t(s) and bp[s] = its back-pointer, for s in [lo, hi)."""
    x2s = prev[lo:hi]
    x1s = prev[lo + 1 : hi + 1]
    x0s = prev[lo + 2 : hi + 2]
    sk = skipadd[lo:hi]
    gs = g[lo:hi]
    out = cur[lo + 2 : hi + 2]
    b = bp[lo:hi]
    for i in range(out.size):
        x0 = x0s[i]
        x1 = x1s[i]
        x2 = x2s[i] + sk[i]
        c2 = (x2 > x1) & (x2 > x0)
        c1 = (x1 > x0) & ((x1 > x2) | modern)
        best = x1 if c1 else x0
        best = x2 if c2 else best
        k = np.int8(1) if c1 else np.int8(0)
        b[i] = np.int8(2) if c2 else k
        out[i] = best + gs[i]


@kernel()
def _states(tg, blank, lab, skipadd):
    """Fill the blank-extended labels and the skip mask (0 or -inf); return
    the number of repeats (consecutive equal labels)."""
    L = tg.size
    S = 2 * L + 1
    for s in range(S):
        lab[s] = blank
        skipadd[s] = NEG_INF
    repeats = 0
    for j in range(L):
        lab[2 * j + 1] = tg[j]
        if j > 0:
            if tg[j] != tg[j - 1]:
                skipadd[2 * j + 1] = 0.0
            else:
                repeats += 1
    return repeats


@kernel()
def viterbi_job(lp, base, st, C, tg, Tn, blank, legacy, path, scores):
    """Best path of one job into ``path[:Tn]`` / ``scores[:Tn]``.

    Returns -1 on success, ``t >= 0`` if frame ``t`` holds a NaN or +inf in a
    needed log-probability, -2 if the best path has probability zero, -3 if
    no path fits (``Tn < L + repeats``).
    """
    L = tg.size
    S = 2 * L + 1
    lab = np.empty(S, dtype=np.int64)
    skipadd = np.empty(S, dtype=lp.dtype)
    repeats = _states(tg, blank, lab, skipadd)
    if Tn < L + repeats:
        return -3
    if Tn == 0:
        return -1
    W = S + 2
    A = np.empty((2, W), dtype=lp.dtype)
    for r in range(2):
        for s in range(W):
            A[r, s] = NEG_INF
    g = np.empty(S, dtype=lp.dtype)
    bp = np.empty((Tn, S), dtype=np.int8)
    hi = min(S, 2)
    if _emissions(lp, base, C, tg, blank, g, 0, hi):
        return 0
    for s in range(hi):
        A[0, s + 2] = g[s]
    for t in range(1, Tn):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        if _emissions(lp, base + t * st, C, tg, blank, g, lo, hi):
            return t
        prev = A[(t - 1) & 1]
        cur = A[t & 1]
        _viterbi_step(prev, cur, skipadd, g, bp[t], lo, hi, not legacy)
        # the next frame reads two states above hi: unreachable so far
        for s in range(hi, min(S, hi + 2)):
            cur[s + 2] = NEG_INF
    last = A[(Tn - 1) & 1]
    if S == 1:
        s = 0
    else:
        s = S - 1 if last[S + 1] > last[S] else S - 2
    if not (last[s + 2] > NEG_INF):
        return -2
    for t in range(Tn - 1, -1, -1):
        c = lab[s]
        path[t] = c
        scores[t] = lp[base + t * st + c]
        if t > 0:
            s -= bp[t, s]
    return -1


@kernel(parallel=True)
def forced_align(lp, st, sn, C, T, targets, toff, tlen, ilen, blank, legacy, pad_label, paths, scores, status):
    """Best path of every utterance n into ``paths[n]``/``scores[n]`` (rows of
    length T; frames ``t >= ilen[n]`` get ``pad_label`` and score 0).

    ``lp``: the flat input, element (t, n, c) at ``n*sn + t*st + c``;
    ``targets[toff[n] : toff[n] + tlen[n]]``: utterance n's labels.
    ``status[n]``: see :func:`viterbi_job`.
    """
    for n in numba.prange(ilen.size):
        _align_one(lp, st, sn, C, T, targets, toff, tlen, ilen, blank, legacy, pad_label, paths, scores, status, n)


def forced_align_dynamic(*args):
    """:func:`forced_align` with utterances handed out one at a time.

    Numba's ``prange`` splits the iterations into equal static blocks by
    default; with utterances of different lengths, or a core taken by
    another process, one thread then idles while the other finishes its
    block.  A chunk size of 1 lets each thread take the next utterance when it
    is free.  It is set here, around the call (it is thread-local state; set
    inside the kernel it would stop Numba from caching the kernel).
    """
    old = numba.set_parallel_chunksize(1)
    try:
        forced_align(*args)
    finally:
        numba.set_parallel_chunksize(old)


@kernel()
def forced_align_serial(lp, st, sn, C, T, targets, toff, tlen, ilen, blank, legacy, pad_label, paths, scores,
                        status):
    """:func:`forced_align` on the calling thread, for small batches: opening
    a parallel region costs more than it saves there, and far more when other
    processes compete for the cores (see docs/design.md)."""
    for n in range(ilen.size):
        _align_one(lp, st, sn, C, T, targets, toff, tlen, ilen, blank, legacy, pad_label, paths, scores, status, n)


@kernel()
def _align_one(lp, st, sn, C, T, targets, toff, tlen, ilen, blank, legacy, pad_label, paths, scores, status, n):
    Tn = ilen[n]
    tg = targets[toff[n] : toff[n] + tlen[n]]
    status[n] = viterbi_job(lp, n * sn, st, C, tg, Tn, blank, legacy, paths[n], scores[n])
    for t in range(Tn, T):
        paths[n, t] = pad_label
        scores[n, t] = 0.0


# ----------------------------------------------------------------------------
# Alignment posteriors (forward-backward) for confidence
# ----------------------------------------------------------------------------


@kernel()
def _token_posteriors(lp, base, st, tg, Tn, blank, dur, conf):
    """Per label k of the job: ``dur[k] = sum_t gamma_t(2k+1)`` (expected
    frames) and ``conf[k] = sum_t gamma_t(2k+1) p_t(y_k) / dur[k]``, with
    ``gamma`` the CTC occupancy of the job's states.  Returns log Z (float64;
    -inf if no path fits; then dur/conf are left NaN)."""
    L = tg.size
    S = 2 * L + 1
    for k in range(L):
        dur[k] = np.nan
        conf[k] = np.nan
    lab = np.empty(S, dtype=np.int64)
    skip = np.empty(S + 2, dtype=np.float64)
    repeats = _states(tg, blank, lab, skip[:S])
    # the ctc kernels keep the skip mask shifted: skip[s] for state s, two
    # -inf pads at the end
    skip[S] = NEG_INF
    skip[S + 1] = NEG_INF
    if Tn < L + repeats or Tn == 0:
        return NEG_INF if L > 0 or Tn > 0 else 0.0
    W = S + 2
    A = np.empty((Tn, W), dtype=np.float64)
    for t in range(Tn):
        A[t, 0] = NEG_INF
        A[t, 1] = NEG_INF
    g = np.empty(S, dtype=np.float64)
    hi = min(S, 2)
    _gather(lp, base, lab, 0.0, g, 0, hi)
    for s in range(S):
        A[0, s + 2] = NEG_INF
    for s in range(hi):
        A[0, s + 2] = g[s]
    for t in range(1, Tn):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        _gather(lp, base + t * st, lab, 0.0, g, lo, hi)
        _alpha_step(A[t - 1], A[t], skip, g, lo, hi)
        for s in range(hi, min(S, hi + 2)):
            A[t, s + 2] = NEG_INF
    last = A[Tn - 1]
    logz = _lse3(last[S + 1], last[S], NEG_INF) if L > 0 else last[S + 1]
    if not (logz > NEG_INF) or L == 0:
        return logz
    B = np.empty((2, W), dtype=np.float64)
    wv = np.empty(W, dtype=np.float64)
    for s in range(W):
        B[0, s] = NEG_INF
        B[1, s] = NEG_INF
        wv[s] = NEG_INF
    beta = B[(Tn - 1) & 1]
    beta[S - 1] = 0.0
    beta[S - 2] = 0.0
    num = np.zeros(L, dtype=np.float64)
    den = np.zeros(L, dtype=np.float64)
    for t in range(Tn - 1, -1, -1):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        beta = B[t & 1]
        rb = base + t * st
        # label states in the window: s = 2k + 1
        k0 = lo // 2
        k1 = min(L, (hi) // 2)
        for k in range(k0, k1):
            s = 2 * k + 1
            if s < lo or s >= hi:
                continue
            occ = fexp(A[t, s + 2] + beta[s] - logz)
            den[k] += occ
            num[k] += occ * fexp(np.float64(lp[rb + lab[s]]))
        if t > 0:
            _gather(lp, rb, lab, 0.0, g, lo, S)
            for s in range(lo, S):
                wv[s] = beta[s] + g[s]
            lo1 = max(0, S - 2 * (Tn - t + 1))
            _beta_step(wv, B[(t - 1) & 1], skip, lo1, S)
    for k in range(L):
        dur[k] = den[k]
        conf[k] = num[k] / den[k]
    return logz


@kernel(parallel=True)
def alignment_jobs(lp, st, sn, C, T, targets, toff, tlen, rows, ilen, blank, paths, scores,
                   status, dur, conf, logz):
    """For every job k (labels ``targets[toff[k] : toff[k] + tlen[k]]`` against
    utterance ``rows[k]``): its Viterbi path into ``paths[k]``/``scores[k]``
    (padded with -1 / 0 beyond the utterance), ``status[k]`` as
    :func:`viterbi_job`, and the per-label expected durations and
    occupancy-weighted posteriors into ``dur``/``conf`` at ``toff[k]``."""
    for k in numba.prange(rows.size):
        n = rows[k]
        Tn = ilen[n]
        a = toff[k]
        b = a + tlen[k]
        tg = targets[a:b]
        status[k] = viterbi_job(lp, n * sn, st, C, tg, Tn, blank, False, paths[k], scores[k])
        for t in range(Tn, T):
            paths[k, t] = blank
            scores[k, t] = 0.0
        if status[k] == -1:
            logz[k] = _token_posteriors(lp, n * sn, st, tg, Tn, blank, dur[a:b], conf[a:b])
        else:
            logz[k] = np.nan


def alignment_jobs_dynamic(*args):
    """:func:`alignment_jobs` with jobs handed out one at a time (see
    :func:`forced_align_dynamic`)."""
    old = numba.set_parallel_chunksize(1)
    try:
        alignment_jobs(*args)
    finally:
        numba.set_parallel_chunksize(old)
