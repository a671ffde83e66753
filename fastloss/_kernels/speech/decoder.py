"""Kernel of the LM-fused CTC prefix beam search (:mod:`fastloss.speech.decoder`).

The search is the prefix search of ``fastloss._kernels.decode._search_one``
(blank- and label-ending log-probabilities per prefix, prefixes unique in a
trie, exact merging) with one addition: every trie node also carries the
language-model part of its score, computed once when the node is created
(the LM state after the node's completed words, the partial word's place in
a character trie of known words, and their scores).  Because that part is a
function of the prefix alone, merging stays exact.

Nodes are rows of two growable arrays: ``ni`` (int32 fields) and ``nf``
(float64 fields), so that growing the trie is one reallocation of two arrays.
"""
from __future__ import annotations


import numpy as np

from ..._core.jit import kernel, numba
from .decode import _insert, _logaddexp  # the same beam bookkeeping as the LM-free search
from .lm import base_score, step

NEG_INF = -np.inf

# ni columns
PARENT, TOKEN, CHILD, SIB, NWORDS, WNODE, PLEN, CTXLEN, CTX = 0, 1, 2, 3, 4, 5, 6, 7, 8
# nf columns
ACC, RAW, PART = 0, 1, 2
#: log2 of the entries of the per-utterance cache of word-trie steps (node, token) -> node
WALK_BITS = 12
#: log2 of the entries of the per-utterance cache of LM queries
LMC_BITS = 12
#: pyctcdecode's AVG_TOKEN_LEN: a partial out-of-vocabulary word longer than
#: this many characters gets its penalty scaled by length / 6.
AVG_TOKEN_LEN = 6


@kernel(inline=True)
def _trie_child(tkey, tval, node, ch):
    """Child of word-trie node ``node`` by code point ``ch``, or -1."""
    key = (np.int64(node) << np.int64(21)) | np.int64(ch)
    mask = tkey.size - 1
    s = np.int64(step(np.uint64(0), key) & np.uint64(mask))
    while True:
        k = tkey[s]
        if k < 0:
            return -1
        if k == key:
            return tval[s]
        s = (s + 1) & mask


@kernel()
def _partial_score(wnode, plen, hot_min, pscore, p_out, unk_offset, hot_weight):
    """Score of an unfinished word of ``plen`` characters at word-trie node
    ``wnode`` (-1: off the trie; its score is then ``p_out``), as
    pyctcdecode's ``score_partial_token``: a prefix of a hotword gets
    weight * len / (shortest such hotword's length); else ``pscore[wnode]``:
    the look-ahead of a prefix of known (lexicon) words (0 without
    smearing), -inf for no prefix of a lexicon word, NaN for no prefix of a
    known word with an LM, which scores ``unk_offset`` (times len / 6
    beyond 6 characters).  ``hot_min`` has one entry without hotwords."""
    if plen == 0:
        return 0.0
    if wnode < 0:
        v = p_out
    else:
        if wnode < hot_min.size and hot_min[wnode] > 0:
            return hot_weight * plen / hot_min[wnode]
        v = pscore[wnode]
    if v != v:
        v = unk_offset
        if plen > AVG_TOKEN_LEN:
            v = v * plen / AVG_TOKEN_LEN
    return v


@kernel(inline=True)
def _insort_desc(vals, ids, n, v, c):
    """Insert (v, c) into the first n entries of vals/ids, kept in
    descending order of vals (after equal values: stable)."""
    q = n
    while q > 0 and vals[q - 1] < v:
        vals[q] = vals[q - 1]
        ids[q] = ids[q - 1]
        q -= 1
    vals[q] = v
    ids[q] = c


@kernel()
def _grow(ni, nf, need):
    cap = ni.shape[0]
    if need <= cap:
        return ni, nf
    while cap < need:
        cap *= 2
    ni2 = np.empty((cap, ni.shape[1]), np.int32)
    nf2 = np.empty((cap, nf.shape[1]), np.float64)
    # loops: a slice assignment from an array compiles Numba's string-formatting error path (seconds)
    for i in range(ni.shape[0]):
        for j in range(ni.shape[1]):
            ni2[i, j] = ni[i, j]
    for i in range(nf.shape[0]):
        for j in range(nf.shape[1]):
            nf2[i, j] = nf[i, j]
    return ni2, nf2


