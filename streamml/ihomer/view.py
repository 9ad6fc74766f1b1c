"""Text and PNG views of an iHOMER model: its label hierarchy and its events over time.

>>> from streamml.generators import MultiLabelDriftStream
>>> from streamml.trees import MLHT
>>> from streamml.ihomer import IHOMER
>>> stream = MultiLabelDriftStream(n_instances=600, n_features=4, n_labels=6, n_groups=2, seed=3)
>>> model = IHOMER(node_learner=MLHT(), cardinality_factor=0.0).bind(stream.schema)
>>> for x, y in stream:
...     model.learn_row(x, y)
>>> print(render_text(model, max_events=3))  # doctest: +NORMALIZE_WHITESPACE
iHOMER at instance 600: 1 cluster, 4 units, a candidate with 2 clusters
leaf u0 (always) trained 600: y0, y1, y2, y3, y4, y5
candidate:
  meta u1 (always) trained 600: 2 meta-labels
  ├── leaf u2 trained 246: y1, y2, y4
  └── leaf u3 trained 269: y0, y3, y5
events: candidate 1, split 1
  @    100 split -> {y1, y2, y4} | {y0, y3, y5}
  @    200 candidate (2 clusters)

The single root still predicts: the hierarchy of two clusters built at instance 200 is on trial as
the candidate, trained and scored alongside it, until it earns the switch or is rejected
(``bootstrap=True`` would have adopted it at once).
"""

from __future__ import annotations

import collections
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["render_text", "plot_hierarchy"]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _candidate_head(model: Any, cand: Any) -> str:
    kind = "the fallback" if getattr(model, "_fallback_trial", False) else "a candidate"
    return f"{kind} with {_count(len(cand.leaf_units()), 'cluster')}"


def _names(model: Any, labels: list[int]) -> list[str]:
    return [str(model.labels_[i]) if i < len(model.labels_) else str(i) for i in labels]


def _lines(model: Any, pos: Any, prefix: str, last: bool, top: bool, out: list[str], max_labels: int) -> None:
    u = pos.unit
    branch = "" if top else ("└── " if last else "├── ")
    if u is None:
        text = f"flat root: {len(pos.children)} clusters, predictions joined"
    else:
        labels = sorted(int(v) for v in u.domain)
        names = _names(model, labels)
        shown = ", ".join(names[:max_labels]) + (f", … (+{len(names) - max_labels})" if len(names) > max_labels else "")
        always = " (always)" if u.always else ""
        alt = " [alternate running]" if u.alt is not None else ""
        if u.kind == "meta":
            text = f"meta u{u.uid}{always} trained {u.n_trained:g}: {len(u.groups)} meta-labels{alt}"
        else:
            text = f"leaf u{u.uid}{always} trained {u.n_trained:g}: {shown}{alt}"
    out.append(prefix + branch + text)
    child_prefix = prefix + ("" if top else ("    " if last else "│   "))
    for i, c in enumerate(pos.children):
        _lines(model, c, child_prefix, i == len(pos.children) - 1, False, out, max_labels)


