"""A synthetic speech-like task for word timestamps and confidence.

Utterances are sentences of words over letters a-h; every token lasts 2-4
frames, with 0-2 blank frames between tokens.  Each word gets a difficulty
u ~ U(0, 1): its frames' evidence for the true label shrinks with u, and a
confusable letter (a fixed random partner of the true letter) is boosted
with u, so greedy decoding errs on hard words.  The ground truth keeps every
reference word's frame span, so a hypothesis word is *correct* when a
reference word with the same text overlaps its frames.
"""
from __future__ import annotations

import numpy as np

LABELS = ["", " "] + list("abcdefgh")
BLANK, SPACE = 0, 1


def make_task(n_utt=200, n_words=6, seed=0):
    rng = np.random.default_rng(seed)
    C = len(LABELS)
    lexicon = ["".join(rng.choice(list("abcdefgh"), int(rng.integers(2, 6)))) for _ in range(40)]
    partner = rng.permutation(np.arange(2, C))
    utts = []
    for _ in range(n_utt):
        words = [lexicon[int(i)] for i in rng.integers(0, len(lexicon), n_words)]
        frames, spans = [], []  # frame labels, (word, start, end) per reference word
        diff = []
        for w_i, w in enumerate(words):
            if w_i:
                frames += [BLANK] * int(rng.integers(0, 3)) + [SPACE] * 2
            u = float(rng.random())
            start = len(frames)
            for ch in w:
                frames += [BLANK] * int(rng.integers(0, 3))
                k = LABELS.index(ch)
                frames += [k] * int(rng.integers(2, 5))
            spans.append((w, start, len(frames)))
            diff += [u] * (len(frames) - len(diff))
        frames += [BLANK] * 2
        diff += [0.0] * (len(frames) - len(diff))
        T = len(frames)
        z = rng.standard_normal((T, C))
        for t, k in enumerate(frames):
            u = diff[t]
            z[t, k] += 5.0 * (1.0 - u) + 3.0
            if k > 1:
                z[t, partner[k - 2]] += 4.0 * u
        lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        utts.append((lp, spans))
    return utts


def word_correct(hyp_words, ref_spans):
    """1 for each hypothesis word that overlaps a reference word of the same text."""
    out = []
    for w in hyp_words:
        ok = any(w.word == r and w.start < e and s < w.end for r, s, e in ref_spans)
        out.append(1 if ok else 0)
    return out


def confidence_auroc(n_utt=200, seed=0):
    """(AUROC of word confidence for word correctness, word accuracy, n words)."""
    import fastloss

    conf, correct = [], []
    for lp, spans in make_task(n_utt, seed=seed):
        x = lp[:, None, :]
        tokens, _ = fastloss.ctc_greedy_decode(x)
        (al,) = fastloss.ctc_alignments(x, tokens, vocabulary=LABELS)
        conf += [w.confidence for w in al.words]
        correct += word_correct(al.words, spans)
    conf = np.asarray(conf)
    correct = np.asarray(correct)
    # AUROC by the rank-sum (Mann-Whitney) statistic, ties counted half
    pos, neg = conf[correct == 1], conf[correct == 0]
    gt = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(gt / (pos.size * neg.size)), float(correct.mean()), int(conf.size)