@kernel()
def _complete(ni, nf, src, dst, wi, lmt, lm_order, unk_id, alpha_ln10, beta, unk_offset, hot_weight,
              w_lmid, w_uni, w_hot, w_lex, use_lex, word_known, lmw):
    """Score one completed word for node ``dst`` from the state of node
    ``src`` (dst may equal src): word index ``wi`` (-1: not in the word
    trie).  ``lmw`` = (work space for the LM state, and a direct-mapped
    cache of LM queries: int rows (m, word, context, m2, next state) and
    their log10 p); many prefixes share their last words.  Returns False
    when the lexicon forbids the word."""
    if use_lex and (wi < 0 or not w_lex[wi]):
        return False
    grams, order, prob, bo, keep, slot_row, slot_hash = lmt
    add = 0.0
    raw = 0.0
    if lm_order > 0:
        lmid = w_lmid[wi] if wi >= 0 else unk_id
        out, ck, cp = lmw
        m = ni[src, CTXLEN]
        h = step(np.uint64(m), lmid)
        for i in range(m):
            h = step(h, ni[src, CTX + i])
        slot = np.int64(h & np.uint64(ck.shape[0] - 1))
        hit = ck[slot, 0] == m and ck[slot, 1] == lmid
        if hit:
            for i in range(m):
                if ck[slot, 2 + i] != ni[src, CTX + i]:
                    hit = False
                    break
        if hit:
            p = cp[slot]
            m2 = ck[slot, 2 + lm_order]
            for i in range(m2):
                out[i] = ck[slot, 3 + lm_order + i]
        else:
            ctx = ni[src, CTX:CTX + lm_order]
            p, _, m2 = base_score(grams, order, prob, bo, keep, slot_row, slot_hash, lm_order, ctx, m, lmid, out)
            ck[slot, 0] = m
            ck[slot, 1] = lmid
            for i in range(m):
                ck[slot, 2 + i] = ni[src, CTX + i]
            ck[slot, 2 + lm_order] = m2
            for i in range(m2):
                ck[slot, 3 + lm_order + i] = out[i]
            cp[slot] = p
        raw = p
        q = p
        if not word_known or wi < 0 or not w_uni[wi]:
            q += unk_offset
        add = alpha_ln10 * q + beta
        ni[dst, CTXLEN] = m2
        for i in range(m2):
            ni[dst, CTX + i] = out[i]
    if wi >= 0 and w_hot[wi]:
        add += hot_weight
    nf[dst, ACC] = nf[src, ACC] + add
    nf[dst, RAW] = nf[src, RAW] + raw
    ni[dst, NWORDS] = ni[src, NWORDS] + 1
    return True


@kernel()
def _new_child(ni, nf, nnodes, P, c, tok_start, tok_chars, tok_off, tok_lmid, char_mode,
               tkey, tval, term, hot_min, pscore, p_out, w_lmid, w_uni, w_hot, w_lex,
               lmt, lm_order, unk_id, alpha_ln10, beta, unk_offset, hot_weight, use_lex, lmw):
    """Fill node ``nnodes`` = prefix(P) + token c; returns False if the
    lexicon forbids it (the node is then given a -inf partial score).
    ``lmw``: LM work space and query cache (see _complete)."""
    d = nnodes
    ni[d, PARENT] = P
    ni[d, TOKEN] = c
    ni[d, CHILD] = -1
    ni[d, SIB] = ni[P, CHILD]
    ni[P, CHILD] = d
    for j in range(NWORDS, ni.shape[1]):
        ni[d, j] = ni[P, j]
    nf[d, ACC] = nf[P, ACC]
    nf[d, RAW] = nf[P, RAW]
    nf[d, PART] = 0.0
    has_lm = lm_order > 0
    if char_mode:
        # every token is an LM word (characters of a character LM)
        wi = -1
        known = tok_lmid[c] != unk_id
        if has_lm:
            m = ni[P, CTXLEN]
            p, _, m2 = base_score(lmt[0], lmt[1], lmt[2], lmt[3], lmt[4], lmt[5], lmt[6], lm_order,
                                  ni[P, CTX:CTX + lm_order], m, tok_lmid[c], lmw[0])
            q = p if known else p + unk_offset
            nf[d, ACC] += alpha_ln10 * q + beta
            nf[d, RAW] += p
            ni[d, CTXLEN] = m2
            for i in range(m2):
                ni[d, CTX + i] = lmw[0][i]
        ni[d, NWORDS] += 1
        return True
    ok = True
    wnode = ni[P, WNODE]
    plen = ni[P, PLEN]
    if tok_start[c]:
        if plen > 0:
            wi = term[wnode] if wnode >= 0 else -1
            ok = _complete(ni, nf, P, d, wi, lmt, lm_order, unk_id, alpha_ln10, beta, unk_offset, hot_weight,
                           w_lmid, w_uni, w_hot, w_lex, use_lex, True, lmw)
        wnode = 0
        plen = 0
    for q in range(tok_off[c], tok_off[c + 1]):
        if wnode >= 0:
            wnode = _trie_child(tkey, tval, wnode, tok_chars[q])
        plen += 1
    ni[d, WNODE] = wnode
    ni[d, PLEN] = plen
    if ok:
        nf[d, PART] = _partial_score(wnode, plen, hot_min, pscore, p_out, unk_offset, hot_weight)
    else:
        nf[d, PART] = NEG_INF
    return nf[d, PART] > NEG_INF


