"""Fused row kernels for the embedding and margin losses.

Two kernels serve four public functions (one compile per dtype each; compile
time is part of performance):

* :func:`rowwise` -- losses that are a function of one row of each operand:
  triplet margin, contrastive and cosine embedding.  A run-time ``kind`` selects the row
  function; the branch is per row, outside the loops over the feature axis.
* :func:`batch_hard` -- the batch-hard triplet loss: one pass over anchors
  (each thread holds one anchor row in float64 and never a row of the
  distance matrix: it keeps running max/min), then, for the gradient, one
  pass over rows that gathers the contributions of every anchor that chose
  the row as its hardest positive or negative (inverse lists built by a
  counting sort), so no two threads write the same gradient row.

Operands are 2-D C-contiguous native arrays of one float dtype ``(M, D)``;
the wrapper guarantees it and checks every label/index first.  Every row is
computed in float64.  Rows are grouped in fixed chunks of ``rows`` rows, one
float64 partial per chunk, so sums do not depend on the thread count.

The margin losses of classifiers (hinge, multi-margin) have their own row
kernel in ``fastloss/_kernels/losses/margin.py``.
"""
from __future__ import annotations

import math

import numpy as np

from ..._core.consts import CONTRASTIVE, TRIPLET
from ..._core.jit import kernel, numba
# torch's EPSILON in cosine_embedding_loss, added to the squared norms; it is
# a C++ ``float`` constant, so its value is float32(1e-12), not 1e-12.
COS_EPS = 9.999999960041972e-13


@kernel(inline=True)
def _pnorm_acc(v, p, pmode):
    """Contribution of one component v to a p-norm accumulator.

    pmode 1: |v|; 2: v^2; 3: |v|^p; 4 (inf): |v| (combined with max)."""
    if pmode == 2:
        return v * v
    elif pmode == 1 or pmode == 4:
        return abs(v)
    return abs(v) ** p


@kernel(inline=True)
def _pnorm_fin(s, p, pmode):
    if pmode == 2:
        return math.sqrt(s)
    elif pmode == 1 or pmode == 4:
        return s
    return s ** (1.0 / p)


@kernel()
def _dist(x, y, eps, p, pmode):
    """torch.pairwise_distance of two rows: ||x - y + eps||_p."""
    s = 0.0
    if pmode == 4:
        for k in range(x.size):
            v = abs(np.float64(x[k]) - np.float64(y[k]) + eps)
            if v > s or v != v:
                s = v
        return s
    for k in range(x.size):
        s += _pnorm_acc(np.float64(x[k]) - np.float64(y[k]) + eps, p, pmode)
    return _pnorm_fin(s, p, pmode)


@kernel()
def _dist_grad(x, y, eps, p, pmode, d, coef, g):
    """g += coef * d||x - y + eps||_p / dx (0 where the norm is 0, as torch)."""
    if d == 0.0:
        return
    if pmode == 2:
        c = coef / d
        for k in range(x.size):
            g[k] += c * (np.float64(x[k]) - np.float64(y[k]) + eps)
    elif pmode == 1:
        for k in range(x.size):
            g[k] += coef * np.sign(np.float64(x[k]) - np.float64(y[k]) + eps)
    elif pmode == 4:
        # torch's amax backward: split evenly among the components at the max.
        # The components are computed once into a buffer: recomputing them in
        # two loops could round differently (reassoc) and miss the maximum.
        v = np.empty(x.size)
        m = 0.0
        for k in range(x.size):
            v[k] = np.float64(x[k]) - np.float64(y[k]) + eps
            if abs(v[k]) > m:
                m = abs(v[k])
        cnt = 0
        for k in range(x.size):
            if abs(v[k]) == m:
                cnt += 1
        c = coef / cnt
        for k in range(x.size):
            if abs(v[k]) == m:
                g[k] += c * np.sign(v[k])
    else:
        c = coef / d ** (p - 1.0)
        for k in range(x.size):
            v = np.float64(x[k]) - np.float64(y[k]) + eps
            g[k] += c * np.sign(v) * abs(v) ** (p - 1.0)


