"""CTC beam search fused with an n-gram language model (shallow fusion).

:class:`CTCDecoder` decodes a batch of CTC log-probabilities into text with
pyctcdecode's scoring (word LM, ``unk_score_offset``, hotwords), a lexicon,
or a character LM, in compiled code, parallel over utterances.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._core import checks as _checks
from .lm import NgramLM
from .vocabulary import Vocabulary

__all__ = ["CTCDecoder", "Hypothesis"]

LN10 = math.log(10.0)


def _kernels():
    from .._kernels.speech import decoder

    return decoder


@dataclass
class Hypothesis:
    """One decoded hypothesis (best first in :meth:`CTCDecoder.decode`'s lists).

    Attributes
    ----------
    text : str
        Words joined by single spaces.
    tokens : int64 ndarray
        Token ids (CTC-collapsed, no blanks).
    score : float
        ``acoustic_score + lm_score``: the ranking score.
    acoustic_score : float
        Natural log of the summed probability of the prefix's alignments kept
        by the search (the CTC log-likelihood of ``tokens`` when nothing was
        pruned).
    lm_score : float
        Natural-log LM part: ``alpha * ln(10) * (lm_log10 + unk_score_offset
        * (out-of-vocabulary words)) + beta * n_words`` plus hotword bonuses
        (0 without LM and hotwords).
    lm_log10 : float
        Raw log10 LM probability of the words and ``</s>`` (for re-tuning
        ``alpha``/``beta`` without decoding again).
    n_words : int
        Words (``lm_unit="word"``) or tokens (``"char"``) scored by the LM.
    word_spans : list of (str, int, int)
        ``(word, start frame, end frame)`` (end exclusive) from the best
        (Viterbi) alignment of ``tokens`` to the frames.
    word_confidence : list of float
        Per word, the geometric mean of the aligned frames' probabilities
        ``exp(mean log p_t(token))`` over the word's token frames, in (0, 1].
    """

    text: str
    tokens: np.ndarray
    score: float
    acoustic_score: float
    lm_score: float
    lm_log10: float
    n_words: int
    word_spans: list = field(default_factory=list)
    word_confidence: list = field(default_factory=list)


def _codes(words):
    chars = np.array([ord(ch) for w in words for ch in w], dtype=np.int64)
    offs = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in words], out=offs[1:])
    return chars, offs


class CTCDecoder:
    r"""CTC prefix beam search with shallow fusion of an n-gram LM.

    Parameters
    ----------
    vocabulary : Vocabulary or sequence of str
        The model's labels (a label list is turned into ``Vocabulary(labels)``).
    lm : NgramLM or None
        From :func:`load_arpa`; ``None`` decodes without LM (hotwords and a
        lexicon still apply).
    alpha, beta : float
        LM weight and word insertion bonus (pyctcdecode's defaults 0.5, 1.5).
    unk_score_offset : float
        Added (inside the ``alpha`` scaling) to the log10 probability of a
        completed word the LM does not know, and (outside it) to a partial
        word that is no prefix of a known word, as pyctcdecode.
    lm_unit : {"word", "char"}
        ``"word"``: the LM scores completed words (split at the vocabulary's
        delimiter or ``"▁"`` pieces).  ``"char"``: the LM scores every token,
        its label being the LM's word (the delimiter is looked up as its label,
        then ``"<space>"``, then ``"|"``); ``beta`` is then a per-token bonus.
    unigrams : sequence of str or None
        Known words for the partial-word test and the OOV offset (default:
        the LM's vocabulary without ``<s>``, ``</s>``, ``<unk>``).
    lexicon : sequence of str or None
        If given, only these words can be produced (a partial word must be a
        prefix of one of them).  When no hypothesis ends in a lexicon word
        (the input stops inside a word), the unfinished word is dropped from
        the hypotheses, as flashlight's ``LexiconDecoder`` does; their
        ``acoustic_score`` still covers its tokens.  With a lexicon the blank
        is always tried (``token_min_logp`` does not drop it), so that beams
        survive frames whose likely tokens the lexicon forbids.
    hotwords : sequence of str or None
        Phrases to boost, as pyctcdecode: every word of a phrase earns
        ``hotword_weight`` when completed, and a partial word that prefixes
        one earns ``hotword_weight * len(partial) / len(shortest such word)``
        (instead of the OOV test).
    hotword_weight : float
    smearing : {"max", "logadd", None}
        Look-ahead inside a word, as flashlight's smeared lexicon trie: a
        partial word that prefixes known words (the lexicon's, with a
        lexicon; else the unigrams) scores ``alpha * ln(10) *`` the largest
        (``"max"``, the default) or the log-sum (``"logadd"``) of their
        log10 unigram probabilities (with ``unk_score_offset`` for a word
        the LM does not know), instead of 0; the completed word's real score
        replaces it.  It changes which prefixes the beam keeps, never how a
        hypothesis is scored.  ``None``: no look-ahead (pyctcdecode's
        search).  On the benchmark task ``"max"`` gave the lowest WER, with
        and without a lexicon (docs/decode.md).  No effect without an LM or
        with ``lm_unit="char"``.

    Notes
    -----
    The score of a prefix ``y`` (token sequence) is

    .. math:: \log P_\text{ctc}(y \mid x) + \alpha \ln 10 \,\log_{10} P_\text{lm}(\text{words}(y))
              + \beta\, |\text{words}(y)| + \text{partial}(y)

    where :math:`\log P_\text{ctc}` sums the prefix's alignments kept in the
    beam (blank- and label-ending parts, exact merging of equal prefixes)
    and the final hypotheses also score their last word and ``</s>``.
    Differences from pyctcdecode: prefixes are token sequences (pyctcdecode
    merges beams with the same text), ``prune_history`` is not done, a
    hypothesis ending in a delimiter gets only ``</s>`` at the end
    (pyctcdecode scores an empty word as ``<unk>`` there), and word frames come
    from a Viterbi alignment.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> dec = fastloss.CTCDecoder(["", " ", "a", "b"])
    >>> p = np.array([[.1, .1, .7, .1], [.6, .1, .2, .1], [.1, .7, .1, .1], [.1, .1, .1, .7]])
    >>> hyp = dec.decode(np.log(p)[:, None, :])[0][0]
    >>> hyp.text, hyp.tokens.tolist(), hyp.word_spans
    ('a b', [2, 1, 3], [('a', 0, 1), ('b', 3, 4)])
    """

    def __init__(self, vocabulary, *, lm=None, alpha=0.5, beta=1.5, unk_score_offset=-10.0, lm_unit="word",
                 unigrams=None, lexicon=None, hotwords=None, hotword_weight=10.0, smearing="max"):
        if not isinstance(vocabulary, Vocabulary):
            vocabulary = Vocabulary(vocabulary)
        if lm is not None and not isinstance(lm, NgramLM):
            raise TypeError(f"lm must be an NgramLM (from load_arpa) or None, got {type(lm).__name__}")
        if lm_unit not in ("word", "char"):
            raise ValueError(f"lm_unit must be 'word' or 'char', got {lm_unit!r}")
        if not (smearing is None or isinstance(smearing, str) and smearing in ("max", "logadd")):
            raise ValueError(f"smearing must be 'max', 'logadd' or None, got {smearing!r}")
        self.smearing = smearing
        self.vocabulary = vocabulary
        self.lm = lm
        self.alpha = _checks.check_scalar(alpha, "alpha")
        self.beta = _checks.check_scalar(beta, "beta")
        self.unk_score_offset = _checks.check_scalar(unk_score_offset, "unk_score_offset")
        self.hotword_weight = _checks.check_scalar(hotword_weight, "hotword_weight")
        self.lm_unit = lm_unit
        char_mode = lm_unit == "char"
        if char_mode and (lexicon is not None or hotwords is not None):
            raise ValueError("lexicon and hotwords need lm_unit='word'")
        if not char_mode and vocabulary.word_delimiter is None and (lm is not None or lexicon or hotwords):
            raise ValueError("lm_unit='word' needs word boundaries: the vocabulary has no word delimiter "
                             "(use lm_unit='char' for a character LM)")
        labels = vocabulary.labels
        C = len(labels)
        delim = vocabulary.word_delimiter
        # tokens: does it start a word, which characters does it add
        tok_start = np.array(vocabulary._starts, dtype=np.bool_)
        tok_chars, tok_off = _codes(vocabulary._chars)
        tok_lmid = np.zeros(C, dtype=np.int32)
        unk_id = lm.unk_id if lm is not None else 0
        if char_mode and lm is not None:
            for i, s in enumerate(labels):
                if i == vocabulary.delimiter_id:
                    cands = [s, "<space>", "|"]
                    tok_lmid[i] = next((lm.word_id(c) for c in cands if c in lm), unk_id)
                else:
                    tok_lmid[i] = lm.word_id(s)

        def words_of(x, name):
            if x is None:
                return None
            if isinstance(x, str) or not hasattr(x, "__iter__"):
                raise TypeError(f"{name} must be a sequence of str, got {type(x).__name__}")
            x = list(x)
            for j, w in enumerate(x):
                if not isinstance(w, str):
                    raise TypeError(f"{name}[{j}] must be a str, got {type(w).__name__}")
            return x

        unigrams = words_of(unigrams, "unigrams")
        lexicon = words_of(lexicon, "lexicon")
        hotwords = words_of(hotwords, "hotwords")
        special = {"<s>", "</s>", "<unk>"}
        if unigrams is None:
            unigrams = [w for w in lm.words if w not in special] if lm is not None else []
        hot_uni = [u for h in (hotwords or []) for u in h.split()]
        lex = [w.strip() for w in lexicon] if lexicon is not None else []
        if not char_mode and delim is not None:
            for name, ws in (("the LM's vocabulary" if lm is not None else "unigrams", unigrams), ("lexicon", lex)):
                bad = next((w for w in ws if delim in w or " " in w), None)
                if bad is not None:
                    raise ValueError(f"{name} holds the word {bad!r}, which contains the word delimiter {delim!r}")
        all_words = list(dict.fromkeys([*unigrams, *lex, *hot_uni]))
        all_words = [w for w in all_words if w]
        index = {w: i for i, w in enumerate(all_words)}
        nW = len(all_words)
        uni_set = set(unigrams)
        w_uni = np.array([w in uni_set and (lm is None or w in lm) for w in all_words], dtype=np.bool_)
        w_lex = np.zeros(nW, dtype=np.bool_)
        w_lex[[index[w] for w in lex if w]] = True
        w_hot = np.zeros(nW, dtype=np.bool_)
        w_hot[[index[w] for w in hot_uni]] = True
        w_lmid = np.array([lm.word_id(w) for w in all_words] if lm is not None else np.zeros(nW), dtype=np.int32)
        chars, offs = _codes(all_words)
        k = _kernels()
        cap = 1 << max(4, int(math.ceil(math.log2(2 * chars.size + 2))))
        tkey = np.full(cap, -1, dtype=np.int64)
        tval = np.zeros(cap, dtype=np.int32)
        term = np.full(chars.size + 1, -1, dtype=np.int32)
        nodes_of = np.zeros(chars.size, dtype=np.int32)
        nn = k.build_word_trie(chars, offs, tkey, tval, term, nodes_of)
        term = term[:nn]
        word_of_char = np.repeat(np.arange(nW), np.diff(offs))
        pre_uni = np.zeros(nn, dtype=np.bool_)
        pre_uni[nodes_of[w_uni[word_of_char]]] = True
        pre_lex = np.zeros(nn, dtype=np.bool_)
        pre_lex[nodes_of[w_lex[word_of_char]]] = True
        hot_min = np.zeros(1, dtype=np.int32)  # one entry: no hotwords (the kernel tests the size)
        if w_hot.any():
            lens = np.diff(offs)
            big = np.iinfo(np.int32).max
            hm = np.full(nn, big, dtype=np.int64)
            sel = w_hot[word_of_char]
            np.minimum.at(hm, nodes_of[sel], lens[word_of_char[sel]])
            hot_min = np.where(hm == big, 0, hm).astype(np.int32)
        # look-ahead ("smearing", as flashlight's trie): a partial word that
        # prefixes known words (lexicon words, with a lexicon) scores
        # alpha * ln 10 * (the max, or log-sum, of their log10 unigram
        # probabilities, with unk_score_offset for words the LM does not know)
        smear = np.zeros(nn, dtype=np.float64)
        if smearing is not None and lm is not None and not char_mode and nW:
            val = lm._prob[w_lmid].astype(np.float64) + np.where(w_uni, 0.0, self.unk_score_offset)
            sel = (w_lex if lexicon is not None else w_uni)[word_of_char]
            sm = np.full(nn, -np.inf)
            if smearing == "max":
                np.maximum.at(sm, nodes_of[sel], val[word_of_char[sel]])
            else:
                np.logaddexp.at(sm, nodes_of[sel], val[word_of_char[sel]] * LN10)
                sm /= LN10
            fin = np.isfinite(sm)
            smear[fin] = self.alpha * LN10 * sm[fin]
            # the root's entry is never a partial word's score (an empty word scores 0):
            # it holds the largest of all, the kernel's bound for a word's first token
            smear[0] = self.alpha * LN10 * sm[fin].max() if fin.any() else 0.0
        # the kernel's partial-word score per word-trie node (see _partial_score)
        if lexicon is not None:
            pscore, p_out = np.where(pre_lex, smear, -np.inf), -math.inf
        elif lm is not None:
            pscore, p_out = np.where(pre_uni, smear, np.nan), math.nan
        else:
            pscore, p_out = smear, 0.0
        pscore[0] = smear[0]
        self._use_lex = lexicon is not None
        # The most an extension's LM part can add to its parent's (log10 p <= 0):
        # lets the kernel skip hopeless extensions before scoring them.
        # bonus_in: the same for a token inside a word (only a hotword prefix
        # scores above 0 then).
        if self.alpha >= 0 and self.unk_score_offset <= 0:
            self._bonus_max = ((max(self.beta, 0.0) if lm is not None else 0.0)
                               + (2 * max(self.hotword_weight, 0.0) if hot_uni else 0.0))
            self._bonus_in = max(self.hotword_weight, 0.0) if hot_uni else 0.0
        else:
            self._bonus_max = self._bonus_in = math.inf
        # A tighter bound for a token that completes a word: the word is known
        # (the partial word of the prefix), and log10 P(w | any context) is at
        # most the largest probability of an n-gram ending in w, plus the
        # positive backoffs that can be added on the way to it.  With a
        # lexicon, a word outside it cannot be completed (-inf).
        # Both bounds are tabled per word-trie node (gtab[node] = (completing
        # the node's word, a token inside it)), so that a beam reads one row.
        self._use_gain = bool(lm is not None and not char_mode and math.isfinite(self._bonus_max) and not hot_uni)
        self._gtab = np.zeros((1, 2), dtype=np.float64)
        self._unk_gain = 0.0
        if self._use_gain:
            order_of = lm._order_of.astype(np.int64)
            last = lm._grams[np.arange(order_of.size), order_of - 1]
            ub = np.full(len(lm.words), -np.inf)
            np.maximum.at(ub, last, lm._prob.astype(np.float64))
            bo_up = sum(max(0.0, float(lm._bo[order_of == k].max(initial=0.0))) for k in range(1, lm.order))
            ub += bo_up
            hot_bonus = max(self.hotword_weight, 0.0) if hot_uni else 0.0
            g = self.alpha * LN10 * (ub[w_lmid] + np.where(w_uni, 0.0, self.unk_score_offset)) + self.beta
            g = g + np.where(w_hot, hot_bonus, 0.0)
            if lexicon is not None:
                g = np.where(w_lex, g, -np.inf)
            self._unk_gain = (-math.inf if lexicon is not None
                              else self.alpha * LN10 * (ub[unk_id] + self.unk_score_offset) + self.beta)
            self._unk_gain = min(self._unk_gain, self._bonus_max)  # never above the general bound
            g = np.minimum(g, self._bonus_max)
            self._gtab = gtab = np.empty((nn, 2), dtype=np.float64)
            gtab[:, 0] = np.where(term >= 0, g[np.maximum(term, 0)], self._unk_gain) if nW else self._unk_gain
            gtab[0, 0] = 0.0  # the root: no word to complete
            with np.errstate(invalid="ignore"):
                gtab[:, 1] = pscore if lexicon is not None else np.where(pscore >= self.unk_score_offset, pscore,
                                                                         self.unk_score_offset)
        # masks[node, c // 64] bit c % 64: the in-word token c leads from
        # word-trie node `node` to a prefix of a known word (of a lexicon
        # word, with a lexicon).  The kernel skips the other tokens without a
        # walk: with a lexicon they are impossible, without one they score
        # unk_score_offset or less.  Tokens of several characters keep their
        # bit set (walked).  Off with hotwords (a hotword prefix can score
        # more) and without an LM or lexicon.
        self._masks = np.zeros((1, 1), dtype=np.uint64)
        if (not char_mode and not hot_uni and (lexicon is not None or lm is not None)
                and C <= 256 and self.unk_score_offset <= 0):
            self._masks = m = np.zeros((nn, (C + 63) // 64), dtype=np.uint64)
            single = {}
            for t in range(C):
                if tok_start[t]:
                    continue
                n_ch = tok_off[t + 1] - tok_off[t]
                if n_ch == 1:
                    single.setdefault(int(tok_chars[tok_off[t]]), []).append(t)
                elif n_ch > 1:
                    m[:, t >> 6] |= np.uint64(1) << np.uint64(t & 63)
            ok = pre_lex if lexicon is not None else pre_uni
            first = np.zeros(chars.size, dtype=bool)
            first[offs[:-1][np.diff(offs) > 0]] = True
            par = np.where(first, 0, np.roll(nodes_of, 1))  # the node before each character
            good = ok[nodes_of]
            for ch, toks in single.items():
                sel = good & (chars == ch)
                for t in toks:
                    np.bitwise_or.at(m[:, t >> 6], par[sel], np.uint64(1) << np.uint64(t & 63))
        self._tables = (tok_start, tok_chars, tok_off, tok_lmid, char_mode, tkey, tval, term,
                        hot_min, pscore, p_out, w_lmid, w_uni, w_hot, w_lex)
        if lm is not None:
            self._lmt = (lm._grams, lm._order_of, lm._prob, lm._bo, lm._keep, lm._slot_row, lm._slot_hash)
            self._lm_order = lm.order
            bos = lm.begin_state()
            self._eos = lm.eos_id
        else:
            self._lmt = (np.zeros((1, 1), np.int32), np.ones(1, np.int8), np.zeros(1, np.float32),
                         np.zeros(1, np.float32), np.zeros(1, np.bool_), np.full(16, -1, np.int32),
                         np.zeros(16, np.uint64))
            self._lm_order = 0
            bos = ()
            self._eos = -1
        self._bos = np.zeros(max(self._lm_order, 1), dtype=np.int32)
        self._bos[: len(bos)] = bos
        self._bos_len = len(bos)
        self._unk = unk_id

    def __repr__(self):
        return (f"CTCDecoder({self.vocabulary!r}, lm={self.lm!r}, alpha={self.alpha}, beta={self.beta}, "
                f"lm_unit={self.lm_unit!r}, smearing={self.smearing!r})")

    def decode(self, log_probs, input_lengths=None, *, batch_first=False, beam_width=64, beam_prune_logp=-10.0,
               token_min_logp=-5.0, top_k=1, partial_word="score"):
        """Decode a batch.

        Parameters
        ----------
        log_probs : array, shape (T, N, C), or (N, T, C) with ``batch_first``
            CTC log-probabilities, float32 or float64, ``C == len(vocabulary)``
            (NaN or +inf in a valid frame is a ValueError).
        input_lengths : int array (N,), optional
        batch_first : bool
        beam_width : int >= 1
        beam_prune_logp : float <= 0 or None
            Drop prefixes scoring (acoustic + LM) more than this below the
            best after each frame (pyctcdecode's default -10); None: off.
        token_min_logp : float or None
            Only symbols with log-probability >= this (and the frame's best)
            extend prefixes (pyctcdecode's default -5); None: all.
        top_k : int, 1 <= top_k <= beam_width
        partial_word : {"score", "drop"}
            What to do with a word still unfinished at the last frame.
            ``"score"`` (default, as pyctcdecode): score it as a word.
            ``"drop"`` (flashlight's lexicon decoder): keep only the
            hypotheses that end at a word boundary (after a delimiter) when
            the beam holds any, else drop the unfinished words.  For input
            cut in the middle of speech (chunks, streams), where the last
            word is often incomplete.  Ignored with ``lm_unit="char"``.

        Returns
        -------
        list of N lists of :class:`Hypothesis`, best first.
        """
        from . import decode as _dec

        batch_first = _checks.check_bool(batch_first, "batch_first")
        x, T, N, C = _dec._log_probs(log_probs, batch_first)
        if C != len(self.vocabulary):
            raise ValueError(f"log_probs has C={C} symbols but the vocabulary has {len(self.vocabulary)} labels")
        il = _dec._input_lengths(input_lengths, N, T)
        W = _checks.check_int(beam_width, "beam_width", low=1)
        top_k = _checks.check_int(top_k, "top_k", low=1)
        if top_k > W:
            raise ValueError(f"top_k must be <= beam_width={W}, got {top_k}")
        if not (isinstance(partial_word, str) and partial_word in ("score", "drop")):
            raise ValueError(f"partial_word must be 'score' or 'drop', got {partial_word!r}")
        use_tok = token_min_logp is not None
        tok_min = _checks.check_scalar(token_min_logp, "token_min_logp", finite=False) if use_tok else 0.0
        use_prune = beam_prune_logp is not None
        prune = (_checks.check_scalar(beam_prune_logp, "beam_prune_logp", high=0.0, finite=False)
                 if use_prune else 0.0)
        _dec._check_finite_frames(x, il, batch_first)
        Tm = max(T, 1)
        out_tokens = np.zeros((N, top_k, Tm), np.int64)
        out_len = np.zeros((N, top_k), np.int64)
        out_score = np.zeros((N, top_k), np.float64)
        out_ac = np.zeros((N, top_k), np.float64)
        out_lm = np.zeros((N, top_k), np.float64)
        out_raw = np.zeros((N, top_k), np.float64)
        out_nw = np.zeros((N, top_k), np.int64)
        out_ts = np.zeros((N, top_k, Tm), np.int64)
        out_te = np.zeros((N, top_k, Tm), np.int64)
        out_tl = np.zeros((N, top_k, Tm), np.float64)
        out_count = np.zeros(N, np.int64)
        _kernels().decode(x, batch_first, il, self.vocabulary.blank, W, top_k, partial_word == "drop", use_tok,
                          tok_min, use_prune, prune,
                          *self._tables, self._lmt, self._lm_order, self._bos_len, self._bos, self._eos, self._unk,
                          self.alpha * LN10, self.beta, self.unk_score_offset, self.hotword_weight, self._use_lex,
                          self._bonus_in, self._bonus_max, self._use_gain, self._gtab, self._unk_gain, self._masks,
                          out_tokens, out_len, out_score, out_ac, out_lm, out_raw, out_nw, out_ts, out_te, out_tl,
                          out_count)
        voc = self.vocabulary
        result = []
        for n in range(N):
            hyps = []
            for r in range(out_count[n]):
                L = int(out_len[n, r])
                toks = out_tokens[n, r, :L].copy()
                spans, conf = [], []
                for w, a, b in voc.split_words(toks):
                    ts, te = out_ts[n, r, a:b], out_te[n, r, a:b]
                    frames = int((te - ts).sum())
                    spans.append((w, int(ts[0]), int(te[-1])))
                    conf.append(float(np.exp(out_tl[n, r, a:b].sum() / frames)) if frames else 0.0)
                hyps.append(Hypothesis(voc.decode_ids(toks), toks, float(out_score[n, r]), float(out_ac[n, r]),
                                       float(out_lm[n, r]), float(out_raw[n, r]), int(out_nw[n, r]), spans, conf))
            result.append(hyps)
        return result
