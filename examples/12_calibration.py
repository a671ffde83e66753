"""Calibration: reliability diagrams before and after temperature scaling.

Data: scikit-learn's ``load_digits``, split 20/32/48 into training, validation and test
images. A softmax regression trained on :func:`fastloss.cross_entropy` for many steps
without regularisation fits its 359 training images almost perfectly, and its confidence
grows faster than its accuracy: on test images it is over-confident. Temperature scaling
(Guo et al. 2017) divides the logits by one number T fitted on the validation images by
gradient descent on the same cross-entropy: the gradient with respect to the scaled logits
``z / T`` comes from ``cross_entropy(..., return_grad=True)``, and the chain rule gives
``dL/d log T = -sum(g * z) / T``. It does not change any prediction (the arg-max is the
same), only the confidences. The diagrams are :func:`fastloss.plot_reliability_diagram`
(bars: accuracy per confidence bin; dots: each bin's mean confidence against its accuracy,
so their distance from the diagonal is the miscalibration), and
:func:`fastloss.expected_calibration_error` the weighted mean gap.
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, plt, run, save, softmax, split, standardize


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("digits")
    train, rest = split(y, 0.8, rng)
    val, test = split(y[rest], 0.6, rng)
    val, test = rest[val], rest[test]
    Xtr, Xva, Xte = standardize(X[train], X[val], X[test])

    def value_and_grad(p):
        loss, dz = fastloss.cross_entropy(Xtr @ p["W"] + p["b"], y[train], return_grad=True)
        return loss, linear_grads(Xtr, dz, p["W"])

    p = {"W": np.zeros((64, 10)), "b": np.zeros(10)}
    descend(value_and_grad, p, lr=1.0, steps=200 if quick else 1000)
    z_val, z_test = Xva @ p["W"] + p["b"], Xte @ p["W"] + p["b"]

    def temperature_step(q):
        T = np.exp(q["log_t"])
        loss, g = fastloss.cross_entropy(z_val / T, y[val], return_grad=True)
        return loss, {"log_t": np.array(-np.sum(g * z_val) / T)}

    q = {"log_t": np.zeros(())}
    nll_curve = descend(temperature_step, q, lr=0.5, steps=100)
    T = float(np.exp(q["log_t"]))
    before, after = softmax(z_test), softmax(z_test / T)
    numbers = {
        "fitted temperature": T,
        "validation NLL at T=1 / fitted T": f"{nll_curve[0]:.4f} / {nll_curve[-1]:.4f}",
        "test accuracy (unchanged)": float(np.mean(before.argmax(1) == y[test])),
        "test NLL before": float(fastloss.cross_entropy(z_test, y[test])),
        "test NLL after": float(fastloss.cross_entropy(z_test / T, y[test])),
        "test ECE before": float(fastloss.expected_calibration_error(before, y[test], n_bins=10)),
        "test ECE after": float(fastloss.expected_calibration_error(after, y[test], n_bins=10)),
        "test mean confidence before / after": f"{before.max(1).mean():.4f} / {after.max(1).mean():.4f}",
    }

    pyplot = plt()
    fig, (ax0, ax1) = pyplot.subplots(1, 2, figsize=(11, 4.8))
    fastloss.plot_reliability_diagram(before, y[test], n_bins=10, ax=ax0)
    fastloss.plot_reliability_diagram(after, y[test], n_bins=10, ax=ax1)
    ax0.set_title(f"before: {ax0.get_title()}")
    ax1.set_title(f"after T = {T:.2f}: {ax1.get_title()}")
    return {"figures": [save(fig, out, "calibration.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
