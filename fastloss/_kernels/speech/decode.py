"""Kernels for CTC decoding: greedy (best path) and prefix beam search.

Both run parallel over utterances, with no Python work per frame or per beam.
The wrappers in :mod:`fastloss.speech.decode` validate every index first;
nothing here checks arguments.

Log-probabilities arrive as a C-contiguous 3-D array, ``(T, N, C)`` or
``(N, T, C)`` (``bf`` = batch first), in float32 or float64; every score is
accumulated in float64.
"""
from __future__ import annotations

import numpy as np

from ..._core.jit import kernel, numba
from ..._core.math import flog1p_exp_neg, maxnum

NEG_INF = -np.inf

# ----------------------------------------------------------------------------
# Greedy (best path) decoding
# ----------------------------------------------------------------------------


@kernel(inline=True)
def _argmax(lp, t, C):
    """(first index of the maximum of lp[t, :], the maximum), as np.argmax
    (the first NaN wins).

    Three passes over the row, each vectorised (the row is in L1 after the
    first): a ``maxnum`` reduction (``v if v > m else m`` is not vectorised
    without ``nnan``), then the first index equal to the maximum as a min
    reduction, with ``v * 0`` summed alongside (NaN if any entry is NaN or
    inf); only then, rarely, a scalar scan for the first NaN.
    """
    m = lp[t, 0]
    for c in range(C):
        m = maxnum(m, lp[t, c])
    k = C
    z = lp[t, 0] * 0
    for c in range(C):
        v = lp[t, c]
        z += v * 0
        k = min(k, c if v == m else C)
    if z != z:
        for c in range(C):
            if lp[t, c] != lp[t, c]:
                return c, lp[t, c]
    return k, m


@kernel(parallel=True)
def greedy(x, bf, lengths, merge_repeated, blank, tokens, ntok, score):
    """Best path per utterance, in two parallel passes.

    1. Every frame (a row of C log-probabilities, contiguous) independently:
       its first arg-max and maximum, parallel over all frames in memory
       order, skipping frames past an utterance's length.  Measured 3x faster
       than walking each utterance's frames in time order inside one task
       (strided rows and a loop-carried collapse kept the row loops from
       overlapping), and faster than ``np.argmax`` alone.
    2. Per utterance, over its T arg-maxes: the collapse (merge repeats, drop
       blanks) and the score, summed in float64 in frame order, so it does
       not depend on the thread count.
    """
    if bf:
        N = x.shape[0]
        T = x.shape[1]
    else:
        T = x.shape[0]
        N = x.shape[1]
    C = x.shape[2]
    # Frames as rows of one C-contiguous 2-D array, indexed directly: a view
    # per frame would cost an atomic reference-count update shared by every
    # thread.
    rows = x.reshape((T * N, C))
    ks = np.empty(T * N, dtype=np.int64)
    ms = np.empty(T * N, dtype=np.float64)
    for r in numba.prange(T * N):
        if bf:
            n = r // T
            t = r - n * T
        else:
            t = r // N
            n = r - t * N
        if t < lengths[n]:
            k, m = _argmax(rows, r, C)
            ks[r] = k
            ms[r] = np.float64(m)
    for n in numba.prange(N):
        acc = 0.0
        cnt = 0
        prev = -1
        for t in range(lengths[n]):
            r = n * T + t if bf else t * N + n
            k = ks[r]
            acc += ms[r]
            if k != blank and (not merge_repeated or k != prev):
                tokens[n, cnt] = k
                cnt += 1
            prev = k
        score[n] = acc
        ntok[n] = cnt


# ----------------------------------------------------------------------------
# CTC prefix beam search
# ----------------------------------------------------------------------------


@kernel(inline=True)
def _logaddexp(a, b):
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + flog1p_exp_neg(a - b)


