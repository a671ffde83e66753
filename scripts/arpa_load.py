"""Large ARPA files for timing ``fastloss.load_arpa`` against ``kenlm.Model``.

    python scripts/arpa_load.py make PATH N [--order 3]   # write an ARPA file of ~N n-grams
    python scripts/arpa_load.py time PATH [--repeat 3]    # load times and peak RSS, fresh processes

``make`` draws a back-off 3-gram model (4-gram with ``--order 4``) with numpy:
pseudo-words, Zipf-distributed contexts, every n-gram's context and suffix
listed (so KenLM accepts the file and adds no blanks), log10 probabilities
and backoffs written as ``%.6f`` (SRILM's layout: tab after the probability,
spaces between words, tab before the backoff).  The values are random, not
normalised; neither loader needs that.

``time`` runs each loader in fresh Python processes, one after the other,
``repeat`` times: fastloss in a fresh process (its first call also loads the
compiled kernels from Numba's cache), then fastloss and ``kenlm.Model`` each
after loading a tiny file first; these report the load's wall time and the
memory it added: peak RSS (``ru_maxrss``) and RSS after, minus the RSS
before, beside the ``nbytes`` of fastloss's arrays.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def _words(rng, n):
    syl = np.array([c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["sh", "th", "qu", "x"])
    out = set()
    while len(out) < n:
        k = rng.integers(1, 5, size=2 * (n - len(out)))
        parts = rng.integers(0, syl.size, size=(k.size, 4))
        for kk, p in zip(k.tolist(), parts.tolist()):
            out.add("".join(syl[p[:kk]]))
            if len(out) == n:
                break
    return sorted(out)


def _zipf(rng, n, size, a=1.05):
    w = 1.0 / np.arange(1, n + 1) ** a
    return np.searchsorted(np.cumsum(w / w.sum()), rng.random(size)).clip(0, n - 1)


def make(path, total, order=3, seed=0):
    rng = np.random.default_rng(seed)
    # share of n-grams per order: unigrams ~2-3%, the rest split evenly-ish
    V = max(100, int(total * (0.025 if total < 5e6 else 0.015)))
    rest = total - V - 2
    per = [rest * 0.4] if order == 3 else [rest * 0.25, rest * 0.35]
    per = [int(x) for x in per] + [rest - int(sum(per))]
    words = ["<s>", "</s>", "<unk>"] + _words(rng, V - 1)
    n = len(words)
    # id 0 = <s> (context only), 1 = </s> (predicted only)
    levels = [np.arange(n, dtype=np.int64)[:, None]]
    for k in range(2, order + 1):
        want = per[k - 2]
        prev = levels[-1]
        prev_ctx = prev[prev[:, -1] != 1]  # contexts cannot end in </s>
        if k == 2:
            prev_ctx = prev_ctx[prev_ctx[:, 0] != 2]
        # suffix check: (g[1:]) must be a listed (k-1)-gram; draw from successors of g[1:k-1]
        got = np.empty((0, k), np.int64)
        tries = 0
        while got.shape[0] < want and tries < 8:
            m = int((want - got.shape[0]) * 1.3) + 16
            ctx = prev_ctx[_zipf(rng, prev_ctx.shape[0], m, 0.6)]
            if k == 2:
                w = 1 + _zipf(rng, n - 1, m)  # </s> and words
                w[w == 0] = 1
                cand = np.column_stack([ctx, w])
            else:
                # successors of the last k-2 words of ctx among the (k-1)-grams
                key = prev[:, :-1]
                view = np.ascontiguousarray(key).view(np.dtype((np.void, key.dtype.itemsize * (k - 2))))[:, 0]
                o = np.argsort(view, kind="stable")
                sv = view[o]
                q = np.ascontiguousarray(ctx[:, 1:]).view(view.dtype)[:, 0]
                lo = np.searchsorted(sv, q, "left")
                hi = np.searchsorted(sv, q, "right")
                ok = hi > lo
                pick = lo[ok] + (rng.random(int(ok.sum())) * (hi[ok] - lo[ok])).astype(np.int64)
                cand = np.column_stack([ctx[ok], prev[o[pick], -1]])
            got = np.unique(np.concatenate([got, cand]), axis=0)
            tries += 1
        if got.shape[0] > want:
            got = got[np.sort(rng.permutation(got.shape[0])[:want])]
        levels.append(got)
    probs = [-(rng.random(lv.shape[0]) * 5.0 + 0.05) for lv in levels]
    probs[0][0] = -99.0
    # backoffs for n-grams that are contexts of a longer one (others: absent)
    bos = []
    for k in range(1, order):
        lv, nxt = levels[k - 1], levels[k]
        if k == 1:
            is_ctx = np.zeros(lv.shape[0], bool)
            is_ctx[nxt[:, 0]] = True
        else:
            a = np.ascontiguousarray(lv).view(np.dtype((np.void, 8 * k)))[:, 0]
            b = np.ascontiguousarray(nxt[:, :-1]).view(a.dtype)[:, 0]
            is_ctx = np.isin(a, b)
        bo = -(rng.random(lv.shape[0]) * 1.0)
        bo[rng.random(lv.shape[0]) < 0.02] = 0.0
        bos.append(np.where(is_ctx, bo, np.nan))
    bos.append(np.full(levels[-1].shape[0], np.nan))
    W = np.array(words, dtype=object)
    with open(path, "w") as f:
        f.write("\\data\\\n")
        for k, lv in enumerate(levels, 1):
            f.write(f"ngram {k}={lv.shape[0]}\n")
        for k, (lv, p, b) in enumerate(zip(levels, probs, bos), 1):
            f.write(f"\n\\{k}-grams:\n")
            step = 200_000
            for s in range(0, lv.shape[0], step):
                ws = W[lv[s:s + step]]
                text = [" ".join(r) for r in ws.tolist()] if k > 1 else ws[:, 0].tolist()
                ps = p[s:s + step].tolist()
                bs = b[s:s + step].tolist()
                f.write("".join(f"{pp:.6f}\t{t}\n" if bb != bb else f"{pp:.6f}\t{t}\t{bb:.6f}\n"
                                for pp, t, bb in zip(ps, text, bs)))
        f.write("\n\\end\\\n")
    return [lv.shape[0] for lv in levels]


_CHILD = r"""
import json, os, resource, sys, tempfile, time
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
which, path = sys.argv[1], sys.argv[2]
tiny = os.path.join(tempfile.mkdtemp(), "tiny.arpa")
with open(tiny, "w") as f:
    f.write("\\data\\\nngram 1=3\nngram 2=2\nngram 3=1\n\n\\1-grams:\n-1\t<s>\t-1\n-1\t</s>\n-1\ta\t-1\n\n"
            "\\2-grams:\n-1\t<s> a\t-1\n-1\ta a\n\n\\3-grams:\n-1\t<s> a a\n\n\\end\\\n")
