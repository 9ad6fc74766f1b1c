"""What one MLHAT costs per instance as a function of how many labels it trains.

Usage::

    python benchmarks/unit_call_cost.py                       # corel5k, writes RESULTS.md
    python benchmarks/unit_call_cost.py --dataset bibtex --labels 5 40 159 --out /tmp/r.md

For each label count ``L``, the ``L`` labels most often relevant over the stream are kept and two
MLHATs trained on them alone run test-then-train (``predict_row`` then ``learn_row``) over every
instance: the learner iHOMER gives each of its leaf units
(:func:`streamml.ihomer.model.default_cluster_learner`), and our default ``mlhat``. The runs are
interleaved, ``--repeat`` times each; the table shows the medians in microseconds per instance.
A least-squares line ``F + v L`` through each learner's medians splits its cost into a part that a
call pays whatever its label count (``F``: routing, the observers' and regressions' index work, the
loss and drift updates, the kNN window) and a part per label (``v``).

Why it matters: iHOMER's units are MLHATs, so an instance that reaches ``c`` of them pays ``F`` about
``c`` times, while ``mlhat`` pays it once for all labels. HOMER's split of the label space saves
``v`` per label left out, and pays only where ``(c - 1) F`` is below that saving. The ``ihomer-cost``
section counts ``c`` and the label slots per instance on the same datasets. Writes the
``unit-call-cost`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from ihomer_cost import _rows, _test_then_train  # noqa: E402
from results_md import command_line, stamp, update_section  # noqa: E402
from run import _env, dataset_available  # noqa: E402
from streamml import registry  # noqa: E402
from streamml.ihomer.model import default_cluster_learner  # noqa: E402
from streamml.schema import Schema  # noqa: E402

SECTION_NAME = "unit-call-cost"
LEARNERS = {
    "iHOMER leaf unit": default_cluster_learner,
    "mlhat": lambda: registry.make("mlhat"),
}


def microseconds_per_instance(make: Any, schema: Schema, data: list, labels: np.ndarray) -> float:
    """Test-then-train ``make()`` on ``data`` (rows whose label vectors are cut to ``labels``):
    microseconds per instance."""
    model = make()
    model.bind(Schema(schema.features, [schema.labels[i] for i in labels], schema.name, schema.sparse))
    return 1e6 * _test_then_train(model, data)[0] / len(data)


def fit_line(ls: list[int], us: list[float]) -> tuple[float, float]:
    """Least-squares ``(F, v)`` of ``us = F + v * ls``.

    >>> fit_line([1, 2, 3], [12.0, 14.0, 16.0])
    (10.0, 2.0)
    """
    v, f = np.polyfit(np.asarray(ls, dtype=float), np.asarray(us, dtype=float), 1)
    return round(float(f), 6), round(float(v), 6)


def measure(name: str, label_counts: list[int], repeat: int) -> dict[str, Any]:
    schema, rows = _rows(name, None)
    order = np.argsort(-np.sum([y for _, y in rows], axis=0), kind="stable")
    label_counts = sorted({min(L, order.shape[0]) for L in label_counts})
    cut = {L: [(x, y[order[:L]]) for x, y in rows] for L in label_counts}  # the rows each L trains on
    times: dict[str, dict[int, list[float]]] = {k: {L: [] for L in label_counts} for k in LEARNERS}
    for _ in range(repeat):
        for L in label_counts:
            for key, make in LEARNERS.items():
                times[key][L].append(microseconds_per_instance(make, schema, cut[L], order[:L]))
            print(f"{name} L={L}: " + ", ".join(f"{k} {times[k][L][-1]:.0f} us" for k in LEARNERS), flush=True)
    medians = {k: {L: statistics.median(v) for L, v in per.items()} for k, per in times.items()}
    lines = {k: fit_line(label_counts, [m[L] for L in label_counts]) for k, m in medians.items()}
    return {"dataset": name, "n": len(rows), "n_labels": schema.n_labels, "label_counts": label_counts,
            "medians": medians, "lines": lines}


def report(r: dict[str, Any], command: str, repeat: int) -> str:
    keys = list(LEARNERS)
    out = [f"## MLHAT cost per instance against its label count ({r['dataset']})", "", stamp(command).rstrip("\n"), "",
           f"{r['dataset']} ({r['n']:,} instances, {r['n_labels']} labels): for each label count *L*, the *L* labels "
           f"most often relevant, and an MLHAT trained on them alone, test-then-train over every instance; median "
           f"of {repeat} interleaved runs, microseconds per instance. *iHOMER leaf unit* is the learner iHOMER gives "
           "each leaf cluster (`default_cluster_learner()`); `mlhat` our default MLHAT "
           "(`benchmarks/unit_call_cost.py` says more).", "",
           "| labels | " + " | ".join(f"{k} µs" for k in keys) + " |", "|---:|" + "---:|" * len(keys)]
    for L in r["label_counts"]:
        out.append(f"| {L} | " + " | ".join(f"{r['medians'][k][L]:,.0f}" for k in keys) + " |")
    out += ["", "Least-squares line *F* + *v* · *L* through each learner's medians:", "",
            "| learner | *F*: µs per instance whatever *L* | *v*: µs per label |", "|---|---:|---:|"]
    for k in keys:
        f, v = r["lines"][k]
        out.append(f"| {k} | {f:,.0f} | {v:.2f} |")
    f_unit, v_unit = r["lines"][keys[0]]
    L_all = r["label_counts"][-1]
    whole = r["medians"]["mlhat"][L_all]
    out += ["", f"An instance that reaches *c* leaf units pays about *c* · *F* in their fixed parts alone: for *c* = 3, "
            f"{3 * f_unit:,.0f} µs, {3 * f_unit / whole:.2f} of what `mlhat` pays for the whole instance on all {L_all} "
            f"labels ({whole:,.0f} µs). Each label that a unit leaves out saves about {v_unit:.2f} µs. The `ihomer-cost` "
            "section counts the unit calls and label slots per instance."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="corel5k")
    ap.add_argument("--labels", type=int, nargs="+", default=[5, 10, 20, 40, 80, 160, 374])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)
    os.environ.update(_env())
    if not dataset_available(args.dataset):
        print(f"{args.dataset} is not available (set STREAMML_DATA)", file=sys.stderr)
        return 1
    r = measure(args.dataset, args.labels, args.repeat)
    text = report(r, command_line("benchmarks/unit_call_cost.py", sys.argv[1:] if argv is None else argv), args.repeat)
    update_section(SECTION_NAME, text, args.out)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
