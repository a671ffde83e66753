"""PyTorch adapters: every fastloss loss behind ``torch.autograd`` (CPU tensors).

``import fastloss`` never imports torch; this module does, and fails with a
clear ``ImportError`` when torch is not installed.

* Functions named as ``torch.nn.functional`` (``cross_entropy``,
  ``mse_loss``, ``ctc_loss``, ...) with torch's own signature (read from the
  installed ``torch.nn.functional``, legacy ``size_average``/``reduce``
  included), and ``nn.Module`` classes named as torch's
  (``CrossEntropyLoss``, ``CTCLoss``, ...), which subclass torch's module, so
  ``__init__``, buffers, ``extra_repr`` and ``isinstance`` are torch's.
* :func:`rnnt_loss` / :class:`RNNTLoss`: drop-ins for torchaudio's
  ``rnnt_loss`` / ``RNNTLoss`` (same arguments and defaults, plus
  ``fastemit_lambda``); float64 works (gradcheck), double backward raises.
  (Written before the table below; it can become a row with torchaudio's
  signature.)
* The losses torch does not have (``pseudo_huber_loss``, ``log_cosh_loss``,
  ``quantile_loss``, ``sigmoid_focal_loss``, ``softmax_focal_loss``,
  ``hinge_loss``, ``contrastive_loss``, ``batch_hard_triplet_loss``) keep
  fastloss's signature; their modules are ``PseudoHuberLoss``, ... with the
  options as keyword arguments.

The kernels read the tensors' memory in place (``tensor.numpy()`` views: no
copy for float32/float64, any strides) and compute the loss and its gradient
in one fused pass; ``backward`` only scales the stored gradient by
``grad_output``.  Gradients flow to the first tensor; to the second one too
where it is the same computation (``target`` of the regression losses: minus
the input's gradient; ``input2``/``x2`` of the symmetric embedding losses: a
second fused pass with the two swapped; ``positive`` and ``negative`` of
``triplet_margin_loss``: the same fused pass as the anchor's).  A tensor that
requires a gradient fastloss does not compute (``weight``, ``pos_weight``, ...)
is a ``NotImplementedError`` at the forward call, never a silently detached
tensor.  Second derivatives are not implemented: a double backward
(``create_graph=True``) raises ``RuntimeError`` when the graph is used,
never a wrong number.  bfloat16 tensors are a ``TypeError`` naming the
argument (NumPy has no bfloat16); float16 is computed in float32 and
returned as float16.

CTC gradient convention: the backward is the *true* derivative of the loss
with respect to ``log_probs`` (minus the posterior occupancy).  PyTorch's
native backward returns ``exp(log_probs) - occupancy``, which is only right
when a ``log_softmax`` sits upstream; through a ``log_softmax`` both give the
same gradient with respect to the logits.

Adding a loss is one row of ``_LOSSES`` (see :class:`_Row`).

Examples
--------
>>> import torch, fastloss.torch as ft
>>> x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
>>> loss = ft.cross_entropy(x, torch.tensor([0, 2, 1, 2]))
>>> loss.backward()
>>> torch.allclose(x.grad, torch.autograd.grad(torch.nn.functional.cross_entropy(x, torch.tensor([0, 2, 1, 2])), x)[0])
True
>>> ft.CrossEntropyLoss(label_smoothing=0.1)
CrossEntropyLoss()
>>> lp = torch.randn(6, 2, 4, dtype=torch.float64).log_softmax(-1).requires_grad_()
>>> ft.ctc_loss(lp, torch.tensor([[1, 2], [3, 3]]), [6, 5], [2, 2]).backward()
>>> lp.grad.shape
torch.Size([6, 2, 4])
"""
from __future__ import annotations

try:
    import torch
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fastloss.torch needs PyTorch (pip install torch); the rest of fastloss works without it"
    ) from exc

import inspect
from dataclasses import dataclass

import numpy as np

