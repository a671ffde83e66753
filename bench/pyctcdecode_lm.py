"""LM-fused CTC decoding: fastloss.CTCDecoder against pyctcdecode + kenlm
(and flashlight-text's decoders when installed), on the synthetic task of
``fastloss/bench/cases/lm_task.py``: a word 3-gram ARPA model (~1.4e5
n-grams, 10^4 words) and 32 utterances of T=500 frames, C=29.

pyctcdecode pins numpy<2, so it runs in a side environment; the steps share
files in DIR:

    python bench/pyctcdecode_lm.py make DIR                      # main env: lm.arpa, lp.npy, refs.txt
    /work/side/pcd/bin/python bench/pyctcdecode_lm.py pyctcdecode DIR   # side env: DIR/pyctcdecode.json
    python bench/pyctcdecode_lm.py fastloss DIR                  # main env: the table

Each step times ``repeat`` decodes of the whole batch after one warm-up and
keeps the median; the texts of the last run are saved, and the fastloss step
prints WER and time of every decoder it finds results for.  Settings (both):
beam 64, beam_prune_logp -10, token_min_logp -5, alpha 0.5, beta 1.5,
unk_score_offset -10 (pyctcdecode's defaults except the beam width).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time

import numpy as np

BEAM, PRUNE, TOKMIN, ALPHA, BETA, UNK = 64, -10.0, -5.0, 0.5, 1.5, -10.0


def _cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _timed(fn, repeat, cpu=None):
    """(last output, median wall time, wall times); ``cpu``, a list, gets the
    median process CPU time (all threads), which other jobs on a loaded
    machine do not inflate as much as the wall time."""
    fn()  # warm-up (compilation, caches)
    times = []
    cpus = []
    out = None
    for _ in range(repeat):
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    if cpu is not None:
        cpu.append(statistics.median(cpus))
    return out, statistics.median(times), times


def make(d):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from fastloss.bench.cases.lm_task import LABELS, make_task

    arpa, lp, refs, count = make_task(d)
    with open(os.path.join(d, "labels.json"), "w") as f:
        json.dump(LABELS, f)
    print(f"wrote {arpa} ({count} n-grams), lp {lp.shape}, {len(refs)} references")


def run_pyctcdecode(d, repeat=3):
    import kenlm
    import pyctcdecode

    labels = json.load(open(os.path.join(d, "labels.json")))
    lp = np.load(os.path.join(d, "lp.npy"))
    t = time.perf_counter()
    model = kenlm.Model(os.path.join(d, "lm.arpa"))
    load = time.perf_counter() - t
    # unigrams as build_ctcdecoder loads them from an ARPA file
    from pyctcdecode.decoder import load_unigram_set_from_arpa
    lm = pyctcdecode.LanguageModel(model, unigrams=load_unigram_set_from_arpa(os.path.join(d, "lm.arpa")),
                                   alpha=ALPHA, beta=BETA, unk_score_offset=UNK)
    alphabet = pyctcdecode.Alphabet.build_alphabet(labels)
    dec = pyctcdecode.BeamSearchDecoderCTC(alphabet, lm)
    dec0 = pyctcdecode.BeamSearchDecoderCTC(alphabet, None)
    N = lp.shape[1]
    res = {"cpu": _cpu(), "numpy": np.__version__, "pyctcdecode": pyctcdecode.__version__ if hasattr(
        pyctcdecode, "__version__") else "?", "kenlm_load_s": load, "settings": [BEAM, PRUNE, TOKMIN, ALPHA, BETA, UNK]}
    for name, d_ in (("pyctcdecode+kenlm", dec), ("pyctcdecode (no LM)", dec0)):
        def run():
            return [d_.decode(lp[:, n, :], beam_width=BEAM, beam_prune_logp=PRUNE, token_min_logp=TOKMIN)
                    for n in range(N)]
        texts, med, times = _timed(run, repeat)
        res[name] = {"texts": texts, "median_s": med, "times_s": times}
        print(f"{name}: median {med:.2f} s over {repeat}")
    with open(os.path.join(d, "pyctcdecode.json"), "w") as f:
        json.dump(res, f, indent=1)


def _drop_last(texts):
    """Texts without their last word: the posteriors end inside a word
    more often than not, and the references stop at the last whole word;
    a decoder that spells the partial word (fastloss, pyctcdecode) pays an
    insertion that one dropping unfinished words (flashlight) does not."""
    return [t.rsplit(" ", 1)[0] if " " in t else "" for t in texts]


def run_fastloss(d, repeat=5, save=None, threads=None, only=None):
    """Every fastloss variant, flashlight-text when installed, and the saved
    pyctcdecode rows, in one table (``only``: substrings of the row names to
    run; ``threads``: numba threads)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import numba

    import fastloss

    if threads:
        numba.set_num_threads(threads)
    labels = json.load(open(os.path.join(d, "labels.json")))
    lp = np.load(os.path.join(d, "lp.npy"))
    refs = open(os.path.join(d, "refs.txt")).read().splitlines()
    voc = fastloss.Vocabulary(labels)
    t = time.perf_counter()
    lm = fastloss.load_arpa(os.path.join(d, "lm.arpa"))
    load = time.perf_counter() - t
    words = [w for w in lm.words if w not in ("<s>", "</s>", "<unk>")]
    from fastloss.bench.cases.lm_task import utterance_ends

    # the same utterances stopped after the last space that fits (and the
    # references up to it): no word is cut by the end of the input
    ends, refs_b = utterance_ends(N=lp.shape[1], T=lp.shape[0])
    fused = dict(lm=lm, alpha=ALPHA, beta=BETA, unk_score_offset=UNK)
    lex = dict(fused, lexicon=words)
    variants = [  # name, CTCDecoder options, token_min_logp (and other decode options)
        ("fastloss CTCDecoder+LM", fused, TOKMIN),
        ("fastloss CTCDecoder+LM, lexicon", lex, TOKMIN),
        ("fastloss CTCDecoder+LM, lexicon, smearing=None", dict(lex, smearing=None), TOKMIN),
        ("fastloss CTCDecoder+LM, lexicon, smearing='logadd'", dict(lex, smearing="logadd"), TOKMIN),
        ("fastloss CTCDecoder+LM, lexicon, token_min_logp=None", lex, None),
        ("fastloss CTCDecoder+LM, token_min_logp=None", fused, None),
        ("fastloss CTCDecoder+LM, smearing=None", dict(fused, smearing=None), TOKMIN),
        ("fastloss CTCDecoder+LM, partial_word='drop'", fused, (TOKMIN, "drop")),
        ("fastloss CTCDecoder+LM, lexicon, partial_word='drop'", lex, (TOKMIN, "drop")),
        ("fastloss CTCDecoder+LM, lexicon, token_min_logp=None, partial_word='drop'", lex, (None, "drop")),
        ("fastloss CTCDecoder (no LM)", {}, TOKMIN),
    ]

    def wanted(name):
        return not only or any(o in name for o in only)

    rows = []
    for name, opts, tokmin in variants:
        if not wanted(name):
            continue
        tokmin, pw = tokmin if isinstance(tokmin, tuple) else (tokmin, "score")
        dec = fastloss.CTCDecoder(voc, **opts)
        kw = dict(beam_width=BEAM, beam_prune_logp=PRUNE, token_min_logp=tokmin, partial_word=pw)
        cpu = []
        out, med, _ = _timed(lambda: dec.decode(lp, **kw), repeat, cpu)
        out_b = dec.decode(lp, ends, **kw)
        rows.append((name, med, [o[0].text if o else "" for o in out], [o[0].text if o else "" for o in out_b], cpu[0]))
    if wanted("greedy"):
        cpu = []
        greedy, med, _ = _timed(lambda: fastloss.ctc_greedy_decode(lp), repeat, cpu)
        gb = fastloss.ctc_greedy_decode(lp, ends)
        rows.append(("fastloss greedy", med, [voc.decode_ids(t) for t in greedy[0]], [voc.decode_ids(t) for t in gb[0]],
                     cpu[0]))
    try:
        import flashlight.lib.text.decoder  # noqa: F401
    except ImportError:
        pass
    else:
        from fastloss.bench.cases.lm_task import flashlight_decoder

        if wanted("flashlight"):
            fl = flashlight_decoder(labels, os.path.join(d, "lm.arpa"), words, beam=BEAM, beam_threshold=-PRUNE,
                                    alpha=ALPHA, beta=BETA)
            cpu = []
            texts, med, _ = _timed(lambda: fl(lp), repeat, cpu)
            rows.append(("flashlight-text LexiconDecoder+KenLM", med, texts, fl(lp, ends), cpu[0]))
    peer = os.path.join(d, "pyctcdecode.json")
    if save is None:
        save = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "pyctcdecode_lm.json")
    pres = None
    if os.path.exists(peer):
        pres = json.load(open(peer))
    elif os.path.exists(save):
        pres = json.load(open(save))
    if pres is not None:
        for name in ("pyctcdecode+kenlm", "pyctcdecode (no LM)"):
            if name in pres:
                rows.append((name + " [side env]", pres[name]["median_s"], pres[name]["texts"], None, None))
    print(f"CPU: {_cpu()}; numba threads: {numba.get_num_threads()}; load_arpa {load:.2f} s"
          + (f", kenlm.Model {pres['kenlm_load_s']:.2f} s" if pres else ""))
    base, base_cpu = rows[0][1], rows[0][4]
    print(f"load average {os.getloadavg()[0]:.1f}; ratios: the row's time over {rows[0][0]}'s")
    print("| decoder | WER | WER, last word dropped | WER, input ending at a word boundary | time (s), 32 x T500 "
          "| time ratio | CPU time (s) | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, med, texts, texts_b, cpu in rows:
        wb = f"{fastloss.wer(refs_b, texts_b):.4f}" if texts_b is not None else ""
        cp = f"{cpu:.3f} | {cpu / base_cpu:.2f}" if cpu is not None else " | "
        print(f"| {name} | {fastloss.wer(refs, texts):.4f} | {fastloss.wer(_drop_last(refs), _drop_last(texts)):.4f} "
              f"| {wb} | {med:.3f} | {med / base:.2f} | {cp} |")
    if pres is not None and rows[0][0] == "fastloss CTCDecoder+LM":
        agree = np.mean([a == b for a, b in zip(rows[0][2], pres["pyctcdecode+kenlm"]["texts"])])
        print(f"same top text as pyctcdecode+kenlm: {agree:.0%} of utterances")
        if os.path.exists(peer):
            with open(save, "w") as f:
                json.dump(pres, f, indent=1)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=["make", "pyctcdecode", "fastloss"])
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=None, help="numba threads (fastloss step)")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs after the warm-up")
    ap.add_argument("--only", nargs="*", default=None, help="rows whose name contains one of these (fastloss step)")
    a = ap.parse_args()
    if a.step == "make":
        make(a.dir)
    elif a.step == "pyctcdecode":
        run_pyctcdecode(a.dir, **({"repeat": a.repeat} if a.repeat else {}))
    else:
        run_fastloss(a.dir, threads=a.threads, only=a.only, **({"repeat": a.repeat} if a.repeat else {}))
