"""Benchmark cases for CTC decoding and corpus error rates.

Corpora are generated here, deterministically (seeded), from a built-in
pseudo-word vocabulary: no download.  Baselines: ``jiwer`` for WER/CER,
``pyctcdecode`` (only where installed: it pins numpy<2) and ``python`` -- a
straightforward dict-based CTC prefix beam search written below -- for beam
search, a NumPy formulation and a bandwidth bound (``bound:read``, one
parallel pass that reads every log-probability once) for greedy decoding,
and PyTorch's ``ctc_loss`` on candidates flattened into a batch for
``ctc_score``.
"""
from __future__ import annotations

import math

import numpy as np

from . import Case, Shape, optional

# ---------------------------------------------------------------------------
# corpora
# ---------------------------------------------------------------------------

_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["sh", "th", "qu", "x"]


def _vocabulary(rng, size=5000):
    words = set()
    while len(words) < size:
        n = int(rng.integers(1, 4))
        words.add("".join(_SYLLABLES[int(i)] for i in rng.integers(0, len(_SYLLABLES), n)))
    return sorted(words)


def make_corpus(n_pairs, seed=0, min_words=10, max_words=30, max_edits=5):
    """``n_pairs`` (reference, hypothesis) sentence pairs: references of
    ``min_words..max_words`` words drawn from a 5000-word vocabulary with a
    Zipf-like frequency; each hypothesis is its reference with 0..max_edits
    random substitutions, deletions and insertions."""
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    V = len(vocab)
    weights = 1.0 / np.arange(1, V + 1)
    weights /= weights.sum()
    lengths = rng.integers(min_words, max_words + 1, n_pairs)
    draws = rng.choice(V, size=int(lengths.sum()) + n_pairs * max_edits, p=weights)
    pos = 0
    refs, hyps = [], []
    for L in lengths:
        ws = [vocab[i] for i in draws[pos : pos + L]]
        pos += L
        hw = list(ws)
        for _ in range(int(rng.integers(0, max_edits + 1))):
            op = int(rng.integers(0, 3))
            w = vocab[draws[pos]]
            pos += 1
            if op == 0 and hw:
                hw[int(rng.integers(0, len(hw)))] = w
            elif op == 1 and hw:
                del hw[int(rng.integers(0, len(hw)))]
            else:
                hw.insert(int(rng.integers(0, len(hw) + 1)), w)
        refs.append(" ".join(ws))
        hyps.append(" ".join(hw))
    return refs, hyps


def _make_corpus(params, rng):
    refs, hyps = make_corpus(params["pairs"], seed=params.get("seed", 0))
    return {"refs": refs, "hyps": hyps}


def _rate_impls(name):
    def impls():
        import fastloss

        fn = getattr(fastloss, name)
        out = {"fastloss": lambda d: fn(d["refs"], d["hyps"])}
        jiwer = optional("jiwer")
        if jiwer is not None:
            jfn = getattr(jiwer, name)
            out["jiwer"] = lambda d: jfn(d["refs"], d["hyps"])
        return out

    return impls


# ---------------------------------------------------------------------------
# CTC outputs
# ---------------------------------------------------------------------------

#: 29 symbols as in character ASR: blank, space, apostrophe, a-z.
LABELS = ["", " ", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]


