"""fastloss.dask: every function equals single-process fastloss (and the peer)
on irregular chunks with the merge tree's combine step, on the threaded
scheduler under each Numba threading layer, and on a real 2-process cluster
reading memmap and Parquet inputs."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

import fastloss  # noqa: E402
import fastloss.dask as fd  # noqa: E402
from fastloss.metrics import StateTooLargeError  # noqa: E402

N = 1000
# Irregular: an empty chunk, a 1-element chunk, 5 blocks (with split_every=2
# the tree has 3 levels, so the combine step runs).
CHUNKS = (0, 1, 300, 199, 500)
SYNC = {"scheduler": "sync"}


def chunked(a, chunks=CHUNKS):
    a = np.asarray(a)
    return da.from_array(a, chunks=(chunks,) + tuple((s,) for s in a.shape[1:]))


def rel(a, b):
    a, b = float(a), float(b)
    return abs(a - b) / max(abs(b), 1e-300)


# ---------------------------------------------------------------- losses


def _loss_cases(rng):
    x = rng.standard_normal(N)
    y = rng.standard_normal(N)
    w = rng.random(N)
    p = rng.random(N) * 0.98 + 0.01
    t01 = rng.integers(0, 2, N).astype(np.float64)
    logits = rng.standard_normal((N, 5)) * 3
    lab = rng.integers(0, 5, N)
    lab[::17] = -100
    e1, e2, e3 = (rng.standard_normal((N, 4)) for _ in range(3))
    pm = np.where(rng.random(N) < 0.5, 1, -1)
    return [
        ("mse_loss", (x, y), {"weight": w}),
        ("l1_loss", (x, y), {}),
        ("huber_loss", (x, y), {"delta": 0.5, "weight": w}),
        ("smooth_l1_loss", (x, y), {"beta": 0.3}),
        ("pseudo_huber_loss", (x, y), {}),
        ("log_cosh_loss", (x, y), {}),
        ("quantile_loss", (x, y), {"quantile": 0.2}),
        ("binary_cross_entropy", (p, t01), {"weight": w}),
        ("binary_cross_entropy_with_logits", (x, t01), {"pos_weight": np.array(2.0)}),
        ("sigmoid_focal_loss", (x, t01), {"reduction": "mean"}),
        ("kl_div", (np.log(p), 1 - p), {}),
        ("cross_entropy", (logits, lab), {"weight": np.arange(1.0, 6.0), "label_smoothing": 0.1}),
        ("nll_loss", (logits, lab), {}),
        ("softmax_focal_loss", (logits, lab), {"gamma": 1.5}),
        ("hinge_loss", (x, pm), {"weight": w}),
        ("multi_margin_loss", (logits, np.abs(lab) % 5), {"margin": 0.5}),
        ("contrastive_loss", (e1, e2, t01), {}),
        ("cosine_embedding_loss", (e1, e2, pm), {"margin": 0.1}),
        ("triplet_margin_loss", (e1, e2, e3), {"swap": True}),
    ]


@pytest.mark.parametrize("case", range(19))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_equals_single_process(rng, case, reduction):
    name, arrays, opts = _loss_cases(rng)[case]
    opts = {**opts, "reduction": opts.get("reduction", reduction)}
    if name == "sigmoid_focal_loss":
        opts["reduction"] = reduction
    expect = getattr(fastloss, name)(*arrays, **opts)
    lazy = getattr(fd, name)(*[chunked(a) for a in arrays], split_every=2, **opts)
    assert isinstance(lazy, da.Array) and lazy.shape == ()
    got = lazy.compute(**SYNC)
    assert got.dtype == expect.dtype
    assert rel(got, expect) < 1e-12, (name, got, expect)


@pytest.mark.parametrize("case", [0, 7, 11, 14, 15, 18])
def test_loss_none_keeps_chunks(rng, case):
    name, arrays, opts = _loss_cases(rng)[case]
    opts = {k: v for k, v in opts.items() if k != "reduction"}
    expect = getattr(fastloss, name)(*arrays, reduction="none", **opts)
    lazy = getattr(fd, name)(*[chunked(a) for a in arrays], reduction="none", **opts)
    assert lazy.chunks[0] == CHUNKS
    np.testing.assert_array_equal(lazy.compute(**SYNC), expect)


def test_float32_and_mixed_dtypes(rng):
    x = rng.standard_normal(N).astype(np.float32)
    y = rng.standard_normal(N)  # float64 target beside float32 input
    expect = fastloss.huber_loss(x, y)
    got = fd.huber_loss(chunked(x), chunked(y, (500, 500))).compute(**SYNC)
    assert got.dtype == np.float32 and rel(got, expect) < 1e-6


def test_kl_batchmean(rng):
    p = rng.dirichlet(np.ones(4), N)
    q = rng.dirichlet(np.ones(4), N)
    expect = fastloss.kl_div(np.log(q), p, reduction="batchmean")
    got = fd.kl_div(chunked(np.log(q)), chunked(p), reduction="batchmean", split_every=2).compute(**SYNC)
    assert rel(got, expect) < 1e-12


@pytest.mark.parametrize("batch_first", [False, True])
def test_ctc_loss(rng, batch_first):
    T, n, C, S = 12, 40, 6, 4
    lp = rng.standard_normal((T, n, C))
    lp -= np.log(np.exp(lp).sum(-1, keepdims=True))
    targets = rng.integers(1, C, (n, S))
    il = rng.integers(8, T + 1, n)
    tl = rng.integers(0, S + 1, n)
    x = lp.transpose(1, 0, 2).copy() if batch_first else lp
    expect = fastloss.ctc_loss(x, targets, il, tl, batch_first=batch_first)
    nchunks = (0, 7, 1, 20, 12)
    xd = da.from_array(x, chunks=(nchunks, T, C) if batch_first else (T, nchunks, C))
    got = fd.ctc_loss(xd, chunked(targets, nchunks), chunked(il, nchunks), chunked(tl, nchunks),
                      batch_first=batch_first, split_every=2).compute(**SYNC)
    assert rel(got, expect) < 1e-12
    none = fd.ctc_loss(xd, targets, il, tl, batch_first=batch_first, reduction="none").compute(**SYNC)
    np.testing.assert_allclose(none, fastloss.ctc_loss(x, targets, il, tl, batch_first=batch_first, reduction="none"),
                               rtol=1e-13)
    # 1-D concatenated targets (in memory) are padded on the client
    flat = np.concatenate([targets[i, :tl[i]] for i in range(n)])
    got_flat = fd.ctc_loss(xd, flat, il, tl, batch_first=batch_first).compute(**SYNC)
    assert rel(got_flat, expect) < 1e-12


def test_misaligned_chunks_are_rechunked_and_lengths_checked(rng):
    x, y = rng.standard_normal(N), rng.standard_normal(N)
    got = fd.mse_loss(chunked(x, (100,) * 10), chunked(y, (333, 333, 334))).compute(**SYNC)
    assert rel(got, fastloss.mse_loss(x, y)) < 1e-12
    with pytest.raises(ValueError, match="rows"):
        fd.mse_loss(chunked(x), chunked(y[:-1], (999,)))
    with pytest.raises(ValueError, match="split_every"):
        fd.mse_loss(chunked(x), chunked(y), split_every=1)
    with pytest.raises(ValueError, match="reduction"):
        fd.mse_loss(chunked(x), chunked(y), reduction="avg")
    with pytest.raises(TypeError, match="return_grad"):
        fd.mse_loss(chunked(x), chunked(y), return_grad=True)


def test_unknown_chunk_sizes_are_checked_in_the_tasks(rng):
    x, y = rng.standard_normal(N), rng.standard_normal(N)
    xd = chunked(x, (500, 500))
    xu = xd[xd > -np.inf]  # unknown chunks, same values
    assert np.isnan(xu.chunks[0][0])
    got = fd.mse_loss(xu, chunked(y, (500, 500))).compute(**SYNC)
    assert rel(got, fastloss.mse_loss(x, y)) < 1e-12
    bad = xd[xd > 0]  # unknown chunks, fewer rows
    with pytest.raises(ValueError, match="not aligned"):
        fd.mse_loss(bad, chunked(y, (500, 500))).compute(**SYNC)


def test_single_chunk_and_numpy_inputs(rng):
    x, y = rng.standard_normal(N), rng.standard_normal(N)
    assert rel(fd.l1_loss(x, y).compute(**SYNC), fastloss.l1_loss(x, y)) < 1e-12


# ---------------------------------------------------------------- metrics


@pytest.fixture
def clf(rng):
    y = rng.integers(0, 2, N)
    s = np.round(rng.random(N), 2)  # many ties
    w = rng.random(N) * 2
    return y, s, w


@pytest.mark.parametrize("weighted", [False, True])
def test_ranking_metrics_equal_sklearn(clf, weighted):
    skm = pytest.importorskip("sklearn.metrics")
    y, s, w = clf
    w = w if weighted else None
    kw = {"sample_weight": None if w is None else chunked(w), "split_every": 2}
    yd, sd = chunked(y), chunked(s)
    auc, ap, roc, pr = dask.compute(
        fd.roc_auc(yd, sd, **kw), fd.average_precision(yd, sd, **kw),
        fd.roc_curve(yd, sd, **kw), fd.precision_recall_curve(yd, sd, **kw), **SYNC)
    assert abs(auc - skm.roc_auc_score(y, s, sample_weight=w)) < 1e-12
    assert abs(auc - fastloss.roc_auc(y, s, sample_weight=w)) < 1e-12
    assert abs(ap - skm.average_precision_score(y, s, sample_weight=w)) < 1e-12
    for got, want in zip(roc, skm.roc_curve(y, s, sample_weight=w)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for got, want in zip(pr, skm.precision_recall_curve(y, s, sample_weight=w)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("average", ["macro", "weighted", "micro", None])
def test_multiclass_ovr(rng, average):
    skm = pytest.importorskip("sklearn.metrics")
    y = rng.integers(0, 3, N)
    p = rng.dirichlet(np.ones(3), N).round(2)
    p /= p.sum(1, keepdims=True)
    got = fd.roc_auc(y, chunked(p), average=average, split_every=2).compute(**SYNC)
    np.testing.assert_allclose(got, skm.roc_auc_score(y, p, multi_class="ovr", average=average), rtol=1e-12)
    got = fd.average_precision(y, chunked(p), average=average, split_every=2).compute(**SYNC)
    np.testing.assert_allclose(got, skm.average_precision_score(y, p, average=average), rtol=1e-12)


def test_binned_method_and_state_budget(clf):
    y, s, _ = clf
    grid = np.linspace(0, 1, 101)[np.rint(s * 100).astype(int)]  # scores on the thresholds: binning is exact
    binned = fd.roc_auc(chunked(y), chunked(grid), method="binned", num_thresholds=101).compute(**SYNC)
    assert abs(binned - fastloss.roc_auc(y, grid)) < 1e-12
    with pytest.raises(StateTooLargeError, match="method='binned'"):
        fd.roc_auc(chunked(y), chunked(s), max_state_bytes=24 * 50).compute(**SYNC)
    with pytest.raises(ValueError, match="y_score contains NaN"):
        fd.roc_auc(chunked(y), chunked(np.where(np.arange(N) == 400, np.nan, s))).compute(**SYNC)


def test_confusion_metrics(rng):
    skm = pytest.importorskip("sklearn.metrics")
    t = rng.integers(0, 4, N)
    p = rng.integers(0, 5, N)
    w = rng.random(N)
    td, pd_ = chunked(t), chunked(p)
    cm = fd.confusion_matrix(td, pd_, split_every=2).compute(**SYNC)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(t, p))
    cmw = fd.confusion_matrix(td, pd_, sample_weight=chunked(w), normalize="true").compute(**SYNC)
    np.testing.assert_allclose(cmw, skm.confusion_matrix(t, p, sample_weight=w, normalize="true"), rtol=1e-12)
    for average in (None, "micro", "macro", "weighted"):
        got = fd.precision_recall_fscore(td, pd_, average=average, zero_division=0, split_every=2).compute(**SYNC)
        want = skm.precision_recall_fscore_support(t, p, average=average, zero_division=0)
        for g, e in zip(got, want):
            if e is None:
                assert g is None
            else:
                np.testing.assert_allclose(g, e, rtol=1e-12)
    b = fd.precision_recall_fscore(t % 2, p % 2, average="binary").compute(**SYNC)
    np.testing.assert_allclose(b[:3], skm.precision_recall_fscore_support(t % 2, p % 2, average="binary")[:3])
    np.testing.assert_allclose(fd.class_weights(chunked(t)).compute(**SYNC), fastloss.class_weights(t), rtol=1e-15)
    np.testing.assert_allclose(fd.class_weights(t, method="effective_number", beta=0.99).compute(**SYNC),
                               fastloss.class_weights(t, method="effective_number", beta=0.99), rtol=1e-14)


def test_string_labels_from_dataframe(rng):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    t = rng.choice(["cat", "dog", "eel"], N)
    p = rng.choice(["cat", "dog", "eel"], N)
    df = dd.from_pandas(pd.DataFrame({"t": t, "p": p}), npartitions=4)
    got = fd.confusion_matrix(df["t"], df["p"], split_every=2).compute(**SYNC)
    np.testing.assert_array_equal(got, fastloss.confusion_matrix(t, p))


def test_ood_and_scores(rng):
    logits_in = rng.standard_normal((600, 10)) * 2 + np.eye(10)[rng.integers(0, 10, 600)] * 3
    logits_out = rng.standard_normal((400, 10)) * 2
    for name in ("msp_score", "max_logit_score", "energy_score", "entropy_score"):
        got = getattr(fd, name)(chunked(logits_in, (0, 1, 299, 300))).compute(**SYNC)
        np.testing.assert_array_equal(got, getattr(fastloss, name)(logits_in))
    sin = fd.energy_score(chunked(logits_in, (0, 1, 299, 300)))
    sout = fd.energy_score(chunked(logits_out, (100, 300)))
    got = fd.ood_metrics(sin, sout, split_every=2).compute(**SYNC)
    want = fastloss.ood_metrics(fastloss.energy_score(logits_in), fastloss.energy_score(logits_out))
    assert got.keys() == want.keys()
    for k in want:
        assert abs(got[k] - want[k]) < 1e-12, k
    # ties and infinities
    a = np.array([3.0, 2.0, np.inf, 1.0, 2.0])
    b = np.array([2.0, -np.inf, 0.0])
    got = fd.ood_metrics(chunked(a, (2, 0, 3)), chunked(b, (1, 2))).compute(**SYNC)
    want = fastloss.ood_metrics(a, b)
    assert all(abs(got[k] - want[k]) < 1e-12 for k in want)


def test_calibration(rng):
    p = rng.dirichlet(np.ones(4), N)
    lab = rng.integers(0, 4, N)
    for norm in ("l1", "l2", "max"):
        got = fd.expected_calibration_error(chunked(p), chunked(lab), n_bins=10, norm=norm, split_every=2)
        assert got.shape == ()
        assert rel(got.compute(**SYNC), fastloss.expected_calibration_error(p, lab, n_bins=10, norm=norm)) < 1e-12
    z = rng.standard_normal(N).astype(np.float32)
    yb = rng.integers(0, 2, N)
    got = fd.expected_calibration_error(chunked(z), yb, logits=True).compute(**SYNC)
    want = fastloss.expected_calibration_error(z, yb, logits=True)
    assert got.dtype == want.dtype == np.float32 and rel(got, want) < 1e-6
    d = fd.reliability_diagram(chunked(p), lab).compute(**SYNC)
    e = fastloss.reliability_diagram(p, lab)
    np.testing.assert_array_equal(d.count, e.count)
    np.testing.assert_allclose(d.confidence, e.confidence, rtol=1e-13)
    with pytest.raises(ValueError, match="quantile"):
        fd.expected_calibration_error(p, lab, strategy="quantile")


SENTS = ["the cat sat on the mat", "hello world", "", "a b c d", "speech is hard", "x"]
HYPS = ["the cat sat on mat", "hello  word", "extra", "a c d e", "speech is hard", ""]


def test_error_rates_bag_and_dataframe():
    db = pytest.importorskip("dask.bag")
    refs = SENTS * 20
    hyps = HYPS * 20
    want = fastloss.error_rates(refs, hyps)
    got = fd.error_rates(db.from_sequence(refs, npartitions=7), db.from_sequence(hyps, npartitions=7),
                         split_every=2).compute(**SYNC)
    assert got == want
    jiwer = pytest.importorskip("jiwer")
    assert abs(fd.wer(refs, hyps).compute(**SYNC) - jiwer.wer(refs, hyps)) < 1e-15
    assert abs(fd.cer(refs, hyps).compute(**SYNC) - jiwer.cer(refs, hyps)) < 1e-15
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    df = dd.from_pandas(pd.DataFrame({"r": refs, "h": hyps}), npartitions=5)
    assert fd.error_rates(df["r"], df["h"]).compute(**SYNC) == want
    with pytest.raises(ValueError, match="same length"):
        fd.wer(refs, hyps[:-1])


def test_accumulate_generic(rng):
    import functools

    x, y = rng.standard_normal(N), rng.standard_normal(N)
    acc = fd.accumulate(functools.partial(fastloss.LossAccumulator, fastloss.huber_loss, delta=0.3),
                        chunked(x), chunked(y), split_every=2).compute(**SYNC)
    assert rel(acc.result(), fastloss.huber_loss(x, y, delta=0.3)) < 1e-12
    yb = rng.integers(0, 2, N)
    ca = fd.accumulate(functools.partial(fastloss.CurveAccumulator, 50), chunked(yb), chunked(x.clip(0, 1)))
    ref = fastloss.CurveAccumulator(50).update(yb, x.clip(0, 1))
    np.testing.assert_array_equal(ca.compute(**SYNC).pos, ref.pos)


def test_one_read_for_several_metrics(rng):
    # dask.compute of several metrics over one collection: shared input keys.
    y = chunked(rng.integers(0, 2, N))
    s = chunked(rng.random(N))
    a, b = fd.roc_auc(y, s), fd.average_precision(y, s)
    graph = dict(dask.base.collections_to_expr([a, b]).__dask_graph__()) if hasattr(
        dask.base, "collections_to_expr") else {**a.dask, **b.dask}
    blocks = [k for k in graph if isinstance(k, tuple) and k[0] == s.name]
    assert len(blocks) == len(CHUNKS)  # each block of s appears once in the merged graph


def test_scalar_results_have_no_finalize_task(rng):
    """A 0-d result is its root task's value: compute adds no finalize task
    (a plain 0-d dask array adds one, a scheduler round trip on a cluster)."""
    x = chunked(rng.standard_normal(N))
    lazy = fd.mse_loss(x, x * 0.5)
    assert isinstance(lazy, da.Array) and lazy.ndim == 0 and lazy.dtype == np.float64
    expr_mod = pytest.importorskip("dask._expr")
    expr = expr_mod.FinalizeCompute(dask.base.collections_to_expr(lazy)).optimize()
    assert list(dask.core.flatten(expr.__dask_keys__())) == lazy.__dask_keys__()
    ref = fastloss.mse_loss(x.compute(), x.compute() * 0.5)
    got = lazy.compute(**SYNC)
    assert type(got) is type(ref) and rel(got, ref) < 1e-12
    both = dask.compute(lazy, lazy + 1, x.sum(), **SYNC)  # mixes with plain arrays and arithmetic
    assert rel(both[0], ref) < 1e-12 and rel(both[1], ref + 1) < 1e-12
    assert rel(fd.huber_loss(x, x, reduction="sum").compute(**SYNC), 0.0) == 0.0


def test_mixed_results_come_back_in_order(rng):
    """0-d array results (losses) and Delayed results (curves) computed
    together come back in argument order: dask 2026.8's ``dask.compute``
    returns its arguments grouped by optimiser, so fastloss's 0-d results
    use Delayed's optimiser (one group)."""
    x, t = rng.standard_normal(N), rng.standard_normal(N)
    y = (t > 0).astype(np.int8)
    xd, td, yd = chunked(x), chunked(t), chunked(y)
    got = dask.compute(fd.mse_loss(xd, td), fd.roc_auc(yd, xd), fd.huber_loss(xd, td),
                       fd.average_precision(yd, xd), fd.expected_calibration_error(
                           np.c_[1 - x.clip(0, 1), x.clip(0, 1)], y), **SYNC)
    want = (fastloss.mse_loss(x, t), fastloss.roc_auc(y, x), fastloss.huber_loss(x, t),
            fastloss.average_precision(y, x),
            fastloss.expected_calibration_error(np.c_[1 - x.clip(0, 1), x.clip(0, 1)], y))
    for g, w in zip(got, want):
        assert rel(g, w) < 1e-12, (got, want)