@kernel()
def _child(ni, nf, nnodes, P, c, tok_start, tok_chars, tok_off, tok_lmid, char_mode,
           tkey, tval, term, hot_min, pscore, p_out, w_lmid, w_uni, w_hot, w_lex,
           lmt, lm_order, unk_id, alpha_ln10, beta, unk_offset, hot_weight, use_lex, lmw):
    """The trie node of prefix(P) + c, found or created: (ni, nf, node, nnodes)."""
    ch = ni[P, CHILD]
    while ch >= 0 and ni[ch, TOKEN] != c:
        ch = ni[ch, SIB]
    if ch >= 0:
        return ni, nf, ch, nnodes
    if nnodes == ni.shape[0]:
        ni, nf = _grow(ni, nf, nnodes + 1)
    _new_child(ni, nf, nnodes, P, c, tok_start, tok_chars, tok_off, tok_lmid, char_mode,
               tkey, tval, term, hot_min, pscore, p_out, w_lmid, w_uni, w_hot, w_lex,
               lmt, lm_order, unk_id, alpha_ln10, beta, unk_offset, hot_weight, use_lex, lmw)
    return ni, nf, nnodes, nnodes + 1


@kernel()
def _end_score(ni, nf, node, term, w_lmid, w_uni, w_hot, w_lex, lmt, lm_order, unk_id, eos_id, alpha_ln10, beta,
               unk_offset, hot_weight, use_lex, char_mode, scratch_i, scratch_f, drop, lmw):
    """LM score of the finished hypothesis (completed words, the last
    partial word scored as a word unless ``drop``, then </s>) and its raw
    log10 part and word count; the scratch row (index 0 of
    scratch_i/scratch_f) is work space."""
    acc = nf[node, ACC]
    raw = nf[node, RAW]
    nw = ni[node, NWORDS]
    for j in range(ni.shape[1]):
        scratch_i[0, j] = ni[node, j]
    scratch_f[0, ACC] = acc
    scratch_f[0, RAW] = raw
    out = lmw[0]
    if not char_mode and ni[node, PLEN] > 0 and not drop:
        wnode = ni[node, WNODE]
        wi = term[wnode] if wnode >= 0 else -1
        # src, dst typed as _new_child's (int32 node, int64 count): one compiled _complete
        if not _complete(scratch_i, scratch_f, np.int32(0), np.int64(0), wi, lmt, lm_order, unk_id, alpha_ln10,
                         beta, unk_offset, hot_weight, w_lmid, w_uni, w_hot, w_lex, use_lex, True, lmw):
            return NEG_INF, raw, nw
        acc = scratch_f[0, ACC]
        raw = scratch_f[0, RAW]
        nw = scratch_i[0, NWORDS]
    if lm_order > 0 and eos_id >= 0:
        p, _, _ = base_score(lmt[0], lmt[1], lmt[2], lmt[3], lmt[4], lmt[5], lmt[6], lm_order,
                             scratch_i[0, CTX:CTX + lm_order], scratch_i[0, CTXLEN], eos_id, out)
        acc += alpha_ln10 * p
        raw += p
    return acc, raw, nw


