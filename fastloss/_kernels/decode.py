"""Kernels for CTC decoding and edit distances.

Greedy decoding, prefix beam search and the edit-distance dynamic programme
all run here, parallel over utterances (or sentence pairs), with no Python
work per frame, per beam or per sentence.  The wrappers in
:mod:`fastloss.decode` validate every index first; nothing here checks
arguments.

Log-probabilities arrive as a C-contiguous 3-D array, ``(T, N, C)`` or
``(N, T, C)`` (``bf`` = batch first), in float32 or float64; every score is
accumulated in float64.
"""
from __future__ import annotations

import numpy as np

from .._jit import kernel, numba
from ._math import flog1p_exp_neg, maxnum

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
    """Keep the k best candidates in cand_order[:cnt] (best first); ties keep
    the earlier candidate first, so the result is deterministic.  Returns the
    new count."""
    if cnt == k:
        if not (score > cand_score[cand_order[cnt - 1]]):
            return cnt
        pos = cnt - 1
    else:
        pos = cnt
        cnt += 1
    while pos > 0 and score > cand_score[cand_order[pos - 1]]:
        cand_order[pos] = cand_order[pos - 1]
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
            for c in range(C):
                if c == blank or not allowed[c] or merged[i * C + c]:
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
            for c in range(C):
                if c == blank or not allowed[c]:
                    continue
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


# ----------------------------------------------------------------------------
# Edit distance
# ----------------------------------------------------------------------------

#: Above this many DP cells per pair, the full-matrix alignment (needed to
#: reproduce rapidfuzz's choice among equally short alignments) would use too
#: much memory; such pairs use a two-row DP that keeps the alignment with the
#: most hits instead (the distance is the same).
FULL_MATRIX_CELLS = 1 << 24


@kernel()
def _affix(a, b):
    na = a.size
    nb = b.size
    p = 0
    while p < na and p < nb and a[p] == b[p]:
        p += 1
    q = 0
    while q < na - p and q < nb - p and a[na - 1 - q] == b[nb - 1 - q]:
        q += 1
    return p, q


@kernel()
def _capacity(n):
    """Hash-table slots for a pattern of n symbols: a power of two >= 2n."""
    cap = 16
    while cap < 2 * n:
        cap *= 2
    return cap


@kernel()
def _distance_bp(a, b, keys, used, peq):
    """Levenshtein distance by Myers/Hyyro bit-parallel blocks (64 DP rows
    per machine word, Hyyro 2003; block step as in edlib's calculateBlock):
    O(ceil(n/64) * m) word operations instead of n * m cells.  The shorter
    sequence (after removing the common prefix and suffix) is the bit
    pattern; its symbols go in an open-addressing hash table whose rows of
    ``peq`` are the match bit vectors.  ``keys``/``used``/``peq`` are work
    space of at least _capacity(n) slots and ceil(n/64) words per slot."""
    p, q = _affix(a, b)
    n = a.size - p - q
    m = b.size - p - q
    if n == 0:
        return m
    if m == 0:
        return n
    if n <= m:
        s1 = a[p:p + n]
        s2 = b[p:p + m]
    else:
        s1 = b[p:p + m]
        s2 = a[p:p + n]
        n, m = m, n
    W = (n + 63) // 64
    cap = _capacity(n)
    shift = np.uint64(64)
    c2 = cap
    while c2 > 1:
        c2 //= 2
        shift -= np.uint64(1)
    mult = np.uint64(0x9E3779B97F4A7C15)
    for slot in range(cap):
        used[slot] = False
    for i in range(n):
        sym = s1[i]
        slot = np.int64((np.uint64(sym) * mult) >> shift)
        while used[slot] and keys[slot] != sym:
            slot = (slot + 1) & (cap - 1)
        if not used[slot]:
            used[slot] = True
            keys[slot] = sym
            for w in range(W):
                peq[slot, w] = 0
        peq[slot, i >> 6] |= np.uint64(1) << np.uint64(i & 63)
    VP = np.empty(W, np.uint64)
    VN = np.empty(W, np.uint64)
    for w in range(W):
        VP[w] = ~np.uint64(0)
        VN[w] = 0
    last = np.uint64((n - 1) & 63)
    one = np.uint64(1)
    score = n
    for j in range(m):
        sym = s2[j]
        slot = np.int64((np.uint64(sym) * mult) >> shift)
        while used[slot] and keys[slot] != sym:
            slot = (slot + 1) & (cap - 1)
        found = used[slot]
        hp_in = one   # horizontal delta entering the block from above: +1 at row 0
        hn_in = np.uint64(0)
        for w in range(W):
            eq = peq[slot, w] if found else np.uint64(0)
            pv = VP[w]
            mv = VN[w]
            xv = eq | mv
            eq |= hn_in
            xh = (((eq & pv) + pv) ^ pv) | eq
            ph = mv | ~(xh | pv)
            mh = pv & xh
            if w == W - 1:
                score += np.int64((ph >> last) & one) - np.int64((mh >> last) & one)
            hp_out = ph >> np.uint64(63)
            hn_out = mh >> np.uint64(63)
            ph = (ph << one) | hp_in
            mh = (mh << one) | hn_in
            VP[w] = mh | ~(xv | ph)
            VN[w] = ph & xv
            hp_in = hp_out
            hn_in = hn_out
    return score