@kernel()
def _insert(cand_score, cand_order, k, cnt, score, idx):
    """Keep the k best candidates in cand_order[:cnt] (best first); equal
    scores are ranked by candidate index (the lower first), so the list does
    not depend on the order in which candidates arrive.  Returns the new
    count."""
    if cnt == k:
        o = cand_order[cnt - 1]
        so = cand_score[o]
        if not (score > so or (score == so and idx < o)):
            return cnt
        pos = cnt - 1
    else:
        pos = cnt
        cnt += 1
    while pos > 0:
        o = cand_order[pos - 1]
        so = cand_score[o]
        if not (score > so or (score == so and idx < o)):
            break
        cand_order[pos] = o
        pos -= 1
    cand_order[pos] = idx
    cand_score[idx] = score
    return cnt


@kernel()
def _search_one(lp, T, blank, W, use_tok, tok_min, use_prune, prune,
                out_tokens, out_len, out_score, top_k):
    """Prefix beam search over one utterance's (T, C) log-probabilities.

    Prefixes live in a trie (parent, token) whose nodes are unique per label
    sequence (a child is looked up before it is created), so two beams hold
    the same prefix exactly when they point to the same node, and merging
    equal prefixes is exact.  Each beam keeps log P(prefix, ends in blank)
    and log P(prefix, ends in a label).  Returns the number of hypotheses.
    """
    C = lp.shape[1]
    max_nodes = 1 + T * W
    parent = np.empty(max_nodes, np.int32)
    ntoken = np.empty(max_nodes, np.int32)
    first_child = np.full(max_nodes, -1, np.int32)
    next_sib = np.full(max_nodes, -1, np.int32)
    beam_of = np.full(max_nodes, -1, np.int32)  # node -> beam index (this frame)
    parent[0] = -1
    ntoken[0] = -1
    nnodes = 1
    # current beams
    node = np.empty(W, np.int32)
    pb = np.empty(W, np.float64)
    pnb = np.empty(W, np.float64)
    nbeam = 1
    node[0] = 0
    pb[0] = 0.0
    pnb[0] = NEG_INF
    # candidates: W stays, then W*C extensions (beam i, symbol c) at W + i*C + c
    ncand = W + W * C
    cand_b = np.empty(ncand, np.float64)   # new log P(blank ending)
    cand_nb = np.empty(ncand, np.float64)  # new log P(label ending)
    cand_score = np.empty(ncand, np.float64)
    merged = np.zeros(W * C, np.bool_)
    order = np.empty(W, np.int64)
    allowed = np.ones(C, np.bool_)
    # the non-blank symbols the frame's extensions are tried with, ascending;
    # with token pruning on peaky posteriors only a few per frame, so the
    # per-beam loops below cost O(W * allowed) instead of O(W * C)
    syms = np.empty(C, np.int64)
    nsym = 0
    for c in range(C):
        if c != blank:
            syms[nsym] = c
            nsym += 1
    tot = np.empty(W, np.float64)
    new_node = np.empty(W, np.int32)
    new_pb = np.empty(W, np.float64)
    new_pnb = np.empty(W, np.float64)

    for t in range(T):
        if use_tok:
            am = 0
            for c in range(C):
                v = np.float64(lp[t, c])
                allowed[c] = v >= tok_min
                if v > np.float64(lp[t, am]):
                    am = c
            allowed[am] = True
            nsym = 0
            for c in range(C):
                if c != blank and allowed[c]:
                    syms[nsym] = c
                    nsym += 1
        lblank = np.float64(lp[t, blank])
        for i in range(nbeam):
            tot[i] = _logaddexp(pb[i], pnb[i])
            beam_of[node[i]] = i
        # stays: the prefix is unchanged (a blank, or a repeat of its last label)
        for i in range(nbeam):
            b = tot[i] + lblank if allowed[blank] else NEG_INF
            last = ntoken[node[i]]
            nb_ = NEG_INF
            if last >= 0 and allowed[last]:
                nb_ = pnb[i] + np.float64(lp[t, last])
            cand_b[i] = b
            cand_nb[i] = nb_
        # extensions that produce a prefix already in the beam merge into its stay
        for i in range(nbeam):
            nd = node[i]
            par = parent[nd]
            if par >= 0:
                j = beam_of[par]
                if j >= 0:
                    c = ntoken[nd]
                    merged[j * C + c] = True
                    if allowed[c]:
                        # the label c after prefix j: a repeat needs a blank between
                        if ntoken[par] == c:
                            e = pb[j] + np.float64(lp[t, c])
                        else:
                            e = tot[j] + np.float64(lp[t, c])
                        cand_nb[i] = _logaddexp(cand_nb[i], e)
        # select the W best candidates
        cnt = 0
        best = NEG_INF
        for i in range(nbeam):
            s = _logaddexp(cand_b[i], cand_nb[i])
            if s > best:
                best = s
        for i in range(nbeam):
            last = ntoken[node[i]]
            for q in range(nsym):
                c = syms[q]
                if merged[i * C + c]:
                    continue
                if c == last:
                    e = pb[i] + np.float64(lp[t, c])
                else:
                    e = tot[i] + np.float64(lp[t, c])
                if e > best:
                    best = e
        thresh = NEG_INF
        if use_prune:
            thresh = best + prune
        for i in range(nbeam):
            s = _logaddexp(cand_b[i], cand_nb[i])
            if s > NEG_INF and s >= thresh:
                cnt = _insert(cand_score, order, W, cnt, s, i)
        for i in range(nbeam):
            last = ntoken[node[i]]
            base = W + i * C
            for q in range(nsym):
                c = syms[q]
                if merged[i * C + c]:
                    merged[i * C + c] = False
                    continue
                if c == last:
                    e = pb[i] + np.float64(lp[t, c])
                else:
                    e = tot[i] + np.float64(lp[t, c])
                if e > NEG_INF and e >= thresh:
                    cnt = _insert(cand_score, order, W, cnt, e, base + c)
        # clear flags left by disallowed symbols, and the node -> beam map
        for i in range(nbeam):
            nd = node[i]
            par = parent[nd]
            if par >= 0:
                j = beam_of[par]
                if j >= 0:
                    merged[j * C + ntoken[nd]] = False
        for i in range(nbeam):
            beam_of[node[i]] = -1
        # build the new beams
        for r in range(cnt):
            k = order[r]
            if k < W:
                new_node[r] = node[k]
                new_pb[r] = cand_b[k]
                new_pnb[r] = cand_nb[k]
            else:
                i = (k - W) // C
                c = (k - W) - i * C
                pnode = node[i]
                # unique trie node for prefix(i) + c
                ch = first_child[pnode]
                while ch >= 0 and ntoken[ch] != c:
                    ch = next_sib[ch]
                if ch < 0:
                    ch = nnodes
                    nnodes += 1
                    parent[ch] = pnode
                    ntoken[ch] = c
                    next_sib[ch] = first_child[pnode]
                    first_child[pnode] = ch
                new_node[r] = ch
                new_pb[r] = NEG_INF
                new_pnb[r] = cand_score[k]
        nbeam = cnt
        for r in range(cnt):
            node[r] = new_node[r]
            pb[r] = new_pb[r]
            pnb[r] = new_pnb[r]
        if nbeam == 0:
            return 0

    # final ranking by total probability (stable: ties keep beam order)
    cnt = 0
    for i in range(nbeam):
        cnt = _insert(cand_score, order, top_k, cnt, _logaddexp(pb[i], pnb[i]), i)
    for r in range(cnt):
        i = order[r]
        nd = node[i]
        L = 0
        x = nd
        while x > 0:
            L += 1
            x = parent[x]
        out_len[r] = L
        out_score[r] = cand_score[i]
        x = nd
        p = L - 1
        while x > 0:
            out_tokens[r, p] = ntoken[x]
            p -= 1
            x = parent[x]
    return cnt


@kernel(parallel=True)
def beam_search(x, bf, lengths, blank, W, top_k, use_tok, tok_min, use_prune, prune,
                out_tokens, out_len, out_score, out_count):
    """Prefix beam search, parallel over utterances (one utterance per task)."""
    if bf:
        N = x.shape[0]
    else:
        N = x.shape[1]
    for n in numba.prange(N):
        if bf:
            lp = x[n]
        else:
            lp = x[:, n, :]
        out_count[n] = _search_one(lp, lengths[n], blank, W, use_tok, tok_min, use_prune, prune,
                                   out_tokens[n], out_len[n], out_score[n], top_k)
