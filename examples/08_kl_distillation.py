"""KL divergence between predicted and target distributions: distilling a classifier.

Data: scikit-learn's ``load_digits``, 70/30 stratified split. A *teacher* (softmax
regression on the full 8x8 images, trained with :func:`fastloss.cross_entropy`) produces a
probability distribution over the ten digits for every image, softened with temperature T =
2. A *student* that sees only a 4x4 thumbnail (2x2 pixel averages, 16 features) is trained
to match those distributions with :func:`fastloss.kl_div` (``reduction="batchmean"``: the KL
divergence per image, the mathematically meaningful mean; PyTorch's default ``"mean"`` would
divide by the 10 classes as well). ``kl_div`` takes log-probabilities and returns the
gradient with respect to them, so the chain rule through the student's ``log_softmax(z /
T)`` is ``(g - softmax(z / T) * g.sum(1)) / T``. Left: the KL curve on training and test
images, the number that goes to 0 only if the student reproduces the teacher exactly. Right:
teacher and student distributions on a few test images. For comparison, the same student
trained on the hard labels is a little more accurate here: the KL objective makes the
student copy the teacher's distributions, mistakes included, and with the same labelled
images and a student this small the soft targets add little; distillation is meant for a
much stronger teacher, or for images that have no labels.
"""
import numpy as np

import fastloss
from _gallery import descend, linear_grads, load, log_softmax, plt, run, save, softmax, split

T = 2.0


def thumbnails(X):
    return X.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)


def main(out, quick=False):
    rng = np.random.default_rng(0)
    X, y = load("digits")
    X = X / 16.0
    train, test = split(y, 0.3, rng)
    steps = 80 if quick else 400

    def ce_model(A, labels):
        def value_and_grad(p):
            loss, dz = fastloss.cross_entropy(A @ p["W"] + p["b"], labels, return_grad=True)
            return loss, linear_grads(A, dz, p["W"], 1e-3)

        p = {"W": np.zeros((A.shape[1], 10)), "b": np.zeros(10)}
        descend(value_and_grad, p, lr=0.5, steps=steps)
        return p

    teacher = ce_model(X[train], y[train])
    target_tr = softmax((X[train] @ teacher["W"] + teacher["b"]) / T)
    target_te = softmax((X[test] @ teacher["W"] + teacher["b"]) / T)
    Str, Ste = thumbnails(X[train]), thumbnails(X[test])
    test_kl = []

    def distill(p):
        z = Str @ p["W"] + p["b"]
        loss, g = fastloss.kl_div(log_softmax(z / T), target_tr, reduction="batchmean", return_grad=True)
        dz = (g - softmax(z / T) * g.sum(axis=1, keepdims=True)) / T
        test_kl.append(float(fastloss.kl_div(log_softmax((Ste @ p["W"] + p["b"]) / T), target_te,
                                             reduction="batchmean")))
        return loss, linear_grads(Str, dz, p["W"], 1e-3)

    student = {"W": np.zeros((16, 10)), "b": np.zeros(10)}
    train_kl = descend(distill, student, lr=2.0, steps=steps)
    hard = ce_model(Str, y[train])
    zs = Ste @ student["W"] + student["b"]
    numbers = {
        "teacher (64 pixels): test accuracy": float(np.mean(
            (X[test] @ teacher["W"] + teacher["b"]).argmax(1) == y[test])),
        "distilled student (16 pixels): test accuracy": float(np.mean(zs.argmax(1) == y[test])),
        "hard-label student (16 pixels): test accuracy": float(np.mean(
            (Ste @ hard["W"] + hard["b"]).argmax(1) == y[test])),
        "train KL, first step": train_kl[0],
        "train KL, last step": train_kl[-1],
        "test KL, last step": test_kl[-1],
    }

    pyplot = plt()
    fig = pyplot.figure(figsize=(13, 4.5))
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(train_kl, label="train")
    ax.plot(test_kl, label="test")
    ax.set(xlabel="gradient step", ylabel="KL(teacher || student) per image (nats)", yscale="log",
           title=f"Distillation at temperature {T:g}")
    ax.legend()
    student_p = softmax(zs / T)
    for k, i in enumerate(rng.choice(len(test), 4, replace=False)):
        a = fig.add_subplot(2, 4, 3 + k + 2 * (k >= 2))
        a.bar(np.arange(10) - 0.2, target_te[i], 0.4, label="teacher")
        a.bar(np.arange(10) + 0.2, student_p[i], 0.4, label="student")
        a.set(xticks=range(10), yticks=[], title=f"test image: {y[test][i]}")
        a.tick_params(labelsize=7)
        if k == 0:
            a.legend(fontsize=7)
    fig.tight_layout()
    return {"figures": [save(fig, out, "kl_distillation.png")], "numbers": numbers}


if __name__ == "__main__":
    run(main, __doc__)
