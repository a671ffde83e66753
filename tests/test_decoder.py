"""CTCDecoder: exact on tiny problems, = ctc_beam_search without LM, pyctcdecode's rules."""
import math
import pickle

import numpy as np
import pytest

import fastloss
from arpa_gen import estimate_arpa, write_arpa
from ref_lm import CTCDecoder_reference, fused_lm_score, load_arpa_reference

LABELS = ["", " ", "a", "b"]


def _spelled(seq, C, floor):
    """(2 len(seq) + 1, 1, C) log-probabilities spelling ``seq``: each token
    then a blank at 0.9, the rest at ``floor`` (before normalising)."""
    p = np.full((2 * len(seq) + 1, C), floor)
    for t, c in enumerate(seq):
        p[2 * t, c] = 0.9
        p[2 * t + 1, 0] = 0.9
    p[-1, 0] = 0.9
    return np.log(p / p.sum(1, keepdims=True))[:, None, :]


def _lp(rng, T, N, C, peak=2.0):
    z = rng.standard_normal((T, N, C)) + peak * (rng.random((T, N, C)) < 0.3)
    z -= np.log(np.exp(z).sum(axis=2, keepdims=True))
    return z


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("lm") / "tiny.arpa")
    write_arpa(path, [
        [(-99.0, ("<s>",), -0.4), (-0.6, ("</s>",), None), (-0.8, ("a",), -0.3), (-1.0, ("b",), -0.2),
         (-0.9, ("ab",), -0.1), (-1.5, ("ba",), -0.5), (-2.0, ("<unk>",), None)],
        [(-0.3, ("<s>", "ab"), -0.1), (-0.2, ("ab", "a"), -0.05), (-0.5, ("a", "b"), 0.0), (-0.4, ("b", "</s>"), None)],
        [(-0.1, ("<s>", "ab", "a"), None)],
    ])
    return path


@pytest.mark.parametrize("seed", range(6))
def test_exhaustive_tiny(tiny_lm, seed):
    """A beam wide enough to hold every prefix, no pruning: the best
    hypothesis is the exact argmax of the fused score over all label
    sequences, and its score equals that maximum."""
    rng = np.random.default_rng(seed)
    T = 5
    lp = _lp(rng, T, 1, 4)
    lm = fastloss.load_arpa(tiny_lm)
    ref_lm = load_arpa_reference(tiny_lm)
    alpha, beta = [(0.5, 1.5), (1.0, -0.5), (0.3, 0.0)][seed % 3]
    dec = fastloss.CTCDecoder(LABELS, lm=lm, alpha=alpha, beta=beta, unk_score_offset=-4.0)
    got = dec.decode(lp, beam_width=400, beam_prune_logp=None, token_min_logp=None, top_k=5)[0]
    want = CTCDecoder_reference(lp[:, 0], LABELS, lm=ref_lm, alpha=alpha, beta=beta, unk_score_offset=-4.0)
    assert got[0].score == pytest.approx(want[0][0], abs=1e-5)
    assert got[0].tokens.tolist() == want[0][1] or abs(want[0][0] - want[1][0]) < 1e-9
    # each returned hypothesis: acoustic = its CTC log-likelihood, score = acoustic + LM
    for h in got:
        ll = fastloss.ctc_score(lp, None, [[h.tokens]])[0][0]
        assert h.acoustic_score == pytest.approx(ll, abs=1e-9)
        words = h.text.split()
        lm_s = fused_lm_score(words, ref_lm, alpha, beta, -4.0, ref_lm.vocab - {"<s>", "</s>", "<unk>"})
        assert h.lm_score == pytest.approx(lm_s, abs=1e-5)
        assert h.score == pytest.approx(h.acoustic_score + h.lm_score, abs=1e-9)
        assert h.n_words == len(words)
    # hypotheses are the top of the exact ranking (by text, merged token sequences aside)
    assert [round(h.score, 6) for h in got] == [round(w[0], 6) for w in want[:5]]


