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

import collections
import contextlib
import copy
import functools
import math
import numbers
import threading
import uuid

import dask
import dask.array as da
import dask.sizeof
import numpy as np
from dask.delayed import Delayed, delayed

import fastloss as _fl
from fastloss.metrics import states as _st
from fastloss._core.streaming import LossAccumulator

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
    # Through fastloss's jit module: it sets up the threading layer (issue 11:
    # TBB preloaded) before Numba picks one; a bare ``import numba`` here
    # would let the first task choose the layer.
    from fastloss._core.jit import numba

    prev = numba.get_num_threads()
    numba.set_num_threads(1)  # also launches the threading layer, so it can be queried
    lock = _WORKQUEUE_LOCK if numba.threading_layer() == "workqueue" else contextlib.nullcontext()
    try:
        with lock:
            yield
    finally:
        numba.set_num_threads(prev)


@dask.sizeof.sizeof.register(_st.Metric)
def _sizeof_state(state) -> int:
    """Bytes of a state for Dask's scheduler (its default, ``sys.getsizeof``,
    sees ~50 bytes for any object: an exact curve of 200 MB looked free to
    move, and tasks were placed and stolen away from their inputs)."""
    return 200 + state.nbytes


def _block(x):
    """A partition as NumPy (pandas Series/DataFrame -> ndarray; lists kept)."""
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        return x.to_numpy()
    return x


def _nrows(x, axis=0) -> int:
    return x.shape[axis] if hasattr(x, "shape") else len(x)


def _update_task(factory, update, update_kw, names, axes, *blocks):
    """One partition -> one state (module level: pickles by reference)."""
    acc = factory()
    with single_threaded_kernels():
        _update_into(acc, update, update_kw, names, axes, blocks)
    return acc


