"""CTC decoding: greedy, prefix beam search and n-best rescoring.

Decoders take CTC log-probabilities laid out as PyTorch's ``ctc_loss``
expects them: ``(T, N, C)`` (frames, utterances, symbols), or ``(N, T, C)``
with ``batch_first=True``, float32 or float64 (read in place when
C-contiguous; other real dtypes are converted), with optional
``input_lengths`` (N,) giving the valid frames of each utterance (default: all
``T``).  Scores are accumulated in float64.  The search itself runs in
compiled code, parallel over utterances.
"""
from __future__ import annotations

import numpy as np

from .._core import checks as _checks

__all__ = ["ctc_greedy_decode", "ctc_beam_search", "ctc_score"]


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.speech import decode

    return decode


# ---------------------------------------------------------------------------
# CTC inputs
# ---------------------------------------------------------------------------


def _log_probs(log_probs, batch_first):
    x = _checks.as_float(log_probs, "log_probs")
    if x.ndim != 3:
        layout = "(N, T, C)" if batch_first else "(T, N, C)"
        raise ValueError(f"log_probs must be 3-D {layout}, got shape {x.shape}")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    x = _checks.native(x, dtype)
    if batch_first:
        N, T, C = x.shape
    else:
        T, N, C = x.shape
    if C == 0:
        raise ValueError(f"log_probs must have at least one symbol (C >= 1), got shape {x.shape}")
    return x, T, N, C


def _input_lengths(input_lengths, N, T):
    if input_lengths is None:
        return np.full(N, T, dtype=np.int64)
    il = _checks.iter_lengths(input_lengths, "input_lengths")
    if il.shape != (N,):
        raise ValueError(f"input_lengths must have shape ({N},) (one per utterance), got {il.shape}")
    bad = np.flatnonzero((il < 0) | (il > T))
    if bad.size:
        raise ValueError(f"input_lengths must be in [0, T={T}], got {il[bad[0]]} at index {bad[0]}")
    return np.ascontiguousarray(il, dtype=np.int64)


def _blank(blank, C):
    blank = _checks.check_int(blank, "blank")
    if not 0 <= blank < C:
        raise ValueError(f"blank must be in [0, C={C}), got {blank}")
    return blank


def ctc_greedy_decode(log_probs, input_lengths=None, *, blank=0, batch_first=False, merge_repeated=True):
    r"""Best-path (greedy) CTC decoding.

    For each utterance, take the most probable symbol of every frame
    (:math:`\hat\pi_t = \arg\max_c \log p_t(c)`), merge runs of the same
    symbol, then drop blanks.

    Parameters
    ----------
    log_probs : array, shape (T, N, C), or (N, T, C) with ``batch_first``
        Per-frame log-probabilities (need not be normalised).
    input_lengths : int array (N,), optional
        Valid frames per utterance; default ``T`` for all.
    blank : int
        Index of the blank symbol, in ``[0, C)``.
    batch_first : bool
        Layout of ``log_probs``.
    merge_repeated : bool
        Merge runs of the same symbol before dropping blanks (CTC's rule,
        default).  ``False`` keeps every non-blank frame, as TensorFlow's
        ``ctc_greedy_decoder(merge_repeated=False)``.

    Returns
    -------
    tokens : list of N int64 arrays
        The decoded label sequences (views into one buffer).
    scores : ndarray (N,), dtype of ``log_probs``
        Log-probability of each best path, :math:`\sum_t \max_c \log p_t(c)`
        (summed in float64, in a fixed order: independent of the thread
        count).

    Notes
    -----
    Ties go to the lowest symbol index and a NaN frame decodes to its first
    NaN symbol with a NaN score, as ``numpy.argmax`` does.  The pass reads
    ``log_probs`` once, parallel over frames (then a cheap per-utterance
    collapse of the arg-maxes), at memory bandwidth.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> lp = np.log(np.array([[[.1, .8, .1]], [[.1, .8, .1]], [[.8, .1, .1]], [[.1, .1, .8]]]))
    >>> tokens, scores = fastloss.ctc_greedy_decode(lp)
    >>> tokens[0].tolist(), round(float(scores[0]), 6) == round(4 * float(np.log(.8)), 6)
    ([1, 2], True)
    """
    x, T, N, C = _log_probs(log_probs, _checks.check_bool(batch_first, "batch_first"))
    il = _input_lengths(input_lengths, N, T)
    blank = _blank(blank, C)
    merge_repeated = _checks.check_bool(merge_repeated, "merge_repeated")
    tokens = np.empty((N, T), dtype=np.int64)
    ntok = np.empty(N, dtype=np.int64)
    score = np.empty(N, dtype=np.float64)
    _kernels().greedy(x, batch_first, il, merge_repeated, blank, tokens, ntok, score)
    return [tokens[n, : ntok[n]] for n in range(N)], score.astype(x.dtype, copy=False)


