"""Knowing what you don't know: scoring out-of-distribution inputs.

Data: scikit-learn's ``load_digits``. A softmax regression is trained with
:func:`fastloss.cross_entropy` on the digits 0-4 only (70% of them); at test time it sees
the held-out 0-4 (in-distribution) and every 5-9 (out-of-distribution: digits it has never
seen, which share strokes with the ones it knows). Three scores, all "higher = more
in-distribution", are computed from the logits: the maximum softmax probability
(:func:`fastloss.msp_score`, Hendrycks & Gimpel 2017), the negative free energy
``logsumexp`` (:func:`fastloss.energy_score`, Liu et al. 2020) and the negative entropy
(:func:`fastloss.entropy_score`). :func:`fastloss.ood_metrics` gives AUROC (the chance that
a random known digit scores above a random unknown one) and FPR@95 (the fraction of unknown
digits still accepted when 95% of the known ones are). The histograms show the point of the
explainer: the model is often very confident on digits it has never seen, so every score
separates the two groups only partly.
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, plt, run, save, split, standardize

SCORES = {"MSP": fastloss.msp_score, "energy": fastloss.energy_score, "neg. entropy": fastloss.entropy_score}


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("digits")
    known = np.flatnonzero(y < 5)
    train, test = split(y[known], 0.3, rng)
    train, test = known[train], known[test]
    unknown = np.flatnonzero(y >= 5)
    Xtr, Xin, Xout = standardize(X[train], X[test], X[unknown])

    def value_and_grad(p):
        loss, dz = fastloss.cross_entropy(Xtr @ p["W"] + p["b"], y[train], return_grad=True)
        return loss, linear_grads(Xtr, dz, p["W"], 1e-3)

    p = {"W": np.zeros((64, 5)), "b": np.zeros(5)}
    descend(value_and_grad, p, lr=0.1, steps=60 if quick else 300)
    z_in, z_out = Xin @ p["W"] + p["b"], Xout @ p["W"] + p["b"]
    numbers = {"accuracy on held-out 0-4": float(np.mean(z_in.argmax(1) == y[test])),
               "unknown digits with MSP > 0.9": float(np.mean(fastloss.msp_score(z_out) > 0.9))}
    scores = {}
    for name, f in SCORES.items():
        s_in, s_out = f(z_in), f(z_out)
        scores[name] = (s_in, s_out)
        m = fastloss.ood_metrics(s_in, s_out)
        numbers[f"{name}: AUROC"] = float(m["auroc"])
        numbers[f"{name}: FPR@95TPR"] = float(m["fpr_at_95_tpr"])

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(15, 4.2))
    for ax, (name, (s_in, s_out)) in zip(axes, scores.items()):
        bins = np.linspace(min(s_in.min(), s_out.min()), max(s_in.max(), s_out.max()), 40)
        ax.hist(s_in, bins=bins, alpha=0.6, density=True, label="known digits 0-4 (test)")
        ax.hist(s_out, bins=bins, alpha=0.6, density=True, label="unknown digits 5-9")
        ax.set(xlabel=f"{name} score (higher = more in-distribution)", yticks=[],
               title=f"{name}: AUROC {numbers[f'{name}: AUROC']:.3f}, "
                     f"FPR@95 {numbers[f'{name}: FPR@95TPR']:.3f}")
        ax.legend(fontsize=8, loc="upper left")
    return {"figures": [save(fig, out, "ood_digits.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
