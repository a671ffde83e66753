"""Draw docs/img/align.png: CTC posteriors of one synthetic utterance as a heat
map, with the forced alignment of its reference and the word spans and
confidences of its greedy transcript drawn on top.

    python bench/align_figure.py          (from the repository root)
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import fastloss  # noqa: E402
from align_synthetic import LABELS, make_task, word_correct  # noqa: E402


def main(seed=7, out=ROOT / "docs" / "img" / "align.png"):
    tasks = make_task(40, n_words=4, seed=seed)
    # an utterance with at least one recognition error, to show what low
    # confidence looks like
    for lp, spans in tasks:
        tokens, _ = fastloss.ctc_greedy_decode(lp[:, None, :])
        al = fastloss.ctc_alignments(lp[:, None, :], tokens, vocabulary=LABELS)[0]
        ok = word_correct(al.words, spans)
        if 0 < sum(ok) < len(ok):
            break
    ref_text = " ".join(w for w, _, _ in spans)
    ref = np.array([LABELS.index(c) for c in ref_text])
    path, scores = fastloss.forced_align(lp, ref)
    ref_words = fastloss.merge_words(fastloss.merge_tokens(path, scores), LABELS)

    T, C = lp.shape
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.imshow(np.exp(lp).T, aspect="auto", origin="lower", cmap="Greys", interpolation="nearest",
              extent=(-0.5, T - 0.5, -0.5, C - 0.5))
    ax.plot(np.arange(T), path, ".", color="tab:blue", ms=4)
    ax.set_yticks(range(C))
    ax.set_yticklabels(["blank", "space"] + LABELS[2:])
    ax.set_xlabel("frame")
    from matplotlib.patches import Rectangle

    for w in ref_words:
        ax.add_patch(Rectangle((w.start - 0.5, -1.3), w.end - w.start, 0.5, color="tab:blue", alpha=0.8))
        ax.text((w.start + w.end) / 2 - 0.5, -1.5, w.word, ha="center", va="top", color="tab:blue", fontsize=9)
    for w, good in zip(al.words, ok):
        colour = "tab:green" if good else "tab:red"
        ax.add_patch(Rectangle((w.start - 0.5, C - 0.3), w.end - w.start, 0.5, color=colour, alpha=0.8))
        ax.text((w.start + w.end) / 2 - 0.5, C + 0.4, f"{w.word}  ({w.confidence:.2f})", ha="center",
                va="bottom", color=colour, fontsize=9)
    ax.set_ylim(-3.0, C + 1.6)
    ax.set_title("top: greedy words, confidence in brackets (green: correct, red: wrong); "
                 "bottom: reference words; dots: forced alignment of the reference", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
