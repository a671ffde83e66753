"""Regression losses: MSE, L1, Huber, smooth L1, pseudo-Huber, log-cosh, quantile.

Every function takes ``(input, target, *, ..., weight=None, reduction="mean",
return_grad=False, grad_out=None)``:

* ``input`` and ``target``: arrays of the same shape, any layout.  float32 and
  float64 are computed natively (read in place when C-contiguous); other real
  dtypes are converted (integers to float64, float16 to float32).  ``target``
  is converted to ``input``'s float dtype.
* ``weight``: optional, broadcastable to ``input``'s shape; it scales each
  element's loss.  With weights, ``'mean'`` follows the library each loss is
  named after: ``mse_loss``, ``l1_loss`` (as ``torch.nn.functional`` 2.6+)
  and ``quantile_loss`` (as scikit-learn's ``sample_weight``) divide by the
  summed weights, ``sum(w * l) / sum(w)``; ``huber_loss`` (as
  ``torch.nn.functional.huber_loss``), ``smooth_l1_loss``,
  ``pseudo_huber_loss`` and ``log_cosh_loss`` divide by the element count,
  ``sum(w * l) / n``.
* ``reduction``: ``'mean'`` (default), ``'sum'`` or ``'none'``.  Reduced
  losses are NumPy scalars of ``input``'s float dtype; ``'none'`` gives an
  array of ``input``'s shape.  Sums are accumulated in float64, over
  fixed-size chunks combined exactly, so results do not depend on the thread
  count.
* ``return_grad=True`` returns ``(loss, grad)``, ``grad`` the gradient of the
  returned loss with respect to ``input`` (with ``'none'``: the elementwise
  derivative, i.e. the gradient of ``loss.sum()``), computed in the same
  pass.  ``grad_out`` may be a C-contiguous array of ``input``'s shape and
  dtype to write it into (no allocation).
"""
from __future__ import annotations

import numpy as np

from .._core import checks as _checks
from .._core.driver import finish, plain_pair, run, run_plain
from .._core.streaming import streamable

from .._core.consts import HUBER, L1, LOG_COSH, MSE, PSEUDO_HUBER, QUANTILE, SMOOTH_L1

#: Losses whose weighted ``'mean'`` divides by the summed weights, as the
#: library they are named after does: ``torch.nn.functional.mse_loss`` and
#: ``l1_loss`` (``sum(w * l) / sum(w)``) and scikit-learn's
#: ``mean_pinball_loss(sample_weight=...)``.  The others divide by the element
#: count, as ``torch.nn.functional.huber_loss(weight=...)`` does.
_WEIGHTED_AVERAGE = frozenset({MSE, L1, QUANTILE})


def _kernels():
    """The kernel module, imported on first use (importing fastloss must not
    import Numba); then this function rebinds itself to a plain return."""
    global _kernels
    from .._kernels.losses import regression

    _kernels = lambda: regression  # noqa: E731
    return regression


def _prepare(input, target, weight, reduction):
    x = _checks.as_float(input, "input")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    t = _checks.as_operand(target, "target", dtype)  # converted block by block by the driver
    _checks.check_same_shape(x, t, ("input", "target"))
    w = _checks.broadcast_weight(weight, x.shape, dtype)
    _checks.check_reduction(reduction)
    return x, t, w, dtype


def _regression(kind, p, input, target, weight, reduction, return_grad, grad_out, divide_as=None):
    if weight is None and grad_out is None and type(reduction) is str and (reduction == "mean" or reduction == "sum"):
        dtype = plain_pair(input, target)  # the common call: checked in a few attribute reads
        if dtype is not None and (return_grad is False or return_grad is True):
            k = _kernels()
            return run_plain(k, (k.tag(kind), float(p), False), input, target, 1, dtype, reduction, return_grad)
    x, t, w, dtype = _prepare(input, target, weight, reduction)
    return_grad = _checks.check_bool(return_grad, "return_grad")
    _checks.check_grad_out(grad_out, return_grad)
    total, n, out, grad = run(
        _kernels(), (_kernels().tag(kind), float(p), w is not None), (x, t, w), dtype, reduction, return_grad, grad_out,
        count=_divisor(kind if divide_as is None else divide_as, x, w),
    )
    return finish(total, n, reduction, dtype, out, grad, return_grad)


