"""load_arpa / NgramLM: KenLM's semantics on files written here."""
import gzip
import pickle

import numpy as np
import pytest

import fastloss
from arpa_gen import estimate_arpa, random_arpa, random_sentences, write_arpa
from ref_lm import load_arpa_reference

def _kenlm():
    try:
        import kenlm as k
    except ImportError:  # pragma: no cover
        return None
    return k


def _chain_sentences(lm_ref, rng, n):
    """Sentences made of listed n-grams (so that the high orders are hit)."""
    grams = [g for g in lm_ref.probs if "<s>" not in g and "</s>" not in g]
    out = []
    for _ in range(n):
        ws = []
        for _ in range(int(rng.integers(1, 4))):
            ws.extend(grams[int(rng.integers(len(grams)))])
        out.append(" ".join(ws))
    return out


def _same(a, b, tol=1e-5):
    assert len(a) == len(b), (a, b)
    for x, y in zip(a, b):
        assert abs(x[0] - y[0]) < tol and tuple(x[1:]) == tuple(y[1:]), (a, b)


@pytest.mark.parametrize("seed", range(5))
def test_random_models_match_reference_and_kenlm(tmp_path, seed):
    rng = np.random.default_rng(seed)
    order = 2 + seed % 5
    path, vocab = random_arpa(str(tmp_path / "m.arpa"), rng, order=order, unk=seed % 3 != 0)
    lm = fastloss.load_arpa(path)
    ref = load_arpa_reference(path)
    k = _kenlm()
    km = k.Model(path) if k else None
    assert lm.order == order
    sents = random_sentences(rng, vocab, 15) + _chain_sentences(ref, rng, 20) + ["", "<s> w1", "w1 </s> w2"]
    for s in sents:
        for bos in (True, False):
            for eos in (True, False):
                got = lm.full_scores(s, bos=bos, eos=eos)
                want = ref.full_scores(s, bos=bos, eos=eos)
                assert np.allclose([g[0] for g in got], [w[0] for w in want], atol=1e-5, rtol=0), s
                assert [g[2] for g in got] == [w[2] for w in want]
                if km is not None:
                    _same(got, list(km.full_scores(s, bos=bos, eos=eos)))
                    assert abs(lm.score(s, bos=bos, eos=eos) - km.score(s, bos=bos, eos=eos)) < 1e-4


