"""PNG plots of prequential curves: one panel per metric, one line per model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from streamml.evaluate.results import EvaluationResult

__all__ = ["plot_curves", "DEFAULT_PLOT_METRICS"]

DEFAULT_PLOT_METRICS = ("micro_f1", "subset_accuracy", "hamming_loss", "macro_auc")


def plot_curves(
    results: Sequence[EvaluationResult],
    path: str | os.PathLike,
    metrics: Sequence[str] = DEFAULT_PLOT_METRICS,
    windowed: bool = True,
    title: str | None = None,
) -> Path:
    """Plot the windowed (or cumulative) curves of ``metrics`` for every result into a PNG.

    Events a model reports in ``result.extra["events"]`` (a list of ``{"n": int, ...}``, for
    example restructures) are drawn as dotted vertical lines in that model's colour.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(metrics), 1, figsize=(9, 2.4 * len(metrics) + 0.6), sharex=True, squeeze=False)
    prefix = "window_" if windowed else ""
    for ax, metric in zip(axes[:, 0], metrics):
        for i, r in enumerate(results):
            xs = [p["n"] for p in r.curve]
            ys = [p.get(prefix + metric, float("nan")) for p in r.curve]
            (line,) = ax.plot(xs, ys, label=r.model, linewidth=1.4)
            for event in r.extra.get("events", []):
                ax.axvline(event["n"], color=line.get_color(), linestyle=":", linewidth=0.8, alpha=0.7)
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("instances")
    window = results[0].window if results else 0
    scope = f"sliding window of {window}" if windowed else "cumulative"
    dataset = results[0].dataset if results else ""
    fig.suptitle(title or f"Prequential {scope}" + (f" on {dataset}" if dataset else ""))
    axes[0, 0].legend(loc="best", fontsize="small")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
