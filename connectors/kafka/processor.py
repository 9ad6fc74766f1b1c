"""Predict-then-learn on messages, without Kafka: the core of the worker, and an API to embed it.

:class:`StreamProcessor` takes message bytes (or dicts) in the formats of :mod:`connectors.kafka.messages`,
predicts each instance, learns from it when its labels are there (or holds it until its labels come,
see :mod:`connectors.kafka.labels_join`), keeps live prequential metrics, and saves everything to
a checkpoint. It runs inside any consumer loop: your own kafka-python or confluent-kafka loop, Quix
Streams, bytewax, Faust...

>>> proc = StreamProcessor("br-lr")
>>> proc.process(b'{"id": 1, "features": [0.2, 0.9], "labels": ["sports"]}')["id"]
1
>>> proc.process({"id": 2, "features": [0.1, 0.8], "labels": ["sports", "news"]})["labels"]
['sports']
>>> pred = proc.process({"id": 3, "features": [0.3, 0.7]})     # no labels: predicted, held
>>> pred["labels"], sorted(pred["scores"])
(['sports', 'news'], ['news', 'sports'])
>>> proc.process_labels({"id": 3, "labels": ["news"]})           # late labels: learned now
1
>>> proc.stats()["learned"], proc.metrics()["n"]
(3, 3)
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from connectors.kafka.checkpoint import CheckpointInfo, read_checkpoint, write_checkpoint
from connectors.kafka.labels_join import JoinBuffer
from streamml.metrics import MultiLabelMetrics
from connectors.kafka.messages import (
    ARROW_MARKER,
    DEFAULT_MAX_BYTES,
    BadMessage,
    Decoder,
    Instance,
    encode_predictions,
)
from streamml.base import MultiLabelLearner
from streamml.schema import Schema, SparseRow
from streamml.stream import ErrorReport

__all__ = ["StreamProcessor", "BadMessage"]

Prediction = tuple[Hashable, np.ndarray, np.ndarray]

#: Scored instances are counted in blocks of this many (or when the metrics are read): one NumPy
#: update per block costs far less than one per message.
_FLUSH_EVERY = 256


def _spec_of(model: str | MultiLabelLearner) -> str:
    return model if isinstance(model, str) else type(model).__name__


class StreamProcessor:
    """Decode, predict, learn; hold instances for late labels; score; checkpoint.

    Parameters
    ----------
    model
        A spec for :func:`streamml.registry.make` (``"mlht"``, ``"br-lr(lr=0.1)"``) or a learner.
    labels
        Label names declared up front, in order (with ``strict_labels`` the only ones accepted).
    strict_labels, strict_features, max_message_bytes
        See :class:`connectors.kafka.messages.Decoder`. By default the label and feature spaces grow.
    micro_batch
        Instances predicted together before they are learned (1: one at a time). Every instance is
        still predicted before it is learned; with ``k > 1`` an instance is predicted by the model of
        the start of its block. The model learned is the same whatever ``k``.
    join_capacity, join_ttl_s
        Bounds of the late-label join buffer (entries per side; event-time seconds).
    window
        Window of the windowed metrics.
    """

    def __init__(
        self,
        model: str | MultiLabelLearner = "br-lr",
        *,
        labels: Sequence[str] | None = None,
        schema: Schema | None = None,
        strict_labels: bool = False,
        strict_features: bool = False,
        max_message_bytes: int = DEFAULT_MAX_BYTES,
        micro_batch: int = 1,
        join_capacity: int = 100_000,
        join_ttl_s: float = 3600.0,
        window: int = 1000,
    ):
        from streamml import registry

        if micro_batch < 1:
            raise ValueError("micro_batch must be at least 1")
        self.spec = _spec_of(model)
        self.model: MultiLabelLearner = registry.make(model) if isinstance(model, str) else model
        if schema is not None:
            self.model.bind(schema)
        if labels:
            self.model._add_labels([lab for lab in labels if lab not in self.model._label_index])
        self.decoder = Decoder(self.model, strict_labels=strict_labels, strict_features=strict_features,
                               max_bytes=max_message_bytes)
        self.micro_batch = int(micro_batch)
        self.join = JoinBuffer(join_capacity, join_ttl_s * 1000.0)
        self.window = window
        self.cumulative = MultiLabelMetrics()
        self.windowed = MultiLabelMetrics(window=window)
        self.errors = ErrorReport()
        self.bad_kinds: collections.Counter[str] = collections.Counter()
        self.counters = {"messages": 0, "instances": 0, "predicted": 0, "learned": 0, "labels_messages": 0}
        self.model_seconds = 0.0
        self._scored: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._fast = self._fast_path()

    # ------------------------------------------------------------------------ embedding API
    def process(self, message: bytes | bytearray | memoryview | dict, *, timestamp_ms: int | None = None):
        """Predict (and learn, when labels are in it) one message; returns its prediction.

        A JSON message or a dict gives one prediction dict ``{"id", "labels", "scores"}``; an Arrow
        batch gives a list of them (its bad rows are skipped and counted in :attr:`errors`). A bad
        message raises :class:`~connectors.kafka.messages.BadMessage` (``.kind`` says why) and
        changes nothing.
        """
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        try:
            instances, bad = self.decoder.decode(message)
        except BadMessage as e:
            self.record_bad(e)
            raise
        for b in bad:
            self.record_bad(b)
        self.counters["messages"] += 1
        predictions = self.on_features(instances, ts)
        if len(self._scored) >= _FLUSH_EVERY:
            self.flush_metrics()
        out = [self.prediction_dict(*p) for p in predictions]
        if isinstance(message, dict) or bytes(message[:4]) != ARROW_MARKER:
            return out[0]
        return out

    def process_labels(self, message: bytes | bytearray | memoryview | dict, *, timestamp_ms: int | None = None) -> int:
        """Feed a labels-topic message ``{"id", "labels"}``; returns how many instances were learned."""
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        try:
            instances, bad = self.decoder.decode(message, labels_only=True)
        except BadMessage as e:
            self.record_bad(e)
            raise
        for b in bad:
            self.record_bad(b)
        self.counters["labels_messages"] += 1
        n = self.on_labels(instances, ts)
        if len(self._scored) >= _FLUSH_EVERY:
            self.flush_metrics()
        return n

    def checkpoint(self, path: str | os.PathLike, *, offsets: dict[str, int] | None = None, **fields: Any) -> CheckpointInfo:
        """Save the model, the join buffer and the counters atomically to ``path`` (see checkpoint.py)."""
        return write_checkpoint(
            path,
            self.model,
            offsets=offsets,
            join=self.join.to_bytes() if len(self.join) or self.join.total_evicted else None,
            model_spec=self.spec,
            counters=self.stats(),
            **fields,
        )

    def restore(self, path: str | os.PathLike) -> dict[str, Any]:
        """Load a checkpoint written by :meth:`checkpoint`; returns its header (offsets included)."""
        ckpt = read_checkpoint(path)
        self.model = ckpt.model
        self.decoder.model = ckpt.model
        self._fast = self._fast_path()
        self.join = JoinBuffer(self.join.capacity, self.join.ttl_ms)
        if ckpt.join is not None:
            self.join.load_bytes(ckpt.join)
        counters = ckpt.header.get("counters", {})
        for key in self.counters:
            self.counters[key] = int(counters.get(key, 0))
        self.bad_kinds = collections.Counter(counters.get("dead_letters_by_kind", {}))
        return ckpt.header

    def stats(self) -> dict[str, Any]:
        """Counters: messages, instances, predicted, learned, pending (awaiting labels), evicted, bad."""
        return {
            **self.counters,
            "pending": len(self.join),
            "evicted": self.join.total_evicted,
            "evicted_by_side": dict(self.join.evicted),
            "dead_letters": sum(self.bad_kinds.values()),
            "dead_letters_by_kind": dict(self.bad_kinds),
        }

    def metrics(self) -> dict[str, Any]:
        """Cumulative and windowed prequential metrics of the instances whose labels are known."""
        self.flush_metrics()
        return {"n": self.cumulative.n, "cumulative": self.cumulative.get(), "windowed": self.windowed.get()}

    # ------------------------------------------------------------------------ core
    def record_bad(self, error: BadMessage) -> None:
        self.bad_kinds[error.kind] += 1
        self.errors.add(error)

    def on_features(self, instances: list[Instance], ts: int,
                    emit: Callable[[list[Prediction]], None] | None = None) -> list[Prediction]:
        """Predict every instance, hand the predictions to ``emit``, then learn the labelled ones."""
        out: list[Prediction] = []
        step = self.micro_batch
        for start in range(0, len(instances), step):
            chunk = instances[start : start + step]
            t0 = time.perf_counter()
            preds = self._predict(chunk)
            self.model_seconds += time.perf_counter() - t0
            if emit is not None:
                emit(preds)
            out.extend(preds)
            self._learn_chunk(chunk, preds, ts)
        self.counters["instances"] += len(instances)
        self.counters["predicted"] += len(instances)
        return out

    def on_labels(self, instances: list[Instance], ts: int) -> int:
        """Join labels to held instances; learn the joined ones. Returns how many were learned."""
        learned = 0
        model = self.model
        clock = time.perf_counter
        for inst in instances:
            joined = self.join.add_labels(inst.id, inst.y, ts)
            if joined is None:
                continue
            _, x, pred, proba, y = joined
            self._scored.append((y, pred, proba))
            t0 = clock()
            model.learn_row(x, y)
            self.model_seconds += clock() - t0
            learned += 1
        self.counters["learned"] += learned
        if self.join.features or self.join.labels:
            self.join.expire()
        return learned

    def _learn_chunk(self, chunk: list[Instance], preds: list[Prediction], ts: int) -> None:
        model = self.model
        clock = time.perf_counter
        learned = 0
        t0 = clock()
        self.join.saw_features(ts)
        for inst, (_, pred, proba) in zip(chunk, preds):
            y = inst.y
            if y is None:
                y = self.join.add_features(inst.id, inst.x, pred, proba, ts)
                if y is None:
                    continue
            self._scored.append((y, pred, proba))
            model.learn_row(inst.x, y)
            learned += 1
        self.model_seconds += clock() - t0
        self.counters["learned"] += learned
        if self.join.features or self.join.labels:
            self.join.expire()

    def _fast_path(self) -> str:
        from streamml.learners import BRLogisticRegression, MajorityLabelset

        if type(self.model) is MajorityLabelset:
            return "constant"  # its prediction ignores the features
        if type(self.model) is BRLogisticRegression:
            return "matrix"
        return ""

    def _predict(self, chunk: list[Instance]) -> list[Prediction]:
        model = self.model
        if len(chunk) > 1 and self._fast == "constant":
            for inst in chunk:
                model._fit_spaces(inst.x, None)
            pred, proba = model.predict_row_and_proba(chunk[0].x)
            return [(inst.id, pred, proba) for inst in chunk]
        if (len(chunk) > 1 and self._fast == "matrix" and model.n_labels
                and all(not isinstance(i.x, SparseRow) and i.x.shape[0] == chunk[0].x.shape[0] for i in chunk)):
            P = model.predict_proba_many(np.vstack([i.x for i in chunk]))
            return [(inst.id, p > 0.5, p) for inst, p in zip(chunk, P)]
        return [(inst.id, *model.predict_row_and_proba(inst.x)) for inst in chunk]

    def flush_metrics(self) -> None:
        """Count the instances scored since the last flush (batched: one NumPy update per block)."""
        if not self._scored:
            return
        scored, self._scored = self._scored, []
        L = max(max(t.shape[0], p.shape[0]) for t, p, _ in scored)
        n = len(scored)
        T = np.zeros((n, L), dtype=bool)
        P = np.zeros((n, L), dtype=bool)
        S = np.zeros((n, L))
        for i, (t, p, s) in enumerate(scored):
            T[i, : t.shape[0]] = t
            P[i, : p.shape[0]] = p
            S[i, : s.shape[0]] = s
        self.cumulative.update_many(T, P, S)
        self.windowed.update_many(T, P, S)

    # ------------------------------------------------------------------------ output
    def prediction_dict(self, ident: Hashable, pred: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
        names = self.model.labels_
        return {
            "id": ident,
            "labels": [names[j] for j in np.flatnonzero(pred).tolist()],
            "scores": dict(zip(names, proba.tolist())),
        }

    def encode(self, predictions: list[Prediction], *, arrow: bool) -> list[bytes]:
        """Prediction messages for ``predictions`` (see :func:`connectors.kafka.messages.encode_predictions`)."""
        if not predictions:
            return []
        ids, preds, probas = zip(*predictions)
        return encode_predictions(ids, preds, probas, self.model.labels_, arrow=arrow)