def test_estimated_model_and_states(tmp_path):
    rng = np.random.default_rng(7)
    words = "the cat sat on a mat dog ran".split()
    sents = [[words[int(i)] for i in rng.integers(0, len(words), int(rng.integers(2, 7)))] for _ in range(60)]
    path = estimate_arpa(str(tmp_path / "e.arpa"), sents, order=3)
    lm = fastloss.load_arpa(path)
    ref = load_arpa_reference(path)
    for s in [" ".join(x) for x in sents[:20]] + ["the unknown cat"]:
        assert abs(lm.score(s) - ref.score(s)) < 1e-4
        # the state interface gives the same total
        st, tot = lm.begin_state(), 0.0
        for w in s.split() + ["</s>"]:
            p, st = lm.base_score(st, w)
            tot += p
        assert abs(tot - lm.score(s)) < 1e-9
    assert lm.null_state() == ()
    assert lm.base_score(lm.null_state(), "cat")[0] == pytest.approx(ref.prob([], "cat")[0], abs=1e-6)
    k = _kenlm()
    if k:
        km = k.Model(path)
        for s in [" ".join(x) for x in sents[:20]]:
            _same(lm.full_scores(s), list(km.full_scores(s)))
    # gzip and pickle give the same model
    gz = str(tmp_path / "e.arpa.gz")
    with open(path, "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    lm2 = pickle.loads(pickle.dumps(fastloss.load_arpa(gz)))
    assert lm2.score("the cat sat") == lm.score("the cat sat")
    assert "cat" in lm2 and "zebra" not in lm2 and "<unk>" not in lm2


def test_missing_unk_and_minus_zero(tmp_path):
    path = write_arpa(str(tmp_path / "m.arpa"), [
        [(-99.0, ("<s>",), -0.3), (-0.5, ("</s>",), None), (-0.7, ("a",), "-0"), (-0.9, ("b",), 0.0)],
        [(-0.2, ("<s>", "a"), None), (-0.1, ("a", "b"), None)],
    ])
    lm = fastloss.load_arpa(path)
    assert lm.words[-1] == "<unk>"
    assert lm.full_scores("zz", bos=False, eos=False) == [(-100.0, 1, True)]
    assert lm.score("a b") == pytest.approx(-0.2 - 0.1 - 0.5, abs=1e-6)
    # a missing context (the 2-gram "c a" without... ) backs off with 0
    assert lm.full_scores("b a", bos=False, eos=False)[1][0] == pytest.approx(-0.7, abs=1e-6)


def test_missing_context_is_backoff_zero(tmp_path):
    """KenLM refuses n-grams whose context is missing; fastloss scores them
    as the ARPA standard (and SRILM): the missing context has backoff 0."""
    path = write_arpa(str(tmp_path / "m.arpa"), [
        [(-99.0, ("<s>",), -0.3), (-0.5, ("</s>",), None), (-0.7, ("a",), -0.2), (-0.9, ("b",), -0.4),
         (-1.1, ("c",), -0.1)],
        [(-0.3, ("b", "c"), -0.05)],
        [(-0.05, ("a", "b", "c"), None)],
    ])
    lm = fastloss.load_arpa(path)
    ref = load_arpa_reference(path)
    for s in ["a b c", "b c", "c a b c a", "a b a b c"]:
        # (n-gram lengths count the added context "a b" as KenLM counts its blanks)
        assert np.allclose([x[0] for x in lm.full_scores(s)], [x[0] for x in ref.full_scores(s)], atol=1e-6)


BAD = [
    ("no header", "hello\n", "no \\\\data\\\\ header"),
    ("count", "\\data\\\nngram 1=3\n\n\\1-grams:\n-1 a\n-1 b\n\n\\end\\\n", "line 7: the 1-gram section has 2 lines"),
    ("extra", "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n-1 b\n\n\\end\\\n", "line 6: the 1-gram section has more"),
    ("fields", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\n-1 b -1 x\n\n\\end\\\n", "line 6: malformed 1-gram line"),
    ("prob", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\nx b\n\n\\end\\\n", "line 6: malformed log10 probability"),
    ("positive", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\n0.5 b\n\n\\end\\\n", "line 6: log10 probability must be <= 0"),
    ("word", "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1 a -1\n\n\\2-grams:\n-1 a b\n\n\\end\\\n",
     "line 9: word 'b'"),
    ("end", "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n\n", "expected '\\\\end\\\\'"),
    ("dup", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\n-1 a\n\n\\end\\\n", "line 6: unigram 'a' is listed twice"),
]


@pytest.mark.parametrize("name,text,msg", BAD, ids=[b[0] for b in BAD])
def test_bad_files_name_the_line(tmp_path, name, text, msg):
    path = tmp_path / "bad.arpa"
    path.write_text(text)
    with pytest.raises(ValueError, match=msg):
        fastloss.load_arpa(path)


def test_bad_arguments(tmp_path):
    path = write_arpa(str(tmp_path / "m.arpa"), [[(-1.0, ("<s>",), None), (-1.0, ("</s>",), None)]])
    lm = fastloss.load_arpa(path)
    with pytest.raises(TypeError, match="path"):
        fastloss.load_arpa(3)
    with pytest.raises(TypeError, match="sentence"):
        lm.score(["a"])
    with pytest.raises(TypeError, match="state"):
        lm.base_score([0], "a")
    with pytest.raises(ValueError, match="state"):
        lm.base_score((99,), "a")


def _parse_probs(toks):
    """The compiled parser's reading of each token as a log10 probability:
    (values, status); status 0 = read by the fast path, else left to float()."""
    from fastloss._kernels.speech import lm as k

    buf = np.frombuffer("".join(f"{t}\tw\n" for t in toks).encode(), np.uint8)
    nl = np.append(np.flatnonzero(buf == 10), buf.size)
    n = len(toks)
    prob, bo = np.zeros(n), np.zeros(n)
    nf, st, unk = (np.zeros(n, np.int8) for _ in range(3))
    k.parse_section(buf, nl, 0, 1, True, np.zeros(n, np.int64), np.zeros(n, np.int64), np.full(1, -1, np.int32),
                    np.zeros(1, np.uint64), np.empty((1, 1), np.int32), prob, bo, nf, st, unk, np.empty(1, np.uint64))
    assert (nf == 2).all()
    return prob, st


def test_number_parsing_is_bit_exact():
    """The fast path reads every number as float() does, to the last bit, or
    leaves it to float()."""
    rng = np.random.default_rng(3)
    toks = []
    for _ in range(6000):
        x = -rng.random() * 10.0 ** int(rng.integers(-8, 8))
        d = int(rng.integers(0, 18))
        toks += [f"{x:.{d}f}", f"{x:.{d}e}", f"{x:.{d}g}", repr(x)]
        digits = "".join(str(int(c)) for c in rng.integers(0, 10, int(rng.integers(1, 24))))
        dot = int(rng.integers(0, len(digits) + 1))
        t = rng.choice(["-", "", "+"]) + digits[:dot] + rng.choice([".", ""]) + digits[dot:]
        if rng.random() < 0.5:
            t += rng.choice(["e", "E"]) + rng.choice(["", "-", "+"]) + str(int(rng.integers(0, 40)))
        toks.append(t)
    toks += ["-0", "0", "-0.0", ".5", "-5.", "-.5e1", "9007199254740992", "9007199254740993", "-1e22", "-1e23",
             "-1e-22", "-1e-23", "0e999999", "-0000000000000000000000001.5", "-1234567890123456789",
             "-12345678901234567890", "-99", "-1.000000000000000000000"]
    prob, st = _parse_probs(toks)
    for t, v, s in zip(toks, prob, st):
        if s == 0:
            assert np.float64(v).view(np.uint64) == np.float64(float(t)).view(np.uint64), t
    assert (st == 0).mean() > 0.7
    # the layouts of ARPA writers (SRILM, KenLM: %.6f, %g) never leave the fast path
    fixed = [f"{-rng.random() * 9:.{d}f}" for d in range(1, 16) for _ in range(20)]
    fixed += [f"{-rng.random() * 10.0 ** int(rng.integers(-9, 3)):g}" for _ in range(300)]
    assert (_parse_probs(fixed)[1] == 0).all()
    # what only float() reads (or nothing reads) is left to it
    odd = ["-inf", "-Infinity", "nan", "1_0", "-١٢", "", "-", ".", "e5", "1e", "1e+", "-1.5x", "--1", "0x10", "1.2.3"]
    _, st = _parse_probs([t or "''" for t in odd])
    assert (st != 0).all()


def test_whitespace_line_ends_and_unicode_words(tmp_path):
    """Fields are split as str.split() splits them (Unicode spaces too),
    lines on \\n only (\\r is a space at the end of a line); words keep any
    other character."""
    text = ("\\data\\\r\nngram 1=5\r\nngram 2=2\r\n\r\n\\1-grams:\r\n-99\t<s>\t-0.25\r\n-0.5\u3000</s>\r\n"
            "-0.75 \u00a0\u2581kat\x1f-0.125\r\n-1.5\u2003中\u200b文\r\n-2.5\t<unk>\r\n\r\n\\2-grams:\r\n"
            "-0.0625\u2028<s>\u0085\u2581kat\r\n-0.375\t\u2581kat 中\u200b文\r\n\r\n\\end\\\r\n")
    path = tmp_path / "u.arpa"
    path.write_bytes(text.encode("utf-8"))
    lm = fastloss.load_arpa(path)
    assert lm.words == ["<s>", "</s>", "\u2581kat", "中\u200b文", "<unk>"]
    ref = load_arpa_reference(str(path))
    for s in ["\u2581kat 中\u200b文", "中\u200b文 \u2581kat", "x \u2581kat"]:
        _same(lm.full_scores(s), ref.full_scores(s), tol=1e-7)
    k = _kenlm()
    if k:  # KenLM splits on ASCII spaces and tabs only: compare on the ASCII layout
        plain = tmp_path / "p.arpa"
        plain.write_text(text.replace("\r\n", "\n").replace("\u3000", "\t").replace(" \u00a0", "\t")
                         .replace("\x1f", "\t").replace("\u2003", "\t").replace("\u2028", "\t")
                         .replace("\u0085", " "), encoding="utf-8")
        km = k.Model(str(plain))
        for s in ["\u2581kat 中\u200b文", "x \u2581kat"]:
            _same(lm.full_scores(s), list(km.full_scores(s)))


MORE_BAD = [
    ("utf8", b"\\data\\\nngram 1=1\n\n\\1-grams:\n-1 \xff\n\n\\end\\\n", "not UTF-8"),
    ("backoff", b"\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1 a -1\n-1 b -1x\n\n\\2-grams:\n-1 a b\n\n\\end\\\n",
     "line 7: malformed backoff '-1x'"),
    ("nan backoff", b"\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1 a nan\n-1 b\n\n\\2-grams:\n-1 a b\n\n\\end\\\n",
     "line 6: backoff must be finite or -inf, got nan"),
    ("top backoff", b"\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1 a\n-1 b\n\n\\2-grams:\n-1 a b -1\n\n\\end\\\n",
     "line 10: malformed 2-gram line '-1 a b -1': expected 3 fields"),
    ("short", b"\\data\\\nngram 1=2\nngram 2=3\n\n\\1-grams:\n-1 a\n-1 b\n\n\\2-grams:\n-1 a b\n-1 b a",
     "line 12: the 2-gram section has 2 lines, the header announced 3"),
    ("dup 2-gram",
     b"\\data\\\nngram 1=2\nngram 2=2\n\n\\1-grams:\n-1 a\n-1 b\n\n\\2-grams:\n-1 a b\n-1\ta\tb\n\n\\end\\\n",
     "the 2-gram 'a b' is listed twice"),
    ("huge count", b"\\data\\\nngram 1=2\nngram 2=1000000000000\n\n\\1-grams:\n-1 a\n-1 b\n\n\\2-grams:\n-1 a b\n\n"
     b"\\end\\\n", "line 11: the 2-gram section has 1 lines, the header announced 1000000000000"),
    ("nan prob", b"\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\nnan b\n\n\\end\\\n",
     "line 6: log10 probability must be <= 0, got nan"),
]


@pytest.mark.parametrize("name,data,msg", MORE_BAD, ids=[b[0] for b in MORE_BAD])
def test_more_bad_files(tmp_path, name, data, msg):
    path = tmp_path / "bad.arpa"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=msg):
        fastloss.load_arpa(path)
