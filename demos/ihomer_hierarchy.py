"""Watch iHOMER find groups of co-occurring labels, lose them to a drift and find the new ones.

A synthetic stream plants three groups of labels that co-occur, then deals the labels into new
groups halfway through (a co-occurrence drift: each label keeps its own link to the features, but
its companions change). iHOMER and a single MLHAT learn it test-then-train; the demo prints the
planted groups next to iHOMER's clusters before and after the drift, the hierarchy it ends with
and its restructure events, and draws the hierarchy and both models' prequential curves with the
events on them. Run it as written (nothing downloads)::

    python demos/ihomer_hierarchy.py                        # writes ihomer_*.png here
    python demos/ihomer_hierarchy.py --out /tmp/demo --instances 6000
    python demos/ihomer_hierarchy.py --data corel5k         # a real dataset (see STREAMML_DATA)

It takes about ten seconds with the defaults.
"""

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from streamml import datasets
from streamml.evaluate import format_table, plot_curves, prequential
from streamml.generators import Drift, MultiLabelDriftStream
from streamml.ihomer import IHOMER
from streamml.ihomer.view import plot_hierarchy, render_text
from streamml.trees import MLHAT

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--out", default=".", help="folder for ihomer_hierarchy.png and ihomer_curves.png")
parser.add_argument("--instances", type=int, default=12000, help="length of the synthetic stream (drift halfway)")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--data", default=None, help="a dataset name or path instead of the synthetic stream")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

if args.data is None:
    drift_at = args.instances // 2
    # groups of 12 labels, of which an instance has about 4: HOMER's setting, where a cluster's
    # meta-label routes an instance to a few learners out of many
    stream = MultiLabelDriftStream(n_instances=args.instances, n_features=20, n_labels=36, n_groups=3,
                                   label_cardinality=4.0, group_label_rate=0.5, strength=4.0,
                                   drifts=[Drift(drift_at, kind="cooccurrence")], seed=args.seed)
    planted = {"before": stream.concept_at(0).groups, "after": stream.concept_at(drift_at).groups}
else:
    stream = datasets.load(args.data)
    drift_at, planted = None, {}

ihomer = IHOMER()
seen: dict[str, list[list[int]]] = {}


def watched(rows: Iterator) -> Iterator:
    """The stream's rows, noting iHOMER's clusters just before the drift."""
    for i, row in enumerate(rows):
        if i == drift_at:
            seen["clustering at the drift"] = ihomer.partition()
            seen["hierarchy at the drift"] = ihomer.active_partition()
        yield row


results = prequential(watched(iter(stream)), {"ihomer": ihomer, "mlhat": MLHAT()}, window=500,
                      dataset=args.data or "synthetic co-occurrence drift")
seen["clustering at the end"] = ihomer.partition()
seen["hierarchy at the end"] = ihomer.active_partition()
print(format_table(results))
print()


def groups_text(groups: list) -> str:
    return "  ".join("{" + ",".join(str(int(v)) for v in sorted(g)) + "}" for g in groups)


# the clustering's partition changes first; the hierarchy built on it predicts once it has earned the switch
for when, at in (("before", "at the drift"), ("after", "at the end")):
    if when in planted:
        print(f"{'planted groups ' + when + ' the drift':32s}: {groups_text(planted[when])}")
    for part in ("clustering", "hierarchy"):
        if f"{part} {at}" in seen:
            print(f"{'iHOMER ' + part + ' ' + at:32s}: {groups_text(seen[f'{part} {at}'])}")
print()
print(render_text(ihomer, max_events=12))
hierarchy_png = plot_hierarchy(ihomer, out / "ihomer_hierarchy.png")
curves_png = plot_curves(results, out / "ihomer_curves.png")
switches = [e["n"] for e in ihomer.events if e["kind"] == "switch"]
print(f"\nhierarchy switches at instances {switches}; figures: {hierarchy_png}, {curves_png}")
if drift_at is not None:
    mean = {r.model: float(np.mean([p["window_micro_f1"] for p in r.curve if p["n"] > drift_at])) for r in results}
    print("mean windowed micro-F1 after the drift: " + ", ".join(f"{k} {v:.3f}" for k, v in mean.items()))