@kernel()
def _triplet_row(margin, p, pmode, eps, swap, a, b, c, want, all3, gscale, g):
    """Loss of one triplet; with ``want``, g[:D] = d loss / d anchor and, with
    ``all3``, g[D:2D] / g[2D:3D] = d loss / d positive / d negative.

    With G(x, y) = d ||x - y + eps|| / dx (so d/dy = -G) and s = gscale on
    the active hinge: anchor s G(a,p) - s G(a,n); positive -s G(a,p);
    negative s G(a,n).  When the swap distance d(p, n) replaced d(a, n),
    its terms move from anchor/negative to positive/negative: positive
    -s G(a,p) - s G(p,n), negative s G(p,n), anchor s G(a,p)."""
    dp = _dist(a, b, eps, p, pmode)
    dn = _dist(a, c, eps, p, pmode)
    swapped = False
    if swap:
        ds = _dist(b, c, eps, p, pmode)
        if ds < dn:  # at::min; a tie keeps the anchor's own distance
            dn = ds
            swapped = True
    h = margin + dp - dn
    l = h if (h > 0.0 or h != h) else 0.0
    if want:
        D = a.size
        W = 3 * D if all3 else D
        for k in range(W):
            g[k] = 0.0
        if h > 0.0:
            _dist_grad(a, b, eps, p, pmode, dp, gscale, g[:D])
            if not swapped:
                _dist_grad(a, c, eps, p, pmode, dn, -gscale, g[:D])
            if all3:
                _dist_grad(a, b, eps, p, pmode, dp, -gscale, g[D:2 * D])
                if swapped:
                    _dist_grad(b, c, eps, p, pmode, dn, -gscale, g[D:2 * D])
                    _dist_grad(b, c, eps, p, pmode, dn, gscale, g[2 * D:])
                else:
                    _dist_grad(a, c, eps, p, pmode, dn, gscale, g[2 * D:])
        elif h != h:
            for k in range(W):
                g[k] = np.nan
    return l


@kernel()
def _contrastive_row(margin, y, a, b, want, gscale, g):
    s = 0.0
    for k in range(a.size):
        v = np.float64(a[k]) - np.float64(b[k])
        s += v * v
    if y != 0.0:  # similar pair: d^2
        if want:
            for k in range(a.size):
                g[k] = (2.0 * gscale) * (np.float64(a[k]) - np.float64(b[k]))
        return s
    d = math.sqrt(s)
    t = margin - d
    if t > 0.0:
        if want:
            # d/dx (m - d)^2 = -2 (m - d) (x1 - x2) / d; at d == 0 the
            # direction is undefined and 0 (a subgradient) is used.
            c = -2.0 * gscale * t / d if d > 0.0 else 0.0
            for k in range(a.size):
                g[k] = c * (np.float64(a[k]) - np.float64(b[k]))
        return t * t
    if want:
        fill = np.nan if t != t else 0.0
        for k in range(a.size):
            g[k] = fill
    return t if t != t else 0.0


@kernel()
def _cosine_row(margin, y, a, b, want, gscale, g):
    prod = 0.0
    m1 = 0.0
    m2 = 0.0
    for k in range(a.size):
        x1 = np.float64(a[k])
        x2 = np.float64(b[k])
        prod += x1 * x2
        m1 += x1 * x1
        m2 += x2 * x2
    m1 += COS_EPS
    m2 += COS_EPS
    den = math.sqrt(m1 * m2)
    cos = prod / den
    # d cos / d x1 = x2 / den - cos * x1 / m1
    if y > 0.0:
        l = 1.0 - cos
        sgn = -1.0
        active = True
    else:
        h = cos - margin
        l = h if (h > 0.0 or h != h) else 0.0
        sgn = 1.0
        active = h > 0.0 or h != h
    if want:
        if active:
            c2 = sgn * gscale / den
            c1 = -sgn * gscale * cos / m1
            for k in range(a.size):
                g[k] = c2 * np.float64(b[k]) + c1 * np.float64(a[k])
        else:
            for k in range(a.size):
                g[k] = 0.0
    return l


@kernel(parallel=True)
def rowwise(kind, margin, p, pmode, eps, flag, a, b, c, lab, out, grad, want, gscale, rows, partials):
    """out[i] = loss of row i; partials[ch] = sum over chunk ch; grad rows if want.

    kind: TRIPLET (a anchor, b positive, c negative; flag = swap; a grad of
    shape (M, 3D) receives the anchor, positive and negative gradients),
    CONTRASTIVE (a, b; lab 1 similar / 0 dissimilar), COSINE (a, b; lab +-1).
    """
    M, D = a.shape
    # TRIPLET with a (M, 3D) grad: the gradients of anchor, positive and
    # negative side by side in each row (one fused pass for all three).
    all3 = kind == TRIPLET and want and D > 0 and grad.shape[1] == 3 * D
    W = 3 * D if all3 else D
    for ch in numba.prange(partials.size):
        lo = ch * rows
        hi = min(lo + rows, M)
        acc = 0.0
        buf = np.empty(W)  # float64 gradient row(s) (the triplet sums two terms)
        for i in range(lo, hi):
            gi = grad[i] if want else grad[0]
            if kind == TRIPLET:
                l = _triplet_row(margin, p, pmode, eps, flag, a[i], b[i], c[i], want, all3, gscale, buf)
                if want:
                    for k in range(W):
                        gi[k] = buf[k]
            elif kind == CONTRASTIVE:
                l = _contrastive_row(margin, lab[i], a[i], b[i], want, gscale, gi)
            else:
                l = _cosine_row(margin, lab[i], a[i], b[i], want, gscale, gi)
            out[i] = l
            acc += l
        partials[ch] = acc