from . import losses as _losses
from . import speech as _speech
from .speech import rnnt as _rnnt


@dataclass(frozen=True)
class _Row:
    """One loss.  ``name``: the fastloss function (and the
    ``torch.nn.functional`` name when ``module`` is torch's); ``module``: the
    ``nn.Module`` class name; ``torch_named``: signature and module are
    torch's; ``arrays``: how many leading positional arguments are arrays;
    ``second``: how the second array's gradient is obtained (``'neg'``: minus
    the first's, ``'swap'``: a pass with the first two swapped, None: not
    differentiable here); ``axis``: the axis of the gradient that the
    per-sample loss of ``reduction='none'`` lacks (None: same shape);
    ``local``: whether loss ``i`` depends on sample ``i`` only (else
    ``'none'`` can only be backpropagated with a uniform ``grad_output``);
    ``all_grads``: the fastloss function returns the gradients of all its
    ``arrays`` arrays from one pass with ``grad_wrt='all'`` (the triplet)."""

    name: str
    module: str
    torch_named: bool = True
    arrays: int = 2
    second: str | None = None
    axis: int | None = None
    local: bool = True
    all_grads: bool = False


# One row per loss.  Rows for the losses added on other branches, e.g.:
#   _Row("poisson_nll_loss", "PoissonNLLLoss"),
#   _Row("rnnt_loss", "RNNTLoss", torch_named=False, arrays=4, axis=...)  (torchaudio's)
_LOSSES = [
    _Row("mse_loss", "MSELoss", second="neg"),
    _Row("l1_loss", "L1Loss", second="neg"),
    _Row("huber_loss", "HuberLoss", second="neg"),
    _Row("smooth_l1_loss", "SmoothL1Loss", second="neg"),
    _Row("pseudo_huber_loss", "PseudoHuberLoss", torch_named=False, second="neg"),
    _Row("log_cosh_loss", "LogCoshLoss", torch_named=False, second="neg"),
    _Row("quantile_loss", "QuantileLoss", torch_named=False, second="neg"),
    _Row("binary_cross_entropy", "BCELoss"),
    _Row("binary_cross_entropy_with_logits", "BCEWithLogitsLoss"),
    _Row("cross_entropy", "CrossEntropyLoss", axis=1),
    _Row("nll_loss", "NLLLoss", axis=1),
    _Row("kl_div", "KLDivLoss"),
    _Row("sigmoid_focal_loss", "SigmoidFocalLoss", torch_named=False),
    _Row("softmax_focal_loss", "SoftmaxFocalLoss", torch_named=False, axis=1),
    _Row("hinge_loss", "HingeLoss", torch_named=False, axis=1),
    _Row("multi_margin_loss", "MultiMarginLoss", axis=1),
    _Row("contrastive_loss", "ContrastiveLoss", torch_named=False, arrays=3, second="swap", axis=-1),
    _Row("cosine_embedding_loss", "CosineEmbeddingLoss", arrays=3, second="swap", axis=-1),
    _Row("triplet_margin_loss", "TripletMarginLoss", arrays=3, axis=-1, all_grads=True),
    _Row("batch_hard_triplet_loss", "BatchHardTripletLoss", torch_named=False, axis=-1, local=False),
    _Row("ctc_loss", "CTCLoss", arrays=4, axis=None),
    _Row("poisson_nll_loss", "PoissonNLLLoss"),
    _Row("gaussian_nll_loss", "GaussianNLLLoss", arrays=3, second="neg"),
    _Row("margin_ranking_loss", "MarginRankingLoss", arrays=3, second="neg"),
    _Row("soft_margin_loss", "SoftMarginLoss"),
    _Row("hinge_embedding_loss", "HingeEmbeddingLoss"),
    _Row("multilabel_margin_loss", "MultiLabelMarginLoss", axis=1),
    _Row("multilabel_soft_margin_loss", "MultiLabelSoftMarginLoss", axis=1),
]

