"""Quantile (pinball) regression for prediction intervals.

Data: scikit-learn's ``load_diabetes`` (442 patients, 10 standardised features; the target,
disease progression after a year, in standard deviations), 70/30 split. The pinball loss of
quantile ``q`` charges ``q * r`` for an under-prediction by ``r`` and ``(1 - q) * r`` for an
over-prediction, so its minimiser is the q-th quantile, not the mean. Three linear models
are trained with :func:`fastloss.quantile_loss` for ``q = 0.1, 0.5, 0.9`` (its subgradient
is ``-q`` or ``1 - q`` per sample; a decaying step size settles it). Left: with body-mass
index alone the three lines fan out into an 80% band. Right: with all ten features, the
fraction of *test* patients below each predicted quantile, which should be close to q, and
the coverage of the 10-90% interval, which should be close to 80%.
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, plt, run, save, split, standardize

QUANTILES = (0.1, 0.5, 0.9)


def fit(X, y, q, steps):
    def value_and_grad(p):
        value, dz = fastloss.quantile_loss(X @ p["W"] + p["b"], y, quantile=q, return_grad=True)
        return value, linear_grads(X, dz, p["W"])

    params = {"W": np.zeros(X.shape[1]), "b": np.zeros(())}
    descend(value_and_grad, params, lr=lambda s: 0.2 / (1 + s / 50), steps=steps)
    return params


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("diabetes")
    train, test = split(y, 0.3, rng, stratify=False)
    Xtr, Xte = standardize(X[train], X[test])
    ytr, yte = standardize(y[train, None], y[test, None])
    ytr, yte = ytr[:, 0], yte[:, 0]
    steps = 150 if quick else 800
    numbers = {}
    one = {q: fit(Xtr[:, 2:3], ytr, q, steps) for q in QUANTILES}  # column 2: body-mass index
    full = {q: fit(Xtr, ytr, q, steps) for q in QUANTILES}
    pred = {q: Xte @ p["W"] + p["b"] for q, p in full.items()}
    below = {q: float(np.mean(yte <= pred[q])) for q in QUANTILES}
    for q in QUANTILES:
        numbers[f"q={q}: test fraction below"] = below[q]
        numbers[f"q={q}: test pinball loss"] = float(fastloss.quantile_loss(pred[q], yte, quantile=q))
    numbers["10-90% interval coverage (test)"] = float(np.mean((yte >= pred[0.1]) & (yte <= pred[0.9])))
    numbers["mean interval width (sd)"] = float(np.mean(pred[0.9] - pred[0.1]))
    one_cov = np.mean((yte >= Xte[:, 2] * one[0.1]["W"][0] + one[0.1]["b"])
                      & (yte <= Xte[:, 2] * one[0.9]["W"][0] + one[0.9]["b"]))
    numbers["BMI only: interval coverage (test)"] = float(one_cov)

    pyplot = plt()
    fig, (ax0, ax1) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    g = np.linspace(Xtr[:, 2].min(), Xtr[:, 2].max(), 50)
    lines = {q: g * one[q]["W"][0] + one[q]["b"] for q in QUANTILES}
    ax0.scatter(Xtr[:, 2], ytr, s=8, c="0.7", label="training")
    ax0.scatter(Xte[:, 2], yte, s=12, c="k", label="test")
    ax0.fill_between(g, lines[0.1], lines[0.9], color="tab:blue", alpha=0.2, label="q 0.1 - 0.9")
    ax0.plot(g, lines[0.5], color="tab:blue", lw=2, label="median (q 0.5)")
    ax0.set(xlabel="body-mass index (std.)", ylabel="progression (sd)",
            title=f"Quantile lines from BMI (test coverage {one_cov:.0%})")
    ax0.legend(fontsize=8)
    at = np.arange(3)
    ax1.bar(at, [below[q] for q in QUANTILES], 0.5, label="fraction of test patients below")
    ax1.hlines(QUANTILES, at - 0.3, at + 0.3, colors="crimson", lw=2, zorder=3, label="target q")
    cover = numbers["10-90% interval coverage (test)"]
    ax1.set(xticks=at, xticklabels=[f"q = {q}" for q in QUANTILES], ylim=(0, 1),
            title=f"All 10 features: 10-90% interval covers {cover:.0%} of test")
    ax1.legend(fontsize=8, loc="upper left")
    return {"figures": [save(fig, out, "quantile_intervals.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