def _update_into(acc, update, update_kw, names, axes, blocks):
    """Add one partition (its blocks of every input) to ``acc``."""
    blocks = [_block(b) for b in blocks]
    n = [_nrows(b, ax) for b, ax in zip(blocks, axes)]
    if any(k != n[0] for k in n):
        raise ValueError(
            "partitions are not aligned: " + ", ".join(f"{nm} has {k} rows" for nm, k in zip(names, n))
            + " in the same partition"
        )
    if not n or n[0] == 0:
        return  # an empty partition adds nothing (and some kernels reject N=0)
    if update is None:
        acc.update(*blocks, **update_kw)
    else:
        update(acc, *blocks, **update_kw)


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
        if chunks is not None and a.shape[axis] != sum(chunks):
            raise ValueError(f"{name} has {a.shape[axis]} rows along axis {axis}, the other inputs {sum(chunks)}")
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

    ``inputs``: list of ``(obj, name, axis)``.  Returns ``(parts, names,
    axes, deps)`` with ``parts[i]`` the list of per-partition graph keys of
    input i and ``deps`` the collections that hold those keys.
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
    deps = []
    for obj, nm, axis in inputs:
        if _is_frame(obj) or _is_bag(obj):
            # A bag's own partition keys (persisted: grouped by worker; its
            # optimised to_delayed() misread partitions held as futures);
            # a DataFrame's optimised expression (column projection, ...).
            blocks = list(obj.to_delayed(optimize_graph=not _is_bag(obj)))
            deps.extend(blocks)
            parts.append([b.key for b in blocks])
            continue
        if _is_dask(obj) and not isinstance(obj, da.Array):
            raise TypeError(f"{nm}: unsupported Dask collection {type(obj).__name__} (use a dask array, dataframe or bag)")
        if not isinstance(obj, da.Array) and frames:
            raise TypeError(
                f"{nm} is an in-memory array but other inputs are partitioned DataFrames/Bags; pass it as a "
                "dask collection with the same partitions"
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
        # The block keys themselves (no Delayed per block: graph building stays
        # O(partitions) with a small constant).
        keys = np.empty(arr.numblocks, dtype=object)
        for idx in np.ndindex(*arr.numblocks):
            keys[idx] = (arr.name, *idx)
        deps.append(arr)
        parts.append(list(np.moveaxis(keys, axis, 0).reshape(arr.numblocks[axis], -1)[:, 0]))
    counts = {len(p) for p in parts}
    if len(counts) > 1:
        raise ValueError(
            "inputs have different numbers of partitions: "
            + ", ".join(f"{nm}: {len(p)}" for nm, p in zip(names, parts))
            + " (rechunk/repartition them alike)"
        )
    return parts, names, tuple(axis for _, _, axis in inputs), deps


class _Spec:
    """The static arguments of a partition task, in one object so that Dask
    never walks into them looking for keys or tasks."""

    __slots__ = ("factory", "update", "update_kw", "names", "axes", "concat")

    def __init__(self, factory, update, update_kw, names, axes, concat=False):
        self.factory, self.update, self.update_kw, self.names, self.axes = factory, update, update_kw, names, axes
        self.concat = concat  # a leaf group updates once with its partitions concatenated

    def __getstate__(self):
        return (self.factory, self.update, self.update_kw, self.names, self.axes, self.concat)

    def __setstate__(self, state):
        self.factory, self.update, self.update_kw, self.names, self.axes, self.concat = state


def _state_task(spec, *blocks):
    return _update_task(spec.factory, spec.update, spec.update_kw, spec.names, spec.axes, *blocks)


def _group_task(spec, *blocks):
    """Several partitions (``len(spec.names)`` blocks each, in order) -> one
    merged state: the first level of the tree fused with the partition
    updates, so a worker runs one task for the partitions it holds."""
    n = len(spec.names)
    if not blocks:
        return _state_task(spec)
    if spec.concat and len(blocks) > n:
        # One update of the concatenated partitions (exact curves: one sort
        # of the group's scores instead of a sort per partition and a merge).
        cols = [[_block(b) for b in blocks[j::n]] for j in range(n)]
        rows = [[_nrows(b, spec.axes[j]) for b in col] for j, col in enumerate(cols)]
        if all(r == rows[0] for r in rows):  # else per partition: the update task names the misaligned inputs
            return _state_task(spec, *[np.concatenate(col, axis=spec.axes[j]) for j, col in enumerate(cols)])
    # One state updated partition by partition (the states of the losses and
    # counts are constant-size: the group's memory is its blocks plus one state).
    acc = spec.factory()
    with single_threaded_kernels():
        for i in range(0, len(blocks), n):
            _update_into(acc, spec.update, spec.update_kw, spec.names, spec.axes, blocks[i:i + n])
    return acc


class _Finish:
    """The finishing call's function and keyword arguments (opaque to Dask)."""

    __slots__ = ("fn", "kwargs")

    def __init__(self, fn, kwargs):
        self.fn, self.kwargs = fn, kwargs

    def __getstate__(self):
        return (self.fn, self.kwargs)

    def __setstate__(self, state):
        self.fn, self.kwargs = state


def _finish_spec_task(spec, state):
    return spec.fn(state, **spec.kwargs) if spec.fn is not None else state


def _merge_finish_task(spec, *states):
    """The root: the last merge and the finishing call in one task."""
    return _finish_spec_task(spec, _merge_task(*states))


def _group_finish_task(finish, spec, *blocks):
    """A single leaf group is the whole tree: update, merge and finish."""
    return _finish_spec_task(finish, _group_task(spec, *blocks))


def _current_client():
    """The current synchronous ``distributed`` client, or ``None``."""
    import sys

    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return None
    if getattr(client, "asynchronous", False) or getattr(client, "status", "running") != "running":
        return None
    return client


def _holders(deps):
    """``{key: worker}`` for the input blocks already held in the memory of
    the current ``distributed`` client's workers (persisted collections),
    else ``{}``.  One ``who_has`` round trip to the scheduler; only a hint
    for grouping partitions by worker (the result never depends on it)."""
    client = _current_client()
    if client is None:
        return {}
    from distributed import futures_of

    futures = [f for d in deps for f in futures_of(d)]
    if not futures:
        return {}
    keys = tuple(f.key for f in futures)
    held = getattr(client, "futures", {})
    states = tuple(held.get(k) for k in keys)
    ident = (getattr(client, "id", None), keys)
    hit = _WHERE.get(ident)
    if hit is not None and all(a is b for a, b in zip(hit[0], states)):
        _WHERE.move_to_end(ident)
        return hit[1]
    try:
        who = client.who_has(futures)
    except Exception:  # a hint only: never fail a graph for it
        return {}
    where = {key: sorted(ws)[0] for key, ws in dict(who).items() if ws}
    if all(st is not None for st in states):
        _WHERE[ident] = (states, where)
        while len(_WHERE) > 16:
            _WHERE.popitem(last=False)
    return where


#: The last placements looked up by :func:`_holders`: (client id, keys) ->
#: (the client's future states of those keys, {key: worker}).  Reused while
#: the client still holds the very same futures (a persisted collection
#: used by several metrics costs one ``who_has`` round trip, not one per
#: call); a collection released and persisted again has new future states
#: and is looked up afresh.  Data moved without a new future (a lost worker,
#: ``rebalance``) leaves a stale hint: some partitions then travel to their
#: group's worker, the answer is the same.
_WHERE: "collections.OrderedDict" = collections.OrderedDict()


#: Worker address -> its number of threads.  An address names one worker
#: process for its lifetime, so an entry never goes stale; a worker not seen
#: before costs one ``nthreads`` round trip to the scheduler.
_NTHREADS: dict = {}


def _worker_threads(workers) -> dict:
    missing = [w for w in workers if w not in _NTHREADS]
    if missing:
        client = _current_client()
        try:
            _NTHREADS.update(client.nthreads() if client is not None else {})
        except Exception:  # a hint only
            pass
    return {w: _NTHREADS.get(w, 1) for w in workers}


#: Input bytes a leaf task of an exact curve concatenates and sorts at once
#: (at least ``split_every`` partitions): one sort of a worker's scores costs
#: about what sorting them in pieces does, and saves merging the pieces' states
#: (24 bytes per distinct score each, written afresh: on these VMs fresh
#: memory, not comparisons, is the cost of the merges).
CONCAT_BYTES = 256 << 20


def _concat_group(deps, nparts, k):
    """Partitions per leaf task of an exact curve: as many as fit in
    :data:`CONCAT_BYTES` of input (known chunk sizes), at least ``k``."""
    if not nparts or not all(isinstance(d, da.Array) for d in deps):
        return k
    total = sum(d.nbytes for d in deps)
    if not math.isfinite(total) or total <= 0:
        return k
    return max(k, int(CONCAT_BYTES // max(1.0, total / nparts)))


def _leaf_groups(parts, deps, k, big=True):
    """Partitions (row indices) grouped for the leaf tasks.

    Partitions whose blocks are persisted on the current cluster are grouped
    by the worker holding their first input's block, so that a worker reads
    its own blocks in few tasks and nothing moves but the states: with
    ``big`` states (exact curves: a group's partitions are concatenated and
    sorted at once) up to ``k`` partitions per task; with small states
    (losses, counts: constant-size, merged as they come) one task per
    worker thread, splitting the worker's partitions evenly.  Dask's cost
    per task on a worker (the hand-offs between its event loop and its
    executor thread, each a wait for a time slice on a busy machine) is
    more than a memory-bound loss spends on a partition, and a worker runs
    its tasks one after another anyway.  Other partitions (computed from
    their sources in this graph) keep one task each, so a worker holds one
    partition at a time plus the state."""
    return _leaf_groups_where(parts, deps, k, big)[0]


def _leaf_groups_where(parts, deps, k, big=True):
    """:func:`_leaf_groups` and, for each group, the worker holding its
    blocks (``None`` for partitions computed in the graph)."""
    rows = list(zip(*parts))
    where = _holders(deps) if len(rows) > 1 else {}
    by_worker: dict = {}
    singles = []
    for i, row in enumerate(rows):
        w = next((where[key] for key in row if key in where), None)
        if w is None:
            singles.append([i])
        else:
            by_worker.setdefault(w, []).append(i)
    threads = _worker_threads(sorted(by_worker)) if by_worker and not big else {}
    groups, workers = [], []
    for w in sorted(by_worker):
        idx = by_worker[w]
        if big:
            cuts = range(0, len(idx) + k, k)
        else:
            g = max(1, min(len(idx), threads[w]))
            cuts = [len(idx) * j // g for j in range(g + 1)]
        for a, b in zip(cuts, cuts[1:]):
            if a < min(b, len(idx)):
                groups.append(idx[a:b])
                workers.append(w)
    return groups + singles, workers + [None] * len(singles)


def _reduce(factory, inputs, *, update=None, update_kw=None, finish=None, finish_kw=None, split_every=None,
            name="fastloss", dtype=None, concat=False):
    """Per-partition states, a merge tree, one finishing call: a Delayed (a
    0-d dask array with ``dtype=``).

    The graph is written directly: one task per partition, or for persisted
    inputs per group of the partitions one worker holds (see
    :func:`_leaf_groups`; with ``concat``, exact curves, each worker's
    groups merged there first), one per merge of ``split_every`` states, the
    finishing call fused into the root; keys named from a random token
    (unique per call)."""
    from dask.highlevelgraph import HighLevelGraph

    k = _check_split_every(split_every)
    parts, names, axes, deps = _partitions(inputs)
    spec = _Spec(factory, update, update_kw or {}, tuple(names), axes, concat)
    fin = _Finish(finish, finish_kw or {})
    # Unique per call (like dask.delayed(pure=False)): a result still held by
    # the cluster from an earlier identical call is never silently reused.
    # Several metrics in one dask.compute still share (and read once) the
    # input blocks.  (A random name, not a hash of the arguments: tokenising
    # the options and the partition keys cost more than the rest of the
    # graph construction and bought nothing, the name being random anyway.)
    token = uuid.uuid4().hex
    base = f"{name}-{token}"
    out = (base,) if dtype is not None else base
    dsk = {}
    groups, where = _leaf_groups_where(parts, deps, _concat_group(deps, len(parts[0]) if parts else 0, k) if concat else k,
                                       big=concat)
    if len(groups) <= 1:
        blocks = [key for i in (groups[0] if groups else []) for key in (p[i] for p in parts)]
        dsk[out] = (_group_finish_task, fin, spec, *blocks)
    else:
        keys = []
        for g, idx in enumerate(groups):
            key = (f"{base}-state", g)
            blocks = [p[i] for i in idx for p in parts]
            dsk[key] = (_state_task if len(idx) == 1 else _group_task, spec, *blocks)
            keys.append(key)
        level = 0
        held = {w for w in where if w is not None}
        if concat and len(held) > 1 and len(keys) > len(held):
            # Large states (exact curves: 24 bytes per distinct score): merge
            # each worker's leaves there first, so that one state per worker
            # (not one per leaf) crosses the network and the root merges as
            # many states as there are workers, the per-worker merges
            # running in parallel.  (Small states skip this level: it would
            # add a round of tasks to a call that is all fixed cost.)
            nxt = []
            for w in sorted(held):
                mine = [key for key, ww in zip(keys, where) if ww == w]
                for i in range(0, len(mine), k):
                    if len(mine[i:i + k]) == 1:
                        nxt.append(mine[i])
                        continue
                    key = (f"{base}-local", len(nxt))
                    dsk[key] = (_merge_task, *mine[i:i + k])
                    nxt.append(key)
            keys = nxt + [key for key, ww in zip(keys, where) if ww is None]
        while len(keys) > k:
            nxt = []
            for i in range(0, len(keys), k):
                key = (f"{base}-merge{level}", i // k)
                dsk[key] = (_merge_task, *keys[i:i + k])
                nxt.append(key)
            keys = nxt
            level += 1
        dsk[out] = (_merge_finish_task, fin, *keys)
    graph = HighLevelGraph.from_collections(base, dsk, dependencies=deps)
    if dtype is None:
        return Delayed(base, graph)
    return _Scalar(graph, base, chunks=(), dtype=dtype)


class _Scalar(da.Array):
    """A 0-d dask array whose one task already holds the final scalar.

    A plain ``dask.array.Array`` adds a ``finalize`` task after its last
    task on every ``compute`` (for a 0-d array, a copy of the one value): on
    a cluster that is one more task and scheduler round trip, a few ms of the
    fixed cost of a call.  This subclass declares, as ``Delayed`` does, that
    its single key is the result, so Dask skips that task.  Everything else
    is ``dask.array.Array`` (arithmetic, ``persist`` and pickling give plain
    arrays)."""

    __slots__ = ()

    # Optimised as the Delayed results of this module are, so that Dask puts
    # them in one group: dask 2026.8's ``dask.compute`` groups its arguments
    # by optimiser and returns the groups one after another, so a plain 0-d
    # array between two Delayed results (``dask.compute(loss, auc, loss2)``)
    # came back in the wrong place.  (Our graphs need no array optimisation:
    # they are written task by task; culling is all Delayed's optimiser does.)
    __dask_optimize__ = Delayed.__dict__["__dask_optimize__"]  # the descriptor (honours its config key)

    def __dask_postcompute__(self):
        from dask.delayed import single_key

        return single_key, ()


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
        dtype = _float_dtype(first.dtype if hasattr(first, "dtype") else np.asarray(first).dtype)
        if reduction == "none":
            return _none(name, inputs, chunked, options, kind, dtype)
        update = functools.partial(_loss_update, tuple(chunked))
        return _reduce(
            functools.partial(LossAccumulator, loss, **options), inputs, update=update,
            finish=_loss_finish,
            finish_kw={"reduction": reduction, "dtype": dtype.str, "rows": nrows},
            split_every=split_every, name=f"fastloss-{name}", dtype=dtype,
        )

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


# ---------------------------------------------------------------- shared finishing steps


def _call(state, *, method, kwargs=None):
    """``getattr(state, method)(**kwargs)``, or ``method(state, **kwargs)``
    for a module-level function (pickles by reference)."""
    fn = method if callable(method) else getattr(state, method)
    return fn(state, **(kwargs or {})) if callable(method) else fn(**(kwargs or {}))


def _partial_auc(curve, *, max_fpr):
    """Standardised partial AUC up to ``max_fpr`` (McClish), as
    :func:`fastloss.roc_auc` and scikit-learn: the ROC curve cut at
    ``max_fpr`` by linear interpolation."""
    from fastloss.metrics.ranking import _trapezoid

    fpr, tpr, _ = curve.roc_curve()
    if fpr.size < 2 or not np.isfinite(fpr).all() or not np.isfinite(tpr).all():
        return curve.roc_auc()  # one class only: nan with the single-process warning
    stop = np.searchsorted(fpr, max_fpr, "right")
    tpr = np.append(tpr[:stop], np.interp(max_fpr, [fpr[stop - 1], fpr[stop]], [tpr[stop - 1], tpr[stop]]))
    fpr = np.append(fpr[:stop], max_fpr)
    partial = _trapezoid(tpr, fpr)
    min_area, max_area = 0.5 * max_fpr**2, max_fpr
    return float(0.5 * (1 + (partial - min_area) / (max_area - min_area)))


def _label_inputs(a, b, sample_weight, names=("y_true", "y_pred")):
    inputs = [(a, names[0], 0), (b, names[1], 0)]
    if sample_weight is not None:
        inputs.append((sample_weight, "sample_weight", 0))
    return inputs


def _weighted_update(acc, a, b, w=None):
    acc.update(a, b, sample_weight=w)


# ---------------------------------------------------------------- confusion-matrix metrics


def confusion_matrix(y_true, y_pred, *, num_classes=None, labels=None, sample_weight=None, normalize=None,
                     split_every=None):
    """Lazy :func:`fastloss.confusion_matrix` (a Delayed ndarray).

    Each partition becomes a :class:`fastloss.metrics.ConfusionMatrix` state
    (labels seen and a K x K count matrix); the states are merged in a tree.
    Equal to the single-process call (integer counts exactly).

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> fd.confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1])).compute(scheduler="sync")
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 1, 1]])
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be one of None, 'true', 'pred', 'all', got {normalize!r}")
    if num_classes is not None and labels is not None:
        raise TypeError("pass num_classes or labels, not both")
    factory = functools.partial(_st.ConfusionMatrix, num_classes)
    factory()  # checks num_classes now, not in a task
    return _reduce(factory, _label_inputs(y_true, y_pred, sample_weight), update=_weighted_update,
                   finish=_call, finish_kw={"method": "result", "kwargs": {"labels": labels, "normalize": normalize}},
                   split_every=split_every, name="fastloss-confusion_matrix")


def precision_recall_fscore(y_true, y_pred, *, average=None, beta=1.0, labels=None, pos_label=1,
                            zero_division="warn", sample_weight=None, split_every=None):
    """Lazy :func:`fastloss.precision_recall_fscore` (a Delayed tuple
    ``(precision, recall, fscore, support)``), every ``average`` included,
    read off the merged confusion-matrix state.

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> p, r, f, s = fd.precision_recall_fscore(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])).compute()
    >>> p, s
    (array([1. , 1. , 0.5]), array([1, 2, 1]))
    """
    if average not in (None, "binary", "micro", "macro", "weighted"):
        raise ValueError(f"average must be one of [None, 'binary', 'micro', 'macro', 'weighted'], got {average!r}")
    kwargs = dict(average=average, beta=beta, labels=labels, pos_label=pos_label, zero_division=zero_division)
    return _reduce(_st.ConfusionMatrix, _label_inputs(y_true, y_pred, sample_weight), update=_weighted_update,
                   finish=_call, finish_kw={"method": "precision_recall_fscore", "kwargs": kwargs},
                   split_every=split_every, name="fastloss-precision_recall_fscore")


def _class_update(acc, y):
    acc.update(y, y)


def _class_weights(state, *, method, beta):
    counts = np.diagonal(state.counts).astype(np.float64)
    if counts.size == 0:
        raise ValueError("y is empty: need at least one sample to weight the classes")
    if method == "balanced":
        return counts.sum() / (counts.size * counts)
    eff = -np.expm1(counts * math.log(beta)) if beta > 0 else np.ones_like(counts)
    w = (1.0 - beta) / eff
    return w * (counts.size / w.sum())


def class_weights(y, *, method="balanced", beta=0.999, split_every=None):
    """Lazy :func:`fastloss.class_weights` (a Delayed ndarray), from the
    merged class counts.

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> fd.class_weights(np.array([0, 0, 0, 1])).compute()
    array([0.66666667, 2.        ])
    """
    if method not in ("balanced", "effective_number"):
        raise ValueError(f"method must be 'balanced' or 'effective_number', got {method!r}")
    from fastloss._core import checks as _checks

    b = _checks.check_scalar(beta, "beta", low=0.0, high=1.0, high_open=True) if method != "balanced" else beta
    return _reduce(_st.ConfusionMatrix, [(y, "y", 0)], update=_class_update, finish=_class_weights,
                   finish_kw={"method": method, "beta": b}, split_every=split_every, name="fastloss-class_weights")


# ---------------------------------------------------------------- curves


def _multiclass_block(state, y_true, y_score):
    """(y, s) of one block for the multiclass AUC states (ovr and ovo), with
    scikit-learn's checks of the scores; records the labels seen."""
    s = np.asarray(y_score)
    y = np.asarray(y_true)
    if s.ndim != 2 or s.shape[1] != state.classes.size:
        raise ValueError(f"y_score must have shape (N, {state.classes.size}), got {s.shape}")
    if s.shape[0] and not np.allclose(1, s.sum(axis=1)):
        raise ValueError("Target scores need to be probabilities for multiclass roc_auc, i.e. they should sum up "
                         "to 1.0 over classes")
    state.seen = np.union1d(state.seen, np.unique(y))
    return y, s


class OvrCurves(_st.Metric):
    """One-vs-rest exact curves of ``(N, C)`` scores (one
    :class:`~fastloss.metrics.ExactCurve` per column, column k positive for
    label ``classes[k]``), the labels seen, and with ``micro=True`` the curve
    of the flattened indicator; used by :func:`roc_auc` and
    :func:`average_precision` for multi-class data."""

    _config = ("classes", "micro", "max_state_bytes")
    _arrays = ("seen",)

    def __init__(self, classes, micro=False, max_state_bytes=None):
        self.classes = np.asarray(classes)
        self.micro = bool(micro)
        self.max_state_bytes = max_state_bytes
        super().__init__()

    def _init(self):
        self.seen = self.classes[:0].copy()
        self.curves = [_st.ExactCurve(c, max_state_bytes=self.max_state_bytes) for c in self.classes.tolist()]
        self.flat = _st.ExactCurve(1, max_state_bytes=self.max_state_bytes)

    def update(self, y_true, y_score, *, sample_weight=None):
        y, s = _multiclass_block(self, y_true, y_score)
        for k, c in enumerate(self.curves):
            c.update(y, np.ascontiguousarray(s[:, k]), sample_weight=sample_weight)
        if self.micro:
            ind = (y[:, None] == self.classes[None, :]).ravel()
            w = None if sample_weight is None else np.repeat(np.asarray(sample_weight, dtype=np.float64), s.shape[1])
            self.flat.update(ind, s.ravel(), sample_weight=w)
        return self

    def _merge(self, other):
        self.seen = np.union1d(self.seen, other.seen)
        for a, b in zip(self.curves, other.curves):
            a.merge(b)
        self.flat.merge(other.flat)

    def copy(self):
        return copy.deepcopy(self)

    @classmethod
    def merge_all(cls, metrics):
        metrics = list(metrics)
        out = metrics[0].copy()
        out.seen = functools.reduce(np.union1d, [m.seen for m in metrics])
        out.curves = [_st.ExactCurve.merge_all(cs) for cs in zip(*[m.curves for m in metrics])]
        out.flat = _st.ExactCurve.merge_all([m.flat for m in metrics])
        return out

    def _merge(self, other):
        merged = type(self).merge_all([self, other])
        self.seen, self.curves, self.flat = merged.seen, merged.curves, merged.flat

    def result(self):
        """Macro one-vs-rest ROC AUC (scikit-learn's ``roc_auc_score(multi_class='ovr')`` default)."""
        return self.average("roc_auc", "macro")

    def to_state(self):
        # A flat dict of arrays would have to encode a list of states; the
        # per-column states are the supported wire format.
        raise TypeError("OvrCurves carries one ExactCurve per column: send [c.to_state() for c in m.curves]")

    def average(self, metric, average):
        extra = np.setdiff1d(self.seen, self.classes)
        if extra.size:
            raise ValueError(f"y_true contains labels not in 'labels' (the y_score columns): {extra[:10].tolist()}")
        if average == "micro":
            return float(getattr(self.flat, metric)())
        out = np.array([getattr(c, metric)() for c in self.curves])
        if average is None:
            return out
        if average == "weighted":
            weight = np.array([c.pos.sum() for c in self.curves])
            if np.isclose(weight.sum(), 0.0):
                return 0
            out[weight == 0] = 0
            return float(np.average(out, weights=weight))
        return float(np.average(out))

    @property
    def nbytes(self):
        return sum(c.nbytes for c in self.curves) + self.flat.nbytes


class OvoCurves(_st.Metric):
    """One-vs-one exact curves of ``(N, C)`` probabilities (Hand & Till, as
    scikit-learn's ``roc_auc_score(multi_class='ovo')``): for every pair of
    columns (a, b), over the samples labelled ``classes[a]`` or
    ``classes[b]``, the :class:`~fastloss.metrics.ExactCurve` of column a
    (a positive) and of column b (b positive); and the count of each class.
    State: about ``(C - 1) x`` that of one curve over all samples."""

    _config = ("classes", "max_state_bytes")
    _arrays = ("counts", "seen")

    def __init__(self, classes, max_state_bytes=None):
        self.classes = np.asarray(classes)
        self.max_state_bytes = max_state_bytes
        super().__init__()

    def _init(self):
        c = self.classes.size
        self.counts = np.zeros(c, dtype=np.int64)
        self.seen = self.classes[:0].copy()
        self.curves = {(a, b): (_st.ExactCurve(1, max_state_bytes=self.max_state_bytes),
                                _st.ExactCurve(1, max_state_bytes=self.max_state_bytes))
                       for a in range(c) for b in range(a + 1, c)}

    def update(self, y_true, y_score, *, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported for multiclass one-vs-one ROC AUC, 'sample_weight' "
                             "must be None in this case.")
        y, s = _multiclass_block(self, y_true, y_score)
        masks = [y == c for c in self.classes.tolist()]
        self.counts += np.array([m.sum() for m in masks], dtype=np.int64)
        for (a, b), (ca, cb) in self.curves.items():
            ab = masks[a] | masks[b]
            if ab.any():
                ca.update(masks[a][ab].astype(np.int8), np.ascontiguousarray(s[ab, a]))
                cb.update(masks[b][ab].astype(np.int8), np.ascontiguousarray(s[ab, b]))
        return self

    def copy(self):
        return copy.deepcopy(self)

    @classmethod
    def merge_all(cls, metrics):
        metrics = list(metrics)
        out = metrics[0].copy()
        out.counts = np.sum([m.counts for m in metrics], axis=0)
        out.seen = functools.reduce(np.union1d, [m.seen for m in metrics])
        out.curves = {pair: (_st.ExactCurve.merge_all([m.curves[pair][0] for m in metrics]),
                             _st.ExactCurve.merge_all([m.curves[pair][1] for m in metrics]))
                      for pair in out.curves}
        return out

    def _merge(self, other):
        merged = type(self).merge_all([self, other])
        self.counts, self.seen, self.curves = merged.counts, merged.seen, merged.curves

    def result(self, average="macro"):
        """Macro (or ``'weighted'`` by the pair's share of the samples)
        one-vs-one AUC over the pairs of classes present."""
        extra = np.setdiff1d(self.seen, self.classes)
        if extra.size:
            raise ValueError(f"y_true contains labels not in 'labels' (the y_score columns): {extra[:10].tolist()}")
        n = self.counts.sum()
        present = np.flatnonzero(self.counts)
        scores, prevalence = [], []
        for i, a in enumerate(present):
            for b in present[i + 1:]:
                ca, cb = self.curves[(int(a), int(b))]
                scores.append((ca.roc_auc() + cb.roc_auc()) / 2)
                prevalence.append((self.counts[a] + self.counts[b]) / n)
        weights = np.asarray(prevalence) if average == "weighted" else None
        return float(np.average(np.asarray(scores, dtype=np.float64), weights=weights))

    def to_state(self):
        raise TypeError("OvoCurves carries two ExactCurves per pair of classes: send their to_state()")

    @property
    def nbytes(self):
        return int(self.counts.nbytes + sum(a.nbytes + b.nbytes for a, b in self.curves.values()))


def _curve_state(pos_label, method, max_state_bytes, num_thresholds, score_range):
    if method not in ("exact", "sort", "binned"):
        raise ValueError(f"method must be 'exact', 'sort' or 'binned', got {method!r}")
    if method == "exact":
        factory = functools.partial(_st.ExactCurve, pos_label, max_state_bytes=max_state_bytes)
    else:
        factory = functools.partial(_fl.CurveAccumulator, num_thresholds, score_range=score_range, pos_label=pos_label)
    factory()
    return factory


def _binned_update(acc, y, s, w=None):
    acc.update(y, s, w)


def _ovx_classes(y_score, labels):
    c = _shape(y_score)[1]
    classes = np.arange(c) if labels is None else np.asarray(labels)
    if classes.ndim != 1 or classes.size != c:
        raise ValueError(f"labels must list the {c} classes of the y_score columns, got {labels!r}")
    if labels is not None:
        if np.unique(classes).size != classes.size:
            raise ValueError("Parameter 'labels' must be unique")
        if not np.array_equal(np.sort(classes), classes):
            raise ValueError("Parameter 'labels' must be ordered")
    return classes


def _curve_metric(metric, y_true, y_score, *, average, pos_label, sample_weight, labels, method, max_state_bytes,
                  num_thresholds, score_range, split_every, kwargs=None, finish_fn=None):
    if average not in ("macro", "weighted", "micro", None):
        raise ValueError(f"average must be one of 'micro', 'macro', 'weighted', None, got {average!r}")
    inputs = _label_inputs(y_true, y_score, sample_weight, ("y_true", "y_score"))
    if len(_shape(y_score)) == 2 and _shape(y_score)[1] > 1:
        if method != "exact":
            raise ValueError(f"multi-class (N, C) scores take method='exact', got {method!r}")
        classes = np.arange(_shape(y_score)[1]) if labels is None else np.asarray(labels)
        if classes.ndim != 1 or classes.size != _shape(y_score)[1]:
            raise ValueError(f"labels must list the {_shape(y_score)[1]} classes of the y_score columns, got {labels!r}")
        factory = functools.partial(OvrCurves, classes, average == "micro", max_state_bytes)
        return _reduce(factory, inputs, update=_weighted_update, finish=_call,
                       finish_kw={"method": "average", "kwargs": {"metric": metric, "average": average}},
                       split_every=split_every, name=f"fastloss-{metric}")
    if len(_shape(y_score)) != 1:
        raise ValueError(f"y_score must be (N,) (binary) or (N, C), got shape {_shape(y_score)}")
    if method == "sort":
        _curve_state(pos_label, "exact", max_state_bytes, num_thresholds, score_range)  # checks the options now
        return _sorted_curve(finish_fn or metric, inputs, pos_label=pos_label, max_state_bytes=max_state_bytes,
                             split_every=split_every, kwargs=kwargs, weighted=sample_weight is not None)
    factory = _curve_state(pos_label, method, max_state_bytes, num_thresholds, score_range)
    return _reduce(factory, inputs, update=_weighted_update if method == "exact" else _binned_update,
                   finish=_call, finish_kw={"method": finish_fn or metric, "kwargs": kwargs or {}},
                   split_every=split_every, name=f"fastloss-{metric}", concat=method == "exact")


# ---------------------------------------------------------------- exact curves by range partition ('sort')
#
# The tree merge of exact curve states ends in one task holding every
# distinct score (up to the data's size), merged on one core.  The range-
# partitioned plan cuts every leaf state at R - 1 splitters (quantiles of a
# sample of the leaves' scores), merges bucket r of all the leaves in its own
# task (R merges in parallel, each a 1/R share), and reads AUC and AP off
# per-bucket sums with the totals of the buckets above/below as offsets: a
# distributed sort of the distinct scores, with no task ever holding them all.

#: Scores per leaf sampled per bucket to place the splitters.
_SAMPLES_PER_BUCKET = 64
#: Default number of buckets of the range-partitioned plan.
SORT_BUCKETS = 4
#: At most this many buckets (a bucket still over max_state_bytes raises).
SORT_MAX_BUCKETS = 1024


def _curve_sample(state, nbuckets):
    """Evenly spaced distinct scores of a leaf state, each with the number of
    distinct scores it stands for (input of the splitters)."""
    u = state.scores
    m = min(u.size, _SAMPLES_PER_BUCKET * nbuckets)
    if m == 0:
        return np.zeros(0), np.zeros(0)
    return u[(np.arange(m) * u.size) // m], np.full(m, u.size / m)


def _curve_splitters(nbuckets, *samples):
    """Up to ``nbuckets - 1`` ascending distinct splitters: weighted quantiles
    of the samples (bucket r holds the scores in ``[sp[r - 1], sp[r])``)."""
    v = np.concatenate([s[0] for s in samples])
    if v.size == 0:
        return np.zeros(0)
    w = np.concatenate([s[1] for s in samples])
    order = np.argsort(v, kind="stable")
    v, c = v[order], np.cumsum(w[order])
    at = np.searchsorted(c, c[-1] * np.arange(1, nbuckets) / nbuckets)
    return np.unique(v[np.minimum(at, v.size - 1)])


def _curve_split(state, splitters, nbuckets):
    """A leaf state cut at the splitters: ``nbuckets`` ExactCurves (views)."""
    cut = np.r_[0, np.searchsorted(state.scores, splitters, side="left"), state.scores.size]
    out = []
    for r in range(nbuckets):
        lo, hi = (cut[r], cut[r + 1]) if r + 1 < cut.size else (state.scores.size,) * 2
        c = state.copy()
        c.scores, c.pos, c.neg = state.scores[lo:hi], state.pos[lo:hi], state.neg[lo:hi]
        out.append(c)
    return tuple(out)


def _curve_bucket(max_state_bytes, *pieces):
    """Bucket r of every leaf merged (disjoint from the other buckets), and
    its summary (computed here: a separate task could be moved to another
    worker by Dask's work stealing, and the bucket with it)."""
    out = _st.ExactCurve.merge_all(pieces) if len(pieces) > 1 else pieces[0].copy()
    out.max_state_bytes = max_state_bytes
    out._budget(out.scores.size)
    return out, _curve_summary(out)


def _curve_summary(c):
    """Sums of one bucket: positive and negative weight, whether any is
    non-zero, negative weights seen, and the two within-bucket Mann-Whitney
    sums (positives over negatives below + ties / 2; negatives under the
    positives above + ties / 2, the trapezoid form)."""
    below = np.cumsum(c.neg) - c.neg
    ptot = c.pos.sum()
    above = ptot - np.cumsum(c.pos)
    return np.array([ptot, c.neg.sum(), (c.pos != 0).any(), (c.neg != 0).any(), c.negative_weights,
                     np.sum(c.pos * (below + 0.5 * c.neg)), np.sum(c.neg * (above + 0.5 * c.pos))])


def _sorted_auc(*summaries):
    s = np.array(summaries).reshape(-1, 7)  # buckets ascending
    p_tot, n_tot = s[:, 0].sum(), s[:, 1].sum()
    if not s[:, 2].any() or not s[:, 3].any() or p_tot * n_tot == 0:
        import warnings

        warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in that case.",
                      _st._m().UndefinedMetricWarning, stacklevel=2)
        return math.nan
    if s[:, 4].any():  # negative weights: the trapezoid of the ROC curve, as the single-process call
        pos_above = s[:, 0].sum() - np.cumsum(s[:, 0])
        return float((s[:, 6].sum() + np.sum(s[:, 1] * pos_above)) / (p_tot * n_tot))
    neg_below = np.cumsum(s[:, 1]) - s[:, 1]
    return float((s[:, 5].sum() + np.sum(s[:, 0] * neg_below)) / (p_tot * n_tot))


def _curve_offsets(*summaries):
    """Positive and negative weight of the buckets above each bucket."""
    s = np.array(summaries).reshape(-1, 7)
    return np.stack([s[::-1, 0].cumsum()[::-1] - s[:, 0], s[::-1, 1].cumsum()[::-1] - s[:, 1]], axis=1)


def _ap_bucket(bucket, offsets, r):
    """Sum over the bucket's distinct scores of positive weight x precision."""
    c = bucket[0]
    tp_above, fp_above = offsets[r]
    tps = tp_above + np.cumsum(c.pos[::-1])
    den = tps + fp_above + np.cumsum(c.neg[::-1])
    prec = np.where(den != 0, tps / np.where(den != 0, den, 1.0), 0.0)
    return float(np.sum(c.pos[::-1] * prec))


def _sorted_ap(nbuckets, *args):
    s = np.array(args[:nbuckets]).reshape(-1, 7)
    if not s[:, 2].any():
        import warnings

        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.", UserWarning,
                      stacklevel=2)
        return 0.0
    return float(max(0.0, sum(args[nbuckets:]) / s[:, 0].sum()))


def _concat_buckets(method, kwargs, *buckets):
    """The buckets side by side (ascending, disjoint): the whole state, for
    the curves (their output is as large) and weighted AP."""
    buckets = [b[0] for b in buckets]
    out = buckets[0].copy()
    out.max_state_bytes = None
    out.scores, out.pos, out.neg = (np.concatenate([getattr(b, a) for b in buckets]) for a in ("scores", "pos", "neg"))
    out.negative_weights = any(b.negative_weights for b in buckets)
    out.score_dtype = next((b.score_dtype for b in buckets if b.score_dtype), "")
    return _call(out, method=method, kwargs=kwargs)


def _total_rows(inputs):
    obj, _, axis = inputs[0]
    n = _shape(obj)[axis] if len(_shape(obj)) > axis else math.nan
    return n if isinstance(n, numbers.Integral) else None


def _sorted_curve(metric, inputs, *, pos_label, max_state_bytes, split_every, kwargs, weighted, nbuckets=None):
    """The range-partitioned exact plan (see above): a Delayed result."""
    import operator

    from dask.highlevelgraph import HighLevelGraph

    k = _check_split_every(split_every)
    parts, names, axes, deps = _partitions(inputs)
    n = _total_rows(inputs)
    if nbuckets is None:
        nbuckets = SORT_BUCKETS
        if n is not None and max_state_bytes:
            nbuckets = min(max(nbuckets, -(-24 * n // max_state_bytes)), SORT_MAX_BUCKETS)
    # Leaves are bounded by their partitions (no budget); each bucket by max_state_bytes.
    spec = _Spec(functools.partial(_st.ExactCurve, pos_label), _weighted_update, {}, tuple(names), axes, True)
    token = uuid.uuid4().hex  # unique per call, as _reduce
    base = f"fastloss-{getattr(metric, '__name__', metric).lstrip('_')}-sort-{token}"
    dsk = {}
    groups = _leaf_groups(parts, deps, k) or [[]]
    leaves = []
    for g, idx in enumerate(groups):
        key = (f"{base}-leaf", g)
        dsk[key] = (_group_task, spec, *[p[i] for i in idx for p in parts])
        leaves.append(key)
        dsk[(f"{base}-sample", g)] = (_curve_sample, key, nbuckets)
    split_at = f"{base}-splitters"
    dsk[split_at] = (_curve_splitters, nbuckets, *[(f"{base}-sample", g) for g in range(len(groups))])
    for g, leaf in enumerate(leaves):
        dsk[(f"{base}-split", g)] = (_curve_split, leaf, split_at, nbuckets)
        for r in range(nbuckets):
            dsk[(f"{base}-piece", g, r)] = (operator.getitem, (f"{base}-split", g), r)
    buckets = []
    for r in range(nbuckets):
        key = (f"{base}-bucket", r)
        dsk[key] = (_curve_bucket, max_state_bytes, *[(f"{base}-piece", g, r) for g in range(len(groups))])
        buckets.append(key)
        dsk[(f"{base}-summary", r)] = (operator.getitem, key, 1)
    summaries = [(f"{base}-summary", r) for r in range(nbuckets)]
    if metric == "roc_auc":
        dsk[base] = (_sorted_auc, *summaries)
    elif metric == "average_precision" and not weighted:
        dsk[f"{base}-offsets"] = (_curve_offsets, *summaries)
        for r, b in enumerate(buckets):
            dsk[(f"{base}-ap", r)] = (_ap_bucket, b, f"{base}-offsets", r)
        dsk[base] = (_sorted_ap, nbuckets, *summaries, *[(f"{base}-ap", r) for r in range(nbuckets)])
    else:
        dsk[base] = (_concat_buckets, metric, kwargs or {}, *buckets)
    graph = HighLevelGraph.from_collections(base, dsk, dependencies=deps)
    return Delayed(base, graph)


def roc_auc(y_true, y_score, *, average="macro", multi_class="ovr", sample_weight=None, labels=None, pos_label=1,
            max_fpr=None, method="exact", max_state_bytes=MAX_STATE_BYTES, num_thresholds=1000, score_range=(0.0, 1.0),
            split_every=None):
    """Lazy, exact :func:`fastloss.roc_auc` (a Delayed float, or ndarray with
    ``average=None``).

    Binary (``y_score`` ``(N,)``): samples labelled ``pos_label`` (default 1)
    are positive; ``max_fpr`` gives the standardised partial AUC (McClish),
    as scikit-learn.  Multi-class ``(N, C)`` probabilities: one-vs-rest
    (``multi_class='ovr'``) or one-vs-one (``'ovo'``, Hand & Till:
    :class:`OvoCurves`), columns for ``labels`` (default ``0 .. C-1``; a
    label of ``y_true`` outside them is a ``ValueError``), ``average`` as
    scikit-learn.

    ``method='exact'`` (default): per partition, the sorted distinct scores
    with their positive and negative weights (:class:`ExactCurve`), merged
    in a tree; equal to scikit-learn on the concatenated data, ties and
    weights included.  A state larger than ``max_state_bytes`` (24 bytes per
    distinct score, default 1 GiB) raises
    :class:`fastloss.metrics.StateTooLargeError`.  ``method='sort'``
    (binary): the same exact answer by a range-partitioned merge (leaves cut
    at sampled splitters, each bucket merged in its own task, AUC/AP read
    off per-bucket sums), so no task holds every distinct score; buckets are
    sized to ``max_state_bytes``.  ``method='binned'``: a
    fixed-size :class:`fastloss.CurveAccumulator` of ``num_thresholds``
    thresholds over ``score_range`` (approximate; its error bound via
    :func:`accumulate`).

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> fd.roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])).compute()
    0.75
    """
    multiclass = len(_shape(y_score)) == 2 and _shape(y_score)[1] > 1
    if multiclass and multi_class == "ovo" and sample_weight is not None:  # checked first, as scikit-learn
        raise ValueError("sample_weight is not supported for multiclass one-vs-one ROC AUC, 'sample_weight' must be "
                         "None in this case.")
    if multiclass and max_fpr is not None and max_fpr != 1:
        raise ValueError("Partial AUC computation not available in multiclass setting, 'max_fpr' must be set to "
                         f"`None`, received `max_fpr={max_fpr}` instead")
    if multiclass and multi_class not in ("ovo", "ovr"):
        raise ValueError(f"multi_class must be in ('ovo', 'ovr') for multiclass ROC AUC, got {multi_class!r}")
    if multiclass and multi_class == "ovo":
        if average not in ("macro", "weighted", None):
            raise ValueError(f"average must be one of ('macro', 'weighted', None) for multiclass problems, got {average!r}")
        if average is None:
            raise NotImplementedError("average=None is not implemented for multi_class='ovo'.")
        if method != "exact":
            raise ValueError(f"multi-class (N, C) scores take method='exact', got {method!r}")
        classes = _ovx_classes(y_score, labels)
        factory = functools.partial(OvoCurves, classes, max_state_bytes)
        return _reduce(factory, _label_inputs(y_true, y_score, None, ("y_true", "y_score")), update=_weighted_update,
                       finish=_call, finish_kw={"method": "result", "kwargs": {"average": average}},
                       split_every=split_every, name="fastloss-roc_auc-ovo")
    if not multiclass and max_fpr is not None and max_fpr != 1:
        from fastloss._core import checks as _checks

        mf = _checks.check_scalar(max_fpr, "max_fpr", low=0.0, high=1.0, low_open=True)
        if method == "binned":
            raise ValueError("max_fpr takes method='exact' or 'sort' (the ROC curve up to max_fpr)")
        return _curve_metric("roc_curve", y_true, y_score, average="macro", pos_label=pos_label,
                             sample_weight=sample_weight, labels=None, method=method, max_state_bytes=max_state_bytes,
                             num_thresholds=num_thresholds, score_range=score_range, split_every=split_every,
                             kwargs={"max_fpr": mf}, finish_fn=_partial_auc)
    return _curve_metric("roc_auc", y_true, y_score, average=average, pos_label=pos_label,
                         sample_weight=sample_weight, labels=labels, method=method, max_state_bytes=max_state_bytes,
                         num_thresholds=num_thresholds, score_range=score_range, split_every=split_every)


def average_precision(y_true, y_score, *, average="macro", pos_label=1, sample_weight=None, labels=None,
                      method="exact", max_state_bytes=MAX_STATE_BYTES, num_thresholds=1000, score_range=(0.0, 1.0),
                      split_every=None):
    """Lazy, exact :func:`fastloss.average_precision` (a Delayed float); the
    arguments and methods are those of :func:`roc_auc`.

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> round(fd.average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])).compute(), 6)
    0.833333
    """
    return _curve_metric("average_precision", y_true, y_score, average=average, pos_label=pos_label,
                         sample_weight=sample_weight, labels=labels, method=method, max_state_bytes=max_state_bytes,
                         num_thresholds=num_thresholds, score_range=score_range, split_every=split_every)


def roc_curve(y_true, y_score, *, pos_label=1, sample_weight=None, drop_intermediate=True, method="exact",
              max_state_bytes=MAX_STATE_BYTES, num_thresholds=1000, score_range=(0.0, 1.0), split_every=None):
    """Lazy, exact :func:`fastloss.roc_curve`: a Delayed ``(fpr, tpr,
    thresholds)`` (binary; ``pos_label`` default 1).

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> fpr, tpr, thr = fd.roc_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])).compute()
    >>> fpr, tpr
    (array([0. , 0. , 0.5, 0.5, 1. ]), array([0. , 0.5, 0.5, 1. , 1. ]))
    """
    if len(_shape(y_score)) != 1:
        raise ValueError(f"y_score must be 1-D (binary), got shape {_shape(y_score)}")
    return _curve_metric("roc_curve", y_true, y_score, average="macro", pos_label=pos_label,
                         sample_weight=sample_weight, labels=None, method=method, max_state_bytes=max_state_bytes,
                         num_thresholds=num_thresholds, score_range=score_range, split_every=split_every,
                         kwargs={"drop_intermediate": drop_intermediate})


def precision_recall_curve(y_true, y_score, *, pos_label=1, sample_weight=None, drop_intermediate=False,
                           method="exact", max_state_bytes=MAX_STATE_BYTES, num_thresholds=1000,
                           score_range=(0.0, 1.0), split_every=None):
    """Lazy, exact :func:`fastloss.precision_recall_curve`: a Delayed
    ``(precision, recall, thresholds)`` (binary; ``pos_label`` default 1).

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> p, r, t = fd.precision_recall_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])).compute()
    >>> r
    array([1. , 1. , 0.5, 0.5, 0. ])
    """
    if len(_shape(y_score)) != 1:
        raise ValueError(f"y_score must be 1-D (binary), got shape {_shape(y_score)}")
    return _curve_metric("precision_recall_curve", y_true, y_score, average="macro", pos_label=pos_label,
                         sample_weight=sample_weight, labels=None, method=method, max_state_bytes=max_state_bytes,
                         num_thresholds=num_thresholds, score_range=score_range, split_every=split_every,
                         kwargs={"drop_intermediate": drop_intermediate})


# ---------------------------------------------------------------- OOD


def _ood_update(acc, scores, *, positive):
    s = np.asarray(scores)
    if s.ndim != 1:
        raise ValueError(f"{'scores_in' if positive else 'scores_out'} must be 1-D, got shape {s.shape}")
    if s.dtype.kind not in "iuf":
        raise TypeError(f"{'scores_in' if positive else 'scores_out'} must be real numbers, got dtype {s.dtype}")
    if s.dtype.kind == "f" and np.isnan(s).any():
        raise ValueError(f"{'scores_in' if positive else 'scores_out'} contains NaN")
    u, w = _st._distinct(np.sort(s.astype(np.float64)), None)  # +-inf are ordinary extreme scores here
    z = np.zeros(u.size)
    acc._add(u, w, z) if positive else acc._add(u, z, w)


def _ood_finish(cin, cout):
    if cin.count == 0 or cout.count == 0:
        raise ValueError(f"scores_in and scores_out must be non-empty, got {cin.count:g} and {cout.count:g} scores")
    c = cin.merge(cout)
    return {
        "auroc": c.roc_auc(),
        "aupr_in": c.average_precision(),
        "aupr_out": c.reversed().average_precision(),
        "fpr_at_95_tpr": c.fpr_at_tpr(0.95),
    }


def ood_metrics(scores_in, scores_out, *, max_state_bytes=MAX_STATE_BYTES, split_every=None):
    """Lazy, exact :func:`fastloss.ood_metrics` (a Delayed dict: AUROC,
    AUPR-In, AUPR-Out, FPR at 95% TPR) from two collections of scores.

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> m = fd.ood_metrics(np.array([3.0, 2.0, 1.0]), np.array([2.0, 0.0])).compute()
    >>> {k: round(v, 4) for k, v in m.items()}
    {'auroc': 0.75, 'aupr_in': 0.8056, 'aupr_out': 0.75, 'fpr_at_95_tpr': 0.5}
    """
    factory = functools.partial(_st.ExactCurve, 1, max_state_bytes=max_state_bytes)
    parts = []
    for x, nm, pos in ((scores_in, "scores_in", True), (scores_out, "scores_out", False)):
        if len(_shape(x)) != 1:
            raise ValueError(f"{nm} must be 1-D, got shape {_shape(x)}")
        parts.append(_reduce(factory, [(x, nm, 0)], update=functools.partial(_ood_update, positive=pos),
                             split_every=split_every, name=f"fastloss-ood-{nm}"))
    return delayed(_ood_finish, pure=True)(*parts)


def _score_block(kind, temperature, x):
    with single_threaded_kernels():
        fn = getattr(_fl, kind)
        return fn(x) if temperature is None else fn(x, temperature=temperature)


def _make_score(kind, has_t):
    def fn(logits, **options):
        t = options.pop("temperature", 1.0) if has_t else None
        if options:
            raise TypeError(f"{kind} got unexpected options {sorted(options)}")
        x = _as_dask_array(logits, "logits", 0)
        if x.ndim != 2:
            raise ValueError(f"logits must be (N, C), got shape {x.shape}")
        dtype = _float_dtype(x.dtype)
        return x.map_blocks(functools.partial(_score_block, kind, t), drop_axis=1, dtype=dtype)

    fn.__name__ = fn.__qualname__ = kind
    fn.__doc__ = (f"Block-wise :func:`fastloss.{kind}` of ``(N, C)`` logits: a dask array ``(N,)`` with the "
                  "logits' row chunks" + (" (``temperature=`` as the NumPy function)." if has_t else "."))
    return fn


msp_score = _make_score("msp_score", True)
max_logit_score = _make_score("max_logit_score", False)
energy_score = _make_score("energy_score", True)
entropy_score = _make_score("entropy_score", True)


# ---------------------------------------------------------------- calibration


def _calibration(probs_or_logits, labels, n_bins, strategy, logits, split_every, finish, finish_kw, name, dtype=None):
    if strategy != "uniform":
        raise ValueError(
            f"fastloss.dask computes calibration with strategy='uniform' (got {strategy!r}): quantile edges depend "
            "on all the data; compute them first (e.g. dask.array.percentile) and bin in a second pass"
        )
    factory = functools.partial(_st.CalibrationBins, n_bins, logits=logits)
    factory()
    return _reduce(factory, [(probs_or_logits, "probs_or_logits", 0), (labels, "labels", 0)], finish=finish,
                   finish_kw=finish_kw, split_every=split_every, name=name, dtype=dtype)


def expected_calibration_error(probs_or_logits, labels, *, n_bins=15, norm="l1", strategy="uniform", logits=False,
                               split_every=None):
    """Lazy :func:`fastloss.expected_calibration_error` (a 0-d dask array),
    from merged per-bin counts and sums (uniform bins).

    Examples
    --------
    >>> import numpy as np, fastloss.dask as fd
    >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    >>> round(float(fd.expected_calibration_error(p, np.array([0, 1, 1]), n_bins=2).compute()), 4)
    0.0667
    """
    from fastloss.metrics.calibration import NORMS

    if norm not in NORMS:
        raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
    return _calibration(probs_or_logits, labels, n_bins, strategy, logits, split_every, _call,
                        {"method": "expected_calibration_error", "kwargs": {"norm": norm}}, "fastloss-ece",
                        dtype=_float_dtype(getattr(probs_or_logits, "dtype", np.float64)))


def reliability_diagram(probs_or_logits, labels, *, n_bins=15, strategy="uniform", logits=False, split_every=None):
    """Lazy :func:`fastloss.reliability_diagram` (a Delayed
    ``ReliabilityDiagram``: edges, confidence, accuracy, count per bin)."""
    return _calibration(probs_or_logits, labels, n_bins, strategy, logits, split_every, _call,
                        {"method": "reliability_diagram"}, "fastloss-reliability")


# ---------------------------------------------------------------- error rates


def _text_update(acc, refs, hyps):
    acc.update(_strings(refs, "references"), _strings(hyps, "hypotheses"))


def _strings(x, name):
    if isinstance(x, str):
        return [x]
    out = list(x)
    for i, s in enumerate(out):
        if not isinstance(s, str):
            raise TypeError(f"{name} must hold str sentences, got {type(s).__name__} at position {i} of a partition")
    return out


def _text_inputs(references, hypotheses):
    import dask.bag as db

    pair = [references, hypotheses]
    lazy = [_is_dask(x) for x in pair]
    if not all(lazy):
        for i, x in enumerate(pair):
            if not lazy[i]:
                seq = [x] if isinstance(x, str) else list(x)
                if lazy[1 - i]:
                    raise TypeError("pass references and hypotheses both as dask collections or both in memory")
                pair[i] = seq
        if len(pair[0]) != len(pair[1]):
            raise ValueError(f"references and hypotheses must have the same length, got {len(pair[0])} references "
                             f"and {len(pair[1])} hypotheses")
        size = max(1, -(-len(pair[0]) // 16))
        pair = [db.from_sequence(p, partition_size=size) for p in pair]
    return [(pair[0], "references", 0), (pair[1], "hypotheses", 0)]


def error_rates(references, hypotheses, *, unit="word", split_every=None):
    """Lazy corpus :func:`fastloss.error_rates` (a Delayed
    :class:`fastloss.ErrorRates` record) over ``dask.bag``s or
    ``dask.dataframe`` string columns of sentences (partitioned alike), or
    lists.  Counts are pooled over the whole corpus, as jiwer's.

    Examples
    --------
    >>> import dask.bag as db, fastloss.dask as fd
    >>> refs = db.from_sequence(["the cat sat", "hello"], npartitions=2)
    >>> hyps = db.from_sequence(["the cat sat down", "yellow"], npartitions=2)
    >>> fd.error_rates(refs, hyps).compute().wer
    0.5
    """
    factory = functools.partial(_st.ErrorRates, unit)
    factory()
    return _reduce(factory, _text_inputs(references, hypotheses), update=_text_update, finish=_call,
                   finish_kw={"method": "result"}, split_every=split_every, name="fastloss-error_rates")


def _rate(state):
    return state.result().error_rate


def wer(references, hypotheses, *, split_every=None):
    """Lazy corpus :func:`fastloss.wer` (a Delayed float), as :func:`error_rates`."""
    return _reduce(functools.partial(_st.ErrorRates, "word"), _text_inputs(references, hypotheses),
                   update=_text_update, finish=_rate, split_every=split_every, name="fastloss-wer")


def cer(references, hypotheses, *, split_every=None):
    """Lazy corpus :func:`fastloss.cer` (a Delayed float), as :func:`error_rates`."""
    return _reduce(functools.partial(_st.ErrorRates, "char"), _text_inputs(references, hypotheses),
                   update=_text_update, finish=_rate, split_every=split_every, name="fastloss-cer")


__all__ = [
    *_LOSSES,
    "confusion_matrix", "precision_recall_fscore", "class_weights",
    "roc_auc", "average_precision", "roc_curve", "precision_recall_curve",
    "ood_metrics", "msp_score", "max_logit_score", "energy_score", "entropy_score",
    "expected_calibration_error", "reliability_diagram",
    "error_rates", "wer", "cer",
    "accumulate", "single_threaded_kernels", "OvrCurves", "OvoCurves",
]
