"""Reference twins of the CTC loss, written unlike the kernel:

* :func:`ctc_enumerate`: sums the probability of every one of the C**T
  frame labellings that collapse to the target (tiny cases only), and the
  gradient from the same enumeration.
* :func:`ctc_loss_reference`: Graves' recursion in *probability* space with
  per-frame rescaling (Graves 2012, ch. 7.3), float64, one sample at a time,
  with the gradient from the rescaled alpha * beta products.
"""
import itertools

import numpy as np
from reference import reduce, twin


def collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def ctc_enumerate(log_probs_tc, target, blank=0):
    """(-log p(target), d(-log p)/d log_probs) for one (T, C) sample, by enumeration."""
    lp = np.asarray(log_probs_tc, dtype=np.float64)
    T, C = lp.shape
    target = list(target)
    total = 0.0
    occ = np.zeros((T, C))
    for path in itertools.product(range(C), repeat=T):
        if collapse(path, blank) == target:
            p = np.exp(sum(lp[t, c] for t, c in enumerate(path)))
            total += p
            for t, c in enumerate(path):
                occ[t, c] += p
    if total == 0.0:
        return np.inf, np.zeros((T, C))
    return -np.log(total), -occ / total


def _graves_one(lp, target, blank):
    """(loss, grad (T, C)) of one sample, probability space, rescaled per frame."""
    T, C = lp.shape
    ext = [blank]
    for c in target:
        ext += [c, blank]
    S = len(ext)
    if T == 0:
        return (0.0 if len(target) == 0 else np.inf), np.zeros((0, C))
    y = np.exp(lp)  # probabilities (need not sum to 1)
    alpha = np.zeros((T, S))
    beta = np.zeros((T, S))
    log_scale = 0.0
    alpha[0, 0] = y[0, ext[0]]
    if S > 1:
        alpha[0, 1] = y[0, ext[1]]
    c0 = alpha[0].sum()
    if c0 == 0:
        return np.inf, np.zeros((T, C))
    alpha[0] /= c0
    log_scale += np.log(c0)
    for t in range(1, T):
        for s in range(S):
            a = alpha[t - 1, s]
            if s >= 1:
                a += alpha[t - 1, s - 1]
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                a += alpha[t - 1, s - 2]
            alpha[t, s] = a * y[t, ext[s]]
        ct = alpha[t].sum()
        if ct == 0:
            return np.inf, np.zeros((T, C))
        alpha[t] /= ct
        log_scale += np.log(ct)
    end = alpha[T - 1, S - 1] + (alpha[T - 1, S - 2] if S > 1 else 0.0)
    if end == 0:
        return np.inf, np.zeros((T, C))
    loss = -(log_scale + np.log(end))
    # beta (including the emission at t), rescaled per frame
    beta[T - 1, S - 1] = y[T - 1, ext[S - 1]]
    if S > 1:
        beta[T - 1, S - 2] = y[T - 1, ext[S - 2]]
    beta[T - 1] /= beta[T - 1].sum()
    for t in range(T - 2, -1, -1):
        for s in range(S):
            b = beta[t + 1, s]
            if s + 1 < S:
                b += beta[t + 1, s + 1]
            if s + 2 < S and ext[s + 2] != blank and ext[s + 2] != ext[s]:
                b += beta[t + 1, s + 2]
            beta[t, s] = b * y[t, ext[s]]
        beta[t] /= beta[t].sum()
    grad = np.zeros((T, C))
    for t in range(T):
        # occupancy gamma_t(s) ∝ alpha_t(s) beta_t(s) / y_t(ext[s]), normalised over s
        w = np.array([alpha[t, s] * beta[t, s] / y[t, ext[s]] if alpha[t, s] * beta[t, s] > 0 else 0.0
                      for s in range(S)])
        w /= w.sum()
        for s in range(S):
            grad[t, ext[s]] -= w[s]
    return loss, grad


def _split(log_probs, targets, input_lengths, target_lengths, batch_first):
    lp = np.asarray(log_probs, dtype=np.float64)
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp[:, None, :]
    elif batch_first:
        lp = lp.transpose(1, 0, 2)
    N = lp.shape[1]
    il = np.atleast_1d(np.asarray(input_lengths)).astype(int)
    tl = np.atleast_1d(np.asarray(target_lengths)).astype(int)
    tg = np.asarray(targets)
    if unbatched:
        tg = tg.reshape(1, -1)
    seqs = []
    off = 0
    for n in range(N):
        if tg.ndim == 2:
            seqs.append([int(v) for v in tg[n, : tl[n]]])
        else:
            seqs.append([int(v) for v in tg[off : off + tl[n]]])
            off += tl[n]
    return lp, il, tl, seqs, unbatched


@twin
def ctc_loss_reference(log_probs, targets, input_lengths, target_lengths, *, blank=0, reduction="mean",
                       zero_infinity=False, batch_first=False, from_logits=False, return_grad=False):
    """Per PyTorch's documented semantics; the gradient is w.r.t. the array passed."""
    lp, il, tl, seqs, unbatched = _split(log_probs, targets, input_lengths, target_lengths, batch_first)
    T, N, C = lp.shape
    x = lp
    if from_logits:
        m = x.max(-1, keepdims=True)
        lp = x - (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))
    losses = np.zeros(N)
    grad = np.zeros((T, N, C))
    for n in range(N):
        loss, g = _graves_one(lp[: il[n], n], seqs[n], blank)
        if np.isinf(loss):
            g = np.zeros_like(g)
            if zero_infinity:
                loss = 0.0
        losses[n] = loss
        grad[: il[n], n] = g
    if reduction == "mean":
        scale = 1.0 / (np.maximum(tl, 1) * N)
        value = np.sum(losses / np.maximum(tl, 1)) / N
    else:
        scale = np.ones(N)
        value = reduce(losses, reduction)
        if reduction == "none" and unbatched:
            value = value.reshape(())
    grad = grad * scale[None, :, None]
    if from_logits:
        # chain through log_softmax: dx = g - softmax * sum_c g (rows past T_n stay 0)
        sm = np.exp(lp)
        grad = grad - sm * grad.sum(-1, keepdims=True)
    if unbatched:
        grad = grad[:, 0]
    elif batch_first:
        grad = grad.transpose(1, 0, 2)
    return (value, grad) if return_grad else value
