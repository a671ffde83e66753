"""fastloss.speech.decode and .text: CTC decoding, rescoring, edit distance, error rates."""
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastloss
from inputs import LAYOUTS, layout
from ref_decode import (
    ctc_beam_search_reference,
    ctc_greedy_decode_reference,
    ctc_score_reference,
    edit_distance_reference,
    error_rates_reference,
    label_distribution,
    prefix_beam_search_python,
)

try:
    import jiwer
except ImportError:  # pragma: no cover
    jiwer = None
needs_jiwer = pytest.mark.skipif(jiwer is None, reason="jiwer not installed")


def log_softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def random_lp(rng, T, N, C, scale=1.5, dtype=np.float64):
    return log_softmax(rng.standard_normal((T, N, C)) * scale).astype(dtype)


def peaky_lp(rng, T, N, C, blank=0):
    """One dominant symbol per frame (p ~ 0.97), blanks frequent."""
    z = rng.standard_normal((T, N, C)) * 0.3
    winners = np.where(rng.random((T, N)) < 0.4, blank, rng.integers(0, C, (T, N)))
    np.put_along_axis(z, winners[..., None], 6.0, axis=2)
    return log_softmax(z)


def _seq(a):
    return [int(v) for v in a]


# ---------------------------------------------------------------------------
# greedy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
def test_greedy_matches_twin(rng, dtype, batch_first):
    T, N, C = 37, 5, 6
    lp = random_lp(rng, T, N, C, dtype=dtype)
    lp[5:9, 1, :] = lp[4, 1, :]  # force repeated argmax runs
    il = np.array([37, 20, 0, 1, 36])
    x = lp.transpose(1, 0, 2).copy() if batch_first else lp
    for blank in (0, 3):
        for merge in (True, False):
            tok, sc = fastloss.ctc_greedy_decode(x, il, blank=blank, batch_first=batch_first, merge_repeated=merge)
            rt, rs = ctc_greedy_decode_reference(x, il, blank, batch_first, merge)
            assert [_seq(t) for t in tok] == rt
            assert sc.dtype == dtype and sc.shape == (N,)
            np.testing.assert_allclose(sc, rs, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-6)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_greedy_layouts_and_inputs_untouched(rng, kind):
    lp = random_lp(rng, 12, 3, 5)
    x = layout(lp, kind)
    before = x.copy()
    tok, sc = fastloss.ctc_greedy_decode(x)
    rt, rs = ctc_greedy_decode_reference(lp)
    assert [_seq(t) for t in tok] == rt
    np.testing.assert_allclose(sc, rs, rtol=1e-13)
    np.testing.assert_array_equal(x, before)


def test_greedy_long_utterance_blocks(rng):
    # several greedy blocks per utterance, and a tie (first maximum wins, as np.argmax)
    lp = random_lp(rng, 1300, 2, 4)
    lp[700, 0, :] = np.log(0.25)
    tok, sc = fastloss.ctc_greedy_decode(lp, [1300, 1029])
    rt, rs = ctc_greedy_decode_reference(lp, [1300, 1029])
    assert [_seq(t) for t in tok] == rt
    np.testing.assert_allclose(sc, rs, rtol=1e-12)


def test_greedy_nan_like_argmax():
    lp = np.log(np.full((3, 1, 3), 1 / 3))
    lp[1, 0, 2] = np.nan
    lp[1, 0, 0] = 5.0
    tok, sc = fastloss.ctc_greedy_decode(lp)
    assert np.argmax(lp[1, 0]) == 2
    assert _seq(tok[0]) == [2] and np.isnan(sc[0])


# ---------------------------------------------------------------------------
# beam search
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", range(6))
def test_beam_search_wide_equals_enumeration(case):
    rng = np.random.default_rng(case)
    T, C = [(3, 3), (4, 3), (5, 3), (4, 4), (3, 5), (6, 2)][case]
    N = 3
    lp = random_lp(rng, T, N, C, scale=1.0 + case * 0.3)
    il = np.array([T, T - 1, 1])
    blank = case % C
    # number of label sequences of length <= T over C-1 labels: the beam holds them all
    wide = sum((C - 1) ** k for k in range(T + 1))
    got = fastloss.ctc_beam_search(lp, il, beam_width=wide, top_k=wide, blank=blank)
    ref = ctc_beam_search_reference(lp, il, top_k=wide, blank=blank)
    for g, r in zip(got, ref):
        gd = {tuple(_seq(t)): s for t, s in g}
        rd = {tuple(t): s for t, s in r}
        assert gd.keys() == rd.keys()
        for k in rd:
            assert gd[k] == pytest.approx(rd[k], rel=1e-12, abs=1e-12)
        # the best hypothesis is the most probable label sequence
        assert tuple(_seq(g[0][0])) == max(rd, key=rd.get)
        scores = [s for _, s in g]
        assert scores == sorted(scores, reverse=True)


