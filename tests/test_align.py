"""forced_align, merge_tokens, merge_words, ctc_alignments.

Checked against the plain-Python twins of tests/ref_align.py, against the
Viterbi maximum found by enumerating every frame labelling of tiny cases, and
against torchaudio's outputs recorded in tests/fixtures/align_torchaudio.npz
(by tests/fixtures/make_align_fixtures.py in a side environment; CI needs no
torchaudio).
"""
from __future__ import annotations

import math
import pathlib
import types

import numpy as np
import pytest

import fastloss
from align_synthetic import LABELS, confidence_auroc
from ref_align import (
    brute_force_best,
    collapse,
    ctc_alignments_reference,
    forced_align_reference,
    merge_tokens_reference,
    merge_words_reference,
)

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "align_torchaudio.npz"


def _repeats(tg):
    return int(np.sum(tg[1:] == tg[:-1])) if len(tg) > 1 else 0


def _random_case(rng, N, T, C, Lmax, ties, dtype=np.float64):
    if ties:
        lp = -rng.integers(0, 3, (N, T, C)).astype(dtype)
    else:
        lp = np.log(rng.dirichlet(np.ones(C), (N, T))).astype(dtype)
    il = rng.integers(0, T + 1, N)
    tg = np.ones((N, Lmax), dtype=np.int64)
    tl = np.zeros(N, dtype=np.int64)
    for n in range(N):
        L = int(rng.integers(0, Lmax + 1))
        seq = rng.integers(1, C, L)
        while L + _repeats(seq) > il[n]:
            L -= 1
            seq = seq[:L]
        tg[n, :L] = seq
        tl[n] = L
    return lp, tg, il, tl


# ---------------------------------------------------------------------------
# forced_align against the twin and the brute-force maximum
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ties", [False, True])
def test_forced_align_matches_twin_and_brute_force(rng, ties):
    for _ in range(40):
        C = int(rng.integers(2, 4))
        lp, tg, il, tl = _random_case(rng, 3, int(rng.integers(1, 7)), C, 3, ties)
        paths, scores = fastloss.forced_align(lp, tg, il, tl)
        rp, rs = forced_align_reference(lp, tg, il, tl)
        np.testing.assert_array_equal(paths, rp)
        np.testing.assert_allclose(scores, rs, rtol=0, atol=0)
        for n in range(3):
            p = paths[n, : il[n]]
            assert collapse(p.tolist(), 0) == tg[n, : tl[n]].tolist()
            assert np.all(paths[n, il[n]:] == 0) and np.all(scores[n, il[n]:] == 0)
            best = brute_force_best(lp[n, : il[n]], tg[n, : tl[n]].tolist(), 0)
            assert math.isclose(scores[n].sum(), best, rel_tol=1e-12, abs_tol=1e-12)


def test_forced_align_layouts_and_target_forms(rng):
    lp, tg, il, tl = _random_case(rng, 4, 12, 5, 5, False)
    ref = fastloss.forced_align(lp, tg, il, tl)
    # (T, N, C), also as a non-contiguous view
    out = fastloss.forced_align(np.ascontiguousarray(lp.transpose(1, 0, 2)), tg, il, tl, batch_first=False)
    np.testing.assert_array_equal(out[0], ref[0])
    out = fastloss.forced_align(lp.transpose(1, 0, 2), tg, il, tl, batch_first=False)
    np.testing.assert_array_equal(out[0], ref[0])
    # concatenated targets
    flat = np.concatenate([tg[n, : tl[n]] for n in range(4)])
    out = fastloss.forced_align(lp, flat, il, tl)
    np.testing.assert_array_equal(out[0], ref[0])
    # one sample at a time, unbatched (T, C) / (L,)
    for n in range(4):
        p, s = fastloss.forced_align(lp[n, : il[n]], tg[n, : tl[n]])
        np.testing.assert_array_equal(p, ref[0][n, : il[n]])
        np.testing.assert_array_equal(s, ref[1][n, : il[n]])
    # other blank index: relabel classes 0 <-> 2
    perm = np.array([2, 1, 0, 3, 4])
    tg2 = perm[tg]
    p2, s2 = fastloss.forced_align(lp[:, :, perm], tg2, il, tl, blank=2)
    np.testing.assert_array_equal(p2, perm[ref[0]])
    np.testing.assert_array_equal(s2, ref[1])


