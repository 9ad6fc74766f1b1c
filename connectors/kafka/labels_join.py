"""Joining late labels to their instances by id, in bounded memory with a time-to-live.

When the labels of an instance arrive on their own topic, the instance is predicted when its features
arrive and learned only when its labels do. :class:`JoinBuffer` holds both sides until they meet:

* features waiting for labels (with the prediction already made, so that the metrics count it when
  the truth arrives);
* labels that arrived before their features.

Each side holds at most ``capacity`` entries (the oldest is evicted first) and an entry lives at most
``ttl_ms`` milliseconds. Time is *event time*, the Kafka record timestamps, measured on the *other*
side's stream: held features are evicted once labels stamped ``ttl_ms`` later than them have
arrived (their own labels are then overdue), and held labels once such features have arrived. So a
worker that reads one topic far ahead of the other, or catches up after a pause, does not evict
what the other topic still holds, and a replay evicts the same entries. Every eviction is counted in
:attr:`JoinBuffer.evicted` (by side), and the buffer is saved with the checkpoint, so an instance
whose features were consumed before a checkpoint is still learned when its labels come after a
restart.

>>> import numpy as np
>>> buf = JoinBuffer(capacity=2, ttl_ms=1000)
>>> buf.add_features("a", np.zeros(2), np.zeros(1, bool), np.zeros(1), ts=0)
>>> buf.add_labels("a", np.array([True]), ts=10)[0]      # the features were waiting
'a'
>>> buf.add_labels("b", np.array([False]), ts=20) is None  # labels first: they wait
True
>>> buf.add_features("c", np.zeros(2), np.zeros(1, bool), np.zeros(1), ts=5000)  # features time moves on
>>> buf.expire(), dict(buf.evicted), list(buf.features)
(1, {'features': 0, 'labels': 1}, ['c'])
"""

from __future__ import annotations

import collections
import io
import json
from collections.abc import Hashable
from typing import Any

import numpy as np

from streamml.schema import Row, SparseRow

__all__ = ["JoinBuffer"]


