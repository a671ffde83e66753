"""Focal loss vs class-weighted BCE vs plain BCE when positives are 1% of the data.

Data: scikit-learn's ``load_digits``; the task is "is this an 8?" (the digit a linear model
confuses most). A stratified half of the images is the test set (its natural ~10% of eights,
so that there are enough positives to measure); from the other half all non-eights are kept
but only 1% of the training set are eights (8 images). Three linear models get the same
budget of 200 gradient steps: plain :func:`fastloss.binary_cross_entropy_with_logits`; the
same with ``pos_weight = n_negative / n_positive`` (each positive counts as much as all the
negatives together); and :func:`fastloss.sigmoid_focal_loss` with ``gamma=2`` and
``alpha=0.75`` (``alpha`` weights the positive class: torchvision's default 0.25 would
weight the negatives), which shrinks the loss of the easy, well-classified negatives by ``(1
- p_t)^gamma``. With plain BCE the gradient is dominated by the 99% negatives, so in the
same number of steps it learns the eights more slowly: lower average precision
(:func:`fastloss.average_precision`), and at the default threshold 0.5 it finds few of them
(a low F1). The numbers are means over 5 random draws of the 8 training eights; the curves
are from the first draw.
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, plt, run, save, split

DIGIT = 8


def losses(y):
    pos_weight = np.array((1 - y).sum() / y.sum())
    return {
        "plain BCE": (lambda z: fastloss.binary_cross_entropy_with_logits(z, y, return_grad=True), 0.5),
        "weighted BCE": (lambda z: fastloss.binary_cross_entropy_with_logits(
            z, y, pos_weight=pos_weight, return_grad=True), 0.5),
        # the focal loss is ~(1-p_t)^2 times smaller: a larger step keeps the budgets comparable
        "focal (gamma 2, alpha 0.75)": (lambda z: fastloss.sigmoid_focal_loss(
            z, y, alpha=0.75, gamma=2.0, reduction="mean", return_grad=True), 2.0),
    }


def main(out, quick=False):
    X, y = load("digits")
    X = X / 16.0
    draws = 2 if quick else 5
    steps = 100 if quick else 200
    ap, f1, curves = {}, {}, {}
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        train, test = split(y, 0.5, rng)
        pos, neg = train[y[train] == DIGIT], train[y[train] != DIGIT]
        n_pos = int(round(0.01 * len(neg) / 0.99))
        train = np.sort(np.r_[neg, rng.choice(pos, n_pos, replace=False)])
        Xtr, ytr = X[train], (y[train] == DIGIT).astype(np.float64)
        Xte, yte = X[test], (y[test] == DIGIT).astype(np.int64)
        for name, (loss, lr) in losses(ytr).items():
            def value_and_grad(p, loss=loss):
                value, dz = loss(Xtr @ p["W"] + p["b"])
                return value, linear_grads(Xtr, dz, p["W"], 1e-4)

            params = {"W": np.zeros(X.shape[1]), "b": np.zeros(())}
            descend(value_and_grad, params, lr=lr, steps=steps)
            score = Xte @ params["W"] + params["b"]
            ap.setdefault(name, []).append(fastloss.average_precision(yte, score))
            _, _, f, _ = fastloss.precision_recall_fscore(yte, (score > 0).astype(np.int64),
                                                          average="binary", zero_division=0)
            f1.setdefault(name, []).append(float(f))
            if seed == 0:
                curves[name] = fastloss.precision_recall_curve(yte, score)[:2]
    numbers = {"training eights per draw": n_pos, "test eights": int(yte.sum()),
               "test images": len(yte)}
    for name in ap:
        numbers[f"{name}: mean AP"] = float(np.mean(ap[name]))
        numbers[f"{name}: mean F1 @0.5"] = float(np.mean(f1[name]))

    pyplot = plt()
    fig, (ax0, ax1) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    for name, (precision, recall) in curves.items():
        ax0.step(recall, precision, where="post", lw=2, label=f"{name} (AP {ap[name][0]:.3f})")
    ax0.axhline(yte.mean(), color="0.5", ls=":", label="chance (prevalence)")
    ax0.set(xlabel="recall", ylabel="precision", title="Precision-recall on the test set (draw 1)")
    ax0.legend(fontsize=8, loc="lower left")
    names = list(ap)
    at = np.arange(len(names))
    ax1.bar(at - 0.2, [np.mean(ap[n]) for n in names], 0.4, label="average precision")
    ax1.bar(at + 0.2, [np.mean(f1[n]) for n in names], 0.4, label="F1 at threshold 0.5")
    for k, n in enumerate(names):
        ax1.plot(np.full(draws, k - 0.2), ap[n], "k.", ms=4)
        ax1.plot(np.full(draws, k + 0.2), f1[n], "k.", ms=4)
    ax1.set(xticks=at, ylim=(0, 1), title=f"Means over {draws} draws of the 1% training eights")
    ax1.set_xticklabels(names, fontsize=8)
    ax1.legend(fontsize=8)
    return {"figures": [save(fig, out, "focal_rare_class.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
