"""Edit distance and corpus error rates (WER, CER), as jiwer.

Error rates follow jiwer 4.0 (``jiwer.process_words`` /
``jiwer.process_characters`` with their default transforms); the dynamic
programme runs in compiled code, parallel over sentence pairs.  Nothing here
is CTC-specific: any pair of token sequences or sentences can be compared.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._core import checks as _checks

__all__ = ["edit_distance", "error_rates", "ErrorRates", "wer", "cer", "AlignmentChunk", "visualize_alignment"]


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.speech import text

    return text


_SPACE_TABLE = None


def _space_table():
    """Boolean table over code points 0..0x3000: ``chr(c).isspace()`` (the
    same set as ``\\s`` in Python's ``re``), plus a final False for every
    higher code point (no whitespace lies above U+3000; a test checks it)."""
    global _SPACE_TABLE
    if _SPACE_TABLE is None:
        _SPACE_TABLE = np.array([chr(c).isspace() for c in range(0x3001)] + [False], dtype=np.bool_)
    return _SPACE_TABLE


def _as_corpus(x, name):
    """jiwer's input handling: a str is one sentence, a list of str a corpus;
    an empty list acts as one empty sentence (jiwer's transforms map [] to
    [[]])."""
    if isinstance(x, str):
        return [x]
    if isinstance(x, np.ndarray):
        if x.ndim != 1 or x.dtype.kind not in "UO":
            raise TypeError(f"{name} must be a str or a sequence of str, got {_checks._describe(x)}")
        x = x.tolist()
    elif isinstance(x, (bytes, dict, set)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{name} must be a str or a sequence of str, got {type(x).__name__}")
    lst = list(x)
    if set(map(type, lst)) - {str}:  # one C-level pass; find the culprit only on failure
        for i, s in enumerate(lst):
            if not isinstance(s, str):
                raise TypeError(f"{name}[{i}] must be a str, got {type(s).__name__} {s!r}"[:200])
    return lst if lst else [""]


def _encode(sentences, dtype):
    """Code points of the whole corpus (one array, ``dtype``) and sentence offsets."""
    joined = "".join(sentences)
    try:
        # Latin-1 text (code points < 256) is one byte per character in
        # CPython: encoding it is a copy, ~2x faster than UTF-32.
        codes = np.frombuffer(joined.encode("latin-1"), dtype=np.uint8).astype(dtype)
    except UnicodeEncodeError:
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(dtype, copy=False)
    off = np.zeros(len(sentences) + 1, dtype=np.int64)
    np.cumsum(np.array(list(map(len, sentences)), dtype=np.int64), out=off[1:])
    return codes, off


def _tokens(sentences, words, k, space):
    """Token ids of a corpus: (codes, lo, hi, tok, starts, ends).

    Characters: the tokens are the code points themselves (int64), sentence
    s is tok[lo[s]:hi[s]] (its stripped span): no copy.  Words: tok holds
    one hash per word, sentence s is tok[lo[s]:hi[s]], and (starts, ends)
    give each word's span in ``codes`` (uint32) for the exact comparison."""
    codes, off = _encode(sentences, np.uint32 if words else np.int64)
    S = len(sentences)
    counts = np.empty(S, dtype=np.int64)
    lo = np.empty(S, dtype=np.int64)
    hi = np.empty(S, dtype=np.int64)
    k.count_tokens(codes, off, space, words, counts, lo, hi)
    if not words:
        return codes, lo, hi, codes, None, None
    toff = np.zeros(S + 1, dtype=np.int64)
    np.cumsum(counts, out=toff[1:])
    n = int(toff[-1])
    tok = np.empty(n, dtype=np.int64)
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    k.fill_words(codes, lo, hi, space, toff, tok, starts, ends)
    return codes, toff[:-1], toff[1:], tok, starts, ends


def _corpus_ids(references, hypotheses, unit):
    if not isinstance(unit, str) or unit not in ("word", "char"):
        raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
    refs = _as_corpus(references, "references")
    hyps = _as_corpus(hypotheses, "hypotheses")
    if len(refs) != len(hyps):
        raise ValueError(
            f"references and hypotheses must have the same length, got {len(refs)} references "
            f"and {len(hyps)} hypotheses"
        )
    k = _kernels()
    space = _space_table()
    words = unit == "word"
    rcodes, rlo, rhi, rtok, rs, re_ = _tokens(refs, words, k, space)
    hcodes, hlo, hhi, htok, hs, he = _tokens(hyps, words, k, space)
    if words:
        rid = np.empty_like(rtok)
        hid = np.empty_like(htok)
        k.word_ids(rcodes, rtok, rs, re_, rlo, rhi, hcodes, htok, hs, he, hlo, hhi, rid, hid)
        rtok, htok = rid, hid
    return k, (rtok, rlo, rhi, htok, hlo, hhi), int((rhi - rlo).sum()), int((hhi - hlo).sum())


@dataclass(frozen=True)
class ErrorRates:
    """Corpus error counts and rates, as jiwer's ``WordOutput`` /
    ``CharacterOutput`` (without the alignments).

    ``error_rate`` is the WER (``unit='word'``) or CER (``unit='char'``),
    also available as ``.wer`` / ``.cer`` respectively.  ``mer``, ``wil`` and
    ``wip`` follow jiwer's formulas for either unit.
    """

    unit: str
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    reference_length: int
    hypothesis_length: int
    error_rate: float
    mer: float
    wil: float
    wip: float
    #: Token lists after the transforms (``return_alignments=True``), as jiwer's.
    references: list | None = field(default=None, repr=False, compare=False)
    hypotheses: list | None = field(default=None, repr=False, compare=False)
    #: One list of :class:`AlignmentChunk` per sentence (``return_alignments=True``).
    alignments: list | None = field(default=None, repr=False, compare=False)
    #: (S, 4) int64 ``[hits, substitutions, deletions, insertions]`` per
    #: sentence pair (``per_sentence=True``); see :meth:`sentence`.
    sentence_counts: np.ndarray | None = field(default=None, repr=False, compare=False)

    def sentence(self, i: int) -> "ErrorRates":
        """The result of sentence pair ``i`` alone (needs ``per_sentence=True``)."""
        if self.sentence_counts is None:
            raise ValueError("per-sentence results need error_rates(..., per_sentence=True)")
        H, S, D, I = (int(v) for v in self.sentence_counts[i])
        return _result(self.unit, H, S, D, I, H + S + D, H + S + I)

    @property
    def sentence_error_rates(self) -> np.ndarray:
        """(S,) float64 error rate of each sentence pair ((S + D + I) / (H + S + D);
        the insertion count when the reference is empty, as jiwer)."""
        if self.sentence_counts is None:
            raise ValueError("per-sentence results need error_rates(..., per_sentence=True)")
        H, S, D, I = self.sentence_counts.T.astype(np.float64)
        n = H + S + D
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, (S + D + I) / np.where(n > 0, n, 1), I)

    @property
    def wer(self) -> float:
        if self.unit != "word":
            raise AttributeError("wer is defined for unit='word'; this result is for characters (use .cer)")
        return self.error_rate

    @property
    def cer(self) -> float:
        if self.unit != "char":
            raise AttributeError("cer is defined for unit='char'; this result is for words (use .wer)")
        return self.error_rate


