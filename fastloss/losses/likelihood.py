"""Likelihood losses: Poisson and Gaussian negative log-likelihood
(``torch.nn.functional.poisson_nll_loss`` / ``gaussian_nll_loss`` semantics).

Common arguments as the regression losses: ``reduction`` in ``'mean'``
(default), ``'sum'``, ``'none'``; reduced losses are NumPy scalars of the
input's float dtype (float32/float64 computed natively, other real dtypes
converted), accumulated in float64 over fixed chunks combined exactly
(thread-count independent); ``return_grad=True`` returns ``(loss, grad)``
with ``grad`` the gradient of the returned loss w.r.t. ``input``, computed in
the same pass; ``grad_out`` may be a C-contiguous buffer of ``input``'s shape
and dtype to write it into.
"""
from __future__ import annotations

import numpy as np

from .._core import checks as _checks
from .._core.driver import finish, run
from .._core.streaming import sum_stream as _sum_stream


def _kernels():
    # Imported on first use: importing fastloss must not import Numba.
    from .._kernels.losses import likelihood

    return likelihood

def _pair(input, target):
    x = _checks.as_float(input, "input")
    dtype = np.dtype(x.dtype.type).newbyteorder("=")
    t = _checks.as_float(target, "target", dtype)
    return x, t, dtype


@_sum_stream("size")
def poisson_nll_loss(input, target, *, log_input=True, full=False, eps=1e-8, reduction="mean", return_grad=False,
                     grad_out=None):
    r"""Poisson negative log-likelihood of counts ``target`` given rates.

    ``log_input=True``: :math:`\ell = e^{x} - y x` (``input`` is the log
    rate); ``log_input=False``: :math:`\ell = x - y \log(x + \epsilon)`.
    ``full=True`` adds Stirling's approximation of :math:`\log y!`,
    :math:`y \log y - y + \tfrac12 \log(2 \pi y)`, where :math:`y > 1`.

    Parameters
    ----------
    input : array of any shape
        Log rates (``log_input=True``) or rates.
    target : array of ``input``'s shape
        Counts (any real value is accepted, as torch).
    log_input, full : bool
    eps : float
        Added to the rate inside the log when ``log_input=False``.
    reduction, return_grad, grad_out
        See the module docstring.  Gradient: :math:`e^x - y` or
        :math:`1 - y / (x + \epsilon)`.

    Returns
    -------
    scalar, or array of ``input``'s shape (``'none'``); with ``return_grad``
    ``(loss, grad)``.

    Notes
    -----
    Same as ``torch.nn.functional.poisson_nll_loss`` (shapes must match
    exactly: no broadcasting).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(float(fastloss.poisson_nll_loss(np.array([0.0, 1.0]), np.array([1.0, 2.0]))), 6)
    0.859141
    """
    x, t, dtype = _pair(input, target)
    _checks.check_same_shape(x, t, ("input", "target"))
    log_input = _checks.check_bool(log_input, "log_input")
    full = _checks.check_bool(full, "full")
    eps = _checks.check_scalar(eps, "eps", low=0.0)
    _checks.check_reduction(reduction)
    return_grad = _checks.check_bool(return_grad, "return_grad")
    k = _kernels()
    kind = k.POISSON_LOG if log_input else k.POISSON
    total, n, out, grad = run(k, (k.tag(kind), float(eps), full, False), (x, t, None), dtype, reduction, return_grad,
                              grad_out)
    return finish(total, n, reduction, dtype, out, grad, return_grad)


def _variance(var, x, dtype):
    v = _checks.as_float(var, "var", dtype)
    shape = x.shape
    if v.shape != shape:
        if v.shape == shape[:-1]:  # torch: one variance per row, last dimension missing
            v = v[..., None]
        elif not (v.ndim == x.ndim and v.ndim and v.shape[:-1] == shape[:-1] and v.shape[-1] == 1):
            raise ValueError(f"var is of incorrect size: input has shape {shape}, var has shape {v.shape}")
    if v.size and np.any(v < 0):
        bad = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero((v < 0).ravel())[0]), v.shape))
        raise ValueError(f"var has negative entry/entries (e.g. {v[bad]} at position {bad})")
    return np.broadcast_to(v, shape)


@_sum_stream("size")
def gaussian_nll_loss(input, target, var, *, full=False, eps=1e-6, reduction="mean", return_grad=False, grad_out=None):
    r"""Gaussian negative log-likelihood of ``target`` under
    :math:`\mathcal N(\text{input}, \text{var})`.

    :math:`\ell = \tfrac12 (\log \max(v, \epsilon) + (x - y)^2 / \max(v, \epsilon))`,
    plus :math:`\tfrac12 \log 2\pi` with ``full=True``.

    Parameters
    ----------
    input : array of shape (*, D)
        Predicted means.
    target : array of ``input``'s shape
    var : array
        Variances: ``input``'s shape, or ``input``'s shape without its last
        dimension, or with last dimension 1 (one variance per row), as torch.
        Negative entries are a ``ValueError``.
    full : bool
    eps : float > 0
        Variances are clamped at ``eps`` (as torch, which clamps a copy).
    reduction, return_grad, grad_out
        See the module docstring.  The gradient is w.r.t. ``input``:
        :math:`(x - y) / \max(v, \epsilon)`.

    Returns
    -------
    scalar, or array of ``input``'s shape (``'none'``); with ``return_grad``
    ``(loss, grad)``.

    Notes
    -----
    Same as ``torch.nn.functional.gaussian_nll_loss`` (``'mean'`` averages
    over all elements of ``input``).

    Examples
    --------
    >>> import numpy as np, fastloss
    >>> round(float(fastloss.gaussian_nll_loss(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([1.0, 2.0]))), 6)
    0.423287
    """
    x, t, dtype = _pair(input, target)
    _checks.check_same_shape(x, t, ("input", "target"))
    v = _variance(var, x, dtype)
    full = _checks.check_bool(full, "full")
    eps = _checks.check_scalar(eps, "eps", low=0.0)
    _checks.check_reduction(reduction)
    return_grad = _checks.check_bool(return_grad, "return_grad")
    k = _kernels()
    total, n, out, grad = run(k, (k.tag(k.GAUSSIAN), float(eps), full, True), (x, t, v), dtype, reduction, return_grad,
                              grad_out)
    return finish(total, n, reduction, dtype, out, grad, return_grad)


__all__ = ["poisson_nll_loss", "gaussian_nll_loss"]
