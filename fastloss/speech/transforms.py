"""jiwer-style text transforms (``fastloss.text``), implemented here (jiwer is
not imported).

A transform maps a sentence (``str``) or a list of sentences to the same
shape; the pipeline given to :func:`fastloss.error_rates` (``reference_transform``
/ ``hypothesis_transform``) must end with :class:`ReduceToListOfListOfWords`
or :class:`ReduceToListOfListOfChars`, which turn the sentences into lists of
tokens.  Behaviour, names and arguments are jiwer 4.0's
(``jiwer.transforms``), including its quirks (e.g. :class:`RemovePunctuation`
removes every code point of Unicode category ``P*``, and
:class:`ReduceToListOfListOfWords` maps an empty list to ``[[]]``).
"""
from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
from typing import Iterable, List, Mapping, Union

__all__ = [
    "AbstractTransform", "Compose", "ExpandCommonEnglishContractions", "RemoveEmptyStrings",
    "ReduceToListOfListOfWords", "ReduceToListOfListOfChars", "ReduceToSingleSentence", "RemoveKaldiNonWords",
    "RemoveMultipleSpaces", "RemovePunctuation", "RemoveSpecificWords", "RemoveWhiteSpace", "Strip",
    "SubstituteRegexes", "SubstituteWords", "ToLowerCase", "ToUpperCase",
    "wer_default", "wer_contiguous", "wer_standardize", "wer_standardize_contiguous", "cer_default", "cer_contiguous",
]


class AbstractTransform:
    """Base class: ``t(str)`` calls :meth:`process_string`, ``t(list)``
    :meth:`process_list`; anything else is a ``ValueError`` (as jiwer)."""

    def __call__(self, sentences: Union[str, List[str]]):
        if isinstance(sentences, str):
            return self.process_string(sentences)
        if isinstance(sentences, list):
            return self.process_list(sentences)
        raise ValueError(f"input {sentences} was expected to be a string or list of strings")

    def process_string(self, s: str):
        raise NotImplementedError

    def process_list(self, inp: List[str]):
        return [self.process_string(s) for s in inp]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Compose:
    """Apply ``transforms`` one after the other.

    Examples
    --------
    >>> from fastloss import text
    >>> text.Compose([text.ToLowerCase(), text.RemovePunctuation(), text.ReduceToListOfListOfWords()])(["Hello, World!"])
    [['hello', 'world']]
    """

    def __init__(self, transforms: List[AbstractTransform]):
        self.transforms = transforms

    def __call__(self, text):
        for tr in self.transforms:
            text = tr(text)
        return text

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class _BaseRemove(AbstractTransform):
    def __init__(self, tokens_to_remove: Iterable[str], replace_token: str = ""):
        self.tokens_to_remove = tokens_to_remove
        self.replace_token = replace_token

    def process_string(self, s: str):
        for w in self.tokens_to_remove:
            s = s.replace(w, self.replace_token)
        return s


class ReduceToListOfListOfWords(AbstractTransform):
    """Sentences to lists of words split on ``word_delimiter`` (empty words dropped)."""

    def __init__(self, word_delimiter: str = " "):
        self.word_delimiter = word_delimiter

    def process_string(self, s: str):
        return [[w for w in s.split(self.word_delimiter) if len(w) >= 1]]

    def process_list(self, inp: List[str]):
        out = [self.process_string(s)[0] for s in inp]
        return out if out else [[]]


class ReduceToListOfListOfChars(AbstractTransform):
    """Sentences to lists of characters (spaces included)."""

    def process_string(self, s: str):
        return [[c for c in s]]

    def process_list(self, inp: List[str]):
        out = [self.process_string(s)[0] for s in inp]
        return out if out else [[]]


class ReduceToSingleSentence(AbstractTransform):
    """Join the non-empty sentences of a list with ``word_delimiter``."""

    def __init__(self, word_delimiter: str = " "):
        self.word_delimiter = word_delimiter

    def process_string(self, s: str):
        return s

    def process_list(self, inp: List[str]):
        kept = [i for i in inp if len(i) >= 1]
        return [self.word_delimiter.join(kept)] if kept else []


class SubstituteRegexes(AbstractTransform):
    """``re.sub(pattern, replacement)`` for each item of ``substitutions``, in order."""

    def __init__(self, substitutions: Mapping[str, str]):
        self.substitutions = substitutions

    def process_string(self, s: str):
        for key, value in self.substitutions.items():
            s = re.sub(key, value, s)
        return s