class JoinBuffer:
    """Pending features and early labels, joined by id (see the module docstring)."""

    def __init__(self, capacity: int = 100_000, ttl_ms: float = 3_600_000):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = int(capacity)
        self.ttl_ms = float(ttl_ms)
        # id -> (x, pred, proba, ts)
        self.features: collections.OrderedDict[Hashable, tuple[Row, np.ndarray, np.ndarray, int]] = collections.OrderedDict()
        # id -> (y, ts)
        self.labels: collections.OrderedDict[Hashable, tuple[np.ndarray, int]] = collections.OrderedDict()
        self.evicted = {"features": 0, "labels": 0}
        self.features_time = 0  # the latest timestamp seen on each side
        self.labels_time = 0

    def __len__(self) -> int:
        return len(self.features) + len(self.labels)

    @property
    def total_evicted(self) -> int:
        return self.evicted["features"] + self.evicted["labels"]

    def saw_features(self, ts: int) -> None:
        """Advance the features side's event time (a message whose labels were inline)."""
        if ts > self.features_time:
            self.features_time = ts

    def add_features(self, ident: Hashable, x: Row, pred: np.ndarray, proba: np.ndarray, ts: int):
        """Hold an instance until its labels come; returns the labels ``y`` if they were waiting."""
        self.features_time = max(self.features_time, ts)
        waiting = self.labels.pop(ident, None)
        if waiting is not None:
            return waiting[0]
        self.features.pop(ident, None)  # a repeated id replaces the older instance
        self.features[ident] = (x, pred, proba, ts)
        if len(self.features) > self.capacity:
            self.features.popitem(last=False)
            self.evicted["features"] += 1
        return None

    def add_labels(self, ident: Hashable, y: np.ndarray, ts: int):
        """``(ident, x, pred, proba, y)`` when the features were waiting, else hold ``y`` and return None."""
        self.labels_time = max(self.labels_time, ts)
        waiting = self.features.pop(ident, None)
        if waiting is not None:
            x, pred, proba, _ = waiting
            return ident, x, pred, proba, y
        self.labels.pop(ident, None)
        self.labels[ident] = (y, ts)
        if len(self.labels) > self.capacity:
            self.labels.popitem(last=False)
            self.evicted["labels"] += 1
        return None

    def expire(self) -> int:
        """Evict the entries the other side's event time has left ``ttl_ms`` behind; returns how many."""
        count = 0
        for side, entries, clock in (("features", self.features, self.labels_time),
                                     ("labels", self.labels, self.features_time)):
            limit = clock - self.ttl_ms
            while entries:
                key = next(iter(entries))
                if entries[key][-1] >= limit:
                    break
                entries.popitem(last=False)
                self.evicted[side] += 1
                count += 1
        return count

    # ----------------------------------------------------------------------- persistence
    def to_bytes(self) -> bytes:
        """The buffer as an ``.npz`` archive of plain arrays (read back without pickle)."""
        meta: dict[str, Any] = {"features_time": self.features_time, "labels_time": self.labels_time, "evicted": self.evicted, "feature_ids": list(self.features),
                                "label_ids": list(self.labels), "feature_rows": []}
        arrays: dict[str, np.ndarray] = {}
        values, indices, kinds = [], [], []
        preds, probas, ts = [], [], []
        for x, pred, proba, t in self.features.values():
            if isinstance(x, SparseRow):
                kinds.append([1, x.size, x.indices.shape[0]])
                values.append(x.values)
                indices.append(x.indices)
            else:
                kinds.append([0, x.shape[0], x.shape[0]])
                values.append(np.asarray(x, dtype=np.float64))
            preds.append(pred.astype(bool))
            probas.append(proba.astype(np.float64))
            ts.append(t)
        arrays["f_kinds"] = np.asarray(kinds, dtype=np.int64).reshape(-1, 3)
        arrays["f_values"] = np.concatenate(values) if values else np.zeros(0)
        arrays["f_indices"] = np.concatenate(indices).astype(np.int32) if indices else np.zeros(0, np.int32)
        arrays["f_plen"] = np.asarray([p.shape[0] for p in preds], dtype=np.int64)
        arrays["f_pred"] = np.concatenate(preds) if preds else np.zeros(0, bool)
        arrays["f_proba"] = np.concatenate(probas) if probas else np.zeros(0)
        arrays["f_ts"] = np.asarray(ts, dtype=np.int64)
        ys = [y for y, _ in self.labels.values()]
        arrays["l_len"] = np.asarray([y.shape[0] for y in ys], dtype=np.int64)
        arrays["l_y"] = np.concatenate(ys).astype(bool) if ys else np.zeros(0, bool)
        arrays["l_ts"] = np.asarray([t for _, t in self.labels.values()], dtype=np.int64)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        out = io.BytesIO()
        np.savez(out, **arrays)
        return out.getvalue()

    def load_bytes(self, data: bytes) -> None:
        """Restore what :meth:`to_bytes` wrote (``allow_pickle=False``: plain arrays only)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        meta = json.loads(a["meta"].tobytes())
        self.features_time = meta["features_time"]
        self.labels_time = meta["labels_time"]
        self.evicted = {k: int(v) for k, v in meta["evicted"].items()}
        self.features.clear()
        self.labels.clear()
        vpos = ipos = ppos = 0
        for k, ident in enumerate(meta["feature_ids"]):
            kind, size, nnz = (int(v) for v in a["f_kinds"][k])
            vals = a["f_values"][vpos : vpos + nnz]
            vpos += nnz
            if kind == 1:
                x: Row = SparseRow(a["f_indices"][ipos : ipos + nnz].copy(), vals.copy(), size)
                ipos += nnz
            else:
                x = vals.copy()
            plen = int(a["f_plen"][k])
            pred = a["f_pred"][ppos : ppos + plen].copy()
            proba = a["f_proba"][ppos : ppos + plen].copy()
            ppos += plen
            self.features[_key(ident)] = (x, pred, proba, int(a["f_ts"][k]))
        pos = 0
        for k, ident in enumerate(meta["label_ids"]):
            n = int(a["l_len"][k])
            self.labels[_key(ident)] = (a["l_y"][pos : pos + n].copy(), int(a["l_ts"][k]))
            pos += n


def _key(ident: Any) -> Hashable:
    return tuple(ident) if isinstance(ident, list) else ident
