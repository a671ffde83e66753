"""Kernels of the n-gram language model (:mod:`fastloss.speech.lm`).

Every n-gram is a row of ``grams`` (G, n) int32 word ids (padded with -1),
with ``order``, ``prob`` (log10), ``bo`` (log10 backoff) and ``keep`` (the
n-gram is worth keeping in a state: some longer n-gram extends it, or its
backoff is not 0, KenLM's right-state minimisation).  Rows 0..V-1 are the
unigrams, row = word id.  Higher orders are found through one open-addressing
hash table keyed by a hash of the id tuple computed right to left, so that
the n-grams ``w``, ``h[-1] w``, ``h[-2] h[-1] w``, ... of a query are hashed
incrementally (one step per word), as KenLM's probing model does.
"""
from __future__ import annotations

import numpy as np

from ..._core.jit import kernel, numba

H0 = np.uint64(0x2545F4914F6CDD1D)


@kernel(inline=True)
def step(h, w):
    """Hash of the tuple (w, *tuple hashed by h): splitmix64's finaliser."""
    z = h * np.uint64(0x9E3779B97F4A7C15) + np.uint64(w + 1)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel(parallel=True)
def row_hashes(grams, order, lo, out):
    """out[g - lo] = hash of row g (its ``order[g]`` ids read right to left)."""
    for g in numba.prange(lo, grams.shape[0]):
        h = H0
        for i in range(order[g] - 1, -1, -1):
            h = step(h, grams[g, i])
        out[g - lo] = h


@kernel()
def build_table(hashes, lo, slot_row, slot_hash):
    """Insert rows lo.. (hashes[g - lo]) into the table (slot_row -1 = empty)."""
    mask = np.uint64(slot_row.size - 1)
    for k in range(hashes.size):
        h = hashes[k]
        s = np.int64(h & mask)
        while slot_row[s] >= 0:
            s = (s + 1) & (slot_row.size - 1)
        slot_row[s] = lo + k
        slot_hash[s] = h


@kernel(inline=True)
def find(slot_row, slot_hash, grams, order, h, k, ctx, m, w):
    """Row of the k-gram (ctx[m-k+1:m], w), or -1.  k >= 2, k - 1 <= m."""
    mask = slot_row.size - 1
    s = np.int64(h & np.uint64(mask))
    while True:
        g = slot_row[s]
        if g < 0:
            return -1
        if slot_hash[s] == h and order[g] == k and grams[g, k - 1] == w:
            ok = True
            for i in range(k - 1):
                if grams[g, i] != ctx[m - k + 1 + i]:
                    ok = False
                    break
            if ok:
                return g
        s = (s + 1) & mask


@kernel(inline=True)
def find_ctx(slot_row, slot_hash, grams, order, h, k, ctx, m):
    """Row of the k-gram ctx[m-k:m] (a suffix of the context), or -1."""
    if k == 1:
        return ctx[m - 1]
    mask = slot_row.size - 1
    s = np.int64(h & np.uint64(mask))
    while True:
        g = slot_row[s]
        if g < 0:
            return -1
        if slot_hash[s] == h and order[g] == k:
            ok = True
            for i in range(k):
                if grams[g, i] != ctx[m - k + i]:
                    ok = False
                    break
            if ok:
                return g
        s = (s + 1) & mask


@kernel()
def base_score(grams, order, prob, bo, keep, slot_row, slot_hash, max_order, ctx, m, w, out_ctx):
    """log10 P(w | ctx[:m]) by ARPA backoff, using n-grams up to ``max_order``
    (``max_order`` < 0: n-grams up to -max_order - 1, contexts up to
    -max_order - 1 words; used to fill blanks from the orders below them).

    Returns (log10 p, length of the longest n-gram found, length of the next
    state); the next state's words go to out_ctx[:length] (oldest first).
    The n-grams ending in w are looked up for growing lengths; the tables
    hold every suffix and prefix of every n-gram (missing ones were added as
    blanks), so the first miss ends the search.
    """
    max_ctx = max_order - 1
    if max_order < 0:
        max_order = -max_order - 1
        max_ctx = max_order
    mm = min(m, max_order - 1)  # context words of the longest n-gram (the last mm of ctx[:m])
    mc = min(m, max_ctx)        # context words whose backoff can count
    g = w
    best = w
    J = 1
    h = step(H0, w)
    newlen = 1 if keep[w] else 0
    for j in range(2, mm + 2):
        h = step(h, ctx[m - j + 1])
        g = find(slot_row, slot_hash, grams, order, h, j, ctx, m, w)
        if g < 0:
            break
        best = g
        J = j
        if j < max_order and keep[g]:
            newlen = j
    p = np.float64(prob[best])
    # backoffs of the contexts longer than the one used: lengths J..mc
    if J <= mc:
        hc = H0
        for i in range(1, mc + 1):
            hc = step(hc, ctx[m - i])
            if i >= J:
                c = find_ctx(slot_row, slot_hash, grams, order, hc, i, ctx, m)
                if c >= 0:
                    p += np.float64(bo[c])
    # next state: the last newlen words of (ctx, w)
    if newlen > max_order - 1:
        newlen = max_order - 1
    for i in range(newlen - 1):
        out_ctx[i] = ctx[m - newlen + 1 + i]
    if newlen > 0:
        out_ctx[newlen - 1] = w
    return p, J, newlen


