"""Regression tests for the defects found by running the peers' own test
suites against fastloss (issue 12).  Expected values are scikit-learn's /
torch's (computed here when installed) or written out by hand."""
import warnings

import numpy as np
import pytest

import fastloss


# 1. roc_auc on NumPy 1.x (no np.trapezoid)
def test_roc_auc_without_np_trapezoid(monkeypatch):
    y, s = np.array([0, 0, 1, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2])
    want_partial = fastloss.roc_auc(y, s, max_fpr=0.5)
    want_w = fastloss.roc_auc(y, s, sample_weight=np.array([1, 0, 2, 1, 1, 1.0]))
    # NumPy 1.x: np.trapz only (NumPy >= 2.4 has np.trapezoid only: stand one in)
    monkeypatch.setattr(np, "trapz", getattr(np, "trapz", None) or np.trapezoid, raising=False)
    monkeypatch.delattr(np, "trapezoid", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # np.trapz is deprecated in NumPy 2
        assert fastloss.roc_auc(y, s, max_fpr=0.5) == want_partial
        assert fastloss.roc_auc(y, s, sample_weight=np.array([1, 0, 2, 1, 1, 1.0])) == want_w


# 3. uint64 labels >= 2**63
def test_uint64_labels_beyond_int64():
    big = np.array([2**63, 2**63 + 1, 5, 2**64 - 1], dtype=np.uint64)
    pred = big[[0, 0, 2, 3]]
    cm = fastloss.confusion_matrix(big, pred)
    # sorted labels 5, 2**63, 2**63+1, 2**64-1; the sample 2**63+1 -> 2**63 is not lost
    np.testing.assert_array_equal(cm, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
    p, r, _, s = fastloss.precision_recall_fscore(big, pred, zero_division=0)
    np.testing.assert_array_equal(p, [1, 0.5, 0, 1])
    np.testing.assert_array_equal(r, [1, 1, 0, 1])
    # mixed with signed labels: exact (scikit-learn promotes to float64 and merges labels)
    cm = fastloss.confusion_matrix(big, np.array([1, 2, 5, -1]))
    assert cm.shape == (7, 7) and cm.sum() == 4


# 4. duplicate entries in labels=
def test_duplicate_labels_as_sklearn():
    t, p = [0, 1, 2, 0], [0, 2, 1, 1]
    np.testing.assert_array_equal(fastloss.confusion_matrix(t, p, labels=[0, 0, 1]), [[0, 0, 0], [0, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(fastloss.confusion_matrix(t, p, labels=[1, 0, 1, 2]),
                                  [[0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 1, 0]])


# 5. integer weights exact beyond 2**53, object weights converted
def test_integer_and_object_weights():
    cm = fastloss.confusion_matrix([0, 0, 1], [0, 0, 1], sample_weight=np.array([2**53, 1, 3]))
    assert cm.dtype == np.int64 and cm[0, 0] == 2**53 + 1 and cm[1, 1] == 3
    cm = fastloss.confusion_matrix([0, 1], [0, 1], sample_weight=np.array([1, 2], dtype=object))
    assert cm.dtype == np.float64 and cm.tolist() == [[1.0, 0.0], [0.0, 2.0]]
    assert fastloss.roc_auc([0, 1, 1, 0], [0.1, 0.2, 0.3, 0.4], sample_weight=np.array([1, 2, 1, 1], dtype=object)) == 0.5
    with pytest.raises(TypeError, match="sample_weight"):
        fastloss.confusion_matrix([0, 1], [0, 1], sample_weight=np.array(["a", "b"], dtype=object))


# 6. edge behaviour as scikit-learn
@pytest.mark.parametrize("fn", [fastloss.roc_auc, fastloss.average_precision, fastloss.roc_curve,
                                fastloss.precision_recall_curve, fastloss.confusion_matrix,
                                fastloss.precision_recall_fscore])
def test_empty_inputs_raise(fn):
    e = np.array([])
    with pytest.raises(ValueError, match="y_true is empty"):
        fn(e, e)


@pytest.mark.parametrize("fn", [fastloss.roc_auc, fastloss.average_precision, fastloss.roc_curve,
                                fastloss.precision_recall_curve])
def test_all_zero_weights_raise(fn):
    with pytest.raises(ValueError, match="at least one non-zero"):
        fn([0, 1, 1, 0], [0.1, 0.2, 0.3, 0.4], sample_weight=np.zeros(4))


def test_zero_division_values():
    assert fastloss.precision_recall_fscore([0, 0], [0, 0], zero_division=True, labels=[1])[0][0] == 1.0
    assert fastloss.precision_recall_fscore([0, 0], [0, 0], zero_division=False, labels=[1])[0][0] == 0.0
    with pytest.raises(ValueError, match="zero_division"):
        fastloss.precision_recall_fscore([0, 0], [0, 0], zero_division="nan")


def test_average_precision_warns_when_positives_have_zero_weight():
    with pytest.warns(UserWarning, match="No positive class found"):
        assert fastloss.average_precision([0, 1, 1, 0], [0.1, 0.2, 0.3, 0.4], sample_weight=np.array([1, 0, 0, 1.0])) == 0


def test_undefined_metric_warning_caught_by_sklearns_class():
    exc = pytest.importorskip("sklearn.exceptions")
    with pytest.warns(exc.UndefinedMetricWarning, match="Only one class"):
        fastloss.roc_auc([1, 1], [0.2, 0.3])
    with pytest.warns(fastloss.UndefinedMetricWarning, match="Only one class"):
        fastloss.roc_auc([1, 1], [0.2, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=exc.UndefinedMetricWarning)
        fastloss.roc_auc([1, 1], [0.2, 0.3])


# remaining reports: CurveAccumulator, ECE rows
def test_curve_accumulator_warns_on_scores_outside_range_and_on_no_data():
    acc = fastloss.CurveAccumulator()
    with pytest.warns(fastloss.UndefinedMetricWarning, match="no data"):
        assert np.isnan(acc.roc_auc())
    with pytest.warns(fastloss.UndefinedMetricWarning, match="no data"):
        assert np.isnan(acc.average_precision())
    with pytest.raises(ValueError, match="no data"):
        acc.roc_curve()
    with pytest.warns(UserWarning, match="2 of 4 scores lie outside"):
        acc.update([0, 1, 1, 0], [-3.0, 0.2, 4.0, 0.5])
    assert acc.outside == 2
    other = fastloss.CurveAccumulator().update([1], [0.5])
    assert acc.merge(other).outside == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastloss.CurveAccumulator(score_range=(-5, 5)).update([0, 1, 1, 0], [-3.0, 0.2, 4.0, 0.5])
        fastloss.CurveAccumulator().update([], [])  # an empty batch is fine when streaming


def test_ece_rows_must_sum_to_one():
    probs = np.array([[0.5, 0.3, 0.1], [0.2, 0.2, 0.6]])
    with pytest.raises(ValueError, match="sum to 1"):
        fastloss.expected_calibration_error(probs, np.array([0, 2]))
    fastloss.expected_calibration_error(probs / probs.sum(1, keepdims=True), np.array([0, 2]))


def test_memmap_target_of_another_dtype_is_converted_block_by_block(tmp_path):
    import tracemalloc

    n = 1 << 22  # 4 BLOCKs: a full float32 copy of the target would be 16 MiB
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32)
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.uint8, shape=(n,))
    y[:] = rng.integers(0, 2, n, dtype=np.uint8)
    want = fastloss.binary_cross_entropy_with_logits(x, y.astype(np.float32))  # also compiles first
    for fn in (fastloss.binary_cross_entropy_with_logits, fastloss.mse_loss):
        fn(x, y)
        tracemalloc.start()
        got = fn(x, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 10 * 2**20, f"{fn.__name__}: peak {peak / 2**20:.1f} MiB"
    assert got.dtype == np.float32
    np.testing.assert_allclose(fastloss.binary_cross_entropy_with_logits(x, y), want, rtol=1e-6)
