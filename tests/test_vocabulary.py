"""Vocabulary: pyctcdecode-style label lists to text and back."""
import pickle

import numpy as np
import pytest

import fastloss


def test_delimiters():
    v = fastloss.Vocabulary(["", " ", "a", "b"])
    assert (v.word_delimiter, v.delimiter_id, v.blank) == (" ", 1, 0)
    assert v.decode_ids([1, 2, 0, 2, 1, 1, 3, 1]) == "aa b"
    assert v.encode("  aa b ").tolist() == [2, 2, 1, 3]
    w = fastloss.Vocabulary(["<pad>", "|", "a"])
    assert (w.word_delimiter, w.delimiter_id) == ("|", 1)
    assert w.decode_ids([2, 1, 2]) == "a a"
    n = fastloss.Vocabulary(["_", "x", "y"], word_delimiter=None)
    assert n.word_delimiter is None and n.decode_ids([1, 0, 2]) == "xy"
    assert n.encode("xy").tolist() == [1, 2]


def test_sentencepiece_and_multichar():
    v = fastloss.Vocabulary(["<blank>", "\u2581the", "\u2581a", "t", "he", "\u2581"])
    assert v.sentencepiece and v.word_delimiter == "\u2581"
    assert v.decode_ids([1, 2, 3, 4]) == "the athe"
    assert v.split_words([1, 0, 2, 3, 4]) == [("the", 0, 1), ("athe", 2, 5)]
    assert v.decode_ids(v.encode("the athe")) == "the athe"
    m = fastloss.Vocabulary(["", " ", "ab", "a", "b", "c"])
    assert m.encode("abc a").tolist() == [2, 5, 1, 3]


@pytest.mark.parametrize("text", ["", "a", "ab ba", "b  a a"])
def test_roundtrip(text):
    v = fastloss.Vocabulary(["", " ", "a", "b"])
    assert v.decode_ids(v.encode(text)) == " ".join(text.split())


def test_pickle_and_equality():
    v = fastloss.Vocabulary(["", "|", "a"], blank=0)
    assert pickle.loads(pickle.dumps(v)) == v
    assert len(v) == 3 and "Vocabulary" in repr(v)


def test_errors():
    with pytest.raises(TypeError, match="labels"):
        fastloss.Vocabulary("abc")
    with pytest.raises(ValueError, match="distinct"):
        fastloss.Vocabulary(["", "a", "a"])
    with pytest.raises(ValueError, match="blank"):
        fastloss.Vocabulary(["", "a"], blank=2)
    with pytest.raises(ValueError, match="word_delimiter"):
        fastloss.Vocabulary(["", "a"], word_delimiter="|")
    v = fastloss.Vocabulary(["", " ", "a"])
    with pytest.raises(ValueError, match=r"ids must be in \[0, 3\), got 3 at position 1"):
        v.decode_ids([2, 3])
    with pytest.raises(ValueError, match="'z' at position 2"):
        v.encode("a z")
    with pytest.raises(TypeError, match="integer"):
        v.decode_ids(np.array([1.5]))