def error_rates(references, hypotheses, *, unit="word", reference_transform=None, hypothesis_transform=None,
                return_alignments=False, per_sentence=False):
    r"""Corpus-level edit counts and error rates (WER/CER, MER, WIL, WIP).

    Counts are pooled over the corpus exactly as ``jiwer.process_words``
    (``unit='word'``) and ``jiwer.process_characters`` (``unit='char'``)
    pool them, after jiwer's default text handling:

    * words: runs of two or more whitespace characters become one space,
      leading/trailing whitespace is stripped, then the text is split on
      ``' '`` (a single tab inside a sentence stays inside its word, as in
      jiwer);
    * characters: leading/trailing whitespace is stripped; every remaining
      character, spaces included (not collapsed), is a token.

    Tokens are compared by Unicode code point (no normalisation, as jiwer).

    .. math:: \mathrm{WER} = \frac{S + D + I}{H + S + D},\quad
              \mathrm{MER} = \frac{S + D + I}{H + S + D + I},\quad
              \mathrm{WIP} = \frac{H}{N_\mathrm{ref}}\frac{H}{N_\mathrm{hyp}},\quad
              \mathrm{WIL} = 1 - \mathrm{WIP}

    With an empty reference corpus, as jiwer: error rate = number of
    insertions, MER = 0 and WIP = 1 if the hypotheses are empty too, else
    MER = 1 and WIP = 0.  WIP = 0 when the hypotheses are empty.

    Parameters
    ----------
    references, hypotheses : str or sequence of str
        One sentence each (a str) or corpora of equal length (lists,
        tuples or 1-D arrays of str; jiwer accepts only lists).  An empty
        list counts as one empty sentence, as in jiwer.
    unit : {'word', 'char'}
    reference_transform, hypothesis_transform : callable, optional
        jiwer-style pipelines (:mod:`fastloss.text`, e.g.
        ``text.Compose([text.ToLowerCase(), text.RemovePunctuation(),
        text.ReduceToListOfListOfWords()])``) mapping the list of sentences
        to a list of token lists, as jiwer's arguments of the same names;
        default: the unit's default pipeline (``text.wer_default`` /
        ``text.cer_default``), run in compiled code.
    return_alignments : bool
        Also return ``references``, ``hypotheses`` (token lists) and
        ``alignments`` (per sentence, a list of :class:`AlignmentChunk`),
        as jiwer's ``WordOutput``; see :func:`visualize_alignment`.
    per_sentence : bool
        Also return ``sentence_counts`` (S, 4) and enable
        :meth:`ErrorRates.sentence` and ``sentence_error_rates``.

    ``references``/``hypotheses`` may also be token ids: a sequence of 1-D
    integer arrays (or lists of ints), or a 2-D integer array (one row per
    sentence); they are compared as they are (no transform) and ``unit``
    only names the rate.

    Returns
    -------
    ErrorRates
        ``hits, substitutions, deletions, insertions, reference_length,
        hypothesis_length, error_rate (.wer or .cer), mer, wil, wip``.

    Notes
    -----
    The counts follow the alignment rapidfuzz's ``Levenshtein.opcodes``
    (jiwer's engine) picks among the equally short ones, so ``hits`` etc.
    match jiwer, not just the distance.  For a sentence pair whose stripped
    core exceeds 2**24 DP cells (for example two 5000-character documents)
    fastloss keeps the alignment with the most hits instead (rapidfuzz
    switches to Hirschberg's algorithm on long pairs); the error rate is the
    same either way, only the split between substitutions and
    insertion/deletion pairs can differ.  Sentences become integer ids in one
    pass over the UTF-32 text; the DP runs in parallel over pairs.

    Examples
    --------
    >>> import fastloss
    >>> r = fastloss.error_rates(["the cat sat", "hello"], ["the cat sat down", "yellow"])
    >>> r.hits, r.substitutions, r.deletions, r.insertions, r.wer
    (3, 1, 0, 1, 0.5)
    """
    return_alignments = _checks.check_bool(return_alignments, "return_alignments")
    per_sentence = _checks.check_bool(per_sentence, "per_sentence")
    k, pairs, nr, nh, toks = _prepare(references, hypotheses, unit, reference_transform, hypothesis_transform,
                                      return_alignments)
    out = np.zeros((pairs[1].size, 4), dtype=np.int64)
    k.pair_scores(*pairs, True, out)
    H, S, D, I = (int(v) for v in out.sum(axis=0))
    res = _result(unit, H, S, D, I, nr, nh)
    extra = {}
    if per_sentence:
        extra["sentence_counts"] = out
    if return_alignments:
        extra.update(_alignments(k, pairs, toks))
    if extra:
        from dataclasses import replace

        res = replace(res, **extra)
    return res


