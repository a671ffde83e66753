"""Reference twins of the RNN-T loss, written unlike the kernels:

* :func:`rnnt_enumerate`: lists every alignment of one sample (each is a
  sequence of T blanks and U labels ending with a blank), sums their
  probabilities and differentiates by counting transitions (tiny lattices).
* :func:`rnnt_loss_reference`: the forward-backward recursion in
  *probability* space (products and sums, no logs), float64, one sample at a
  time, with the gradient from alpha * beta products; log-softmax and its
  chain rule done explicitly in NumPy.
"""
import itertools

import numpy as np
from reference import reduce, twin


def log_softmax(x, axis=-1):
    m = x.max(axis, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis, keepdims=True)))


def alignments(T, U):
    """Every alignment as a list of (t, u, is_blank) transitions."""
    out = []
    for emits in itertools.combinations(range(T + U - 1), U):
        t = u = 0
        path = []
        for step in range(T + U):
            if step in emits:
                path.append((t, u, False))
                u += 1
            else:
                path.append((t, u, True))
                t += 1
        out.append(path)
    return out


def rnnt_enumerate(lp, target, blank, fastemit_lambda=0.0):
    """(loss, d loss / d lp) for one sample's (T, U+1, V) log-probabilities.

    The loss is ``-log P - lam * sum_{t,u} e(t,u) lp[t, u, y_{u+1}]`` with the
    emit posteriors ``e`` held fixed (the documented FastEmit objective).
    """
    lp = np.asarray(lp, dtype=np.float64)
    T, _, V = lp.shape
    U = len(target)
    grad = np.zeros_like(lp)
    if T == 0:
        return np.inf, grad
    probs = []
    paths = alignments(T, U)
    for path in paths:
        s = 0.0
        for t, u, is_blank in path:
            s += lp[t, u, blank if is_blank else target[u]]
        probs.append(np.exp(s))
    P = float(np.sum(probs))
    if P == 0.0:
        return np.inf, grad
    emit_post = np.zeros((T, U + 1))
    for p, path in zip(probs, paths):
        for t, u, is_blank in path:
            v = blank if is_blank else target[u]
            grad[t, u, v] -= p / P
            if not is_blank:
                emit_post[t, u] += p / P
    fe = sum(emit_post[t, u] * lp[t, u, target[u]] for t in range(T) for u in range(U) if emit_post[t, u] > 0)
    for t in range(T):
        for u in range(U):
            grad[t, u, target[u]] -= fastemit_lambda * emit_post[t, u]
    return -np.log(P) - fastemit_lambda * fe, grad


def _one(lp, target, blank, lam):
    """Probability-space forward-backward of one sample: (loss, grad w.r.t. lp)."""
    T, U1, V = lp.shape
    U = len(target)
    grad = np.zeros_like(lp)
    if T == 0:
        return np.inf, grad
    pb = np.exp(lp[:, : U + 1, blank])
    pe = np.array([[np.exp(lp[t, u, target[u]]) for u in range(U)] for t in range(T)]).reshape(T, U)
    alpha = np.zeros((T, U + 1))
    alpha[0, 0] = 1.0
    for t in range(T):
        for u in range(U + 1):
            if t == 0 and u == 0:
                continue
            a = 0.0
            if t > 0:
                a += alpha[t - 1, u] * pb[t - 1, u]
            if u > 0:
                a += alpha[t, u - 1] * pe[t, u - 1]
            alpha[t, u] = a
    P = alpha[T - 1, U] * pb[T - 1, U]
    beta = np.zeros((T + 1, U + 2))  # beta[t, u]: probability of finishing from node (t, u)
    beta[T, U] = 1.0  # past the final blank
    for t in range(T - 1, -1, -1):
        for u in range(U, -1, -1):
            b = pb[t, u] * (beta[t + 1, u] if (t + 1 < T or u == U) else 0.0)
            if u < U:
                b += pe[t, u] * beta[t, u + 1]
            beta[t, u] = b
    assert P > 1e-250 or P == 0.0, "probability underflow: use a smaller case"
    if P == 0.0:
        return np.inf, grad
    fe = 0.0
    for t in range(T):
        for u in range(U + 1):
            nxt = beta[t + 1, u] if (t + 1 < T or u == U) else 0.0
            grad[t, u, blank] -= alpha[t, u] * pb[t, u] * nxt / P
            if u < U:
                e = alpha[t, u] * pe[t, u] * beta[t, u + 1] / P
                grad[t, u, target[u]] -= (1.0 + lam) * e
                if e > 0:
                    fe += e * lp[t, u, target[u]]
    return -np.log(P) - lam * fe, grad


@twin
def rnnt_loss_reference(logits, targets, logit_lengths, target_lengths, *, blank=-1, clamp=-1.0,
                        reduction="mean", fused_log_softmax=True, fastemit_lambda=0.0, return_grad=False):
    """torchaudio's documented semantics; gradient w.r.t. the array passed."""
    x = np.asarray(logits, dtype=np.float64)
    B, T, U1, V = x.shape
    blank = blank % V
    il = np.asarray(logit_lengths).astype(int)
    tl = np.asarray(target_lengths).astype(int)
    tg = np.asarray(targets)
    lp = log_softmax(x) if fused_log_softmax else x
    losses = np.zeros(B)
    grad = np.zeros_like(x)
    for b in range(B):
        target = [int(v) for v in tg[b, : tl[b]]]
        loss, g = _one(lp[b, : il[b], : tl[b] + 1], target, blank, fastemit_lambda)
        losses[b] = loss
        if np.isinf(loss):
            continue
        if fused_log_softmax:
            sm = np.exp(lp[b, : il[b], : tl[b] + 1])
            g = g - sm * g.sum(-1, keepdims=True)
        if clamp > 0:
            g = np.clip(g, -clamp, clamp)
        grad[b, : il[b], : tl[b] + 1] = g
    value = reduce(losses, reduction)
    if reduction == "mean":
        grad /= B
    return (value, grad) if return_grad else value


def rnnt_logz_diagonal(lpb, lpe):
    """log P(y|x) of one sample by anti-diagonals in log space (NumPy, float64).

    ``lpb`` (T, U+1) blank log-probs, ``lpe`` (T, U) label log-probs.  A
    second, vectorised reference for lattices too long for probability space
    (T=1000, U=200): cells with t + u = d depend only on diagonal d - 1.
    """
    T, U1 = lpb.shape
    alpha = np.full((T, U1), -np.inf)
    alpha[0, 0] = 0.0
    for d in range(1, T + U1 - 1):
        t = np.arange(max(0, d - U1 + 1), min(T - 1, d) + 1)
        u = d - t
        from_t = np.where(t > 0, alpha[np.maximum(t - 1, 0), u] + lpb[np.maximum(t - 1, 0), u], -np.inf)
        um = np.maximum(u - 1, 0)
        from_u = np.where(u > 0, alpha[t, um] + lpe[t, np.minimum(um, U1 - 2)] if U1 > 1 else -np.inf, -np.inf)
        alpha[t, u] = np.logaddexp(from_t, from_u)
    return alpha[T - 1, U1 - 1] + lpb[T - 1, U1 - 1]
