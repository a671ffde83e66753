"""CTC on a synthetic reading task: a linear model learns to read strings of digits.

The task (synthetic, built from real images): a "line of handwriting" is 3-6 random images
from scikit-learn's ``load_digits`` pasted side by side with 0-2 empty columns between them;
the label is the digit string, with no information about where each digit is. Frame t of the
line is its pixel column t, and the model sees a window of 12 columns around it (96 numbers;
a window of 8 read 4x worse): a single linear layer gives 11 scores per frame, blank + the
ten digits. Training images and test images come from a 70/30 split of the 1,797 digits. The
loss is :func:`fastloss.ctc_loss` with ``from_logits=True``: the log-softmax is fused in and
the returned gradient is with respect to the scores, so one matrix product gives the weight
update, no autodiff needed. Test lines are decoded with :func:`fastloss.ctc_greedy_decode`
(best path) and :func:`fastloss.ctc_beam_search` (prefix beam search, 8 beams) and scored
with :func:`fastloss.cer`. The figure shows a test line, the model's per-frame posteriors,
and the alignment CTC infers for the true label: with ``return_grad=True`` on
log-probabilities, minus the gradient is the posterior occupancy, the probability that frame
t emits each symbol given the whole label. Its peaks sit on the digits, the blanks fill the
rest.
"""
import numpy as np

import fastloss
from _gallery import descend, load, log_softmax, plt, run, save, split

WINDOW = 12
BLANK = 0  # symbol 0 is blank, digit d is symbol d + 1


def make_lines(images, labels, n, rng, lengths=(3, 6)):
    """n lines of lengths[0]..lengths[1] digits: pixel columns (T, n, 8) and padded targets."""
    lines, targets = [], []
    for _ in range(n):
        k = rng.integers(lengths[0], lengths[1] + 1)
        pick = rng.integers(0, len(images), k)
        cols = [np.zeros((8, rng.integers(0, 3)))]
        for i in pick:
            cols += [images[i], np.zeros((8, rng.integers(0, 3)))]
        lines.append(np.concatenate(cols, axis=1).T)  # (columns, 8)
        targets.append(labels[pick] + 1)
    T = max(len(c) for c in lines)
    S = max(len(t) for t in targets)
    strip = np.zeros((T, n, 8))
    padded = np.zeros((n, S), dtype=np.int64)
    for j, (c, t) in enumerate(zip(lines, targets)):
        strip[: len(c), j] = c
        padded[j, : len(t)] = t
    return strip, np.array([len(c) for c in lines]), padded, np.array([len(t) for t in targets])


def features(strip):
    """(T, N, 8) columns -> (T, N, 8 * WINDOW) windows centred on each column, plus a 1."""
    T, N, _ = strip.shape
    pad = np.zeros((WINDOW // 2, N, 8))
    padded = np.concatenate([pad, strip, pad])
    win = np.stack([padded[s : s + T] for s in range(WINDOW)], axis=2).reshape(T, N, 8 * WINDOW)
    return np.concatenate([win, np.ones((T, N, 1))], axis=2)


def to_text(symbols):
    return "".join(str(int(s) - 1) for s in symbols)


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("digits")
    images = (X / 16.0).reshape(-1, 8, 8)
    train, test = split(y, 0.3, rng)
    steps = 80 if quick else 500
    n_test = 100 if quick else 300

    def value_and_grad(p):
        strip, in_len, tgt, tgt_len = make_lines(images[train], y[train], 32, rng)
        F = features(strip)  # (T, N, 65)
        scores = F @ p["W"]  # (T, N, 11)
        loss, g = fastloss.ctc_loss(scores, tgt, in_len, tgt_len, from_logits=True, return_grad=True)
        return loss, {"W": np.einsum("tnf,tnc->fc", F, g)}

    params = {"W": np.zeros((8 * WINDOW + 1, 11))}
    history = descend(value_and_grad, params, lr=lambda s: 0.2 / (1 + s / 100), steps=steps)

    strip, in_len, tgt, tgt_len = make_lines(images[test], y[test], n_test, rng)
    log_probs = log_softmax((features(strip) @ params["W"]).reshape(-1, 11)).reshape(*strip.shape[:2], 11)
    truth = [to_text(t[:n]) for t, n in zip(tgt, tgt_len)]
    greedy, _ = fastloss.ctc_greedy_decode(log_probs, in_len)
    beams = fastloss.ctc_beam_search(log_probs, in_len, beam_width=8)
    greedy_text = [to_text(t) for t in greedy]
    beam_text = [to_text(b[0][0]) for b in beams]
    numbers = {
        "CTC loss, first step (per label)": history[0],
        "CTC loss, last step (per label)": history[-1],
        "test lines": n_test,
        "test CER, greedy": float(fastloss.cer(truth, greedy_text)),
        "test CER, beam search (8)": float(fastloss.cer(truth, beam_text)),
        "test lines read exactly, greedy": float(np.mean([a == b for a, b in zip(truth, greedy_text)])),
        "test lines read exactly, beam": float(np.mean([a == b for a, b in zip(truth, beam_text)])),
        "example": f"{truth[0]} -> greedy {greedy_text[0]}, beam {beam_text[0]}",
    }

    # the alignment of line 0: minus the gradient w.r.t. log-probabilities is the occupancy
    T0 = in_len[0]
    lp0 = log_probs[:T0, 0]
    _, grad = fastloss.ctc_loss(lp0, tgt[0, : tgt_len[0]], T0, tgt_len[0], reduction="sum",
                                return_grad=True)
    occupancy = -grad  # (T0, 11): each row sums to 1
    pyplot = plt()
    fig, axes = pyplot.subplots(3, 1, figsize=(12, 6.5), sharex=True,
                                gridspec_kw={"height_ratios": [1, 1.4, 1.4]})
    axes[0].imshow(strip[:T0, 0].T, cmap="gray_r", aspect="auto")
    axes[0].set(yticks=[], title=f"test line: true '{truth[0]}', greedy '{greedy_text[0]}', "
                                 f"beam '{beam_text[0]}'")
    names = ["blank"] + [str(d) for d in range(10)]
    for ax, data, title in ((axes[1], np.exp(lp0).T, "model posteriors p(symbol | frame)"),
                            (axes[2], occupancy.T, "CTC alignment of the true label "
                                                    "(occupancy = -d loss / d log p)")):
        ax.imshow(data, cmap="magma_r", aspect="auto", vmin=0, vmax=1, interpolation="nearest")
        ax.set(yticks=range(11), yticklabels=names, title=title)
        ax.tick_params(axis="y", labelsize=7)
    path = occupancy.argmax(1)
    axes[2].plot(np.arange(T0), path, "c.", ms=4)
    axes[2].set(xlabel="frame (pixel column)")
    fig.tight_layout()
    return {"figures": [save(fig, out, "ctc_digit_strings.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
