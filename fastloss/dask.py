"""fastloss on Dask: losses, metrics and error rates over collections that do
not fit one machine, with the single-process answers.

Every function takes Dask collections (``dask.array``, ``dask.dataframe``
Series/DataFrames, ``dask.bag`` for text) or NumPy arrays (wrapped), and
returns a **lazy** result: a 0-d dask array for the losses and scalar scores,
a dask array for ``reduction='none'`` and the OOD scores, a
``dask.delayed.Delayed`` for everything else.  ``dask.compute(a, b, c)`` reads
the data once for several metrics.

How: each partition is turned into a small, exact *state* by a fastloss
kernel (a compensated float64 sum for the losses, a
:class:`fastloss.metrics.ConfusionMatrix`, :class:`~fastloss.metrics.ExactCurve`,
:class:`~fastloss.metrics.CalibrationBins` or
:class:`~fastloss.metrics.ErrorRates` for the metrics); states are merged in a
tree of fan-in ``split_every`` (default 8) and only the final state reaches
the client, where the metric is read off it.  No data is gathered.  See
``docs/dask.md`` for each metric's state size and network cost.

Threads inside a task: fastloss kernels run single-threaded there (Dask
supplies the parallelism; ``numba.set_num_threads(1)`` is per calling thread),
and under Numba's ``workqueue`` threading layer, which aborts the process when
two threads enter parallel code at once, calls are serialised by a
per-process lock.  The OpenMP and TBB layers are safe for concurrent callers.

``import fastloss.dask`` imports dask; ``import fastloss`` does not.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import math
import numbers
import threading

import dask
import dask.array as da
import numpy as np
from dask.delayed import Delayed, delayed

import fastloss as _fl
from fastloss import states as _st
from fastloss.streaming import LossAccumulator

#: Default fan-in of the merge tree (states are small: 8 per merge keeps the
#: tree shallow, log_8 of the number of partitions).
SPLIT_EVERY = 8
#: Default budget of an exact curve state (ExactCurve: 24 bytes per distinct score).
MAX_STATE_BYTES = 1 << 30

# ---------------------------------------------------------------- engine

_WORKQUEUE_LOCK = threading.Lock()


@contextlib.contextmanager
def single_threaded_kernels():
    """Run fastloss kernels in this thread with one Numba thread (restored on
    exit); serialise them under the ``workqueue`` threading layer, which is not
    safe for concurrent callers.  Every task of this module runs inside it."""
    import numba

    prev = numba.get_num_threads()
    numba.set_num_threads(1)  # also launches the threading layer, so it can be queried
    lock = _WORKQUEUE_LOCK if numba.threading_layer() == "workqueue" else contextlib.nullcontext()
    try:
        with lock:
            yield
    finally:
        numba.set_num_threads(prev)


def _block(x):
    """A partition as NumPy (pandas Series/DataFrame -> ndarray; lists kept)."""
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        return x.to_numpy()
    return x


def _nrows(x) -> int:
    return x.shape[0] if hasattr(x, "shape") else len(x)


def _update_task(factory, update, update_kw, names, *blocks):
    """One partition -> one state (module level: pickles by reference)."""
    blocks = [_block(b) for b in blocks]
    n = [_nrows(b) for b in blocks]
    if any(k != n[0] for k in n):
        raise ValueError(
            "partitions are not aligned: " + ", ".join(f"{nm} has {k} rows" for nm, k in zip(names, n))
            + " in the same partition"
        )
    acc = factory()
    if n and n[0] == 0:
        return acc  # an empty partition adds nothing (and some kernels reject N=0)
    with single_threaded_kernels():
        if update is None:
            acc.update(*blocks, **update_kw)
        else:
            update(acc, *blocks, **update_kw)
    return acc


def _merge_task(*states):
    if len(states) == 1:
        return states[0]
    first = states[0]
    if isinstance(first, _st.Metric):
        return type(first).merge_all(states)
    out = copy.deepcopy(first)  # never mutate another task's result
    for s in states[1:]:
        out.merge(s)
    return out


def _finish_task(finish, kwargs, state):
    return finish(state, **kwargs) if finish is not None else state


def _check_split_every(split_every):
    if split_every is None:
        return SPLIT_EVERY
    if isinstance(split_every, bool) or not isinstance(split_every, numbers.Integral) or split_every < 2:
        raise ValueError(f"split_every must be an integer >= 2 (the merge tree's fan-in), got {split_every!r}")
    return int(split_every)


def _is_dask(x) -> bool:
    return dask.is_dask_collection(x)


def _is_frame(x) -> bool:
    return _is_dask(x) and hasattr(x, "npartitions") and hasattr(x, "map_partitions")


def _is_bag(x) -> bool:
    return _is_dask(x) and type(x).__name__ == "Bag"


def _as_dask_array(x, name, axis, chunks=None):
    """A dask array with one chunk along every axis but ``axis``."""
    if isinstance(x, da.Array):
        arr = x
    else:
        a = np.asarray(x)
        if a.ndim == 0:
            raise ValueError(f"{name} must have a batch axis, got a scalar")
        if a.dtype == object:
            raise TypeError(f"{name} must be an array of numbers or labels, got dtype object")
        want = {i: -1 for i in range(a.ndim)}
        want[axis] = chunks if chunks is not None else "auto"
        arr = da.from_array(a, chunks=want if chunks is None else tuple(
            chunks if i == axis else (a.shape[i],) for i in range(a.ndim)))
    if arr.ndim <= axis:
        raise ValueError(f"{name} must have a batch axis {axis}, got shape {arr.shape}")
    other = {i: -1 for i in range(arr.ndim) if i != axis and arr.numblocks[i] > 1}
    return arr.rechunk(other) if other else arr


def _partitions(inputs):
    """Aligned partitions of several collections.

    ``inputs``: list of ``(obj, name, axis)``.  Returns ``(parts, names)``
    with ``parts[i]`` the list of per-partition Delayed/values of input i.
    Dask arrays are rechunked to the first known chunking of the batch axis
    (never a silent mismatch); NumPy arrays are wrapped with it; DataFrames,
    Series and Bags are paired partition by partition (the tasks check that
    the row counts agree)."""
    names = [nm for _, nm, _ in inputs]
    ref = None
    ref_name = None
    for obj, nm, axis in inputs:
        if isinstance(obj, da.Array) and obj.ndim > axis and not any(math.isnan(c) for c in obj.chunks[axis]):
            ref, ref_name = obj.chunks[axis], nm
            break
    frames = [obj for obj, _, _ in inputs if _is_frame(obj) or _is_bag(obj)]
    parts = []
    for obj, nm, axis in inputs:
        if _is_frame(obj) or _is_bag(obj):
            parts.append(list(obj.to_delayed()))
            continue
        if _is_dask(obj) and not isinstance(obj, da.Array):
            raise TypeError(f"{nm}: unsupported Dask collection {type(obj).__name__} (use a dask array, dataframe or bag)")
        if not isinstance(obj, da.Array) and frames:
            # A NumPy array beside a DataFrame: chunk it like the frame's partitions.
            lengths = dask.compute(*[f.map_partitions(len) if _is_frame(f) else f.count() for f in frames[:1]])
            raise TypeError(
                f"{nm} is an in-memory array but the other inputs are partitioned DataFrames/Bags; "
                f"pass it as a dask collection with the same partitions ({lengths})"
            )
        arr = _as_dask_array(obj, nm, axis, ref)
        if ref is not None and not any(math.isnan(c) for c in arr.chunks[axis]) and arr.chunks[axis] != ref:
            if arr.shape[axis] != sum(ref):
                raise ValueError(
                    f"{nm} has {arr.shape[axis]} rows along axis {axis} but {ref_name} has {sum(ref)}"
                )
            arr = arr.rechunk({axis: ref})  # aligned with the reference, never silently shifted
        if ref is None and not any(math.isnan(c) for c in arr.chunks[axis]):
            ref, ref_name = arr.chunks[axis], nm
        blocks = arr.to_delayed()
        parts.append(list(np.moveaxis(blocks, axis, 0).reshape(blocks.shape[axis], -1)[:, 0]))
    counts = {len(p) for p in parts}
    if len(counts) > 1:
        raise ValueError(
            "inputs have different numbers of partitions: "
            + ", ".join(f"{nm}: {len(p)}" for nm, p in zip(names, parts))
            + " (rechunk/repartition them alike)"
        )
    return parts, names


def _reduce(factory, inputs, *, update=None, update_kw=None, finish=None, finish_kw=None, split_every=None,
            name="fastloss"):
    """Per-partition states, a merge tree, one finishing call: a Delayed."""
    k = _check_split_every(split_every)
    parts, names = _partitions(inputs)
    token = dask.base.tokenize(factory, update, update_kw, finish, finish_kw, k, *[p for p in parts])
    upd = delayed(_update_task, pure=True)
    states = [
        upd(factory, update, update_kw or {}, tuple(names), *row, dask_key_name=f"{name}-state-{token}-{i}")
        for i, row in enumerate(zip(*parts))
    ]
    if not states:
        states = [delayed(factory, pure=True)()]
    merge = delayed(_merge_task, pure=True)
    level = 0
    while len(states) > 1:
        states = [
            merge(*states[i:i + k], dask_key_name=f"{name}-merge-{token}-{level}-{i // k}")
            for i in range(0, len(states), k)
        ]
        level += 1
    return delayed(_finish_task, pure=True)(finish, finish_kw or {}, states[0], dask_key_name=f"{name}-{token}")


def _scalar(d: Delayed, dtype) -> da.Array:
    return da.from_delayed(d, shape=(), dtype=dtype)


def accumulate(factory, *collections, split_every=None, **update_kw):
    """Feed any fastloss accumulator block by block and merge in a tree.

    Parameters
    ----------
    factory : callable
        Makes an empty accumulator: a class or ``functools.partial`` such as
        ``functools.partial(fastloss.LossAccumulator, fastloss.huber_loss)``,
        ``fastloss.metrics.ExactCurve``, ``fastloss.CurveAccumulator``,
        ``fastloss.metrics.ConfusionMatrix``, ``fastloss.metrics.ErrorRates``.
        It must pickle (module-level objects of an installed package) to run
        on a distributed cluster.
    *collections : dask arrays / dataframes / bags, or NumPy arrays
        Passed to ``update`` partition by partition, aligned along the first
        axis (rechunked to the first input's chunks).
    split_every : int >= 2, optional
        Fan-in of the merge tree (default 8).
    **update_kw
        Keyword arguments of every ``update`` call (not chunked).

    Returns
    -------
    Delayed
        The merged accumulator.

    Examples
    --------
    >>> import functools, numpy as np, dask, fastloss, fastloss.dask as fd
    >>> x, y = np.linspace(0, 3, 10), np.zeros(10)
    >>> acc = fd.accumulate(functools.partial(fastloss.LossAccumulator, fastloss.huber_loss), x, y)
    >>> bool(np.isclose(acc.compute(scheduler="sync").result(), fastloss.huber_loss(x, y)))
    True
    """
    if not callable(factory):
        raise TypeError(f"factory must be callable (a class or partial making an empty accumulator), got {factory!r}")
    if not collections:
        raise TypeError("accumulate needs at least one collection")
    inputs = [(c, f"collections[{i}]", 0) for i, c in enumerate(collections)]
    return _reduce(factory, inputs, update_kw=update_kw, split_every=split_every, name="fastloss-accumulate")


# ---------------------------------------------------------------- losses

#: name -> (number of positional arrays, per-sample keyword arrays, 'elem' or 'row')
_LOSSES = {
    "mse_loss": (2, ("weight",), "elem"),
    "l1_loss": (2, ("weight",), "elem"),
    "huber_loss": (2, ("weight",), "elem"),
    "smooth_l1_loss": (2, ("weight",), "elem"),
    "pseudo_huber_loss": (2, ("weight",), "elem"),
    "log_cosh_loss": (2, ("weight",), "elem"),
    "quantile_loss": (2, ("weight",), "elem"),
    "binary_cross_entropy": (2, ("weight",), "elem"),
    "binary_cross_entropy_with_logits": (2, ("weight",), "elem"),
    "sigmoid_focal_loss": (2, (), "elem"),
    "kl_div": (2, (), "elem"),
    "cross_entropy": (2, (), "row"),
    "nll_loss": (2, (), "row"),
    "softmax_focal_loss": (2, (), "row"),
    "hinge_loss": (2, ("weight",), "hinge"),
    "multi_margin_loss": (2, (), "row"),
    "contrastive_loss": (3, (), "row"),
    "cosine_embedding_loss": (3, (), "row"),
    "triplet_margin_loss": (3, (), "row"),
    "ctc_loss": (4, (), "row"),
}


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    return dtype if dtype in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(np.float64)


def _loss_finish(acc, *, reduction, dtype, rows):
    if reduction == "batchmean":
        value = acc.result("sum") / rows if rows else math.nan
    else:
        value = acc.result(reduction)
    return np.dtype(dtype).type(value)




def _padded_targets(targets, target_lengths):
    """Concatenated 1-D CTC targets -> padded (N, S) (CPU, client side)."""
    tg = np.asarray(targets)
    tl = np.asarray(target_lengths).astype(np.int64)
    if tl.ndim != 1 or tl.sum() != tg.size:
        raise ValueError(
            f"1-D (concatenated) targets must have sum(target_lengths) = {int(tl.sum()) if tl.ndim == 1 else '?'} "
            f"elements, got {tg.size}"
        )
    out = np.zeros((tl.size, max(1, int(tl.max()) if tl.size else 1)), dtype=tg.dtype)
    mask = np.arange(out.shape[1]) < tl[:, None]
    out[mask] = tg
    return out


def _make_loss(name):
    n_arrays, sample_kw, kind = _LOSSES[name]
    loss = getattr(_fl, name)
    default_reduction = "none" if name == "sigmoid_focal_loss" else "mean"

    def fn(*arrays, reduction=default_reduction, split_every=None, **options):
        if len(arrays) != n_arrays:
            raise TypeError(f"{name} takes {n_arrays} arrays, got {len(arrays)}")
        for bad in ("return_grad", "grad_out"):
            if options.get(bad):
                raise TypeError(f"fastloss.dask.{name} does not take {bad}= (gradients are per block: map_blocks)")
            options.pop(bad, None)
        allowed = ("mean", "sum", "none", "batchmean") if name == "kl_div" else ("mean", "sum", "none")
        if reduction not in allowed:
            raise ValueError(f"reduction must be one of {list(allowed)}, got {reduction!r}")
        arrays = list(arrays)
        axes = [0] * n_arrays
        if name == "ctc_loss":
            batch_first = bool(options.get("batch_first", False))
            x = arrays[0]
            if np.ndim(x) != 3:
                raise ValueError(f"fastloss.dask.ctc_loss needs batched log_probs (T, N, C) or (N, T, C), got shape {np.shape(x)}")
            axes[0] = 0 if batch_first else 1
            if np.ndim(arrays[1]) == 1:
                if _is_dask(arrays[1]):
                    raise ValueError("fastloss.dask.ctc_loss takes padded (N, S) targets; 1-D concatenated targets "
                                     "cannot be split by partition without their offsets")
                arrays[1] = _padded_targets(arrays[1], _fl_compute(arrays[3]))
        inputs = [(a, f"arrays[{i}]", ax) for i, (a, ax) in enumerate(zip(arrays, axes))]
        first = inputs[0][0]
        nrows = _shape(first)[axes[0]]
        for kw in sample_kw:
            w = options.get(kw)
            if w is not None and np.ndim(w) == np.ndim(first) and np.ndim(w) >= 1 and _shape(w)[0] == nrows:
                inputs.append((options.pop(kw), kw, 0))
        chunked = [nm for _, nm, _ in inputs[n_arrays:]]
        dtype = _float_dtype(getattr(first, "dtype", np.asarray(first).dtype))
        if reduction == "none":
            return _none(name, inputs, chunked, options, kind, dtype)
        update = functools.partial(_loss_update, tuple(chunked))
        d = _reduce(
            functools.partial(LossAccumulator, loss, **options), inputs, update=update,
            finish=_loss_finish,
            finish_kw={"reduction": reduction, "dtype": dtype.str, "rows": nrows},
            split_every=split_every, name=f"fastloss-{name}",
        )
        return _scalar(d, dtype)

    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__doc__ = (
        f"Lazy :func:`fastloss.{name}` over Dask collections (or NumPy arrays).\n\n"
        f"Same arrays and options as :func:`fastloss.{name}`, chunked along the batch axis"
        + (" (N: axis 1 of (T, N, C), axis 0 with ``batch_first=True``; padded (N, S) targets)" if name == "ctc_loss" else "")
        + (f"; per-sample keyword arrays {', '.join(sample_kw)} are chunked with them" if sample_kw else "")
        + ".  ``reduction='mean'`` / ``'sum'`` give a 0-d dask array equal to the single-process call on "
        "the concatenated arrays (per-partition float64 sums merged with compensation: float64 within "
        "1e-12 relative, float32 within 1e-6); ``'none'`` a dask array with the input's batch chunks.  "
        "``split_every``: fan-in of the merge tree.  No gradients (``return_grad``).\n"
    )
    return fn


def _loss_update(chunked, acc, *blocks):
    n = len(blocks) - len(chunked)
    acc.update(*blocks[:n], **dict(zip(chunked, blocks[n:])))


def _shape(x):
    return x.shape if hasattr(x, "shape") else np.shape(x)


def _fl_compute(x):
    return x.compute() if _is_dask(x) else np.asarray(x)


def _none(name, inputs, chunked, options, kind, dtype):
    """``reduction='none'``: one blockwise call per batch chunk of the first input."""
    arrays = [_as_dask_array(obj, nm, axis) for obj, nm, axis in inputs]
    ref_axis = inputs[0][2]
    ref = arrays[0]
    if any(math.isnan(c) for c in ref.chunks[ref_axis]):
        raise ValueError(f"{inputs[0][1]} has unknown chunk sizes; call compute_chunk_sizes() first")
    args = []
    for i, (a, (_, nm, ax)) in enumerate(zip(arrays, inputs)):
        if a.shape[ax] != ref.shape[ref_axis]:
            raise ValueError(f"{nm} has {a.shape[ax]} rows but {inputs[0][1]} has {ref.shape[ref_axis]}")
        a = a.rechunk({ax: ref.chunks[ref_axis]})
        args += [a, tuple(0 if j == ax else 10 * (i + 1) + j for j in range(a.ndim))]
    if kind == "hinge":
        kind = "elem" if len(_shape(inputs[1][0])) == ref.ndim else "row"
    first = args[1]
    if kind == "elem":
        out_ind = first
    elif name == "ctc_loss":
        out_ind = (0,)
    else:
        out_ind = tuple(k for j, k in enumerate(first) if j != 1)
    n_arr = len(inputs) - len(chunked)
    fn = functools.partial(_none_kw_block, name, options, n_arr, tuple(chunked))
    return da.blockwise(fn, out_ind, *args, dtype=dtype, concatenate=True)


def _none_kw_block(name, options, n_arr, chunked, *blocks):
    kw = dict(options)
    kw.update(zip(chunked, blocks[n_arr:]))
    with single_threaded_kernels():
        return getattr(_fl, name)(*blocks[:n_arr], **kw, reduction="none")


for _name in _LOSSES:
    globals()[_name] = _make_loss(_name)
del _name