class SubstituteWords(AbstractTransform):
    """Replace whole words (``\\b word \\b``) by other words, in order."""

    def __init__(self, substitutions: Mapping[str, str]):
        self.substitutions = substitutions

    def process_string(self, s: str):
        for key, value in self.substitutions.items():
            s = re.sub(r"\b{}\b".format(re.escape(key)), value, s)
        return s


class RemoveSpecificWords(SubstituteWords):
    """Replace the given whole words by a space."""

    def __init__(self, words_to_remove: List[str]):
        super().__init__({word: " " for word in words_to_remove})


class RemoveWhiteSpace(_BaseRemove):
    """Remove ``string.whitespace`` characters (or replace them by a space)."""

    def __init__(self, replace_by_space: bool = False):
        super().__init__(list(string.whitespace), replace_token=" " if replace_by_space else "")


@functools.lru_cache(1)
def _punctuation():
    return {chr(i) for i in range(sys.maxunicode + 1) if unicodedata.category(chr(i)).startswith("P")}


class RemovePunctuation(AbstractTransform):
    """Remove every character of Unicode category ``P*`` (as jiwer).

    One ``str.translate`` pass (jiwer calls ``str.replace`` once per
    punctuation code point); same result."""

    def __init__(self):
        self.tokens_to_remove = _punctuation()
        self._table = {ord(c): None for c in self.tokens_to_remove}

    def process_string(self, s: str):
        return s.translate(self._table)


class RemoveMultipleSpaces(AbstractTransform):
    """Runs of two or more whitespace characters become one space."""

    def process_string(self, s: str):
        return re.sub(r"\s\s+", " ", s)


class Strip(AbstractTransform):
    """Remove leading and trailing whitespace."""

    def process_string(self, s: str):
        return s.strip()


class RemoveEmptyStrings(AbstractTransform):
    """Drop sentences that are empty after stripping."""

    def process_string(self, s: str):
        return s.strip()

    def process_list(self, inp: List[str]):
        return [s for s in inp if self.process_string(s) != ""]


class ExpandCommonEnglishContractions(AbstractTransform):
    """``won't`` -> ``will not``, ``n't`` -> `` not``, ``'re`` -> `` are`` ... (jiwer's list)."""

    _RULES = (
        (r"won't", "will not"), (r"can\'t", "can not"), (r"let\'s", "let us"), (r"n\'t", " not"),
        (r"\'re", " are"), (r"\'s", " is"), (r"\'d", " would"), (r"\'ll", " will"), (r"\'t", " not"),
        (r"\'ve", " have"), (r"\'m", " am"),
    )

    def process_string(self, s: str):
        for pat, rep in self._RULES:
            s = re.sub(pat, rep, s)
        return s


class ToLowerCase(AbstractTransform):
    """``str.lower``."""

    def process_string(self, s: str):
        return s.lower()


class ToUpperCase(AbstractTransform):
    """``str.upper``."""

    def process_string(self, s: str):
        return s.upper()


class RemoveKaldiNonWords(AbstractTransform):
    """Remove ``[...]`` and ``<...>`` tokens (Kaldi's non-words such as ``<unk>``)."""

    def process_string(self, s: str):
        return re.sub(r"[<\[][^>\]]*[>\]]", "", s)


# jiwer.transformations: the default pipelines.
wer_default = Compose([RemoveMultipleSpaces(), Strip(), ReduceToListOfListOfWords()])
wer_contiguous = Compose([RemoveMultipleSpaces(), Strip(), ReduceToSingleSentence(), ReduceToListOfListOfWords()])
wer_standardize = Compose([
    ToLowerCase(), ExpandCommonEnglishContractions(), RemoveKaldiNonWords(), RemoveWhiteSpace(replace_by_space=True),
    RemoveMultipleSpaces(), Strip(), ReduceToListOfListOfWords(),
])
wer_standardize_contiguous = Compose([
    ToLowerCase(), ExpandCommonEnglishContractions(), RemoveKaldiNonWords(), RemoveWhiteSpace(replace_by_space=True),
    RemoveMultipleSpaces(), Strip(), ReduceToSingleSentence(), ReduceToListOfListOfWords(),
])
cer_default = Compose([Strip(), ReduceToListOfListOfChars()])
cer_contiguous = Compose([Strip(), ReduceToSingleSentence(), ReduceToListOfListOfChars()])
