"""Twins of fastloss.decode: plain Python, float64, written for clarity.

CTC twins enumerate every alignment (every path in C**T) of tiny cases, so
they need no recursion at all; edit-distance twins are the textbook DP;
error-rate twins tokenise with ``re``/``str`` as jiwer's default transforms
do and take the alignment counts from rapidfuzz's pure-Python
``Levenshtein_py.editops`` (the engine jiwer uses, in its bit-parallel Python
form), independent of fastloss's full-matrix walk.
"""
from __future__ import annotations

import itertools
import math
import re

import numpy as np

from reference import twin


def _frames(log_probs, input_lengths, batch_first):
    lp = np.asarray(log_probs, dtype=np.float64)
    if batch_first:
        lp = lp.transpose(1, 0, 2)
    T, N, C = lp.shape
    il = [T] * N if input_lengths is None else [int(v) for v in input_lengths]
    return [lp[: il[n], n, :] for n in range(N)]


def _collapse(path, blank):
    out = []
    prev = None
    for s in path:
        if s != prev and s != blank:
            out.append(s)
        prev = s
    return tuple(out)


def label_distribution(frames, blank):
    """{label sequence: probability} by enumerating all C**T alignments."""
    T, C = frames.shape
    p = np.exp(frames)
    dist: dict = {}
    for path in itertools.product(range(C), repeat=T):
        prob = 1.0
        for t, s in enumerate(path):
            prob *= p[t, s]
        key = _collapse(path, blank)
        dist[key] = dist.get(key, 0.0) + prob
    return dist


@twin
def ctc_greedy_decode_reference(log_probs, input_lengths=None, blank=0, batch_first=False, merge_repeated=True):
    tokens, scores = [], []
    for fr in _frames(log_probs, input_lengths, batch_first):
        best = [int(np.argmax(row)) for row in fr]
        scores.append(sum(float(fr[t, k]) for t, k in enumerate(best)))
        if merge_repeated:
            seq = [k for k, _ in itertools.groupby(best) if k != blank]
        else:
            seq = [k for k in best if k != blank]
        tokens.append(seq)
    return tokens, scores


@twin
def ctc_beam_search_reference(log_probs, input_lengths=None, top_k=1, blank=0, batch_first=False):
    """The exact answer of an unpruned search with an unlimited beam: the
    top_k label sequences by total CTC probability (enumeration)."""
    out = []
    for fr in _frames(log_probs, input_lengths, batch_first):
        dist = label_distribution(fr, blank)
        ranked = sorted(((p, seq) for seq, p in dist.items() if p > 0), key=lambda x: -x[0])
        out.append([(list(seq), math.log(p)) for p, seq in ranked[:top_k]])
    return out


@twin
def ctc_score_reference(log_probs, input_lengths, candidates, blank=0, batch_first=False):
    out = []
    for fr, cands in zip(_frames(log_probs, input_lengths, batch_first), candidates):
        dist = label_distribution(fr, blank)
        out.append([math.log(dist[tuple(c)]) if dist.get(tuple(c), 0.0) > 0 else -math.inf for c in cands])
    return out


def prefix_beam_search_python(frames, beam_width, blank=0, token_min_logp=None, beam_prune_logp=None):
    """Textbook prefix beam search over one (T, C) array, with dicts keyed by
    prefix tuples (so equal prefixes merge by construction) and pyctcdecode's
    pruning rules.  Returns [(prefix, log score)] best first."""
    beams = {(): (0.0, -math.inf)}  # prefix -> (log p blank-ending, log p label-ending)
    for row in frames:
        row = [float(v) for v in row]
        allowed = set(range(len(row)))
        if token_min_logp is not None:
            allowed = {c for c, v in enumerate(row) if v >= token_min_logp} | {int(np.argmax(row))}
        new: dict = {}

        def add(prefix, b, nb):
            ob, onb = new.get(prefix, (-math.inf, -math.inf))
            new[prefix] = (np.logaddexp(ob, b), np.logaddexp(onb, nb))

        for prefix, (pb, pnb) in beams.items():
            total = np.logaddexp(pb, pnb)
            for c in allowed:
                if c == blank:
                    add(prefix, total + row[c], -math.inf)
                elif prefix and prefix[-1] == c:
                    add(prefix, -math.inf, pnb + row[c])  # repeat: same prefix
                    add(prefix + (c,), -math.inf, pb + row[c])  # needs a blank between
                else:
                    add(prefix + (c,), -math.inf, total + row[c])
        scored = [(np.logaddexp(b, nb), p) for p, (b, nb) in new.items()]
        scored = [s for s in scored if s[0] > -math.inf]
        if beam_prune_logp is not None and scored:
            best = max(s for s, _ in scored)
            scored = [s for s in scored if s[0] >= best + beam_prune_logp]
        scored.sort(key=lambda s: -s[0])
        beams = {p: new[p] for _, p in scored[:beam_width]}
    final = sorted(((float(np.logaddexp(*v)), p) for p, v in beams.items()), key=lambda s: -s[0])
    return [(list(p), s) for s, p in final]


@twin
def edit_distance_reference(reference, hypothesis):
    a, b = list(reference), list(hypothesis)
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
        prev = cur
    return prev[-1]


def _words(s):
    return [w for w in re.sub(r"\s\s+", " ", s).strip().split(" ") if w]


def _chars(s):
    return list(s.strip())


def _corpus(x):
    x = [x] if isinstance(x, str) else list(x)
    return x if x else [""]


@twin
def error_rates_reference(references, hypotheses, unit="word"):
    from rapidfuzz.distance import Levenshtein_py

    tok = _words if unit == "word" else _chars
    refs, hyps = [tok(s) for s in _corpus(references)], [tok(s) for s in _corpus(hypotheses)]
    assert len(refs) == len(hyps)
    H = S = D = I = 0
    for r, h in zip(refs, hyps):
        ops = Levenshtein_py.editops(r, h)
        s = sum(op.tag == "replace" for op in ops)
        d = sum(op.tag == "delete" for op in ops)
        i = sum(op.tag == "insert" for op in ops)
        assert s + d + i == edit_distance_reference(r, h)
        S, D, I, H = S + s, D + d, I + i, H + len(r) - s - d
    nr, nh = sum(map(len, refs)), sum(map(len, hyps))
    if nr == 0:
        er, mer, wip = float(I), (0.0 if nh == 0 else 1.0), (1.0 if nh == 0 else 0.0)
    else:
        er = (S + D + I) / (H + S + D)
        mer = (S + D + I) / (H + S + D + I)
        wip = (H / nr) * (H / nh) if nh else 0.0
    return dict(hits=H, substitutions=S, deletions=D, insertions=I, reference_length=nr,
                hypothesis_length=nh, error_rate=er, mer=mer, wil=1 - wip, wip=wip)


@twin
def wer_reference(references, hypotheses):
    return error_rates_reference(references, hypotheses, "word")["error_rate"]


@twin
def cer_reference(references, hypotheses):
    return error_rates_reference(references, hypotheses, "char")["error_rate"]