def test_beam_scores_equal_ctc_loss(rng):
    torch = pytest.importorskip("torch")
    T, N, C = 7, 4, 3
    lp = random_lp(rng, T, N, C)
    il = np.array([7, 6, 3, 5])
    got = fastloss.ctc_beam_search(lp, il, beam_width=300, top_k=40)
    for n in range(N):
        for tokens, score in got[n]:
            if tokens.size == 0:
                continue
            ours = -fastloss.ctc_loss(lp[:, n : n + 1], tokens[None, :], [il[n]], [tokens.size], reduction="none")
            theirs = -torch.nn.functional.ctc_loss(
                torch.from_numpy(lp[:, n : n + 1]), torch.from_numpy(tokens[None, :]), [int(il[n])],
                [tokens.size], reduction="none").numpy()
            assert score == pytest.approx(float(ours[0]), rel=1e-12, abs=1e-12)
            assert score == pytest.approx(float(theirs[0]), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_beam_width_one_equals_greedy_on_peaky(seed):
    rng = np.random.default_rng(seed)
    lp = peaky_lp(rng, 60, 4, 7)
    tok, _ = fastloss.ctc_greedy_decode(lp)
    got = fastloss.ctc_beam_search(lp, beam_width=1)
    assert [_seq(g[0][0]) for g in got] == [_seq(t) for t in tok]


@pytest.mark.parametrize("W,tmin,prune", [(1, None, None), (3, None, None), (5, -2.0, None),
                                          (4, None, -3.0), (6, -1.5, -2.5), (2, -0.5, -1.0)])
def test_beam_search_matches_python_prefix_search(W, tmin, prune):
    rng = np.random.default_rng(W)
    T, N, C = 25, 3, 5
    lp = random_lp(rng, T, N, C, scale=2.0)
    il = np.array([25, 18, 9])
    got = fastloss.ctc_beam_search(lp, il, beam_width=W, top_k=W, token_min_logp=tmin, beam_prune_logp=prune)
    for n in range(N):
        ref = prefix_beam_search_python(lp[: il[n], n], W, 0, tmin, prune)
        assert [_seq(t) for t, _ in got[n]] == [t for t, _ in ref]
        np.testing.assert_allclose([s for _, s in got[n]], [s for _, s in ref], rtol=1e-12)


@pytest.mark.parametrize("kind", ["byteswapped", "fortran"])
def test_beam_search_float32_batch_first_layouts(rng, kind):
    lp64 = random_lp(rng, 15, 3, 4)
    lp32 = lp64.astype(np.float32)
    x = layout(lp32.transpose(1, 0, 2).copy(), kind)
    got = fastloss.ctc_beam_search(x, beam_width=4, top_k=2, batch_first=True, blank=2)
    for n in range(3):
        ref = prefix_beam_search_python(lp32[:, n].astype(np.float64), 4, 2)[:2]
        assert [_seq(t) for t, _ in got[n]] == [t for t, _ in ref]
        np.testing.assert_allclose([s for _, s in got[n]], [s for _, s in ref], rtol=1e-12)


def test_beam_search_impossible_and_empty(rng):
    lp = random_lp(rng, 4, 2, 3)
    lp[:, 1, :] = -np.inf
    got = fastloss.ctc_beam_search(lp, [4, 4], beam_width=3, top_k=2)
    assert len(got[0]) == 2 and got[1] == []
    got = fastloss.ctc_beam_search(lp, [0, 0], beam_width=3, top_k=2)
    assert [(_seq(t), s) for t, s in got[0]] == [([], 0.0)]
    assert fastloss.ctc_beam_search(np.zeros((5, 0, 3))) == []


def test_threads_bitwise(rng):
    numba = pytest.importorskip("numba")
    lp = random_lp(rng, 300, 6, 8)
    refs = ["a b c d"] * 300 + ["x y", ""]
    hyps = ["a c d e"] * 300 + ["", "z"]
    results = []
    old = numba.get_num_threads()
    try:
        for nt in (1, 2):
            numba.set_num_threads(nt)
            g = fastloss.ctc_greedy_decode(lp)
            b = fastloss.ctc_beam_search(lp, beam_width=5, top_k=3, beam_prune_logp=-8.0)
            e = fastloss.error_rates(refs, hyps)
            results.append((g, b, e))
    finally:
        numba.set_num_threads(old)
    (g1, b1, e1), (g2, b2, e2) = results
    assert g1[1].tobytes() == g2[1].tobytes()
    assert all(np.array_equal(a, b) for a, b in zip(g1[0], g2[0]))
    assert [[(t.tolist(), s) for t, s in u] for u in b1] == [[(t.tolist(), s) for t, s in u] for u in b2]
    assert e1 == e2


# ---------------------------------------------------------------------------
# ctc_score
# ---------------------------------------------------------------------------


def test_ctc_score_matches_enumeration_and_ctc_loss(rng):
    T, N, C = 5, 3, 4
    lp = random_lp(rng, T, N, C)
    il = np.array([5, 4, 2])
    cands = [[[1], [1, 2], [3, 3], [1, 2, 3, 1, 2, 3]], [], [[2], np.array([1, 1]), []]]
    got = fastloss.ctc_score(lp, il, cands)
    ref = ctc_score_reference(lp, il, cands)
    assert len(got) == 3 and got[1].shape == (0,)
    for g, r in zip(got, ref):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, r, rtol=1e-12)
    assert got[0][3] == -np.inf  # 6 labels cannot fit 5 frames
    # against ctc_loss for a scorable candidate
    ll = -fastloss.ctc_loss(lp[:, :1], np.array([[1, 2]]), [5], [2], reduction="none")
    assert got[0][1] == pytest.approx(float(ll[0]), rel=1e-12)


