"""n-gram language models from ARPA files, queried in compiled code.

:func:`load_arpa` reads a plain or gzipped ARPA file (any order up to 6)
into NumPy arrays and returns an :class:`NgramLM` whose scores equal
KenLM's (``kenlm.Model``) on the same file.
"""
from __future__ import annotations

import gzip
import math
import os

import numpy as np

__all__ = ["load_arpa", "NgramLM"]

MAX_ORDER = 6
#: log10 probability KenLM gives <unk> when the ARPA file has no <unk>.
UNK_DEFAULT = -100.0


def _kernels():
    from .._kernels.speech import lm

    return lm


class NgramLM:
    r"""A back-off n-gram language model (ARPA semantics), as ``kenlm.Model``.

    Made by :func:`load_arpa`.  Probabilities are log10, as in the ARPA file
    and KenLM:

    .. math:: \log_{10} P(w \mid h) =
              \begin{cases} p(h\,w) & \text{if the n-gram } h\,w \text{ is listed}\\
              b(h) + \log_{10} P(w \mid h_{2:}) & \text{else}\end{cases}

    with ``b(h) = 0`` when the context ``h`` is not listed.  A word that is
    not in the vocabulary is scored as ``<unk>`` (log10 p = -100 when the
    file has no ``<unk>``, as KenLM).

    Attributes
    ----------
    order : int
        Highest n-gram order.
    words : list of str
        The vocabulary (unigrams) in file order; ``<unk>`` is appended when
        the file lacks it.
    counts : list of int
        n-grams per order as listed in the file.

    Notes
    -----
    A state is a tuple of word ids (oldest first) holding the part of the
    history that can still change a probability (KenLM's right-state
    minimisation): :meth:`begin_state` is ``(id of <s>,)``,
    :meth:`null_state` is ``()``.  States are hashable and compare equal when
    they give the same future probabilities.  The model pickles (arrays and
    the word list), so it can be sent to worker processes.
    """

    def __init__(self, words, grams, order_of, prob, bo, keep, slot_row, slot_hash, order, counts, unk_id):
        self.words = words
        self._ids = {w: i for i, w in enumerate(words)}
        self._grams = grams
        self._order_of = order_of
        self._prob = prob
        self._bo = bo
        self._keep = keep
        self._slot_row = slot_row
        self._slot_hash = slot_hash
        self.order = order
        self.counts = counts
        self.unk_id = unk_id
        self.bos_id = self._ids.get("<s>", -1)
        self.eos_id = self._ids.get("</s>", -1)

    def __getstate__(self):
        d = dict(self.__dict__)
        del d["_ids"]
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._ids = {w: i for i, w in enumerate(self.words)}

    def __repr__(self):
        return f"NgramLM(order={self.order}, counts={self.counts})"

    def __contains__(self, word):
        """``word in lm``: the word is in the vocabulary (``<unk>`` is not, as KenLM)."""
        i = self._ids.get(word, self.unk_id)
        return i != self.unk_id

    def _tables(self):
        return (self._grams, self._order_of, self._prob, self._bo, self._keep, self._slot_row, self._slot_hash)

    def word_id(self, word):
        """Id of ``word`` (``unk_id`` for an unknown word)."""
        return self._ids.get(word, self.unk_id)

    # -- states ------------------------------------------------------------------------
    def begin_state(self):
        """State at the start of a sentence (after ``<s>``), as KenLM's ``BeginSentenceWrite``."""
        if self.bos_id < 0:
            return ()
        return (self.bos_id,)

    def null_state(self):
        """Empty context, as KenLM's ``NullContextWrite``."""
        return ()

    def _check_state(self, state):
        if not isinstance(state, tuple):
            raise TypeError(f"state must be a tuple of word ids (from begin_state/base_score), got {type(state).__name__}")
        if len(state) > self.order - 1 or any(not isinstance(i, (int, np.integer)) or not 0 <= i < len(self.words)
                                              for i in state):
            raise ValueError(f"state must hold at most {self.order - 1} word ids in [0, {len(self.words)}), got {state!r}")

    def base_score(self, state, word):
        """``(log10 P(word | state), next_state)``, as KenLM's ``BaseScore``.

        Examples
        --------
        >>> import fastloss, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "toy.arpa")
        >>> _ = open(path, "w").write("\\\\data\\\\\\nngram 1=4\\nngram 2=1\\n\\n\\\\1-grams:\\n"
        ...     "-1.0 <s> -0.5\\n-0.5 </s>\\n-0.3 cat -0.2\\n-2.0 <unk>\\n\\n"
        ...     "\\\\2-grams:\\n-0.1 <s> cat\\n\\n\\\\end\\\\\\n")
        >>> lm = fastloss.load_arpa(path)
        >>> p, s = lm.base_score(lm.begin_state(), "cat")
        >>> round(p, 4), lm.base_score(s, "</s>")[0]   # -0.2 + -0.5: backoff of "cat", then p(</s>)
        (-0.1, -0.7)
        """
        self._check_state(state)
        if not isinstance(word, str):
            raise TypeError(f"word must be a str, got {type(word).__name__}")
        return self._score_id(state, self._ids.get(word, self.unk_id))[::2]

    def _score_id(self, state, w):
        k = _kernels()
        n1 = max(self.order - 1, 1)
        ctx = np.zeros(n1 + 1, np.int32)
        ctx[: len(state)] = state
        out = np.zeros(n1 + 1, np.int32)
        p, J, m = k.base_score(*self._tables(), self.order, ctx, len(state), w, out)
        return float(p), int(J), tuple(int(i) for i in out[:m])

    # -- sentences ---------------------------------------------------------------------
    def _sentence(self, sentence, bos, eos):
        if not isinstance(sentence, str):
            raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
        if not isinstance(bos, bool) or not isinstance(eos, bool):
            raise TypeError(f"bos and eos must be True or False, got bos={bos!r}, eos={eos!r}")
        words = sentence.split()
        ids = np.array([self._ids.get(w, self.unk_id) for w in words], dtype=np.int32)
        k = _kernels()
        n1 = max(self.order - 1, 1)
        start = np.zeros(n1 + 1, np.int32)
        st = self.begin_state() if bos else ()
        start[: len(st)] = st
        n = len(words) + (1 if eos else 0)
        out_p = np.zeros(n, np.float64)
        out_len = np.zeros(n, np.int64)
        tot = np.zeros(1, np.float64)
        k.score_sentences(*self._tables(), self.order, ids, np.array([0, len(words)], np.int64), start, len(st),
                          self.eos_id if eos else -1, out_p, out_len, tot)
        return words, ids, out_p, out_len, float(tot[0])

    def score(self, sentence, bos=True, eos=True):
        """Total log10 probability of a sentence (words split on whitespace),
        with ``<s>`` before it (``bos``) and ``</s>`` after it (``eos``), as
        ``kenlm.Model.score``."""
        return self._sentence(sentence, bos, eos)[4]

    def full_scores(self, sentence, bos=True, eos=True):
        """Per word (and ``</s>``): ``(log10 p, n-gram length, oov)``, as
        ``kenlm.Model.full_scores`` (a list instead of a generator)."""
        words, ids, p, L, _ = self._sentence(sentence, bos, eos)
        oov = [self._ids.get(w, self.unk_id) == self.unk_id for w in words] + [False] * (p.size - len(words))
        return [(float(p[i]), int(L[i]), oov[i]) for i in range(p.size)]

    def perplexity(self, sentence):
        """10 ** (-score / (words + 1)), as ``kenlm.Model.perplexity``."""
        return 10.0 ** (-self.score(sentence) / (len(sentence.split()) + 1))


