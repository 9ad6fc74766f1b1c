"""The message formats of the Kafka connectors: decoding instances, encoding instances and predictions.

Two formats share a topic; each message says which it is by its first bytes.

**JSON**, one instance per message (the structured layout of :class:`connectors.tabular.JsonlStream`)::

    {"id": 7, "features": <features>, "labels": ["l1", "l3"] | {"l1": true, "l2": false}}

``<features>`` is a dict ``{name: value}``, a dense list ``[v0, v1, ...]`` or a sparse
``{"indices": [...], "values": [...]}``. ``labels`` may be left out (or ``null``) when the labels come
later on their own topic; a message of a *labels topic* is ``{"id": 7, "labels": [...]}``. ``id`` is a
string or an integer; it keys the prediction and joins late labels, so it is required when the labels
are not in the message.

**Arrow**, many instances per message: the bytes of one Arrow IPC *stream* (it starts with the
continuation marker ``0xFFFFFFFF``) holding record batches with the columns

* ``id``: int64 or string;
* ``features``: ``fixed_size_list<float64>[d]`` or ``list<float64>`` (dense rows), or the two columns
  ``indices`` (``list<int32>``) and ``values`` (``list<float64>``) for sparse rows;
* ``labels`` (optional): ``list<int32>`` of positive label indices into the label names stored as a
  JSON list in the schema metadata under ``streamml.labels``, or ``list<string>`` of label names.

Optional metadata ``streamml.features`` (a JSON list) names the dense features.

**Bad input** raises :class:`BadMessage`, whose ``kind`` is one of :data:`BAD_KINDS`: ``oversized``,
``malformed`` (not JSON, not Arrow, or the wrong structure), ``missing-id``, ``missing-features``,
``missing-labels``, ``feature-count`` (a dense row whose length is not the known feature count),
``non-numeric``, ``non-finite`` (NaN or infinite: a missing value is written ``null``), and
``unknown-label`` / ``unknown-feature`` (only in the strict modes). In an Arrow batch a bad row is
reported alone and the other rows go on.

**Spaces.** Decoding maps names to the learner's own feature and label spaces (so they are saved
with it). By default the spaces grow: a label name never seen before is appended (the learner
predicts it irrelevant until it learns it), and so is a new feature name or a sparse index beyond
the known features. With ``strict_labels`` a label outside the known ones is an ``unknown-label``
error instead, and with ``strict_features`` an unknown feature name or index is an error. A dense
list must always have one value per known feature once the count is known (the first dense message
fixes it, unless the learner was bound to a schema first). New names are only added once the whole
message is valid.

**Predictions** are JSON ``{"id": 7, "labels": ["l1"], "scores": {"l1": 0.81, "l2": 0.12}}`` for a
JSON input, and for an Arrow input one Arrow message per input message with the columns ``id``,
``labels`` (``list<int32>`` of predicted label indices) and ``scores``
(``fixed_size_list<float32>[L]``), the label names in the ``streamml.labels`` metadata.

>>> from streamml.learners import MajorityLabelset
>>> decoder = Decoder(MajorityLabelset())
>>> instances, bad = decoder.decode(b'{"id": 1, "features": [0.5, 2], "labels": ["a"]}')
>>> instances[0].id, instances[0].x.tolist(), instances[0].y.tolist(), bad
(1, [0.5, 2.0], [True], [])
>>> decoder.decode(b'{"id": 2, "features": [0.5], "labels": ["a"]}')
Traceback (most recent call last):
...
connectors.kafka.messages.BadMessage: feature-count: dense features have 1 values, the learner has 2 features
>>> batch = encode_arrow([3, 4], np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1, 0], [0, 1]], bool), ["a", "b"])
>>> [(i.id, i.x.tolist(), i.y.tolist()) for i in decoder.decode(batch)[0]]
[(3, [1.0, 2.0], [True, False]), (4, [3.0, 4.0], [False, True])]
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from streamml.base import MultiLabelLearner
from streamml.schema import Row, SparseRow, row_to_dense
from streamml.stream import DataError

__all__ = [
    "BAD_KINDS",
    "ARROW_MARKER",
    "BadMessage",
    "Decoder",
    "Instance",
    "encode_arrow",
    "encode_json",
    "encode_labels_json",
    "encode_predictions",
    "decode_predictions",
]

#: The first bytes of an Arrow IPC stream (the continuation marker of its first message).
ARROW_MARKER = b"\xff\xff\xff\xff"
LABELS_KEY = b"streamml.labels"
FEATURES_KEY = b"streamml.features"
BAD_KINDS = (
    "oversized",
    "malformed",
    "missing-id",
    "missing-features",
    "missing-labels",
    "feature-count",
    "non-numeric",
    "non-finite",
    "unknown-label",
    "unknown-feature",
)
#: Default largest message accepted, in bytes (larger ones go to the dead-letter topic).
DEFAULT_MAX_BYTES = 1 << 20


class BadMessage(DataError):
    """A message (or one row of an Arrow batch) that cannot be learned from; ``kind`` says why."""

    def __init__(self, kind: str, reason: str, row: int | None = None):
        self.kind = kind
        self.row = row
        super().__init__(f"{kind}: {reason}" if row is None else f"{kind}: row {row}: {reason}")
        self.reason = reason


class Instance(NamedTuple):
    """One decoded instance: ``x`` is None on a labels topic, ``y`` None when labels come later."""

    id: Hashable
    x: Row | None
    y: np.ndarray | None


class _NonFinite(ValueError):
    pass


def _reject_constant(token: str) -> float:
    raise _NonFinite(token)


def _check_id(value: Any, row: int | None = None) -> Hashable:
    if value is None or isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    raise BadMessage("malformed", f"id must be a string or an integer, not {value!r}", row)


class Decoder:
    """Turn message bytes (or dicts) into :class:`Instance` objects in the spaces of ``model``.

    Parameters
    ----------
    model
        The learner whose feature and label spaces the messages are read into (they grow, unless
        strict).
    strict_labels
        Reject labels the model does not know (bind the model to a schema, or declare the labels,
        first).
    strict_features
        Reject feature names and sparse indices the model does not know.
    max_bytes
        Larger messages are ``oversized``.
    """

    def __init__(
        self,
        model: MultiLabelLearner,
        *,
        strict_labels: bool = False,
        strict_features: bool = False,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        self.model = model
        self.strict_labels = strict_labels
        self.strict_features = strict_features
        self.max_bytes = int(max_bytes)

    # ------------------------------------------------------------------ entry points
    def decode(self, value: bytes | bytearray | memoryview | dict, *, labels_only: bool = False):
        """``(instances, bad_rows)`` of one message; a bad message as a whole raises :class:`BadMessage`.

        ``bad_rows`` lists the :class:`BadMessage` of each bad row of an Arrow batch (empty for JSON).
        ``labels_only`` reads a message of a labels topic (``id`` and ``labels``; features ignored).
        """
        if isinstance(value, dict):
            return [self._from_obj(value, labels_only)], []
        if value is None:
            raise BadMessage("malformed", "empty message (null value)")
        n = len(value)
        if n > self.max_bytes:
            raise BadMessage("oversized", f"{n} bytes, more than the {self.max_bytes} accepted")
        if bytes(value[:4]) == ARROW_MARKER:
            return self._from_arrow(value, labels_only)
        try:
            obj = json.loads(value, parse_constant=_reject_constant)
        except _NonFinite as e:
            raise BadMessage("non-finite", f"non-finite literal {e.args[0]} (write a missing value as null)") from None
        except (ValueError, UnicodeDecodeError) as e:
            raise BadMessage("malformed", f"neither JSON nor Arrow IPC: {e}") from None
        if not isinstance(obj, dict):
            raise BadMessage("malformed", f"expected a JSON object, found {type(obj).__name__}")
        return [self._from_obj(obj, labels_only)], []

    # ------------------------------------------------------------------ JSON
    def _from_obj(self, obj: dict, labels_only: bool) -> Instance:
        for key in obj:
            if key not in ("id", "features", "labels"):
                raise BadMessage("malformed", f"unknown key {key!r} (expected id, features, labels)")
        ident = _check_id(obj.get("id"))
        labs = obj.get("labels")
        model = self.model
        if labels_only:
            if ident is None:
                raise BadMessage("missing-id", "a labels message needs an id")
            if labs is None:
                raise BadMessage("missing-labels", "a labels message needs labels")
            pos, new_labels = self._labels(labs)
            self._grow(None, new_labels)
            return Instance(ident, None, self._y(pos))
        feats = obj.get("features")
        if feats is None:
            raise BadMessage("missing-features", "the message has no features")
        if labs is None and ident is None:
            raise BadMessage("missing-id", "a message without labels needs an id to join its labels to")
        d = model.n_features_
        new_features: list[Hashable] = []
        x: Row
        if isinstance(feats, list):
            x = self._dense(feats, d)
            if not d:  # the first dense row fixes the feature count
                new_features = list(range(len(feats)))
        elif isinstance(feats, dict) and "indices" in feats:
            if set(feats) != {"indices", "values"} or not isinstance(feats["indices"], list) or not isinstance(
                feats["values"], list
            ):
                raise BadMessage("malformed", "sparse features need exactly the lists 'indices' and 'values'")
            indices, values = feats["indices"], feats["values"]
            if len(indices) != len(values):
                raise BadMessage("malformed", f"sparse features have {len(indices)} indices but {len(values)} values")
            for i in indices:
                if isinstance(i, bool) or not isinstance(i, int) or i < 0:
                    raise BadMessage("malformed", f"sparse feature index {i!r} is not a non-negative integer")
            vals = self._numbers(values, indices)
            size = max(d, max(indices, default=-1) + 1)
            if size > d and self.strict_features:
                raise BadMessage("unknown-feature", f"sparse index {size - 1} is beyond the {d} known features")
            x = SparseRow.from_pairs(indices, vals, size)
        elif isinstance(feats, dict):
            index = model._feature_index
            pos = []
            for key in feats:
                j = index.get(key)
                if j is None:
                    if self.strict_features:
                        raise BadMessage("unknown-feature", f"feature {key!r} is not known")
                    j = d + len(new_features)
                    new_features.append(key)
                pos.append(j)
            x = np.full(d + len(new_features), np.nan)
            vals = self._numbers(list(feats.values()), list(feats))
            x[pos] = vals
        else:
            raise BadMessage("malformed", f"features must be a list or an object, not {type(feats).__name__}")
        pos_labels, new_labels = self._labels(labs) if labs is not None else (None, [])
        self._grow(new_features, new_labels)
        return Instance(ident, x, None if pos_labels is None else self._y(pos_labels))

    def _dense(self, feats: list, d: int) -> np.ndarray:
        if d and len(feats) != d:
            raise BadMessage("feature-count", f"dense features have {len(feats)} values, the learner has {d} features")
        for v in feats:
            t = type(v)
            if t is not float and t is not int:
                return self._numbers(feats, range(len(feats)))
        try:
            x = np.array(feats, dtype=np.float64)
        except OverflowError:
            return self._numbers(feats, range(len(feats)))
        if not np.isfinite(x).all():  # an integer too large for a float, or 1e999
            return self._numbers(feats, range(len(feats)))
        return x

    @staticmethod
    def _numbers(values: Sequence, names) -> np.ndarray:
        out = np.empty(len(values), dtype=np.float64)
        for k, (name, v) in enumerate(zip(names, values)):
            if v is None:
                out[k] = math.nan
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise BadMessage("non-numeric", f"feature {name!r} has non-numeric value {v!r}")
            try:
                f = float(v)
            except OverflowError:
                f = math.inf
            if not math.isfinite(f):
                raise BadMessage("non-finite", f"feature {name!r} has non-finite value {v!r}")
            out[k] = f
        return out

    def _labels(self, labs: Any) -> tuple[list[int], list[Hashable]]:
        """Positions of the positive labels (new ones numbered after the known) and the new names."""
        index = self.model._label_index
        L = len(index)
        new: list[Hashable] = []
        if isinstance(labs, dict):
            names = []
            for name, v in labs.items():
                if v is True or v is False or (type(v) is int and v in (0, 1)):
                    if name not in index and name not in new:
                        if self.strict_labels:
                            raise BadMessage("unknown-label", f"label {name!r} is not in the fixed label space")
                        new.append(name)
                    if v:
                        names.append(name)
                else:
                    raise BadMessage("malformed", f"label {name!r} has value {v!r}; expected true/false or 0/1")
        elif isinstance(labs, list):
            names = labs
            for name in labs:
                if isinstance(name, bool) or not isinstance(name, (str, int)):
                    raise BadMessage("malformed", f"label name {name!r} is not a string")
                if name not in index and name not in new:
                    if self.strict_labels:
                        raise BadMessage("unknown-label", f"label {name!r} is not in the fixed label space")
                    new.append(name)
        else:
            raise BadMessage("malformed", f"labels must be a list of names or an object, not {type(labs).__name__}")
        pos = []
        for name in names:
            j = index.get(name)
            pos.append(j if j is not None else L + new.index(name))
        return pos, new

    def _grow(self, new_features: list[Hashable] | None, new_labels: list[Hashable]) -> None:
        if new_features:
            self.model._add_features(new_features)
        if new_labels:
            self.model._add_labels(new_labels)

    def _y(self, pos: list[int]) -> np.ndarray:
        y = np.zeros(self.model.n_labels, dtype=bool)
        if pos:
            y[pos] = True
        return y

    # ------------------------------------------------------------------ Arrow
    def _from_arrow(self, value, labels_only: bool):
        try:
            reader = pa.ipc.open_stream(pa.py_buffer(bytes(value) if isinstance(value, memoryview) else value))
            table = reader.read_all()
        except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as e:
            raise BadMessage("malformed", f"not a readable Arrow IPC stream: {e}") from None
        names = table.schema.names
        meta = table.schema.metadata or {}
        if "id" not in names:
            raise BadMessage("missing-id", "an Arrow batch needs an 'id' column")
        n = table.num_rows
        table = table.combine_chunks()
        try:
            ids = table.column("id").to_pylist()
        except Exception as e:  # noqa: BLE001 - any unreadable column
            raise BadMessage("malformed", f"unreadable id column: {e}") from None
        bad: dict[int, BadMessage] = {}
        for i, v in enumerate(ids):
            if v is None:
                bad[i] = BadMessage("missing-id", "null id", i)
            elif isinstance(v, bool) or not isinstance(v, (int, str)):
                bad[i] = BadMessage("malformed", f"id must be a string or an integer, not {v!r}", i)

        # labels
        Y = None
        new_labels: list[Hashable] = []
        if "labels" in names:
            Y, new_labels = self._arrow_labels(table.column("labels").chunk(0) if n else None, meta, n, bad)
        elif labels_only:
            raise BadMessage("missing-labels", "a labels batch needs a 'labels' column")

        rows: list[Row | None] = [None] * n
        new_features: list[Hashable] = []
        if not labels_only:
            d = self.model.n_features_
            if "features" in names:
                rows, new_features = self._arrow_dense(table.column("features"), meta, n, d, bad)
            elif "indices" in names and "values" in names:
                rows = self._arrow_sparse(table.column("indices"), table.column("values"), n, d, bad)
            else:
                raise BadMessage("missing-features", "an Arrow batch needs a 'features' column or 'indices' and 'values'")
            if Y is None:
                for i, v in enumerate(ids):
                    if v is None and i not in bad:
                        bad[i] = BadMessage("missing-id", "a row without labels needs an id", i)
        if len(bad) < n:
            self._grow(new_features, new_labels)
        L = self.model.n_labels
        instances = []
        for i in range(n):
            if i in bad:
                continue
            y = None
            if Y is not None:
                y = Y[i] if Y.shape[1] == L else _pad(Y[i], L)
            instances.append(Instance(ids[i], rows[i], y))
        return instances, [bad[i] for i in sorted(bad)]

    def _arrow_labels(self, col, meta: dict, n: int, bad: dict) -> tuple[np.ndarray, list[Hashable]]:
        index = self.model._label_index
        L = len(index)
        if col is None:
            return np.zeros((0, L), dtype=bool), []
        if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)):
            raise BadMessage("malformed", f"the labels column must be a list, not {col.type}")
        vt = col.type.value_type
        offsets = col.offsets.to_numpy()
        flat = col.values
        if pa.types.is_integer(vt):
            try:
                names = json.loads(meta[LABELS_KEY])
                if not isinstance(names, list):
                    raise ValueError("not a list")
            except (KeyError, ValueError) as e:
                raise BadMessage("malformed", f"integer labels need the {LABELS_KEY.decode()} metadata ({e})") from None
            codes = flat.to_numpy(zero_copy_only=False)
            if flat.null_count or (codes.size and (codes.min() < 0 or codes.max() >= len(names))):
                raise BadMessage("malformed", "label indices outside the metadata's label names")
        elif pa.types.is_string(vt) or pa.types.is_large_string(vt):
            values = flat.to_pylist()
            names = list(dict.fromkeys(values))
            code_of = {name: k for k, name in enumerate(names)}
            codes = np.array([code_of[v] for v in values], dtype=np.int64)
        else:
            raise BadMessage("malformed", f"labels must be list<int32> or list<string>, not {col.type}")
        used = np.unique(codes)
        row_of = np.repeat(np.arange(n), np.diff(offsets))
        new: list[Hashable] = []
        mapping = np.empty(len(names), dtype=np.int64)
        for k in used.tolist():
            name = names[k]
            if name is None:
                raise BadMessage("malformed", "null label name")
            j = index.get(name)
            if j is None:
                if self.strict_labels:
                    for r in np.unique(row_of[codes == k]).tolist():
                        bad.setdefault(r, BadMessage("unknown-label", f"label {name!r} is not in the fixed label space", r))
                    mapping[k] = -1
                    continue
                j = L + len(new)
                new.append(name)
            mapping[k] = j
        Y = np.zeros((n, L + len(new)), dtype=bool)
        if codes.size:
            cols = mapping[codes]
            ok = cols >= 0
            Y[row_of[ok], cols[ok]] = True
        nulls = col.is_null().to_numpy(zero_copy_only=False)
        for r in np.flatnonzero(nulls).tolist():
            bad.setdefault(r, BadMessage("missing-labels", "null labels", r))
        return Y, new

    def _arrow_dense(self, col, meta: dict, n: int, d: int, bad: dict):
        col = col.chunk(0) if col.num_chunks else pa.array([], pa.list_(pa.float64()))
        t = col.type
        if pa.types.is_fixed_size_list(t):
            width = t.list_size
            lengths = np.full(n, width)
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            lengths = np.diff(col.offsets.to_numpy())
            width = int(lengths[0]) if n else 0
        else:
            raise BadMessage("malformed", f"the features column must be a list of numbers, not {t}")
        if not (pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type)):
            raise BadMessage("non-numeric", f"features of type {t.value_type} are not numbers")
        expected = d or width
        row_nulls = col.is_null().to_numpy(zero_copy_only=False)
        for r in np.flatnonzero((lengths != expected) | row_nulls).tolist():
            bad[r] = BadMessage("feature-count", f"{int(lengths[r])} values, the learner has {expected} features", r)
        flat = col.flatten() if not pa.types.is_fixed_size_list(t) else col.values
        if pa.types.is_fixed_size_list(t) and col.offset:
            flat = flat.slice(col.offset * width, n * width)
        vals = flat.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        nulls = flat.is_null().to_numpy(zero_copy_only=False) if flat.null_count else None
        new_features: list[Hashable] = list(range(width)) if not d else []
        if not d and width and FEATURES_KEY in meta:
            try:
                fnames = json.loads(meta[FEATURES_KEY])
                if isinstance(fnames, list) and len(fnames) == width and len(set(map(str, fnames))) == width:
                    new_features = [str(f) for f in fnames]
            except ValueError:
                pass
        rows: list[Row | None] = [None] * n
        if pa.types.is_fixed_size_list(t) and not bad:
            X = vals.reshape(n, width)
            finite = np.isfinite(X)
            if nulls is not None:
                finite |= nulls.reshape(n, width)
            for r in np.flatnonzero(~finite.all(axis=1)).tolist():
                bad[r] = BadMessage("non-finite", f"feature {int(np.argmin(finite[r]))} is NaN or infinite", r)
            rows = list(X)
            return rows, new_features
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        for r in range(n):
            if r in bad:
                continue
            x = vals[offsets[r] : offsets[r + 1]]
            finite = np.isfinite(x)
            if nulls is not None:
                finite |= nulls[offsets[r] : offsets[r + 1]]
            if not finite.all():
                bad[r] = BadMessage("non-finite", f"feature {int(np.argmin(finite))} is NaN or infinite", r)
                continue
            rows[r] = x
        return rows, new_features

    def _arrow_sparse(self, icol, vcol, n: int, d: int, bad: dict) -> list[Row | None]:
        icol, vcol = icol.chunk(0), vcol.chunk(0)
        io, vo = np.diff(icol.offsets.to_numpy()), np.diff(vcol.offsets.to_numpy())
        idx = icol.flatten().to_numpy(zero_copy_only=False)
        val = vcol.flatten().to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        starts = np.concatenate([[0], np.cumsum(io)])
        rows: list[Row | None] = [None] * n
        for r in range(n):
            if io[r] != vo[r]:
                bad[r] = BadMessage("malformed", f"{io[r]} indices but {vo[r]} values", r)
                continue
            i, v = idx[starts[r] : starts[r + 1]], val[starts[r] : starts[r + 1]]
            if i.size and i.min() < 0:
                bad[r] = BadMessage("malformed", "negative sparse index", r)
                continue
            if not np.isfinite(v).all():
                bad[r] = BadMessage("non-finite", "a sparse value is NaN or infinite", r)
                continue
            size = max(d, int(i.max()) + 1 if i.size else 0)
            if size > d and self.strict_features:
                bad[r] = BadMessage("unknown-feature", f"sparse index {size - 1} is beyond the {d} known features", r)
                continue
            rows[r] = SparseRow.from_pairs(i, v, size)
        return rows


def _pad(y: np.ndarray, L: int) -> np.ndarray:
    out = np.zeros(L, dtype=bool)
    out[: y.shape[0]] = y[:L]
    return out


# ---------------------------------------------------------------------------------------- encoders
def _json_value(v: float) -> float | None:
    return None if v != v else v


def encode_json(ident: Hashable, x: Row | None, y: np.ndarray | None, label_names: Sequence[str] | None = None,
                *, sparse: bool | None = None) -> bytes:
    """One JSON instance message: dense list features (or sparse when ``sparse`` / a :class:`SparseRow`).

    ``y`` (boolean, indexed like ``label_names``) becomes the list of positive label names; with
    ``y=None`` the message carries no labels (they go to a labels topic).

    >>> encode_json(3, np.array([0.5, np.nan]), np.array([False, True]), ["a", "b"])
    b'{"id":3,"features":[0.5,null],"labels":["b"]}'
    """
    obj: dict[str, Any] = {"id": ident}
    if x is not None:
        if isinstance(x, SparseRow) or sparse:
            row = x if isinstance(x, SparseRow) else SparseRow.from_dense(x)
            obj["features"] = {"indices": row.indices.tolist(), "values": [_json_value(v) for v in row.values.tolist()]}
        else:
            values = row_to_dense(x).tolist()
            obj["features"] = [_json_value(v) for v in values] if np.isnan(x).any() else values
    if y is not None:
        names = label_names if label_names is not None else list(range(len(y)))
        obj["labels"] = [names[j] for j in np.flatnonzero(y).tolist()]
    return json.dumps(obj, separators=(",", ":")).encode()


def encode_labels_json(ident: Hashable, y: np.ndarray, label_names: Sequence[str]) -> bytes:
    """A labels-topic message ``{"id": ..., "labels": [...]}``."""
    return encode_json(ident, None, y, label_names)


def _ipc_bytes(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _label_lists(Y: np.ndarray) -> pa.Array:
    Y = np.asarray(Y, dtype=bool)
    rows, cols = np.nonzero(Y)
    offsets = np.zeros(Y.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=Y.shape[0]), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(cols.astype(np.int32)))


def encode_arrow(ids: Sequence[Hashable], X: np.ndarray | None, Y: np.ndarray | None,
                 label_names: Sequence[str] | None = None, feature_names: Sequence[str] | None = None) -> bytes:
    """One Arrow IPC message holding a batch of dense instances (``X`` is ``(n, d)``, ``Y`` ``(n, L)``).

    ``X=None`` makes a labels-only batch, ``Y=None`` a batch without labels. NaN features are written
    as nulls (missing values).
    """
    n = len(ids)
    ids_arr = pa.array(list(ids), type=pa.string() if n and isinstance(ids[0], str) else pa.int64())
    columns, names = [ids_arr], ["id"]
    meta: dict[bytes, bytes] = {}
    if X is not None:
        X = np.ascontiguousarray(X, dtype=np.float64)
        flat = X.reshape(-1)
        mask = np.isnan(flat)
        values = pa.array(flat, mask=mask if mask.any() else None)
        columns.append(pa.FixedSizeListArray.from_arrays(values, X.shape[1]))
        names.append("features")
        if feature_names is not None:
            meta[FEATURES_KEY] = json.dumps(list(feature_names)).encode()
    if Y is not None:
        columns.append(_label_lists(Y))
        names.append("labels")
        meta[LABELS_KEY] = json.dumps(list(label_names) if label_names is not None else list(range(Y.shape[1]))).encode()
    batch = pa.RecordBatch.from_arrays(columns, names=names).replace_schema_metadata(meta or None)
    return _ipc_bytes(batch)


def encode_predictions(ids: Sequence[Hashable], preds: Sequence[np.ndarray], probas: Sequence[np.ndarray],
                       label_names: Sequence[Hashable], *, arrow: bool) -> list[bytes]:
    """Prediction messages: one JSON message per instance, or one Arrow message for them all."""
    if not arrow:  # formatted by hand: json.dumps of the dict costs as much as the learner
        out = []
        values, keys = _json_names(tuple(label_names))
        for ident, p, s in zip(ids, preds, probas):
            labs = ",".join([values[j] for j in np.flatnonzero(p).tolist()])
            scores = ",".join([k + _json_float(v) for k, v in zip(keys, s.tolist())])
            out.append(f'{{"id":{json.dumps(ident, default=str)},"labels":[{labs}],"scores":{{{scores}}}}}'.encode())
        return out
    L = len(label_names)
    n = len(ids)
    P = np.zeros((n, L), dtype=bool)
    S = np.zeros((n, L), dtype=np.float32)
    for i, (p, s) in enumerate(zip(preds, probas)):
        P[i, : p.shape[0]] = p
        S[i, : s.shape[0]] = s
    ids_arr = pa.array(list(ids), type=pa.string() if n and isinstance(ids[0], str) else pa.int64())
    if L:
        scores = pa.FixedSizeListArray.from_arrays(pa.array(S.reshape(-1)), L)
    else:  # no label known yet: empty score lists
        scores = pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.float32()))
    batch = pa.RecordBatch.from_arrays([ids_arr, _label_lists(P), scores], names=["id", "labels", "scores"])
    batch = batch.replace_schema_metadata({LABELS_KEY: json.dumps([str(v) for v in label_names]).encode()})
    return [_ipc_bytes(batch)]


@functools.lru_cache(maxsize=64)
def _json_names(names: tuple) -> tuple[list[str], list[str]]:
    values = [json.dumps(n, default=str) for n in names]
    keys = [json.dumps(str(n)) + ":" for n in names]
    return values, keys


def _json_float(v: float) -> str:
    return repr(v) if math.isfinite(v) else "null"


def decode_predictions(value: bytes) -> list[dict[str, Any]]:
    """Prediction messages back to ``[{"id", "labels", "scores"}]`` (JSON or Arrow).

    >>> msg = encode_predictions([5], [np.array([True, False])], [np.array([0.75, 0.25])], ["a", "b"], arrow=True)
    >>> decode_predictions(msg[0])
    [{'id': 5, 'labels': ['a'], 'scores': {'a': 0.75, 'b': 0.25}}]
    """
    if bytes(value[:4]) != ARROW_MARKER:
        return [json.loads(value)]
    table = pa.ipc.open_stream(value).read_all()
    names = json.loads(table.schema.metadata[LABELS_KEY])
    out = []
    for ident, labs, scores in zip(table.column("id").to_pylist(), table.column("labels").to_pylist(),
                                   table.column("scores").to_pylist()):
        out.append({"id": ident, "labels": [names[j] for j in labs], "scores": dict(zip(names, scores))})
    return out
