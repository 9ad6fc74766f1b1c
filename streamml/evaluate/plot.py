"""PNG plots of prequential curves: one panel per metric, one line per model."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from streamml.evaluate.results import EvaluationResult

__all__ = ["plot_curves", "DEFAULT_PLOT_METRICS", "MAJOR_EVENTS"]

DEFAULT_PLOT_METRICS = ("micro_f1", "subset_accuracy", "hamming_loss", "macro_auc")

#: Event kinds drawn as dashed lines across every panel: a change of what predicts (iHOMER's
#: hierarchy switches, MLHAT's subtree switches) and drift alarms. Every other kind (cluster splits,
#: merges, relocations, alternate trees started, ...) is a tick along the bottom of each panel:
#: iHOMER's clustering can change at every test, every ``n_min`` instances, and full-height lines
#: for all of them would hide the curves. An event without a ``kind`` is drawn as a line.
MAJOR_EVENTS = frozenset({"switch", "global_drift"})


def plot_curves(
    results: Sequence[EvaluationResult],
    path: str | os.PathLike,
    metrics: Sequence[str] = DEFAULT_PLOT_METRICS,
    windowed: bool = True,
    title: str | None = None,
    major_events: Collection[str] = MAJOR_EVENTS,
) -> Path:
    """Plot the windowed (or cumulative) curves of ``metrics`` for every result into a PNG.

    Events a model reports in ``result.extra["events"]`` (a list of ``{"n": int, "kind": str, ...}``,
    for example restructures) are drawn in that model's colour: those of ``major_events`` as dashed
    lines across every panel, the others as ticks along the bottom of each panel.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = _curves_figure(results, metrics, windowed, title, major_events)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _split_events(events: Sequence[dict[str, Any]], major_events: Collection[str]) -> tuple[list[int], list[int]]:
    """The distinct instance indices of the major and of the other events."""
    major = sorted({int(e["n"]) for e in events if e.get("kind") is None or e["kind"] in major_events})
    minor = sorted({int(e["n"]) for e in events if e.get("kind") is not None and e["kind"] not in major_events})
    return major, minor


def _curves_figure(results: Sequence[EvaluationResult], metrics: Sequence[str], windowed: bool, title: str | None,
                   major_events: Collection[str]) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(len(metrics), 1, figsize=(9, 2.4 * len(metrics) + 0.6), sharex=True, squeeze=False)
    prefix = "window_" if windowed else ""
    any_major = any_minor = False
    for ax, metric in zip(axes[:, 0], metrics):
        for r in results:
            xs = [p["n"] for p in r.curve]
            ys = [p.get(prefix + metric, float("nan")) for p in r.curve]
            (line,) = ax.plot(xs, ys, label=r.model, linewidth=1.4)
            colour = line.get_color()
            major, minor = _split_events(r.extra.get("events", []), major_events)
            for n in major:
                ax.axvline(n, color=colour, linestyle="--", linewidth=0.9, alpha=0.8)
            if minor:  # x in data, y in axes coordinates: a row of ticks just above the bottom edge
                ax.plot(minor, [0.03] * len(minor), linestyle="none", marker="|", markersize=7, color=colour,
                        alpha=0.6, transform=ax.get_xaxis_transform())
            any_major |= bool(major)
            any_minor |= bool(minor)
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("instances")
    window = results[0].window if results else 0
    scope = f"sliding window of {window}" if windowed else "cumulative"
    dataset = results[0].dataset if results else ""
    fig.suptitle(title or f"Prequential {scope}" + (f" on {dataset}" if dataset else ""))
    handles, _ = axes[0, 0].get_legend_handles_labels()
    if any_major:
        label = ", ".join(sorted(k.replace("_", " ") for k in major_events)) or "events"
        handles.append(Line2D([], [], color="0.35", linestyle="--", linewidth=0.9, label=label))
    if any_minor:
        handles.append(Line2D([], [], color="0.35", linestyle="none", marker="|", markersize=7, label="other structural events"))
    axes[0, 0].legend(handles=handles, loc="best", fontsize="small")
    fig.tight_layout()
    return fig