@kernel(parallel=True)
def missing_affixes(grams, order, slot_row, slot_hash, lo, hi, miss):
    """For rows lo..hi-1 (all of one order k >= 2): miss[g-lo, 0] = the
    prefix (k-1)-gram is absent, miss[g-lo, 1] = the suffix is absent."""
    for g in numba.prange(lo, hi):
        k = order[g]
        row = grams[g]
        if k == 2:
            miss[g - lo, 0] = False
            miss[g - lo, 1] = False
            continue
        # prefix row[0:k-1]: as a context tuple ctx=row, m=k-1
        h = H0
        for i in range(k - 2, -1, -1):
            h = step(h, row[i])
        miss[g - lo, 0] = find_ctx(slot_row, slot_hash, grams, order, h, k - 1, row, k - 1) < 0
        # suffix row[1:k]: as the (k-1)-gram (row[1:k-1], row[k-1])
        h = H0
        for i in range(k - 1, 0, -1):
            h = step(h, row[i])
        miss[g - lo, 1] = find_ctx(slot_row, slot_hash, grams, order, h, k - 1, row[1:], k - 1) < 0


@kernel()
def mark_extends(grams, order, slot_row, slot_hash, lo, extends):
    """extends[prefix row] = True for every row g >= lo (orders >= 2)."""
    for g in range(lo, grams.shape[0]):
        k = order[g]
        row = grams[g]
        if k == 2:
            extends[row[0]] = True
            continue
        h = H0
        for i in range(k - 2, -1, -1):
            h = step(h, row[i])
        p = find_ctx(slot_row, slot_hash, grams, order, h, k - 1, row, k - 1)
        if p >= 0:
            extends[p] = True


@kernel()
def fill_blanks(grams, order, prob, bo, keep, slot_row, slot_hash, rows, k, scratch):
    """prob of the blank rows (all of order k): the backed-off probability
    from the orders below k (their backoff stays 0)."""
    for r in range(rows.size):
        g = rows[r]
        for i in range(k - 1):
            scratch[i] = grams[g, i]
        p, _, _ = base_score(grams, order, prob, bo, keep, slot_row, slot_hash, -k, scratch, k - 1,
                             grams[g, k - 1], scratch[k:])
        prob[g] = p


@kernel(parallel=True)
def score_sentences(grams, order, prob, bo, keep, slot_row, slot_hash, max_order, words, offsets,
                    start_ctx, start_len, eos_id, out_p, out_len, totals):
    """Every sentence s (words[offsets[s]:offsets[s+1]]) from the state
    start_ctx[:start_len]; eos_id >= 0 appends </s>.  Per-word log10 p and
    n-gram lengths go to out_p/out_len at the word's position (</s> after
    the last word, at offsets[s+1] + s); totals[s] is their float64 sum."""
    S = offsets.size - 1
    n1 = max(max_order - 1, 1)
    for s in numba.prange(S):
        ctx = np.empty(n1 + 1, np.int32)
        nxt = np.empty(n1 + 1, np.int32)
        m = start_len
        for i in range(m):
            ctx[i] = start_ctx[i]
        tot = 0.0
        base = offsets[s] + s
        n = offsets[s + 1] - offsets[s]
        for i in range(n + (1 if eos_id >= 0 else 0)):
            w = words[offsets[s] + i] if i < n else eos_id
            p, J, m2 = base_score(grams, order, prob, bo, keep, slot_row, slot_hash, max_order, ctx, m, w, nxt)
            out_p[base + i] = p
            out_len[base + i] = J
            tot += p
            for q in range(m2):
                ctx[q] = nxt[q]
            m = m2
        totals[s] = tot
