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


# ---------------------------------------------------------------------------
# ARPA parsing (bytes of the whole file, as uint8)
# ---------------------------------------------------------------------------

#: 10**0 .. 10**22: exactly representable, so m * P10[e] and m / P10[e] round once
P10 = np.array([10.0 ** i for i in range(23)])
#: status bits of a parsed line
BAD_PROB = 1   # the probability needs Python's float() (or is malformed)
BAD_BO = 2     # the same for the backoff


@kernel(parallel=True)
def count_newlines(buf, chunk, counts):
    """counts[c] = number of b'\\n' in buf[c*chunk:(c+1)*chunk]."""
    n = buf.size
    for c in numba.prange(counts.size):
        lo = c * chunk
        hi = min(lo + chunk, n)
        s = 0
        for p in range(lo, hi):
            s += buf[p] == 10
        counts[c] = s


@kernel(parallel=True)
def newlines(buf, chunk, offsets, out):
    """out[offsets[c]:...] = positions of b'\\n' in chunk c (in order)."""
    n = buf.size
    for c in numba.prange(offsets.size - 1):
        lo = c * chunk
        hi = min(lo + chunk, n)
        q = offsets[c]
        for p in range(lo, hi):
            if buf[p] == 10:
                out[q] = p
                q += 1


@kernel(inline=True)
def ws_len(buf, p, end):
    """Length of the whitespace character (as ``str.split()`` sees it) that
    starts at buf[p] (UTF-8), 0 if it is not whitespace."""
    b = buf[p]
    if b < 128:
        return 1 if (9 <= b <= 13) or (28 <= b <= 32) else 0
    if b == 0xC2:  # U+0085, U+00A0
        if p + 1 < end and (buf[p + 1] == 0x85 or buf[p + 1] == 0xA0):
            return 2
        return 0
    if b < 0xE1 or b > 0xE3 or p + 2 >= end:
        return 0
    b1 = buf[p + 1]
    b2 = buf[p + 2]
    if b == 0xE1:  # U+1680
        return 3 if b1 == 0x9A and b2 == 0x80 else 0
    if b == 0xE3:  # U+3000
        return 3 if b1 == 0x80 and b2 == 0x80 else 0
    if b1 == 0x80:  # U+2000..U+200A, U+2028, U+2029, U+202F
        return 3 if (0x80 <= b2 <= 0x8A) or b2 == 0xA8 or b2 == 0xA9 or b2 == 0xAF else 0
    if b1 == 0x81:  # U+205F
        return 3 if b2 == 0x9F else 0
    return 0


@kernel(inline=True)
def parse_float(buf, a, b):
    """(ok, value) of the decimal number buf[a:b] when it has the form
    [+-]digits[.digits][(e|E)[+-]digits] with at most 19 significant digits
    and a value that one IEEE multiplication or division rounds exactly
    (mantissa < 2**53, |exponent| <= 22, Clinger's fast path); ok = False
    for anything else (Python's float() then decides).  The caller must be
    compiled with ``exact=True`` (no fast-math)."""
    p = a
    neg = False
    if p < b and (buf[p] == 45 or buf[p] == 43):
        neg = buf[p] == 45
        p += 1
    m = np.uint64(0)
    nd = 0        # significant digits in m
    digits = 0    # digits seen
    e = 0
    while p < b and 48 <= buf[p] <= 57:
        d = buf[p] - 48
        digits += 1
        if nd > 0 or d != 0:
            if nd == 19:
                return False, 0.0
            m = m * np.uint64(10) + np.uint64(d)
            nd += 1
        p += 1
    if p < b and buf[p] == 46:
        p += 1
        while p < b and 48 <= buf[p] <= 57:
            d = buf[p] - 48
            digits += 1
            if nd > 0 or d != 0:
                if nd == 19:
                    return False, 0.0
                m = m * np.uint64(10) + np.uint64(d)
                nd += 1
            e -= 1
            p += 1
    if digits == 0:
        return False, 0.0
    if p < b and (buf[p] == 101 or buf[p] == 69):
        p += 1
        eneg = False
        if p < b and (buf[p] == 45 or buf[p] == 43):
            eneg = buf[p] == 45
            p += 1
        x = 0
        ed = 0
        while p < b and 48 <= buf[p] <= 57:
            x = x * 10 + (buf[p] - 48)
            ed += 1
            if ed > 6:
                return False, 0.0
            p += 1
        if ed == 0:
            return False, 0.0
        e += -x if eneg else x
    if p != b:
        return False, 0.0
    if m == 0:
        v = 0.0
    else:
        if m > np.uint64(9007199254740992) or e > 22 or e < -22:
            return False, 0.0
        v = np.float64(m)
        if e >= 0:
            v = v * P10[e]
        else:
            v = v / P10[-e]
    return True, (-v if neg else v)


@kernel(inline=True)
def word_hash(buf, a, b):
    """FNV-1a of buf[a:b], finished by splitmix64's mixer."""
    h = np.uint64(0xCBF29CE484222325)
    for p in range(a, b):
        h = (h ^ np.uint64(buf[p])) * np.uint64(0x100000001B3)
    return step(h, 0)


@kernel(inline=True)
def same_bytes(buf, a, b, c, d):
    if b - a != d - c:
        return False
    for i in range(b - a):
        if buf[a + i] != buf[c + i]:
            return False
    return True


