"""Issue-16 metrics: accuracy, balanced accuracy, MCC, kappa, classification
report, multilabel confusion matrix, log loss, Brier score, top-k accuracy,
DET curve, calibration curve, multilabel P/R/F, AUC and AP, OOD operating
points.  Against the twins (tests/ref_scores.py) and scikit-learn (skipped
when it is not installed)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastloss
from fastloss.metrics import UndefinedMetricWarning
from ref_scores import (
    accuracy_reference, balanced_accuracy_reference, brier_score_reference, calibration_curve_reference,
    classification_report_reference, cohen_kappa_reference, det_curve_reference, log_loss_reference,
    matthews_corrcoef_reference, multilabel_confusion_matrix_reference, top_k_accuracy_reference,
)


def _sk():
    return pytest.importorskip("sklearn.metrics")


def run(fn, *a, **k):
    """(value or (exception type, message), [warning messages]) of a call."""
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try:
            v = fn(*a, **k)
        except Exception as e:  # noqa: BLE001 - compared with the peer's
            v = (type(e), str(e))
    return v, sorted({str(w.message) for w in ws if w.category is not RuntimeWarning and "deprecat" not in str(w.message)})


def same(f, g, *a, **k):
    (x, wx), (y, wy) = run(f, *a, **k), run(g, *a, **k)
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], type) or isinstance(y, tuple) and len(y) == 2 and isinstance(y[0], type):
        assert isinstance(x, tuple) and isinstance(y, tuple) and x[0] is y[0], (x, y)
    elif isinstance(x, (tuple, list)):
        for u, v in zip(x, y):
            assert (u is None and v is None) or (np.shape(u) == np.shape(v) and np.allclose(u, v, rtol=1e-9, equal_nan=True)), (x, y)
    else:
        assert np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True), (x, y)
    assert wx == wy, (wx, wy)


def cases(rng, count=25):
    for trial in range(count):
        n = int(rng.integers(6, 60))
        k = int(rng.integers(2, 5))
        yield trial, n, k, (rng.random(n) if trial % 2 else None)


# ------------------------------------------------------------------ twins


def test_twins_confusion_family(rng):
    for trial, n, k, w in cases(rng, 10):
        t = rng.integers(0, k, n)
        p = rng.integers(0, k, n)
        t[:k] = np.arange(k)  # every class in y_true
        assert np.isclose(fastloss.accuracy(t, p, sample_weight=w), accuracy_reference(t, p, sample_weight=w))
        assert np.isclose(fastloss.accuracy(t, p, sample_weight=w, normalize=False),
                          accuracy_reference(t, p, sample_weight=w, normalize=False))
        for adj in (False, True):
            assert np.isclose(fastloss.balanced_accuracy(t, p, sample_weight=w, adjusted=adj),
                              balanced_accuracy_reference(t, p, sample_weight=w, adjusted=adj))
        assert np.isclose(fastloss.matthews_corrcoef(t, p, sample_weight=w), matthews_corrcoef_reference(t, p, sample_weight=w))
        for wt in (None, "linear", "quadratic"):
            assert np.isclose(fastloss.cohen_kappa(t, p, weights=wt, sample_weight=w),
                              cohen_kappa_reference(t, p, weights=wt, sample_weight=w))
        rep = fastloss.classification_report(t, p, sample_weight=w, output_dict=True, zero_division=0.0)
        ref = classification_report_reference(t, p, sample_weight=w)
        assert rep.keys() == ref.keys()
        for key, val in ref.items():
            if isinstance(val, dict):
                for m, v in val.items():
                    assert np.isclose(rep[key][m], v), (key, m)
            else:
                assert np.isclose(rep[key], val)
        assert np.allclose(fastloss.multilabel_confusion_matrix(t, p, sample_weight=w),
                           multilabel_confusion_matrix_reference(t, p, sample_weight=w))
        T, P = rng.integers(0, 2, (n, k)), rng.integers(0, 2, (n, k))
        for sw in (False, True):
            assert np.allclose(fastloss.multilabel_confusion_matrix(T, P, sample_weight=w, samplewise=sw),
                               multilabel_confusion_matrix_reference(T, P, sample_weight=w, samplewise=sw))
        assert np.isclose(fastloss.accuracy(T, P, sample_weight=w), accuracy_reference(T, P, sample_weight=w))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_twins_probabilistic(rng, dtype):
    for trial, n, k, w in cases(rng, 10):
        y = rng.integers(0, k, n)
        y[:k] = np.arange(k)
        P = rng.dirichlet(np.ones(k), n).astype(dtype)
        P[0] = 0
        P[0, y[0]] = 1  # clipped at eps
        tol = 1e-12 if dtype == np.float64 else 1e-5
        assert np.isclose(fastloss.log_loss(y, P, sample_weight=w), log_loss_reference(y, P, sample_weight=w), rtol=tol)
        assert np.isclose(fastloss.brier_score(y, P, sample_weight=w), brier_score_reference(y, P, sample_weight=w), rtol=tol)
        yb = rng.integers(0, 2, n)
        yb[:2] = [0, 1]
        p = rng.random(n).astype(dtype)
        assert np.isclose(fastloss.log_loss(yb, p, sample_weight=w), log_loss_reference(yb, p, sample_weight=w), rtol=tol)
        assert np.isclose(fastloss.brier_score(yb, p, sample_weight=w), brier_score_reference(yb, p, sample_weight=w), rtol=tol)


def test_twins_ranking_and_calibration(rng):
    for trial, n, k, w in cases(rng, 10):
        k += 1  # multiclass (binary labels take 1-D scores)
        y = rng.integers(0, k, n)
        y[:k] = np.arange(k)
        S = rng.integers(0, 4, (n, k)).astype(np.float64)  # many ties
        for kk in (1, 2):
            assert np.isclose(fastloss.top_k_accuracy(y, S, k=kk, sample_weight=w),
                              top_k_accuracy_reference(y, S, k=kk, sample_weight=w))
        yb = rng.integers(0, 2, n)
        yb[:2] = [0, 1]
        s = rng.integers(0, 6, n) / 5.0
        for got, want in zip(fastloss.det_curve(yb, s, sample_weight=w), det_curve_reference(yb, s, sample_weight=w)):
            assert got.shape == want.shape and np.allclose(got, want)
        for nb in (1, 3, 5):
            for got, want in zip(fastloss.calibration_curve(yb, s, n_bins=nb), calibration_curve_reference(yb, s, n_bins=nb)):
                assert got.shape == want.shape and np.allclose(got, want, rtol=1e-12)


def test_top_k_threads_and_layouts(rng):
    from inputs import layout, on_1_and_2_threads

    y = rng.integers(0, 50, 20000)
    S = rng.standard_normal((20000, 50)).astype(np.float32)
    one, two = on_1_and_2_threads(lambda: fastloss.top_k_accuracy(y, S, k=5))
    assert one == two
    for kind in ("strided", "fortran", "byteswapped"):
        assert fastloss.top_k_accuracy(y, layout(S, kind), k=5) == one
    P = rng.dirichlet(np.ones(50), 20000)
    one, two = on_1_and_2_threads(lambda: fastloss.log_loss(y, P, labels=np.arange(50)))
    assert one == two
    assert fastloss.log_loss(y, layout(P, "fortran"), labels=np.arange(50)) == one


# ---------------------------------------------------------- scikit-learn


def test_sklearn_confusion_family(rng):
    skm = _sk()
    for trial, n, k, w in cases(rng, 6):
        k = k if trial % 7 else 1
        t, p = rng.integers(0, k, n), rng.integers(0, k, n)
        same(fastloss.accuracy, skm.accuracy_score, t, p, sample_weight=w)
        same(fastloss.balanced_accuracy, skm.balanced_accuracy_score, t, p, sample_weight=w)
        same(fastloss.balanced_accuracy, skm.balanced_accuracy_score, t, p, sample_weight=w, adjusted=True)
        same(fastloss.matthews_corrcoef, skm.matthews_corrcoef, t, p, sample_weight=w)
        for wt in (None, "linear", "quadratic"):
            same(fastloss.cohen_kappa, skm.cohen_kappa_score, t, p, weights=wt, sample_weight=w)
        same(fastloss.cohen_kappa, skm.cohen_kappa_score, t, p, labels=[0, 7])
        same(fastloss.cohen_kappa, skm.cohen_kappa_score, t, p, labels=[7, 8])
        same(fastloss.multilabel_confusion_matrix, skm.multilabel_confusion_matrix, t, p, sample_weight=w)
        for od in (False, True):
            a = fastloss.classification_report(t, p, output_dict=od, zero_division=0)
            assert a == skm.classification_report(t, p, output_dict=od, zero_division=0)
        names = ["c%d" % i for i in range(len(set(t) | set(p)))]
        assert fastloss.classification_report(t, p, target_names=names, digits=4, zero_division=1) == \
            skm.classification_report(t, p, target_names=names, digits=4, zero_division=1)


def test_sklearn_multilabel(rng):
    skm = _sk()
    for trial, n, k, w in cases(rng, 5):
        T, P = rng.integers(0, 2, (n, k + 1)), rng.integers(0, 2, (n, k + 1))
        same(fastloss.accuracy, skm.accuracy_score, T, P, sample_weight=w)
        same(fastloss.confusion_matrix, skm.multilabel_confusion_matrix, T, P, sample_weight=w)
        same(fastloss.multilabel_confusion_matrix, skm.multilabel_confusion_matrix, T, P, samplewise=True)
        for av in (None, "micro", "macro", "weighted", "samples"):
            same(fastloss.precision_recall_fscore, skm.precision_recall_fscore_support, T, P, average=av, sample_weight=w)
            S = rng.integers(0, 5, (n, k + 1)) / 4.0
            same(fastloss.roc_auc, skm.roc_auc_score, T, S, average=av, sample_weight=w)
            same(fastloss.average_precision, skm.average_precision_score, T, S, average=av, sample_weight=w)
        same(fastloss.precision_recall_fscore, skm.precision_recall_fscore_support, T, P, average="binary")
        same(fastloss.precision_recall_fscore, skm.precision_recall_fscore_support, T, P, labels=[0, 2], average="macro")
        assert fastloss.classification_report(T, P, zero_division=0) == skm.classification_report(T, P, zero_division=0)


def test_sklearn_probabilistic(rng):
    skm = _sk()
    for trial, n, k, w in cases(rng, 6):
        y = rng.integers(0, k, n)
        P = rng.dirichlet(np.ones(k), n)
        lab = list(range(k))
        for kw in ({}, {"normalize": False}):
            same(fastloss.log_loss, skm.log_loss, y, P, sample_weight=w, labels=lab, **kw)
        same(fastloss.log_loss, skm.log_loss, y, P, sample_weight=w)
        same(fastloss.log_loss, skm.log_loss, y, P * 1.1, labels=lab)  # values > 1 or rows not summing to one
        same(fastloss.brier_score, skm.brier_score_loss, y, P, sample_weight=w, labels=lab)
        same(fastloss.brier_score, skm.brier_score_loss, y, P, labels=lab, scale_by_half=True)
        yb, p = rng.integers(0, 2, n), rng.random(n)
        p[0] = 1.0
        for fn, pk in ((fastloss.log_loss, skm.log_loss), (fastloss.brier_score, skm.brier_score_loss)):
            same(fn, pk, yb, p, sample_weight=w)
            same(fn, pk, yb, p * 2)
            same(fn, pk, yb, p - 1)
        same(fastloss.brier_score, skm.brier_score_loss, yb + 2, p)
        same(fastloss.brier_score, skm.brier_score_loss, np.array(["a", "b"])[yb], p)
        same(fastloss.brier_score, skm.brier_score_loss, np.array(["a", "b"])[yb], p, pos_label="a")
    same(fastloss.log_loss, skm.log_loss, [1, 1, 1], [0.5, 0.5, 0.5])
    same(fastloss.log_loss, skm.log_loss, [0, 1, 3], [[0.5, 0.5]] * 3, labels=[0, 1])
    same(fastloss.log_loss, skm.log_loss, [0, 1, 2], [[0.5, 0.5]] * 3)
    same(fastloss.log_loss, skm.log_loss, [0, 1, 1], [[0.5, 0.5]] * 3, labels=[1, 0])
    same(fastloss.brier_score, skm.brier_score_loss, [0, 1, 2], [0.2, 0.7, 1.0])


def test_sklearn_top_k_det_calibration(rng):
    skm = _sk()
    from sklearn.calibration import calibration_curve

    for trial, n, k, w in cases(rng, 6):
        k += 1
        y = rng.integers(0, k, n)
        S = rng.integers(0, 4, (n, k)).astype(float)
        for kk in (1, 2, 3, 5):
            same(fastloss.top_k_accuracy, skm.top_k_accuracy_score, y, S, k=kk, sample_weight=w, labels=list(range(k)))
            same(fastloss.top_k_accuracy, skm.top_k_accuracy_score, y, S, k=kk, normalize=False, labels=list(range(k)))
            same(fastloss.top_k_accuracy, skm.top_k_accuracy_score, y, S, k=kk)
        yb, s = rng.integers(0, 2, n), rng.integers(0, 5, n) / 4.0
        for kk in (1, 2):
            same(fastloss.top_k_accuracy, skm.top_k_accuracy_score, yb, s, k=kk, sample_weight=w)
            same(fastloss.top_k_accuracy, skm.top_k_accuracy_score, yb, s - 0.5, k=kk)
        for drop in (False, True):
            same(fastloss.det_curve, skm.det_curve, yb, s, sample_weight=w, drop_intermediate=drop)
            same(fastloss.det_curve, skm.det_curve, 2 * yb - 1, s, drop_intermediate=drop)
        for st in ("uniform", "quantile"):
            for nb in (1, 4, 10):
                same(fastloss.calibration_curve, calibration_curve, yb, s, n_bins=nb, strategy=st)
                same(fastloss.calibration_curve, calibration_curve, np.array(["a", "b"])[yb], s, n_bins=nb,
                     strategy=st, pos_label="b")
    same(fastloss.calibration_curve, calibration_curve, [0, 1, 2], [0.1, 0.2, 0.3])
    same(fastloss.calibration_curve, calibration_curve, [0, 1], [0.1, 1.2])
    same(fastloss.det_curve, skm.det_curve, [1, 1], [0.1, 0.2])


def test_ood_operating_points(rng):
    skm = _sk()
    for _ in range(10):
        a = rng.integers(0, 6, int(rng.integers(1, 30))).astype(float)
        b = rng.integers(0, 6, int(rng.integers(1, 30))).astype(float)
        levels = [0.95, 0.9, 0.5, 0.999, 1.0, 0.0]
        m = fastloss.ood_metrics(a, b, fpr_at_tpr=levels, tpr_at_fpr=[0.05, 0.0, 0.5], detection_error=True)
        y = np.r_[np.ones(a.size), np.zeros(b.size)]
        fpr, tpr, _ = skm.roc_curve(y, np.r_[a, b], drop_intermediate=False)
        for v in levels:
            assert m[f"fpr_at_{format(100 * v, '.10g')}_tpr"] == fpr[tpr >= v].min()
        for v in (0.05, 0.0, 0.5):
            assert m[f"tpr_at_{format(100 * v, '.10g')}_fpr"] == tpr[fpr <= v].max()
        assert np.isclose(m["detection_error"], np.min(0.5 * (1 - tpr) + 0.5 * fpr))
        assert np.isclose(fastloss.ood_metrics(a, b)["fpr_at_95_tpr"], m["fpr_at_95_tpr"], rtol=1e-15, atol=0)
    assert "fpr_at_95_tpr" not in fastloss.ood_metrics(a, b, fpr_at_tpr=None, detection_error=True)
    with pytest.raises(ValueError, match="fpr_at_tpr"):
        fastloss.ood_metrics(a, b, fpr_at_tpr=[1.5])


def test_reliability_plot_shows_counts(rng):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    ax = fastloss.plot_reliability_diagram(p, y, n_bins=5)
    hist = ax.figure.axes[-1]
    assert hist is not ax and [round(b.get_height()) for b in hist.patches] == \
        fastloss.reliability_diagram(p, y, n_bins=5).count.tolist()
    sizes = ax.collections[0].get_sizes()
    assert sizes.max() > sizes.min()


# ------------------------------------------------------------------ errors


def test_errors(rng):
    y = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="y_pred"):
        fastloss.accuracy(y, np.array([0, 1]))
    with pytest.raises(ValueError, match="multilabel-indicator and multiclass"):
        fastloss.accuracy(np.eye(3, dtype=int), y)
    with pytest.raises(ValueError, match="0/1"):
        fastloss.multilabel_confusion_matrix(np.full((2, 2), 2), np.ones((2, 2)))
    with pytest.raises(ValueError, match="weights"):
        fastloss.cohen_kappa(y, y, weights="cubic")
    with pytest.raises(ValueError, match="y_proba contains NaN"):
        fastloss.log_loss(y, np.array([0.1, np.nan, 0.3]))
    with pytest.raises(ValueError, match="greater than 1"):
        fastloss.log_loss(y, np.array([0.1, 1.5, 0.3]))
    with pytest.raises(ValueError, match="k must be >= 1"):
        fastloss.top_k_accuracy(y, np.ones((3, 2)), k=0)
    with pytest.raises(ValueError, match="y_score"):
        fastloss.top_k_accuracy(np.array([0, 1, 2]), np.ones(3))
    with pytest.warns(UndefinedMetricWarning, match="perfect score"):
        fastloss.top_k_accuracy(np.array([0, 1, 2]), np.ones((3, 3)), k=3)
    with pytest.raises(ValueError, match="one class"):
        fastloss.det_curve(np.array([1, 1]), np.array([0.1, 0.2]))
    P = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    before = P.copy()
    fastloss.log_loss(y, P)
    fastloss.brier_score(y, P)
    fastloss.top_k_accuracy(y, P[:, :1], k=1)
    assert np.array_equal(P, before)


# ------------------------------------------- scikit-learn edge cases (conformance pass)


def test_indicator_y_true_probabilistic(rng):
    """log_loss / brier_score with a label indicator y_true: one-hot rows
    (fused kernel) and multi-hot / empty rows (NumPy path)."""
    sk = None
    try:
        import sklearn.metrics as sk
    except ImportError:  # pragma: no cover
        pass
    n, k = 40, 3
    P = rng.dirichlet(np.ones(k), size=n)
    w = rng.random(n)
    onehot = np.eye(k, dtype=int)[rng.integers(0, k, n)]
    multi = (rng.random((n, k)) < 0.4).astype(int)
    for Y in (onehot, multi):
        for sw in (None, w):
            for f, ref, peer in ((fastloss.log_loss, log_loss_reference, "log_loss"),
                                 (fastloss.brier_score, brier_score_reference, "brier_score_loss")):
                got = f(Y, P, sample_weight=sw)
                assert got == pytest.approx(ref(Y, P, sample_weight=sw), rel=1e-12)
                if sk is not None:
                    assert got == pytest.approx(getattr(sk, peer)(Y, P, sample_weight=sw), rel=1e-12)
    # one-hot indicator == the labels it encodes
    assert fastloss.log_loss(onehot, P) == fastloss.log_loss(onehot.argmax(1), P)
    with pytest.raises(ValueError, match="different number of classes"):
        fastloss.log_loss(onehot[:, :2], P)
    with pytest.raises(ValueError, match="1-D"):
        fastloss.brier_score(onehot[:, :2], P[:, 0])


def test_sklearn_edge_cases(rng):
    sk = _sk()
    y3 = np.array([0, 1, 2, 2, 1, 0])
    S3 = rng.dirichlet(np.ones(3), size=6)
    # warn_for selects which ratios may warn
    z = np.zeros((4, 3), dtype=int)
    for wf in ((), ("precision",), ("recall", "f-score")):
        same(lambda *a, **k: fastloss.precision_recall_fscore(*a, **k),
             lambda *a, **k: sk.precision_recall_fscore_support(*a, **k), z, z, average="macro", warn_for=wf)
    with pytest.raises(TypeError, match="warn_for"):
        fastloss.precision_recall_fscore(y3, y3, warn_for="precision")
    # average='samples' for multiclass AP, ignored for binary AUC/AP
    same(fastloss.average_precision, sk.average_precision_score, y3, S3, average="samples")
    yb, sb = np.array([0, 1, 1, 0, 1]), rng.random(5)
    same(fastloss.roc_auc, sk.roc_auc_score, yb, sb, average="samples")
    same(fastloss.roc_auc, sk.roc_auc_score, yb, sb[:, None])  # a score column counts as 1-D
    # multiclass-multioutput refused before pos_label
    with pytest.raises(ValueError, match="multiclass-multioutput format is not supported"):
        fastloss.average_precision(np.array([[2, 0], [1, 1]]), np.ones((2, 2)), pos_label=2)
    # SciPy sparse indicators
    sp = pytest.importorskip("scipy.sparse")
    T, Pm = (rng.random((8, 3)) < 0.5).astype(int), (rng.random((8, 3)) < 0.5).astype(int)
    for a, b in ((sp.csr_matrix(T), Pm), (T, sp.csc_matrix(Pm))):
        assert np.array_equal(fastloss.multilabel_confusion_matrix(a, b), sk.multilabel_confusion_matrix(T, Pm))
    # bytes labels, legacy sequences, multiclass curves, length messages (scikit-learn's wording)
    with pytest.raises(TypeError, match="bytes"):
        fastloss.roc_curve([b"a", b"b"], [0.0, 1.0])
    for seq in ([[1], [2], [0, 1]], np.array([[], [1, 2]], dtype=object)):
        with pytest.raises(ValueError, match="legacy multi-label"):
            fastloss.accuracy(seq, seq)
    with pytest.raises(ValueError, match="multiclass format is not supported"):
        fastloss.det_curve(y3, S3[:, 0])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[6, 6, 2\]"):
        fastloss.accuracy(y3, y3, sample_weight=[1, 2])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[3, 6\]"):
        fastloss.log_loss(y3, S3[:3])
    with pytest.raises(ValueError, match="Mix of label input types"):
        fastloss.precision_recall_fscore(np.array(["a", "b"]), np.array([0, 1]), average="samples")