def _result(unit, H, S, D, I, nr, nh):
    if nr == 0:
        er = float(I)
        mer, wip = (0.0, 1.0) if nh == 0 else (1.0, 0.0)
    else:
        er = float(S + D + I) / float(H + S + D)
        mer = float(S + D + I) / float(H + S + D + I)
        wip = (float(H) / nr) * (float(H) / nh) if nh >= 1 else 0.0
    return ErrorRates(unit, H, S, D, I, nr, nh, er, mer, 1 - wip, wip)


def _rate(references, hypotheses, unit, reference_transform=None, hypothesis_transform=None):
    k, pairs, nr, nh, _ = _prepare(references, hypotheses, unit, reference_transform, hypothesis_transform, False)
    out = np.zeros((pairs[1].size, 4), dtype=np.int64)
    k.pair_scores(*pairs, False, out)
    dist = int(out[:, 0].sum())
    return float(dist) if nr == 0 else float(dist) / float(nr)


def wer(references, hypotheses, *, reference_transform=None, hypothesis_transform=None):
    """Corpus word error rate, as ``jiwer.wer(references, hypotheses)``.

    Total word-level edit distance over total reference words, after
    jiwer's default text handling (see :func:`error_rates`).  Only distances
    are computed (one DP row per pair), not alignments.  An all-empty
    reference corpus gives the number of inserted words (as jiwer, which
    then returns an int; this returns a float).

    Examples
    --------
    >>> import fastloss
    >>> fastloss.wer(["the cat sat", "hello world"], ["the cat sat down", "hello  world "])
    0.2
    """
    return _rate(references, hypotheses, "word", reference_transform, hypothesis_transform)


