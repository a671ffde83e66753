"""Benchmark cases for the stateful metric objects (issue 16) against
torchmetrics on the CPU: the same batches, ``update`` per batch, then the
result (``compute()``).  The issue's bar: >= 5x torchmetrics.

torchmetrics gets ``torch.from_numpy`` views of the very same arrays (no
copy: both libraries read the same memory), so the timed work is the
metric's own.  Pairs:

* ``ConfusionMatrix`` (accuracy + macro F1 from one state) vs
  ``MulticlassAccuracy`` + ``MulticlassF1Score`` (macro);
* ``ExactCurve`` (exact ROC AUC + AP from one state) vs ``BinaryAUROC`` +
  ``BinaryAveragePrecision`` with ``thresholds=None`` (exact: torchmetrics
  keeps every score and sorts them in ``compute``);
* ``CalibrationBins`` (15 bins, top-label ECE of ``(N, C)`` probabilities) vs
  ``MulticlassCalibrationError(n_bins=15, norm='l1')``;
* ``ErrorRates`` (corpus WER) vs ``WordErrorRate``.
"""
from __future__ import annotations

import numpy as np

from . import Case, Shape, optional

_C = 10  # classes


def _batches(p, rng, one):
    return [one(p["batch"], rng) for _ in range(p["batches"])]


def _labels(p, rng):
    def one(n, rng):
        t = rng.integers(0, _C, n)
        return t, np.where(rng.random(n) < 0.7, t, rng.integers(0, _C, n))

    return _batches(p, rng, one)


def _binary(p, rng):
    def one(n, rng):
        y = (rng.random(n) < 0.3).astype(np.int64)
        return y, (rng.random(n) * 0.8 + 0.2 * y).astype(np.float32)

    return _batches(p, rng, one)


def _proba(p, rng):
    def one(n, rng):
        y = rng.integers(0, _C, n)
        z = rng.random((n, _C)) + 2.0 * np.eye(_C)[y] * (rng.random((n, 1)) < 0.6)
        return (z / z.sum(axis=1, keepdims=True)).astype(np.float32), y

    return _batches(p, rng, one)


_WORDS = np.array("the a cat sat on mat dog ran far away in rain sun big small red".split())


def _text(p, rng):
    def sentence(rng):
        return " ".join(_WORDS[rng.integers(0, _WORDS.size, int(rng.integers(8, 20)))])

    def noisy(s, rng):
        w = s.split()
        for _ in range(int(rng.integers(0, 4))):
            i = int(rng.integers(0, len(w)))
            op = rng.integers(0, 3)
            if op == 0:
                w[i] = str(_WORDS[rng.integers(0, _WORDS.size)])
            elif op == 1 and len(w) > 1:
                del w[i]
            else:
                w.insert(i, str(_WORDS[rng.integers(0, _WORDS.size)]))
        return " ".join(w)

    def one(n, rng):
        refs = [sentence(rng) for _ in range(n)]
        return refs, [noisy(s, rng) for s in refs]

    return _batches(p, rng, one)


def _tm():
    torch = optional("torch")
    tm = optional("torchmetrics")
    return (torch, tm) if torch is not None and tm is not None else (None, None)


def _confusion_impls():
    import fastloss

    def ours(batches):
        m = fastloss.ConfusionMatrix(num_classes=_C)
        for t, p in batches:
            m.update(t, p)
        return m.accuracy(), m.precision_recall_fscore(average="macro")[2]

    out = {"fastloss": ours}
    torch, tm = _tm()
    if tm is not None:
        from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

        def theirs(batches):
            acc = MulticlassAccuracy(num_classes=_C, average="micro")
            f1 = MulticlassF1Score(num_classes=_C, average="macro")
            for t, p in batches:
                pt, tt = torch.from_numpy(p), torch.from_numpy(t)
                acc.update(pt, tt)
                f1.update(pt, tt)
            return float(acc.compute()), float(f1.compute())

        out["torchmetrics"] = theirs
    return out


def _curve_impls():
    import fastloss

    def ours(batches):
        m = fastloss.ExactCurve()
        for y, s in batches:
            m.update(y, s)
        return m.roc_auc(), m.average_precision()

    out = {"fastloss": ours}
    torch, tm = _tm()
    if tm is not None:
        from torchmetrics.classification import BinaryAUROC, BinaryAveragePrecision

        def theirs(batches):
            auc = BinaryAUROC(thresholds=None)
            ap = BinaryAveragePrecision(thresholds=None)
            for y, s in batches:
                st, yt = torch.from_numpy(s), torch.from_numpy(y)
                auc.update(st, yt)
                ap.update(st, yt)
            return float(auc.compute()), float(ap.compute())

        out["torchmetrics"] = theirs
    return out


def _calibration_impls():
    import fastloss

    def ours(batches):
        m = fastloss.CalibrationBins(n_bins=15)
        for P, y in batches:
            m.update(P, y)
        return float(m.result())

    out = {"fastloss": ours}
    torch, tm = _tm()
    if tm is not None:
        from torchmetrics.classification import MulticlassCalibrationError

        def theirs(batches):
            m = MulticlassCalibrationError(num_classes=_C, n_bins=15, norm="l1")
            for P, y in batches:
                m.update(torch.from_numpy(P), torch.from_numpy(y))
            return float(m.compute())

        out["torchmetrics"] = theirs
    return out


def _wer_impls():
    import fastloss.metrics as st

    def ours(batches):
        m = st.ErrorRates()
        for refs, hyps in batches:
            m.update(refs, hyps)
        return m.error_rate()

    out = {"fastloss": ours}
    torch, tm = _tm()
    if tm is not None:
        from torchmetrics.text import WordErrorRate

        def theirs(batches):
            m = WordErrorRate()
            for refs, hyps in batches:
                m.update(hyps, refs)  # torchmetrics: (preds, target)
            return float(m.compute())

        out["torchmetrics"] = theirs
    return out


def _shapes(*sizes, quick_first=True):
    return tuple(Shape(f"100x{b}", {"batches": 100, "batch": int(float(b))}, quick=(i == 0 and quick_first))
                 for i, b in enumerate(sizes))


CASES = [
    Case("ConfusionMatrix", "states", "update+compute", _shapes("1e3", "1e5"), _labels, _confusion_impls,
         note="accuracy + macro F1, 10 classes; torchmetrics MulticlassAccuracy + MulticlassF1Score"),
    Case("ExactCurve", "states", "update+compute", _shapes("1e3", "1e5"), _binary, _curve_impls,
         note="exact ROC AUC + AP; torchmetrics BinaryAUROC + BinaryAveragePrecision (thresholds=None)"),
    Case("CalibrationBins", "states", "update+compute", _shapes("1e3", "1e5"), _proba, _calibration_impls,
         note="15-bin top-label ECE of (N, 10) probabilities; torchmetrics MulticlassCalibrationError"),
    Case("ErrorRates", "states", "update+compute", _shapes("10", "100"), _text, _wer_impls,
         note="corpus WER of 8-20-word sentences; torchmetrics WordErrorRate"),
]
