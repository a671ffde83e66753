"""Contrastive and batch-hard triplet losses: learning an embedding of digits.

Data: scikit-learn's ``load_digits`` (pixels standardised), 60/40 stratified split. The
model is a single linear map from the 64 pixels to 8 numbers; the same random map is the
starting point of both runs ("before"), and the pictures show the test images' embeddings on
their first two principal axes. Contrastive (:func:`fastloss.contrastive_loss`, margin 2):
each step draws 256 pairs, half of them from the same class, pulls similar pairs together
and pushes dissimilar ones to at least the margin. Its gradient is returned for the first
embedding only; since the loss depends on ``x1 - x2``, the second one's is its negative, and
the chain rule to the map is ``(a - b).T @ g``. Batch-hard triplet
(:func:`fastloss.batch_hard_triplet_loss`, margin 1): each step takes 12 images of every
digit, and for every anchor uses its farthest same-digit image and nearest other-digit
image. Both add a small weight decay (otherwise the triplet loss can be lowered by scaling
the map up). Score: recall@1 on the test images, the fraction whose nearest other test image
(in the embedding) shows the same digit. (With 2-D embeddings, batch-hard triplets stall
around recall@1 0.3 here: the hardest positive of a digit is usually an odd-looking one that
a linear map cannot bring close; 8 dimensions leave it room.)
"""
import numpy as np

import fastloss
from _gallery import descend, load, plt, run, save, split, standardize


DIM = 8


def recall_at_1(E, y):
    d = ((E[:, None, :] - E[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float(np.mean(y[d.argmin(1)] == y))


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("digits")
    train, test = split(y, 0.4, rng)
    Xtr, Xte = standardize(X[train], X[test])
    ytr, yte = y[train], y[test]
    by_class = [np.flatnonzero(ytr == c) for c in range(10)]
    W0 = rng.normal(scale=0.1, size=(64, DIM))
    steps = 80 if quick else 400
    decay = 1e-3

    def contrastive(p):
        half = 128
        a = rng.integers(0, len(ytr), 2 * half)
        b = np.r_[[rng.choice(by_class[ytr[i]]) for i in a[:half]],  # same digit
                  rng.integers(0, len(ytr), half)]  # random: mostly another digit
        A, B = Xtr[a], Xtr[b]
        label = (ytr[a] == ytr[b]).astype(np.int64)
        loss, g = fastloss.contrastive_loss(A @ p["W"], B @ p["W"], label, margin=2.0, return_grad=True)
        return loss, {"W": (A - B).T @ g + decay * p["W"]}  # d/dx2 = -d/dx1

    def triplet(p):
        idx = np.concatenate([rng.choice(c, 12, replace=False) for c in by_class])
        loss, g = fastloss.batch_hard_triplet_loss(Xtr[idx] @ p["W"], ytr[idx], margin=1.0,
                                                   return_grad=True)
        return loss, {"W": Xtr[idx].T @ g + decay * p["W"]}

    maps = {"before (random map)": W0}
    curves = {}
    for name, f in (("contrastive", contrastive), ("batch-hard triplet", triplet)):
        params = {"W": W0.copy()}
        curves[name] = descend(f, params, lr=lambda s: 0.02 / (1 + s / 100), steps=steps)
        maps[name] = params["W"]
    numbers = {f"{name}: test recall@1": recall_at_1(Xte @ W, yte) for name, W in maps.items()}
    numbers["contrastive: first/last loss"] = f"{curves['contrastive'][0]:.3f} / {curves['contrastive'][-1]:.3f}"
    numbers["triplet: first/last loss"] = (f"{curves['batch-hard triplet'][0]:.3f} / "
                                           f"{curves['batch-hard triplet'][-1]:.3f}")

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(15, 4.8))
    cmap = pyplot.get_cmap("tab10")
    for ax, (name, W) in zip(axes, maps.items()):
        E = Xte @ W
        E = E - E.mean(0)
        E = E @ np.linalg.svd(E, full_matrices=False)[2][:2].T  # first two principal axes
        for c in range(10):
            m = yte == c
            ax.scatter(E[m, 0], E[m, 1], s=6, color=cmap(c), alpha=0.6)
            cx, cy = np.median(E[m], axis=0)
            ax.text(cx, cy, str(c), fontsize=14, weight="bold", ha="center", va="center",
                    color=cmap(c), bbox=dict(boxstyle="circle,pad=0.1", fc="white", alpha=0.7, lw=0))
        ax.set(title=f"{name}: recall@1 {numbers[f'{name}: test recall@1']:.3f}",
               xticks=[], yticks=[])
    fig.suptitle(f"Test digits through a linear map to {DIM}-D (first two principal axes)")
    return {"figures": [save(fig, out, "embeddings.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