# float32 is a second specialisation of the whole decoder kernel: a cold compile
# of ~2 min on the loaded 2-core machine, so it runs with the slow tests.
@pytest.mark.parametrize("dtype", [pytest.param(np.float32, marks=pytest.mark.slow), np.float64])
@pytest.mark.parametrize("prune", [(None, None), (-5.0, -10.0), (-2.0, -3.0)])
def test_no_lm_reproduces_ctc_beam_search(tiny_lm, dtype, prune):
    rng = np.random.default_rng(3)
    T, N, C = 30, 5, 4
    lp = _lp(rng, T, N, C).astype(dtype)
    il = np.array([30, 0, 1, 17, 29])
    tok, bp = prune
    base = fastloss.ctc_beam_search(lp, il, beam_width=8, top_k=3, token_min_logp=tok, beam_prune_logp=bp)
    lm = fastloss.load_arpa(tiny_lm)
    for dec in (fastloss.CTCDecoder(LABELS),
                fastloss.CTCDecoder(LABELS, lm=lm, alpha=0.0, beta=0.0, unk_score_offset=0.0)):
        out = dec.decode(lp, il, beam_width=8, top_k=3, token_min_logp=tok, beam_prune_logp=bp)
        for n in range(N):
            assert len(out[n]) == len(base[n])
            for h, (t, s) in zip(out[n], base[n]):
                assert h.tokens.tolist() == t.tolist()
                assert h.acoustic_score == pytest.approx(s, abs=1e-9)
                assert h.lm_score == 0.0


def test_batch_first_lengths_threads_deterministic(tiny_lm):
    rng = np.random.default_rng(5)
    lp = _lp(rng, 40, 6, 4)
    il = np.array([40, 3, 0, 25, 40, 12])
    dec = fastloss.CTCDecoder(LABELS, lm=fastloss.load_arpa(tiny_lm))
    a = dec.decode(lp, il, top_k=2)
    b = dec.decode(np.ascontiguousarray(lp.transpose(1, 0, 2)), il, batch_first=True, top_k=2)
    c = [dec.decode(lp[: il[n], n:n + 1], top_k=2)[0] for n in range(6)]
    for x, y, z in zip(a, b, c):
        assert [(h.text, h.score) for h in x] == [(h.text, h.score) for h in y] == [(h.text, h.score) for h in z]
    assert a[2][0].text == "" and a[2][0].tokens.size == 0
    # pickles (for worker processes)
    dec2 = pickle.loads(pickle.dumps(dec))
    assert [h.text for h in dec2.decode(lp)[0]] == [h.text for h in dec.decode(lp)[0]]


def test_word_spans_and_confidence():
    voc = fastloss.Vocabulary(["", "|", "a", "b"])
    p = np.full((8, 4), 0.02)
    for t, c in enumerate([2, 2, 0, 1, 3, 0, 3, 0]):
        p[t, c] = 0.94
    lp = np.log(p / p.sum(1, keepdims=True))[:, None, :]
    h = fastloss.CTCDecoder(voc).decode(lp)[0][0]
    assert h.text == "a bb" or h.text == "a b"
    assert h.word_spans[0] == ("a", 0, 2)
    assert h.word_spans[1][1] == 4 and h.word_spans[1][0] in ("b", "bb")
    assert all(0 < c <= 1 for c in h.word_confidence)
    assert h.word_confidence[0] == pytest.approx(0.94 / p[0].sum(), rel=1e-9)


