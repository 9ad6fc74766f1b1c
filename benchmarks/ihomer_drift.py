"""Drift recovery of iHOMER against MLHAT on an abrupt change in label co-occurrence.

Usage::

    python benchmarks/ihomer_drift.py                     # writes benchmarks/ihomer_drift.png and
                                                          # the ``ihomer-drift`` section of RESULTS.md
    python benchmarks/ihomer_drift.py --stream clustered  # benchmarks/ihomer_drift_clustered.png and
                                                          # the ``ihomer-drift-clustered`` section
    python benchmarks/ihomer_drift.py --seeds 0 --n 8000 --out /tmp/r.md --png /tmp/d.png
    python benchmarks/ihomer_drift.py --held-out --models ihomer mlhat  # the ``ihomer-drift-heldout`` section

The stream is :class:`~streamml.generators.MultiLabelDriftStream` with planted label groups and one
abrupt ``cooccurrence`` drift in the middle (the labels are dealt into new groups; each label keeps
its own weights). ``--stream planted`` has groups of 4 labels that fire nearly whole;
``--stream clustered`` has groups of 12 that fire half their labels, so that the groups are larger
than the labelsets and default iHOMER builds a hierarchy (see :data:`STREAMS`). Every model is
evaluated prequentially on every instance (window ``--window``). For each model and seed:

* *pre*: mean windowed micro-F1 over the ``2 * window`` instances before the drift;
* *dip*: the lowest windowed micro-F1 after the drift;
* *rec90* / *rec95*: instances after the drift until the windowed micro-F1 is back to at least
  90 % / 95 % of *pre* and stays there for ``window / 2`` instances (``–`` if never);
* *post*: mean windowed micro-F1 over the ``--post`` instances after the drift;
* *shortfall*: mean of ``max(pre - windowed micro-F1, 0)`` over those instances (the area of the dip).

A windowed curve of a few hundred instances is noisy, and so is the instance at which it crosses a
threshold: one seed's *rec95* can move by a thousand instances. The benchmark therefore runs ten
seeds by default and compares every model with ``--peer`` (``mlhat``) seed by seed, with a sign test
(:func:`paired`); a mean over three seeds could not tell the models apart. ``--held-out`` is a
confirmation run on 30 other seeds (10 to 39), written to sections and figures of its own
(``ihomer-drift-heldout``, ``ihomer-drift-clustered-heldout``), so that a verdict drawn from the ten
default seeds is checked on streams it was not drawn from.

``mlhat(selection_metric='micro_f1')`` is MLHAT choosing its leaf models on micro-F1, as iHOMER's
cluster units do: on these streams MLHAT's default choice (Hamming loss) keeps kNN leaves that find
few of the relevant labels, and this row shows what the choice alone is worth.
``mlhat(cardinality_th=100,bootstrap_sampling=False,selection_delta=0.01,intercept_lr=0.3)`` is one
MLHAT with the settings of iHOMER's units (iHOMER without a hierarchy, save its decision rule and
consistent root): on the planted stream, where default iHOMER keeps one cluster, it shows that
iHOMER's differences from ``mlhat`` there come from those settings, not from the hierarchy. On the
clustered stream it does better than iHOMER: the drift changes which labels co-occur, not each
label's link to the features, so one regression per label keeps what it knows, while iHOMER's
units learn each label given its cluster's meta-label and are rebuilt after the drift.

The last table lists the trees each model predicts with at the end of the stream (:func:`grown_trees`):
how many, their leaves, and the model each leaf predicts with. It tells what a recovery measures.
MLHAT's Hoeffding range is ``log2`` of the labelsets seen at a leaf, which is large when there are
dozens of labels, and on these streams each of the 20 features carries only a small part of every
logit: a tree that never splits is one leaf, and its recovery is that of the leaf's model. A kNN
leaf predicts from its last ``knn_window`` (170) instances, so it has forgotten the old concept
within that many instances whatever the drift; measured against its own *pre*, it recovers about
as fast as anything can, but to a level only as high as a sliding window gets. A model that
predicts from what it learned over thousands of instances -- regressions, trees that split,
iHOMER's units -- has more to unlearn.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

sys.path.insert(0, str(HERE))
from results_md import command_line, update_section  # noqa: E402
from streamml import registry  # noqa: E402
from streamml.evaluate import prequential  # noqa: E402
from streamml.evaluate.plot import MAJOR_EVENTS  # noqa: E402
from streamml.generators import Drift, MultiLabelDriftStream  # noqa: E402
from streamml.ihomer import IHOMER  # noqa: E402
from streamml.trees.mlhat import MLHAT  # noqa: E402
from suites import UNIT_MLHAT  # noqa: E402

#: The streams (``--stream``): generator parameters, and the RESULTS.md section and figure of each.
#: ``planted``: an active group fires most of its 4 labels, so a labelset is about a union of whole
#: groups, and default iHOMER (clusters at least twice the mean labelset size) keeps one cluster.
#: ``clustered``: groups of 12 labels, each firing half of them when active, so the groups are
#: larger than the labelsets (as in the real datasets) and default iHOMER builds its hierarchy.
STREAMS = {
    "planted": dict(n_features=20, n_labels=12, n_groups=3, label_cardinality=3.0),
    "clustered": dict(n_features=20, n_labels=36, n_groups=3, label_cardinality=4.0, group_label_rate=0.5, strength=4.0),
}
SECTIONS = {
    "planted": ("ihomer-drift", "## iHOMER drift recovery", "ihomer_drift.png"),
    "clustered": ("ihomer-drift-clustered", "## iHOMER drift recovery: groups larger than labelsets", "ihomer_drift_clustered.png"),
}


def make_stream(n: int, seed: int, kind: str = "planted") -> MultiLabelDriftStream:
    return MultiLabelDriftStream(n_instances=n, drifts=[Drift(n // 2, kind="cooccurrence")], seed=seed, **STREAMS[kind])


def recovery(curve: list[dict], drift: int, window: int, post: int) -> dict[str, float | None]:
    n = np.array([p["n"] for p in curve])
    f = np.array([p["window_micro_f1"] for p in curve])
    pre_mask = (n > drift - 2 * window) & (n <= drift)
    pre = float(f[pre_mask].mean())
    after = n > drift
    dip = float(f[after].min())
    post_mask = after & (n <= drift + post)
    idx = np.flatnonzero(after)
    hold = window // 2

    def back_to(target: float) -> int | None:
        for i in idx:
            if f[i] >= target:
                stay = (n >= n[i]) & (n <= n[i] + hold)
                if (f[stay] >= target).all() and n[i] + hold <= n[-1]:
                    return int(n[i] - drift)
        return None

    return {"pre": pre, "dip": dip, "rec90": back_to(0.90 * pre), "rec95": back_to(0.95 * pre),
            "post": float(f[post_mask].mean()), "loss": float(np.mean(np.maximum(pre - f[post_mask], 0.0)))}


def grown_trees(model: object) -> list[list[str]] | None:
    """The trees ``model`` predicts with now, each as the list of its leaves' models
    (:meth:`~streamml.trees.mlhat.MLHAT.leaf_model_kinds`): an MLHAT's main tree, or the MLHAT of
    every unit of iHOMER's active hierarchy; ``None`` for any other learner."""
    if isinstance(model, MLHAT):
        return [model.leaf_model_kinds()]
    if isinstance(model, IHOMER):
        root = model.hierarchy
        units = root.units() if root is not None else []
        return [u.learner.leaf_model_kinds() for u in units if isinstance(u.learner, MLHAT)]
    return None