def _divisor(kind, x, w):
    """What ``'mean'`` divides by: the summed weights or the element count.
    (``smooth_l1_loss(beta=0)`` runs the L1 kernel but divides as smooth L1.)"""
    if w is not None and kind in _WEIGHTED_AVERAGE:
        return _checks.weight_total(w)
    return x.size


def _stream(kind, get_param):
    def stream(input, target, weight=None, **options):
        p = get_param(**options)
        x, t, w, dtype = _prepare(input, target, weight, "sum")
        run_kind = L1 if (kind == SMOOTH_L1 and p == 0) else kind  # beta=0 is L1
        total, _, _, _ = run(_kernels(), (_kernels().tag(run_kind), float(p), w is not None), (x, t, w), dtype, "sum", False)
        return total, _divisor(kind, x, w)

    return stream


def _no_options(**options):
    if options:
        raise TypeError(f"unexpected options {sorted(options)}")
    return 0.0


def _delta(delta=1.0):
    return _checks.check_scalar(delta, "delta", low=0.0, low_open=True)


def _beta(beta=1.0):
    return _checks.check_scalar(beta, "beta", low=0.0)


def _quantile(quantile=0.5):
    return _checks.check_scalar(quantile, "quantile", low=0.0, high=1.0, low_open=True, high_open=True)