_NOT_OPTIONS = ("return_grad", "grad_out", "out", "batch_first", "from_logits")


def _fastloss(name):
    return getattr(_losses, name, None) or getattr(_speech, name)


def _np(x, name):
    """A NumPy view of a CPU tensor (no copy), or ``x`` unchanged."""
    if not isinstance(x, torch.Tensor):
        return x
    if x.device.type != "cpu":
        raise TypeError(f"{name} must be a CPU tensor, got a tensor on {x.device}")
    if x.dtype == torch.bfloat16:
        raise TypeError(
            f"{name} is a bfloat16 tensor, which NumPy (and so fastloss) cannot read; "
            f"pass {name}.float() (the gradient then flows back through the conversion)"
        )
    if x.is_complex():
        raise TypeError(f"{name} must be real, got a {x.dtype} tensor")
    return x.detach().resolve_conj().resolve_neg().numpy()


def _reduction_string(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    from torch.nn import _reduction

    return _reduction.legacy_get_string(size_average, reduce)


class _NoDoubleBackward(torch.autograd.Function):
    """Identity on a gradient computed by a fused kernel, linked to the
    loss's inputs and ``grad_output`` so that differentiating it (double
    backward, ``create_graph=True``, Hessian-vector products,
    ``gradgradcheck``) reaches this node and raises, instead of a silently
    wrong (zero) second derivative."""

    @staticmethod
    def forward(ctx, name, g, *linked):
        ctx.name = name
        return g.clone()

    @staticmethod
    def backward(ctx, *_):
        raise RuntimeError(
            f"fastloss.torch.{ctx.name}: second derivatives (double backward, create_graph=True, "
            "Hessian-vector products) are not implemented; use torch.nn.functional for them"
        )


class _LossFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, row, names, options, *tensors):
        fn = _fastloss(row.name)
        arrays = [_np(t, n) for t, n in zip(tensors, names)]
        k = row.arrays
        kw = dict(options)
        kw.update({n: a for n, a in zip(names[k:], arrays[k:])})  # tensor options (weight, ...)
        need = ctx.needs_input_grad[3:]
        for i, n in enumerate(names):
            if need[i] and not (i == 0 or (i == 1 and row.second is not None) or (row.all_grads and i < k)):
                done = names[:k] if row.all_grads else names[:2] if row.second else names[:1]
                raise NotImplementedError(
                    f"fastloss.torch.{row.name}: the gradient with respect to {n} is not implemented "
                    f"(fastloss computes it for {' and '.join(done)}); "
                    f"pass {n}.detach() or use torch.nn.functional"
                )
        want = need[0] or (row.second is not None and len(need) > 1 and need[1]) or (row.all_grads and any(need[:k]))
        grad3 = grad2 = None
        if want and row.all_grads:  # one fused pass gives every array's gradient
            loss, grads = fn(*arrays[:k], **kw, return_grad=True, grad_wrt="all")
            grad, grad2, grad3 = (torch.from_numpy(np.asarray(g)) for g in grads)
        else:
            out = fn(*arrays[:k], **kw, return_grad=bool(want))
            loss, grad = out if want else (out, None)
            if want:
                grad = torch.from_numpy(np.asarray(grad))
        if want and row.second == "swap" and need[1]:
            _, grad2 = fn(arrays[1], arrays[0], *arrays[2:k], **kw, return_grad=True)
            grad2 = torch.from_numpy(np.asarray(grad2))
        ctx.row = row
        ctx.reduction = options.get("reduction", "mean")
        ctx.shapes = [t.shape if isinstance(t, torch.Tensor) else None for t in tensors]
        ctx.dtypes = [t.dtype if isinstance(t, torch.Tensor) else None for t in tensors]
        if want:
            second = tensors[1] if len(tensors) > 1 and isinstance(tensors[1], torch.Tensor) else None
            third = tensors[2] if row.all_grads and isinstance(tensors[2], torch.Tensor) else None
            ctx.save_for_backward(grad, grad2, grad3, tensors[0], second, third)
        return torch.from_numpy(np.asarray(loss)).to(tensors[0].dtype)

    @staticmethod
    def backward(ctx, grad_output):
        grad, grad2, grad3, x0, x1, x2 = ctx.saved_tensors
        row = ctx.row
        go = _expand(row, ctx, grad_output, grad)
        n = len(ctx.dtypes)
        out = [None] * n
        need = ctx.needs_input_grad[3:]
        if need[0]:
            out[0] = (grad * go).to(ctx.dtypes[0])
        if n > 1 and need[1]:
            if row.second == "neg":
                out[1] = (grad * -go).sum_to_size(ctx.shapes[1]).to(ctx.dtypes[1])
            elif row.second == "swap":
                out[1] = (grad2 * _expand(row, ctx, grad_output, grad2)).to(ctx.dtypes[1])
            elif row.all_grads:
                out[1] = (grad2 * go).to(ctx.dtypes[1])
        if row.all_grads and n > 2 and need[2]:
            out[2] = (grad3 * go).to(ctx.dtypes[2])
        if torch.is_grad_enabled():  # create_graph=True: make a second derivative raise
            linked = [t for t in (x0, x1, x2, grad_output) if t is not None and t.requires_grad]
            out = [None if g is None else _NoDoubleBackward.apply(row.name, g, *linked) for g in out]
        return (None, None, None, *out)