def test_lm_steers_and_lexicon_hotwords(tmp_path):
    """Two acoustically equal readings: the LM (or a lexicon, or a hotword)
    decides."""
    words = ["ab", "ba"]
    path = estimate_arpa(str(tmp_path / "e.arpa"), [["ab", "ab"]] * 5 + [["ba"]], order=2)
    lm = fastloss.load_arpa(path)
    # frames: a/b ambiguous, then b/a ambiguous
    p = np.array([[.1, .05, .425, .425], [.1, .05, .425, .425], [.8, .1, .05, .05]])
    lp = np.log(p)[:, None, :]
    assert fastloss.CTCDecoder(LABELS, lm=lm, alpha=1.0).decode(lp)[0][0].text == "ab"
    assert fastloss.CTCDecoder(LABELS, lexicon=["ba"]).decode(lp)[0][0].text == "ba"
    assert fastloss.CTCDecoder(LABELS, lm=lm, alpha=1.0, hotwords=["ba"], hotword_weight=20.0).decode(lp)[0][0].text == "ba"
    # a lexicon forbids everything else
    out = fastloss.CTCDecoder(LABELS, lexicon=words).decode(lp, top_k=4)[0]
    assert all(h.text in ("ab", "ba", "") for h in out)


@pytest.mark.parametrize("labels", [LABELS, ["", "\u2581a", "\u2581b", "a", "b"]], ids=["delimiter", "pieces"])
def test_lexicon_input_ending_inside_a_word(tmp_path, labels):
    """With a lexicon, frames that stop inside a word (no hypothesis ends in
    a lexicon word) give the hypotheses without their unfinished word (as
    flashlight), not an empty list."""
    sp = labels[1] != " "
    # "ab ab a": with pieces "▁a b ▁a b ▁a"
    seq = [1, 4, 1, 4, 1] if sp else [2, 3, 1, 2, 3, 1, 2]
    lp = _spelled(seq, len(labels), 1e-4)  # 1e-4: below token_min_logp, no other reading
    path = estimate_arpa(str(tmp_path / "e.arpa"), [["ab", "ab", "abb"]] * 3, order=2)
    for lm in (None, fastloss.load_arpa(path)):
        dec = fastloss.CTCDecoder(labels, lm=lm, lexicon=["ab", "abb"])
        out = dec.decode(lp, top_k=3)[0]
        assert out and out[0].text == "ab ab"
        assert all(h.text.split() and set(h.text.split()) <= {"ab", "abb"} for h in out)
        assert [w for w, _, _ in out[0].word_spans] == ["ab", "ab"]
    # without a lexicon the partial word is spelled out
    assert fastloss.CTCDecoder(labels).decode(lp)[0][0].text == "ab ab a"


def test_lexicon_unfinished_word_exhaustive():
    """When no label sequence can end in a lexicon word, the best hypothesis
    and its score are the twin's exact maximum with the unfinished word
    dropped."""
    with np.errstate(divide="ignore"):
        lp = np.log(np.array([[0, 0, 1, 0], [.4, 0, 0, .6], [0, 1, 0, 0], [0, 0, 1, 0], [.3, 0, .7, 0]]))[:, None, :]
    lex = ["ab", "abb", "aab"]  # every reading is "a a" or "ab a": the last "a" is no word
    want = CTCDecoder_reference(lp[:, 0], LABELS, lexicon=lex)
    got = fastloss.CTCDecoder(LABELS, lexicon=lex).decode(lp, beam_width=400, beam_prune_logp=None,
                                                          token_min_logp=None)[0]
    assert want[0][2] == "ab" and got[0].text == "ab"
    assert got[0].score == pytest.approx(want[0][0], abs=1e-9) and want[0][0] == pytest.approx(math.log(.6))
    assert got[0].tokens.tolist() == [2, 3, 1]


def test_char_lm(tmp_path):
    """lm_unit='char': every token is scored by a character LM."""
    path = estimate_arpa(str(tmp_path / "c.arpa"), [list("abab"), list("ab")] * 4, order=3)
    lm = fastloss.load_arpa(path)
    p = np.array([[.1, .05, .425, .425], [.8, .1, .05, .05], [.1, .05, .425, .425]])
    lp = np.log(p)[:, None, :]
    dec = fastloss.CTCDecoder(["", " ", "a", "b"], lm=lm, lm_unit="char", alpha=1.0, beta=0.0)
    h = dec.decode(lp, beam_prune_logp=None, token_min_logp=None)[0][0]
    assert h.text == "ab"
    ref = load_arpa_reference(path)
    assert h.lm_log10 == pytest.approx(ref.score("a b"), abs=1e-5)
    assert h.n_words == 2