def _boom():
    raise RuntimeError("computed while building the graph")


def test_building_a_graph_computes_nothing():
    x = da.from_delayed(dask.delayed(_boom)(), shape=(N,), dtype=np.float32)
    y = da.from_delayed(dask.delayed(_boom)(), shape=(N,), dtype=np.int64)
    z = da.from_delayed(dask.delayed(_boom)(), shape=(N, 3), dtype=np.float64)
    lazy = [fd.mse_loss(x, x), fd.huber_loss(x, x, reduction="none"), fd.cross_entropy(z, y),
            fd.roc_auc(y, x), fd.roc_auc(y, z), fd.average_precision(y, x), fd.confusion_matrix(y, y),
            fd.ood_metrics(x, x), fd.expected_calibration_error(z, y), fd.energy_score(z), fd.class_weights(y)]
    with pytest.raises(RuntimeError, match="computed while building"):
        dask.compute(lazy[0], **SYNC)
    assert all(dask.is_dask_collection(v) for v in lazy)


def test_import_fastloss_does_not_import_dask():
    code = "import sys, fastloss; assert 'dask' not in sys.modules; import fastloss.dask; assert 'dask' in sys.modules"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# ---------------------------------------------------------------- threads


def _layers():
    """Threading layers this machine can load: omp and workqueue ship with
    Numba's wheels; tbb needs libtbb.so.12 (the tbb wheel puts it under
    sys.prefix/lib, which the loader does not search: LD_LIBRARY_PATH)."""
    layers = {"omp": {}, "workqueue": {}}
    lib = os.path.join(sys.prefix, "lib")
    if os.path.exists(os.path.join(lib, "libtbb.so.12")):
        layers["tbb"] = {"LD_LIBRARY_PATH": lib + os.pathsep + os.environ.get("LD_LIBRARY_PATH", "")}
    return layers


