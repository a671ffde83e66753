"""ARPA files for the LM and decoder tests, written by the tests themselves.

``random_arpa`` draws a model with random log10 probabilities and backoffs:
not normalised (neither KenLM nor fastloss needs it), but exercising every
rule of the format: backoffs present, absent, ``0`` and ``-0``, ``<unk>``
present or absent, n-grams whose suffix is missing (pruned), ``<s>``/``</s>``.
``estimate_arpa`` is a tiny maximum-likelihood estimator with absolute
discounting and interpolated backoffs, for realistic (normalised) models.
"""
from __future__ import annotations

import collections
import math

import numpy as np


def write_arpa(path, grams_by_order):
    """grams_by_order[k-1] = list of (log10 p, words tuple, backoff or None or '-0')."""
    out = ["\\data\\"]
    for k, gs in enumerate(grams_by_order, 1):
        out.append(f"ngram {k}={len(gs)}")
    for k, gs in enumerate(grams_by_order, 1):
        out.append("")
        out.append(f"\\{k}-grams:")
        for p, ws, b in gs:
            line = f"{p:.6f}\t{' '.join(ws)}"
            if b is not None:
                line += f"\t{b}" if isinstance(b, str) else f"\t{b:.6f}"
            out.append(line)
    out += ["", "\\end\\", ""]
    with open(path, "w") as f:
        f.write("\n".join(out))
    return path


def random_arpa(path, rng, order=3, n_words=12, n_per_order=30, unk=True, drop_suffix=0.003):
    """drop_suffix: chance that an n-gram whose suffix is absent is kept anyway
    (KenLM's probing table has room for only a few such blanks)."""
    words = [f"w{i}" for i in range(n_words)]
    vocab = ["<s>", "</s>"] + words + (["<unk>"] if unk else [])

    def bo(k):
        r = rng.random()
        if k == order:
            return None
        if r < 0.2:
            return None
        if r < 0.3:
            return "-0"
        if r < 0.4:
            return 0.0
        return float(-rng.random())

    levels = [[(float(-2 * rng.random() - 0.1), (w,), bo(1)) for w in vocab]]
    # <s> is never predicted; SRILM writes -99
    levels[0][0] = (-99.0, ("<s>",), float(-rng.random()))
    present = [set((w,) for w in vocab)]
    for k in range(2, order + 1):
        cands = [ctx + (w,) for ctx in sorted(present[-1]) if "</s>" not in ctx for w in vocab[1:]]
        cands = [g for g in cands if g[1:] in present[-1] or rng.random() < drop_suffix]
        pick = rng.permutation(len(cands))[:n_per_order]
        got = [cands[int(i)] for i in sorted(pick)]
        levels.append([(float(-2 * rng.random()), g, bo(k)) for g in got])
        present.append(set(got))
    return write_arpa(path, levels), vocab


def estimate_arpa(path, sentences, order=3, discount=0.5):
    """Interpolated absolute-discounting estimate from a list of sentences
    (lists of words): a proper back-off model."""
    counts = [collections.Counter() for _ in range(order)]
    for s in sentences:
        toks = ["<s>"] + list(s) + ["</s>"]
        for k in range(1, order + 1):
            for i in range(len(toks) - k + 1):
                g = tuple(toks[i:i + k])
                if g == ("<s>",):
                    continue
                counts[k - 1][g] += 1
    vocab = sorted({w for (w,) in counts[0]} | {"<s>"})
    total = sum(counts[0].values())
    uni = {w: counts[0].get((w,), 0) / total for w in vocab}
    uni["<unk>"] = 0.0
    # reserve a little mass for <unk>
    s = sum(uni.values())
    uni = {w: 0.99 * p / s for w, p in uni.items()}
    uni["<unk>"] = 0.01
    probs = [{(w,): p for w, p in uni.items()}]
    bows = [dict() for _ in range(order)]
    for k in range(2, order + 1):
        ctx_tot = collections.Counter()
        ctx_types = collections.Counter()
        for g, c in counts[k - 1].items():
            ctx_tot[g[:-1]] += c
            ctx_types[g[:-1]] += 1
        pk = {}
        for g, c in counts[k - 1].items():
            h = g[:-1]
            lower = _backoff_prob(probs, bows, g[1:])
            lam = discount * ctx_types[h] / ctx_tot[h]
            pk[g] = (c - discount) / ctx_tot[h] + lam * lower
        probs.append(pk)
        for h in ctx_tot:
            num = 1.0 - sum(p for g, p in pk.items() if g[:-1] == h)
            den = 1.0 - sum(_backoff_prob(probs[:k - 1], bows, g[1:]) for g in pk if g[:-1] == h)
            bows[k - 2][h] = num / den if den > 0 else 1.0
    levels = []
    for k in range(1, order + 1):
        rows = []
        for g, p in sorted(probs[k - 1].items()):
            lp = -99.0 if g == ("<s>",) else math.log10(p)
            b = bows[k - 1].get(g) if k < order else None
            rows.append((lp, g, None if b is None else math.log10(b)))
        levels.append(rows)
    return write_arpa(path, levels)


def _backoff_prob(probs, bows, g):
    """P(g[-1] | g[:-1]) (probability, not log) from the lower orders."""
    k = len(g)
    if k <= len(probs) and g in probs[k - 1]:
        return probs[k - 1][g]
    if k == 1:
        return probs[0].get(g, probs[0]["<unk>"])
    return bows[k - 2].get(g[:-1], 1.0) * _backoff_prob(probs, bows, g[1:])


def random_sentences(rng, vocab, n, max_len=8, oov=0.1):
    words = [w for w in vocab if w not in ("<s>", "</s>", "<unk>")]
    out = []
    for _ in range(n):
        L = int(rng.integers(0, max_len + 1))
        s = [words[int(rng.integers(len(words)))] if rng.random() > oov else "zz" for _ in range(L)]
        out.append(" ".join(s))
    return out