def _expand(row, ctx, grad_output, grad):
    """``grad_output`` laid out to multiply the stored gradient."""
    go = grad_output.to(grad.dtype)
    if ctx.reduction != "none" or go.dim() == 0:
        return go
    if not row.local:
        if not bool((go == go.reshape(-1)[0]).all()):
            raise NotImplementedError(
                f"fastloss.torch.{row.name}: with reduction='none' each sample's loss depends on other "
                "samples, so only a uniform grad_output (e.g. loss.sum().backward()) can be backpropagated"
            )
        return go.reshape(-1)[0]
    if row.name == "ctc_loss":  # (T, N, C) gradient, (N,) losses
        return go.reshape(1, -1, 1)
    if go.shape == grad.shape or row.axis is None:
        return go
    return go.unsqueeze(row.axis)


def _split(row, params, arguments):
    """(tensor names, tensors, non-tensor options) from bound arguments."""
    names, tensors, options = [], [], {}
    for i, (p, v) in enumerate(arguments.items()):
        if i < row.arrays:
            names.append(p)
            tensors.append(v)
        elif isinstance(v, torch.Tensor) and row.name != "ctc_loss":
            names.append(p)
            tensors.append(v)
        else:
            options[p] = v
    return names, tensors, options


def _make_function(row):
    fl = _fastloss(row.name)
    if row.torch_named:
        sig = inspect.signature(getattr(torch.nn.functional, row.name))
        peer = f"``torch.nn.functional.{row.name}``"
    else:
        fsig = inspect.signature(fl)
        sig = fsig.replace(parameters=[p for n, p in fsig.parameters.items() if n not in _NOT_OPTIONS],
                           return_annotation=inspect.Signature.empty)
        peer = "none in torch; fastloss's own signature"

    def fn(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        a = dict(bound.arguments)
        if "size_average" in a or "reduce" in a:
            a["reduction"] = _reduction_string(a.pop("size_average", None), a.pop("reduce", None),
                                               a.get("reduction", "mean"))
        first = next(iter(a))
        if not isinstance(a[first], torch.Tensor):
            raise TypeError(f"{first} must be a torch.Tensor, got {type(a[first]).__name__}")
        names, tensors, options = _split(row, sig.parameters, a)
        if row.name == "ctc_loss":
            for n in ("input_lengths", "target_lengths"):
                v = options.get(n, a.get(n))
                if isinstance(v, (list, tuple)):
                    a[n] = np.asarray([int(x) for x in v], dtype=np.int64) if v else np.zeros(0, np.int64)
                else:
                    a[n] = _np(v, n)
            tensors = [a["log_probs"], a["targets"], a["input_lengths"], a["target_lengths"]]
            names = ["log_probs", "targets", "input_lengths", "target_lengths"]
            options = {k: v for k, v in a.items() if k not in names}
            tensors = [t if isinstance(t, torch.Tensor) else torch.from_numpy(np.asarray(t)) for t in tensors]
        return _LossFunction.apply(row, tuple(names), options, *tensors)

    fn.__name__ = fn.__qualname__ = row.name
    fn.__signature__ = sig
    fn.__module__ = __name__
    fn.__doc__ = (
        f"Differentiable :func:`fastloss.{row.name}` on CPU tensors (peer: {peer}).\n\n"
        f"Same arguments and values as :func:`fastloss.{row.name}`; the gradient comes from the fused\n"
        "kernel (see the module docstring for which arguments are differentiable).\n"
    )
    return fn


def _make_module(row, fn):
    sig = inspect.signature(fn)
    skip = ("size_average", "reduce")
    option_names = [n for i, n in enumerate(sig.parameters) if i >= row.arrays and n not in skip]

    def forward(self, *args):
        kw = {n: getattr(self, n) for n in option_names if hasattr(self, n)}
        return fn(*args, **kw)

    if row.torch_named:
        base = getattr(torch.nn, row.module)
        body = {"forward": forward, "__module__": __name__,
                "__doc__": f"Drop-in for ``torch.nn.{row.module}`` backed by :func:`{row.name}` (same constructor)."}
        return type(row.module, (base,), body)

    defaults = {n: sig.parameters[n].default for n in option_names}

    def __init__(self, **options):
        torch.nn.Module.__init__(self)
        unknown = set(options) - set(defaults)
        if unknown:
            raise TypeError(f"{row.module} got unexpected options {sorted(unknown)}; it takes {sorted(defaults)}")
        for n, d in defaults.items():
            setattr(self, n, options.get(n, d))

    def extra_repr(self):
        return ", ".join(f"{n}={getattr(self, n)!r}" for n in defaults)

    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d) for n, d in defaults.items()]
    )
    body = {"__init__": __init__, "forward": forward, "extra_repr": extra_repr, "__module__": __name__,
            "__doc__": f"``nn.Module`` form of :func:`{row.name}` (options as keyword arguments)."}
    return type(row.module, (torch.nn.Module,), body)