def cer(references, hypotheses, *, reference_transform=None, hypothesis_transform=None):
    """Corpus character error rate, as ``jiwer.cer(references, hypotheses)``.

    Total character-level edit distance (spaces included, ends stripped)
    over total reference characters; see :func:`error_rates` (also for
    ``reference_transform`` / ``hypothesis_transform`` and token ids).

    Examples
    --------
    >>> import fastloss
    >>> fastloss.cer("kitten", "sitting")
    0.5
    """
    return _rate(references, hypotheses, "char", reference_transform, hypothesis_transform)


def edit_distance(reference, hypothesis):
    """Levenshtein distance between two sequences.

    Unit-cost insertions, deletions and substitutions turning ``reference``
    into ``hypothesis`` (symmetric).  Accepts strings (compared by
    character), lists/tuples of hashable tokens (words, say), and 1-D
    integer arrays; no text normalisation is applied (use
    :func:`error_rates` for jiwer's).  Same as
    ``rapidfuzz.distance.Levenshtein.distance``.

    Returns
    -------
    int

    Examples
    --------
    >>> import fastloss
    >>> fastloss.edit_distance("kitten", "sitting")
    3
    >>> fastloss.edit_distance("the cat sat".split(), "a cat sat down".split())
    2
    """
    a = _sequence(reference, "reference")
    b = _sequence(hypothesis, "hypothesis")
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        ids: dict = {}
        try:
            a = np.fromiter((ids.setdefault(t, len(ids)) for t in a), dtype=np.int64)
            b = np.fromiter((ids.setdefault(t, len(ids)) for t in b), dtype=np.int64)
        except TypeError as exc:
            raise TypeError(f"edit_distance tokens must be hashable: {exc}") from None
    zero = np.zeros(1, dtype=np.int64)
    out = np.zeros((1, 4), dtype=np.int64)
    _kernels().pair_scores(a, zero, np.array([a.size]), b, zero, np.array([b.size]), False, out)
    return int(out[0, 0])


