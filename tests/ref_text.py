"""Twin of the issue-16 text additions: the alignment picture built from a
plain Levenshtein table walked back (any optimal path), compared on pairs
whose optimal alignment is unique."""
from __future__ import annotations

from reference import twin


def align(ref, hyp):
    """List of (op, ref token or None, hyp token or None), one optimal path."""
    n, m = len(ref), len(hyp)
    D = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        D[i][0] = i
    for j in range(m + 1):
        D[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            D[i][j] = min(D[i - 1][j] + 1, D[i][j - 1] + 1, D[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    i, j, ops = n, m, []
    while i or j:
        if i and j and D[i][j] == D[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            ops.append(("S" if ref[i - 1] != hyp[j - 1] else " ", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i and D[i][j] == D[i - 1][j] + 1:
            ops.append(("D", ref[i - 1], None))
            i -= 1
        else:
            ops.append(("I", None, hyp[j - 1]))
            j -= 1
    return ops[::-1]


@twin
def visualize_alignment_reference(references, hypotheses):
    """The REF/HYP/op lines (words; no summary, correct sentences skipped)."""
    out = ""
    for k, (r, h) in enumerate(zip(references, hypotheses)):
        ops = align(r.split(), h.split())
        if all(o[0] == " " for o in ops):
            continue
        cols = []
        for op, a, b in ops:
            w = max(len(a or ""), len(b or ""), 1)
            cols.append(((a or "*" * w).rjust(w), (b or "*" * w).rjust(w), op.rjust(w)))
        out += f"=== SENTENCE {k + 1} ===\n\n"
        out += "REF: " + " ".join(c[0] for c in cols) + "\n"
        out += "HYP: " + " ".join(c[1] for c in cols) + "\n"
        out += "     " + " ".join(c[2] for c in cols) + "\n\n"
    return out[:-1]