__all__ = []
for _row in _LOSSES:
    _fn = _make_function(_row)
    globals()[_row.name] = _fn
    globals()[_row.module] = _make_module(_row, _fn)
    __all__ += [_row.name, _row.module]
del _row, _fn


def _lengths(x, name):
    if isinstance(x, torch.Tensor):
        return _np(x, name)
    if isinstance(x, (list, tuple)):
        return np.asarray([int(v) for v in x], dtype=np.int64)
    return x


__all__ += ["rnnt_loss", "RNNTLoss"]


# --------------------------------------------------------------------------
# RNN-T
# --------------------------------------------------------------------------


class _RNNTFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, targets, logit_lengths, target_lengths, blank, clamp, reduction, fused, lam):
        want = logits.requires_grad
        out = _rnnt.rnnt_loss(
            _np(logits, "logits"), _np(targets, "targets"), logit_lengths, target_lengths, blank=blank,
            clamp=clamp, reduction=reduction, fused_log_softmax=fused, fastemit_lambda=lam, return_grad=want,
        )
        if want:
            loss, grad = out
            ctx.save_for_backward(torch.from_numpy(grad), logits)
        else:
            loss = out
        ctx.reduction = reduction
        ctx.dtype = logits.dtype
        return torch.as_tensor(np.asarray(loss), dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        grad, logits = ctx.saved_tensors
        with torch.no_grad():
            if ctx.reduction == "none":
                g = grad * grad_output.reshape(-1, 1, 1, 1).to(grad.dtype)
            else:
                g = grad * grad_output.to(grad.dtype)
            g = g.to(ctx.dtype)
        if torch.is_grad_enabled():
            # create_graph=True: the stored gradient is a number, not a graph,
            # so a second derivative would be silently zero.  Return it through
            # a node that raises if anything differentiates it; the node
            # also points at ``logits`` so that a second derivative w.r.t.
            # them reaches it (``@once_differentiable`` links it only to
            # grad_output, and does so only when that requires grad).
            g, _ = torch._C._functions.DelayedError(
                b"fastloss.torch.rnnt_loss is differentiable once: its backward returns a stored "
                b"gradient, so a double backward (create_graph=True) is not supported", 2)(
                    g.detach().requires_grad_(True), logits)
        return g, None, None, None, None, None, None, None, None


def rnnt_loss(logits, targets, logit_lengths, target_lengths, blank=-1, clamp=-1.0, reduction="mean",
              fused_log_softmax=True, fastemit_lambda=0.0):
    """Drop-in for ``torchaudio.functional.rnnt_loss`` on CPU tensors.

    Same arguments, defaults and values as torchaudio (``logits`` (B, T, U+1, V),
    ``'mean'`` = batch mean of the per-sample losses, ``clamp`` clips each
    sample's gradient), computed by :func:`fastloss.rnnt_loss` in float64
    from the tensors' memory (no copy for contiguous float32/float64) and
    differentiable once through autograd (double backward raises).  Also
    accepts float64 (torchaudio does not), ``T``/``U+1`` beyond the lengths'
    maxima, and ``fastemit_lambda`` (see :func:`fastloss.rnnt_loss`).

    Examples
    --------
    >>> import torch, fastloss.torch as ft
    >>> x = torch.randn(2, 5, 3, 4, dtype=torch.float64, requires_grad=True)
    >>> loss = ft.rnnt_loss(x, torch.tensor([[1, 2], [2, 0]], dtype=torch.int32),
    ...                     torch.tensor([5, 4]), torch.tensor([2, 1]))
    >>> loss.backward()
    >>> x.grad.shape
    torch.Size([2, 5, 3, 4])
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    return _RNNTFunction.apply(
        logits, targets, _lengths(logit_lengths, "logit_lengths"), _lengths(target_lengths, "target_lengths"),
        int(blank), float(clamp), reduction, bool(fused_log_softmax), float(fastemit_lambda),
    )


class RNNTLoss(torch.nn.Module):
    """Drop-in for ``torchaudio.transforms.RNNTLoss`` backed by :func:`rnnt_loss`.

    ``RNNTLoss(blank=-1, clamp=-1.0, reduction='mean', fused_log_softmax=True, fastemit_lambda=0.0)``;
    call it as ``loss_fn(logits, targets, logit_lengths, target_lengths)``.
    """

    def __init__(self, blank: int = -1, clamp: float = -1.0, reduction: str = "mean",
                 fused_log_softmax: bool = True, fastemit_lambda: float = 0.0):
        super().__init__()
        self.blank = blank
        self.clamp = clamp
        self.reduction = reduction
        self.fused_log_softmax = fused_log_softmax
        self.fastemit_lambda = fastemit_lambda

    def forward(self, logits, targets, logit_lengths, target_lengths):
        return rnnt_loss(logits, targets, logit_lengths, target_lengths, blank=self.blank, clamp=self.clamp,
                         reduction=self.reduction, fused_log_softmax=self.fused_log_softmax,
                         fastemit_lambda=self.fastemit_lambda)

    def extra_repr(self) -> str:
        return (f"blank={self.blank}, clamp={self.clamp}, reduction={self.reduction!r}, "
                f"fused_log_softmax={self.fused_log_softmax}, fastemit_lambda={self.fastemit_lambda}")
