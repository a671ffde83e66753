"""Forced-alignment (Viterbi) and alignment-posterior kernels.

One *job* is one (label sequence, utterance) pair, computed from start to end
by one thread; jobs run in parallel (``prange``), so results do not depend on
the thread count.  Nothing here checks arguments: :mod:`fastloss.speech.align`
proves every index valid first.

States are CTC's blank-extended sequence ``blank, y1, blank, ..., yL, blank``
(``S = 2L + 1``).  The Viterbi pass keeps the blank states ``B[j]`` (state
``2j``) and the label states ``A[j]`` (state ``2j + 1``) in two arrays, each
with one ``-inf`` pad in front: every predecessor is then a unit-stride
neighbour (``B[j]`` comes from ``B[j]``/``A[j-1]``; ``A[j]`` from
``A[j]``/``B[j]``/``A[j-1]``), the blank states add one broadcast
emission, and only the ``L`` label emissions of a frame are gathered.  (One
interleaved array with a gathered emission per state was 10-20% slower in an
interleaved A/B run.)  The forward-backward pass for confidences uses the
interleaved layout of :mod:`fastloss._kernels.speech.ctc` and its helpers.

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
``L`` label emissions of a frame is the only scalar part.  The per-frame
helpers are inlined into the frame loop (Numba IR inlining: 20-25% faster in
an interleaved A/B run on the benchmark shape).
"""
from __future__ import annotations

import numpy as np

from ..._core.jit import kernel, numba
from ..._core.math import fexp
from .ctc import _alpha_step, _beta_step, _gather, _lse3

NEG_INF = -np.inf


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


@kernel(inline=True)
def _blank_step(Bp, Ap, Bc, b, bp, j0, j1):
    """Blank states j in [j0, j1): B_t[j] = max(B[j], A[j-1]) + b (stay on ties)."""
    x0s = Bp[j0 + 1 : j1 + 1]
    x1s = Ap[j0 : j1]
    out = Bc[j0 + 1 : j1 + 1]
    bb = bp[j0:j1]
    for i in range(out.size):
        x0 = x0s[i]
        x1 = x1s[i]
        c1 = x1 > x0
        out[i] = (x1 if c1 else x0) + b
        bb[i] = np.int8(1) if c1 else np.int8(0)


@kernel(inline=True)
def _label_step(Bp, Ap, Ac, skip, e, bp, j0, j1, modern):
    """Label states j in [j0, j1): x0 = A[j], x1 = B[j], x2 = A[j-1] + skip[j]."""
    x0s = Ap[j0 + 1 : j1 + 1]
    x1s = Bp[j0 + 1 : j1 + 1]
    x2s = Ap[j0:j1]
    sk = skip[j0:j1]
    es = e[j0:j1]
    out = Ac[j0 + 1 : j1 + 1]
    bb = bp[j0:j1]
    for i in range(out.size):
        x0 = x0s[i]
        x1 = x1s[i]
        x2 = x2s[i] + sk[i]
        c2 = (x2 > x1) & (x2 > x0)
        c1 = (x1 > x0) & ((x1 > x2) | modern)
        best = x1 if c1 else x0
        best = x2 if c2 else best
        k = np.int8(1) if c1 else np.int8(0)
        bb[i] = np.int8(2) if c2 else k
        out[i] = best + es[i]


@kernel(inline=True)
def _label_emissions(row, tg, e, j0, j1):
    """e[j] = row[tg[j]] for j in [j0, j1); the number that are NaN or +inf."""
    labels = tg[j0:j1]
    es = e[j0:j1]
    ok = 0
    for i in range(labels.size):
        v = row[labels[i]]
        es[i] = v
        ok += v < np.inf
    return labels.size - ok


@kernel()
def viterbi_job(lp, base, st, C, tg, Tn, blank, legacy, path, scores):
    """Best path of one job into ``path[:Tn]`` / ``scores[:Tn]``.

    Returns -1 on success, ``t >= 0`` if frame ``t`` holds a NaN or +inf in a
    needed log-probability, -2 if the best path has probability zero, -3 if
    no path fits (``Tn < L + repeats``).
    """
    L = tg.size
    S = 2 * L + 1
    skip = np.empty(max(L, 1), dtype=lp.dtype)
    repeats = 0
    for j in range(L):
        skip[j] = NEG_INF
        if j > 0:
            if tg[j] != tg[j - 1]:
                skip[j] = 0.0
            else:
                repeats += 1
    if Tn < L + repeats:
        return -3
    if Tn == 0:
        return -1
    # blank states B[j] (j = 0..L) and label states A[j] (j = 0..L-1), each
    # with one -inf pad in front, ping-ponged between two frames
    Bb = np.empty((2, L + 2), dtype=lp.dtype)
    Ab = np.empty((2, L + 1), dtype=lp.dtype)
    for r in range(2):
        for j in range(L + 2):
            Bb[r, j] = NEG_INF
        for j in range(L + 1):
            Ab[r, j] = NEG_INF
    e = np.empty(max(L, 1), dtype=lp.dtype)
    bpB = np.empty((Tn, L + 1), dtype=np.int8)
    bpA = np.empty((Tn, max(L, 1)), dtype=np.int8)
    row = lp[base : base + C]
    b = row[blank]
    if not (b < np.inf):
        return 0
    Bb[0, 1] = b
    if L > 0:
        v = row[tg[0]]
        if not (v < np.inf):
            return 0
        Ab[0, 1] = v
    modern = not legacy
    for t in range(1, Tn):
        lo = max(0, S - 2 * (Tn - t))
        hi = min(S, 2 * t + 2)
        row = lp[base + t * st : base + t * st + C]
        b = row[blank]
        ja0 = lo // 2
        ja1 = min(hi // 2, L)
        bad = _label_emissions(row, tg, e, ja0, ja1) if ja1 > ja0 else 0
        if bad > 0 or not (b < np.inf):
            return t
        Bp = Bb[(t - 1) & 1]
        Ap = Ab[(t - 1) & 1]
        Bc = Bb[t & 1]
        Ac = Ab[t & 1]
        jb0 = (lo + 1) // 2
        jb1 = (hi + 1) // 2
        _blank_step(Bp, Ap, Bc, b, bpB[t], jb0, jb1)
        if ja1 > ja0:
            _label_step(Bp, Ap, Ac, skip, e, bpA[t], ja0, ja1, modern)
        # the next frame reads two states above hi: unreachable so far
        for s in range(hi, min(S, hi + 2)):
            if s & 1:
                Ac[(s >> 1) + 1] = NEG_INF
            else:
                Bc[(s >> 1) + 1] = NEG_INF
    Bl = Bb[(Tn - 1) & 1]
    Al = Ab[(Tn - 1) & 1]
    if L == 0:
        s = 0
        best = Bl[1]
    else:
        s = S - 1 if Bl[L + 1] > Al[L] else S - 2
        best = Bl[L + 1] if s == S - 1 else Al[L]
    if not (best > NEG_INF):
        return -2
    for t in range(Tn - 1, -1, -1):
        j = s >> 1
        c = tg[j] if s & 1 else blank
        path[t] = c
        scores[t] = lp[base + t * st + c]
        if t > 0:
            s -= bpA[t, j] if s & 1 else bpB[t, j]
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
