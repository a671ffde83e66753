"""Kernel of the streaming ``CurveAccumulator`` (see ``fastloss/metrics/streaming.py``)."""
from __future__ import annotations

from ..._core.jit import kernel


@kernel()
def bin_hist(score, y, w, has_w, thresholds, pos, neg):
    """Streaming histogram: bin = #{thresholds <= score} (0 .. K)."""
    k = thresholds.size
    for i in range(score.size):
        x = score[i]
        first = 0
        length = k
        while length > 0:
            half = length >> 1
            mid = first + half
            if thresholds[mid] <= x:
                first = mid + 1
                length = length - half - 1
            else:
                length = half
        wt = w[i] if has_w else 1.0
        if y[i] != 0:
            pos[first] += wt
        else:
            neg[first] += wt


__all__ = ["bin_hist"]
