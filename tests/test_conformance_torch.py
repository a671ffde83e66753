"""PyTorch's own loss test cases, run against fastloss.torch (issue 12).

``torch.testing._internal.common_nn`` holds the inputs, module constructors
and float64 reference functions of torch's loss tests.  Each case runs twice
on the same inputs: once as torch runs it, once with every
``torch.nn.functional`` loss that fastloss.torch has replaced by fastloss's
(torch's modules call ``F.<loss>``, so the module cases are routed too; the
shim renames, nothing else).  Values must agree with torch's run and with
torch's reference function, gradients with torch's.  A case that calls no
replaced function is not collected (fastloss lacks that loss); the ones
fastloss refuses are listed in ``conformance.TORCH_UNSUPPORTED`` with the
reason (documented in docs/fidelity.md).
"""
import contextlib

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # torch.testing._internal needs it
cn = pytest.importorskip("torch.testing._internal.common_nn")
F = torch.nn.functional
import conformance  # noqa: E402
import fastloss.torch as ft  # noqa: E402

NAMES = [row.name for row in ft._LOSSES if row.torch_named]


def _cases():
    new = [t for t in cn.get_new_module_tests() if "Loss" in (t.get("fullname") or t.get("module_name") or "")]
    out = {}
    for t in cn.criterion_tests + new:
        name = t.get("fullname") or f"{t['module_name']}_{t.get('desc', '')}"
        out[name] = t
    return out


CASES = _cases()


@contextlib.contextmanager
def _routed(calls):
    saved = {n: getattr(F, n) for n in NAMES}

    def counted(n):
        def fn(*a, **k):
            calls.append(n)
            return getattr(ft, n)(*a, **k)
        return fn

    try:
        for n in NAMES:
            setattr(F, n, counted(n))
        yield
    finally:
        for n, f in saved.items():
            setattr(F, n, f)


def _run(t, routed):
    """(output, input gradient) of one case on fresh, seeded inputs."""
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(t.get("default_dtype", torch.float64))
    try:
        m = t["constructor"](*t.get("constructor_args", ()))
        x = t["input_fn"]() if "input_fn" in t else t["input"] if "input" in t else torch.randn(t["input_size"])
        has_target = "target_fn" in t or "target_size" in t
        y = (t["target_fn"]() if "target_fn" in t else torch.randn(t["target_size"])) if has_target else None
    finally:
        torch.set_default_dtype(old)
    xs = list(x) if isinstance(x, (tuple, list)) else [x]  # e.g. (input1, input2) of the pair losses
    xs = [v.double() if v.is_floating_point() and v.dtype == torch.float32 else v for v in xs]
    # gradient with respect to the first input (what fastloss's kernels give)
    xs[0] = xs[0].detach().requires_grad_(xs[0].is_floating_point())
    calls = []
    with _routed(calls) if routed else contextlib.nullcontext():
        out = m(*xs, y) if has_target else m(*xs)
        grad = None
        if xs[0].requires_grad:
            w = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
            (grad,) = torch.autograd.grad((out * w).sum(), xs[0])
    return m, (xs[0] if len(xs) == 1 else tuple(v.detach() for v in xs)), y, out.detach(), grad, calls


IDS = sorted(CASES)


@pytest.mark.parametrize("case", IDS)
def test_torch_case(case):
    t = CASES[case]
    reason = conformance.TORCH_UNSUPPORTED.get(case)
    ref_m, x, y, ref, ref_grad, _ = _run(t, False)
    try:
        m, x2, y2, got, grad, calls = _run(t, True)
    except (TypeError, ValueError, NotImplementedError) as exc:
        if reason is None:
            raise
        pytest.xfail(f"{reason} ({type(exc).__name__}: {exc})")
    if not calls:
        pytest.skip("no fastloss function on this path (fastloss lacks this loss)")
    assert reason is None, f"{case} is listed as unsupported ({reason}) but now runs: update tests/conformance.py"
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    if grad is not None or ref_grad is not None:
        torch.testing.assert_close(grad, ref_grad, rtol=1e-9, atol=1e-11)
    fn = t.get("reference_fn")
    if fn is not None and y is not None:
        expected = fn(x.detach() if isinstance(x, torch.Tensor) else x, y, ref_m)
        torch.testing.assert_close(got, torch.as_tensor(expected, dtype=got.dtype), rtol=1e-7, atol=1e-9)


REF = cn.loss_reference_fns


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none", "ignore_index": 2},
                                {"label_smoothing": 0.2, "weight": True}])
def test_cross_entropy_reference(kw):
    torch.manual_seed(0)
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 2, 3, 1, 2, 0])
    kw = {**kw, "weight": torch.rand(4, dtype=torch.float64)} if kw.get("weight") else kw
    torch.testing.assert_close(ft.cross_entropy(x, y, **kw), REF["CrossEntropyLoss"](x, y, **kw), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_reference(reduction):
    torch.manual_seed(0)
    lp = torch.randn(12, 3, 5, dtype=torch.float64).log_softmax(-1)
    tg, il, tl = torch.tensor([[1, 2, 2, 3], [4, 4, 1, 0], [2, 3, 0, 0]]), torch.tensor([12, 10, 7]), torch.tensor([4, 3, 2])
    torch.testing.assert_close(ft.ctc_loss(lp, tg, il, tl, reduction=reduction),
                               REF["CTCLoss"](lp, tg, il, tl, reduction=reduction), rtol=1e-10, atol=1e-12)