def make_log_probs(T, N, C, seed=0, peak=4.0, dtype=np.float32):
    """(T, N, C) log-softmax outputs that look like a trained CTC model's:
    each frame favours one symbol (blank 60% of the time) by ``peak`` nats
    over Gaussian noise."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((T, N, C))
    win = np.where(rng.random((T, N)) < 0.6, 0, rng.integers(1, C, (T, N)))
    np.put_along_axis(z, win[..., None], peak, axis=2)
    z -= z.max(axis=2, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=2, keepdims=True))
    return np.ascontiguousarray(z, dtype=dtype)


def _make_lp(params, rng):
    lp = make_log_probs(params["T"], params["N"], params["C"], seed=params.get("seed", 0),
                        dtype=np.dtype(params.get("dtype", "float32")))
    return {"lp": lp, "beam": params.get("beam", 16)}


def python_prefix_beam_search(frames, beam_width, blank=0):
    """A straightforward pure-Python CTC prefix beam search (the reference
    baseline): dict of prefix tuple -> (log p blank-ending, log p
    label-ending), every symbol tried at every frame, no pruning."""
    def lse(a, b):
        if a < b:
            a, b = b, a
        return a if b == -math.inf else a + math.log1p(math.exp(b - a))

    beams = {(): (0.0, -math.inf)}
    for row in frames.tolist():
        new = {}
        for prefix, (pb, pnb) in beams.items():
            total = lse(pb, pnb)
            last = prefix[-1] if prefix else -1
            for c, p in enumerate(row):
                if c == blank:
                    key, b, nb = prefix, total + p, -math.inf
                elif c == last:
                    ob, onb = new.get(prefix, (-math.inf, -math.inf))
                    new[prefix] = (ob, lse(onb, pnb + p))
                    key, b, nb = prefix + (c,), -math.inf, pb + p
                else:
                    key, b, nb = prefix + (c,), -math.inf, total + p
                ob, onb = new.get(key, (-math.inf, -math.inf))
                new[key] = (lse(ob, b), lse(onb, nb))
        best = sorted(new.items(), key=lambda kv: -lse(*kv[1]))[:beam_width]
        beams = dict(best)
    return max(beams.items(), key=lambda kv: lse(*kv[1]))


def _beam_impls():
    import fastloss

    out = {"fastloss": lambda d: fastloss.ctc_beam_search(d["lp"], beam_width=d["beam"])}

    def run_python(d):
        lp = d["lp"]
        return [python_prefix_beam_search(lp[:, n, :].astype(np.float64), d["beam"]) for n in range(lp.shape[1])]

    out["python"] = run_python
    pyctcdecode = optional("pyctcdecode")
    if pyctcdecode is not None:  # pragma: no cover - not installable next to numpy 2
        decoder = pyctcdecode.build_ctcdecoder(LABELS)

        def run_pyctcdecode(d):
            lp = d["lp"]
            return [decoder.decode_beams(lp[:, n, :], beam_width=d["beam"]) for n in range(lp.shape[1])]

        out["pyctcdecode"] = run_pyctcdecode
    return out


_bound = {}


def _read_bound():
    if not _bound:
        from ..._core.jit import kernel, numba
        from ..._core.math import maxnum

        @kernel(parallel=True)
        def read_max(x, out):
            # one vectorised pass over (T, N, C), parallel over frames: the
            # floor for greedy decoding (a max of every frame, no argmax)
            T, N, C = x.shape
            for t in numba.prange(T):
                for n in range(N):
                    m = x[t, n, 0]
                    for c in range(C):
                        m = maxnum(m, x[t, n, c])
                    out[t, n] = m

        _bound["read"] = read_max
    return _bound["read"]


def _greedy_impls():
    import fastloss

    def numpy_greedy(d):
        lp = d["lp"]
        best = lp.argmax(axis=2)  # (T, N)
        score = np.take_along_axis(lp, best[..., None], axis=2)[..., 0].sum(axis=0, dtype=np.float64)
        keep = (best != 0) & np.vstack([np.ones((1, best.shape[1]), bool), best[1:] != best[:-1]])
        return [best[keep[:, n], n] for n in range(best.shape[1])], score

    def bound(d):
        out = d.setdefault("bound_out", np.empty(d["lp"].shape[:2], d["lp"].dtype))
        _read_bound()(d["lp"], out)
        return out

    return {
        "fastloss": lambda d: fastloss.ctc_greedy_decode(d["lp"]),
        "numpy": numpy_greedy,
        "bound:read": bound,
    }


def _make_score(params, rng):
    d = _make_lp(params, rng)
    N = params["N"]
    K, L = params["K"], params["L"]
    r = np.random.default_rng(1)
    d["cands"] = [[r.integers(1, params["C"], int(r.integers(L // 2, L + 1))) for _ in range(K)] for _ in range(N)]
    return d


def _score_impls():
    import fastloss

    out = {"fastloss": lambda d: fastloss.ctc_score(d["lp"], None, d["cands"])}
    torch = optional("torch")
    if torch is not None:
        def run_torch(d):
            lp = d["lp"]
            T, N, _ = lp.shape
            rows = np.repeat(np.arange(N), [len(c) for c in d["cands"]])
            flat = [c for cs in d["cands"] for c in cs]
            x = torch.from_numpy(lp[:, rows, :].astype(np.float64))  # frames repeated per candidate
            tg = torch.from_numpy(np.concatenate(flat))
            with torch.no_grad():
                return -torch.nn.functional.ctc_loss(x, tg, [T] * len(flat), [len(c) for c in flat],
                                                     reduction="none")

        out["torch"] = run_torch
    return out


_LM_TASK = {}


def _make_lm_task(params, rng):
    """The synthetic word 3-gram task (lm_task.py), written once per process
    into a temporary directory."""
    import tempfile

    from .lm_task import LABELS, make_task

    key = (params["T"], params["N"], params.get("train", 12_000))
    if key not in _LM_TASK:
        d = tempfile.mkdtemp(prefix="fastloss-lm-")
        arpa, lp, refs, _ = make_task(d, N=params["N"], T=params["T"], n_train=key[2])
        _LM_TASK[key] = {"arpa": arpa, "lp": lp, "refs": refs, "labels": LABELS}
    return dict(_LM_TASK[key], lexicon=bool(params.get("lexicon")))


def _decoder_impls():
    import fastloss

    cache = {}

    def run_fastloss(d):
        key = ("dec", d["arpa"], d["lexicon"])
        if key not in cache:
            lm = fastloss.load_arpa(d["arpa"])
            lexicon = [w for w in lm.words if w not in ("<s>", "</s>", "<unk>")] if d["lexicon"] else None
            cache[key] = fastloss.CTCDecoder(d["labels"], lm=lm, lexicon=lexicon)
        return cache[key].decode(d["lp"], beam_width=64, beam_prune_logp=-10.0, token_min_logp=-5.0)

    out = {"fastloss": run_fastloss}
    pyctcdecode = optional("pyctcdecode")
    kenlm = optional("kenlm")
    if pyctcdecode is not None and kenlm is not None:  # pragma: no cover - needs numpy<2
        def run_pcd(d):
            if "pcd" not in cache:
                cache["pcd"] = pyctcdecode.build_ctcdecoder(d["labels"], kenlm_model_path=d["arpa"])
            lp = d["lp"]
            return [cache["pcd"].decode(lp[:, n, :], beam_width=64) for n in range(lp.shape[1])]

        out["pyctcdecode"] = run_pcd
    if optional("flashlight.lib.text.decoder") is not None:
        from .lm_task import flashlight_decoder

        def run_flashlight(d):
            key = ("fl", d["arpa"])
            if key not in cache:
                lm = fastloss.load_arpa(d["arpa"])
                words = [w for w in lm.words if w not in ("<s>", "</s>", "<unk>")]
                cache[key] = flashlight_decoder(d["labels"], d["arpa"], words)
            return cache[key](d["lp"])

        out["flashlight"] = run_flashlight
    return out


CASES = [
    Case("wer", "decode", "forward",
         (Shape("5k pairs", {"pairs": 5000}, quick=True), Shape("100k pairs", {"pairs": 100_000})),
         _make_corpus, _rate_impls("wer"),
         note="10-30 words, up to 5 edits per pair, 5000-word Zipf vocabulary"),
    Case("cer", "decode", "forward",
         (Shape("2k pairs", {"pairs": 2000}, quick=True), Shape("20k pairs", {"pairs": 20_000})),
         _make_corpus, _rate_impls("cer"),
         note="same corpus generator; ~100-250 characters per sentence"),
    Case("ctc_beam_search", "decode", "forward",
         (Shape("T100 N4 C29 beam16", {"T": 100, "N": 4, "C": 29}, quick=True),
          Shape("T500 N32 C29 beam16", {"T": 500, "N": 32, "C": 29})),
         _make_lp, _beam_impls,
         note="no pruning for fastloss and python; pyctcdecode at its defaults (prunes at -10)"),
    Case("ctc_greedy_decode", "decode", "forward",
         (Shape("T500 N32 C29", {"T": 500, "N": 32, "C": 29}, quick=True),
          Shape("T2000 N64 C1024 float32", {"T": 2000, "N": 64, "C": 1024}),
          Shape("T1000 N64 C1024 float64", {"T": 1000, "N": 64, "C": 1024, "dtype": "float64"})),
         _make_lp, _greedy_impls,
         note="bound:read = one parallel pass computing each frame's max (memory bandwidth floor)"),
    Case("ctc_score", "decode", "forward",
         (Shape("T200 N8 C29 16x40", {"T": 200, "N": 8, "C": 29, "K": 16, "L": 40}, quick=True),
          Shape("T500 N32 C29 16x100", {"T": 500, "N": 32, "C": 29, "K": 16, "L": 100})),
         _make_score, _score_impls,
         note="K candidates per utterance of length L/2..L; torch repeats the frames per candidate"),
    Case("CTCDecoder", "decode", "forward",
         (Shape("small 3-gram T100 N4 beam64", {"T": 100, "N": 4, "train": 1500}, quick=True),
          Shape("3-gram T500 N32 beam64", {"T": 500, "N": 32}),
          Shape("3-gram T500 N32 beam64 lexicon", {"T": 500, "N": 32, "lexicon": True})),
         _make_lm_task, _decoder_impls,
         note="word 3-gram (1.4e5 n-grams, 10^4 words), alpha 0.5 beta 1.5, prune -10, token_min -5; 'lexicon': "
              "fastloss with lexicon= the LM's words (smeared, as flashlight's); "
              "pyctcdecode+kenlm only where installed (numpy<2): see bench/pyctcdecode_lm.py; flashlight-text: "
              "LexiconDecoder + its KenLM, one utterance at a time (lm_task.flashlight_decoder)"),
]

# forced alignment (fastloss.forced_align) is benchmarked with the decoders
from .align import CASES as _ALIGN_CASES  # noqa: E402

CASES += _ALIGN_CASES