def test_forced_align_dtypes(rng):
    lp, tg, il, tl = _random_case(rng, 3, 15, 6, 6, False)
    p64, s64 = fastloss.forced_align(lp, tg, il, tl)
    assert p64.dtype == np.int64 and s64.dtype == np.float64
    p32, s32 = fastloss.forced_align(lp.astype(np.float32), tg.astype(np.int32), il, tl)
    assert p32.dtype == np.int32 and s32.dtype == np.float32
    np.testing.assert_array_equal(p32, p64)  # no near-ties in these draws
    p16, s16 = fastloss.forced_align(lp.astype(np.float16), tg, il, tl)
    assert s16.dtype == np.float32
    # integral float targets are accepted; torch tensors are read without copy
    fastloss.forced_align(lp, tg.astype(np.float64), il, tl)
    torch = pytest.importorskip("torch")
    pt, st_ = fastloss.forced_align(torch.from_numpy(lp), torch.from_numpy(tg), torch.from_numpy(il),
                                    torch.from_numpy(tl))
    np.testing.assert_array_equal(pt, p64)


def test_forced_align_empty_target_and_empty_input(rng):
    lp = np.log(rng.dirichlet(np.ones(4), (2, 5)))
    paths, scores = fastloss.forced_align(lp, np.zeros((2, 0), dtype=np.int64))
    assert np.all(paths == 0)
    np.testing.assert_array_equal(scores, lp[:, :, 0])
    paths, scores = fastloss.forced_align(lp, np.ones((2, 1)), [0, 5], [0, 1])
    assert np.all(paths[0] == 0) and np.all(scores[0] == 0)
    paths, scores = fastloss.forced_align(np.zeros((0, 0, 3)), np.zeros((0, 2), dtype=np.int64))
    assert paths.shape == (0, 0)


def test_forced_align_tight_input_and_repeats():
    # T == L + repeats: the path is forced, blanks only between repeats
    lp = np.log(np.full((1, 5, 3), 1 / 3))
    paths, _ = fastloss.forced_align(lp, np.array([[1, 1, 2, 2]])[:, :3], [4], [3])
    assert paths[0].tolist() == [1, 0, 1, 2, 0]  # frame 4 is padding
    paths, _ = fastloss.forced_align(lp, np.array([[1, 1, 2]]))
    assert collapse(paths[0].tolist(), 0) == [1, 1, 2]


def test_forced_align_inputs_unchanged_serial_parallel_threads(rng, monkeypatch):
    import numba

    from fastloss.speech import align as align_mod

    lp, tg, il, tl = _random_case(rng, 16, 30, 6, 10, False, np.float32)
    copies = [a.copy() for a in (lp, tg, il, tl)]
    a = fastloss.forced_align(lp, tg, il, tl)  # small: the serial kernel
    for x, y in zip((lp, tg, il, tl), copies):
        np.testing.assert_array_equal(x, y)
    monkeypatch.setattr(align_mod, "_PARALLEL_CELLS", 0)  # the parallel kernel
    old = numba.get_num_threads()
    for threads in (1, old):
        numba.set_num_threads(threads)
        try:
            b = fastloss.forced_align(lp, tg, il, tl)
        finally:
            numba.set_num_threads(old)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


# ---------------------------------------------------------------------------
# torchaudio, recorded
# ---------------------------------------------------------------------------


def _fixture():
    if not FIXTURES.exists():  # pragma: no cover
        pytest.skip("tests/fixtures/align_torchaudio.npz missing")
    return np.load(FIXTURES)


def _cases():
    return [str(c) for c in _fixture()["cases"]] if FIXTURES.exists() else []


@pytest.mark.parametrize("case", _cases())
def test_forced_align_equals_torchaudio(case):
    d = _fixture()
    g = lambda k: d[f"{case}/{k}"]  # noqa: E731
    lp, tg, il, tl = g("log_probs"), g("targets"), g("input_lengths"), g("target_lengths")
    # ties='torchaudio': torchaudio 2.11's output, bit for bit
    p, s = fastloss.forced_align(lp, tg, il, tl, ties="torchaudio")
    assert p.dtype == tg.dtype and s.dtype == lp.dtype
    best_p, best_s = fastloss.forced_align(lp, tg, il, tl)
    for n in range(il.size):
        T = il[n]
        np.testing.assert_array_equal(p[n, :T], g("paths")[n, :T])
        np.testing.assert_array_equal(s[n, :T], g("scores")[n, :T])
        # default: the same path whenever torchaudio's is a best one; else a
        # better (never worse) one
        ta = float(np.sum(g("scores")[n, :T], dtype=np.float64))
        ours = float(np.sum(best_s[n, :T], dtype=np.float64))
        assert ours >= ta
        if not np.array_equal(best_p[n, :T], g("paths")[n, :T]):
            assert case.startswith("ties")  # only exact ties can trip torchaudio
        # merge_tokens on torchaudio's own path and scores
        spans = fastloss.merge_tokens(g("paths")[n, :T], g("scores")[n, :T])
        rec = g("spans")[g("spans")[:, 0] == n]
        assert [(sp.token, sp.start, sp.end) for sp in spans] == [tuple(int(v) for v in r[1:4]) for r in rec]
        np.testing.assert_allclose([sp.score for sp in spans], rec[:, 4], rtol=2e-6, atol=1e-6)