def test_sentencepiece_words(tmp_path):
    labels = ["<pad>", "\u2581a", "\u2581b", "b"]
    voc = fastloss.Vocabulary(labels)
    assert voc.sentencepiece
    path = write_arpa(str(tmp_path / "s.arpa"), [[(-99.0, ("<s>",), None), (-0.5, ("</s>",), None),
                                                   (-0.5, ("a",), None), (-0.5, ("bb",), None)]])
    dec = fastloss.CTCDecoder(voc, lm=fastloss.load_arpa(path))
    p = np.array([[.1, .8, .05, .05], [.1, .05, .8, .05], [.8, .05, .05, .1], [.1, .05, .05, .8]])
    h = dec.decode(np.log(p)[:, None, :])[0][0]
    assert h.text == "a bb" and h.n_words == 2


def test_bad_input(tiny_lm, tmp_path):
    lm = fastloss.load_arpa(tiny_lm)
    dec = fastloss.CTCDecoder(LABELS, lm=lm)
    with pytest.raises(ValueError, match="vocabulary has 4 labels"):
        dec.decode(np.zeros((3, 1, 5)))
    bad = np.log(np.full((3, 1, 4), 0.25))
    bad[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match="frame 1 of utterance 0"):
        dec.decode(bad)
    with pytest.raises(ValueError, match="input_lengths"):
        dec.decode(np.zeros((3, 1, 4)), [4])
    with pytest.raises(ValueError, match="top_k"):
        dec.decode(np.zeros((3, 1, 4)), beam_width=2, top_k=3)
    with pytest.raises(ValueError, match="lm_unit"):
        fastloss.CTCDecoder(LABELS, lm_unit="phone")
    with pytest.raises(TypeError, match="lm must be"):
        fastloss.CTCDecoder(LABELS, lm="x.arpa")
    path = write_arpa(str(tmp_path / "d.arpa"), [[(-1.0, ("<s>",), None), (-1.0, ("a|b",), None)]])
    with pytest.raises(ValueError, match="contains the word delimiter"):
        fastloss.CTCDecoder(["", "|", "a", "b"], lm=fastloss.load_arpa(path))
    with pytest.raises(ValueError, match="alpha"):
        fastloss.CTCDecoder(LABELS, alpha=float("nan"))


@pytest.mark.parametrize("smearing", ["max", "logadd"])
def test_smearing_exhaustive(tiny_lm, smearing):
    """Smearing changes only which prefixes survive, never a hypothesis'
    score: with a beam holding every prefix, the best is still the exact
    maximum of the fused score over the lexicon's sentences."""
    lm = fastloss.load_arpa(tiny_lm)
    ref_lm = load_arpa_reference(tiny_lm)
    lex = ["ab", "ba", "a"]
    for seed in range(4):
        lp = _lp(np.random.default_rng(seed), 5, 1, 4)
        dec = fastloss.CTCDecoder(LABELS, lm=lm, alpha=0.7, beta=0.5, unk_score_offset=-4.0, lexicon=lex,
                                  smearing=smearing)
        got = dec.decode(lp, beam_width=400, beam_prune_logp=None, token_min_logp=None, top_k=3)[0]
        want = CTCDecoder_reference(lp[:, 0], LABELS, lm=ref_lm, alpha=0.7, beta=0.5, unk_score_offset=-4.0,
                                    lexicon=lex)
        assert got[0].score == pytest.approx(want[0][0], abs=1e-5)
        assert [round(h.score, 6) for h in got] == [round(w[0], 6) for w in want[:len(got)]]


