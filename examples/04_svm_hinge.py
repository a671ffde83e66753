"""Linear support-vector machines from the hinge loss: binary and Crammer-Singer.

An SVM is a linear model trained on the hinge loss ``max(0, 1 - y f(x))`` plus an L2
penalty: points beyond the margin (``y f(x) >= 1``) contribute nothing, so the fit is
decided by the points on or inside the margin, the support vectors. Left: scikit-learn's
``load_iris``, versicolor (-1) against virginica (+1) from the two petal measurements
(standardised); gradient descent on :func:`fastloss.hinge_loss` + ``lam/2 |w|^2``. The solid
line is ``f(x) = 0``, the dashed lines ``f(x) = +-1``; circled points have a non-zero hinge
gradient. Right: scikit-learn's ``load_wine`` (3 cultivars, 13 features, standardised,
projected on its first two principal components for the picture) with the multi-class hinge:
``hinge_loss`` with ``(N, C)`` scores is Crammer-Singer (only the best wrong class must stay
a margin below the true one); :func:`fastloss.multi_margin_loss` is the Weston-Watkins /
PyTorch variant that penalises every wrong class inside the margin.
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, plt, run, save, split, standardize


def fit(X, y, loss, n_out, lam, steps):
    def value_and_grad(p):
        z = X @ p["W"] + p["b"]
        if n_out == 1:
            z = z[:, 0]
        value, dz = loss(z, y, return_grad=True)
        dz = dz.reshape(len(X), n_out)
        return value + 0.5 * lam * np.sum(p["W"] ** 2), linear_grads(X, dz, p["W"], lam)

    params = {"W": np.zeros((X.shape[1], n_out)), "b": np.zeros(n_out)}
    history = descend(value_and_grad, params, lr=lambda s: 0.1 / (1 + s / 100), steps=steps)
    return params, history


def main(out, quick=False):
    rng = np.random.default_rng(0)
    steps = 100 if quick else 500
    numbers = {}

    # binary: iris versicolor vs virginica, petal length and width
    X, y = load("iris")
    keep = y > 0
    Xb = standardize(X[keep][:, 2:4])[0]
    yb = np.where(y[keep] == 2, 1.0, -1.0)
    pb, _ = fit(Xb, yb, fastloss.hinge_loss, 1, 0.01, steps)
    fb = Xb @ pb["W"][:, 0] + pb["b"][0]
    support = yb * fb < 1
    numbers["iris: training accuracy"] = float(np.mean(np.sign(fb) == yb))
    numbers["iris: points on or inside the margin"] = int(support.sum())
    numbers["iris: margin width 2/|w|"] = float(2 / np.linalg.norm(pb["W"]))

    # multi-class: wine, Crammer-Singer vs Weston-Watkins
    X, y = load("wine")
    train, test = split(y, 0.3, rng)
    Xtr, Xte = standardize(X[train], X[test])
    _, _, vt = np.linalg.svd(Xtr, full_matrices=False)
    Ptr, Pte = Xtr @ vt[:2].T, Xte @ vt[:2].T  # first two principal components
    models = {}
    for name, loss in (("Crammer-Singer", fastloss.hinge_loss),
                       ("Weston-Watkins", fastloss.multi_margin_loss)):
        for feats, (A, B) in (("13 features", (Xtr, Xte)), ("2 PCs", (Ptr, Pte))):
            p, _ = fit(A, y[train], loss, 3, 0.01, steps)
            numbers[f"wine {feats}, {name}: test accuracy"] = float(
                np.mean((B @ p["W"] + p["b"]).argmax(1) == y[test]))
            models[name, feats] = p

    pyplot = plt()
    fig, (ax0, ax1) = pyplot.subplots(1, 2, figsize=(12, 5))
    g = np.linspace(-2.6, 2.6, 200)
    xx, yy = np.meshgrid(g, g)
    f = pb["W"][0, 0] * xx + pb["W"][1, 0] * yy + pb["b"][0]
    ax0.contourf(xx, yy, f, levels=[-99, 0, 99], colors=["tab:green", "tab:purple"], alpha=0.1)
    ax0.contour(xx, yy, f, levels=[-1, 0, 1], colors="k", linestyles=["--", "-", "--"])
    for lab, c, name in ((-1, "tab:green", "versicolor"), (1, "tab:purple", "virginica")):
        m = yb == lab
        ax0.scatter(Xb[m, 0], Xb[m, 1], c=c, s=18, label=name)
    ax0.scatter(Xb[support, 0], Xb[support, 1], s=80, facecolors="none", edgecolors="k",
                lw=0.8, label=f"on/inside margin ({support.sum()})")
    ax0.set(xlabel="petal length (std.)", ylabel="petal width (std.)",
            title="Binary hinge loss: iris", xlim=(-2.6, 2.6), ylim=(-2.6, 2.6))
    ax0.legend(fontsize=8, loc="upper left")

    p = models["Crammer-Singer", "2 PCs"]
    lo, hi = np.vstack([Ptr, Pte]).min(0) - 0.5, np.vstack([Ptr, Pte]).max(0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    scores = np.c_[gx.ravel(), gy.ravel()] @ p["W"] + p["b"]
    top2 = np.sort(scores, axis=1)
    ax1.contourf(gx, gy, scores.argmax(1).reshape(gx.shape), levels=[-0.5, 0.5, 1.5, 2.5],
                 colors=["tab:red", "tab:blue", "tab:orange"], alpha=0.12)
    ax1.contour(gx, gy, (top2[:, 2] - top2[:, 1]).reshape(gx.shape), levels=[1.0],
                colors="k", linestyles="--", linewidths=0.8)
    for c, col in zip(range(3), ["tab:red", "tab:blue", "tab:orange"]):
        ax1.scatter(Ptr[y[train] == c, 0], Ptr[y[train] == c, 1], c=col, s=14, label=f"cultivar {c}")
        ax1.scatter(Pte[y[test] == c, 0], Pte[y[test] == c, 1], c=col, s=30, marker="^",
                    edgecolors="k", lw=0.5)
    acc = numbers["wine 2 PCs, Crammer-Singer: test accuracy"]
    ax1.set(xlabel="PC 1", ylabel="PC 2",
            title=f"Crammer-Singer on wine (triangles: test, accuracy {acc:.2f})")
    ax1.legend(fontsize=8, title="dashed: score gap = 1", title_fontsize=8)
    return {"figures": [save(fig, out, "svm_hinge.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