def test_best_ties_beat_torchaudio_on_recorded_case():
    d = _fixture()
    g = lambda k: d[f"ties_f64/{k}"]  # noqa: E731
    _, s = fastloss.forced_align(g("log_probs"), g("targets"), g("input_lengths"), g("target_lengths"))
    gaps = s.sum(axis=1) - g("scores").sum(axis=1)
    assert gaps.min() >= 0 and gaps.max() > 0  # torchaudio 2.11 returned a non-best path there


def test_torchaudio_errors_recorded():
    d = _fixture()
    kinds = {str(k): (str(t), str(m)) for k, t, m in d["errors"]}
    assert kinds["tight_fit"][0] == "ok"
    lp = d["error/tight_fit/log_probs"]
    fastloss.forced_align(lp, d["error/tight_fit/targets"])
    for key, words in (("too_short", "frames"), ("blank_in_targets", "blank"), ("label_out_of_range", "outside")):
        assert kinds[key][0] in ("RuntimeError", "ValueError")
        with pytest.raises(ValueError, match=words):
            fastloss.forced_align(d[f"error/{key}/log_probs"], d[f"error/{key}/targets"])


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_forced_align_errors():
    lp = np.log(np.full((2, 4, 3), 1 / 3))
    tg = np.array([[1, 2], [2, 2]])
    with pytest.raises(ValueError, match=r"sample 1.*2 repeated|sample 1: targets of length 2 with 1"):
        fastloss.forced_align(lp, tg, [4, 2])
    with pytest.raises(ValueError, match="sample 1.*label 3"):
        fastloss.forced_align(lp, np.array([[1, 2], [3, 1]]))
    with pytest.raises(ValueError, match="sample 0.*blank"):
        fastloss.forced_align(lp, np.array([[0, 2], [1, 1]]))
    with pytest.raises(ValueError, match="outside"):
        fastloss.forced_align(lp, np.array([[-1, 2], [1, 1]]))
    with pytest.raises(ValueError, match="input_lengths"):
        fastloss.forced_align(lp, tg, [5, 4])
    with pytest.raises(ValueError, match="input_lengths"):
        fastloss.forced_align(lp, tg, [-1, 4])
    with pytest.raises(ValueError, match="target_lengths"):
        fastloss.forced_align(lp, tg, None, [3, 1])
    with pytest.raises(ValueError, match="blank"):
        fastloss.forced_align(lp, tg, blank=3)
    with pytest.raises(ValueError, match="ties"):
        fastloss.forced_align(lp, tg, ties="first")
    with pytest.raises(ValueError, match="log_probs"):
        fastloss.forced_align(lp[0, 0], tg)
    with pytest.raises(ValueError, match="target_lengths is required"):
        fastloss.forced_align(lp, np.array([1, 2, 1]))
    with pytest.raises(TypeError):
        fastloss.forced_align(lp.astype(complex), tg)
    with pytest.raises(TypeError):
        fastloss.forced_align(lp, tg, batch_first="yes")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_forced_align_nan_frames(bad):
    lp = np.log(np.full((2, 5, 3), 1 / 3))
    lp[1, 3, 2] = bad
    with pytest.raises(ValueError, match="frame 3 of sample 1"):
        fastloss.forced_align(lp, np.array([[1], [2]]))
    # an unused class or a padded frame is not read
    lp2 = np.log(np.full((2, 5, 3), 1 / 3))
    lp2[1, 3, 2] = bad
    fastloss.forced_align(lp2, np.array([[1], [1]]))
    fastloss.forced_align(lp2, np.array([[1], [2]]), [5, 3])


def test_forced_align_zero_probability():
    lp = np.log(np.full((1, 3, 3), 1 / 3))
    lp[0, :, 2] = -np.inf
    with pytest.raises(ValueError, match="sample 0: every alignment"):
        fastloss.forced_align(lp, np.array([[1, 2]]))
    lp[0, 1, 1] = -np.inf  # -inf elsewhere is fine
    p, s = fastloss.forced_align(lp, np.array([[1]]))
    assert np.isfinite(s).all()


