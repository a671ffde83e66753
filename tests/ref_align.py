"""Twins of fastloss.speech.align: plain Python, float64, written for clarity.

The Viterbi twin fills the best-prefix table ``best[t][s]`` with a plain
dictionary recursion and then walks back with torchaudio's tie rule stated
in words (stay unless the previous state is strictly better; skip only when
strictly better than both); the tests check separately, by enumerating every
frame labelling of tiny cases, that the path's score is the maximum.  The
confidence twin enumerates every alignment of the hypothesis (C**T frame
labellings) to get the occupancies, with no recursion at all.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from reference import twin


def collapse(path, blank):
    return [k for k, _ in itertools.groupby(path) if k != blank]


def viterbi_one(lp, target, blank):
    """(path, scores) of one utterance: lp (T, C) float64, target list."""
    T = lp.shape[0]
    ext = [blank]
    for y in target:
        ext += [y, blank]
    S = len(ext)
    neg = -math.inf

    def preds(s):
        # candidates in torchaudio's order: stay, previous, skip
        out = [s, s - 1]
        if s % 2 == 1 and s >= 3 and ext[s] != ext[s - 2]:
            out.append(s - 2)
        return [p if p >= 0 else None for p in out]

    best = [[neg] * S for _ in range(T)]
    back = [[0] * S for _ in range(T)]
    if T == 0:
        return [], []
    best[0][0] = lp[0, ext[0]]
    if S > 1:
        best[0][1] = lp[0, ext[1]]
    for t in range(1, T):
        for s in range(S):
            cand = [best[t - 1][p] if p is not None else neg for p in preds(s)]
            while len(cand) < 3:
                cand.append(neg)
            x0, x1, x2 = cand
            if x2 > x1 and x2 > x0:
                choice, val = 2, x2
            elif x1 > x0:
                choice, val = 1, x1
            else:
                choice, val = 0, x0
            best[t][s] = val + lp[t, ext[s]]
            back[t][s] = choice
    if S == 1:
        s = 0
    else:
        s = S - 1 if best[T - 1][S - 1] > best[T - 1][S - 2] else S - 2
    path = [0] * T
    for t in range(T - 1, -1, -1):
        path[t] = ext[s]
        s -= back[t][s]
    return path, [float(lp[t, path[t]]) for t in range(T)]


@twin
def forced_align_reference(log_probs, targets, input_lengths=None, target_lengths=None, blank=0, batch_first=True):
    lp = np.asarray(log_probs, dtype=np.float64)
    if not batch_first:
        lp = lp.transpose(1, 0, 2)
    N, T, _ = lp.shape
    tg = np.asarray(targets)
    il = [T] * N if input_lengths is None else [int(v) for v in input_lengths]
    tl = [tg.shape[1]] * N if target_lengths is None else [int(v) for v in target_lengths]
    paths = np.full((N, T), blank, dtype=np.int64)
    scores = np.zeros((N, T))
    for n in range(N):
        p, s = viterbi_one(lp[n, : il[n]], [int(v) for v in tg[n, : tl[n]]], blank)
        paths[n, : il[n]] = p
        scores[n, : il[n]] = s
    return paths, scores


def brute_force_best(lp, target, blank):
    """max over every frame labelling collapsing to target of its log-prob."""
    T, C = lp.shape
    best = -math.inf
    for path in itertools.product(range(C), repeat=T):
        if collapse(path, blank) == list(target):
            best = max(best, sum(lp[t, c] for t, c in enumerate(path)))
    return best


@twin
def merge_tokens_reference(path, scores, blank=0):
    out = []
    t = 0
    path = [int(v) for v in path]
    while t < len(path):
        e = t
        while e < len(path) and path[e] == path[t]:
            e += 1
        if path[t] != blank:
            seg = [float(v) for v in scores[t:e]]
            out.append((path[t], t, e, sum(seg) / len(seg)))
        t = e
    return out


@twin
def merge_words_reference(token_spans, labels, word_delimiter=None, confidence=None):
    """Split the label text on the delimiter / word-start marks."""
    words = []
    for i, (tok, start, end, score) in enumerate(token_spans):
        text = labels[tok]
        c = math.nan if confidence is None else float(confidence[i])
        if text == word_delimiter:
            words.append(None)
            continue
        if text.startswith("\u2581"):
            words.append(None)
            text = text[1:]
        words.append((text, start, end, score, c))
    out, group = [], []
    for item in words + [None]:
        if item is None:
            if group and "".join(g[0] for g in group):
                frames = sum(g[2] - g[1] for g in group)
                out.append((
                    "".join(g[0] for g in group), group[0][1], group[-1][2],
                    sum(g[3] * (g[2] - g[1]) for g in group) / frames,
                    min(g[4] for g in group),
                ))
            group = []
        else:
            group.append(item)
    return out


@twin
def ctc_alignments_reference(log_probs, hypotheses, input_lengths=None, blank=0, batch_first=False):
    """Per utterance: (token spans, confidence, log-likelihood), by enumeration."""
    lp = np.asarray(log_probs, dtype=np.float64)
    if batch_first:
        lp = lp.transpose(1, 0, 2)
    T, N, C = lp.shape
    il = [T] * N if input_lengths is None else [int(v) for v in input_lengths]
    out = []
    for n in range(N):
        fr = lp[: il[n], n, :]
        y = [int(v) for v in hypotheses[n]]
        L = len(y)
        occ = np.zeros((il[n], L))
        total = 0.0
        for path in itertools.product(range(C), repeat=il[n]):
            if collapse(path, blank) != y:
                continue
            prob = math.exp(sum(fr[t, c] for t, c in enumerate(path)))
            total += prob
            k = -1
            prev = blank
            for t, c in enumerate(path):
                if c != blank and c != prev:
                    k += 1
                if c != blank:
                    occ[t, k] += prob
                prev = c
        occ /= total
        p = np.exp(fr)
        conf = [float((occ[:, k] * p[:, y[k]]).sum() / occ[:, k].sum()) for k in range(L)]
        path, scores = viterbi_one(fr, y, blank)
        out.append((merge_tokens_reference(path, scores, blank), conf, math.log(total)))
    return out
