"""Pictures of a benchmark run: the speed-up at a glance.

* One summary panel per family: for every case (function, variant, shape) a
  horizontal bar per peer giving fastloss's speed-up over it (the peer's
  median / fastloss's median) on a log axis, with 1x marked.  Each peer keeps
  its colour in every panel and every run (:data:`PEER_COLOURS`).
* Time-against-size panels only where a real size sweep was run: the same
  function, variant and every parameter but the element count ``n``, at two
  sizes or more.  Shapes that differ in anything else (the class count, the
  layout) are never joined on one axis.
"""
from __future__ import annotations

import math

#: Fixed colours: a peer is the same colour in every panel and every run.
PEER_COLOURS = {
    "torch": "#ee4c2c",
    "numpy": "#4d77cf",
    "sklearn": "#f7931e",
    "scikit-learn": "#f7931e",
    "jiwer": "#2ca02c",
    "pyctcdecode": "#9467bd",
    "torchaudio": "#8c564b",
    "flashlight": "#17becf",
    "python": "#7f7f7f",
    "scipy": "#bcbd22",
    "rapidfuzz": "#e377c2",
    "dask-ml": "#fdb462",
}
_SPARE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]


def colour(library: str) -> str:
    """The colour of ``library``: a fixed one for known peers, read-bound rows
    dashed grey, others from a spare palette chosen by name (stable)."""
    if library in PEER_COLOURS:
        return PEER_COLOURS[library]
    if library.startswith("bound"):
        return "#444444"
    base = library.split("[")[0].split("-")[0]
    if base in PEER_COLOURS:
        return PEER_COLOURS[base]
    return _SPARE[sum(map(ord, library)) % len(_SPARE)]


def check_backend(path: str) -> None:
    """Fail before any benchmark runs when the plot could not be written."""
    import os

    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise SystemExit("--plot needs matplotlib: pip install matplotlib (or fastloss[plot])") from exc
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SystemExit(f"--plot: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise SystemExit(f"--plot: folder {folder!r} is not writable")
    if not path.lower().endswith((".png", ".svg", ".pdf")):
        raise SystemExit(f"--plot: give a .png, .svg or .pdf file name, got {path!r}")


def speedups(results) -> dict:
    """``{family: [(case label, {peer: speed-up})]}`` in run order."""
    fams: dict = {}
    for r in results:
        if r.library == "fastloss" or not math.isfinite(r.speedup) or r.speedup <= 0:
            continue
        label = f"{r.func} [{r.variant}] {r.shape}"
        cases = fams.setdefault(r.family, {})
        cases.setdefault(label, {})[r.library] = r.speedup
    return {f: list(c.items()) for f, c in fams.items()}


def sweeps(results) -> dict:
    """``{(func, variant, other params): {library: [(n, seconds)]}}`` for the
    groups run at two element counts or more, everything else equal."""
    groups: dict = {}
    for r in results:
        if not r.params or "n" not in r.params:
            continue
        rest = tuple(sorted((k, str(v)) for k, v in r.params.items() if k != "n"))
        key = (r.func, r.variant, rest)
        groups.setdefault(key, {}).setdefault(r.library, []).append((r.params["n"], r.median_s))
    return {k: v for k, v in groups.items() if len({n for pts in v.values() for n, _ in pts}) > 1}


def _bars(ax, family, cases):
    peers = sorted({p for _, sp in cases for p in sp})
    height = 0.8 / max(len(peers), 1)
    labels = []
    for i, (label, sp) in enumerate(cases):
        labels.append(label)
        for j, peer in enumerate(peers):
            if peer not in sp:
                continue
            y = i - 0.4 + (j + 0.5) * height
            ax.barh(y, sp[peer], height=height * 0.9, color=colour(peer),
                    hatch="//" if peer.startswith("bound") else None,
                    label=peer if i == next(k for k, (_, s) in enumerate(cases) if peer in s) else None)
            ax.text(sp[peer], y, f" {sp[peer]:.3g}x", va="center", fontsize=6)
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_xscale("log")
    values = [v for _, sp in cases for v in sp.values()]
    ax.set_xlim(min(0.5, min(values) / 1.5), max(2.0, max(values) * 1.8))
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("fastloss speed-up (peer median / fastloss median; > 1: fastloss faster)", fontsize=8)
    ax.set_title(family, fontsize=10, loc="left")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def _sweep(ax, key, libs):
    func, variant, rest = key
    for lib, pts in sorted(libs.items(), key=lambda kv: kv[0] != "fastloss"):
        pts = sorted(pts)
        ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker="o", label=lib,
                  color="black" if lib == "fastloss" else colour(lib),
                  linewidth=2.5 if lib == "fastloss" else 1.2, linestyle="--" if lib.startswith("bound") else "-")
    extra = " ".join(f"{k}={v}" for k, v in rest)
    ax.set_title(f"{func} [{variant}] {extra}", fontsize=8)
    ax.set_xlabel("elements")
    ax.set_ylabel("median seconds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def plot(results, path, *, cpu: str = "") -> None:
    """Write the summary chart (and the size sweeps, if any) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams = speedups(results)
    sw = sweeps(results)
    if not fams and not sw:
        raise SystemExit("--plot: no peer was timed, nothing to compare (check --library)")
    heights = [max(1.6, 0.32 * len(cases) * max(1, len({p for _, s in cases for p in s})) ** 0.5 + 0.9)
               for cases in fams.values()]
    sweep_rows = math.ceil(len(sw) / 3)
    total = sum(heights) + 3.4 * sweep_rows
    fig = plt.figure(figsize=(12, max(total, 2.5)))
    grid = fig.add_gridspec(len(heights) + sweep_rows, 3, height_ratios=heights + [3.4] * sweep_rows)
    for row, (family, cases) in enumerate(fams.items()):
        _bars(fig.add_subplot(grid[row, :]), family, cases)
    for k, (key, libs) in enumerate(sorted(sw.items())):
        _sweep(fig.add_subplot(grid[len(heights) + k // 3, k % 3]), key, libs)
    if cpu:
        fig.suptitle(f"fastloss speed-up, same run: {cpu}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["PEER_COLOURS", "colour", "check_backend", "speedups", "sweeps", "plot"]
