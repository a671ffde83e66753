"""Logistic regression with binary cross-entropy, and where to put the threshold.

Data: scikit-learn's ``load_breast_cancer`` (569 tumours, 30 features, 37% malignant),
standardised, 70/30 stratified split; the positive class is *malignant*. A linear model is
trained by gradient descent on :func:`fastloss.binary_cross_entropy_with_logits` (one fused
call gives the mean BCE and its gradient with respect to the logits; the chain rule to the
weights is one matrix product) with a small L2 penalty. Left: the training and test loss per
step. Right: the BCE's probabilities are only a ranking until one picks a threshold;
sweeping it trades precision (:func:`fastloss.precision_recall_fscore`) against recall. The
dot marks the threshold of best F1; a cancer screen would rather go lower, accepting more
false alarms to miss fewer tumours (higher recall).
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, plt, run, save, sigmoid, split, standardize


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("breast_cancer")
    y = 1 - y  # scikit-learn codes malignant as 0; make malignant the positive class
    train, test = split(y, 0.3, rng)
    Xtr, Xte = standardize(X[train], X[test])
    ytr, yte = y[train].astype(np.float64), y[test].astype(np.float64)
    l2 = 1e-2
    test_curve = []

    def value_and_grad(p):
        z = Xtr @ p["W"] + p["b"]
        loss, dz = fastloss.binary_cross_entropy_with_logits(z, ytr, return_grad=True)
        test_curve.append(float(fastloss.binary_cross_entropy_with_logits(Xte @ p["W"] + p["b"], yte)))
        return loss + 0.5 * l2 * p["W"] @ p["W"], linear_grads(Xtr, dz, p["W"], l2)

    params = {"W": np.zeros(X.shape[1]), "b": np.zeros(())}
    train_curve = descend(value_and_grad, params, lr=0.1, steps=60 if quick else 300)

    prob = sigmoid(Xte @ params["W"] + params["b"])
    thresholds = np.linspace(0.02, 0.98, 49)
    prec, rec, f1 = [], [], []
    for t in thresholds:
        p, r, f, _ = fastloss.precision_recall_fscore(yte.astype(int), (prob >= t).astype(int),
                                                      average="binary", zero_division=0)
        prec.append(p), rec.append(r), f1.append(f)
    best = int(np.argmax(f1))
    p50, r50, f50, _ = fastloss.precision_recall_fscore(yte.astype(int), (prob >= 0.5).astype(int),
                                                        average="binary", zero_division=0)
    numbers = {
        "final train BCE": train_curve[-1],
        "final test BCE": test_curve[-1],
        "test accuracy @0.5": float(np.mean((prob >= 0.5) == yte)),
        "test ROC AUC": float(fastloss.roc_auc(yte.astype(int), prob)),
        "precision @0.5": float(p50),
        "recall @0.5": float(r50),
        "F1 @0.5": float(f50),
        "best-F1 threshold": float(thresholds[best]),
        "best F1": float(f1[best]),
    }

    pyplot = plt()
    fig, (ax0, ax1) = pyplot.subplots(1, 2, figsize=(11, 4.2))
    ax0.plot(train_curve, label="train")
    ax0.plot(test_curve, label="test")
    ax0.set(xlabel="gradient step", ylabel="mean BCE", yscale="log", title="Binary cross-entropy")
    ax0.legend()
    ax1.plot(thresholds, prec, label="precision")
    ax1.plot(thresholds, rec, label="recall")
    ax1.plot(thresholds, f1, label="F1", lw=2)
    ax1.plot(thresholds[best], f1[best], "ko")
    ax1.axvline(0.5, color="0.5", ls=":")
    ax1.set(xlabel="threshold on P(malignant)", ylim=(0.5, 1.01),
            title="Threshold sweep on the test set")
    ax1.legend(loc="lower center")
    return {"figures": [save(fig, out, "logistic_bce.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