# ---------------------------------------------------------------------------
# merge_tokens, merge_words
# ---------------------------------------------------------------------------


def test_merge_tokens_matches_twin(rng):
    for _ in range(50):
        T = int(rng.integers(0, 12))
        path = rng.integers(0, 3, T)
        scores = rng.standard_normal(T)
        got = fastloss.merge_tokens(path, scores)
        ref = merge_tokens_reference(path, scores)
        assert [tuple(g[:3]) for g in got] == [r[:3] for r in ref]
        np.testing.assert_allclose([g.score for g in got], [r[3] for r in ref], rtol=1e-12)
        assert all(isinstance(g, fastloss.TokenSpan) for g in got)
    path = rng.integers(0, 3, (3, 7))
    scores = rng.standard_normal((3, 7)).astype(np.float32)
    rows = fastloss.merge_tokens(path, scores, blank=2)
    assert rows == [fastloss.merge_tokens(path[n], scores[n], blank=2) for n in range(3)]


def test_merge_tokens_errors():
    with pytest.raises(ValueError, match="same shape"):
        fastloss.merge_tokens(np.array([0, 1]), np.array([0.0]))
    with pytest.raises(ValueError, match=">= 0"):
        fastloss.merge_tokens(np.array([0, -1]), np.array([0.0, 0.0]))
    with pytest.raises(TypeError):
        fastloss.merge_tokens(np.array([0, 1]), np.array(["a", "b"]))


def _spans(toks):
    return [fastloss.TokenSpan(t, 2 * i, 2 * i + 1 + (i % 2), -0.1 * (i + 1)) for i, t in enumerate(toks)]


@pytest.mark.parametrize(
    "labels, delim, toks",
    [
        (["", " ", "a", "b", "c"], " ", [2, 3, 1, 4, 1, 1, 2, 1]),
        (["<b>", "|", "a", "b", "c"], "|", [1, 2, 3, 1, 4, 4, 2]),
        (["<b>", "\u2581he", "llo", "\u2581w", "or", "ld", "\u2581"], None, [1, 2, 3, 4, 5, 6, 2]),
        (["", "a", "b"], None, [1, 2, 1]),
    ],
)
def test_merge_words_matches_twin(labels, delim, toks):
    spans = _spans(toks)
    conf = np.linspace(0.9, 0.2, len(spans))
    ref = merge_words_reference(spans, labels, delim, conf)
    vocab = types.SimpleNamespace(labels=labels, blank=0, word_delimiter=delim)
    for v in (vocab, labels):
        got = fastloss.merge_words(spans, v, confidence=conf)
        assert [tuple(w[:3]) for w in got] == [r[:3] for r in ref]
        np.testing.assert_allclose([w.score for w in got], [r[3] for r in ref], rtol=1e-12)
        np.testing.assert_allclose([w.confidence for w in got], [r[4] for r in ref], rtol=1e-12)
    got = fastloss.merge_words(spans, vocab)
    assert all(math.isnan(w.confidence) for w in got)


def test_merge_words_errors():
    spans = _spans([1, 2])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        fastloss.merge_words(spans, ["", "a"])
    with pytest.raises(TypeError, match="vocabulary"):
        fastloss.merge_words(spans, "abc")
    with pytest.raises(ValueError, match="confidence"):
        fastloss.merge_words(spans, ["", "a", "b"], confidence=[0.5])
    with pytest.raises(TypeError, match="span"):
        fastloss.merge_words([3], ["", "a", "b"])


# ---------------------------------------------------------------------------
# ctc_alignments: timestamps and confidence of decoded hypotheses
# ---------------------------------------------------------------------------


def test_ctc_alignments_match_twin(rng):
    for _ in range(15):
        T, C, N = int(rng.integers(1, 6)), int(rng.integers(2, 4)), 2
        lp = np.log(rng.dirichlet(np.ones(C), (T, N)))
        il = rng.integers(0, T + 1, N)
        hyps = []
        for n in range(N):
            seq = rng.integers(1, C, int(rng.integers(0, 3)))
            while len(seq) + _repeats(seq) > il[n]:
                seq = seq[:-1]
            hyps.append(seq)
        got = fastloss.ctc_alignments(lp, hyps, il)
        for g, (spans, conf, ll) in zip(got, ctc_alignments_reference(lp, hyps, il)):
            assert [tuple(s[:3]) for s in g.tokens] == [s[:3] for s in spans]
            np.testing.assert_allclose([s.score for s in g.tokens], [s[3] for s in spans], rtol=1e-12)
            np.testing.assert_allclose(g.confidence, conf, rtol=1e-10)
            assert math.isclose(g.log_likelihood, ll, rel_tol=1e-10, abs_tol=1e-12)
            assert g.words is None