THREADED = textwrap.dedent("""
    import numpy as np, dask, dask.array as da, fastloss, fastloss.dask as fd, numba
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200_000); y = rng.standard_normal(200_000)
    yb = (rng.random(200_000) < 0.3).astype(np.int64)
    xd, yd, bd = (da.from_array(a, chunks=12_500) for a in (x, y, yb))
    ref = dask.compute(fd.huber_loss(xd, yd), fd.roc_auc(bd, xd), scheduler="sync")
    for _ in range(2):
        got = dask.compute(fd.huber_loss(xd, yd), fd.roc_auc(bd, xd), scheduler="threads", num_workers=4)
        assert got == ref, (got, ref)
    print(numba.threading_layer(), ref[0] == fastloss.huber_loss(x, y) or abs(ref[0] / fastloss.huber_loss(x, y) - 1))
""")


def test_threaded_scheduler_under_each_layer():
    # One subprocess per layer (a process picks its layer once), run side by side.
    procs = {}
    for layer, extra in _layers().items():
        env = {**os.environ, **extra, "NUMBA_THREADING_LAYER": layer}
        procs[layer] = subprocess.Popen([sys.executable, "-c", THREADED], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
    for layer, p in procs.items():
        out, err = p.communicate(timeout=300)  # a hang fails here
        assert p.returncode == 0, (layer, err[-2000:])  # an abort fails here
        assert out.split()[0] == layer, (layer, out)


# ---------------------------------------------------------------- cluster


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    from fastloss.bench.cases.dask import worker_env

    # Workers import the fastloss under test (a checkout first on PYTHONPATH),
    # not whatever the environment's install points at.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, env=worker_env())
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_cluster_workers_are_processes(client):
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids
    assert set(client.run(_fastloss_file).values()) == {_fastloss_file()}


def _fastloss_file():
    import fastloss

    return os.path.abspath(fastloss.__file__)


def test_cluster_groups_persisted_partitions_by_worker(client, rng):
    """Persisted inputs: leaves group the partitions of one worker (no data
    moved): <= split_every per group for the exact curves' helper default,
    one group per worker thread for small states; same answers as the
    single-process call."""
    from fastloss.dask import _leaf_groups, _partitions

    x = da.from_array(rng.standard_normal(10_000), chunks=500)
    t = da.from_array(rng.standard_normal(10_000), chunks=500)
    x, t = client.persist([x, t])
    distributed = pytest.importorskip("distributed")
    distributed.wait([x, t])
    parts, _, _, deps = _partitions([(x, "x", 0), (t, "t", 0)])
    groups = _leaf_groups(parts, deps, 4)
    assert sorted(i for g in groups for i in g) == list(range(20))
    assert all(len(g) <= 4 for g in groups) and len(groups) < 20
    where = client.who_has(x)
    for g in groups:
        assert len({where[parts[0][i]][0] for i in g}) == 1  # one worker per group
    got = fd.huber_loss(x, t, split_every=4).compute()
    assert rel(got, fastloss.huber_loss(x.compute(), t.compute())) < 1e-12
    auc = fd.roc_auc(t > 0, x, split_every=4).compute()
    assert auc == fastloss.roc_auc(t.compute() > 0, x.compute())
    # Small states (losses): one leaf task per worker thread, whatever split_every.
    small = _leaf_groups(parts, deps, 4, big=False)
    holders = {where[parts[0][i]][0] for i in range(20)}
    nthreads = client.nthreads()
    assert len(small) == sum(nthreads[w] for w in holders)
    assert sorted(i for g in small for i in g) == list(range(20))
    for g in small:
        assert len({where[parts[0][i]][0] for i in g}) == 1
    lazy = fd.huber_loss(x, t, split_every=4)
    assert len([k for k in dict(lazy.dask) if str(k[0]).startswith(lazy.name)]) == len(small) + 1  # leaves + root


def test_cluster_exact_curve_merges_per_worker_first(client, rng, monkeypatch):
    """Exact curves on persisted inputs: leaves of split_every partitions
    (CONCAT_BYTES made tiny), each worker's leaf states merged there, then
    the root: the same answer as scikit-learn's."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(fd, "CONCAT_BYTES", 1)
    s = np.round(rng.random(6_000), 3)
    y = rng.integers(0, 2, 6_000)
    sd, yd = client.persist([da.from_array(s, chunks=300), da.from_array(y, chunks=300)])
    distributed.wait([sd, yd])
    lazy = fd.roc_auc(yd, sd, split_every=2)
    keys = [str(k[0]) for k in dict(lazy.__dask_graph__()) if isinstance(k, tuple) and str(k[0]).startswith("fastloss")]
    assert any(k.endswith("-local") for k in keys)
    assert lazy.compute() == fastloss.roc_auc(y, s)
    ap = fd.average_precision(yd, sd, split_every=3).compute()
    assert ap == fastloss.average_precision(y, s)


def test_cluster_memmap_inputs(client, tmp_path, rng):
    n = 100_000
    path = tmp_path / "scores.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(n,))
    mm[:] = rng.random(n).astype(np.float32)
    mm.flush()
    y = (rng.random(n) < 0.2).astype(np.int8)
    np.save(tmp_path / "y.npy", y)
    scores = np.asarray(np.memmap(path, dtype=np.float32, mode="r", shape=(n,)))
    # A memmap per chunk, opened on the worker that reads it.
    sizes = [25_000, 1, 24_999, 50_000]
    starts = np.cumsum([0] + sizes[:-1])
    blocks = [da.from_delayed(dask.delayed(_memmap_block)(str(path), int(s), int(k)), shape=(k,), dtype=np.float32)
              for s, k in zip(starts, sizes)]
    sd = da.concatenate(blocks)
    yd = chunked(y, tuple(sizes))
    auc, ap, mse = dask.compute(fd.roc_auc(yd, sd, split_every=2), fd.average_precision(yd, sd),
                                fd.mse_loss(sd, yd.astype(np.float32)))
    assert abs(auc - fastloss.roc_auc(y, scores)) < 1e-12
    assert abs(ap - fastloss.average_precision(y, scores)) < 1e-12
    assert rel(mse, fastloss.mse_loss(scores, y.astype(np.float32))) < 1e-6


def _memmap_block(path, start, size):
    return np.array(np.memmap(path, dtype=np.float32, mode="r", offset=4 * start, shape=(size,)))


def test_cluster_parquet_inputs(client, tmp_path, rng):
    pytest.importorskip("pyarrow")
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    n = 50_000
    for i in range(4):
        m = n // 4
        pd.DataFrame({"y": rng.integers(0, 2, m), "s": rng.random(m).astype(np.float32),
                      "pred": rng.integers(0, 3, m), "true": rng.integers(0, 3, m)}).to_parquet(
            tmp_path / f"part{i}.parquet")
    df = dd.read_parquet(str(tmp_path))
    local = pd.concat([pd.read_parquet(tmp_path / f"part{i}.parquet") for i in range(4)])
    auc, cm = dask.compute(fd.roc_auc(df["y"], df["s"], split_every=2), fd.confusion_matrix(df["true"], df["pred"]))
    assert abs(auc - fastloss.roc_auc(local["y"].to_numpy(), local["s"].to_numpy())) < 1e-12
    np.testing.assert_array_equal(cm, fastloss.confusion_matrix(local["true"].to_numpy(), local["pred"].to_numpy()))
    import dask.bag as db

    refs = db.from_sequence(SENTS * 50, npartitions=4)
    hyps = db.from_sequence(HYPS * 50, npartitions=4)
    assert fd.error_rates(refs, hyps).compute() == fastloss.error_rates(SENTS * 50, HYPS * 50)


# ---------------------------------------------------------------- method='sort'


@pytest.mark.parametrize("weighted", [False, True])
def test_sort_method_equals_sklearn(clf, weighted):
    """The range-partitioned plan (forced by a budget far below the data:
    many buckets, ties across leaves) equals scikit-learn and the tree plan."""
    skm = pytest.importorskip("sklearn.metrics")
    y, s, w = clf
    s = np.round(s, 2)  # ties within and across partitions and buckets
    w = w if weighted else None
    kw = {"sample_weight": None if w is None else chunked(w), "split_every": 2, "method": "sort",
          "max_state_bytes": 24 * 30}
    yd, sd = chunked(y), chunked(s)
    auc, ap, roc, pr = dask.compute(
        fd.roc_auc(yd, sd, **kw), fd.average_precision(yd, sd, **kw),
        fd.roc_curve(yd, sd, **kw), fd.precision_recall_curve(yd, sd, **kw), **SYNC)
    assert abs(auc - skm.roc_auc_score(y, s, sample_weight=w)) < 1e-12
    assert abs(ap - skm.average_precision_score(y, s, sample_weight=w)) < 1e-12
    if w is None:
        assert auc == fastloss.roc_auc(y, s)  # integer counts: the same float
    for got, want in zip(roc, skm.roc_curve(y, s, sample_weight=w)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for got, want in zip(pr, skm.precision_recall_curve(y, s, sample_weight=w)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(StateTooLargeError, match="method='sort'"):
        fd.roc_auc(yd, sd, max_state_bytes=24 * 30).compute(**SYNC)  # the tree's root would hold them all


def test_sort_method_edge_cases(rng):
    skm = pytest.importorskip("sklearn.metrics")
    y = (rng.random(400) < 0.4).astype(int)
    s = rng.random(400)
    wn = rng.random(400) - 0.2  # negative weights: the trapezoid form, as the single-process call
    got = fd.roc_auc(chunked(y, (100,) * 4), chunked(s, (100,) * 4), sample_weight=chunked(wn, (100,) * 4),
                     method="sort").compute(**SYNC)
    assert abs(got - fastloss.roc_auc(y, s, sample_weight=wn)) < 1e-12
    got = fd.average_precision(chunked(y, (100,) * 4), chunked(s, (100,) * 4), sample_weight=chunked(wn, (100,) * 4),
                               method="sort").compute(**SYNC)
    assert abs(got - skm.average_precision_score(y, s, sample_weight=wn)) < 1e-12
    with pytest.warns(UserWarning, match="Only one class"):
        assert np.isnan(fd.roc_auc(np.zeros(10, int), np.arange(10.0), method="sort").compute(**SYNC))
    with pytest.warns(UserWarning, match="No positive class"):
        assert fd.average_precision(np.zeros(10, int), np.arange(10.0), method="sort").compute(**SYNC) == 0.0
    one = fd.roc_auc(np.array([0, 1, 1]), np.array([0.5, 0.5, 0.5]), method="sort").compute(**SYNC)
    assert one == skm.roc_auc_score([0, 1, 1], [0.5, 0.5, 0.5])  # one distinct score: empty buckets
    with pytest.raises(ValueError, match="method='exact'"):
        fd.roc_auc(y, np.c_[s, 1 - s], method="sort")
    with pytest.raises(ValueError, match="method must be"):
        fd.roc_auc(y, s, method="radix")


# ---------------------------------------------------------------- ovo and max_fpr


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_multiclass_ovo(rng, average):
    skm = pytest.importorskip("sklearn.metrics")
    y = rng.integers(0, 4, N)
    p = rng.dirichlet(np.ones(4), N)
    got = fd.roc_auc(chunked(y), chunked(p), multi_class="ovo", average=average, split_every=2).compute(**SYNC)
    assert abs(got - skm.roc_auc_score(y, p, multi_class="ovo", average=average)) < 1e-12
    assert abs(got - fastloss.roc_auc(y, p, multi_class="ovo", average=average)) < 1e-12
    y3 = np.where(y == 2, 3, y)  # a class absent: the pairs of the classes present, as the single-process call
    got = fd.roc_auc(chunked(y3), chunked(p), multi_class="ovo", average=average).compute(**SYNC)
    assert abs(got - fastloss.roc_auc(y3, p, multi_class="ovo", average=average, labels=[0, 1, 2, 3])) < 1e-12
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        fd.roc_auc(y, p, multi_class="ovo", sample_weight=np.ones(N))
    with pytest.raises(ValueError, match="average must be one of"):
        fd.roc_auc(y, p, multi_class="ovo", average="micro")
    with pytest.raises(NotImplementedError, match="average=None"):
        fd.roc_auc(y, p, multi_class="ovo", average=None)


@pytest.mark.parametrize("method", ["exact", "sort"])
def test_max_fpr(clf, method):
    skm = pytest.importorskip("sklearn.metrics")
    y, s, w = clf
    s = np.round(s, 2)
    for mf in (0.05, 0.5, 1.0):
        got = fd.roc_auc(chunked(y), chunked(s), sample_weight=chunked(w), max_fpr=mf, method=method,
                         split_every=2).compute(**SYNC)
        assert abs(got - skm.roc_auc_score(y, s, sample_weight=w, max_fpr=mf)) < 1e-12
    with pytest.raises(ValueError, match="max_fpr"):
        fd.roc_auc(y, s, max_fpr=0)
    with pytest.raises(ValueError, match="Partial AUC computation not available in multiclass"):
        fd.roc_auc(y, np.c_[s, 1 - s], max_fpr=0.5)


def test_cluster_persisted_bags(client):
    """Corpus WER over bags held on the cluster (partitions grouped by worker)."""
    db = pytest.importorskip("dask.bag")
    refs = [f"the cat sat on mat {i % 7}" for i in range(400)]
    hyps = [f"the cat sat {'on' if i % 3 else 'in'} mat {i % 5}" for i in range(400)]
    rb, hb = client.persist([db.from_sequence(refs, npartitions=8), db.from_sequence(hyps, npartitions=8)])
    got = fd.error_rates(rb, hb, split_every=2).compute()
    assert got == fastloss.error_rates(refs, hyps)
