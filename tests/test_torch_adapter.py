"""fastloss.torch: drop-in for F.ctc_loss / nn.CTCLoss with the true gradient."""
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
import fastloss.torch as ft  # noqa: E402


def make(rng, T=8, N=3, C=5, S=3, dtype=torch.float64):
    x = torch.tensor(rng.standard_normal((T, N, C)), dtype=dtype)
    tg = torch.tensor(rng.integers(1, C, (N, S)))
    il = torch.tensor(rng.integers(S * 2 + 1, T + 1, N))
    tl = torch.tensor(rng.integers(0, S + 1, N))
    return x, tg, il, tl


def test_import_fastloss_does_not_import_torch():
    code = "import sys, fastloss; assert 'torch' not in sys.modules and 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_gradcheck_normalised_and_unnormalised(rng, reduction):
    x, tg, il, tl = make(rng)
    for inp in (x.log_softmax(-1), x):  # x: unnormalised log-probs
        inp = inp.detach().requires_grad_()
        assert torch.autograd.gradcheck(lambda z: ft.ctc_loss(z, tg, il, tl, reduction=reduction), (inp,))
    # through a log_softmax upstream, with concatenated targets
    cat = torch.cat([tg[n, : tl[n]] for n in range(len(tl))])
    xr = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda z: ft.ctc_loss(z.log_softmax(-1), cat, il, tl, reduction=reduction), (xr,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_matches_torch_through_log_softmax(rng, dtype, reduction):
    x, tg, il, tl = make(rng, T=20, N=4, C=7, S=5, dtype=dtype)
    il[0], tl[0] = 3, 5  # infinite sample
    w = torch.tensor(rng.random(4), dtype=dtype)
    grads, vals = [], []
    for fn in (F.ctc_loss, ft.ctc_loss):
        xr = x.clone().requires_grad_()
        out = fn(xr.log_softmax(-1), tg, il, tl, blank=0, reduction=reduction, zero_infinity=True)
        vals.append(out.detach())
        (out * w).sum().backward() if reduction == "none" else out.backward()
        grads.append(xr.grad)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert vals[1].dtype == dtype
    torch.testing.assert_close(vals[1], vals[0], rtol=tol, atol=tol)
    torch.testing.assert_close(grads[1], grads[0], rtol=10 * tol, atol=10 * tol)


def test_module_unbatched_and_list_lengths(rng):
    x, tg, il, tl = make(rng, N=2)
    lp = x.log_softmax(-1)
    mod = ft.CTCLoss(blank=0, reduction="sum")
    ref = torch.nn.CTCLoss(blank=0, reduction="sum")
    torch.testing.assert_close(mod(lp, tg, il.tolist(), tuple(tl.tolist())), ref(lp, tg, il, tl))
    one = ft.ctc_loss(lp[:, 0], tg[0, : tl[0]], il[0], tl[0], reduction="none")
    torch.testing.assert_close(one, F.ctc_loss(lp[:, 0], tg[0, : tl[0]], il[0], tl[0], reduction="none"))
    with pytest.raises(ValueError, match="sample 1"):
        mod(lp, tg, [8, 9], tl)
