"""Prequential (test-then-train) evaluation of several learners over one pass of a stream.

Each instance is first predicted by every model, scored, and only then learned. No instance is
skipped. With ``delay=k`` the labels of instance ``i`` are revealed (learned) only after instance
``i + k`` has been predicted, as when ground truth arrives late; labels still pending when the
stream ends are learned at the end, which changes the final model but no score.

>>> from streamml.generators import MultiLabelDriftStream
>>> from streamml.learners import BRLogisticRegression, MajorityLabelset
>>> stream = MultiLabelDriftStream(n_instances=300, n_features=5, n_labels=4, seed=1)
>>> results = prequential(stream, {"majority": MajorityLabelset(), "br-lr": BRLogisticRegression()},
...                       window=100, progress=False)
>>> [r.model for r in results], [r.n for r in results]
(['majority', 'br-lr'], [300, 300])
>>> sorted(results[0].curve[-1])[:3]
['example_accuracy', 'example_f1', 'example_precision']
"""

from __future__ import annotations

import collections
import itertools
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from streamml.base import MultiLabelLearner
from streamml.evaluate.results import EvaluationResult, peak_rss_mb
from streamml.metrics import MultiLabelMetrics
from streamml.persistence import model_size
from streamml.schema import Row
from streamml.stream import Stream

__all__ = ["prequential"]

Models = MultiLabelLearner | Mapping[str, MultiLabelLearner] | Sequence[MultiLabelLearner | tuple[str, MultiLabelLearner]]


def _named_models(models: Models) -> list[tuple[str, MultiLabelLearner]]:
    if isinstance(models, MultiLabelLearner):
        return [(type(models).__name__, models)]
    if isinstance(models, Mapping):
        named = list(models.items())
    else:
        named = [m if isinstance(m, tuple) else (type(m).__name__, m) for m in models]
    names = [n for n, _ in named]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"model names must be unique; repeated: {sorted(duplicates)}")
    for name, model in named:
        if not isinstance(model, MultiLabelLearner):
            raise TypeError(f"model {name!r} is a {type(model).__name__}, not a streamml MultiLabelLearner")
    return named


class _Track:
    """Everything recorded for one model during a run."""

    def __init__(self, name: str, model: MultiLabelLearner, window: int, auc_bins: int, empty_score: float):
        self.name = name
        self.model = model
        self.cumulative = MultiLabelMetrics(auc_bins=auc_bins, empty_score=empty_score)
        self.windowed = MultiLabelMetrics(window=window, auc_bins=auc_bins, empty_score=empty_score)
        self.seconds = 0.0
        self.curve: list[dict[str, float]] = []
        self.sizes: list[tuple[int, int]] = []