def render_text(model: Any, events: bool = True, max_labels: int = 12, max_events: int = 30) -> str:
    """The active hierarchy (and the candidate, if any) as an indented tree, then the event log."""
    active = model.hierarchy
    if active is None:
        return "iHOMER: no labels yet"
    cand = model.candidate
    head = (f"iHOMER at instance {model._n}: {_count(len(active.leaf_units()), 'cluster')}, {_count(len(model._pool), 'unit')}, "
            + (_candidate_head(model, cand) if cand is not None else "no candidate"))
    out = [head]
    _lines(model, active, "", True, True, out, max_labels)
    if cand is not None:
        out.append("candidate:")
        _lines(model, cand, "  ", True, True, out, max_labels)
    if model.clustering.pending:
        out.append(f"pending labels (not yet relevant): {len(model.clustering.pending)}")
    if events:
        counts = collections.Counter(e["kind"] for e in model.events)
        out.append("events: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
        shown = [e for e in model.events if e["kind"] not in ("label_placed",)][-max_events:]
        for e in shown:
            extra = ""
            fallback = "fallback, " if e.get("fallback") else ""
            if "into" in e:
                extra = " -> " + " | ".join("{" + ", ".join(_names(model, g)) + "}" for g in e["into"])
            elif "clusters" in e:
                on_f1 = ", judged on micro-F1" if e.get("criterion") == "micro_f1" else ""
                tags = (", bootstrap" if e.get("bootstrap") else "") + (", fallback" if fallback else "")
                extra = f" ({_count(len(e['clusters']), 'cluster')}{tags}{on_f1})"
            elif e["kind"] == "relocate":
                extra = f" {_names(model, [e['label']])[0]} -> cluster of {len(e['to'])} labels"
            elif "moved" in e:  # merge, refine: the moved labels joined a cluster, which now has these
                extra = f" {{{', '.join(_names(model, e['moved']))}}} -> cluster of {len(e['labels'])} labels"
            elif "labels" in e:  # aggregate, refine: a split undone, its labels one cluster again
                extra = f" -> cluster of {len(e['labels'])} labels"
            elif "gain" in e:
                on = {"micro_f1": "micro-F1 ", "hamming": "Hamming "}.get(e.get("criterion", ""), "")
                extra = f" ({fallback}{on}gain {e['gain']:+.4f}, bound {e['bound']:.4f}, after {e['after']})"
            elif "reason" in e:
                extra = f" ({fallback}{e['reason']})"
            out.append(f"  @{e['n']:>7d} {e['kind']}{extra}")
    return "\n".join(out)


def _layout(pos: Any, depth: int, xs: list[float], nodes: list[tuple], edges: list[tuple]) -> float:
    if not pos.children:
        x = float(len(xs))
        xs.append(x)
    else:
        cx = [_layout(c, depth + 1, xs, nodes, edges) for c in pos.children]
        x = sum(cx) / len(cx)
        for c, xc in zip(pos.children, cx):
            edges.append((x, depth, xc, c))
    nodes.append((x, depth, pos))
    return x


#: Inches a leaf box needs side by side, and the widest figure before leaves go on staggered rows.
_SLOT_INCHES = 1.35
_MAX_WIDTH_INCHES = 36.0
#: Label names longer than this are shortened in the boxes.
_NAME_CHARS = 18


def _short(name: str) -> str:
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"


def _hierarchy_figure(model: Any, title: str | None = None, max_labels: int = 6) -> tuple[Any, list[Any]]:
    """The figure of :func:`plot_hierarchy`, and the text boxes of the hierarchy's units.

    Each leaf gets ``_SLOT_INCHES`` of width; where that would make the figure wider than
    ``_MAX_WIDTH_INCHES``, consecutive leaves go on staggered rows instead.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    active = model.hierarchy
    nodes: list[tuple] = []
    edges: list[tuple] = []
    if active is not None:
        _layout(active, 0, [], nodes, edges)
    n_leaves = sum(1 for _, _, pos in nodes if not pos.children)
    rows = max(1, math.ceil(n_leaves * _SLOT_INCHES / _MAX_WIDTH_INCHES))
    levels = max((d for _, d, _ in nodes), default=0) + rows  # rows of boxes, 1.3 inches each
    top = 1.3 * levels + 1.2
    width = max(11.0, n_leaves * _SLOT_INCHES / rows + 1.0)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(width, top + 3.4), gridspec_kw={"height_ratios": [top, 3.4]})

    def y_of(x: float, d: int, pos: Any) -> float:
        return -d - (int(x) % rows if not pos.children else 0)

    texts = []
    for x0, d0, x1, child in edges:
        ax.plot([x0, x1], [-d0, y_of(x1, d0 + 1, child)], color="0.6", linewidth=1, zorder=1)
    for x, d, pos in nodes:
        u = pos.unit
        if u is None:
            text, color = "flat root", "0.85"
        elif u.kind == "meta":
            text, color = f"u{u.uid}: {len(u.groups)} meta-labels\n({u.domain.shape[0]} labels)", "#cfe2f3"
        else:
            names = [_short(v) for v in _names(model, sorted(int(v) for v in u.domain))]
            text = "\n".join(names[:max_labels]) + (f"\n… +{len(names) - max_labels}" if len(names) > max_labels else "")
            text, color = f"u{u.uid}\n" + text, "#d9ead3"
        texts.append(ax.text(x, y_of(x, d, pos), text, ha="center", va="center", fontsize=7, zorder=2,
                             bbox={"boxstyle": "round", "facecolor": color, "edgecolor": "0.4"}))
    if nodes:
        xs = [x for x, _, _ in nodes]
        ax.set_xlim(min(xs) - 0.8 * rows, max(xs) + 0.8 * rows)
        ax.set_ylim(-(levels - 1) - 0.7, 0.7)
    ax.axis("off")
    ax.set_title(title or f"iHOMER label hierarchy at instance {model._n}")
    _draw_events(model, ax2)
    fig.tight_layout()
    return fig, texts


def _draw_events(model: Any, ax: Any) -> None:
    events = model.events
    kinds = [k for k in ("split", "aggregate", "merge", "relocate", "refine", "reset", "global_drift", "candidate", "switch", "reject", "local_drift", "local_replace", "local_prune")
             if any(e["kind"] == k for e in events)]
    for i, k in enumerate(kinds):
        xs = [e["n"] for e in events if e["kind"] == k]
        ax.scatter(xs, [i] * len(xs), marker="|", s=120, label=k)
    ax.set_yticks(range(len(kinds)), kinds)
    ax.set_xlabel("instances")
    ax.grid(True, axis="x", alpha=0.3)
    steps = [(0, 1)] + [(e["n"], e["n_clusters"]) for e in events if "n_clusters" in e]
    if len(steps) > 1:
        twin = ax.twinx()
        twin.step([s[0] for s in steps] + [model._n], [s[1] for s in steps] + [steps[-1][1]], where="post", color="k", linewidth=1, alpha=0.6)
        twin.set_ylabel("clusters (clustering)")
    ax.set_title("restructure and drift events")


def plot_hierarchy(model: Any, path: str | os.PathLike, title: str | None = None, max_labels: int = 6) -> Path:
    """A PNG with the active hierarchy (top) and the events and cluster count over time (bottom).

    The figure widens with the number of clusters; past about 26 of them the leaves go on staggered
    rows, and long label names are shortened, so that no two boxes overlap.
    """
    import matplotlib.pyplot as plt

    fig, _ = _hierarchy_figure(model, title, max_labels)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