def _check_finite_frames(x, il, batch_first):
    """Beam search and rescoring need log-probs that are not NaN or +inf
    (-inf, an impossible symbol, is fine).  Only valid frames are checked."""
    bad = np.isnan(x) | (x == np.inf)
    if not bad.any():
        return
    frames = bad.any(axis=2)  # (T, N) or (N, T)
    if batch_first:
        frames = frames.T
    T = frames.shape[0]
    frames &= np.arange(T)[:, None] < il[None, :]
    if frames.any():
        t, n = np.argwhere(frames)[0]
        raise ValueError(
            f"log_probs must not hold NaN or +inf in a valid frame, got one at frame {t} of utterance {n}"
        )


def ctc_beam_search(log_probs, input_lengths=None, *, beam_width=16, top_k=1, blank=0, batch_first=False,
                    token_min_logp=None, beam_prune_logp=None):
    r"""CTC prefix beam search (no language model).

    Keeps up to ``beam_width`` label prefixes; each carries two
    log-probabilities, of the frames so far ending in a blank and ending in
    its last label, so that the score of a prefix is the total probability of
    all the alignments that collapse to it (Graves 2012; Hannun et al. 2014,
    "First-pass LVCSR with bidirectional RNNs").  When one prefix is reached
    in two ways in a frame (extending ``"ab"`` by ``"c"`` while ``"abc"`` is
    already a beam) the two are merged exactly.  Prefixes live in a trie whose
    nodes are unique per label sequence, so merging needs no string
    comparison.

    Parameters
    ----------
    log_probs : array, shape (T, N, C), or (N, T, C) with ``batch_first``
        Per-frame log-probabilities (need not be normalised; NaN and +inf
        in a valid frame are a ValueError, -inf means impossible).
    input_lengths : int array (N,), optional
        Valid frames per utterance; default ``T``.
    beam_width : int >= 1
        Prefixes kept after each frame.
    top_k : int, 1 <= top_k <= beam_width
        Hypotheses returned per utterance.
    blank : int
        Index of the blank symbol.
    token_min_logp : float or None
        As pyctcdecode's ``token_min_logp``: at each frame only symbols
        (blank included) whose log-probability is at least this, plus the
        frame's most probable symbol, are used to continue or extend
        prefixes.  ``None`` (default) uses every symbol.  pyctcdecode's
        default is -10.
    beam_prune_logp : float <= 0 or None
        As pyctcdecode's ``beam_prune_logp``: after each frame, prefixes
        scoring more than ``-beam_prune_logp`` below the best are dropped
        (before keeping the ``beam_width`` best).  ``None`` (default): no
        such pruning.  pyctcdecode's default is -10.

    Returns
    -------
    list of N lists of ``(tokens, log_score)``
        Best first; ``tokens`` an int64 array, ``log_score`` a float: the
        log of the summed probability of the prefix's alignments that
        survived the search.  With no pruning and a beam wide enough to hold
        every prefix it equals the CTC log-likelihood of ``tokens``
        (``-ctc_loss(..., reduction="none")``) and the first hypothesis is the
        most probable label sequence.  Fewer than ``top_k`` entries when fewer
        prefixes have a non-zero probability.

    Notes
    -----
    Unlike pyctcdecode, a prefix's blank- and label-ending parts share one
    beam slot (pyctcdecode keeps them as separate beams), there is no
    language model, hotword or word-level logic, and equal scores are broken
    by a fixed candidate order, so results are deterministic and independent
    of the thread count.  Memory per utterance is O(T * beam_width) for the
    prefix trie.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> p = np.array([[.5, .4, .1], [.5, .4, .1], [.1, .1, .8]])
    >>> out = fastloss.ctc_beam_search(np.log(p)[:, None, :], beam_width=8, top_k=2)
    >>> [(h.tolist(), round(float(np.exp(s)), 4)) for h, s in out[0]]  # 1 2: 11 2, _1 2, 1_ 2, 12 2, 12_
    [([1, 2], 0.484), ([2], 0.259)]
    """
    batch_first = _checks.check_bool(batch_first, "batch_first")
    x, T, N, C = _log_probs(log_probs, batch_first)
    il = _input_lengths(input_lengths, N, T)
    blank = _blank(blank, C)
    W = _checks.check_int(beam_width, "beam_width", low=1)
    top_k = _checks.check_int(top_k, "top_k", low=1)
    if top_k > W:
        raise ValueError(f"top_k must be <= beam_width={W}, got {top_k}")
    use_tok = token_min_logp is not None
    tok_min = _checks.check_scalar(token_min_logp, "token_min_logp", finite=False) if use_tok else 0.0
    use_prune = beam_prune_logp is not None
    prune = _checks.check_scalar(beam_prune_logp, "beam_prune_logp", high=0.0, finite=False) if use_prune else 0.0
    _check_finite_frames(x, il, batch_first)
    out_tokens = np.empty((N, top_k, max(T, 1)), dtype=np.int64)
    out_len = np.zeros((N, top_k), dtype=np.int64)
    out_score = np.empty((N, top_k), dtype=np.float64)
    out_count = np.zeros(N, dtype=np.int64)
    _kernels().beam_search(x, batch_first, il, blank, W, top_k, use_tok, tok_min, use_prune, prune,
                           out_tokens, out_len, out_score, out_count)
    return [
        [(out_tokens[n, r, : out_len[n, r]], float(out_score[n, r])) for r in range(out_count[n])]
        for n in range(N)
    ]


