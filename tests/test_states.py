"""Mergeable metric objects (fastloss.metrics.Metric): any batching, any merge
order and grouping equals the one-shot function on the concatenated data;
states round-trip through to_state/from_state and pickle."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastloss
from fastloss.metrics import CalibrationBins, ConfusionMatrix, ErrorRates, ExactCurve, Metric, StateTooLargeError


def _split(n, cuts):
    cuts = sorted({min(max(c, 0), n) for c in cuts})
    edges = [0, *cuts, n]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def _merged(factory, parts, update, order, grouping):
    """Update one metric per part, then merge them in a shuffled order and a
    random tree (grouping: list of group sizes)."""
    states = []
    for sl in parts:
        m = factory()
        update(m, sl)
        states.append(m)
    states = [states[i] for i in order]
    while len(states) > 1:
        k = max(2, grouping[len(states) % len(grouping)])
        states = [type(states[0]).merge_all(states[i:i + k]) for i in range(0, len(states), k)]
    return states[0]


cases = st.tuples(
    st.integers(0, 60),  # n
    st.lists(st.integers(0, 60), max_size=6),  # cut points
    st.integers(0, 2**31 - 1),  # seed
    st.lists(st.integers(2, 4), min_size=1, max_size=3),  # tree fan-ins
)


def _order(seed, k):
    return list(np.random.default_rng(seed).permutation(k))


@given(cases, st.booleans())
def test_exact_curve_any_merge(case, weighted):
    n, cuts, seed, grouping = case
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.integers(0, 8, n) / 8.0  # heavy ties
    w = rng.random(n) + 0.1 if weighted else None
    parts = _split(n, cuts)
    m = _merged(ExactCurve, parts, lambda m, sl: m.update(y[sl], s[sl], sample_weight=None if w is None else w[sl]),
                _order(seed, len(parts)), grouping)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if 0 < y.sum() < n:
            assert abs(m.roc_auc() - fastloss.roc_auc(y, s, sample_weight=w)) < 1e-12
            for got, want in zip(m.roc_curve(), fastloss.roc_curve(y, s, sample_weight=w)):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        if n:
            assert abs(m.average_precision() - fastloss.average_precision(y, s, sample_weight=w)) < 1e-12
            for got, want in zip(m.precision_recall_curve(), fastloss.precision_recall_curve(y, s, sample_weight=w)):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@given(cases, st.booleans())
def test_confusion_matrix_any_merge(case, weighted):
    n, cuts, seed, grouping = case
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 4, n)
    p = rng.integers(1, 5, n)
    w = rng.random(n) if weighted else None
    parts = _split(n, cuts)
    m = _merged(ConfusionMatrix, parts, lambda m, sl: m.update(t[sl], p[sl], sample_weight=None if w is None else w[sl]),
                _order(seed, len(parts)), grouping)
    if n == 0:
        assert m.count == 0
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, want = m.result(), fastloss.confusion_matrix(t, p, sample_weight=w)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12)
        for average in (None, "micro", "macro", "weighted"):
            g = m.precision_recall_fscore(average=average, zero_division=0)
            e = fastloss.precision_recall_fscore(t, p, average=average, zero_division=0, sample_weight=w)
            for a, b in zip(g, e):
                if b is None:
                    assert a is None
                else:
                    np.testing.assert_allclose(a, b, rtol=1e-12)
                    assert np.asarray(a).dtype == np.asarray(b).dtype


@settings(max_examples=15)
@given(cases)
def test_calibration_and_error_rates_any_merge(case):
    n, cuts, seed, grouping = case
    rng = np.random.default_rng(seed)
    prob = rng.dirichlet(np.ones(3), n) if n else np.zeros((0, 3))
    lab = rng.integers(0, 3, n)
    parts = _split(n, cuts)
    m = _merged(lambda: CalibrationBins(n_bins=5), parts, lambda m, sl: m.update(prob[sl], lab[sl]),
                _order(seed, len(parts)), grouping)
    if n:
        for norm in ("l1", "l2", "max"):
            want = fastloss.expected_calibration_error(prob, lab, n_bins=5, norm=norm)
            assert abs(m.expected_calibration_error(norm=norm) - want) < 1e-12
        np.testing.assert_array_equal(m.reliability_diagram().count, fastloss.reliability_diagram(prob, lab, n_bins=5).count)
    words = np.array(["a", "b", "c", "dd"])
    refs = [" ".join(words[rng.integers(0, 4, rng.integers(0, 5))]) for _ in range(n)]
    hyps = [" ".join(words[rng.integers(0, 4, rng.integers(0, 5))]) for _ in range(n)]
    for unit in ("word", "char"):
        e = _merged(lambda: ErrorRates(unit), parts, lambda m, sl: m.update(refs[sl], hyps[sl]),
                    _order(seed, len(parts)), grouping)
        assert e.result() == fastloss.error_rates(refs, hyps, unit=unit)


def test_state_round_trip_and_pickle(rng):
    y, s = rng.integers(0, 2, 100), rng.random(100).astype(np.float32)
    metrics = [
        ExactCurve().update(y, s),
        ConfusionMatrix().update(np.array(["a", "b", "a"]), np.array(["b", "b", "a"])),
        ConfusionMatrix(num_classes=3).update(y, y, sample_weight=np.arange(100)),
        CalibrationBins(n_bins=4, logits=True).update(rng.standard_normal((10, 3)), rng.integers(0, 3, 10)),
        ErrorRates("char").update(["abc"], ["abd"]),
    ]
    for m in metrics:
        state = m.to_state()
        for v in state.values():  # plain NumPy arrays and scalars only
            assert isinstance(v, (np.ndarray, str, int, float, bool, type(None))), type(v)
        again = Metric.from_state(state)
        assert again == m and type(again) is type(m)
        assert pickle.loads(pickle.dumps(m)) == m
        assert m.copy().reset() == type(m)(**m.config())
    with pytest.raises(ValueError, match="not a ConfusionMatrix"):
        ConfusionMatrix.from_state(metrics[0].to_state())
    assert metrics[0].precision_recall_curve()[2].dtype == np.float32


def test_bad_merges_and_inputs(rng):
    with pytest.raises(TypeError, match="ExactCurve"):
        ExactCurve().merge(ConfusionMatrix())
    with pytest.raises(ValueError, match="configurations"):
        ExactCurve(pos_label=1).merge(ExactCurve(pos_label=0))
    with pytest.raises(ValueError, match="Mix of label"):
        ConfusionMatrix().update(np.array([1]), np.array([1])).merge(
            ConfusionMatrix().update(np.array(["a"]), np.array(["a"])))
    with pytest.raises(ValueError, match="y_true must be in"):
        ConfusionMatrix(num_classes=2).update(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="NaN"):
        ExactCurve().update(np.array([0, 1]), np.array([0.5, np.nan]))
    with pytest.raises(StateTooLargeError, match="max_state_bytes"):
        ExactCurve(max_state_bytes=24 * 10).update(np.arange(20) % 2, np.arange(20.0))
    with pytest.raises(ValueError, match="mix binary"):
        CalibrationBins().update(np.array([0.2]), np.array([1])).update(np.array([[0.2, 0.8]]), np.array([1]))
    with pytest.raises(ValueError, match="unit"):
        ErrorRates("token")
    with pytest.warns(UserWarning, match="Only one class"):
        assert np.isnan(ExactCurve().update(np.array([1, 1]), np.array([0.1, 0.2])).roc_auc())


def test_confusion_metric_helpers():
    skm = pytest.importorskip("sklearn.metrics")
    t = np.array([0, 1, 2, 2, 1, 0])
    p = np.array([0, 2, 2, 1, 1, 0])
    m = ConfusionMatrix().update(t[:2], p[:2]).update(t[2:], p[2:])
    assert m.accuracy() == skm.accuracy_score(t, p)
    np.testing.assert_array_equal(m.result(labels=[2, 0]), skm.confusion_matrix(t, p, labels=[2, 0]))
    np.testing.assert_allclose(m.result(normalize="pred"), skm.confusion_matrix(t, p, normalize="pred"))


# -- ExactCurve's lazy states: pending unsorted scores, the run stack ---------


def _run(c):
    return c.scores.tobytes(), c.pos.tobytes(), c.neg.tobytes()


@pytest.mark.parametrize("pending", [None, 400])  # 400 bytes: pending scores sorted into runs while updating
def test_exact_curve_plain_updates_equal_general(pending, rng, monkeypatch):
    from fastloss.metrics import states

    if pending is not None:
        monkeypatch.setattr(states, "_PENDING", pending)
    fast, slow = ExactCurve(), ExactCurve()
    ys, ss = [], []
    for i in range(12):
        n = int(rng.integers(0, 90))
        y = rng.integers(0, 3, n)  # label 2: negative, as every label but pos_label
        s = (rng.integers(0, 40, n) / 40).astype(np.float32 if i % 3 else np.float64)
        y = (y == 1) if i % 4 == 1 else y.astype(np.int32) if i % 4 == 2 else y
        fast.update(y, s)
        slow.update(y, s, sample_weight=np.ones(n))  # weights: the general path, same counts
        ys.append(y == 1)
        ss.append(s)
        if i == 5:
            assert _run(fast) == _run(slow)  # read mid-stream, then go on
    assert _run(fast) == _run(slow)
    assert fast.score_dtype == slow.score_dtype
    y, s = np.concatenate(ys), np.concatenate(ss)
    assert fast.roc_auc() == pytest.approx(fastloss.roc_auc(y, s), rel=1e-12)
    assert fast.average_precision() == pytest.approx(fastloss.average_precision(y, s), rel=1e-12)


def test_exact_curve_pending_state_round_trips(rng):
    y, s = rng.integers(0, 2, 500), rng.random(500)
    c = ExactCurve().update(y[:200], s[:200]).update(y[200:], s[200:])
    assert "_pending" in c.__dict__ and c.__dict__["_pending"]
    again = pickle.loads(pickle.dumps(c))
    assert "_pending" not in again.__dict__ and again == c
    d = ExactCurve().update(y[:100], s[:100])
    d.merge(ExactCurve().update(y[100:], s[100:]))  # other's pending sorted, self's kept
    assert d == c and d.copy() == c and Metric.from_state(d.to_state()) == c
    assert (d + c).count == 1000


def test_exact_curve_plain_bad_input_changes_nothing():
    c = ExactCurve().update(np.array([0, 1]), np.array([0.2, 0.4], dtype=np.float32))
    before = _run(c)
    s = np.array([0.1, np.inf, 0.3])
    with pytest.raises(ValueError, match=r"y_score contains infinity \(inf at index 1\)"):
        c.update(np.array([0, 1, 1]), s)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        c.update(np.array([0, 1]), np.array([0.1, 0.2, 0.3]))
    assert _run(c) == before and np.isinf(s[1])
    assert ExactCurve(pos_label=0).update(np.array([0, 1, 1]), np.array([0.9, 0.2, 0.1])).roc_auc() == 1.0
    assert ExactCurve(pos_label=2**70).update(np.array([0, 1]), np.array([0.9, 0.2])).count == 2


def test_fused_updates_read_only_and_binary_inputs(rng):
    # Read-only arrays (another Numba type) and 1-D binary probabilities take
    # the compiled passes too, and equal the NumPy paths; inputs are untouched.
    p = rng.random(300)
    y = rng.integers(0, 2, 300)
    ro_p, ro_y = p.copy(), y.copy()
    ro_p.flags.writeable = False
    ro_y.flags.writeable = False
    fast = CalibrationBins(n_bins=7).update(ro_p, ro_y).update(p, y)
    slow = CalibrationBins(n_bins=7).update(p.tolist(), y.tolist()).update(p[::-1].copy()[::-1], y)
    assert fast == slow and fast.binary
    c = ExactCurve().update(ro_y, ro_p).update(y, p.astype(np.float32))
    d = ExactCurve().update(y.tolist(), p.tolist()).update(y.tolist(), p.astype(np.float32).tolist())
    assert _run(c) == _run(d)
    assert np.array_equal(ro_p, p) and np.array_equal(ro_y, y)
