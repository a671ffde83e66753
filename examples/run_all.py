"""Run every gallery example, write their figures, and optionally the gallery page.

    python examples/run_all.py docs/img/gallery --markdown docs/gallery.md

runs ``examples/NN_*.py`` in order in this one process (so Numba starts once), writes each
example's figures into the folder given, prints the numbers each reports, and with
``--markdown`` writes the page that shows them (figures linked relative to the page).
``--quick`` runs the small versions the tests use; ``--json PATH`` saves every result
(numbers, figure paths, seconds, error) for a program to check. One failing example does
not stop the others; the exit status is 1 if any failed.
"""
import argparse
import glob
import importlib.util
import json
import os
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _gallery import format_numbers  # noqa: E402  (needs HERE on sys.path)


def examples(only=()):
    """{name: path} of the example scripts, in their numbered order."""
    paths = sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]_*.py")))
    found = {os.path.basename(p)[:-3]: p for p in paths}
    if only:
        unknown = [n for n in only if n not in found]
        if unknown:
            raise SystemExit(f"unknown example(s) {unknown}; choose from {list(found)}")
        found = {n: found[n] for n in only}
    return found


def load(name, path):
    spec = importlib.util.spec_from_file_location(f"gallery_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_one(name, path, out, quick):
    start = time.perf_counter()
    try:
        module = load(name, path)
        result = module.main(out, quick=quick)
        result = {"figures": list(result["figures"]), "numbers": result["numbers"], "error": None}
    except Exception:  # report and go on with the next example
        module = None
        result = {"figures": [], "numbers": {}, "error": traceback.format_exc()}
    result["seconds"] = time.perf_counter() - start
    result["doc"] = (module.__doc__ or "") if module is not None else ""
    return result


def markdown(results, page, quick):
    """The gallery page: per example its title, explanation, figures, command and numbers."""
    base = os.path.dirname(os.path.abspath(page))
    lines = [
        "# Gallery: the losses, trained and evaluated on real data",
        "",
        "Each example below is one script in [`examples/`](../examples/) that trains or evaluates "
        "something with fastloss's fused value and gradient (`return_grad=True`) and plain NumPy "
        "gradient descent (no autodiff framework), on a dataset bundled with scikit-learn (nothing is "
        "downloaded) or, for CTC, a synthetic task built from those images. They need the `gallery` "
        "extra (`pip install fastloss[gallery]`: scikit-learn and matplotlib). Run one with "
        "`python examples/<script>.py OUT_DIR` (figures go to `OUT_DIR`, add `--quick` for the "
        "seconds-long version the tests run); this page, its figures and numbers come from",
        "",
        "```",
        "python examples/run_all.py docs/img/gallery --markdown docs/gallery.md",
        "```",
        "",
        "The figures and numbers are from one run of that command" + (" with `--quick`" if quick else "")
        + "; every example is seeded, so a re-run gives the same numbers up to floating-point "
        "summation order. The examples make thousands of small calls, for which one thread is "
        "faster than a parallel team on a shared machine, so they run with `NUMBA_NUM_THREADS=1` "
        "unless that variable is already set.",
        "",
        "| | example | data |",
        "|---|---|---|",
    ]
    for k, (name, r) in enumerate(results.items(), 1):
        title = r["doc"].strip().splitlines()[0].rstrip(".") if r["doc"] else name
        data = ", ".join(dict.fromkeys(re.findall(r"``(load_\w+)``", r["doc"])))
        lines.append(f"| {k} | [{title}](#{anchor(name)}) | {data} |")
    for name, r in results.items():
        doc = r["doc"].strip().splitlines()
        title = doc[0].rstrip(".") if doc else name
        body = " ".join(line.strip() for line in doc[1:]).strip()
        body = re.sub(r":func:`([^`]+)`", r"`\1`", body).replace("``", "`")
        lines += ["", f'<a id="{anchor(name)}"></a>', "", f"## {title}", "", body, ""]
        for fig in r["figures"]:
            rel = os.path.relpath(os.path.abspath(fig), base).replace(os.sep, "/")
            lines.append(f"![{title}]({rel})")
            lines.append("")
        lines += [f"`python examples/{name}.py OUT_DIR` printed:", "", "```", format_numbers(r["numbers"]) if not r["error"]
                  else "FAILED", "```"]
    return "\n".join(lines) + "\n"


def anchor(name):
    return "ex-" + name.replace("_", "-")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("out", help="folder for the figures")
    parser.add_argument("--quick", action="store_true", help="the small versions (for tests)")
    parser.add_argument("--markdown", metavar="PAGE", help="also write the gallery page here")
    parser.add_argument("--json", metavar="PATH", help="save every result as JSON here")
    parser.add_argument("--only", nargs="+", default=(), metavar="NAME", help="run only these examples")
    args = parser.parse_args(argv)
    results = {}
    for name, path in examples(args.only).items():
        print(f"== {name}", flush=True)
        r = results[name] = run_one(name, path, args.out, args.quick)
        print(r["error"] or format_numbers(r["numbers"]))
        print(f"({r['seconds']:.1f} s)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({n: {k: v for k, v in r.items() if k != "doc"} for n, r in results.items()}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(results, args.markdown, args.quick))
    failed = [n for n, r in results.items() if r["error"]]
    print(f"{len(results) - len(failed)} of {len(results)} examples ran"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
