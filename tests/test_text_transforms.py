"""Issue-16 text: fastloss.text transforms, reference/hypothesis transforms,
token-id corpora, alignments, visualize_alignment and per-sentence results.
Against the twin (tests/ref_text.py) and jiwer (skipped when absent)."""
from __future__ import annotations

import random

import numpy as np
import pytest

import fastloss
from fastloss import text as T
from ref_text import visualize_alignment_reference

WORDS = ["a", "b", "c", "the", "cat", "Sat,", "DOG!", "  ", "\t", "can't", "<unk>", "naïve"]


def corpus(rnd, n):
    return [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 8))) for _ in range(n)]


def chunks(r):
    return [[(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx) for c in s] for s in r.alignments]


def test_module_and_names():
    import fastloss.text as t2

    assert t2 is T and T.wer is fastloss.wer and T.error_rates is fastloss.error_rates
    assert not hasattr(fastloss, "Compose")  # transforms live in fastloss.text only
    assert T.Compose([T.ToLowerCase(), T.RemovePunctuation(), T.ReduceToListOfListOfWords()])(["Hi, THERE!"]) == [["hi", "there"]]
    assert T.ReduceToListOfListOfWords()([]) == [[]] and T.ReduceToListOfListOfChars()("ab") == [["a", "b"]]
    with pytest.raises(ValueError, match="expected to be a string or list"):
        T.Strip()(3)


def test_twin_visualization():
    # pairs whose optimal alignment is unique (the twin may pick any optimal path)
    refs = ["the cat sat on the mat", "a big dog", "same words", "x y"]
    hyps = ["the cat sat on mat", "a red dog", "same words", "x y zed"]
    r = fastloss.error_rates(refs, hyps, return_alignments=True)
    assert fastloss.visualize_alignment(r, show_measures=False) == visualize_alignment_reference(refs, hyps)


def test_token_ids_and_per_sentence():
    refs = [np.array([1, 2, 3]), np.array([4, 5])]
    hyps = [np.array([1, 3]), np.array([4, 5, 6])]
    r = fastloss.error_rates(refs, hyps, per_sentence=True, return_alignments=True)
    assert (r.hits, r.substitutions, r.deletions, r.insertions) == (4, 0, 1, 1)
    assert fastloss.wer(refs, hyps) == 0.4 == fastloss.cer([[1, 2, 3], [4, 5]], [[1, 3], [4, 5, 6]])
    assert fastloss.wer(np.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 5]])) == 0.25
    assert r.sentence_counts.tolist() == [[2, 0, 1, 0], [2, 0, 0, 1]]
    assert r.sentence(0).wer == 1 / 3 and np.allclose(r.sentence_error_rates, [1 / 3, 1 / 2])
    assert r.references == [[1, 2, 3], [4, 5]] and r.alignments[0][1].type == "delete"
    with pytest.raises(TypeError, match="both"):
        fastloss.wer(refs, ["a b"])
    with pytest.raises(TypeError, match="token ids"):
        fastloss.wer([np.array([1]), "x"], [np.array([1]), np.array([2])])
    with pytest.raises(ValueError, match="transforms apply to text"):
        fastloss.wer(refs, hyps, reference_transform=T.wer_default)
    with pytest.raises(ValueError, match="per_sentence=True"):
        fastloss.error_rates("a", "b").sentence(0)


def test_transform_errors():
    with pytest.raises(ValueError, match="list of list strings"):
        fastloss.wer(["a b"], ["a"], reference_transform=T.Compose([T.Strip()]))
    with pytest.raises(ValueError, match="lengths must match"):
        fastloss.wer(["a b", "c"], ["a", "c"], hypothesis_transform=T.wer_contiguous)
    with pytest.raises(TypeError, match="callable"):
        fastloss.wer(["a"], ["a"], reference_transform="lower")