def test_ctc_score_batch_first_float32_blank(rng):
    lp = random_lp(rng, 4, 2, 3, dtype=np.float32)
    cands = [[[0], [0, 1]], [[1, 0]]]
    got = fastloss.ctc_score(lp.transpose(1, 0, 2).copy(), None, cands, blank=2, batch_first=True)
    ref = ctc_score_reference(lp, None, cands, blank=2)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-6)


def test_ctc_score_rescoring_agrees_with_beam_search(rng):
    lp = random_lp(rng, 20, 2, 5)
    hyps = fastloss.ctc_beam_search(lp, beam_width=8, top_k=4)
    scores = fastloss.ctc_score(lp, None, [[t for t, _ in u] for u in hyps])
    for u, s in zip(hyps, scores):
        # beam scores count only the surviving alignments: never above the true likelihood
        assert all(b <= t + 1e-12 for (_, b), t in zip(u, s))


# ---------------------------------------------------------------------------
# edit distance
# ---------------------------------------------------------------------------


@given(st.text(alphabet="abcé日 ", max_size=25), st.text(alphabet="abcé日 ", max_size=25))
@settings(max_examples=60)
def test_edit_distance_strings(a, b):
    assert fastloss.edit_distance(a, b) == edit_distance_reference(a, b)


@given(st.lists(st.integers(-3, 3), max_size=20), st.lists(st.integers(-3, 3), max_size=20))
def test_edit_distance_int_arrays_and_lists(a, b):
    d = edit_distance_reference(a, b)
    assert fastloss.edit_distance(np.array(a, dtype=np.int64), np.array(b, dtype=np.int32)) == d
    assert fastloss.edit_distance([str(v) for v in a], tuple(str(v) for v in b)) == d


@given(st.lists(st.integers(0, 3), max_size=200), st.lists(st.integers(0, 3), max_size=200), st.integers(0, 200))
@settings(max_examples=30)
def test_edit_distance_multi_block(a, b, cut):
    # > 64 symbols: several bit-parallel words; a shared middle exercises the affix removal too
    b = a[:cut] + b[:30] + a[cut:]
    assert fastloss.edit_distance(np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)) == edit_distance_reference(a, b)


def test_no_whitespace_above_u3000():
    # the whitespace table stops at U+3000 (every higher code point maps to "not whitespace")
    assert [c for c in range(0x3001, 0x110000) if chr(c).isspace()] == []


def test_edit_distance_examples():
    assert fastloss.edit_distance("", "") == 0
    assert fastloss.edit_distance("abc", "") == 3
    assert fastloss.edit_distance("", "abcd") == 4
    assert fastloss.edit_distance(["the", "cat"], ["the", "dog", "sat"]) == 2
    assert fastloss.edit_distance(np.arange(300), np.arange(1, 301)) == 2
    with pytest.raises(TypeError):
        fastloss.edit_distance(3, "abc")
    with pytest.raises(ValueError, match="1-D"):
        fastloss.edit_distance(np.zeros((2, 2), int), np.zeros(2, int))
    with pytest.raises(TypeError, match="hashable"):
        fastloss.edit_distance([[1]], [[2]])


