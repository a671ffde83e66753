"""Reference twins of the classification losses: plain float64 NumPy/scipy,
written from the textbook/PyTorch definitions (class-axis loops, scipy's
log_softmax/xlogy/expit), not like the fused kernels."""
import numpy as np
from reference import reduce, twin
from scipy.special import expit, log_softmax, xlogy


def _f(a):
    return np.asarray(a, dtype=np.float64)


def _weighted(values, weight, shape):
    if weight is None:
        return values
    return values * np.broadcast_to(_f(weight), shape)


@twin
def binary_cross_entropy_reference(input, target, *, weight=None, reduction="mean"):
    x, y = _f(input), _f(target)
    with np.errstate(divide="ignore"):
        lx = np.maximum(np.log(x), -100.0)
        l1 = np.maximum(np.log1p(-x), -100.0)
    loss = -(y * lx + (1 - y) * l1)
    return reduce(_weighted(loss, weight, x.shape), reduction)


def _log1pexp(z):
    # log(1 + exp(z)) written directly: exact branches for large |z|.
    return np.where(z > 30, z + np.exp(-z), np.log1p(np.exp(np.minimum(z, 30))))


@twin
def binary_cross_entropy_with_logits_reference(input, target, *, weight=None, pos_weight=None, reduction="mean"):
    x, y = _f(input), _f(target)
    p = np.ones_like(x) if pos_weight is None else np.broadcast_to(_f(pos_weight), x.shape)
    # p y log(1 + e^-x) + (1 - y) log(1 + e^x)
    loss = p * y * _log1pexp(-x) + (1 - y) * _log1pexp(x)
    return reduce(_weighted(loss, weight, x.shape), reduction)


@twin
def sigmoid_focal_loss_reference(inputs, targets, *, alpha=0.25, gamma=2.0, reduction="none"):
    # torchvision.ops.sigmoid_focal_loss, line by line, in float64.
    x, y = _f(inputs), _f(targets)
    p = expit(x)
    ce = y * _log1pexp(-x) + (1 - y) * _log1pexp(x)
    q = expit(-x)  # 1 - p without cancellation
    p_t_c = p * (1 - y) + q * y  # 1 - p_t
    loss = ce * p_t_c**gamma
    if alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return reduce(loss, reduction)


@twin
def kl_div_reference(input, target, *, reduction="mean", log_target=False):
    x, y = _f(input), _f(target)
    loss = np.exp(y) * (y - x) if log_target else xlogy(y, y) - y * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return reduce(loss, reduction)


def _rows(input, target):
    """(N*D, C) log-probability rows and matching flat targets."""
    x = _f(input)
    if x.ndim == 1:
        x = x[None]
        target = np.asarray(target)[None] if np.asarray(target).ndim == 0 else np.asarray(target)[None]
    moved = np.moveaxis(x, 1, -1)
    t = np.asarray(target)
    if t.dtype.kind == "f":
        t = np.moveaxis(t, 1, -1).reshape(-1, x.shape[1])
    else:
        t = t.reshape(-1)
    return moved.reshape(-1, x.shape[1]), t


def _index_reduce(per, wy, reduction, out_shape):
    if reduction == "none":
        return per.reshape(out_shape)
    if reduction == "sum":
        return per.sum()
    return per.sum() / wy.sum() if wy.sum() != 0 else np.nan


def _out_shape(input):
    x = np.asarray(input)
    return (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()


@twin
def nll_loss_reference(input, target, *, weight=None, ignore_index=-100, reduction="mean"):
    rows, t = _rows(input, target)
    C = rows.shape[1]
    w = np.ones(C) if weight is None else _f(weight)
    per = np.zeros(len(t))
    wy = np.zeros(len(t))
    for n in range(len(t)):
        if t[n] != ignore_index:
            wy[n] = w[t[n]]
            per[n] = -w[t[n]] * rows[n, t[n]]
    return _index_reduce(per, wy, reduction, _out_shape(input))


@twin
def cross_entropy_reference(input, target, *, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    rows, t = _rows(input, target)
    C = rows.shape[1]
    logp = log_softmax(rows, axis=1)
    w = np.ones(C) if weight is None else _f(weight)
    eps = label_smoothing
    if t.ndim == 2:  # class probabilities
        tt = (1 - eps) * t + eps / C
        per = -(w * tt * logp).sum(axis=1)
        return reduce(per, reduction).reshape(_out_shape(input)) if reduction == "none" else reduce(per, reduction)
    per = np.zeros(len(t))
    wy = np.zeros(len(t))
    for n in range(len(t)):
        if t[n] == ignore_index:
            continue
        wy[n] = w[t[n]]
        smooth = -sum(w[c] * logp[n, c] for c in range(C)) / C
        per[n] = (1 - eps) * (-w[t[n]] * logp[n, t[n]]) + eps * smooth
    return _index_reduce(per, wy, reduction, _out_shape(input))


@twin
def softmax_focal_loss_reference(input, target, *, gamma=2.0, alpha=None, ignore_index=-100, reduction="mean"):
    rows, t = _rows(input, target)
    C = rows.shape[1]
    logp = log_softmax(rows, axis=1)
    a = np.ones(C) if alpha is None else _f(alpha)
    per = np.zeros(len(t))
    wy = np.zeros(len(t))
    for n in range(len(t)):
        if t[n] == ignore_index:
            continue
        lp = logp[n, t[n]]
        wy[n] = a[t[n]]
        per[n] = -a[t[n]] * (-np.expm1(lp)) ** gamma * lp
    return _index_reduce(per, wy, reduction, _out_shape(input))