# ---------------------------------------------------------------------------
# ARPA reading
# ---------------------------------------------------------------------------


def _read_bytes(path):
    """(path, the file's bytes), gunzipped when it starts with gzip's magic;
    a ValueError when they are not UTF-8."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    if data and np.frombuffer(data, np.uint8).max() >= 128:  # ASCII is UTF-8: check only the rest
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
    return path, data


class _Lines:
    """The file's lines (split on b'\\n' only, as ``str.split("\\n")``),
    decoded on demand: ``nl`` holds the newline positions and the end."""

    def __init__(self, data, nl):
        self.data = data
        self.nl = nl

    def __len__(self):
        return self.nl.size

    def __getitem__(self, i):
        a = int(self.nl[i - 1]) + 1 if i > 0 else 0
        return self.data[a:int(self.nl[i])].decode("utf-8")


def _newlines(buf, k):
    """Positions of every b'\\n' in buf, then buf.size (two parallel passes)."""
    n = buf.size
    chunk = max(1 << 20, -(-n // 64))
    nch = max(1, -(-n // chunk))
    counts = np.zeros(nch, np.int64)
    k.count_newlines(buf, chunk, counts)
    off = np.zeros(nch + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    nl = np.empty(int(off[-1]) + 1, np.int64)
    k.newlines(buf, chunk, off, nl)
    nl[-1] = n
    return nl


def _fail(path, lineno, msg):
    raise ValueError(f"{path}, line {lineno}: {msg}")


def load_arpa(path):
    r"""Read an ARPA n-gram language model (plain or gzipped, order <= 6).

    Parameters
    ----------
    path : str or os.PathLike
        ARPA file; gzip is recognised by its magic bytes.

    Returns
    -------
    NgramLM

    Notes
    -----
    The file layout is checked as it is read: the ``\data\`` header and its
    counts, each ``\k-grams:`` section with exactly the announced number of
    lines, ``log10 p w1 .. wk [backoff]`` per line (no backoff at the highest
    order), log10 probabilities <= 0, every word listed as a unigram, then
    ``\end\``.  A violation is a ``ValueError`` naming the line number.
    n-grams whose suffix is missing (``b c`` absent while ``a b c`` is
    listed, left by pruning) are added as blanks, with the backed-off
    probability and backoff 0, as KenLM does.  n-grams whose context (prefix)
    is missing are accepted too, with backoff 0 for the missing context (the
    ARPA standard, SRILM); KenLM refuses such files.

    Probabilities are held as float32 (as KenLM), in arrays: one row of word
    ids per n-gram, and one open-addressing hash table for orders >= 2.

    Examples
    --------
    >>> import fastloss, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "toy.arpa")
    >>> _ = open(path, "w").write('''\\data\\
    ... ngram 1=4
    ... ngram 2=1
    ...
    ... \\1-grams:
    ... -1.0 <s> -0.5
    ... -0.5 </s>
    ... -0.3 cat -0.2
    ... -2.0 <unk>
    ...
    ... \\2-grams:
    ... -0.1 <s> cat
    ...
    ... \\end\\
    ... ''')
    >>> lm = fastloss.load_arpa(path)
    >>> lm.order, round(lm.score("cat"), 4), round(lm.score("cat dog"), 4)
    (2, -0.8, -2.8)
    >>> lm.full_scores("dog", bos=False, eos=False)
    [(-2.0, 1, True)]
    """
    return _build(*_parse(path))


def _parse(path):
    """Read and check the file; returns (path, words, grams, prob, bo,
    hashes, bounds, counts): the n-gram rows of every order one after the other
    (bounds[k-1]:bounds[k] for order k; the unigrams are rows 0..V-1, with
    ``<unk>`` appended when the file lacks it) and the hashes of the rows of
    orders >= 2.  The lines of each section are parsed in compiled code
    (``parse_section``); the header lines, and the lines named in errors,
    are decoded and split in Python."""
    k_ = _kernels()
    path, data = _read_bytes(path)
    buf = np.frombuffer(data, np.uint8)
    lines = _Lines(data, _newlines(buf, k_))
    nl = lines.nl
    i = 0
    nlines = len(lines)
    while i < nlines and lines[i].strip() != "\\data\\":
        i += 1
    if i == nlines:
        raise ValueError(f"{path}: no \\data\\ header: not an ARPA file")
    i += 1
    counts = []
    while i < nlines and lines[i].strip().startswith("ngram "):
        s = lines[i].strip()[6:]
        k, _, c = s.partition("=")
        try:
            k, c = int(k), int(c)
        except ValueError:
            _fail(path, i + 1, f"malformed count line {lines[i]!r} (expected 'ngram k=count')")
        if k != len(counts) + 1:
            _fail(path, i + 1, f"expected the count of {len(counts) + 1}-grams, got {lines[i]!r}")
        if c < 0:
            _fail(path, i + 1, f"negative count {c}")
        counts.append(c)
        i += 1
    if not counts:
        _fail(path, i + 1, "no 'ngram k=count' lines after \\data\\")
    order = len(counts)
    if order > MAX_ORDER:
        _fail(path, i, f"order {order} is above the supported maximum {MAX_ORDER}")
    if counts[0] == 0:
        _fail(path, i, "the model has no unigrams")
    width = max(order, 1)
    bounds = [0]
    for k in range(1, order + 1):
        while i < nlines and not lines[i].strip():
            i += 1
        header = f"\\{k}-grams:"
        if i == nlines or lines[i].strip() != header:
            got = repr(lines[i]) if i < nlines else "the end of the file"
            _fail(path, i + 1, f"expected {header!r}, got {got}")
        i += 1
        c = counts[k - 1]
        first = i + 1  # line number of the section's first n-gram
        n = min(c, nlines - i)  # its lines present in the file
        top = k == order
        prob = np.empty(n, np.float64)
        bo = np.empty(n, np.float64)
        nf = np.empty(n, np.int8)
        status = np.empty(n, np.int8)
        unknown = np.empty(n, np.int8)
        if k == 1:
            wstart = np.empty(n, np.int64)
            wend = np.empty(n, np.int64)
            k_.parse_section(buf, nl, i, 1, top, wstart, wend, np.full(1, -1, np.int32), np.zeros(1, np.uint64),
                             np.empty((1, 1), np.int32), prob, bo, nf, status, unknown, np.empty(1, np.uint64))
        else:
            lo = bounds[-1]
            k_.parse_section(buf, nl, i, k, top, wstart, wend, wslot, whash, grams[lo:lo + n], prob, bo, nf,
                             status, unknown, hashes[lo - V:lo - V + n])
        ok = (nf == k + 1) if top else ((nf == k + 1) | (nf == k + 2))
        if n < c or not ok.all():
            bad = int(np.flatnonzero(~ok)[0]) if not ok.all() else n
            line = lines[i + bad] if bad < n else ""
            if bad >= n or not line.strip() or line.lstrip().startswith("\\"):
                _fail(path, first + bad, f"the {k}-gram section has {bad} lines, the header announced {c}")
            want = f"{k + 1}" if top else f"{k + 1} or {k + 2}"
            _fail(path, first + bad, f"malformed {k}-gram line {line!r}: expected {want} fields "
                                     f"(log10 p, {k} word(s){'' if top else ', optional backoff'})")
        sec = i
        i += c
        # the line after the section must close it (no extra n-grams)
        if i < nlines and lines[i].strip() and not lines[i].lstrip().startswith("\\"):
            _fail(path, i + 1, f"the {k}-gram section has more lines than the {c} the header announced")
        # values the compiled parser leaves to Python's float() (inf, nan, many digits, malformed...)
        for j in np.flatnonzero(status & k_.BAD_PROB).tolist():
            tok = lines[sec + j].split()[0]
            try:
                prob[j] = float(tok)
            except ValueError:
                _fail(path, first + j, f"malformed log10 probability {tok!r}")
        for j in np.flatnonzero(status & k_.BAD_BO).tolist():
            tok = lines[sec + j].split()[k + 1]
            try:
                bo[j] = float(tok)
            except ValueError:
                _fail(path, first + j, f"malformed backoff {tok!r}")
        badp = np.flatnonzero(~(prob <= 0))
        if badp.size:
            j = int(badp[0])
            _fail(path, first + j, f"log10 probability must be <= 0, got {lines[sec + j].split()[0]}")
        badb = np.flatnonzero(np.isnan(bo) | (bo == np.inf))
        if badb.size:
            j = int(badb[0])
            _fail(path, first + j, f"backoff must be finite or -inf, got {lines[sec + j].split()[k + 1]}")
        if k == 1:
            # the vocabulary: a hash table of the words' bytes, for the parser of the other sections
            cap = 1 << max(4, int(math.ceil(math.log2(2 * c))))
            wslot = np.full(cap, -1, np.int32)
            whash = np.zeros(cap, np.uint64)
            j, u = k_.build_vocab(buf, wstart, wend, wslot, whash)
            if j >= 0:
                w = lines[sec + j].split()[1]
                _fail(path, first + j, f"unigram {w!r} is listed twice (first on line {first + u})")
            joined = np.empty(int((wend - wstart).sum()) + c - 1, np.uint8)
            k_.join_words(buf, wstart, wend, joined)
            words = joined.tobytes().decode("utf-8").split("\n")
            V = c + ("<unk>" not in words)
            G = V + sum(min(cc, nlines) for cc in counts[1:])  # a bogus count fails below, not here
            grams = np.full((G, width), -1, np.int32)
            grams[:V, 0] = np.arange(V, dtype=np.int32)
            probs = np.empty(G, np.float32)
            bos = np.empty(G, np.float32)
            hashes = np.empty(G - V, np.uint64)
            if V > c:
                words.append("<unk>")
                prob = np.append(prob, UNK_DEFAULT)
                bo = np.append(bo, 0.0)
            c = V
        else:
            badw = np.flatnonzero(unknown >= 0)
            if badw.size:
                j = int(badw[0])
                w = lines[sec + j].split()[1 + int(unknown[j])]
                _fail(path, first + j, f"word {w!r} of this {k}-gram is not a unigram")
        lo = bounds[-1]
        probs[lo:lo + c] = prob  # float32, as KenLM
        bos[lo:lo + c] = bo
        bounds.append(lo + c)
    while i < nlines and not lines[i].strip():
        i += 1
    if i == nlines or lines[i].strip() != "\\end\\":
        got = repr(lines[i]) if i < nlines else "the end of the file"
        _fail(path, i + 1, f"expected '\\end\\', got {got}")
    return path, words, grams, probs, bos, hashes, bounds, counts


def _build(path, words, grams, prob, bo, hashes, bounds, counts):
    """The hash table, duplicates, and the right-state flags; n-grams whose
    prefix or suffix is missing go to ``_build_with_blanks``."""
    k = _kernels()
    order = len(counts)
    V = bounds[1]
    G = grams.shape[0]
    order_of = np.empty(G, np.int8)
    for kk in range(order):
        order_of[bounds[kk]:bounds[kk + 1]] = kk + 1
    cap = 1 << max(4, int(math.ceil(math.log2(max(2 * (G - V), 2)))))
    slot_row = np.full(cap, -1, np.int32)
    slot_hash = np.zeros(cap, np.uint64)
    # duplicated n-grams would make lookups ambiguous: equal rows meet in the table
    dup = k.build_table_checked(hashes, V, grams, order_of, slot_row, slot_hash)
    if dup >= 0:
        n = int(order_of[dup])
        raise ValueError(f"{path}: the {n}-gram {' '.join(words[w] for w in grams[dup, :n])!r} is listed twice")
    del hashes
    extends = np.zeros(G, bool)
    for kk in range(order, 2, -1):
        lo, hi = bounds[kk - 1], bounds[kk]
        prefix = np.empty(hi - lo, np.int32)
        miss = np.empty(hi - lo, bool)
        k.affixes(grams, order_of, slot_row, slot_hash, lo, hi, prefix, miss)
        if miss.any():
            del slot_row, slot_hash, extends, prefix, miss
            blocks = [[grams[bounds[j]:bounds[j + 1]], prob[bounds[j]:bounds[j + 1]].astype(np.float64),
                       bo[bounds[j]:bounds[j + 1]].astype(np.float64), np.ones(bounds[j + 1] - bounds[j], bool)]
                      for j in range(order)]
            return _build_with_blanks(words, blocks, counts)
        extends[prefix] = True
    if order >= 2:
        extends[grams[bounds[1]:bounds[2], 0]] = True
    keep = extends | (bo != 0)
    return NgramLM(words, grams, order_of, prob, bo, keep, slot_row, slot_hash, order, counts, words.index("<unk>"))


def _build_with_blanks(words, blocks, counts):
    """The general build: n-grams whose prefix or suffix is missing (left by
    pruning) get blank entries, from the top order down, with the backed-off
    probability and backoff 0 (as KenLM)."""
    k = _kernels()
    order = len(blocks)
    V = len(words)
    width = max(order, 1)
    unk_id = words.index("<unk>")
    def assemble():
        grams = np.concatenate([b[0] for b in blocks])
        order_of = np.concatenate([np.full(b[0].shape[0], j + 1, np.int8) for j, b in enumerate(blocks)])
        prob = np.concatenate([b[1] for b in blocks]).astype(np.float32)
        bo = np.concatenate([b[2] for b in blocks]).astype(np.float32)
        real = np.concatenate([b[3] for b in blocks])
        G = grams.shape[0]
        hashes = np.empty(G - V, np.uint64)
        k.row_hashes(grams, order_of, V, hashes)
        cap = 1 << max(4, int(math.ceil(math.log2(max(2 * (G - V), 2)))))
        slot_row = np.full(cap, -1, np.int32)
        slot_hash = np.zeros(cap, np.uint64)
        k.build_table(hashes, V, slot_row, slot_hash)
        return grams, order_of, prob, bo, real, slot_row, slot_hash

    # add missing prefixes and suffixes as blanks, from the top order down
    tables = assemble()
    for kk in range(order, 2, -1):
        grams, order_of, prob, bo, real, slot_row, slot_hash = tables
        lo = V + sum(b[0].shape[0] for b in blocks[1:kk - 1])
        hi = lo + blocks[kk - 1][0].shape[0]
        miss = np.zeros((hi - lo, 2), bool)
        k.missing_affixes(grams, order_of, slot_row, slot_hash, lo, hi, miss)
        if miss.any():
            rows = grams[lo:hi]
            need = [rows[miss[:, 0], : kk - 1], rows[miss[:, 1], 1:kk]]
            new = np.unique(np.concatenate(need), axis=0)
            nb = new.shape[0]
            g = np.full((nb, width), -1, np.int32)
            g[:, : kk - 1] = new
            b = blocks[kk - 2]
            blocks[kk - 2] = [np.concatenate([b[0], g]), np.append(b[1], np.zeros(nb)), np.append(b[2], np.zeros(nb)),
                              np.append(b[3], np.zeros(nb, bool))]
            tables = assemble()
    grams, order_of, prob, bo, real, slot_row, slot_hash = tables
    extends = np.zeros(grams.shape[0], bool)
    k.mark_extends(grams, order_of, slot_row, slot_hash, V, extends)
    keep = extends | (bo != 0)
    # blanks: backed-off probability, computed bottom-up
    scratch = np.zeros(2 * width + 2, np.int32)
    lo = V
    for kk in range(2, order + 1):
        hi = lo + blocks[kk - 1][0].shape[0]
        blank_rows = lo + np.flatnonzero(~real[lo:hi])
        if blank_rows.size:
            k.fill_blanks(grams, order_of, prob, bo, keep, slot_row, slot_hash, blank_rows.astype(np.int64), kk,
                          scratch)
        lo = hi
    return NgramLM(words, grams, order_of, prob, bo, keep, slot_row, slot_hash, order, counts, unk_id)