def _sequence(x, name):
    """int64 array for integer arrays, else a list of hashable tokens."""
    if isinstance(x, str):
        return list(x)
    if isinstance(x, np.ndarray) or type(x).__module__.startswith("torch"):
        arr = _checks.to_array(x, name)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
        if arr.dtype.kind in "iub":
            return np.ascontiguousarray(arr, dtype=np.int64)
        return arr.tolist()
    if isinstance(x, (bytes, bytearray)):
        return list(x)
    if not hasattr(x, "__iter__") or isinstance(x, (dict, set, frozenset)):
        raise TypeError(f"{name} must be a str, a sequence of tokens or a 1-D array, got {type(x).__name__}")
    return list(x)


# ---------------------------------------------------------------- issue 16
# Transforms (jiwer-style pipelines), token-id inputs, alignments.


def _is_ids(x) -> bool:
    """A corpus of token ids: a 2-D integer array, or a non-empty sequence
    whose first item is an integer array / a list of ints (not str)."""
    if isinstance(x, str):
        return False
    if isinstance(x, np.ndarray) or type(x).__module__.startswith("torch"):
        arr = _checks.to_array(x, "references")
        return arr.ndim == 2 and arr.dtype.kind in "iub"
    if isinstance(x, (list, tuple)) and x:
        first = x[0]
        if isinstance(first, np.ndarray) or type(first).__module__.startswith("torch"):
            return True
        if isinstance(first, (list, tuple)) and all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in first):
            return True
    return False


def _id_corpus(x, name):
    """List of 1-D int64 arrays from token-id input."""
    if isinstance(x, np.ndarray) or type(x).__module__.startswith("torch"):
        arr = _checks.to_array(x, name)
        return [np.ascontiguousarray(r, dtype=np.int64) for r in arr]
    out = []
    for i, s in enumerate(x):
        if isinstance(s, str):
            raise TypeError(f"{name}[{i}] is a str but {name} holds token ids (sequences of integers)")
        arr = _checks.to_array(s, f"{name}[{i}]") if not isinstance(s, (list, tuple)) else np.asarray(s)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iub"):
            raise TypeError(f"{name}[{i}] must be a 1-D sequence of integer token ids, got {_checks._describe(arr)}")
        out.append(np.ascontiguousarray(arr, dtype=np.int64))
    return out


def _is_token_lists(x) -> bool:
    if not isinstance(x, list):
        return False
    return all(isinstance(e, list) and all(isinstance(t, str) for t in e) for e in x)


def _transformed(x, transform, name):
    if isinstance(x, str):
        x = [x]
    elif isinstance(x, (tuple, np.ndarray)):
        x = list(x.tolist() if isinstance(x, np.ndarray) else x)
    out = transform(x)
    if not _is_token_lists(out):
        raise ValueError(
            f"After applying the transformation, each {'reference' if name == 'references' else 'hypothesis'} "
            "should be a list of strings, with each string being a single word or character. Please ensure the "
            "given transformation reduces the input to a list of list strings."
        )
    return out


def _pack(seqs):
    off = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(t) for t in seqs), dtype=np.int64, count=len(seqs)), out=off[1:])
    tok = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)
    return np.ascontiguousarray(tok, dtype=np.int64), off[:-1], off[1:]