def ctc_score(log_probs, input_lengths, candidates, *, blank=0, batch_first=False):
    r"""N-best rescoring: the CTC log-likelihood of candidate label sequences.

    :math:`\log p(y \mid x_n) = \log \sum_{\pi \in \mathcal{B}^{-1}(y)}
    \prod_t p_t(\pi_t)` for every candidate ``y`` of every utterance ``n``,
    computed by the CTC forward recursion of :mod:`fastloss.speech.ctc`, in
    parallel over all candidates of the batch (no Python loop over
    candidates); each candidate reads its utterance's frames in place.

    Parameters
    ----------
    log_probs : array, shape (T, N, C), or (N, T, C) with ``batch_first``
    input_lengths : int array (N,) or None
        Valid frames per utterance (``None``: all ``T``).
    candidates : sequence of N sequences of label sequences
        ``candidates[n]`` lists the candidates of utterance ``n`` (each a
        list or int array of labels in ``[0, C)``, not ``blank``); an
        utterance may have none.
    blank : int
    batch_first : bool

    Returns
    -------
    list of N float64 arrays
        ``scores[n][j]`` is the log-likelihood of ``candidates[n][j]``;
        ``-inf`` when the candidate cannot be aligned to the frames (too
        long).  Equal to ``-ctc_loss(..., reduction="none")`` for the same
        pairs.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> p = np.array([[.5, .4, .1], [.5, .4, .1], [.1, .1, .8]])
    >>> s = fastloss.ctc_score(np.log(p)[:, None, :], None, [[[1, 2], [2], [1, 1, 2]]])
    >>> np.round(np.exp(s[0]), 4).tolist()
    [0.484, 0.259, 0.0]
    """
    batch_first = _checks.check_bool(batch_first, "batch_first")
    x, T, N, C = _log_probs(log_probs, batch_first)
    il = _input_lengths(input_lengths, N, T)
    blank = _blank(blank, C)
    if isinstance(candidates, (str, bytes)) or not hasattr(candidates, "__len__"):
        raise TypeError(f"candidates must be a sequence of N={N} lists of label sequences, got {type(candidates).__name__}")
    if len(candidates) != N:
        raise ValueError(f"candidates must hold one list per utterance: expected {N}, got {len(candidates)}")
    seqs, rows, counts = [], [], np.zeros(N, dtype=np.int64)
    for n, cands in enumerate(candidates):
        if isinstance(cands, (str, bytes)) or not hasattr(cands, "__len__"):
            raise TypeError(f"candidates[{n}] must be a sequence of label sequences, got {type(cands).__name__}")
        counts[n] = len(cands)
        for j, c in enumerate(cands):
            a = _checks.as_int_array(c, f"candidates[{n}][{j}]")
            if a.ndim != 1:
                raise ValueError(f"candidates[{n}][{j}] must be 1-D, got shape {a.shape}")
            bad = np.flatnonzero((a < 0) | (a >= C) | (a == blank))
            if bad.size:
                raise ValueError(
                    f"candidates[{n}][{j}] must hold labels in [0, {C}) other than blank={blank}, "
                    f"got {a[bad[0]]} at position {bad[0]}"
                )
            seqs.append(a.astype(np.int64, copy=False))
    rows = np.repeat(np.arange(N, dtype=np.int64), counts)
    lengths = np.fromiter((s.size for s in seqs), dtype=np.int64, count=len(seqs))
    if rows.size:
        from .ctc import _ctc_log_likelihoods

        flat = np.concatenate(seqs) if seqs else np.empty(0, np.int64)
        ll = _ctc_log_likelihoods(x, flat, lengths, il, rows, blank=blank, batch_first=batch_first)
        ll = np.asarray(ll, dtype=np.float64)
    else:
        ll = np.empty(0, dtype=np.float64)
    bounds = np.cumsum(counts)[:-1]
    return np.split(ll, bounds)