@kernel()
def _counts(a, b, work, out):
    """(hits, substitutions, deletions, insertions) turning a (reference) into
    b (hypothesis) along the alignment rapidfuzz's ``Levenshtein.opcodes``
    chooses: common prefix and suffix are hits, then the full DP matrix is
    walked back from the end preferring a deletion, then an insertion, then
    the diagonal (Hyyro's bit-parallel recovery rule, written on the plain
    matrix).  ``work`` holds at least (len(a)+1)*(len(b)+1) int32 cells, or
    is too small, in which case a two-row DP keeps the most-hit alignment."""
    p, q = _affix(a, b)
    n = a.size - p - q
    m = b.size - p - q
    hits = p + q
    subs = 0
    dels = 0
    ins = 0
    s1 = a[p:p + n]
    s2 = b[p:p + m]
    n1 = n + 1
    if n > 0 and m > 0 and (m + 1) * n1 <= work.size:
        M = work
        for i in range(n1):
            M[i] = i
        for j in range(1, m + 1):
            cj = s2[j - 1]
            base = j * n1
            prev = base - n1
            M[base] = j
            left = j
            for i in range(1, n1):
                v = M[prev + i - 1] + (s1[i - 1] != cj)
                up = M[prev + i] + 1
                if up < v:
                    v = up
                if left + 1 < v:
                    v = left + 1
                M[base + i] = v
                left = v
        col = n
        row = m
        while row != 0 and col != 0:
            if M[row * n1 + col] - M[row * n1 + col - 1] == 1:
                dels += 1
                col -= 1
            else:
                row -= 1
                if row != 0 and M[row * n1 + col] - M[row * n1 + col - 1] == -1:
                    ins += 1
                else:
                    col -= 1
                    if s1[col] != s2[row]:
                        subs += 1
                    else:
                        hits += 1
        dels += col
        ins += row
    elif n == 0 or m == 0:
        dels += n
        ins += m
    else:
        # Two rows of (distance, -hits) compared lexicographically; the
        # counts ride along.  Used only for pairs too long for the matrix.
        dist = np.empty((2, n1), np.int64)
        hh = np.empty((2, n1), np.int64)
        ss = np.empty((2, n1), np.int64)
        dd = np.empty((2, n1), np.int64)
        for i in range(n1):
            dist[0, i] = i
            hh[0, i] = 0
            ss[0, i] = 0
            dd[0, i] = i
        for j in range(1, m + 1):
            cur = j & 1
            prv = 1 - cur
            cj = s2[j - 1]
            dist[cur, 0] = j
            hh[cur, 0] = 0
            ss[cur, 0] = 0
            dd[cur, 0] = 0
            for i in range(1, n1):
                eq = s1[i - 1] == cj
                bd = dist[prv, i - 1] + (0 if eq else 1)
                bh = hh[prv, i - 1] + (1 if eq else 0)
                bs = ss[prv, i - 1] + (0 if eq else 1)
                bdel = dd[prv, i - 1]
                # deletion of s1[i-1]
                vd = dist[cur, i - 1] + 1
                if vd < bd or (vd == bd and hh[cur, i - 1] > bh):
                    bd = vd
                    bh = hh[cur, i - 1]
                    bs = ss[cur, i - 1]
                    bdel = dd[cur, i - 1] + 1
                # insertion of s2[j-1]
                vi = dist[prv, i] + 1
                if vi < bd or (vi == bd and hh[prv, i] > bh):
                    bd = vi
                    bh = hh[prv, i]
                    bs = ss[prv, i]
                    bdel = dd[prv, i]
                dist[cur, i] = bd
                hh[cur, i] = bh
                ss[cur, i] = bs
                dd[cur, i] = bdel
            # nothing else
        cur = m & 1
        hits += hh[cur, n]
        subs += ss[cur, n]
        dels += dd[cur, n]
        ins += dist[cur, n] - ss[cur, n] - dd[cur, n]
    out[0] = hits
    out[1] = subs
    out[2] = dels
    out[3] = ins