def test_ctc_alignments_greedy_and_beam(rng):
    from align_synthetic import make_task

    (lp, _), (lp2, _) = make_task(2, seed=3)
    T = min(len(lp), len(lp2))
    x = np.stack([lp[:T], lp2[:T]], axis=1)  # (T, 2, C)
    il = np.array([T, T - 3])
    tokens, gscores = fastloss.ctc_greedy_decode(x, il)
    als = fastloss.ctc_alignments(x, tokens, il, vocabulary=LABELS)
    for n, al in enumerate(als):
        # the greedy tokens' Viterbi path is the greedy path: spans are its runs
        best = x[: il[n], n].argmax(axis=1)
        ref = fastloss.merge_tokens(best, x[np.arange(il[n]), n, best])
        assert [tuple(s[:3]) for s in al.tokens] == [tuple(s[:3]) for s in ref]
        assert math.isclose(sum(s.score * (s.end - s.start) for s in al.tokens),
                            sum(s.score * (s.end - s.start) for s in ref), rel_tol=1e-12)
        assert np.all((al.confidence > 0) & (al.confidence <= 1))
        ll = -fastloss.ctc_loss(x[:, n : n + 1], tokens[n][None], [il[n]], [len(tokens[n])], reduction="sum")
        assert math.isclose(al.log_likelihood, ll, rel_tol=1e-9)
        assert " ".join(w.word for w in al.words) == "".join(LABELS[k] for k in tokens[n]).strip()
    beams = fastloss.ctc_beam_search(x, il, beam_width=8)
    als_b = fastloss.ctc_alignments(x, [b[0][0] for b in beams], il, vocabulary=LABELS)
    assert len(als_b) == 2
    # batch_first and unbatched forms agree
    bf = fastloss.ctc_alignments(np.ascontiguousarray(x.transpose(1, 0, 2)), tokens, il, batch_first=True)
    one = fastloss.ctc_alignments(x[: il[1], 1], tokens[1])
    np.testing.assert_array_equal(bf[1].confidence, als[1].confidence)
    np.testing.assert_array_equal(one.confidence, als[1].confidence)


def test_ctc_alignments_errors():
    lp = np.log(np.full((3, 2, 3), 1 / 3))
    with pytest.raises(ValueError, match="one label sequence per utterance"):
        fastloss.ctc_alignments(lp, [[1]])
    with pytest.raises(ValueError, match=r"hypotheses\[1\]"):
        fastloss.ctc_alignments(lp, [[1], [0]])
    with pytest.raises(ValueError, match="sample 1: hypothesis"):
        fastloss.ctc_alignments(lp, [[1], [1, 1, 1]])
    with pytest.raises(ValueError, match="input_lengths"):
        fastloss.ctc_alignments(lp, [[1], [1]], [4, 3])
    with pytest.raises(TypeError):
        fastloss.ctc_alignments(lp, 5)


def test_low_confidence_predicts_word_errors():
    """Synthetic task (tests/align_synthetic.py): the AUROC of word confidence
    for word correctness of greedy decoding is far above chance."""
    auroc, accuracy, n = confidence_auroc(n_utt=60, seed=1)
    assert n > 300 and 0.3 < accuracy < 0.9
    assert auroc > 0.8


def test_merge_words_vocabulary_objects():
    labels = ["<b>", "\u2581he", "llo", "\u2581w", "|"]
    spans = _spans([1, 2, 3, 4, 1])
    plain = types.SimpleNamespace(labels=labels, blank=0, word_delimiter=None, sentencepiece=False)
    assert [w.word for w in fastloss.merge_words(spans, plain)] == ["\u2581hello\u2581w|\u2581he"]
    delim = types.SimpleNamespace(labels=labels, blank=0, word_delimiter="|", sentencepiece=False)
    assert [w.word for w in fastloss.merge_words(spans, delim)] == ["\u2581hello\u2581w", "\u2581he"]
    sp = types.SimpleNamespace(labels=labels, blank=0, word_delimiter="\u2581")
    assert [w.word for w in fastloss.merge_words(spans, sp)] == ["hello", "w|", "he"]
    if hasattr(fastloss, "Vocabulary"):  # the lm branch's class, when merged
        v = fastloss.Vocabulary(["", "|", "a", "b"])
        got = fastloss.merge_words(_spans([2, 3, 1, 2]), v)
        assert [w.word for w in got] == ["ab", "a"]