@kernel()
def _align(lp, T, toks, L, blank, tstart, tend, tlogp):
    """Viterbi (best single) alignment of the label sequence toks[:L] to
    lp[:T]: for each token its first frame, last frame + 1 and summed
    log-probability over its frames.  Ties prefer staying in a state, then
    the blank-skipping move (as torchaudio's forced_align prefers the
    current state)."""
    S = 2 * L + 1
    if L == 0 or T == 0:
        return
    dp = np.full((T, S), NEG_INF)
    bp = np.zeros((T, S), np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    dp[0, 0] = np.float64(lp[0, blank])
    dp[0, 1] = np.float64(lp[0, toks[0]])
    for t in range(1, T):
        for s in range(S):
            lab = blank if s % 2 == 0 else toks[s // 2]
            best = dp[t - 1, s]
            arg = 0
            if s >= 1 and dp[t - 1, s - 1] > best:
                best = dp[t - 1, s - 1]
                arg = 1
            if s >= 2 and s % 2 == 1 and toks[s // 2] != toks[s // 2 - 1] and dp[t - 1, s - 2] > best:
                best = dp[t - 1, s - 2]
                arg = 2
            dp[t, s] = best + np.float64(lp[t, lab])
            bp[t, s] = arg
    s = S - 1
    if S >= 2 and dp[T - 1, S - 2] > dp[T - 1, S - 1]:
        s = S - 2
    for k in range(L):
        tstart[k] = T
        tend[k] = 0
        tlogp[k] = 0.0
    for t in range(T - 1, -1, -1):
        if s % 2 == 1:
            k = s // 2
            tstart[k] = t
            if tend[k] == 0:
                tend[k] = t + 1
            tlogp[k] += np.float64(lp[t, toks[k]])
        if t > 0:
            s -= bp[t, s]


@kernel(inline=True)
def _threshold(cand_score, order, W, cnt, best, use_prune, prune):
    """The score a candidate must reach to be kept: the W-th best so far
    (once W are held), and ``best + prune`` (the best only grows, so what
    falls below it now falls below the final cut)."""
    thr = cand_score[order[W - 1]] if cnt == W else NEG_INF
    if use_prune and best + prune > thr:
        thr = best + prune
    return thr


@kernel()
def _search_one(lp, T, blank, W, top_k, drop_partial, use_tok, tok_min, use_prune, prune,
                tok_start, tok_chars, tok_off, tok_lmid, char_mode,
                tkey, tval, term, hot_min, pscore, p_out, w_lmid, w_uni, w_hot, w_lex,
                lmt, lm_order, bos_len, bos_ctx, eos_id, unk_id, alpha_ln10, beta, unk_offset, hot_weight, use_lex,
                bonus_in, bonus_max, use_gain, gtab, unk_gain, masks, out_tokens, out_len, out_score, out_ac, out_lm, out_raw,
                out_nw, out_tstart, out_tend, out_tlogp):
    C = lp.shape[1]
    ncol = CTX + max(lm_order, 1)
    cap = 1024
    ni = np.empty((cap, ncol), np.int32)
    nf = np.empty((cap, 3), np.float64)
    for j in range(ncol):
        ni[0, j] = 0
    ni[0, PARENT] = -1
    ni[0, TOKEN] = -1
    ni[0, CHILD] = -1
    ni[0, SIB] = -1
    ni[0, CTXLEN] = bos_len if lm_order > 0 else 0
    for i in range(bos_len):
        if lm_order > 0:
            ni[0, CTX + i] = bos_ctx[i]
    nf[0, ACC] = 0.0
    nf[0, RAW] = 0.0
    nf[0, PART] = 0.0
    nnodes = np.int64(1)  # not the literal 1: a literal argument compiles the node helpers twice
    beam_of = np.full(cap, -1, np.int32)
    node = np.empty(W, np.int32)
    pb = np.empty(W, np.float64)
    pnb = np.empty(W, np.float64)
    nbeam = 1
    node[0] = 0
    pb[0] = 0.0
    pnb[0] = NEG_INF
    ncand = W + W * C
    cand_b = np.empty(W, np.float64)
    cand_nb = np.empty(W, np.float64)
    cand_score = np.empty(ncand, np.float64)
    ext_ac = np.empty(W * C, np.float64)
    ext_child = np.empty(W * C, np.int32)
    ext_wn = np.empty(W * C, np.int32)     # word-trie node and partial score of an in-word extension
    ext_part = np.empty(W * C, np.float64)
    merged = np.zeros(W * C, np.bool_)
    order = np.empty(ncand, np.int64)
    allowed = np.ones(C, np.bool_)
    syms = np.empty(C, np.int64)     # the frame's non-blank allowed tokens (see below)
    lps = np.empty(C, np.float64)    # and their log-probabilities
    syms2 = np.empty(C, np.int64)
    lps2 = np.empty(C, np.float64)
    tot = np.empty(W, np.float64)
    new_node = np.empty(W, np.int32)
    new_pb = np.empty(W, np.float64)
    new_pnb = np.empty(W, np.float64)
    scratch_i = np.zeros((1, ncol), np.int32)
    scratch_f = np.zeros((1, 3), np.float64)
    lm_out = np.empty(max(lm_order, 1), np.int32)
    lm_ck = np.full((1 << LMC_BITS if lm_order > 0 else 1, 2 * lm_order + 3), -1, np.int32)
    lm_cp = np.zeros(lm_ck.shape[0], np.float64)
    lmw = (lm_out, lm_ck, lm_cp)
    walk_key = np.full(1 << WALK_BITS, -1, np.int64)
    walk_val = np.empty(1 << WALK_BITS, np.int32)

    for t in range(T):
        if beam_of.size < ni.shape[0]:  # the trie grew (node -> beam map must cover every node)
            b2 = np.full(ni.shape[0], -1, np.int32)
            for j in range(beam_of.size):  # a loop, as in _grow
                b2[j] = beam_of[j]
            beam_of = b2
        if use_tok:
            am = 0
            for c in range(C):
                v = np.float64(lp[t, c])
                allowed[c] = v >= tok_min
                if v > np.float64(lp[t, am]):
                    am = c
            allowed[am] = True
            if use_lex:  # a lexicon can forbid every other token: the blank keeps the beams alive
                allowed[blank] = True
        # the frame's allowed non-blank tokens, most likely first: those that
        # continue a word in syms[:n_in], then those that start one (and every
        # token with a character LM: each is scored by the LM) in syms[n_in:nsym]
        n_in = 0
        n_st = 0
        for c in range(C):
            if c != blank and allowed[c]:
                v = np.float64(lp[t, c])
                if char_mode or tok_start[c]:
                    _insort_desc(lps2, syms2, n_st, v, c)
                    n_st += 1
                else:
                    _insort_desc(lps, syms, n_in, v, c)
                    n_in += 1
        for q in range(n_st):
            lps[n_in + q] = lps2[q]
            syms[n_in + q] = syms2[q]
        nsym = n_in + n_st
        lblank = np.float64(lp[t, blank])
        for i in range(nbeam):
            tot[i] = _logaddexp(pb[i], pnb[i])
            beam_of[node[i]] = i
        for i in range(nbeam):
            cand_b[i] = tot[i] + lblank if allowed[blank] else NEG_INF
            last = ni[node[i], TOKEN]
            nb_ = NEG_INF
            if last >= 0 and allowed[last]:
                nb_ = pnb[i] + np.float64(lp[t, last])
            cand_nb[i] = nb_
        for i in range(nbeam):
            par = ni[node[i], PARENT]
            if par >= 0:
                j = beam_of[par]
                if j >= 0:
                    c = ni[node[i], TOKEN]
                    merged[j * C + c] = True
                    if allowed[c]:
                        if ni[par, TOKEN] == c:
                            e = pb[j] + np.float64(lp[t, c])
                        else:
                            e = tot[j] + np.float64(lp[t, c])
                        cand_nb[i] = _logaddexp(cand_nb[i], e)
        # Candidates: the stays (index i), then the extensions (beam i, token
        # c; index W + i*C + c).  The running top-W list ranks equal scores by
        # index, so it does not depend on the order in which candidates are
        # scored.  Each beam tries the frame's tokens most likely first, and
        # stops at the first whose acoustic score plus the most its LM part
        # can gain (bonus_max) cannot reach the threshold: the current W-th
        # candidate, or the running best + beam_prune_logp (the best only
        # grows, so such a candidate would fall to the final cut).  Before
        # this, every (beam, token) pair was tested.
        # A token that completes a word (or any token, with a character LM)
        # needs an LM query: its child node is found or created now, so the
        # query is made once per (prefix, token).  Other tokens only walk the
        # word trie; their node is made if they are selected (creating one for
        # every allowed extension cost ~10x in time).  The beam_prune_logp cut
        # is applied to the sorted list at the end: the same set as cutting
        # first.
        best = NEG_INF
        cnt = 0
        for i in range(nbeam):
            s = _logaddexp(cand_b[i], cand_nb[i]) + nf[node[i], ACC] + nf[node[i], PART]
            cand_score[i] = s
            if s > best:
                best = s
            if s > NEG_INF:
                cnt = _insert(cand_score, order, W, cnt, s, i)
        thr = _threshold(cand_score, order, W, cnt, best, use_prune, prune)
        for i in range(nbeam):
            P = node[i]
            last = ni[P, TOKEN]
            accP = nf[P, ACC]
            # upper bounds of an extension's score, less the token's log-probability
            # (bonus_in: the most a token inside a word can add to the LM part;
            # bonus_max: one that completes a word); the slack covers rounding
            # (the bound is summed in another order than the score)
            wn = ni[P, WNODE]
            pl = ni[P, PLEN]
            g_st = bonus_max
            g_in = bonus_in
            if use_gain:
                # per word-trie node (one cache line): the bound of a start token
                # (the word it completes is known) and of a token inside the word
                # (the child's look-ahead is at most the parent's; an unknown
                # partial word scores at most unk_offset)
                if wn >= 0:
                    g_st = gtab[wn, 0]
                    g_in = gtab[wn, 1]
                else:
                    g_st = unk_gain
                    g_in = NEG_INF if use_lex else unk_offset
            slack = 1e-12 * (1.0 + abs(tot[i]) + abs(accP))
            base_in = tot[i] + accP + g_in + slack
            base_st = tot[i] + accP + g_st + slack
            q = 0
            while q < nsym:
                lc = lps[q]
                if q < n_in:
                    bnd = base_in + lc
                    if bnd < thr:  # the rest of the in-word tokens cannot do better
                        q = n_in
                        continue
                else:
                    bnd = base_st + lc
                    if bnd < thr:
                        break
                c = syms[q]
                q += 1
                k = i * C + c
                if merged[k]:
                    continue
                if q <= n_in and wn >= 0 and masks.shape[0] > 1 and not (masks[wn, c >> 6] >> np.uint64(c & 63)) & 1:
                    # the token leads off the known (lexicon) words: impossible
                    # with a lexicon, else the partial word scores unk_offset or less
                    if use_lex or bnd - g_in + unk_offset < thr:
                        continue
                e = (pb[i] if c == last else tot[i]) + lc
                if e == NEG_INF:
                    continue
                if c == last and bnd - tot[i] + pb[i] < thr:
                    continue
                if char_mode or tok_start[c]:
                    ni, nf, ch, nnodes = _child(ni, nf, nnodes, P, c, tok_start, tok_chars, tok_off, tok_lmid,
                                                char_mode, tkey, tval, term, hot_min, pscore, p_out, w_lmid,
                                                w_uni, w_hot, w_lex, lmt, lm_order, unk_id, alpha_ln10, beta,
                                                unk_offset, hot_weight, use_lex, lmw)
                    s = e + nf[ch, ACC] + nf[ch, PART]
                else:
                    ch = -2
                    w2 = -1
                    if wn >= 0:  # the word-trie walk, through a small cache of (node, token) pairs
                        key = np.int64(wn) * C + c
                        slot = (np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - WALK_BITS)
                        if walk_key[slot] == key:
                            w2 = walk_val[slot]
                        else:
                            w2 = wn
                            for r in range(tok_off[c], tok_off[c + 1]):
                                if w2 >= 0:
                                    w2 = _trie_child(tkey, tval, w2, tok_chars[r])
                            walk_key[slot] = key
                            walk_val[slot] = w2
                    part = _partial_score(w2, pl + tok_off[c + 1] - tok_off[c], hot_min, pscore, p_out, unk_offset,
                                          hot_weight)
                    s = e + accP + part
                    ext_wn[k] = w2
                    ext_part[k] = part
                if s > best:
                    best = s
                if s > NEG_INF and s >= thr:
                    ext_child[k] = ch
                    ext_ac[k] = e
                    cnt = _insert(cand_score, order, W, cnt, s, W + k)
                    thr = _threshold(cand_score, order, W, cnt, best, use_prune, prune)
        if use_prune:
            thresh = best + prune
            while cnt > 0 and not (cand_score[order[cnt - 1]] >= thresh):
                cnt -= 1
        # clear the merge flags, and the node -> beam map
        for i in range(nbeam):
            nd = node[i]
            par = ni[nd, PARENT]
            if par >= 0:
                j = beam_of[par]
                if j >= 0:
                    merged[j * C + ni[nd, TOKEN]] = False
        for i in range(nbeam):
            beam_of[node[i]] = -1
        for r in range(cnt):
            k = order[r]
            if k < W:
                new_node[r] = node[k]
                new_pb[r] = cand_b[k]
                new_pnb[r] = cand_nb[k]
            else:
                ch = ext_child[k - W]
                if ch == -2:
                    # an in-word extension: its node (found, or made here from the
                    # word-trie walk and partial score of the candidate loop, as
                    # _new_child would make it, without calling it)
                    i = (k - W) // C
                    c = (k - W) - i * C
                    P = node[i]
                    ch = ni[P, CHILD]
                    while ch >= 0 and ni[ch, TOKEN] != c:
                        ch = ni[ch, SIB]
                    if ch < 0:
                        if nnodes == ni.shape[0]:
                            ni, nf = _grow(ni, nf, nnodes + 1)
                        ch = nnodes
                        nnodes += 1
                        ni[ch, PARENT] = P
                        ni[ch, TOKEN] = c
                        ni[ch, CHILD] = -1
                        ni[ch, SIB] = ni[P, CHILD]
                        ni[P, CHILD] = ch
                        for j in range(NWORDS, ncol):
                            ni[ch, j] = ni[P, j]
                        ni[ch, WNODE] = ext_wn[k - W]
                        ni[ch, PLEN] = ni[P, PLEN] + tok_off[c + 1] - tok_off[c]
                        nf[ch, ACC] = nf[P, ACC]
                        nf[ch, RAW] = nf[P, RAW]
                        nf[ch, PART] = ext_part[k - W]
                new_node[r] = ch
                new_pb[r] = NEG_INF
                new_pnb[r] = ext_ac[k - W]
        nbeam = cnt
        for r in range(cnt):
            node[r] = new_node[r]
            pb[r] = new_pb[r]
            pnb[r] = new_pnb[r]
        if nbeam == 0:
            return 0

    # final: complete the last word, add </s>, rank
    fin_lm = np.empty(W, np.float64)
    fin_raw = np.empty(W, np.float64)
    fin_nw = np.empty(W, np.int64)
    fin_ac = np.empty(W, np.float64)
    cnt = 0
    # with a lexicon, when no hypothesis ends in a lexicon word (the input
    # stops inside a word), a second pass drops the unfinished word, as
    # flashlight's LexiconDecoder does, rather than return nothing.  With
    # drop_partial (flashlight's rule), the first pass takes only the
    # hypotheses that end at a word boundary, and the second (if none does)
    # drops every unfinished word.
    drop = False
    for rnd in range(2 if (use_lex or drop_partial) and not char_mode else 1):
        if rnd == 1:
            if cnt > 0:
                break
            drop = True
        for i in range(nbeam):
            if rnd == 0 and drop_partial and not char_mode and ni[node[i], PLEN] > 0:
                continue
            a = _logaddexp(pb[i], pnb[i])
            l, r_, nw = _end_score(ni, nf, node[i], term, w_lmid, w_uni, w_hot, w_lex, lmt, lm_order, unk_id,
                                   eos_id, alpha_ln10, beta, unk_offset, hot_weight, use_lex, char_mode, scratch_i,
                                   scratch_f, drop, lmw)
            fin_lm[i] = l
            fin_raw[i] = r_
            fin_nw[i] = nw
            fin_ac[i] = a
            s = a + l
            if s > NEG_INF:
                cnt = _insert(cand_score, order, top_k, cnt, s, i)
    for r in range(cnt):
        i = order[r]
        nd = node[i]
        if drop and ni[nd, PLEN] > 0:
            # back to the end of the last whole word: above the token that starts the
            # partial word (a delimiter, or a word-start piece with characters)
            while nd > 0 and not tok_start[ni[nd, TOKEN]]:
                nd = ni[nd, PARENT]
            if nd > 0 and tok_off[ni[nd, TOKEN] + 1] > tok_off[ni[nd, TOKEN]]:
                nd = ni[nd, PARENT]
        L = 0
        x = nd
        while x > 0:
            L += 1
            x = ni[x, PARENT]
        out_len[r] = L
        out_score[r] = cand_score[i]
        out_ac[r] = fin_ac[i]
        out_lm[r] = fin_lm[i]
        out_raw[r] = fin_raw[i]
        out_nw[r] = fin_nw[i]
        x = nd
        p = L - 1
        while x > 0:
            out_tokens[r, p] = ni[x, TOKEN]
            p -= 1
            x = ni[x, PARENT]
        _align(lp, T, out_tokens[r], L, blank, out_tstart[r], out_tend[r], out_tlogp[r])
    return cnt


@kernel(parallel=True)
def decode(x, bf, lengths, blank, W, top_k, drop_partial, use_tok, tok_min, use_prune, prune,
           tok_start, tok_chars, tok_off, tok_lmid, char_mode,
           tkey, tval, term, hot_min, pscore, p_out, w_lmid, w_uni, w_hot, w_lex,
           lmt, lm_order, bos_len, bos_ctx, eos_id, unk_id, alpha_ln10, beta, unk_offset, hot_weight, use_lex,
           bonus_in, bonus_max, use_gain, gtab, unk_gain, masks, out_tokens, out_len, out_score, out_ac, out_lm, out_raw, out_nw, out_tstart, out_tend, out_tlogp,
           out_count):
    """LM-fused prefix beam search, parallel over utterances (one per task)."""
    N = x.shape[0] if bf else x.shape[1]
    for n in numba.prange(N):
        lp = x[n] if bf else x[:, n, :]
        out_count[n] = _search_one(
            lp, lengths[n], blank, W, top_k, drop_partial, use_tok, tok_min, use_prune, prune,
            tok_start, tok_chars, tok_off, tok_lmid, char_mode,
            tkey, tval, term, hot_min, pscore, p_out, w_lmid, w_uni, w_hot, w_lex,
            lmt, lm_order, bos_len, bos_ctx, eos_id, unk_id, alpha_ln10, beta, unk_offset, hot_weight, use_lex,
            bonus_in, bonus_max, use_gain, gtab, unk_gain, masks, out_tokens[n], out_len[n], out_score[n], out_ac[n], out_lm[n], out_raw[n], out_nw[n],
            out_tstart[n], out_tend[n], out_tlogp[n])


@kernel()
def build_word_trie(chars, offs, tkey, tval, term, nodes_out):
    """Insert words (code points chars[offs[w]:offs[w+1]]) into a trie held
    in a hash table keyed by (node << 21 | code point); node 0 is the root.
    term[node] = index of the word ending there (the first one, if repeated).
    Returns the number of nodes; nodes_out[p] = the node after character p
    (so callers can mark prefixes)."""
    n = 1
    mask = tkey.size - 1
    for w in range(offs.size - 1):
        node = 0
        for p in range(offs[w], offs[w + 1]):
            key = (np.int64(node) << np.int64(21)) | np.int64(chars[p])
            s = np.int64(step(np.uint64(0), key) & np.uint64(mask))
            while tkey[s] >= 0 and tkey[s] != key:
                s = (s + 1) & mask
            if tkey[s] < 0:
                tkey[s] = key
                tval[s] = n
                term[n] = -1
                n += 1
            node = tval[s]
            nodes_out[p] = node
        if term[node] < 0 and offs[w + 1] > offs[w]:
            term[node] = w
    return n
