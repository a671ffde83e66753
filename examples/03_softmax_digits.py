"""Softmax regression with cross-entropy (and label smoothing) on handwritten digits.

Data: scikit-learn's ``load_digits`` (1,797 8x8 images of the digits 0-9), pixels scaled to
[0, 1], 70/30 stratified split. A linear softmax classifier is trained by gradient descent
on :func:`fastloss.cross_entropy`, once with hard targets and once with
``label_smoothing=0.1`` (the target puts 0.9 + 0.01 on the true class and 0.01 on each other
one). The returned gradient is with respect to the logits, so the update is ``X.T @ grad``.
Smoothing barely changes the accuracy of a linear model but makes it less sure of itself
(lower mean top probability), which is what it is for. Left: the test confusion matrix
(:func:`fastloss.confusion_matrix`) of the smoothed model; right: how sure each model is of
its predictions.
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, plt, run, save, softmax, split


def train(Xtr, ytr, smoothing, steps):
    def value_and_grad(p):
        z = Xtr @ p["W"] + p["b"]
        loss, dz = fastloss.cross_entropy(z, ytr, label_smoothing=smoothing, return_grad=True)
        return loss, linear_grads(Xtr, dz, p["W"], 1e-4)

    params = {"W": np.zeros((Xtr.shape[1], 10)), "b": np.zeros(10)}
    history = descend(value_and_grad, params, lr=0.5, steps=steps)
    return params, history


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("digits")
    X = X / 16.0
    train_idx, test_idx = split(y, 0.3, rng)
    Xtr, Xte, ytr, yte = X[train_idx], X[test_idx], y[train_idx], y[test_idx]
    steps = 60 if quick else 300
    numbers = {}
    models = {}
    for name, smoothing in (("hard targets", 0.0), ("label smoothing 0.1", 0.1)):
        params, history = train(Xtr, ytr, smoothing, steps)
        z = Xte @ params["W"] + params["b"]
        models[name] = (params, z)
        numbers[f"{name}: test accuracy"] = float(np.mean(z.argmax(1) == yte))
        numbers[f"{name}: test CE"] = float(fastloss.cross_entropy(z, yte))
        numbers[f"{name}: mean top probability"] = float(softmax(z).max(1).mean())

    params, z = models["label smoothing 0.1"]
    cm = fastloss.confusion_matrix(yte, z.argmax(1), num_classes=10)
    pyplot = plt()
    fig, (ax, ax1) = pyplot.subplots(1, 2, figsize=(12, 4.8))
    ax.imshow(cm, cmap="Blues")
    for i in range(10):
        for j in range(10):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title=f"Test confusion matrix (accuracy {numbers['label smoothing 0.1: test accuracy']:.3f})")
    bins = np.linspace(0, 1, 41)
    for name, (_, zz) in models.items():
        top = softmax(zz).max(1)
        ax1.hist(top, bins=bins, histtype="step", lw=2, label=f"{name} (mean {top.mean():.3f})")
    ax1.set(xlabel="probability of the predicted digit", ylabel="test images", yscale="log",
            title="Confidence: the smoothed target is 0.91, not 1")
    ax1.legend(loc="upper left", fontsize=8)
    return {"figures": [save(fig, out, "softmax_digits.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
