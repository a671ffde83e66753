"""Edit distance and corpus error rates (WER, CER), as jiwer.

Error rates follow jiwer 4.0 (``jiwer.process_words`` /
``jiwer.process_characters`` with their default transforms); the dynamic
programme runs in compiled code, parallel over sentence pairs.  Nothing here
is CTC-specific: any pair of token sequences or sentences can be compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core import checks as _checks

__all__ = ["edit_distance", "error_rates", "ErrorRates", "wer", "cer"]


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


def error_rates(references, hypotheses, *, unit="word"):
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
    k, pairs, nr, nh = _corpus_ids(references, hypotheses, unit)
    out = np.zeros((pairs[1].size, 4), dtype=np.int64)
    k.pair_scores(*pairs, True, out)
    H, S, D, I = (int(v) for v in out.sum(axis=0))
    if nr == 0:
        er = float(I)
        mer, wip = (0.0, 1.0) if nh == 0 else (1.0, 0.0)
    else:
        er = float(S + D + I) / float(H + S + D)
        mer = float(S + D + I) / float(H + S + D + I)
        wip = (float(H) / nr) * (float(H) / nh) if nh >= 1 else 0.0
    return ErrorRates(unit, H, S, D, I, nr, nh, er, mer, 1 - wip, wip)


def _rate(references, hypotheses, unit):
    k, pairs, nr, nh = _corpus_ids(references, hypotheses, unit)
    out = np.zeros((pairs[1].size, 4), dtype=np.int64)
    k.pair_scores(*pairs, False, out)
    dist = int(out[:, 0].sum())
    return float(dist) if nr == 0 else float(dist) / float(nr)


def wer(references, hypotheses):
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
    return _rate(references, hypotheses, "word")


def cer(references, hypotheses):
    """Corpus character error rate, as ``jiwer.cer(references, hypotheses)``.

    Total character-level edit distance (spaces included, ends stripped)
    over total reference characters; see :func:`error_rates`.

    Examples
    --------
    >>> import fastloss
    >>> fastloss.cer("kitten", "sitting")
    0.5
    """
    return _rate(references, hypotheses, "char")


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
