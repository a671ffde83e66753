"""CTC forced alignment, token and word spans, timestamps and confidence.

``forced_align`` is torchaudio's ``forced_align`` (same path, same
tie-breaking, same per-frame scores) for a whole padded batch, in parallel;
``merge_tokens`` is torchaudio's ``merge_tokens``; ``merge_words`` groups
token spans into words with a vocabulary; ``ctc_alignments`` gives the frame
spans and a posterior confidence of every token and word of decoded
hypotheses (greedy or beam).  See ``docs/align.md``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._core import checks as _checks

__all__ = [
    "forced_align",
    "merge_tokens",
    "merge_words",
    "ctc_alignments",
    "TokenSpan",
    "WordSpan",
    "Alignment",
]


#: Below this many (frame, state) cells forced_align runs serially.
_PARALLEL_CELLS = 1_000_000


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.speech import align

    return align


class TokenSpan(NamedTuple):
    """One token of an alignment: frames ``start <= t < end``.

    ``score`` is the mean of the token's per-frame log-probabilities (as
    torchaudio's ``TokenSpan.score``).  Unlike torchaudio's dataclass,
    ``len(span)`` is 4 (a tuple): the duration is ``span.end - span.start``.
    """

    token: int
    start: int
    end: int
    score: float


class WordSpan(NamedTuple):
    """One word: its text, frames ``start <= t < end`` (first token's start to
    last token's end), ``score`` = mean per-frame log-probability over its
    tokens' frames, and ``confidence`` (NaN when not computed)."""

    word: str
    start: int
    end: int
    score: float
    confidence: float


class Alignment(NamedTuple):
    """Alignment of one hypothesis to its utterance (see :func:`ctc_alignments`).

    ``tokens``: one :class:`TokenSpan` per label (Viterbi spans);
    ``confidence``: float64 array, one posterior confidence per label;
    ``words``: list of :class:`WordSpan` (``None`` without a vocabulary);
    ``log_likelihood``: the CTC log-likelihood ``log p(y | x)``.
    """

    tokens: list
    confidence: np.ndarray
    words: list | None
    log_likelihood: float


# ---------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------


def _layout(log_probs, batch_first):
    x = _checks.as_float(log_probs, "log_probs")
    if x.ndim == 2:
        T, C = x.shape
        N, unbatched = 1, True
    elif x.ndim == 3:
        unbatched = False
        N, T, C = x.shape if batch_first else (x.shape[1], x.shape[0], x.shape[2])
    else:
        layout = "(N, T, C)" if batch_first else "(T, N, C)"
        raise ValueError(f"log_probs must be {layout} or unbatched (T, C), got shape {x.shape}")
    if C < 1:
        raise ValueError(f"log_probs must have at least one class (C >= 1), got shape {x.shape}")
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    return x, unbatched, N, T, C


def _strides(x, unbatched, batch_first):
    from .ctc import _flat_view

    lp, strides = _flat_view(x)
    if unbatched:
        st, sn = strides[0], 0
    elif batch_first:
        sn, st = strides[0], strides[1]
    else:
        st, sn = strides[0], strides[1]
    if lp.size == 0:
        lp = np.zeros(1, dtype=lp.dtype)
    return lp, st, sn


def _repeats(flat, offsets, tl):
    """Number of consecutive equal labels of each target."""
    if flat.size < 2:
        return np.zeros(tl.size, dtype=np.int64)
    same = np.zeros(flat.size, dtype=np.int64)
    same[1:] = flat[1:] == flat[:-1]
    # a label equal to the last one of the previous target is no repeat
    same[offsets[(offsets > 0) & (offsets < flat.size) & (tl > 0)]] = 0
    csum = np.concatenate([[0], np.cumsum(same)])
    start = np.minimum(offsets, flat.size)
    end = np.minimum(offsets + tl, flat.size)
    first = np.minimum(start + 1, end)  # the first label of a target is never a repeat
    return csum[end] - csum[first]


def _raise_status(status, rows, il, tl, flat, offsets, what="targets"):
    bad = np.flatnonzero(status != -1)
    if not bad.size:
        return
    k = int(bad[0])
    code = int(status[k])
    n = int(rows[k])
    if code == -3:
        R = int(_repeats(flat, offsets, tl)[k])
        raise ValueError(
            f"sample {n}: {what} of length {tl[k]} with {R} repeated labels need at least "
            f"{tl[k] + R} frames, got input length {il[n]}"
        )
    if code == -2:
        raise ValueError(
            f"sample {n}: every alignment of the {what} has probability zero (log-probabilities -inf)"
        )
    raise ValueError(
        f"log_probs must not hold NaN or +inf in a needed log-probability, got one at frame {code} "
        f"of sample {n}"
    )


# ---------------------------------------------------------------------------
# forced alignment
# ---------------------------------------------------------------------------


def forced_align(log_probs, targets, input_lengths=None, target_lengths=None, *, blank=0, batch_first=True,
                 ties="best"):
    r"""Viterbi (best-path) alignment of label sequences to CTC emissions.

    For each sample n, the frame labelling :math:`\pi \in \mathcal{B}^{-1}(y_n)`
    (:math:`\mathcal{B}` removes repeats then blanks) that maximises
    :math:`\sum_{t < T_n} \log p_t(\pi_t)`, found by the max-plus recursion
    over the :math:`2L_n + 1` blank-extended states, parallel over the batch.
    Equal to ``torchaudio.functional.forced_align`` called on each sample
    (``log_probs[n:n+1, :T_n]``, ``targets[n:n+1, :L_n]``): same path, same
    tie-breaking, same scores, except where torchaudio 2.11 returns a path
    that is not the best (see ``ties``).

    Parameters
    ----------
    log_probs : array, shape (N, T, C), (T, N, C) with ``batch_first=False``, or (T, C)
        Per-frame log-probabilities.  float32/float64 are read in place
        (float16 is computed in float32, other reals in float64).  NaN or
        +inf in a needed log-probability of a valid frame is a ValueError;
        ``-inf`` (impossible) is allowed.
    targets : int array, padded (N, S), or concatenated 1-D with ``target_lengths``; (L,) unbatched
        Labels in ``[0, C)``, never ``blank``; padding is not read.
    input_lengths : int array (N,), optional
        Valid frames per sample (default ``T``).
    target_lengths : int array (N,), optional
        Labels per sample (default ``S``, the padded width).
    blank : int, default 0
    batch_first : bool, default True
        ``log_probs`` is (N, T, C), torchaudio's layout.
    ties : {'best', 'torchaudio'}, default 'best'
        ``'best'``: always a best path, ties broken as described in the Notes.
        ``'torchaudio'``: torchaudio 2.11's exact choices, bug included: when
        the previous state and the skip from two states back tie for the best
        predecessor and both beat staying, its release build stays anyway,
        which can return a path whose score is below the maximum (seen on
        integer-valued log-probabilities; continuous emissions practically
        never tie exactly).  Use it to reproduce torchaudio's output bit for
        bit.

    Returns
    -------
    paths : int array (N, T) ((T,) unbatched)
        The label of every frame, blanks included; dtype of ``targets`` when
        int32/int64, else int64.  Frames ``t >= input_lengths[n]`` hold
        ``blank``.
    scores : array (N, T) ((T,) unbatched), dtype of the computation
        ``log_probs[n, t, paths[n, t]]``; 0 on padded frames, so
        ``scores.sum(axis=1)`` is each path's log-probability.

    Raises
    ------
    ValueError
        Bad shapes or lengths; labels outside ``[0, C)`` or equal to
        ``blank``; a sample whose frames are too few for its labels and
        repeats (:math:`T_n < L_n + R_n`), or whose every alignment has
        probability zero; NaN/+inf in a needed log-probability.  Each message
        names the sample.

    Notes
    -----
    Tie-breaking (torchaudio's, as in its current source): at each frame and
    state the predecessor is the state itself unless the previous state is
    strictly better, and the skip from two states back (allowed between
    different labels) only when strictly better than both; the path ends in the final blank only when
    strictly better than ending on the last label.  Path sums are kept in
    the input's dtype, as torchaudio does, so float32 inputs reproduce
    torchaudio's path even where float32 rounding decides a near-tie (pass
    float64 for a float64 search).

    Differences from torchaudio: batches of any size with per-sample lengths
    (torchaudio requires ``N == 1`` and ``T == max(input_lengths)``); empty
    targets align to all-blank paths (torchaudio fails); negative labels, NaN
    frames and zero-probability alignments are errors (torchaudio reads out of
    bounds or returns an arbitrary path); every error is a ``ValueError``
    (torchaudio raises ``RuntimeError`` for too-short inputs).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> p = np.array([[.6, .3, .1], [.2, .7, .1], [.5, .2, .3], [.1, .1, .8]])
    >>> paths, scores = fastloss.forced_align(np.log(p)[None], np.array([[1, 2]]))
    >>> paths.tolist()
    [[0, 1, 0, 2]]
    >>> np.round(np.exp(scores), 2).tolist()
    [[0.6, 0.7, 0.5, 0.8]]
    """
    from .ctc import _prepare

    batch_first = _checks.check_bool(batch_first, "batch_first")
    if ties not in ("best", "torchaudio"):
        raise ValueError(f"ties must be 'best' or 'torchaudio', got {ties!r}")
    x, unbatched, N, T, C = _layout(log_probs, batch_first)
    tg = _checks.as_int_array(targets, "targets")
    if input_lengths is None:
        input_lengths = np.full(N, T, dtype=np.int64) if not unbatched else T
    if target_lengths is None:
        if tg.ndim == 2:
            target_lengths = np.full(tg.shape[0], tg.shape[1], dtype=np.int64)
        elif unbatched and tg.ndim == 1:
            target_lengths = tg.shape[0]
        else:
            raise ValueError("target_lengths is required with concatenated 1-D targets")
    x, unbatched, T, N, C, blank, il, tl, flat, offsets = _prepare(
        x, tg, input_lengths, target_lengths, blank, batch_first
    )
    pdtype = tg.dtype if tg.dtype in (np.dtype(np.int32), np.dtype(np.int64)) else np.dtype(np.int64)
    pdtype = pdtype.newbyteorder("=")
    lp, st, sn = _strides(x, unbatched, batch_first)
    paths = np.empty((N, T), dtype=pdtype)
    scores = np.empty((N, T), dtype=lp.dtype)
    status = np.empty(N, dtype=np.int64)
    # Small batches run on the calling thread (a parallel region costs more
    # than ~1e6 cells of work, each ~1-3 ns); larger ones hand utterances
    # to threads one at a time (lengths vary).
    cells = int(np.dot(il, 2 * tl + 1)) if N else 0
    run = _kernels().forced_align_dynamic if N > 1 and cells >= _PARALLEL_CELLS else _kernels().forced_align_serial
    run(lp, st, sn, C, T, flat, offsets, tl, il, blank, ties == "torchaudio", blank, paths, scores, status)
    _raise_status(status, np.arange(N), il, tl, flat, offsets)
    if unbatched:
        return paths[0], scores[0]
    return paths, scores


# ---------------------------------------------------------------------------
# spans
# ---------------------------------------------------------------------------


def _spans(path, scores, blank):
    """TokenSpans of one 1-D path (no checks)."""
    T = path.size
    if T == 0:
        return []
    change = np.flatnonzero(path[1:] != path[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [T]])
    keep = path[starts] != blank
    starts, ends = starts[keep], ends[keep]
    if not starts.size:
        return []
    out = []
    for tok, s, e in zip(path[starts].tolist(), starts.tolist(), ends.tolist()):
        out.append(TokenSpan(int(tok), s, e, math.fsum(scores[s:e].tolist()) / (e - s)))
    return out


def merge_tokens(path, scores, *, blank=0):
    """Token spans of a frame labelling: merge runs of a label, drop blanks.

    Same as ``torchaudio.functional.merge_tokens``: each maximal run of one
    non-blank label in ``path`` becomes a :class:`TokenSpan` ``(token, start,
    end, score)`` with ``end`` exclusive and ``score`` the mean of
    ``scores[start:end]``.  A repeated label (``a a``) forms two spans only
    when a blank separates its runs, as in any CTC path.

    Parameters
    ----------
    path : int array (T,)
        Label per frame, e.g. a row of :func:`forced_align`'s ``paths`` (its
        padding is ``blank``, so a padded row gives the same spans).  A 2-D
        (N, T) array gives one list per row.
    scores : float array, same shape as ``path``
        Per-frame log-probabilities (e.g. :func:`forced_align`'s ``scores``).
    blank : int, default 0

    Returns
    -------
    list of TokenSpan (list of lists for a 2-D ``path``)
        ``score`` is computed in float64 (torchaudio averages in the input's
        dtype: values agree to its rounding).

    Notes
    -----
    Negative labels are a ValueError (torchaudio uses -1 as a sentinel and
    silently drops a -1 at either end of the path).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> path = np.array([0, 1, 1, 0, 1, 2, 2])
    >>> scores = np.array([-.1, -.2, -.4, -.1, -.3, -.5, -.7])
    >>> [(s.token, s.start, s.end, round(s.score, 6)) for s in fastloss.merge_tokens(path, scores)]
    [(1, 1, 3, -0.3), (1, 4, 5, -0.3), (2, 5, 7, -0.6)]
    """
    p = _checks.as_int_array(path, "path")
    s = _checks.to_array(scores, "scores")
    if s.dtype.kind not in "fiu":
        raise TypeError(f"scores must be a real array, got dtype {s.dtype}")
    if p.ndim not in (1, 2) or s.shape != p.shape:
        raise ValueError(
            f"path and scores must be 1-D (T,) or 2-D (N, T) of the same shape, got {p.shape} and {s.shape}"
        )
    blank = _checks.check_int(blank, "blank")
    if p.size and p.min() < 0:
        i = np.unravel_index(int(np.argmin(p)), p.shape)
        raise ValueError(f"path must hold labels >= 0, got {p[i]} at position {tuple(int(v) for v in i)}")
    s = np.asarray(s, dtype=np.float64)
    if p.ndim == 1:
        return _spans(p, s, blank)
    return [_spans(p[n], s[n], blank) for n in range(p.shape[0])]


def _vocab(vocabulary):
    """(labels list, word delimiter or None) of a Vocabulary-like object or a label list."""
    if hasattr(vocabulary, "labels"):
        labels = list(vocabulary.labels)
        delim = getattr(vocabulary, "word_delimiter", None)
    elif isinstance(vocabulary, (list, tuple)):
        labels = list(vocabulary)
        delim = " " if " " in labels else ("|" if "|" in labels else None)
    else:
        raise TypeError(
            "vocabulary must be a Vocabulary (labels, blank, word_delimiter) or a list of label strings, "
            f"got {type(vocabulary).__name__}"
        )
    for i, lab in enumerate(labels):
        if not isinstance(lab, str):
            raise TypeError(f"vocabulary labels must be str, got {type(lab).__name__} {lab!r} at index {i}")
    if delim is not None and not isinstance(delim, str):
        raise TypeError(f"word_delimiter must be a str or None, got {type(delim).__name__}")
    sp = getattr(vocabulary, "sentencepiece", None)
    if sp is None:
        sp = any(lab.startswith(_WORD_START) for lab in labels)
    return labels, delim, bool(sp)


_WORD_START = "\u2581"  # SentencePiece's word-start mark


def merge_words(token_spans, vocabulary, *, confidence=None):
    """Group token spans into word spans.

    Words are separated by tokens whose label is the vocabulary's word
    delimiter (``" "`` or ``"|"``; the delimiter belongs to no word), and
    start at every SentencePiece-style label beginning with ``"\u2581"``
    (which is stripped from the text) unless the vocabulary says it is not
    SentencePiece (a ``sentencepiece`` attribute that is False, as
    ``fastloss.Vocabulary(..., word_delimiter=None)`` has).  Without a
    delimiter and without such labels the whole sequence is one word.

    Parameters
    ----------
    token_spans : sequence of TokenSpan
        As returned by :func:`merge_tokens` (any ``(token, start, end,
        score)`` tuples).
    vocabulary : Vocabulary or list of str
        An object with ``labels`` (label text per id) and ``word_delimiter``
        (str or None), such as ``fastloss.Vocabulary``; or a plain list of
        labels, whose delimiter is ``" "`` if present, else ``"|"`` if
        present, else none.
    confidence : float array (len(token_spans),), optional
        Per-token confidences; a word's confidence is the minimum over its
        tokens (NaN when not given).

    Returns
    -------
    list of WordSpan
        ``(word, start, end, score, confidence)``: ``start`` of the first
        token, ``end`` (exclusive) of the last, ``score`` the mean per-frame
        log-probability over the word's token frames (torchaudio's tutorial's
        duration-weighted average of token scores).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> labels = ["-", "|", "a", "b"]
    >>> path = np.array([2, 2, 0, 3, 1, 1, 3, 0])
    >>> spans = fastloss.merge_tokens(path, np.log(np.full(8, 0.5)), blank=0)
    >>> [(w.word, w.start, w.end) for w in fastloss.merge_words(spans, labels)]
    [('ab', 0, 4), ('b', 6, 7)]
    """
    labels, delim, sentencepiece = _vocab(vocabulary)
    spans = list(token_spans)
    if confidence is not None:
        conf = np.asarray(_checks.to_array(confidence, "confidence"), dtype=np.float64)
        if conf.shape != (len(spans),):
            raise ValueError(f"confidence must have shape ({len(spans)},) (one per token span), got {conf.shape}")
    else:
        conf = None
    words = []
    cur = None  # [text, start, end, score sum, frames, confidence]

    def close():
        if cur is not None and cur[0]:
            frames = cur[4]
            words.append(WordSpan(cur[0], cur[1], cur[2], cur[3] / frames if frames else math.nan, cur[5]))

    for i, sp in enumerate(spans):
        try:
            tok, start, end, score = sp[0], sp[1], sp[2], sp[3]
        except (TypeError, IndexError):
            raise TypeError(f"token_spans[{i}] must be a (token, start, end, score) span, got {sp!r}") from None
        tok = int(tok)
        if not 0 <= tok < len(labels):
            raise ValueError(f"token_spans[{i}].token = {tok} is outside the vocabulary's [0, {len(labels)})")
        text = labels[tok]
        c = math.nan if conf is None else float(conf[i])
        if delim is not None and text == delim:
            close()
            cur = None
            continue
        if sentencepiece and text.startswith(_WORD_START):
            close()
            cur = None
            text = text[1:]
        n = int(end) - int(start)
        if cur is None:
            cur = [text, int(start), int(end), float(score) * n, n, c]
        else:
            cur[0] += text
            cur[2] = int(end)
            cur[3] += float(score) * n
            cur[4] += n
            cur[5] = min(cur[5], c) if not (math.isnan(cur[5]) or math.isnan(c)) else math.nan
    close()
    return words


# ---------------------------------------------------------------------------
# timestamps and confidence of decoded hypotheses
# ---------------------------------------------------------------------------


def ctc_alignments(log_probs, hypotheses, input_lengths=None, *, blank=0, batch_first=False, vocabulary=None):
    r"""Frame spans and posterior confidence of decoded hypotheses.

    For each utterance n and its hypothesis :math:`y` (from
    ``ctc_greedy_decode``, ``ctc_beam_search`` or any decoder), computed in
    parallel over the batch:

    * **timestamps**: the Viterbi alignment of :math:`y` (as
      :func:`forced_align`), merged into one :class:`TokenSpan` per label
      (and into words with ``vocabulary``).  For a greedy result this is the
      greedy path itself (up to ties).
    * **confidence** of label :math:`k`: the occupancy-weighted mean frame
      posterior

      .. math:: c_k = \frac{\sum_t \gamma_t(k)\, p_t(y_k)}{\sum_t \gamma_t(k)},
                \qquad \gamma_t(k) = P(\pi_t = \text{label } k \mid x, y)

      where :math:`\gamma` is the CTC forward-backward occupancy of the
      label's state (the soft alignment, as in the CTC gradient) and
      :math:`p_t = \exp(\text{log\_probs}_t)`.  It is the model's average
      probability for the token over the frames it most likely occupies, in
      [0, 1] for normalised log-probabilities.  A word's confidence is the
      minimum over its tokens (one doubtful character makes a doubtful word).

    Parameters
    ----------
    log_probs : array (T, N, C), (N, T, C) with ``batch_first``, or (T, C)
        Per-frame log-probabilities (``log_softmax`` output, so that
        :math:`p_t` are probabilities).
    hypotheses : sequence of N label sequences
        One hypothesis per utterance (int arrays or lists; labels in
        ``[0, C)``, not ``blank``), e.g. ``ctc_greedy_decode(...)[0]`` or
        ``[beams[0][0] for beams in ctc_beam_search(...)]``.  A single
        sequence when ``log_probs`` is (T, C).
    input_lengths : int array (N,), optional
    blank : int, default 0
    batch_first : bool, default False
        As the decoders.
    vocabulary : Vocabulary or list of str, optional
        To group tokens into words (:func:`merge_words`).

    Returns
    -------
    list of N Alignment (one Alignment for (T, C) input)
        ``(tokens, confidence, words, log_likelihood)``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> labels = ["", " ", "a", "b"]
    >>> p = np.array([[.1, .1, .7, .1], [.7, .1, .1, .1], [.1, .6, .2, .1],
    ...               [.1, .1, .1, .7], [.2, .1, .2, .5]])
    >>> lp = np.log(p)[:, None, :]
    >>> tokens, _ = fastloss.ctc_greedy_decode(lp)
    >>> (al,) = fastloss.ctc_alignments(lp, tokens, vocabulary=labels)
    >>> [(w.word, w.start, w.end, round(w.confidence, 3)) for w in al.words]
    [('a', 0, 1, 0.7), ('b', 3, 5, 0.6)]
    """
    batch_first = _checks.check_bool(batch_first, "batch_first")
    x, unbatched, N, T, C = _layout(log_probs, batch_first)
    blank = _checks.check_int(blank, "blank")
    if not 0 <= blank < C:
        raise ValueError(f"blank must be in [0, C={C}), got {blank}")
    if unbatched:
        hypotheses = [hypotheses]
    if isinstance(hypotheses, (str, bytes)) or not hasattr(hypotheses, "__len__"):
        raise TypeError(f"hypotheses must be a sequence of N={N} label sequences, got {type(hypotheses).__name__}")
    if len(hypotheses) != N:
        raise ValueError(f"hypotheses must hold one label sequence per utterance: expected {N}, got {len(hypotheses)}")
    if input_lengths is None:
        il = np.full(N, T, dtype=np.int64)
    else:
        il = _checks.iter_lengths(np.atleast_1d(_checks.to_array(input_lengths, "input_lengths")), "input_lengths")
        if il.shape != (N,):
            raise ValueError(f"input_lengths must have shape ({N},), got {il.shape}")
        bad = np.flatnonzero((il < 0) | (il > T))
        if bad.size:
            raise ValueError(f"input_lengths must be in [0, T={T}], got {il[bad[0]]} at index {bad[0]}")
    seqs = []
    for n, h in enumerate(hypotheses):
        a = _checks.as_int_array(h, f"hypotheses[{n}]")
        if a.ndim != 1:
            raise ValueError(f"hypotheses[{n}] must be 1-D, got shape {a.shape}")
        bad = np.flatnonzero((a < 0) | (a >= C) | (a == blank))
        if bad.size:
            raise ValueError(
                f"hypotheses[{n}] must hold labels in [0, {C}) other than blank={blank}, "
                f"got {a[bad[0]]} at position {bad[0]}"
            )
        seqs.append(a.astype(np.int64, copy=False))
    tl = np.array([s.size for s in seqs], dtype=np.int64)
    flat = np.concatenate(seqs) if seqs else np.empty(0, np.int64)
    offsets = np.zeros(N, dtype=np.int64)
    if N > 1:
        np.cumsum(tl[:-1], out=offsets[1:])
    vocab = None if vocabulary is None else _vocab(vocabulary)
    lp, st, sn = _strides(x, unbatched, batch_first)
    rows = np.arange(N, dtype=np.int64)
    paths = np.empty((N, T), dtype=np.int64)
    scores = np.empty((N, T), dtype=lp.dtype)
    status = np.empty(N, dtype=np.int64)
    dur = np.empty(flat.size, dtype=np.float64)
    conf = np.empty(flat.size, dtype=np.float64)
    logz = np.empty(N, dtype=np.float64)
    _kernels().alignment_jobs_dynamic(lp, st, sn, C, T, flat, offsets, tl, rows, il, blank, paths, scores,
                              status, dur, conf, logz)
    _raise_status(status, rows, il, tl, flat, offsets, what="hypothesis")
    out = []
    for n in range(N):
        Tn = int(il[n])
        toks = _spans(paths[n, :Tn], np.asarray(scores[n, :Tn], dtype=np.float64), blank)
        c = conf[offsets[n] : offsets[n] + tl[n]].copy()
        words = merge_words(toks, _Vocab(*vocab), confidence=c) if vocab is not None else None
        out.append(Alignment(toks, c, words, float(logz[n])))
    return out[0] if unbatched else out


class _Vocab(NamedTuple):
    labels: list
    word_delimiter: str | None
    sentencepiece: bool
