"""Token ids to text and back: the label list of a CTC model.

A :class:`Vocabulary` is what every decoder needs to turn token ids into
words: which id is the blank, which token separates words (a space ``" "``,
wav2vec2's ``"|"``), or whether words start with a SentencePiece ``"▁"``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Vocabulary"]

#: SentencePiece's word-start mark (U+2581).
SP_MARK = "\u2581"


class Vocabulary:
    r"""The labels of a CTC model, with its blank and its word boundaries.

    Parameters
    ----------
    labels : sequence of str
        ``labels[i]`` is the text of token ``i`` (pyctcdecode-style lists
        work as they are: ``""`` for the blank, ``" "`` or ``"|"`` for the
        word delimiter, SentencePiece pieces such as ``"▁the"``).  Labels
        must be distinct.
    blank : int
        Index of the CTC blank in ``labels`` (default 0).
    word_delimiter : str or None
        The label that separates words.  With the default ``" "``: ``" "``
        if it is a label, else ``"|"`` if that is a label (wav2vec2's
        convention, as pyctcdecode); else, when some label starts with
        ``"▁"``, SentencePiece mode (a ``"▁"`` piece starts a word); else no
        delimiter (the text is one run of characters).  Any other string must
        be one of the labels.  ``None``: no word boundaries at all.

    Attributes
    ----------
    labels : list of str
    blank : int
    word_delimiter : str or None
        The delimiter label in use, ``"▁"`` in SentencePiece mode, or None.
    delimiter_id : int
        Index of the delimiter label, or -1 (SentencePiece or none).
    sentencepiece : bool
        True when words start at ``"▁"`` pieces.

    Notes
    -----
    Text is made of words joined by single spaces: :meth:`decode_ids` drops
    blanks, splits at delimiters (or before ``"▁"`` pieces) and joins the
    non-empty words with ``" "``, so leading, trailing and repeated
    delimiters leave no extra spaces (as pyctcdecode's output).

    Examples
    --------
    >>> import fastloss
    >>> v = fastloss.Vocabulary(["", "|", "a", "b", "c"])
    >>> v.word_delimiter, v.delimiter_id
    ('|', 1)
    >>> v.decode_ids([2, 3, 1, 1, 4, 0, 2])
    'ab ca'
    >>> v.encode("ab ca").tolist()
    [2, 3, 1, 4, 2]
    """

    def __init__(self, labels, *, blank=0, word_delimiter=" "):
        if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
            raise TypeError(f"labels must be a sequence of str, got {type(labels).__name__}")
        labels = list(labels)
        for i, s in enumerate(labels):
            if not isinstance(s, str):
                raise TypeError(f"labels[{i}] must be a str, got {type(s).__name__} {s!r}")
        if not labels:
            raise ValueError("labels must not be empty")
        seen: dict = {}
        for i, s in enumerate(labels):
            if s in seen:
                raise ValueError(f"labels must be distinct, got {s!r} at indices {seen[s]} and {i}")
            seen[s] = i
        if isinstance(blank, (bool, np.bool_)) or not isinstance(blank, (int, np.integer)):
            raise TypeError(f"blank must be an integer, got {blank!r}")
        blank = int(blank)
        if not 0 <= blank < len(labels):
            raise ValueError(f"blank must be in [0, {len(labels)}), got {blank}")
        if word_delimiter is not None and not isinstance(word_delimiter, str):
            raise TypeError(f"word_delimiter must be a str or None, got {word_delimiter!r}")
        self.labels = labels
        self.blank = blank
        self._index = seen
        self.sentencepiece = False
        self.delimiter_id = -1
        if word_delimiter is None:
            self.word_delimiter = None
        elif word_delimiter in seen and seen[word_delimiter] != blank:
            self.word_delimiter = word_delimiter
            self.delimiter_id = seen[word_delimiter]
        elif word_delimiter == " ":
            if "|" in seen and seen["|"] != blank:
                self.word_delimiter = "|"
                self.delimiter_id = seen["|"]
            elif any(s.startswith(SP_MARK) for i, s in enumerate(labels) if i != blank):
                self.word_delimiter = SP_MARK
                self.sentencepiece = True
            else:
                self.word_delimiter = None
        else:
            raise ValueError(f"word_delimiter {word_delimiter!r} is not one of the labels (other than the blank)")
        # Per token: does it start a word, and which characters does it add.
        starts, chars = [], []
        for i, s in enumerate(labels):
            if i == blank:
                starts.append(False)
                chars.append("")
            elif i == self.delimiter_id:
                starts.append(True)
                chars.append("")
            elif self.sentencepiece and s.startswith(SP_MARK):
                starts.append(True)
                chars.append(s[len(SP_MARK):])
            else:
                starts.append(False)
                chars.append(s)
        self._starts = starts
        self._chars = chars

    # -- pickling, comparison, display -------------------------------------------------
    def __reduce__(self):
        wd = self.word_delimiter
        if self.sentencepiece:
            wd = " "
        return (_rebuild, (self.labels, self.blank, wd))

    def __eq__(self, other):
        return (isinstance(other, Vocabulary) and self.labels == other.labels and self.blank == other.blank
                and self.word_delimiter == other.word_delimiter)

    def __hash__(self):
        return hash((tuple(self.labels), self.blank, self.word_delimiter))

    def __len__(self):
        return len(self.labels)

    def __repr__(self):
        shown = self.labels if len(self.labels) <= 12 else self.labels[:10] + ["..."]
        return f"Vocabulary({shown!r}, blank={self.blank}, word_delimiter={self.word_delimiter!r})"

    # -- ids -> text -------------------------------------------------------------------
    def _ids(self, ids, name="ids"):
        arr = np.asarray(ids)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-D sequence of token ids, got shape {arr.shape}")
        if arr.size == 0:
            return []
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer token ids, got dtype {arr.dtype}")
        bad = np.flatnonzero((arr < 0) | (arr >= len(self.labels)))
        if bad.size:
            raise ValueError(f"{name} must be in [0, {len(self.labels)}), got {arr[bad[0]]} at position {bad[0]}")
        return arr.tolist()

    def split_words(self, ids):
        """Words of a token sequence with their positions.

        Returns a list of ``(word, start, end)``: ``ids[start:end]`` are the
        tokens of ``word`` (``end`` exclusive; blanks inside a word are
        skipped for the text but kept in the span).  Delimiters belong to no
        word; a ``"▁"`` piece belongs to the word it starts.

        >>> import fastloss
        >>> fastloss.Vocabulary(["", " ", "a", "b"]).split_words([2, 1, 3, 3])
        [('a', 0, 1), ('bb', 2, 4)]
        """
        out = []
        cur: list = []
        start = -1
        end = -1
        for pos, i in enumerate(self._ids(ids)):
            if i == self.blank:
                continue
            if self._starts[i] and cur:
                out.append(("".join(cur), start, end))
                cur = []
            if self._chars[i]:
                if not cur:
                    start = pos
                cur.append(self._chars[i])
                end = pos + 1
        if cur:
            out.append(("".join(cur), start, end))
        return out

    def decode_ids(self, ids):
        """Text of a (collapsed) token sequence: blanks dropped, words joined
        by single spaces.  ``ids`` is not CTC-collapsed (repeats are kept):
        pass the output of a decoder, or collapse first."""
        return " ".join(w for w, _, _ in self.split_words(ids))

    # -- text -> ids -------------------------------------------------------------------
    def encode(self, text):
        """Token ids (int64 array) of ``text``: words split on whitespace,
        each spelled with the fewest labels (longest labels first on ties),
        delimiters between words (or ``"▁"`` at each word start).  A
        character no label can spell is a ValueError naming its position."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if self.word_delimiter is None:
            words = [text] if text else []
        else:
            words = text.split()
        out: list = []
        pos = 0
        for k, w in enumerate(words):
            at = text.index(w, pos)
            pos = at + len(w)
            if k and self.delimiter_id >= 0:
                out.append(self.delimiter_id)
            if self.sentencepiece:
                out.extend(self._spell(SP_MARK + w, at - 1, text))
            else:
                out.extend(self._spell(w, at, text))
        return np.asarray(out, dtype=np.int64)

    def _spell(self, w, at, text):
        pieces = getattr(self, "_pieces", None)
        if pieces is None:
            pieces = {}
            for i, s in enumerate(self.labels):
                if i != self.blank and i != self.delimiter_id and s:
                    pieces[s] = i
            self._pieces = pieces
            self._maxlen = max((len(s) for s in pieces), default=1)
        n = len(w)
        best = [None] * (n + 1)  # best[j] = (tokens, previous j) for w[:j]
        best[0] = (0, -1, -1)
        for j in range(1, n + 1):
            for L in range(min(self._maxlen, j), 0, -1):
                prev = best[j - L]
                i = pieces.get(w[j - L:j])
                if prev is not None and i is not None and (best[j] is None or prev[0] + 1 < best[j][0]):
                    best[j] = (prev[0] + 1, j - L, i)
        if best[n] is None:
            # the first position that no spelling reaches past
            reach = max(j for j in range(n + 1) if best[j] is not None)
            bad = max(at + reach, 0)
            raise ValueError(f"text cannot be spelled with the labels: {text[bad:bad + 1]!r} at position {bad}")
        ids = []
        j = n
        while j > 0:
            _, pj, i = best[j]
            ids.append(i)
            j = pj
        return ids[::-1]


def _rebuild(labels, blank, word_delimiter):
    return Vocabulary(labels, blank=blank, word_delimiter=word_delimiter)