def test_jiwer(rng):
    jiwer = pytest.importorskip("jiwer")
    rnd = random.Random(0)
    tr = T.Compose([T.ToLowerCase(), T.ExpandCommonEnglishContractions(), T.RemoveKaldiNonWords(), T.RemovePunctuation(),
                    T.SubstituteWords({"cat": "dog"}), T.RemoveMultipleSpaces(), T.Strip(), T.ReduceToListOfListOfWords()])
    jt = jiwer.Compose([jiwer.ToLowerCase(), jiwer.ExpandCommonEnglishContractions(), jiwer.RemoveKaldiNonWords(),
                        jiwer.RemovePunctuation(), jiwer.SubstituteWords({"cat": "dog"}), jiwer.RemoveMultipleSpaces(),
                        jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])
    ct = T.Compose([T.RemoveWhiteSpace(replace_by_space=True), T.Strip(), T.ReduceToListOfListOfChars()])
    jc = jiwer.Compose([jiwer.RemoveWhiteSpace(replace_by_space=True), jiwer.Strip(), jiwer.ReduceToListOfListOfChars()])
    for _ in range(80):
        n = rnd.randint(1, 4)
        R, H = corpus(rnd, n), corpus(rnd, n)
        if not any(s.strip() for s in R):
            R[0] = "x"
        o = jiwer.process_words(R, H)
        r = fastloss.error_rates(R, H, return_alignments=True)
        assert (r.hits, r.substitutions, r.deletions, r.insertions) == (o.hits, o.substitutions, o.deletions, o.insertions)
        assert r.references == o.references and r.hypotheses == o.hypotheses
        assert chunks(r) == [[(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx) for c in s]
                             for s in o.alignments]
        assert fastloss.visualize_alignment(r) == jiwer.visualize_alignment(o)
        assert fastloss.visualize_alignment(r, line_width=20, skip_correct=False) == \
            jiwer.visualize_alignment(o, line_width=20, skip_correct=False)
        oc = jiwer.process_characters(R, H)
        rc = fastloss.error_rates(R, H, unit="char", return_alignments=True)
        assert chunks(rc) == [[(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx) for c in s]
                              for s in oc.alignments]
        assert fastloss.visualize_alignment(rc) == jiwer.visualize_alignment(oc)
        try:
            want = jiwer.wer(R, H, reference_transform=jt, hypothesis_transform=jt)
        except ValueError:
            with pytest.raises(ValueError):
                fastloss.wer(R, H, reference_transform=tr, hypothesis_transform=tr)
        else:
            assert np.isclose(fastloss.wer(R, H, reference_transform=tr, hypothesis_transform=tr), want)
        assert np.isclose(fastloss.cer(R, H, reference_transform=ct, hypothesis_transform=ct),
                          jiwer.cer(R, H, reference_transform=jc, hypothesis_transform=jc))
        assert np.isclose(fastloss.wer(R, H, hypothesis_transform=T.wer_standardize),
                          jiwer.wer(R, H, hypothesis_transform=jiwer.wer_standardize))
        vocab: dict = {}
        ri = [np.array([vocab.setdefault(w, len(vocab)) for w in s], dtype=np.int64) for s in o.references]
        hi = [np.array([vocab.setdefault(w, len(vocab)) for w in s], dtype=np.int64) for s in o.hypotheses]
        assert np.isclose(fastloss.wer(ri, hi), o.wer)
    x = ["I can't   be <unk> [laugh] here.", "", " won't \t  go "]
    for name in ("wer_default", "wer_contiguous", "wer_standardize", "wer_standardize_contiguous", "cer_default",
                 "cer_contiguous"):
        assert getattr(T, name)(x) == getattr(jiwer, name)(x), name
        assert getattr(T, name)(x[0]) == getattr(jiwer, name)(x[0]), name
    for ours, theirs, arg in (
        (T.RemoveEmptyStrings(), jiwer.RemoveEmptyStrings(), ["", " a ", "  "]),
        (T.RemoveSpecificWords(["a", "the"]), jiwer.RemoveSpecificWords(["a", "the"]), ["the apple is a pear"]),
        (T.SubstituteRegexes({r"\b(\w+)ed\b": r"\1"}), jiwer.SubstituteRegexes({r"\b(\w+)ed\b": r"\1"}), ["loved doomed"]),
        (T.ReduceToSingleSentence(), jiwer.ReduceToSingleSentence(), ["a", "", "b c"]),
        (T.ToUpperCase(), jiwer.ToUpperCase(), "naïve ß"),
        (T.RemovePunctuation(), jiwer.RemovePunctuation(), ["¿qué? «sí» — ok…"]),
    ):
        assert ours(arg) == theirs(arg)