out = {}
if which == "fastloss-cold":  # a fresh process: the kernels are loaded from Numba's cache by this call
    import fastloss
    t = time.perf_counter(); m = fastloss.load_arpa(path); out["time"] = time.perf_counter() - t
    out["counts"] = m.counts
elif which == "fastloss":  # kernels loaded (by a tiny file) before: the time and memory of the load itself
    import fastloss
    fastloss.load_arpa(tiny)
    r0 = rss()
    t = time.perf_counter(); m = fastloss.load_arpa(path); out["time"] = time.perf_counter() - t
    out["nbytes"] = sum(a.nbytes for a in m._tables())
    out["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["rss0"] = r0
    out["rss1"] = rss()
else:
    import kenlm
    kenlm.Model(tiny)
    r0 = rss()
    t = time.perf_counter(); m = kenlm.Model(path); out["time"] = time.perf_counter() - t
    out["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["rss0"] = r0
    out["rss1"] = rss()
print(json.dumps(out))
"""


def time_loaders(path, repeat):
    env = dict(os.environ)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    rows = []
    M = 2 ** 20
    for r in range(repeat):
        row = {}
        for which in ("fastloss-cold", "fastloss", "kenlm"):
            p = subprocess.run([sys.executable, "-c", _CHILD, which, path], capture_output=True, text=True, env=env)
            if p.returncode:
                sys.exit(p.stderr)
            row[which] = json.loads(p.stdout)
        rows.append(row)
        c, f, k = row["fastloss-cold"], row["fastloss"], row["kenlm"]
        print(f"run {r + 1}: fastloss {f['time']:.3f} s (fresh process: {c['time']:.3f} s), kenlm {k['time']:.3f} s: "
              f"{f['time'] / k['time']:.2f}x kenlm ({c['time'] / k['time']:.2f}x); memory added by the load, peak "
              f"(after): fastloss {(f['peak'] - f['rss0']) / M:.0f} MiB ({(f['rss1'] - f['rss0']) / M:.0f} MiB; "
              f"arrays {f['nbytes'] / M:.0f} MiB), kenlm {(k['peak'] - k['rss0']) / M:.0f} MiB "
              f"({(k['rss1'] - k['rss0']) / M:.0f} MiB)", flush=True)
    print("counts", rows[0]["fastloss-cold"]["counts"], "file", f"{os.path.getsize(path) / M:.0f} MiB")
    return rows


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make")
    a.add_argument("path")
    a.add_argument("n", type=float)
    a.add_argument("--order", type=int, default=3)
    b = sub.add_parser("time")
    b.add_argument("path")
    b.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "make":
        t = time.perf_counter()
        counts = make(args.path, int(args.n), args.order)
        print("counts", counts, "total", sum(counts), f"{time.perf_counter() - t:.1f} s")
    else:
        time_loaders(args.path, args.repeat)


if __name__ == "__main__":
    main()
