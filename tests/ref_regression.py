"""Reference twins of the regression losses: plain float64 NumPy, one
formula per loss, written from the textbook definitions (not the kernels')."""
import numpy as np
from reference import reduce, twin


def _weighted_average(values, w, weighted, reduction):
    """'mean' as sum(w l) / sum(w) when weighted (torch's mse/l1, sklearn's
    sample_weight); otherwise the plain PyTorch reduction."""
    if reduction == "mean" and weighted:
        return values.sum() / w.sum() if w.sum() != 0 else np.nan
    return reduce(values, reduction)


def _prep(input, target, weight):
    x = np.asarray(input, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    w = np.ones_like(x) if weight is None else np.broadcast_to(np.asarray(weight, dtype=np.float64), x.shape)
    return x, y, w


@twin
def mse_loss_reference(input, target, *, weight=None, reduction="mean"):
    x, y, w = _prep(input, target, weight)
    return _weighted_average(w * (x - y) ** 2, w, weight is not None, reduction)


@twin
def l1_loss_reference(input, target, *, weight=None, reduction="mean"):
    x, y, w = _prep(input, target, weight)
    return _weighted_average(w * np.abs(x - y), w, weight is not None, reduction)


@twin
def huber_loss_reference(input, target, *, delta=1.0, weight=None, reduction="mean"):
    x, y, w = _prep(input, target, weight)
    d = np.abs(x - y)
    loss = np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))
    return reduce(w * loss, reduction)


@twin
def smooth_l1_loss_reference(input, target, *, beta=1.0, weight=None, reduction="mean"):
    x, y, w = _prep(input, target, weight)
    d = np.abs(x - y)
    if beta == 0:
        loss = d
    else:
        loss = np.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta)
    return reduce(w * loss, reduction)


@twin
def pseudo_huber_loss_reference(input, target, *, delta=1.0, weight=None, reduction="mean"):
    from scipy.special import pseudo_huber

    x, y, w = _prep(input, target, weight)
    return reduce(w * pseudo_huber(delta, x - y), reduction)


@twin
def log_cosh_loss_reference(input, target, *, weight=None, reduction="mean"):
    x, y, w = _prep(input, target, weight)
    d = x - y
    # logaddexp(d, -d) - log 2 is exact for large |d|; near 0 it cancels,
    # so there use the Taylor series of log cosh (error < 1e-17 relative).
    small = np.abs(d) < 1e-3
    series = d**2 / 2 - d**4 / 12 + d**6 / 45
    loss = np.where(small, series, np.logaddexp(d, -d) - np.log(2.0))
    return reduce(w * loss, reduction)


@twin
def quantile_loss_reference(input, target, *, quantile=0.5, weight=None, reduction="mean"):
    x, y, w = _prep(input, target, weight)
    u = y - x
    loss = np.maximum(quantile * u, (quantile - 1) * u)
    return _weighted_average(w * loss, w, weight is not None, reduction)
