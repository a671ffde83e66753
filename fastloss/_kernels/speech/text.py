"""Kernels for edit distances and error-rate counting (see :mod:`fastloss.speech.text`).

The edit-distance dynamic programme and the tokenisation of sentences into
words run here, parallel over sentence pairs, with no Python work per
sentence.  The wrappers validate every index first.
"""
from __future__ import annotations

import numpy as np

from ..._core.jit import kernel, numba

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


# ----------------------------------------------------------------------------
# Alignment path (issue 16): the walk of :func:`_counts`, recorded
# ----------------------------------------------------------------------------


@kernel()
def edit_path(a, b, path):
    """Write the alignment rapidfuzz's ``Levenshtein.opcodes`` picks, one code
    per step in forward order (0 hit, 1 substitution, 2 deletion, 3
    insertion), into ``path`` (size >= len(a) + len(b)); return its length.
    Same walk as :func:`_counts` (full matrix; the caller bounds its size)."""
    p, q = _affix(a, b)
    n = a.size - p - q
    m = b.size - p - q
    s1 = a[p:p + n]
    s2 = b[p:p + m]
    n1 = n + 1
    rev = np.empty(n + m, np.int8)
    k = 0
    if n > 0 and m > 0:
        M = np.empty((m + 1) * n1, np.int32)
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
                rev[k] = 2
                k += 1
                col -= 1
            else:
                row -= 1
                if row != 0 and M[row * n1 + col] - M[row * n1 + col - 1] == -1:
                    rev[k] = 3
                    k += 1
                else:
                    col -= 1
                    rev[k] = 0 if s1[col] == s2[row] else 1
                    k += 1
        for _ in range(col):
            rev[k] = 2
            k += 1
        for _ in range(row):
            rev[k] = 3
            k += 1
    else:
        for _ in range(n):
            rev[k] = 2
            k += 1
        for _ in range(m):
            rev[k] = 3
            k += 1
    t = 0
    for _ in range(p):
        path[t] = 0
        t += 1
    for i in range(k - 1, -1, -1):
        path[t] = rev[i]
        t += 1
    for _ in range(q):
        path[t] = 0
        t += 1
    return t
