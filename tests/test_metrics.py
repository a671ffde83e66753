"""Imbalanced-data metrics: twins, scikit-learn agreement, edge cases,
errors, thread invariance and the streaming CurveAccumulator."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from inputs import layout, on_1_and_2_threads
from ref_metrics import (
    average_precision_reference,
    class_weights_reference,
    confusion_matrix_reference,
    precision_recall_curve_reference,
    precision_recall_fscore_reference,
    roc_auc_reference,
    roc_curve_reference,
)

import fastloss
from fastloss.metrics import ranking as FM

skm = pytest.importorskip("sklearn.metrics")
from sklearn.exceptions import UndefinedMetricWarning as SkUndefined  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402

RT, AT = 1e-12, 1e-13


def close(a, b, rtol=RT, atol=AT):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol)


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def binary_data(rng, n, pos_rate=0.3, levels=None, weights=False, zero_weights=False):
    y = (rng.random(n) < pos_rate).astype(np.int64)
    s = rng.random(n) + 0.3 * y
    if levels:
        s = np.round(s * levels) / levels  # heavy ties
    w = None
    if weights:
        w = rng.random(n) * 2
        if zero_weights:
            w[rng.random(n) < 0.2] = 0.0
    return y, s, w


# ------------------------------------------------------------------ twins


@pytest.mark.parametrize("weights", [False, True])
def test_twins_binary(rng, weights):
    for levels in (None, 4, 10):
        y, s, w = binary_data(rng, 60, levels=levels, weights=weights, zero_weights=weights)
        close(fastloss.average_precision(y, s, sample_weight=w), average_precision_reference(y, s, sample_weight=w))
        close(fastloss.roc_auc(y, s, sample_weight=w), roc_auc_reference(y, s, sample_weight=w))
        got = fastloss.precision_recall_curve(y, s, sample_weight=w)
        for g, r in zip(got, precision_recall_curve_reference(y, s, sample_weight=w)):
            close(g, r)
        got = fastloss.roc_curve(y, s, sample_weight=w, drop_intermediate=not weights)
        for g, r in zip(got, roc_curve_reference(y, s, sample_weight=w, drop_intermediate=not weights)):
            close(g, r)


def test_twins_confusion_prf(rng):
    t = rng.integers(0, 5, 200)
    p = np.where(rng.random(200) < 0.5, t, rng.integers(0, 5, 200))
    w = rng.random(200)
    close(fastloss.confusion_matrix(t, p), confusion_matrix_reference(t, p))
    close(fastloss.confusion_matrix(t, p, sample_weight=w), confusion_matrix_reference(t, p, sample_weight=w))
    close(
        fastloss.confusion_matrix(t, p, labels=[3, 0, 7]),
        confusion_matrix_reference(t, p, labels=[3, 0, 7]),
    )
    for beta in (0.5, 1.0, 2.0):
        got = fastloss.precision_recall_fscore(t, p, beta=beta, sample_weight=w)
        for g, r in zip(got, precision_recall_fscore_reference(t, p, beta=beta, sample_weight=w)):
            close(g, r)


def test_twins_multiclass_auc_and_weights(rng):
    n, c = 80, 4
    y = rng.integers(0, c, n)
    logits = np.round(rng.standard_normal((n, c)), 1)
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    w = rng.random(n)
    for avg in ("macro", "weighted", None):
        close(fastloss.roc_auc(y, prob, average=avg, sample_weight=w), roc_auc_reference(y, prob, average=avg, sample_weight=w))
    yy = rng.integers(0, 6, 500) ** 2
    close(fastloss.class_weights(yy), class_weights_reference(yy))
    for beta in (0.0, 0.9, 0.999, 0.99999):
        close(fastloss.class_weights(yy, method="effective_number", beta=beta), class_weights_reference(yy, method="effective_number", beta=beta), rtol=1e-9)


# ------------------------------------------------------- scikit-learn: curves


@pytest.mark.parametrize(
    "n,pos_rate,levels,weights",
    [
        (500, 0.3, None, False),
        (500, 0.3, 5, False),
        (3000, 0.01, 20, False),  # rare positives: bucket path
        (3000, 0.99, 20, False),  # rare negatives: bucket AUC, merge AP
        (3000, 0.01, 20, True),
        (3000, 0.5, 50, True),
        (3000, 0.005, None, True),
    ],
)
def test_sklearn_auc_ap(rng, n, pos_rate, levels, weights):
    y, s, w = binary_data(rng, n, pos_rate, levels, weights, zero_weights=weights)
    close(fastloss.roc_auc(y, s, sample_weight=w), skm.roc_auc_score(y, s, sample_weight=w))
    close(fastloss.average_precision(y, s, sample_weight=w), skm.average_precision_score(y, s, sample_weight=w))


@pytest.mark.parametrize("drop", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_sklearn_curves(rng, drop, weights):
    for levels in (None, 3, 30):
        y, s, w = binary_data(rng, 400, 0.2, levels, weights, zero_weights=weights)
        for ours, theirs in (
            (fastloss.roc_curve(y, s, sample_weight=w, drop_intermediate=drop), skm.roc_curve(y, s, sample_weight=w, drop_intermediate=drop)),
            (
                fastloss.precision_recall_curve(y, s, sample_weight=w, drop_intermediate=drop),
                skm.precision_recall_curve(y, s, sample_weight=w, drop_intermediate=drop),
            ),
        ):
            for a, b in zip(ours, theirs):
                assert a.shape == b.shape
                close(a, b)


def test_curve_conventions_and_dtypes():
    y = np.array([0, 0, 1, 1, 1])
    s32 = np.array([0.5, 0.5, 0.5, 0.9, 0.1], dtype=np.float32)
    fpr, tpr, thr = fastloss.roc_curve(y, s32)
    f2, t2, th2 = skm.roc_curve(y, s32)
    assert thr[0] == np.inf and fpr[0] == 0 and tpr[0] == 0 and thr.dtype == th2.dtype == np.float64
    close(fpr, f2), close(tpr, t2), close(thr[1:], th2[1:])
    p, r, t = fastloss.precision_recall_curve(y, s32)
    p2, r2, t2 = skm.precision_recall_curve(y, s32)
    assert t.dtype == t2.dtype and np.all(np.diff(t) > 0) and p[-1] == 1 and r[-1] == 0
    close(p, p2), close(r, r2), close(t, t2)
    si = np.array([3, 1, 2, 2, 0])
    assert fastloss.precision_recall_curve(y, si)[2].dtype == skm.precision_recall_curve(y, si)[2].dtype


def test_pos_label_and_label_kinds(rng):
    y = rng.choice(np.array(["cat", "dog"]), 100)
    s = rng.random(100)
    for f, g in ((fastloss.roc_curve, skm.roc_curve), (fastloss.precision_recall_curve, skm.precision_recall_curve)):
        for a, b in zip(f(y, s, pos_label="cat"), g(y, s, pos_label="cat")):
            close(a, b)
        with pytest.raises(ValueError, match="pos_label is not specified"):
            f(y, s)
    close(fastloss.average_precision(y, s, pos_label="dog"), skm.average_precision_score(y, s, pos_label="dog"))
    close(fastloss.roc_auc(y, s), skm.roc_auc_score(y, s))
    ypm = np.where(rng.random(100) < 0.4, -1, 1)
    for a, b in zip(fastloss.roc_curve(ypm, s), skm.roc_curve(ypm, s)):
        close(a, b)
    y35 = np.where(ypm > 0, 5, 3)
    close(fastloss.roc_auc(y35, s), skm.roc_auc_score(y35, s))
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        fastloss.average_precision(y35, s)
    yb = ypm > 0
    close(fastloss.average_precision(yb, s), skm.average_precision_score(yb, s))


def test_single_class_and_no_positive(rng):
    s = rng.random(20)
    ones = np.ones(20, dtype=int)
    zeros = np.zeros(20, dtype=int)
    with pytest.warns(fastloss.UndefinedMetricWarning, match="Only one class"):
        assert np.isnan(fastloss.roc_auc(ones, s))
    with pytest.warns(SkUndefined, match="Only one class"):
        assert np.isnan(skm.roc_auc_score(ones, s))
    with pytest.warns(UserWarning, match="No positive class"):
        ours = fastloss.average_precision(zeros, s)
    assert ours == quiet(skm.average_precision_score, zeros, s) == 0.0
    close(fastloss.average_precision(ones, s), skm.average_precision_score(ones, s))
    with pytest.warns(fastloss.UndefinedMetricWarning, match="No positive samples"):
        fpr, tpr, thr = fastloss.roc_curve(zeros, s)
    f2, t2, th2 = quiet(skm.roc_curve, zeros, s)
    close(fpr, f2), np.testing.assert_array_equal(np.isnan(tpr), np.isnan(t2)), close(thr[1:], th2[1:])
    with pytest.warns(UserWarning, match="recall is set to one"):
        p, r, t = fastloss.precision_recall_curve(zeros, s)
    for a, b in zip((p, r, t), quiet(skm.precision_recall_curve, zeros, s)):
        close(a, b)


def test_extreme_imbalance_one_in_a_million(rng):
    n = 1_000_000
    s = rng.random(n)
    s32 = s.astype(np.float32)  # float32 rounding creates ties
    y = np.zeros(n, dtype=np.int64)
    y[123_456] = 1
    for sc in (s, s32):
        close(fastloss.roc_auc(y, sc), skm.roc_auc_score(y, sc))
        close(fastloss.average_precision(y, sc), skm.average_precision_score(y, sc))
    close(fastloss.roc_auc(1 - y, s), skm.roc_auc_score(1 - y, s))


def test_multiclass_roc_auc_ap(rng):
    n, c = 600, 5
    y = rng.integers(0, c, n)
    logits = np.round(rng.standard_normal((n, c)) + 2 * np.eye(c)[y], 1)
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    w = rng.random(n)
    for avg in ("macro", "weighted", "micro", None):
        for sw in (None, w):
            close(fastloss.roc_auc(y, prob, average=avg, sample_weight=sw), skm.roc_auc_score(y, prob, average=avg, multi_class="ovr", sample_weight=sw))
            close(fastloss.average_precision(y, prob, average=avg, sample_weight=sw), skm.average_precision_score(y, prob, average=avg, sample_weight=sw))
    with pytest.raises(ValueError, match="probabilities"):
        fastloss.roc_auc(y, logits)
    with pytest.raises(ValueError, match="columns"):
        fastloss.roc_auc(y, prob[:, :4] / prob[:, :4].sum(1, keepdims=True))
    for avg in ("macro", "weighted"):
        got = fastloss.roc_auc(y, prob, average=avg, multi_class="ovo")
        close(got, skm.roc_auc_score(y, prob, average=avg, multi_class="ovo"))
        close(got, roc_auc_reference(y, prob, average=avg, multi_class="ovo"))
    # string labels, a class absent from y_true (labels=), as scikit-learn
    names = np.array(["ant", "bee", "cat", "dog", "eel"])
    keep = y != 2
    close(fastloss.roc_auc(names[y[keep]], prob[keep], multi_class="ovo", labels=names),
          skm.roc_auc_score(names[y[keep]], prob[keep], multi_class="ovo", labels=names))
    with pytest.raises(ValueError, match="sample_weight"):
        fastloss.roc_auc(y, prob, multi_class="ovo", sample_weight=w)
    with pytest.raises(ValueError, match="average"):
        fastloss.roc_auc(y, prob, multi_class="ovo", average="micro")
    with pytest.raises(NotImplementedError):
        fastloss.roc_auc(y, prob, multi_class="ovo", average=None)
    with pytest.raises(ValueError, match="multi_class"):
        fastloss.roc_auc(y, prob, multi_class="raise")


def test_max_fpr(rng):
    y, s, w = binary_data(rng, 300, 0.3, 20, True)
    for mf in (0.1, 0.5, 1.0):
        close(fastloss.roc_auc(y, s, max_fpr=mf, sample_weight=w), skm.roc_auc_score(y, s, max_fpr=mf, sample_weight=w))


# --------------------------------------------- scikit-learn: confusion / PRF


@pytest.mark.parametrize("weights", [None, "float", "int"])
def test_sklearn_confusion_matrix(rng, weights):
    t = rng.integers(-2, 8, 3000)
    p = np.where(rng.random(3000) < 0.6, t, rng.integers(-2, 8, 3000))
    w = None if weights is None else (rng.random(3000) if weights == "float" else rng.integers(0, 4, 3000))
    ours = fastloss.confusion_matrix(t, p, sample_weight=w)
    theirs = skm.confusion_matrix(t, p, sample_weight=w)
    assert ours.dtype == theirs.dtype
    close(ours, theirs)
    for labels in ([5, 0, -2], [7, 100]):
        close(fastloss.confusion_matrix(t, p, labels=labels, sample_weight=w), skm.confusion_matrix(t, p, labels=labels, sample_weight=w))
    for norm in ("true", "pred", "all"):
        close(fastloss.confusion_matrix(t, p, normalize=norm, sample_weight=w), skm.confusion_matrix(t, p, normalize=norm, sample_weight=w))
    # sparse labels far apart (re-encoded path) and strings
    big = t * 100_000
    close(fastloss.confusion_matrix(big, p * 100_000), skm.confusion_matrix(big, p * 100_000))
    st = np.array(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])[t + 2]
    sp = np.array(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])[p + 2]
    close(fastloss.confusion_matrix(st, sp), skm.confusion_matrix(st, sp))


def test_confusion_num_classes_and_edges():
    t, p = np.array([0, 2, 2]), np.array([0, 0, 2])
    cm = fastloss.confusion_matrix(t, p, num_classes=4)
    assert cm.shape == (4, 4) and cm[2, 0] == 1 and cm[1].sum() == 0
    with pytest.raises(ValueError, match=r"y_true must be in \[0, 2\), got 2 at position \(1,\)"):
        fastloss.confusion_matrix(t, p, num_classes=2)
    with pytest.raises(ValueError, match=r"y_pred must be in \[0, 3\), got 3 at position \(0,\)"):
        fastloss.confusion_matrix(t, np.array([3, 0, 0]), num_classes=3)
    with pytest.warns(UserWarning, match="single label"):
        fastloss.confusion_matrix(np.array([1, 1]), np.array([1, 1]))
    with pytest.raises(ValueError, match="At least one label"):
        fastloss.confusion_matrix(t, p, labels=[5])
    e = np.array([], dtype=int)
    with pytest.raises(ValueError, match="y_true is empty"):  # as scikit-learn (issue 12)
        fastloss.confusion_matrix(e, e, labels=[0, 1])


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("zero_division", ["warn", 0.0, 1.0, np.nan])
def test_sklearn_prf(rng, average, zero_division):
    t = rng.integers(0, 6, 400)
    p = np.where(rng.random(400) < 0.5, t, rng.integers(0, 4, 400))  # classes 4, 5 never predicted
    w = rng.random(400)
    for beta in (0.0, 0.5, 1.0, np.inf):
        for sw in (None, w):
            for labels in (None, [5, 1, 9]):
                kw = dict(average=average, beta=beta, zero_division=zero_division, sample_weight=sw, labels=labels)
                with warnings.catch_warnings(record=True) as ours_w:
                    warnings.simplefilter("always")
                    ours = fastloss.precision_recall_fscore(t, p, **kw)
                with warnings.catch_warnings(record=True) as theirs_w:
                    warnings.simplefilter("always")
                    theirs = skm.precision_recall_fscore_support(t, p, **kw)
                assert [str(x.message) for x in ours_w] == [str(x.message) for x in theirs_w]
                for a, b in zip(ours, theirs):
                    if b is None:
                        assert a is None
                    else:
                        np.testing.assert_allclose(a, b, rtol=RT, atol=AT, equal_nan=True)
                if average is None:
                    assert ours[3].dtype == theirs[3].dtype


def test_prf_binary():
    t = np.array([0, 1, 1, 0, 1])
    p = np.array([0, 1, 0, 1, 1])
    for pl in (0, 1):
        close(fastloss.precision_recall_fscore(t, p, average="binary", pos_label=pl)[:3], skm.precision_recall_fscore_support(t, p, average="binary", pos_label=pl)[:3])
    with pytest.raises(ValueError, match="pos_label=2 is not a valid label"):
        fastloss.precision_recall_fscore(t, p, average="binary", pos_label=2)
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        fastloss.precision_recall_fscore(np.array([0, 1, 2]), np.array([0, 1, 1]), average="binary")
    s = np.array(["no", "yes", "yes"])
    close(fastloss.precision_recall_fscore(s, s[::-1], average="binary", pos_label="yes")[:3], skm.precision_recall_fscore_support(s, s[::-1], average="binary", pos_label="yes")[:3])
    with pytest.warns(UserWarning, match="pos_label"):
        fastloss.precision_recall_fscore(t, p, average="macro", pos_label=0)


def test_class_weights_sklearn(rng):
    y = rng.integers(0, 7, 1000) * 3
    y[:5] = 20
    close(fastloss.class_weights(y), compute_class_weight("balanced", classes=np.unique(y), y=y))
    w = fastloss.class_weights(y, method="effective_number", beta=0.99)
    close(w.sum(), np.unique(y).size)
    assert np.argmax(w) == np.argmin(np.bincount(y)[np.unique(y)])
    close(fastloss.class_weights(y, method="effective_number", beta=0.0), np.ones(np.unique(y).size))
    with pytest.raises(ValueError, match="beta"):
        fastloss.class_weights(y, method="effective_number", beta=1.0)
    with pytest.raises(ValueError, match="method"):
        fastloss.class_weights(y, method="inverse")


# ----------------------------------------------------------- bad input


def test_errors(rng):
    y = np.array([0, 1, 1, 0])
    s = np.array([0.1, 0.2, 0.3, 0.4])
    for fn in (fastloss.roc_auc, fastloss.average_precision, fastloss.roc_curve, fastloss.precision_recall_curve):
        with pytest.raises(ValueError, match="y_score and y_true must have the same number of samples.*4.*3"):
            fn(y, s[:3])
        with pytest.raises(ValueError, match=r"y_score contains NaN \(nan at index 2\)"):
            fn(y, np.array([0.1, 0.2, np.nan, 0.4]))
        with pytest.raises(ValueError, match="y_score contains infinity"):
            fn(y, np.array([0.1, np.inf, 0.3, 0.4]))
        with pytest.raises(ValueError, match="sample_weight"):
            fn(y, s, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="y_pred and y_true must have the same number"):
        fastloss.confusion_matrix(y, y[:2])
    with pytest.raises(ValueError, match="continuous value 0.5"):
        fastloss.confusion_matrix(np.array([0.0, 0.5]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="multiclass format|pos_label is not specified"):
        fastloss.roc_curve(np.array([0, 1, 2]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="average"):
        fastloss.precision_recall_fscore(y, y, average="samples")
    with pytest.raises(ValueError, match="zero_division"):
        fastloss.precision_recall_fscore(y, y, zero_division=0.5)
    with pytest.raises(TypeError, match="y_score"):
        fastloss.roc_auc(y, np.array(["a", "b", "c", "d"]))


# ------------------------------------------------- layouts, threads, paths


@pytest.mark.parametrize("kind", ["strided", "byteswapped", "reversed"])
def test_layouts(rng, kind):
    y, s, w = binary_data(rng, 3000, 0.01, 50, True)
    ls, lw = layout(s, kind), layout(w, kind)
    assert fastloss.roc_auc(y, ls, sample_weight=lw) == fastloss.roc_auc(y, s, sample_weight=w)
    assert fastloss.average_precision(y, ls, sample_weight=lw) == fastloss.average_precision(y, s, sample_weight=w)
    t = rng.integers(0, 5, 500)
    assert np.array_equal(fastloss.confusion_matrix(layout(t, kind), t, sample_weight=layout(w[:500], kind)), fastloss.confusion_matrix(t, t, sample_weight=w[:500]))


def test_threads_bitwise(rng):
    n = 300_000  # several blocks
    y, s, w = binary_data(rng, n, 0.01, 1000, True)
    t = rng.integers(0, 10, n)
    p = rng.integers(0, 10, n)
    y2 = (rng.random(n) < 0.5).astype(int)

    def run():
        return (
            fastloss.roc_auc(y, s, sample_weight=w),
            fastloss.average_precision(y, s, sample_weight=w),
            fastloss.roc_auc(y2, s, sample_weight=w),
            fastloss.confusion_matrix(t, p, sample_weight=w).tobytes(),
            fastloss.precision_recall_fscore(t, p, average="macro", sample_weight=w),
        )

    one, two = on_1_and_2_threads(run)
    assert one == two


def test_bucket_and_merge_paths_agree(rng):
    y, s, w = binary_data(rng, 20_000, 0.005, 200, True)
    ybin = y.astype(bool)
    fast = FM._auc_ap_binary(s, ybin, w, True)
    auc2, ap, P, N = FM._exact_auc_ap(s, ybin, w)
    close(fast, (auc2 / (2 * P * N), ap / P))


def test_inputs_not_modified(rng):
    y, s, w = binary_data(rng, 2000, 0.01, 30, True)
    copies = [a.copy() for a in (y, s, w)]
    fastloss.roc_auc(y, s, sample_weight=w), fastloss.average_precision(y, s, sample_weight=w), fastloss.roc_curve(y, s)
    for a, b in zip((y, s, w), copies):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- streaming


def quantise(s, thresholds):
    b = np.searchsorted(thresholds, s, side="right")
    return np.r_[thresholds[0] - 1.0, thresholds][b]


def test_curve_accumulator_equals_exact_on_quantised(rng):
    y, s, w = binary_data(rng, 5000, 0.1, None, True)
    s = s / 1.3
    acc = fastloss.CurveAccumulator(num_thresholds=51)
    other = fastloss.CurveAccumulator(num_thresholds=51)
    for lo in range(0, 2800, 700):
        acc.update(y[lo : lo + 700], s[lo : lo + 700], sample_weight=w[lo : lo + 700])
    other.update(y[2800:], s[2800:], sample_weight=w[2800:])
    acc = pickle.loads(pickle.dumps(acc)).merge(pickle.loads(pickle.dumps(other)))
    q = quantise(s, acc.thresholds)
    close(acc.roc_auc(), skm.roc_auc_score(y, q, sample_weight=w), rtol=1e-11)
    close(acc.average_precision(), skm.average_precision_score(y, q, sample_weight=w), rtol=1e-11)
    fpr, tpr, thr = acc.roc_curve()
    f2, t2, th2 = skm.roc_curve(y, q, sample_weight=w)
    close(fpr, f2, rtol=1e-11), close(tpr, t2, rtol=1e-11)
    close(thr[1:-1], th2[1:-1])
    p, r, _ = acc.precision_recall_curve()
    p2, r2, _ = skm.precision_recall_curve(y, q, sample_weight=w)
    close(p, p2, rtol=1e-11), close(r, r2, rtol=1e-11)
    exact = skm.roc_auc_score(y, s, sample_weight=w)
    assert abs(acc.roc_auc() - exact) <= acc.auc_error_bound() + 1e-15
    assert acc.auc_error_bound() < 0.02
    assert abs(acc.average_precision() - skm.average_precision_score(y, s, sample_weight=w)) < 0.03  # 51 bins: observed 0.010


def test_curve_accumulator_fine_bins_match_one_shot(rng):
    y, s, _ = binary_data(rng, 4000, 0.2, 100, False)
    s = s / 1.3
    acc = fastloss.CurveAccumulator(thresholds=np.unique(s))  # one threshold per distinct score: exact
    for part in np.array_split(np.arange(4000), 7):
        acc.update(y[part], s[part])
    close(acc.roc_auc(), fastloss.roc_auc(y, s))
    close(acc.average_precision(), fastloss.average_precision(y, s))
    assert acc.result()["count"] == 4000 and acc.batches == 7
    with pytest.raises(ValueError, match="different thresholds"):
        acc.merge(fastloss.CurveAccumulator(10))
    with pytest.raises(ValueError, match="increasing"):
        fastloss.CurveAccumulator(thresholds=[0.2, 0.1])