def _prepare(references, hypotheses, unit, reference_transform, hypothesis_transform, want_tokens):
    """(kernels, pairs, n_ref_tokens, n_hyp_tokens, token lists or None)."""
    if not isinstance(unit, str) or unit not in ("word", "char"):
        raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
    ids_r, ids_h = _is_ids(references), _is_ids(hypotheses)
    if ids_r or ids_h:
        if not (ids_r and ids_h):
            raise TypeError("references and hypotheses must both be text or both be token ids")
        if reference_transform is not None or hypothesis_transform is not None:
            raise ValueError("transforms apply to text, not to token ids")
        rs, hs = _id_corpus(references, "references"), _id_corpus(hypotheses, "hypotheses")
        toks = (rs, hs)
    elif reference_transform is None and hypothesis_transform is None and not want_tokens:
        k, pairs, nr, nh = _corpus_ids(references, hypotheses, unit)
        return k, pairs, nr, nh, None
    else:
        from . import transforms as tr

        default = tr.wer_default if unit == "word" else tr.cer_default
        rt = default if reference_transform is None else reference_transform
        ht = default if hypothesis_transform is None else hypothesis_transform
        for t, name in ((rt, "reference_transform"), (ht, "hypothesis_transform")):
            if not callable(t):
                raise TypeError(f"{name} must be a callable transform (e.g. fastloss.text.Compose), got {t!r}")
        if reference_transform is None:
            _as_corpus(references, "references")  # type checks of the fast path
        rw = _transformed(references, rt, "references")
        hw = _transformed(hypotheses, ht, "hypotheses")
        ids: dict = {}
        rs = [np.fromiter((ids.setdefault(w, len(ids)) for w in sent), dtype=np.int64, count=len(sent)) for sent in rw]
        hs = [np.fromiter((ids.setdefault(w, len(ids)) for w in sent), dtype=np.int64, count=len(sent)) for sent in hw]
        toks = (rw, hw)
    if len(rs) != len(hs):
        raise ValueError(
            "After applying the transforms on the reference and hypothesis sentences, their lengths must match. "
            f"Instead got {len(rs)} reference and {len(hs)} hypothesis sentences."
        )
    rtok, rlo, rhi = _pack(rs)
    htok, hlo, hhi = _pack(hs)
    return _kernels(), (rtok, rlo, rhi, htok, hlo, hhi), int((rhi - rlo).sum()), int((hhi - hlo).sum()), toks


@dataclass
class AlignmentChunk:
    """One run of an alignment, as jiwer's ``AlignmentChunk``: ``type`` in
    {'equal', 'substitute', 'insert', 'delete'}; the reference tokens
    ``[ref_start_idx, ref_end_idx)`` map to the hypothesis tokens
    ``[hyp_start_idx, hyp_end_idx)``."""

    type: str
    ref_start_idx: int
    ref_end_idx: int
    hyp_start_idx: int
    hyp_end_idx: int

    def __post_init__(self):
        if self.type not in ("replace", "insert", "delete", "equal", "substitute"):
            raise ValueError(f"type must be one of 'equal', 'substitute', 'insert', 'delete', got {self.type!r}")
        if self.type == "replace":
            self.type = "substitute"
        if self.ref_start_idx > self.ref_end_idx:
            raise ValueError(f"ref_start_idx={self.ref_start_idx} is larger than ref_end_idx={self.ref_end_idx}")
        if self.hyp_start_idx > self.hyp_end_idx:
            raise ValueError(f"hyp_start_idx={self.hyp_start_idx} is larger than hyp_end_idx={self.hyp_end_idx}")


_NAMES = ("equal", "substitute", "delete", "insert")


def _chunks(path):
    """Opcodes from the step codes (0 hit, 1 sub, 2 del, 3 ins), merged as
    rapidfuzz's ``Editops.as_opcodes`` merges runs of one kind."""
    out = []
    i = j = 0
    t = 0
    n = path.size
    while t < n:
        c = path[t]
        i0, j0 = i, j
        while t < n and path[t] == c:
            if c != 3:
                i += 1
            if c != 2:
                j += 1
            t += 1
        out.append(AlignmentChunk(_NAMES[c], i0, i, j0, j))
    return out


def _alignments(k, pairs, toks):
    rtok, rlo, rhi, htok, hlo, hhi = pairs
    alignments = []
    for a0, a1, b0, b1 in zip(rlo, rhi, hlo, hhi):
        a, b = rtok[a0:a1], htok[b0:b1]
        if (a.size + 1) * (b.size + 1) > (1 << 28):
            raise ValueError(f"alignment of a {a.size} x {b.size} token pair needs too large a matrix")
        path = np.empty(a.size + b.size, dtype=np.int8)
        m = k.edit_path(a, b, path)
        alignments.append(_chunks(path[:m]))
    refs, hyps = toks if toks is not None else (None, None)
    if refs is not None and len(refs) and isinstance(refs[0], np.ndarray):
        refs = [r.tolist() for r in refs]
        hyps = [h.tolist() for h in hyps]
    return {"references": refs, "hypotheses": hyps, "alignments": alignments}


