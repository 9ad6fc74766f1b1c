"""What a prequential run records, and how it is written: JSON, CSV and a text table.

The JSON form of one result has, at its top level, ``model``, ``dataset``, ``n``, the final
cumulative value of every metric in :data:`streamml.metrics.METRIC_NAMES`, ``seconds`` (time spent
inside the model's predict and learn calls), ``instances_per_second`` (``n / seconds``),
``wall_seconds``, ``peak_rss_mb`` and ``model_size_bytes``; then ``window_metrics`` (the last
window), ``curve`` (metrics recorded along the stream) and ``skipped`` (what the source skipped
under ``on_error="skip"``, with the first reasons).

``peak_rss_mb`` is the peak resident memory of the whole process: when several models run in one
process it is shared by them. The benchmark harness runs each model in its own process to get a
per-model figure.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import resource
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streamml.metrics import METRIC_NAMES

__all__ = ["EvaluationResult", "peak_rss_mb", "write_json", "write_csv", "format_table"]


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclasses.dataclass
class EvaluationResult:
    """The outcome of evaluating one model; see the module docstring for the fields' meaning."""

    model: str
    dataset: str
    n: int
    metrics: dict[str, float]
    window_metrics: dict[str, float]
    seconds: float
    wall_seconds: float
    peak_rss_mb: float
    model_size_bytes: int
    window: int
    delay: int = 0
    empty_score: float = 1.0
    auc_error_bound: float = 0.0
    curve: list[dict[str, float]] = dataclasses.field(default_factory=list)
    size_curve: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    skipped: dict[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def instances_per_second(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else math.inf

    def __getitem__(self, metric: str) -> float:
        return self.metrics[metric]

    def to_dict(self, curve: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {"model": self.model, "dataset": self.dataset, "n": self.n}
        d.update(self.metrics)
        d.update(
            seconds=self.seconds,
            instances_per_second=self.instances_per_second,
            wall_seconds=self.wall_seconds,
            peak_rss_mb=self.peak_rss_mb,
            model_size_bytes=self.model_size_bytes,
            window=self.window,
            delay=self.delay,
            empty_score=self.empty_score,
            auc_error_bound=self.auc_error_bound,
            window_metrics=self.window_metrics,
            skipped=self.skipped,
        )
        if self.extra:
            d["extra"] = self.extra
        if self.size_curve:
            d["size_curve"] = [list(p) for p in self.size_curve]
        if curve:
            d["curve"] = self.curve
        return d


def _clean(obj: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(results: Sequence[EvaluationResult], path: str | os.PathLike, curve: bool = True) -> None:
    """A JSON list with one object per model, in the order evaluated (NaN written as null)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump([_clean(r.to_dict(curve=curve)) for r in results], f, indent=2)
        f.write("\n")


def write_csv(results: Sequence[EvaluationResult], path: str | os.PathLike) -> None:
    """The curves, one row per (model, recorded instance): cumulative and ``window_`` metrics."""
    columns = ["model", "dataset", "n", "seconds", "wall_seconds", *METRIC_NAMES, *(f"window_{m}" for m in METRIC_NAMES)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for r in results:
            for point in r.curve:
                writer.writerow({"model": r.model, "dataset": r.dataset, **point})


TABLE_METRICS = ("subset_accuracy", "hamming_loss", "example_f1", "micro_f1", "macro_f1", "macro_auc")


def format_table(results: Sequence[EvaluationResult]) -> str:
    """A fixed-width text table of the final cumulative metrics, speed and memory."""
    header = ["model", "n", *TABLE_METRICS, "inst/s", "peak MB", "size KB"]
    rows = []
    for r in results:
        rows.append(
            [
                r.model,
                str(r.n),
                *(_fmt(r.metrics.get(m, math.nan)) for m in TABLE_METRICS),
                f"{r.instances_per_second:,.0f}",
                f"{r.peak_rss_mb:,.0f}",
                f"{r.model_size_bytes / 1024:,.1f}",
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def _fmt(v: float) -> str:
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"