def prequential(
    stream: Stream | Iterable[tuple[Row, np.ndarray]],
    models: Models,
    *,
    window: int = 1000,
    max_instances: int | None = None,
    delay: int = 0,
    record_every: int | None = None,
    size_every: int | None = None,
    auc_bins: int = 1000,
    empty_score: float = 1.0,
    progress: bool | None = None,
    dataset: str | None = None,
) -> list[EvaluationResult]:
    """Evaluate ``models`` test-then-train over a single pass of ``stream``.

    Parameters
    ----------
    stream
        A :class:`~streamml.stream.Stream` (or any iterable of ``(x, y)`` rows and label vectors).
        The stream is read once; every model sees the same instances in the same order.
    models
        One learner, a ``{name: learner}`` mapping, or a sequence of learners or ``(name, learner)``.
        Results come back in the same order.
    window
        Size of the sliding window for the windowed metrics.
    max_instances
        Stop after this many instances (``None``: the whole stream).
    delay
        Labels are learned ``delay`` instances after their instance is predicted (0: immediately).
    record_every
        Record the cumulative and windowed metrics every this many instances (default
        ``max(1, window // 10)``); the last instance is always recorded.
    size_every
        Also record the serialised model size every this many instances (default: only at the end).
    auc_bins
        Score bins per label of the bounded-memory macro-AUC (see :mod:`streamml.metrics.auc`).
    empty_score
        Example-based score of an instance whose true and predicted label sets are both empty:
        1 (default, as MEKA and the published tables) or 0 (River's convention).
    progress
        Show a progress bar (default: when stderr is a terminal).
    dataset
        Name to store in the results (default: the stream schema's name).

    Returns
    -------
    One :class:`~streamml.evaluate.results.EvaluationResult` per model.
    """
    if window < 1:
        raise ValueError("window must be >= 1")
    if delay < 0:
        raise ValueError("delay must be >= 0")
    named = _named_models(models)
    schema = getattr(stream, "schema", None)
    if schema is not None:
        for _, model in named:
            model.bind(schema)
    record_every = record_every or max(1, window // 10)
    tracks = [_Track(name, model, window, auc_bins, empty_score) for name, model in named]
    pending: collections.deque[tuple[Row, np.ndarray]] = collections.deque()

    total = getattr(stream, "n_instances", None)
    if max_instances is not None:
        total = max_instances if total is None else min(total, max_instances)
    source: Iterable[tuple[Row, np.ndarray]] = stream
    if max_instances is not None:
        source = itertools.islice(stream, max_instances)
    bar = _progress_bar(total, progress, dataset or (schema.name if schema else ""))

    started = time.perf_counter()
    n = 0
    clock = time.perf_counter
    for x, y in source:
        n += 1
        for track in tracks:
            t0 = clock()
            pred, proba = track.model.predict_row_and_proba(x)
            track.seconds += clock() - t0
            # Vectors of different lengths are padded by the metrics: labels the model has not met
            # yet count as predicted irrelevant, labels missing from ``y`` as irrelevant.
            track.cumulative.update(y, pred, proba)
            track.windowed.update(y, pred, proba)
        pending.append((x, y))
        if len(pending) > delay:
            _learn(tracks, *pending.popleft())
        if n % record_every == 0:
            _record(tracks, n, started)
        if size_every and n % size_every == 0:
            for track in tracks:
                track.sizes.append((n, model_size(track.model)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if n % record_every != 0 and n > 0:
        _record(tracks, n, started)
    while pending:  # labels revealed after the last prediction still reach the models
        _learn(tracks, *pending.popleft())
    wall = time.perf_counter() - started

    errors = getattr(stream, "errors", None)
    results = []
    for track in tracks:
        size = model_size(track.model)
        if size_every and (not track.sizes or track.sizes[-1][0] != n):
            track.sizes.append((n, size))
        results.append(
            EvaluationResult(
                model=track.name,
                dataset=dataset or (schema.name if schema is not None else ""),
                n=n,
                metrics=track.cumulative.get(),
                window_metrics=track.windowed.get(),
                auc_error_bound=track.cumulative.auc_error_bound(),
                seconds=track.seconds,
                wall_seconds=wall,
                peak_rss_mb=peak_rss_mb(),
                model_size_bytes=size,
                window=window,
                delay=delay,
                empty_score=empty_score,
                curve=track.curve,
                size_curve=track.sizes,
                skipped=errors.to_dict() if errors is not None else {"skipped": 0, "first_reasons": []},
                extra=_extra(track.model),
            )
        )
    return results


def _learn(tracks: list[_Track], x: Row, y: np.ndarray) -> None:
    clock = time.perf_counter
    for track in tracks:
        t0 = clock()
        track.model.learn_row(x, y)
        track.seconds += clock() - t0


def _record(tracks: list[_Track], n: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    for track in tracks:
        point: dict[str, float] = {"n": n, "seconds": track.seconds, "wall_seconds": elapsed}
        point.update(track.cumulative.get())
        point.update({f"window_{k}": v for k, v in track.windowed.get().items()})
        track.curve.append(point)


def _extra(model: MultiLabelLearner) -> dict[str, Any]:
    """Model-specific facts to keep with the results (for example restructure events)."""
    report = getattr(model, "evaluation_report", None)
    return report() if callable(report) else {}


def _progress_bar(total: int | None, progress: bool | None, label: str):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label or "prequential", unit="inst", mininterval=0.5, smoothing=0.1)