def growth_rows(table: dict[str, list[dict]]) -> list[str]:
    """Table rows (model, trees, leaves per tree, leaf models) over the seeds, from each row's ``trees``."""

    def span(values: list[int]) -> str:
        return "–" if not values else (str(min(values)) if min(values) == max(values) else f"{min(values)}–{max(values)}")

    out = []
    for m, rows in table.items():
        runs = [r["trees"] for r in rows if r.get("trees") is not None]
        if not runs:
            continue
        kinds = Counter(k for trees in runs for tree in trees for k in tree)
        out.append(f"| `{m}` | {span([len(t) for t in runs])} | {span([len(tree) for t in runs for tree in t])} | "
                   + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))) + " |")
    return out


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: the probability of a split at least this uneven under a fair coin."""
    return float(binomtest(wins, wins + losses).pvalue) if wins + losses else 1.0


def format_p(p: float) -> str:
    """A p-value to three decimals, or ``< 0.001`` (a rounded 0.000 reads as impossible, not as small)."""
    return "< 0.001" if p < 0.0005 else f"{p:.3f}"


#: The measures compared seed by seed: (key in :func:`recovery`'s result, label, +1 if larger is better).
PAIRED = (("rec90", "rec90", -1), ("rec95", "rec95", -1), ("loss", "shortfall", -1), ("post", "post", +1),
          ("micro_f1", "whole-stream micro-F1", +1), ("subset_accuracy", "whole-stream subset acc", +1))


def paired(rows: list[dict], peer: list[dict], never: int) -> list[tuple[str, tuple[int, int, int], float]]:
    """Seed-by-seed comparison of a model's recovery with the peer's: for each of :data:`PAIRED`,
    how many seeds are better (faster, smaller shortfall, higher post or whole-stream score), tied and worse, and the
    sign test's p. A recovery that never happens counts as ``never`` instances."""
    by_seed = {r["seed"]: r for r in peer}
    out = []
    for key, label, sign in PAIRED:
        diffs = []
        for r in rows:
            q = by_seed.get(r["seed"])
            if q is None:
                continue
            a = never if r[key] is None else r[key]
            b = never if q[key] is None else q[key]
            diffs.append(sign * round(a - b, 6))
        counts = (sum(d > 0 for d in diffs), sum(d == 0 for d in diffs), sum(d < 0 for d in diffs))
        out.append((label, counts, sign_test(counts[0], counts[2])))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0-9 (10-39 with --held-out)")
    ap.add_argument("--held-out", action="store_true",
                    help="confirmation run on seeds 10-39, into the stream's '-heldout' section and figure")
    ap.add_argument("--window", type=int, default=500)
    ap.add_argument("--post", type=int, default=3000)
    ap.add_argument("--models", nargs="+", default=["ihomer", "ihomer-flat", "mlhat", UNIT_MLHAT, "mlhat(selection_metric='micro_f1')"])
    ap.add_argument("--peer", default="mlhat", help="the model the others are compared with, seed by seed")
    ap.add_argument("--stream", choices=sorted(STREAMS), default="planted")
    ap.add_argument("--png", default=None, help="figure path (default: benchmarks/ihomer_drift[_clustered].png)")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = ap.parse_args(argv)
    section_name, title, png_name = SECTIONS[args.stream]
    if args.held_out:
        section_name, title = section_name + "-heldout", title + " (held-out seeds)"
        png_name = png_name.replace(".png", "_heldout.png")
    if args.seeds is None:
        args.seeds = list(range(10, 40)) if args.held_out else list(range(10))
    args.png = args.png or str(HERE / png_name)

    drift = args.n // 2
    table: dict[str, list[dict]] = {m: [] for m in args.models}
    first = None
    for seed in args.seeds:
        stream = make_stream(args.n, seed, args.stream)
        models = {spec: registry.make(spec) for spec in args.models}
        results = prequential(stream, models, window=args.window, record_every=50, progress=False)
        for r in results:
            row = recovery(r.curve, drift, args.window, args.post)
            row.update(seed=seed, speed=r.n / r.seconds, micro_f1=r.metrics["micro_f1"],
                       subset_accuracy=r.metrics["subset_accuracy"])
            row["events"] = [e for e in r.extra.get("events", []) if e["kind"] in ("switch", "global_drift", "reset", "merge", "split", "relocate")]
            row["trees"] = grown_trees(models[r.model])
            table[r.model].append(row)
            print(f"seed {seed} {r.model:12s} pre {row['pre']:.3f} dip {row['dip']:.3f} rec90 {row['rec90']} rec95 {row['rec95']} post {row['post']:.3f} shortfall {row['loss']:.3f}", flush=True)
        if first is None:
            first = (results, stream)

    # ------------------------------------------------------------------ plot (first seed)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results, stream = first
    fig, ax = plt.subplots(figsize=(10, 5.4))
    first_with: dict[tuple, str] = {}  # curve -> the first model that drew it
    dashed = 0
    for r in results:
        xs = [p["n"] for p in r.curve]
        ys = [p["window_micro_f1"] for p in r.curve]
        same = first_with.setdefault(tuple(ys), r.model)
        label = r.model if same == r.model else f"{r.model} (same curve as {same})"
        # iHOMER and the peer solid and underneath, the other rows dashed on top, every other one with
        # its dashes shifted into the previous one's gaps: where curves coincide for a stretch (a
        # control and the model it controls), each stays visible
        main = r.model in ("ihomer", args.peer)
        style = "-" if main else (3 * (dashed % 2), (3, 3))
        dashed += not main
        (line,) = ax.plot(xs, ys, label=label, linewidth=1.6 if main else 1.3, linestyle=style, zorder=2 if main else 3)
        for e in r.extra.get("events", []):
            if e["kind"] in MAJOR_EVENTS:
                ax.axvline(e["n"], color=line.get_color(), linestyle=":", linewidth=0.9, alpha=0.8)
    ax.axvline(drift, color="k", linewidth=1.2, alpha=0.5)
    ax.text(drift, ax.get_ylim()[1], " co-occurrence drift", va="top", fontsize=8)
    ax.set_xlabel("instances")
    ax.set_ylabel(f"micro-F1 (window {args.window})")
    ax.set_title(f"Abrupt label co-occurrence drift at {drift} (seed {args.seeds[0]}); dotted: iHOMER switches / global drift")
    ax.grid(True, alpha=0.3)
    # below the axes: inside, it hid the low curves (and models with identical predictions draw one line)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize="small", frameon=False)
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)
    plt.close(fig)

    # ------------------------------------------------------------------ report
    def fmt(v, d=3):
        return "–" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))

    params = ", ".join(f"{k}={v}" for k, v in STREAMS[args.stream].items())
    lines = [title, "",
             "Command: `" + command_line("benchmarks/ihomer_drift.py", argv if argv is not None else sys.argv[1:]) + "`  ",
             f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             f"`MultiLabelDriftStream(n_instances={args.n}, {params}, "
             f"drifts=[Drift({drift}, kind=\"cooccurrence\")])`, seeds {args.seeds}; prequential on every instance, window "
             f"{args.window}. *pre*: mean windowed micro-F1 over the {2 * args.window} instances before the drift; *dip*: "
             f"lowest after it; *rec90* / *rec95*: instances after the drift until the windowed micro-F1 is back to 90 % / 95 % "
             f"of the model's own *pre* and stays there {args.window // 2} instances (– if not within the stream); *post*: mean over "
             f"the {args.post} instances after the drift; *shortfall*: mean of max(pre − windowed micro-F1, 0) over them. "
             f"Curves of seed {args.seeds[0]}: [`{Path(args.png).name}`]({Path(args.png).name}).", "",
             "| model | seed | pre | dip | rec90 | rec95 | post | shortfall | whole-stream micro-F1 | subset acc | inst/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m, rows in table.items():
        for row in rows:
            lines.append(f"| `{m}` | {row['seed']} | {fmt(row['pre'])} | {fmt(row['dip'])} | {fmt(row['rec90'])} | {fmt(row['rec95'])} | "
                         f"{fmt(row['post'])} | {fmt(row['loss'])} | {fmt(row['micro_f1'], 4)} | {fmt(row['subset_accuracy'], 4)} | {row['speed']:,.0f} |")
    lines += ["", "Means over seeds (recovery: mean over the seeds that recovered):", "",
              "| model | pre | dip | rec90 | rec95 | recovered (95 %) | post | shortfall | whole-stream micro-F1 | subset acc |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m, rows in table.items():
        r90 = [r["rec90"] for r in rows if r["rec90"] is not None]
        r95 = [r["rec95"] for r in rows if r["rec95"] is not None]
        lines.append(f"| `{m}` | {np.mean([r['pre'] for r in rows]):.3f} | {np.mean([r['dip'] for r in rows]):.3f} | "
                     f"{(f'{np.mean(r90):.0f}' if r90 else '–')} | {(f'{np.mean(r95):.0f}' if r95 else '–')} | {len(r95)}/{len(rows)} | "
                     f"{np.mean([r['post'] for r in rows]):.3f} | {np.mean([r['loss'] for r in rows]):.3f} | "
                     f"{np.mean([r['micro_f1'] for r in rows]):.4f} | {np.mean([r['subset_accuracy'] for r in rows]):.4f} |")
    if args.peer in table and len(table) > 1:
        lines += ["", f"Seed by seed against `{args.peer}` (better: recovers sooner, smaller shortfall, higher post or "
                  "whole-stream score; a model "
                  "that never recovers counts as recovering at the stream's end; *p*: two-sided sign test on the seeds that "
                  "differ):", "",
                  "| model | measure | better | tied | worse | p |", "|---|---|---:|---:|---:|---:|"]
        for m, rows in table.items():
            if m == args.peer:
                continue
            for label, a, b in paired(rows, table[args.peer], args.n - drift):
                lines.append(f"| `{m}` | {label} | {a[0]} | {a[1]} | {a[2]} | {format_p(b)} |")
    ev = table.get("ihomer", [])
    if ev:
        after = {r["seed"]: ", ".join(f"{e['n']} {e['kind']}" for e in r["events"] if e["n"] > drift)[:400] for r in ev}
        lines += ["", "iHOMER's structural events after the drift (seed, instance, kind): " + (
            "; ".join(f"{seed}: {text or 'none'}" for seed, text in after.items()) if any(after.values()) else "none.")]
    grown = growth_rows(table)
    if grown:
        lines += ["", "The trees each model predicts with at the end of the stream, over the seeds: an MLHAT's main tree, "
                  "or the MLHAT of each unit of iHOMER's active hierarchy; *trees* and *leaves per tree* give the range "
                  "over seeds, *leaf models* counts the leaves by the model they predict with (`knn`, `bagging`: the "
                  "regressions, `majority`, `none`):", "",
                  "| model | trees | leaves per tree | leaf models |", "|---|---:|---:|---|", *grown]
    section = "\n".join(lines) + "\n"

    out = Path(args.out)
    update_section(section_name, section, out)  # only this stream's own section is rewritten
    print(f"wrote {out} and {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