@kernel(parallel=True)
def batch_hard(e, labels, margin, squared, want, mean, out, pos, neg, grad):
    """Batch-hard triplet loss (Hermans et al. 2017) over embeddings e (N, D).

    For anchor i: out[i] = max(0, d(i, p_i) - d(i, n_i) + margin) with p_i the
    farthest same-label row (not i) and n_i the nearest other-label row;
    pos[i] / neg[i] = p_i / n_i, or -1 when the anchor has no positive or
    no negative (then out[i] = 0 and it is excluded).  Distances are
    Euclidean (squared if ``squared``), from direct differences in float64
    (no ||x||^2 + ||y||^2 - 2xy cancellation).  Returns the number of valid
    anchors; with ``want`` writes the gradient of the sum (``mean``: of the
    mean over valid anchors) into grad.
    """
    N, D = e.shape
    dap = np.empty(N)
    dan = np.empty(N)
    for i in numba.prange(N):
        ai = np.empty(D)  # the anchor row in float64: the only per-thread buffer
        for k in range(D):
            ai[k] = np.float64(e[i, k])
        li = labels[i]
        bp = -1.0
        jp = -1
        bn = np.inf
        jn = -1
        isnan = False
        for j in range(N):
            ej = e[j]
            s = 0.0
            for k in range(D):
                v = ai[k] - np.float64(ej[k])
                s += v * v
            if s != s:
                isnan = True
            if labels[j] == li:
                if j != i and s > bp:
                    bp = s
                    jp = j
            elif s < bn:
                bn = s
                jn = j
        if jp < 0 or jn < 0:
            pos[i] = -1
            neg[i] = -1
            out[i] = 0.0
            dap[i] = 0.0
            dan[i] = 0.0
            continue
        if not squared:
            bp = math.sqrt(bp)
            bn = math.sqrt(bn)
        h = bp - bn + margin
        if isnan:
            h = np.nan
        pos[i] = jp
        neg[i] = jn
        dap[i] = bp
        dan[i] = bn
        out[i] = h if (h > 0.0 or h != h) else 0.0
    nvalid = 0
    for i in range(N):
        if pos[i] >= 0:
            nvalid += 1
    if not want:
        return nvalid
    scale = 1.0
    if mean and nvalid > 0:
        scale = 1.0 / nvalid
    # Coefficient of (e_i - e_p) and (e_i - e_n) in d out[i] / d e_i:
    # squared: 2 and -2; plain: 1/d_ap and -1/d_an (0 where d = 0, where the
    # norm has no gradient; 0 is a subgradient).
    cp = np.zeros(N)
    cn = np.zeros(N)
    active = np.zeros(N, dtype=np.bool_)
    for i in range(N):
        h = out[i]
        if pos[i] >= 0 and (h > 0.0 or h != h):
            active[i] = True
            if h != h:
                cp[i] = np.nan
                cn[i] = np.nan
            elif squared:
                cp[i] = 2.0 * scale
                cn[i] = -2.0 * scale
            else:
                cp[i] = scale / dap[i] if dap[i] > 0.0 else 0.0
                cn[i] = -scale / dan[i] if dan[i] > 0.0 else 0.0
    # Inverse lists: anchors that chose row j as positive / negative
    # (counting sort in anchor order, so the summation order is fixed).
    pstart = np.zeros(N + 1, dtype=np.int64)
    nstart = np.zeros(N + 1, dtype=np.int64)
    for i in range(N):
        if active[i]:
            pstart[pos[i] + 1] += 1
            nstart[neg[i] + 1] += 1
    for j in range(N):
        pstart[j + 1] += pstart[j]
        nstart[j + 1] += nstart[j]
    plist = np.empty(pstart[N], dtype=np.int64)
    nlist = np.empty(nstart[N], dtype=np.int64)
    pfill = pstart[:N].copy()
    nfill = nstart[:N].copy()
    for i in range(N):
        if active[i]:
            plist[pfill[pos[i]]] = i
            pfill[pos[i]] += 1
            nlist[nfill[neg[i]]] = i
            nfill[neg[i]] += 1
    for j in numba.prange(N):
        acc = np.zeros(D)
        ej = e[j]
        if active[j]:
            ep = e[pos[j]]
            en = e[neg[j]]
            c1 = cp[j]
            c2 = cn[j]
            for k in range(D):
                x = np.float64(ej[k])
                acc[k] += c1 * (x - np.float64(ep[k])) + c2 * (x - np.float64(en[k]))
        for q in range(pstart[j], pstart[j + 1]):
            i = plist[q]
            ei = e[i]
            c1 = cp[i]
            for k in range(D):
                acc[k] -= c1 * (np.float64(ei[k]) - np.float64(ej[k]))
        for q in range(nstart[j], nstart[j + 1]):
            i = nlist[q]
            ei = e[i]
            c2 = cn[i]
            for k in range(D):
                acc[k] -= c2 * (np.float64(ei[k]) - np.float64(ej[k]))
        gj = grad[j]
        for k in range(D):
            gj[k] = acc[k]
    return nvalid