@kernel(parallel=True, exact=True)
def parse_section(buf, nl, line0, k, top, wstart, wend, wslot, whash, grams, prob, bo, nf, status, unknown, hashes):
    """Parse the lines line0 .. line0 + prob.size - 1 of an ARPA file, the
    k-gram section: ``log10 p  w1 .. wk  [backoff]``, fields separated by
    whitespace (``str.split()``'s, UTF-8).  Line i spans
    buf[nl[i-1] + 1 : nl[i]] (nl holds the newline positions, the buffer's
    end appended).

    Per line j: nf[j] = number of fields (counted up to k + 3), prob[j] and
    bo[j] (0 without a backoff) as Python's float() gives them when status[j]
    has neither BAD_PROB nor BAD_BO set, else left for the caller.  Unigrams
    (k = 1): wstart/wend[j] = the word's bytes.  k >= 2: grams[j, :k] = word
    ids, found in the vocabulary hash table (wslot = unigram index or -1,
    whash = its hash); unknown[j] = index of the first word that is not a
    unigram, or -1; hashes[j] = the id tuple's hash (as ``row_hashes``).
    """
    n = prob.size
    wmask = wslot.size - 1
    for j in numba.prange(n):
        i = line0 + j
        a = nl[i - 1] + 1 if i > 0 else 0
        end = nl[i]
        f = 0
        st = 0
        unk = -1
        bo[j] = 0.0
        p = a
        while p < end:
            w = ws_len(buf, p, end)
            if w > 0:
                p += w
                continue
            # a field starts at p
            q = p + 1
            while q < end and ws_len(buf, q, end) == 0:
                q += 1
            if f == 0:
                ok, v = parse_float(buf, p, q)
                if ok:
                    prob[j] = v
                else:
                    st |= BAD_PROB
            elif f <= k:
                if k == 1:
                    wstart[j] = p
                    wend[j] = q
                else:
                    h = word_hash(buf, p, q)
                    s = np.int64(h & np.uint64(wmask))
                    wid = -1
                    while True:
                        u = wslot[s]
                        if u < 0:
                            break
                        if whash[s] == h and same_bytes(buf, wstart[u], wend[u], p, q):
                            wid = u
                            break
                        s = (s + 1) & wmask
                    grams[j, f - 1] = wid
                    if wid < 0 and unk < 0:
                        unk = f - 1
            elif f == k + 1 and not top:
                ok, v = parse_float(buf, p, q)
                if ok:
                    bo[j] = v
                else:
                    st |= BAD_BO
            f += 1
            if f > k + 2:
                break
            p = q
        nf[j] = f
        status[j] = st
        unknown[j] = unk
        if k >= 2 and unk < 0 and f >= k + 1:
            h = H0
            for t in range(k - 1, -1, -1):
                h = step(h, grams[j, t])
            hashes[j] = h


@kernel()
def build_vocab(buf, wstart, wend, wslot, whash):
    """Insert the unigrams in file order into the vocabulary table.  Returns
    (-1, -1), or (j, first) for the first word j listed before as first."""
    mask = wslot.size - 1
    for j in range(wstart.size):
        h = word_hash(buf, wstart[j], wend[j])
        s = np.int64(h & np.uint64(mask))
        while wslot[s] >= 0:
            u = wslot[s]
            if whash[s] == h and same_bytes(buf, wstart[u], wend[u], wstart[j], wend[j]):
                return j, u
            s = (s + 1) & mask
        wslot[s] = j
        whash[s] = h
    return -1, -1


@kernel()
def join_words(buf, wstart, wend, out):
    """out = the words' bytes joined by b'\\n' (out.size = their total + count - 1)."""
    q = 0
    for j in range(wstart.size):
        if j > 0:
            out[q] = 10
            q += 1
        for p in range(wstart[j], wend[j]):
            out[q] = buf[p]
            q += 1


@kernel()
def build_table_checked(hashes, lo, grams, order, slot_row, slot_hash):
    """build_table, and the first row (>= lo) equal to an earlier one, or -1."""
    mask = np.uint64(slot_row.size - 1)
    for k in range(hashes.size):
        h = hashes[k]
        g = lo + k
        s = np.int64(h & mask)
        while slot_row[s] >= 0:
            r = slot_row[s]
            if slot_hash[s] == h and order[r] == order[g]:
                same = True
                for i in range(order[g]):
                    if grams[r, i] != grams[g, i]:
                        same = False
                        break
                if same:
                    return g
            s = (s + 1) & (slot_row.size - 1)
        slot_row[s] = g
        slot_hash[s] = h
    return -1


@kernel(parallel=True)
def affixes(grams, order, slot_row, slot_hash, lo, hi, prefix, miss):
    """Rows lo..hi-1 (one order k >= 3): prefix[g - lo] = row of the prefix
    (k-1)-gram or -1; miss[g - lo] = the prefix or the suffix is absent."""
    for g in numba.prange(lo, hi):
        k = order[g]
        row = grams[g]
        h = H0
        for i in range(k - 2, -1, -1):
            h = step(h, row[i])
        r = find_ctx(slot_row, slot_hash, grams, order, h, k - 1, row, k - 1)
        prefix[g - lo] = r
        h = H0
        for i in range(k - 1, 0, -1):
            h = step(h, row[i])
        miss[g - lo] = r < 0 or find_ctx(slot_row, slot_hash, grams, order, h, k - 1, row[1:], k - 1) < 0
