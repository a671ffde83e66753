"""Imbalanced classes: class weights vs resampling, and evaluating with PR rather than ROC.

Data: scikit-learn's ``load_digits``, 60/40 stratified split; the *training* part is made
long-tailed by keeping ``0.72^c`` of the images of digit c (from 107 zeros down to 6 nines),
the test part stays balanced. Four softmax regressions get the same 300 gradient steps on
:func:`fastloss.cross_entropy`: unweighted; ``weight=`` from :func:`fastloss.class_weights`
``"balanced"`` (``N / (C n_c)``, scikit-learn's rule); ``"effective_number"`` (Cui et al.
2019; with beta = 0.9 the weights grow only for classes of fewer than ~30 images); and
unweighted on a training set *resampled* to equal class sizes (rare images repeated). First
figure: per-class test recall, and the row-normalised confusion matrices
(:func:`fastloss.confusion_matrix`) of the unweighted and balanced models; the unweighted
model sacrifices the rare digits. Second figure, one binary question, "is it a 9?", scored
by the balanced model's P(9): the ROC curve (:func:`fastloss.roc_curve`) is the same whether
nines are 10% of the test images or, by giving every non-nine ``sample_weight`` 10, about
1%; the precision-recall curve (:func:`fastloss.precision_recall_curve`) and average
precision drop, which is what a user of the rare class would see. Last panel: choosing the
threshold by F1 at the 1% prevalence instead of using 0.5.
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, plt, run, save, softmax, split, standardize

RATIO = 0.72


def fit(X, y, weight, steps):
    def value_and_grad(p):
        loss, dz = fastloss.cross_entropy(X @ p["W"] + p["b"], y, weight=weight, return_grad=True)
        return loss, linear_grads(X, dz, p["W"], 1e-3)

    p = {"W": np.zeros((X.shape[1], 10)), "b": np.zeros(10)}
    descend(value_and_grad, p, lr=0.1, steps=steps)
    return p


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("digits")
    train, test = split(y, 0.4, rng)
    keep = np.concatenate([rng.choice(train[y[train] == c], int(round((y[train] == c).sum() * RATIO ** c)),
                                      replace=False) for c in range(10)])
    Xtr, Xte = standardize(X[keep], X[test])
    ytr, yte = y[keep], y[test]
    counts = np.bincount(ytr, minlength=10)
    over = np.concatenate([rng.choice(np.flatnonzero(ytr == c), counts.max()) for c in range(10)])
    steps = 80 if quick else 300
    variants = {
        "unweighted": fit(Xtr, ytr, None, steps),
        "balanced weights": fit(Xtr, ytr, fastloss.class_weights(ytr), steps),
        "effective number": fit(Xtr, ytr, fastloss.class_weights(ytr, method="effective_number",
                                                                  beta=0.9), steps),
        "oversampled": fit(Xtr[over], ytr[over], None, steps),
    }
    numbers = {"training images per digit": " ".join(map(str, counts))}
    recall, cms = {}, {}
    for name, p in variants.items():
        pred = (Xte @ p["W"] + p["b"]).argmax(1)
        _, r, f, _ = fastloss.precision_recall_fscore(yte, pred, average=None, zero_division=0)
        recall[name] = r
        cms[name] = fastloss.confusion_matrix(yte, pred, num_classes=10, normalize="true")
        numbers[f"{name}: accuracy"] = float(np.mean(pred == yte))
        numbers[f"{name}: macro F1"] = float(np.mean(f))
        numbers[f"{name}: recall of 8 and 9"] = f"{r[8]:.3f} {r[9]:.3f}"

    p = variants["balanced weights"]
    score = softmax(Xte @ p["W"] + p["b"])[:, 9]
    is9 = (yte == 9).astype(np.int64)
    rare_w = np.where(is9 == 1, 1.0, 10.0)  # every non-nine counts 10 times: ~1% nines
    curves = {}
    for tag, w in (("10% nines", None), ("~1% nines (weighted)", rare_w)):
        fpr, tpr, _ = fastloss.roc_curve(is9, score, sample_weight=w)
        prec, rec, thr = fastloss.precision_recall_curve(is9, score, sample_weight=w)
        curves[tag] = (fpr, tpr, prec, rec, thr)
        numbers[f"9 vs rest, {tag}: ROC AUC"] = float(fastloss.roc_auc(is9, score, sample_weight=w))
        numbers[f"9 vs rest, {tag}: AP"] = float(fastloss.average_precision(is9, score, sample_weight=w))
    prec, rec, thr = curves["~1% nines (weighted)"][2:]
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)[:-1]
    best = int(np.argmax(f1))
    _, _, f_half, _ = fastloss.precision_recall_fscore(is9, (score >= 0.5).astype(np.int64),
                                                       average="binary", sample_weight=rare_w,
                                                       zero_division=0)
    numbers["~1% nines: F1 at threshold 0.5"] = float(f_half)
    numbers["~1% nines: best-F1 threshold"] = float(thr[best])
    numbers["~1% nines: best F1"] = float(f1[best])

    pyplot = plt()
    fig1, axes = pyplot.subplots(1, 3, figsize=(16, 4.6), gridspec_kw={"width_ratios": [1.4, 1, 1]})
    at = np.arange(10)
    for k, (name, r) in enumerate(recall.items()):
        axes[0].bar(at + (k - 1.5) * 0.2, r, 0.2, label=name)
    twin = axes[0].twinx()
    twin.plot(at, counts, "k.--", label="training images")
    twin.set(ylabel="training images", yscale="log")
    axes[0].set(xticks=at, xlabel="digit", ylabel="test recall", ylim=(0, 1.05),
                title="Per-class recall, long-tailed training set")
    axes[0].legend(fontsize=7, loc="lower left")
    for ax, name in zip(axes[1:], ("unweighted", "balanced weights")):
        ax.imshow(cms[name], cmap="Blues", vmin=0, vmax=1)
        ax.set(xticks=at, yticks=at, xlabel="predicted", ylabel="true",
               title=f"{name} (macro F1 {numbers[f'{name}: macro F1']:.3f})")
    fig1.tight_layout()

    fig2, (a0, a1, a2) = pyplot.subplots(1, 3, figsize=(15, 4.3))
    for tag, (fpr, tpr, prec, rec, _) in curves.items():
        a0.plot(fpr, tpr, lw=2, ls="-" if tag.startswith("10") else "--",
                label=f"{tag}: AUC {numbers[f'9 vs rest, {tag}: ROC AUC']:.3f}")
        a1.step(rec, prec, where="post", lw=2, label=f"{tag}: AP {numbers[f'9 vs rest, {tag}: AP']:.3f}")
    a0.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC: blind to prevalence")
    a1.set(xlabel="recall", ylabel="precision", title="Precision-recall: depends on it")
    a0.legend(fontsize=8), a1.legend(fontsize=8)
    a2.plot(thr, f1, lw=2)
    a2.axvline(0.5, color="0.5", ls=":", label=f"0.5: F1 {f_half:.3f}")
    a2.plot(thr[best], f1[best], "ko", label=f"best: {thr[best]:.2f}, F1 {f1[best]:.3f}")
    a2.set(xlabel="threshold on P(9)", ylabel="F1 at ~1% nines", title="Choosing the threshold")
    a2.legend(fontsize=8)
    return {"figures": [save(fig1, out, "imbalanced_weights.png"), save(fig2, out, "imbalanced_curves.png")],
            "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