# ---------------------------------------------------------------------------
# error rates against jiwer and the twin
# ---------------------------------------------------------------------------

VOCAB = ["the", "a", "cat", "dog", "sat", "on", "mat", "é", "naïve", "日本", "Ω", "x\ty", "ß", "straße"]
SPACES = [" ", "  ", " \t ", "\u3000", "\u00a0", "\n", " \u2003 "]


def make_corpus(seed, n):
    """Pairs with every kind of edit, Unicode, empty strings and odd spacing."""
    rng = random.Random(seed)
    refs, hyps = [], []
    for _ in range(n):
        words = [rng.choice(VOCAB) for _ in range(rng.randint(0, 12))]
        hw = list(words)
        for _ in range(rng.randint(0, 4)):
            op = rng.choice("sdi")
            if op == "s" and hw:
                hw[rng.randrange(len(hw))] = rng.choice(VOCAB)
            elif op == "d" and hw:
                del hw[rng.randrange(len(hw))]
            elif op == "i":
                hw.insert(rng.randint(0, len(hw)), rng.choice(VOCAB))

        def join(ws):
            s = ""
            for i, w in enumerate(ws):
                s += (rng.choice(SPACES) if i and rng.random() < 0.3 else " " if i else "") + w
            if rng.random() < 0.2:
                s = rng.choice(SPACES) + s + rng.choice(SPACES)
            return s

        refs.append(join(words))
        hyps.append(join(hw))
    return refs, hyps


@needs_jiwer
@pytest.mark.parametrize("seed", range(4))
def test_error_rates_match_jiwer(seed):
    refs, hyps = make_corpus(seed, 150)
    for unit, proc in (("word", jiwer.process_words), ("char", jiwer.process_characters)):
        o = proc(refs, hyps)
        r = fastloss.error_rates(refs, hyps, unit=unit)
        assert (r.hits, r.substitutions, r.deletions, r.insertions) == (o.hits, o.substitutions, o.deletions, o.insertions)
        if unit == "word":
            assert (r.wer, r.mer, r.wil, r.wip) == (o.wer, o.mer, o.wil, o.wip)
            assert fastloss.wer(refs, hyps) == jiwer.wer(refs, hyps)
        else:
            assert r.cer == o.cer
            assert fastloss.cer(refs, hyps) == jiwer.cer(refs, hyps)


@needs_jiwer
def test_long_char_pairs_match_jiwer():
    # > 64 tokens: rapidfuzz's multi-word bit matrix; the walk must still agree
    rng = random.Random(7)
    refs = ["".join(rng.choice("ab c") for _ in range(rng.randint(60, 300))) for _ in range(40)]
    hyps = ["".join(rng.choice("ab c") for _ in range(rng.randint(60, 300))) for _ in range(40)]
    for unit, proc in (("word", jiwer.process_words), ("char", jiwer.process_characters)):
        o = proc(refs, hyps)
        r = fastloss.error_rates(refs, hyps, unit=unit)
        assert (r.hits, r.substitutions, r.deletions, r.insertions) == (o.hits, o.substitutions, o.deletions, o.insertions)
    assert fastloss.wer(refs, hyps) == jiwer.wer(refs, hyps)
    assert fastloss.cer(refs, hyps) == jiwer.cer(refs, hyps)


EDGE_CASES = [
    ("", ""), ("", "a b"), ("a", ""), ([], []), ([], ["a"]), (["a"], []), (["", ""], ["a", ""]),
    (["  "], ["a"]), ("a\tb", "a b"), ("a \t b", "a b"), ("a\u3000\u3000b", "a b"), (" a  b ", "a b"),
    ("a\u00a0b", "a b"), ("héllo wörld", "hello world"), (["", "a"], ["b", "a"]), ("\t a \n", "a"),
    ("e\u0301", "é"), ("a\x1cb", "a b"), (("x y",), ("x",)), ("a", ["a"]),
]


@needs_jiwer
@pytest.mark.parametrize("ref,hyp", EDGE_CASES)
def test_edge_cases_match_jiwer(ref, hyp):
    jr = list(ref) if isinstance(ref, tuple) else ref  # jiwer accepts only lists; fastloss also tuples
    jh = list(hyp) if isinstance(hyp, tuple) else hyp
    for unit, proc, fn, jfn in (("word", jiwer.process_words, fastloss.wer, jiwer.wer),
                                ("char", jiwer.process_characters, fastloss.cer, jiwer.cer)):
        o = proc(jr, jh)
        r = fastloss.error_rates(ref, hyp, unit=unit)
        assert (r.hits, r.substitutions, r.deletions, r.insertions) == (o.hits, o.substitutions, o.deletions, o.insertions)
        assert r.error_rate == (o.wer if unit == "word" else o.cer)
        assert fn(ref, hyp) == jfn(jr, jh) and isinstance(fn(ref, hyp), float)
        if unit == "word":
            assert (r.mer, r.wil, r.wip) == (o.mer, o.wil, o.wip)


