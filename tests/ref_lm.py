"""Twins of fastloss.speech.lm / decoder / vocabulary: plain Python, float64.

``load_arpa_reference`` reads an ARPA file into dicts and scores by the
textbook back-off recursion (no states, no hashing, no blanks: the longest
listed n-gram is searched directly).  ``CTCDecoder_reference`` decodes tiny
problems exactly: it enumerates every label sequence's CTC probability (every
path in C**T) and adds the fused LM score of its words, pyctcdecode's rules
written out directly.
"""
from __future__ import annotations

import gzip
import math

from reference import twin
from ref_decode import label_distribution


class ArpaReference:
    def __init__(self, probs, bows, order):
        self.probs = probs  # tuple of words -> log10 p
        self.bows = bows    # tuple of words -> log10 backoff
        self.order = order
        self.vocab = {g[0] for g in probs if len(g) == 1}

    def _word(self, w):
        return w if w in self.vocab else "<unk>"

    def prob(self, history, w):
        """(log10 P(w | history), length of the n-gram used): textbook backoff."""
        w = self._word(w)
        h = tuple(self._word(x) for x in history)[-(self.order - 1):] if self.order > 1 else ()
        for k in range(len(h), -1, -1):
            g = h[len(h) - k:] + (w,)
            if g in self.probs:
                p = self.probs[g]
                # back off through every longer context
                for j in range(k + 1, len(h) + 1):
                    p += self.bows.get(h[len(h) - j:], 0.0)
                return p, k + 1
        raise AssertionError("every word is a unigram")

    def full_scores(self, sentence, bos=True, eos=True):
        hist = ["<s>"] if bos else []
        out = []
        for w in sentence.split() + (["</s>"] if eos else []):
            p, n = self.prob(hist, w)
            out.append((p, n, w not in self.vocab or w == "<unk>"))
            hist.append(w)
        if eos:
            out[-1] = (out[-1][0], out[-1][1], False)
        return out

    def score(self, sentence, bos=True, eos=True):
        return sum(p for p, _, _ in self.full_scores(sentence, bos, eos))


@twin
def load_arpa_reference(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8") as f:
        lines = [ln.strip() for ln in f]
    probs, bows, order, k = {}, {}, 0, 0
    for ln in lines:
        if ln.startswith("ngram "):
            order = max(order, int(ln[6:].split("=")[0]))
        elif ln.endswith("-grams:"):
            k = int(ln[1:].split("-")[0])
        elif ln and k and not ln.startswith("\\"):
            f = ln.split()
            g = tuple(f[1:1 + k])
            probs[g] = float(f[0])
            if len(f) == k + 2:
                bows[g] = float(f[k + 1])
    if ("<unk>",) not in probs:
        probs[("<unk>",)] = -100.0
    return ArpaReference(probs, bows, order)


def fused_lm_score(words, lm, alpha, beta, unk_score_offset, unigrams, hotwords=(), hotword_weight=10.0,
                   lexicon=None):
    """pyctcdecode's LM score of a finished hypothesis with these words."""
    if lexicon is not None and any(w not in lexicon for w in words):
        return -math.inf
    hot = {u for h in hotwords for u in h.split()}
    s = 0.0
    hist = ["<s>"]
    for w in words:
        if lm is not None:
            p, _ = lm.prob(hist, w)
            if w not in unigrams or w not in lm.vocab:
                p += unk_score_offset
            s += alpha * math.log(10) * p + beta
        if w in hot:
            s += hotword_weight
        hist.append(w)
    if lm is not None:
        s += alpha * math.log(10) * lm.prob(hist, "</s>")[0]
    return s


@twin
def CTCDecoder_reference(frames, labels, lm=None, alpha=0.5, beta=1.5, unk_score_offset=-10.0, unigrams=None,
                         hotwords=(), lexicon=None, blank=0, delimiter=" ", partial_word="score"):
    """Every label sequence of one (T, C) utterance with its exact fused
    score ``log P_ctc + LM``, best first: [(score, tokens, text)].  With
    ``partial_word="drop"``, only the sequences that end at a word boundary
    (empty, or ending in the delimiter), unless there are none."""
    if unigrams is None and lm is not None:
        unigrams = lm.vocab - {"<s>", "</s>", "<unk>"}
    out = []
    for seq, p in label_distribution(frames, blank).items():
        if p <= 0:
            continue
        if partial_word == "drop" and seq and labels[seq[-1]] not in (" ", "|"):
            continue
        text = "".join(delimiter if labels[i] in (" ", "|") else labels[i] for i in seq)
        words = text.split(delimiter)
        words = [w for w in words if w]
        lm_s = fused_lm_score(words, lm, alpha, beta, unk_score_offset, unigrams or set(), hotwords, 10.0, lexicon)
        out.append((math.log(p) + lm_s, list(seq), " ".join(words)))
    if (lexicon is not None or partial_word == "drop") and not any(r[0] > -math.inf for r in out):
        # no sequence ends in a lexicon word (or at a word boundary): the ones
        # whose unfinished last word prefixes a lexicon word (any, without a
        # lexicon) are scored without it (as flashlight's LexiconDecoder)
        out = []
        for seq, p in label_distribution(frames, blank).items():
            text = "".join(delimiter if labels[i] in (" ", "|") else labels[i] for i in seq)
            *done, last = text.split(delimiter)
            if p <= 0 or not last or (lexicon is not None and not any(w.startswith(last) for w in lexicon)):
                continue
            words = [w for w in done if w]
            lm_s = fused_lm_score(words, lm, alpha, beta, unk_score_offset, unigrams or set(), hotwords, 10.0,
                                  lexicon)
            out.append((math.log(p) + lm_s, list(seq), " ".join(words)))
    out.sort(key=lambda r: -r[0])
    return out
