"""Compare several multi-label learners prequentially on Yeast and save their curves.

Run it as written (Yeast ships inside River's wheel, so nothing downloads)::

    python demos/compare_learners.py                 # writes yeast_curves.png here
    python demos/compare_learners.py --out /tmp/demo --max-instances 800
"""

import argparse
from pathlib import Path

from streamml import datasets
from streamml.evaluate import format_table, plot_curves, prequential, write_json
from streamml.learners import BinaryRelevance, BRLogisticRegression, MajorityLabelset
from river import tree

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--out", default=".", help="folder for yeast_curves.png and yeast_results.json")
parser.add_argument("--max-instances", type=int, default=None)
args = parser.parse_args()

stream = datasets.load("yeast")
models = {
    "majority labelset": MajorityLabelset(),
    "BR logistic (vectorised)": BRLogisticRegression(),
    "BR Hoeffding tree (River)": BinaryRelevance(tree.HoeffdingTreeClassifier(grace_period=200)),
}
results = prequential(stream, models, window=500, max_instances=args.max_instances)
print(format_table(results))

out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
write_json(results, out / "yeast_results.json")
print("curves:", plot_curves(results, out / "yeast_curves.png"))
