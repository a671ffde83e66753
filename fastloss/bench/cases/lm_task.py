"""A synthetic LM-decoding task: a word 3-gram ARPA model and CTC
posteriors of sentences drawn from the same process (no download).

Words are pseudo-words built from syllables; sentences follow a sparse
"successor" structure (each word prefers 20 successors) so that a 3-gram
model helps.  Posteriors: every character of the reference lasts 1-2 frames
with 0-2 blank frames between; each frame's true symbol is ``peak`` nats
above Gaussian noise, and 12% of the characters are confused (another
letter scores higher on their frames), so acoustic-only decoding makes
errors that the LM can fix.  Used by ``fastloss bench`` (case
``CTCDecoder``) and by ``bench/pyctcdecode_lm.py`` (the pyctcdecode and
flashlight comparison).
"""
from __future__ import annotations

import collections
import math
import os

import numpy as np

LABELS = ["", " ", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
_SYL = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["sh", "th", "qu", "x"]


def vocabulary(rng, size):
    words = set()
    while len(words) < size:
        n = int(rng.integers(1, 4))
        words.add("".join(_SYL[int(i)] for i in rng.integers(0, len(_SYL), n)))
    return sorted(words)


class SentenceModel:
    """Zipf unigrams plus a preferred-successor list per word."""

    def __init__(self, n_words=10_000, seed=0, succ=20, p_succ=0.7):
        rng = np.random.default_rng(seed)
        self.words = vocabulary(rng, n_words)
        V = len(self.words)
        w = 1.0 / np.arange(1, V + 1) ** 1.05
        self.uni = w / w.sum()
        self.cum = np.cumsum(self.uni)
        self.succ = rng.choice(V, size=(V, succ), p=self.uni)
        self.p_succ = p_succ

    def sentences(self, n, seed, min_len=5, max_len=15):
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            L = int(rng.integers(min_len, max_len + 1))
            s = [int(np.searchsorted(self.cum, rng.random()))]
            for _ in range(L - 1):
                if rng.random() < self.p_succ:
                    s.append(int(self.succ[s[-1], int(rng.integers(self.succ.shape[1]))]))
                else:
                    s.append(min(int(np.searchsorted(self.cum, rng.random())), len(self.words) - 1))
            out.append([self.words[i] for i in s])
        return out


def write_arpa_3gram(path, sentences, vocab, discount=0.7):
    """Back-off 3-gram (absolute discounting, Katz-style backoff weights that
    renormalise each context), every vocabulary word a unigram."""
    c1, c2, c3 = collections.Counter(), collections.Counter(), collections.Counter()
    for s in sentences:
        t = ["<s>", *s, "</s>"]
        c1.update(t[1:])
        c2.update(zip(t, t[1:]))
        c3.update(zip(t, t[1:], t[2:]))
    words = ["</s>", *vocab]
    total = sum(c1.values()) + len(words)
    p1 = {w: (c1.get(w, 0) + 1) / (total + 1) for w in words}
    p1["<unk>"] = 1 / (total + 1)
    ctx2 = collections.Counter()
    for (a, _), c in c2.items():
        ctx2[a] += c
    p2 = {g: (c - discount) / ctx2[g[0]] for g, c in c2.items()}
    seen2 = collections.defaultdict(float)
    low2 = collections.defaultdict(float)
    for (a, b), p in p2.items():
        seen2[a] += p
        low2[a] += p1[b]
    bo1 = {a: (1 - seen2[a]) / (1 - low2[a]) for a in seen2}

    def pb(a, b):
        return p2[(a, b)] if (a, b) in p2 else bo1.get(a, 1.0) * p1[b]

    ctx3 = collections.Counter()
    for (a, b, _), c in c3.items():
        ctx3[(a, b)] += c
    p3 = {g: (c - discount) / ctx3[g[:2]] for g, c in c3.items()}
    seen3 = collections.defaultdict(float)
    low3 = collections.defaultdict(float)
    for (a, b, w), p in p3.items():
        seen3[(a, b)] += p
        low3[(a, b)] += pb(b, w)
    bo2 = {h: (1 - seen3[h]) / (1 - low3[h]) for h in seen3}
    lines = ["\\data\\", f"ngram 1={len(p1) + 1}", f"ngram 2={len(p2)}", f"ngram 3={len(p3)}", "", "\\1-grams:"]
    lines.append(f"-99\t<s>\t{math.log10(bo1['<s>']):.6f}")
    for w, p in p1.items():
        b = bo1.get(w)
        lines.append(f"{math.log10(p):.6f}\t{w}" + (f"\t{math.log10(b):.6f}" if b else ""))
    lines += ["", "\\2-grams:"]
    for (a, b), p in p2.items():
        bb = bo2.get((a, b))
        lines.append(f"{math.log10(p):.6f}\t{a} {b}" + (f"\t{math.log10(bb):.6f}" if bb else ""))
    lines += ["", "\\3-grams:"]
    for g, p in p3.items():
        lines.append(f"{math.log10(p):.6f}\t{' '.join(g)}")
    lines += ["", "\\end\\", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return len(p1) + 1 + len(p2) + len(p3)


def posteriors(texts, T, seed, peak=5.0, confuse=0.12, noise=1.0, return_ends=False):
    """(T, N, C) float32 log-softmax posteriors of the texts (truncated to fit
    T frames; the returned references are the parts that fit).  With
    ``return_ends``, also the frame at which the last space that fits ends
    (T if nothing was cut) and the references up to that space: decoding
    only that far gives inputs that stop at a word boundary, after a
    delimiter."""
    rng = np.random.default_rng(seed)
    C = len(LABELS)
    idx = {c: i for i, c in enumerate(LABELS)}
    N = len(texts)
    z = rng.standard_normal((T, N, C)).astype(np.float32) * noise
    refs = []
    ends = np.full(N, T, dtype=np.int64)
    refs_at_ends = []
    for n, text in enumerate(texts):
        t = 0
        kept = 0
        prev = None
        frames = []
        word_end = 0
        word_k = 0
        for k, ch in enumerate(text):
            c = idx[ch]
            nb = int(rng.integers(0, 3))
            if c == prev and nb == 0:
                nb = 1
            d = int(rng.integers(1, 3))
            if t + nb + d > T:
                break
            frames.extend([0] * nb)
            wrong = c if rng.random() >= confuse or c < 3 else int(rng.integers(3, C))
            frames.extend([(c, wrong)] * d)
            t += nb + d
            kept = k + 1
            prev = c
            if ch == " ":
                word_end = t
                word_k = k
        frames.extend([0] * (T - len(frames)))
        for tt, f in enumerate(frames):
            if f == 0:
                z[tt, n, 0] += peak
            else:
                c, wrong = f
                z[tt, n, c] += peak
                if wrong != c:
                    z[tt, n, wrong] += peak + 1.0
        ref = text[:kept]
        if kept < len(text) and not text[kept] == " ":
            ref = ref.rsplit(" ", 1)[0] if " " in ref else ""
        if kept < len(text):
            ends[n] = word_end
            refs_at_ends.append(" ".join(text[:word_k].split()))
        else:
            refs_at_ends.append(" ".join(text.split()))
        refs.append(" ".join(ref.split()))
    z -= z.max(axis=2, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=2, keepdims=True))
    if return_ends:
        return z.astype(np.float32), refs, ends, refs_at_ends
    return z.astype(np.float32), refs


def utterance_ends(n_words=10_000, N=32, T=500, seed=0):
    """``(ends, references up to them)`` of ``posteriors(...,
    return_ends=True)`` for the utterances of ``make_task`` with the same
    arguments (regenerated: the draws are deterministic)."""
    model = SentenceModel(n_words, seed)
    texts = [" ".join(s) for s in model.sentences(N, seed + 2, 30, 40)]
    return posteriors(texts, T, seed + 3, return_ends=True)[2:]


def make_task(directory, n_words=10_000, n_train=12_000, N=32, T=500, seed=0):
    """Write lm.arpa, lp.npy (T, N, C) and refs.txt into ``directory``;
    returns (arpa path, log_probs, references, n-gram count)."""
    os.makedirs(directory, exist_ok=True)
    model = SentenceModel(n_words, seed)
    train = model.sentences(n_train, seed + 1)
    arpa = os.path.join(directory, "lm.arpa")
    count = write_arpa_3gram(arpa, train, model.words)
    texts = [" ".join(s) for s in model.sentences(N, seed + 2, 30, 40)]
    lp, refs = posteriors(texts, T, seed + 3)
    np.save(os.path.join(directory, "lp.npy"), lp)
    with open(os.path.join(directory, "refs.txt"), "w") as f:
        f.write("\n".join(refs) + "\n")
    return arpa, lp, refs, count


def flashlight_decoder(labels, arpa, words, *, beam=64, beam_threshold=10.0, alpha=0.5, beta=1.5):
    """flashlight-text's ``LexiconDecoder`` with its KenLM on this task, set
    up as torchaudio's ``ctc_decoder`` sets it up; returns ``decode(lp)``
    for (T, N, C) log-probabilities, giving the top text per utterance.

    Settings matched to ``CTCDecoder``'s: flashlight adds ``lm_weight`` times
    KenLM's log10 scores, so ``lm_weight = alpha * ln 10``; ``word_score =
    beta``; ``beam_threshold`` (drop hypotheses that far below the best) is
    ``-beam_prune_logp``; every token is tried at every frame
    (``beam_size_token = C``; flashlight has no ``token_min_logp``);
    ``log_add=True`` (equal prefixes merged by log-sum-exp, as a CTC prefix
    search).  The lexicon is the LM's words, spelled by their letters and
    then the word delimiter (so a word ends at a space, as in the
    posteriors; without the delimiter the WER was 0.119 instead of 0.032),
    the trie smeared with the max of its words' unigram scores; no unknown
    words (``unk_score=-inf``).  A word still unfinished at the last frame
    is dropped, as flashlight does."""
    import math

    from flashlight.lib.text.decoder import CriterionType, LexiconDecoder, LexiconDecoderOptions, SmearingMode, Trie
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    tokens = ["<blank>", "|"] + list(labels[2:])  # labels: blank, space (the delimiter), letters
    tdict = Dictionary(tokens)
    wdict = Dictionary(list(words) + ["<unk>"])
    wdict.set_default_index(wdict.get_index("<unk>"))
    lm = KenLM(arpa, wdict)
    trie = Trie(len(tokens), 1)
    start = lm.start(False)
    for w in words:
        wi = wdict.get_index(w)
        trie.insert([tdict.get_index(c) for c in w] + [1], wi, lm.score(start, wi)[1])
    trie.smear(SmearingMode.MAX)
    opts = LexiconDecoderOptions(beam_size=beam, beam_size_token=len(tokens), beam_threshold=beam_threshold,
                                 lm_weight=alpha * math.log(10), word_score=beta, unk_score=-math.inf,
                                 sil_score=0.0, log_add=True, criterion_type=CriterionType.CTC)
    dec = LexiconDecoder(opts, trie, lm, 1, 0, wdict.get_index("<unk>"), [], False)

    def decode(lp, lengths=None):
        T, N, C = lp.shape
        em = np.ascontiguousarray(lp.transpose(1, 0, 2), dtype=np.float32)
        out = []
        for n in range(N):
            best = dec.decode(em[n].ctypes.data, T if lengths is None else int(lengths[n]), C)[0]
            out.append(" ".join(wdict.get_entry(i) for i in best.words if i >= 0))
        return out

    return decode
