"""Huber vs squared error vs absolute error when a few targets are wrong.

Data: scikit-learn's ``load_diabetes`` (442 patients), disease progression one year later
against body-mass index (standardised). To mimic data-entry errors, 30 of the training
patients with below-median BMI get a target 4 standard deviations too high. A straight line
is fitted by gradient descent on each loss, with the fused value+gradient of
:func:`fastloss.mse_loss`, :func:`fastloss.l1_loss` and :func:`fastloss.huber_loss`
(``delta=1`` in target standard deviations); the reference is the least-squares line of the
*uncorrupted* training data. The squared error lets the 30 outliers tilt its line, since
their gradient grows with the residual; Huber's gradient is clipped at ``delta``, so the
outliers pull only as hard as any other point with a residual above ``delta``, and its line
stays close to the clean one, like L1's. The right panel is the explainer's picture: Huber
is quadratic near 0 and linear beyond delta, and its gradient (dashed) is the clipped
residual.
"""
import numpy as np

import fastloss
from _gallery import descend, load, plt, run, save, split

LOSSES = {
    "MSE": lambda z, y: fastloss.mse_loss(z, y, return_grad=True),
    "L1": lambda z, y: fastloss.l1_loss(z, y, return_grad=True),
    "Huber": lambda z, y: fastloss.huber_loss(z, y, delta=1.0, return_grad=True),
}


def fit_line(x, y, loss, steps):
    def value_and_grad(p):
        value, g = loss(p["w"] * x + p["b"], y)  # g = dL/dz, z the predictions
        return value, {"w": np.array(g @ x), "b": np.array(g.sum())}

    params = {"w": np.zeros(()), "b": np.zeros(())}
    history = descend(value_and_grad, params, lr=0.05, steps=steps)
    return float(params["w"]), float(params["b"]), history


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("diabetes")
    x = X[:, 2]  # body-mass index
    train, test = split(y, 0.3, rng, stratify=False)
    mu, sd = x[train].mean(), x[train].std()
    x = (x - mu) / sd
    ym, ys = y[train].mean(), y[train].std()
    y = (y - ym) / ys  # targets in standard deviations, so delta=1 is "one sd"

    y_corrupt = y.copy()
    low = train[x[train] < np.median(x[train])]
    bad = rng.choice(low, size=30, replace=False)
    y_corrupt[bad] = y[bad] + 4.0

    clean_w, clean_b = np.polyfit(x[train], y[train], 1)  # the line without errors
    steps = 150 if quick else 600
    fits = {name: fit_line(x[train], y_corrupt[train], f, steps) for name, f in LOSSES.items()}

    grid = np.linspace(x[test].min(), x[test].max(), 50)
    clean_line = clean_w * grid + clean_b
    numbers = {"clean slope": float(clean_w), "clean intercept": float(clean_b)}
    for name, (w, b, hist) in fits.items():
        gap = np.sqrt(np.mean((w * grid + b - clean_line) ** 2))
        numbers[f"{name} slope"] = w
        numbers[f"{name} intercept"] = b
        numbers[f"{name} gap to clean line"] = float(gap)
        numbers[f"{name} test MAE (sd)"] = float(np.mean(np.abs(w * x[test] + b - y[test])))

    pyplot = plt()
    fig, (ax0, ax1, ax2) = pyplot.subplots(1, 3, figsize=(15, 4.3))
    ok = np.setdiff1d(train, bad)
    ax0.scatter(x[ok], y[ok], s=9, c="0.65", label="training patients")
    ax0.scatter(x[bad], y_corrupt[bad], s=22, c="crimson", marker="x", label="30 corrupted targets")
    ax0.plot(grid, clean_line, "k--", lw=2, label="clean least squares")
    colors = {"MSE": "tab:orange", "L1": "tab:green", "Huber": "tab:blue"}
    for name, (w, b, _) in fits.items():
        ax0.plot(grid, w * grid + b, color=colors[name], lw=2, label=f"{name} fit")
    ax0.set(xlabel="body-mass index (standardised)", ylabel="progression (sd)",
            title="Fitted lines on corrupted data")
    ax0.legend(fontsize=8)

    bins = np.linspace(-3, 3, 31)
    for name, (w, b, _) in fits.items():
        ax1.hist(w * x[test] + b - y[test], bins=bins, histtype="step", lw=2,
                 color=colors[name], label=f"{name}: MAE {numbers[f'{name} test MAE (sd)']:.3f}")
    ax1.axvline(0, color="k", lw=0.8)
    ax1.set(xlabel="residual on clean test patients (sd)", ylabel="patients",
            title="Residuals: MSE's are shifted up")
    ax1.legend(fontsize=8)

    r = np.linspace(-3, 3, 241)
    zero = np.zeros_like(r)
    for name, f in (("MSE", fastloss.mse_loss), ("L1", fastloss.l1_loss), ("Huber", fastloss.huber_loss)):
        value, grad = f(r, zero, reduction="none", return_grad=True)
        ax2.plot(r, value, color=colors[name], lw=2, label=name)
        ax2.plot(r, grad, color=colors[name], lw=1, ls="--")
    ax2.axvspan(-1, 1, color="tab:blue", alpha=0.08, label="|residual| < delta")
    ax2.set(ylim=(-3, 5), xlabel="residual", title="Loss (solid) and gradient (dashed)")
    ax2.legend(fontsize=8)
    return {"figures": [save(fig, out, "huber_outliers.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
