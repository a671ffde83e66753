"""Shared plumbing of the gallery scripts: command line, data, plain gradient descent, figures.

Nothing here is fastloss: every loss, gradient and score in the examples comes from
fastloss's public top-level API, and this module only holds what every script would
otherwise repeat (argument parsing, a train/test split, a momentum step, saving a figure).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

# Every call here is small (a few hundred rows), made thousands of times in a loop. On a
# shared 2-core machine a 2-thread parallel kernel then costs 0.2-7 ms per call (the
# OpenMP team waits for a busy core), one thread 20-40 us: measured for quantile_loss on
# 310 rows. `import fastloss` does not import Numba, so this still takes effect when set
# after it; set NUMBA_NUM_THREADS yourself to override.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

NEEDS_SKLEARN = (
    "this example reads a dataset bundled with scikit-learn (nothing is downloaded); "
    "install it with `pip install fastloss[gallery]` (or `pip install scikit-learn`)"
)


def load(name):
    """``sklearn.datasets.load_<name>(return_X_y=True)`` as float64 X and integer y."""
    try:
        from sklearn import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(NEEDS_SKLEARN) from exc
    X, y = getattr(datasets, "load_" + name)(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def split(y, test_fraction, rng, stratify=True):
    """Index arrays (train, test): a random split, stratified by ``y`` by default."""
    y = np.asarray(y)
    if not stratify:
        perm = rng.permutation(len(y))
        k = int(round(test_fraction * len(y)))
        return np.sort(perm[k:]), np.sort(perm[:k])
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def standardize(X_train, *others):
    """Scale every column to mean 0 and std 1 using the training rows only."""
    mu = X_train.mean(axis=0)
    sd = X_train.std(axis=0)
    sd[sd == 0] = 1.0
    return [(X - mu) / sd for X in (X_train, *others)]


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(z):
    return np.exp(log_softmax(z))


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def descend(value_and_grad, params, *, lr, steps, momentum=0.9, callback=None):
    """Heavy-ball gradient descent on a dict of NumPy arrays, in place.

    ``value_and_grad(params) -> (loss, {name: gradient})``; returns the list of losses.
    ``lr`` may be a function of the step number (a schedule).
    """
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    history = []
    for step in range(steps):
        loss, grads = value_and_grad(params)
        history.append(float(loss))
        rate = lr(step) if callable(lr) else lr
        for k, g in grads.items():
            velocity[k] = momentum * velocity[k] - rate * g
            params[k] += velocity[k]
        if callback is not None:
            callback(step, params)
    return history


def linear_grads(X, dz, W, l2=0.0):
    """Chain rule of ``z = X @ W + b`` from ``dz = dL/dz``, with ``l2/2 * |W|^2`` added."""
    return {"W": X.T @ dz + l2 * W, "b": dz.sum(axis=0)}


def plt():
    """matplotlib.pyplot with the non-interactive Agg backend (scripts only write files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def save(fig, out, name):
    """Write ``fig`` to ``out/name`` (PNG, 110 dpi) and close it; return the path."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt().close(fig)
    return path


def run(main, doc):
    """Command line of one example: ``python examples/<script>.py OUT_DIR [--quick]``."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("out", help="folder the figures are written to (created if missing)")
    parser.add_argument("--quick", action="store_true", help="small run for tests (seconds)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    start = time.perf_counter()
    result = main(args.out, quick=args.quick)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        print(format_numbers(result["numbers"]))
        for path in result["figures"]:
            print("wrote", path)
        print(f"({time.perf_counter() - start:.1f} s)")


def format_numbers(numbers):
    """The ``numbers`` dict of a result as aligned ``name: value`` lines."""
    width = max(map(len, numbers), default=0)
    lines = []
    for k, v in numbers.items():
        v = f"{v:.4f}" if isinstance(v, float) else str(v)
        lines.append(f"{k:<{width}}  {v}")
    return "\n".join(lines)