@streamable(_stream(MSE, _no_options))
def mse_loss(input, target, *, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Mean squared error, :math:`\ell_i = w_i (x_i - y_i)^2`.

    Same as ``torch.nn.functional.mse_loss`` (plus ``weight``) and, for
    ``'mean'`` without weights, scikit-learn's ``mean_squared_error``.
    Weighted ``'mean'`` is :math:`\sum w_i \ell_i / \sum w_i`, as PyTorch's.
    Gradient: :math:`2 w_i (x_i - y_i)`, divided by the ``'mean'`` divisor.  See the module docstring for the common arguments.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.mse_loss(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
    2.5
    """
    return _regression(MSE, 0.0, input, target, weight, reduction, return_grad, grad_out)


@streamable(_stream(L1, _no_options))
def l1_loss(input, target, *, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Mean absolute error, :math:`\ell_i = w_i |x_i - y_i|`.

    Same as ``torch.nn.functional.l1_loss`` (weighted ``'mean'``:
    :math:`\sum w_i \ell_i / \sum w_i`, as PyTorch's) and
    scikit-learn's ``mean_absolute_error``.  Gradient
    :math:`w_i\,\mathrm{sign}(x_i - y_i)`, 0 where :math:`x_i = y_i` (as
    PyTorch).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.l1_loss(np.array([1.0, -3.0]), np.array([0.0, 0.0])))
    2.0
    """
    return _regression(L1, 0.0, input, target, weight, reduction, return_grad, grad_out)


@streamable(_stream(HUBER, _delta))
def huber_loss(input, target, *, delta=1.0, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Huber loss (Huber 1964).

    .. math:: \ell_i = w_i \begin{cases} \tfrac12 d_i^2 & |d_i| \le \delta \\
              \delta(|d_i| - \tfrac12\delta) & \text{otherwise}\end{cases},
              \quad d_i = x_i - y_i

    Same as ``torch.nn.functional.huber_loss``; ``delta`` must be > 0.  With a
    huge ``delta`` it is half the MSE.  Gradient: :math:`d_i` inside the
    quadratic zone, :math:`\delta\,\mathrm{sign}(d_i)` outside.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.huber_loss(np.array([0.5, 3.0]), np.zeros(2), delta=1.0))
    1.3125
    """
    return _regression(HUBER, _delta(delta), input, target, weight, reduction, return_grad, grad_out)


@streamable(_stream(SMOOTH_L1, _beta))
def smooth_l1_loss(input, target, *, beta=1.0, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Smooth L1 loss (Girshick 2015), as ``torch.nn.functional.smooth_l1_loss``.

    .. math:: \ell_i = w_i \begin{cases} \tfrac12 d_i^2/\beta & |d_i| < \beta \\
              |d_i| - \tfrac12\beta & \text{otherwise}\end{cases}

    ``beta`` must be >= 0; ``beta=0`` is the L1 loss.  It equals
    ``huber_loss(delta=beta) / beta`` for ``beta > 0``.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.smooth_l1_loss(np.array([0.5, 3.0]), np.zeros(2)))
    1.3125
    """
    b = _beta(beta)
    if b > 0:
        return _regression(SMOOTH_L1, b, input, target, weight, reduction, return_grad, grad_out)
    return _regression(L1, 0.0, input, target, weight, reduction, return_grad, grad_out, divide_as=SMOOTH_L1)


@streamable(_stream(PSEUDO_HUBER, _delta))
def pseudo_huber_loss(input, target, *, delta=1.0, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Pseudo-Huber loss, :math:`\ell_i = w_i\,\delta^2(\sqrt{1 + (d_i/\delta)^2} - 1)`.

    Elementwise equal to ``scipy.special.pseudo_huber(delta, input - target)``
    (PyTorch has no such loss); ``delta`` must be > 0.  Computed without
    cancellation for small residuals.  Gradient
    :math:`d_i / \sqrt{1 + (d_i/\delta)^2}`.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(float(fastloss.pseudo_huber_loss(np.array([1.0]), np.zeros(1))), 6)
    0.414214
    """
    return _regression(PSEUDO_HUBER, _delta(delta), input, target, weight, reduction, return_grad, grad_out)


@streamable(_stream(LOG_COSH, _no_options))
def log_cosh_loss(input, target, *, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Log-cosh loss, :math:`\ell_i = w_i \log\cosh(x_i - y_i)`.

    As Keras' ``LogCosh`` and optax's ``log_cosh`` (PyTorch has none).
    Computed stably: no overflow for large residuals and full relative
    accuracy for tiny ones.  Gradient :math:`\tanh(d_i)`.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(float(fastloss.log_cosh_loss(np.array([1.0]), np.zeros(1))), 6)
    0.433781
    """
    return _regression(LOG_COSH, 0.0, input, target, weight, reduction, return_grad, grad_out)


@streamable(_stream(QUANTILE, _quantile))
def quantile_loss(input, target, *, quantile=0.5, weight=None, reduction="mean", return_grad=False, grad_out=None):
    r"""Quantile (pinball) loss for predicting the ``quantile``-th quantile.

    .. math:: \ell_i = w_i \max(q u_i, (q - 1) u_i), \quad u_i = y_i - x_i

    ``quantile`` must be in (0, 1).  Unweighted ``'mean'`` equals
    scikit-learn's ``mean_pinball_loss(target, input, alpha=quantile)``
    (with ``weight``, ``'mean'`` divides by the summed weights, as
    scikit-learn's ``sample_weight`` does).  ``quantile=0.5``
    is half the L1 loss.  Gradient :math:`-q` where the target is above the
    prediction, :math:`1-q` below, 0 at equality.

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> float(fastloss.quantile_loss(np.array([0.0, 2.0]), np.array([1.0, 1.0]), quantile=0.9))
    0.5
    """
    return _regression(QUANTILE, _quantile(quantile), input, target, weight, reduction, return_grad, grad_out)


__all__ = [
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "pseudo_huber_loss",
    "log_cosh_loss",
    "quantile_loss",
]