#: Sentence pairs per parallel task (work space is allocated once per task).
PAIR_BLOCK = 256


@kernel(parallel=True)
def pair_scores(rtok, rlo, rhi, htok, hlo, hhi, want_counts, out):
    """For every pair k: reference rtok[rlo[k]:rhi[k]], hypothesis
    htok[hlo[k]:hhi[k]] (int64 ids: equal ids = equal tokens).
    want_counts: out[k, :4] = (hits, subs, dels, ins); else out[k, 0] =
    distance.  Pairs go in blocks, one work buffer per block."""
    P = rlo.size
    nblk = (P + PAIR_BLOCK - 1) // PAIR_BLOCK
    for blk in numba.prange(nblk):
        lo = blk * PAIR_BLOCK
        hi = min(lo + PAIR_BLOCK, P)
        need = 1
        for k in range(lo, hi):
            la = rhi[k] - rlo[k]
            lb = hhi[k] - hlo[k]
            if want_counts:
                c = (la + 1) * (lb + 1)
            else:
                c = min(la, lb) + 1
            if c > need:
                need = c
        if want_counts:
            if need > FULL_MATRIX_CELLS:
                need = FULL_MATRIX_CELLS
            work = np.empty(need, np.int32)
            for k in range(lo, hi):
                _counts(rtok[rlo[k]:rhi[k]], htok[hlo[k]:hhi[k]], work, out[k])
        else:
            # need - 1 bounds both lengths' minimum: the pattern is the shorter
            cap = _capacity(need)
            keys = np.empty(cap, np.int64)
            used = np.empty(cap, np.bool_)
            peq = np.empty((cap, (need + 63) // 64), np.uint64)
            for k in range(lo, hi):
                out[k, 0] = _distance_bp(rtok[rlo[k]:rhi[k]], htok[hlo[k]:hhi[k]], keys, used, peq)


# ----------------------------------------------------------------------------
# Text to token ids (jiwer's default transforms, on UTF-32 code points)
# ----------------------------------------------------------------------------


@kernel(inline=True)
def _ws(c, space):
    """Is code point c whitespace (``str.isspace``)?  ``space`` is a table up
    to U+3000 (the last whitespace code point) plus one False entry that
    every higher code point maps to, so the test is one clamped load."""
    return space[min(np.int64(c), space.size - 1)]


@kernel()
def _strip(codes, lo, hi, space):
    while lo < hi and _ws(codes[lo], space):
        lo += 1
    while hi > lo and _ws(codes[hi - 1], space):
        hi -= 1
    return lo, hi


@kernel()
def _scan_words(codes, lo, hi, space, starts, ends, tok, k0, write):
    """Words of codes[lo:hi] (already stripped), in one pass.

    Under jiwer's wer_default (collapse runs of >= 2 whitespace characters
    into ' ', strip, split on ' ') a character separates words when it is
    ' ' or a member of a whitespace run of two or more; a lone tab (say)
    stays inside its word.  The flags are computed without branches (word
    boundaries are unpredictable).  Returns the number of words; with
    ``write``, stores each word's span and a 64-bit FNV-1a hash of its code
    points at k0, k0+1, ... (equal words have equal hashes; ids are made
    exact per pair by :func:`word_ids`)."""
    k = 0
    if lo >= hi:
        return 0
    sep_prev = True
    ws_prev = False
    ws_cur = _ws(codes[lo], space)
    h = np.uint64(0)
    for i in range(lo, hi):
        c = codes[i]
        ws_next = False
        if i + 1 < hi:
            ws_next = _ws(codes[i + 1], space)
        sep = (c == 32) | (ws_cur & (ws_prev | ws_next))
        start = (not sep) & sep_prev
        if write:
            if start:
                starts[k0 + k] = i
                h = np.uint64(14695981039346656037)
            elif sep and not sep_prev:
                ends[k0 + k - 1] = i
                tok[k0 + k - 1] = np.int64(h ^ (h >> np.uint64(29)))
            if not sep:
                h = (h ^ np.uint64(c)) * np.uint64(1099511628211)
        k += start
        sep_prev = sep
        ws_prev = ws_cur
        ws_cur = ws_next
    if write and not sep_prev:
        ends[k0 + k - 1] = hi
        tok[k0 + k - 1] = np.int64(h ^ (h >> np.uint64(29)))
    return k


@kernel(parallel=True)
def count_tokens(codes, off, space, words, counts, lo_out, hi_out):
    """Tokens per sentence (words, or characters after stripping); the
    stripped span of each sentence goes to (lo_out, hi_out)."""
    S = off.size - 1
    for s in numba.prange(S):
        lo, hi = _strip(codes, off[s], off[s + 1], space)
        lo_out[s] = lo
        hi_out[s] = hi
        if words:
            counts[s] = _scan_words(codes, lo, hi, space, counts, counts, counts, 0, False)
        else:
            counts[s] = hi - lo


@kernel(parallel=True)
def fill_words(codes, lo, hi, space, toff, tok, starts, ends):
    """Word spans (starts, ends) and hashes, sentence s at toff[s]."""
    for s in numba.prange(lo.size):
        _scan_words(codes, lo[s], hi[s], space, starts, ends, tok, toff[s], True)


@kernel()
def _same_word(c1, s1, e1, c2, s2, e2):
    if e1 - s1 != e2 - s2:
        return False
    for i in range(e1 - s1):
        if c1[s1 + i] != c2[s2 + i]:
            return False
    return True


@kernel(parallel=True)
def word_ids(rcodes, rtok, rs, re, rlo, rhi, hcodes, htok, hs, he, hlo, hhi, rid, hid):
    """Exact per-pair ids: equal words (same code points) get equal ids.
    Hashes only short-cut the comparison; a hash collision cannot make two
    different words equal."""
    for k in numba.prange(rlo.size):
        r0 = rlo[k]
        r1 = rhi[k]
        for i in range(r0, r1):
            rid[i] = i
            for j in range(r0, i):
                if rtok[j] == rtok[i] and _same_word(rcodes, rs[j], re[j], rcodes, rs[i], re[i]):
                    rid[i] = rid[j]
                    break
        nr = r1 - r0
        h0 = hlo[k]
        for i in range(h0, hhi[k]):
            hid[i] = -1 - i
            # Any equal reference word carries the canonical id, so start the
            # search at the same position (hypotheses mostly align with their
            # references) and wrap around.
            off = min(i - h0, nr - 1) if nr > 0 else 0
            for jj in range(nr):
                j = r0 + (off + jj) % nr
                if rtok[j] == htok[i] and _same_word(rcodes, rs[j], re[j], hcodes, hs[i], he[i]):
                    hid[i] = rid[j]
                    break