def test_smearing_steers_a_narrow_beam(tmp_path):
    """Look-ahead: with one beam, the first frame prefers "b" (0.55 against
    0.45), but the lexicon's likely word starts with "a".  Without smearing
    the beam commits to "bc"; with it (the default) the prefix "a" carries
    the LM's unigram score of "ac" and wins, with or without the lexicon."""
    labels = ["", " ", "a", "b", "c"]
    path = write_arpa(str(tmp_path / "u.arpa"), [[(-99.0, ("<s>",), None), (-0.5, ("</s>",), None),
                                                   (-0.1, ("ac",), None), (-3.0, ("bc",), None)]])
    lm = fastloss.load_arpa(path)
    p = np.array([[0, 0, .45, .55, 0], [0, 0, 0, 0, 1.0], [0, 1.0, 0, 0, 0]]) * 0.98 + 0.004
    lp = np.log(p / p.sum(1, keepdims=True))[:, None, :]
    kw = dict(lm=lm, alpha=0.5, beta=0.0, lexicon=["ac", "bc"])
    assert fastloss.CTCDecoder(labels, smearing=None, **kw).decode(lp, beam_width=1)[0][0].text == "bc"
    for sm in ("max", "logadd"):
        for lex in (kw["lexicon"], None):
            h = fastloss.CTCDecoder(labels, smearing=sm, **dict(kw, lexicon=lex)).decode(lp, beam_width=1)[0][0]
            assert h.text == "ac"
            # the score is the fused score of the words: the look-ahead is gone
            assert h.lm_score == pytest.approx(0.5 * math.log(10) * (-0.1 - 0.5), abs=1e-5)
    assert fastloss.CTCDecoder(labels, **kw).smearing == "max"
    assert fastloss.CTCDecoder(labels, lm=lm, smearing=None).smearing is None
    with pytest.raises(ValueError, match="smearing"):
        fastloss.CTCDecoder(labels, lm=lm, smearing="min")


@pytest.mark.parametrize("lexicon", [None, ["ab", "ba", "a"]])
def test_partial_word_drop_exhaustive(tiny_lm, lexicon):
    """decode(partial_word="drop"), flashlight's end rule: with a beam
    holding every prefix, the best hypothesis is the twin's exact maximum
    over the sequences that end at a word boundary."""
    lm = fastloss.load_arpa(tiny_lm)
    ref_lm = load_arpa_reference(tiny_lm)
    for seed in range(3):
        lp = _lp(np.random.default_rng(10 + seed), 5, 1, 4)
        dec = fastloss.CTCDecoder(LABELS, lm=lm, alpha=0.7, beta=0.5, unk_score_offset=-4.0, lexicon=lexicon)
        got = dec.decode(lp, beam_width=400, beam_prune_logp=None, token_min_logp=None, top_k=3,
                         partial_word="drop")[0]
        want = CTCDecoder_reference(lp[:, 0], LABELS, lm=ref_lm, alpha=0.7, beta=0.5, unk_score_offset=-4.0,
                                    lexicon=lexicon, partial_word="drop")
        assert got[0].score == pytest.approx(want[0][0], abs=1e-5)
        assert got[0].tokens.size == 0 or got[0].tokens[-1] == 1
        assert [round(h.score, 6) for h in got] == [round(w[0], 6) for w in want[:len(got)]]


def test_partial_word_drop_cut_input(tmp_path):
    """Input cut inside a word ("ab ab a"): "drop" returns the whole words,
    "score" (default) spells the partial word; a bad value is an error."""
    lp = _spelled([2, 3, 1, 2, 3, 1, 2], 4, 1e-3)
    path = estimate_arpa(str(tmp_path / "e.arpa"), [["ab", "ab", "a"]] * 3, order=2)
    for dec in (fastloss.CTCDecoder(LABELS), fastloss.CTCDecoder(LABELS, lm=fastloss.load_arpa(path))):
        assert dec.decode(lp)[0][0].text == "ab ab a"
        h = dec.decode(lp, partial_word="drop")[0][0]
        assert h.text == "ab ab" and h.tokens.tolist() == [2, 3, 1, 2, 3, 1]
    with pytest.raises(ValueError, match="partial_word"):
        fastloss.CTCDecoder(LABELS).decode(lp, partial_word="keep")