@pytest.mark.parametrize("seed", range(3))
def test_error_rates_match_twin(seed):
    pytest.importorskip("rapidfuzz")  # the twin takes its alignment counts from rapidfuzz's pure-Python code
    refs, hyps = make_corpus(100 + seed, 60)
    for unit in ("word", "char"):
        r = fastloss.error_rates(refs, hyps, unit=unit)
        ref = error_rates_reference(refs, hyps, unit)
        for k, v in ref.items():
            assert getattr(r, k) == v, k


def test_error_rates_result_and_inputs_untouched():
    refs = np.array(["a b c", "d e"])
    hyps = ("a x c", "d")
    r = fastloss.error_rates(refs, hyps)
    assert r.wer == pytest.approx(2 / 5) and r.reference_length == 5 and r.hypothesis_length == 4
    with pytest.raises(AttributeError, match="cer"):
        r.cer
    assert fastloss.error_rates(refs, hyps, unit="char").cer == fastloss.cer(list(refs), list(hyps))
    assert refs.tolist() == ["a b c", "d e"]


def test_error_rate_bad_inputs():
    with pytest.raises(ValueError, match=r"2 references and 3 hypotheses"):
        fastloss.wer(["a", "b"], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"1 references and 2 hypotheses"):
        fastloss.error_rates("a", ["a", "b"], unit="char")
    with pytest.raises(TypeError, match=r"references\[1\] must be a str"):
        fastloss.cer(["a", 3], ["a", "b"])
    with pytest.raises(TypeError, match="hypotheses"):
        fastloss.wer("a", None)
    with pytest.raises(TypeError, match="hypotheses"):
        fastloss.wer("a", b"a")
    with pytest.raises(ValueError, match="unit"):
        fastloss.error_rates("a", "a", unit="words")


# ---------------------------------------------------------------------------
# bad CTC inputs
# ---------------------------------------------------------------------------


def test_ctc_bad_inputs(rng):
    lp = random_lp(rng, 4, 2, 3)
    for fn in (fastloss.ctc_greedy_decode, fastloss.ctc_beam_search):
        with pytest.raises(ValueError, match="3-D"):
            fn(lp[:, 0])
        with pytest.raises(ValueError, match=r"blank must be in \[0, C=3\)"):
            fn(lp, blank=3)
        with pytest.raises(ValueError, match="input_lengths must be in"):
            fn(lp, [4, 5])
        with pytest.raises(ValueError, match=r"shape \(2,\)"):
            fn(lp, [4])
        with pytest.raises(TypeError, match="batch_first"):
            fn(lp, batch_first="yes")
        with pytest.raises(TypeError):
            fn(lp.astype(np.complex128))
    with pytest.raises(ValueError, match="top_k must be <= beam_width=2"):
        fastloss.ctc_beam_search(lp, beam_width=2, top_k=3)
    with pytest.raises(ValueError, match="beam_width"):
        fastloss.ctc_beam_search(lp, beam_width=0)
    with pytest.raises(ValueError, match="beam_prune_logp"):
        fastloss.ctc_beam_search(lp, beam_prune_logp=1.0)
    bad = lp.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="frame 2 of utterance 1"):
        fastloss.ctc_beam_search(bad)
    fastloss.ctc_beam_search(bad, [4, 2])  # NaN in padding is ignored
    with pytest.raises(ValueError, match=r"candidates\[0\]\[1\]"):
        fastloss.ctc_score(lp, None, [[[1], [0]], []])  # blank as a label
    with pytest.raises(ValueError, match=r"candidates\[1\]\[0\]"):
        fastloss.ctc_score(lp, None, [[], [[3]]])
    with pytest.raises(ValueError, match="expected 2, got 1"):
        fastloss.ctc_score(lp, None, [[[1]]])
    with pytest.raises(TypeError):
        fastloss.ctc_score(lp, None, 5)


def test_label_distribution_sums_to_one(rng):
    # sanity of the enumeration twin itself: probabilities of all label sequences sum to 1
    fr = random_lp(rng, 4, 1, 3)[:, 0]
    assert math.fsum(label_distribution(fr, 0).values()) == pytest.approx(1.0, rel=1e-12)