def visualize_alignment(result, *, show_measures=True, skip_correct=True, line_width=None):
    """Text picture of the alignments of an :func:`error_rates` result
    (``return_alignments=True``), as ``jiwer.visualize_alignment``.

    Examples
    --------
    >>> import fastloss
    >>> r = fastloss.error_rates(["short one here"], ["shoe order one"], return_alignments=True)
    >>> print(fastloss.visualize_alignment(r, show_measures=False))
    === SENTENCE 1 ===
    <BLANKLINE>
    REF: **** short one here
    HYP: shoe order one ****
            I     S        D
    <BLANKLINE>
    """
    if not isinstance(result, ErrorRates) or result.alignments is None:
        raise ValueError("visualize_alignment needs error_rates(..., return_alignments=True)")
    is_cer = result.unit == "char"
    final = ""
    for idx, (gt, hp, chunks) in enumerate(zip(result.references, result.hypotheses, result.alignments)):
        if skip_correct and (len(chunks) == 0 or (len(chunks) == 1 and chunks[0].type == "equal")):
            continue
        final += f"=== SENTENCE {idx + 1} ===\n\n"
        final += _comparison(gt, hp, chunks, not is_cer, line_width)
        final += "\n"
    if show_measures:
        final += "=== SUMMARY ===\n"
        final += f"number of sentences: {len(result.alignments)}\n"
        final += f"substitutions={result.substitutions} deletions={result.deletions} "
        final += f"insertions={result.insertions} hits={result.hits}\n"
        if is_cer:
            final += f"\ncer={result.error_rate * 100:.2f}%\n"
        else:
            final += f"\nmer={result.mer * 100:.2f}%\nwil={result.wil * 100:.2f}%\nwip={result.wip * 100:.2f}%"
            final += f"\nwer={result.error_rate * 100:.2f}%\n"
    else:
        final = final[:-1]
    return final


def _comparison(reference, hypothesis, ops, sep, line_width):
    reference = [str(t) for t in reference]
    hypothesis = [str(t) for t in hypothesis]
    ref_str, hyp_str, op_str, agg = "REF: ", "HYP: ", "     ", ""
    for op in ops:
        if op.type in ("equal", "substitute"):
            ref = reference[op.ref_start_idx:op.ref_end_idx]
            hyp = hypothesis[op.hyp_start_idx:op.hyp_end_idx]
            op_char = " " if op.type == "equal" else "s"
        elif op.type == "delete":
            ref = reference[op.ref_start_idx:op.ref_end_idx]
            hyp = ["*"] * len(ref)
            op_char = "d"
        else:
            hyp = hypothesis[op.hyp_start_idx:op.hyp_end_idx]
            ref = ["*"] * len(hyp)
            op_char = "i"
        for rf, hp in zip(ref, hyp):
            w = max(len(rf), len(hp), 1)
            if line_width is not None and len(ref_str) + w > line_width:
                if sep:
                    agg += f"{ref_str[:-1]}\n{hyp_str[:-1]}\n{op_str[:-1]}\n\n"
                else:
                    agg += f"{ref_str}\n{hyp_str}\n{op_str}\n\n"
                ref_str, hyp_str, op_str = "REF: ", "HYP: ", "     "
            if rf == "*":
                rf = "*" * w
            elif hp == "*":
                hp = "*" * w
            ref_str += f"{rf:>{w}}"
            hyp_str += f"{hp:>{w}}"
            op_str += f"{op_char.upper():>{w}}"
            if sep:
                ref_str += " "
                hyp_str += " "
                op_str += " "
    if sep:
        return agg + f"{ref_str[:-1]}\n{hyp_str[:-1]}\n{op_str[:-1]}\n"
    return agg + f"{ref_str}\n{hyp_str}\n{op_str}\n"
