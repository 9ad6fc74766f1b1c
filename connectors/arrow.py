"""Parquet and Arrow IPC sources and sinks, streamed by record batch.

The readers never load a whole table: :class:`ParquetStream` reads with
``pyarrow.parquet.ParquetFile.iter_batches`` and :class:`ArrowStream` memory-maps an IPC file (or
reads an IPC stream) batch by batch. Each record batch is turned into NumPy arrays once, then rows are
yielded. A batch holds at most ``batch_size`` rows, and fewer for very wide dense tables (at most
about 4 million cells), so memory stays bounded whatever the file.

Two layouts:

* **wide**: one numeric column per feature (integer, float, bool or decimal) and one label column per
  label (bool, or integers/floats that are 0 or 1). Without metadata a label spec
  (:mod:`connectors.labels`) says which columns are labels and every other column is a feature.
* **sparse**: list columns ``indices`` (``list<int32>``), ``values`` (``list<float64>``) and
  ``labels`` (``list<int32>``, the positive label indices); rows are yielded as
  :class:`~streamml.schema.SparseRow`. The schema must be in the file metadata.

The writers store the streamml :class:`~streamml.schema.Schema` as JSON in the Arrow schema metadata
under :data:`SCHEMA_KEY` (``b"streamml.schema"``), so a round trip keeps feature kinds, nominal
values and label names, and reading our own files needs no label spec. Nominal features are stored
as their ordinal codes.

**Missing and non-finite values.** A null feature value, or a NaN, is missing and becomes ``NaN``;
the writers store missing values as nulls. An infinite value is malformed input: a stream with
infinities is almost always a bug upstream (the same policy as the CSV, JSONL and ARFF readers). It
raises :class:`~streamml.stream.DataError` naming the file, with ``line`` set to the record index
(0-based), or with ``on_error="skip"`` the row is skipped and recorded in ``stream.errors``. A
null or non-0/1 label is malformed too.

>>> import tempfile, pathlib
>>> from streamml.stream import ArrayStream
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> source = ArrayStream(np.array([[1.0, np.nan], [0.0, 2.0]]), np.array([[1, 0], [0, 1]]))
>>> write_parquet(source, tmp / "d.parquet")
2
>>> stream = ParquetStream(tmp / "d.parquet")
>>> stream.schema.feature_names, stream.schema.labels, stream.n_instances
(['x0', 'x1'], ['y0', 'y1'], 2)
>>> [(x.tolist(), y.tolist()) for x, y in stream]
[([1.0, nan], [True, False]), ([0.0, 2.0], [False, True])]
>>> write_arrow(source, tmp / "d.arrow", sparse=True)
2
>>> next(iter(ArrowStream(tmp / "d.arrow")))[0]
SparseRow(indices=array([0, 1], dtype=int32), values=array([ 1., nan]), size=2)
"""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from connectors._io import COMPRESSED_SUFFIXES, open_binary
from connectors.labels import LabelSpec, resolve_label_columns
from connectors.tabular import _NominalCheck, _unique_columns, _Writing, default_name
from streamml.schema import Row, Schema, SparseRow, row_to_dense
from streamml.stream import DataError, ErrorReport, Stream, check_on_error

__all__ = ["SCHEMA_KEY", "ParquetStream", "ArrowStream", "write_parquet", "write_arrow"]

#: The Arrow schema metadata key under which the streamml schema is stored as JSON.
SCHEMA_KEY = b"streamml.schema"
#: Upper bound on the cells of one dense batch (rows x features).
MAX_BATCH_CELLS = 1 << 22
_SPARSE_COLUMNS = ("indices", "values", "labels")


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)


def _to_float(col: pa.Array) -> np.ndarray:
    """A numeric Arrow array as float64, nulls as NaN."""
    if not pa.types.is_float64(col.type):
        col = col.cast(pa.float64(), safe=False)
    return col.to_numpy(zero_copy_only=False)


def _rows_per_batch(batch_size: int, width: int) -> int:
    return max(1, min(batch_size, MAX_BATCH_CELLS // max(width, 1)))


class _ArrowSource(Stream):
    """What the Parquet and Arrow readers share: layout detection and batch-to-rows conversion."""

    def __init__(
        self,
        path: str | os.PathLike,
        labels: LabelSpec | None,
        batch_size: int,
        on_error: str,
        name: str | None,
        arrow_schema: pa.Schema,
    ):
        super().__init__()
        self.path = Path(path)
        self.source = str(path)
        self.on_error = check_on_error(on_error)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        self.batch_size = batch_size
        stored = self._stored_schema(arrow_schema)
        types = {f.name: f.type for f in arrow_schema}
        columns = list(arrow_schema.names)
        self.layout: Literal["wide", "sparse"]
        if all(c in types and _is_list(types[c]) for c in _SPARSE_COLUMNS):
            self.layout = "sparse"
            if stored is None:
                raise DataError(
                    "sparse layout (indices/values/labels list columns) needs the streamml schema in the "
                    f"file metadata ({SCHEMA_KEY.decode()}); write the file with write_parquet/write_arrow",
                    self.source,
                )
            self._check_spec(labels, stored)
            schema = stored
            self._columns = list(_SPARSE_COLUMNS)
            for c, ok in (("indices", pa.types.is_integer), ("values", _is_numeric), ("labels", pa.types.is_integer)):
                if not ok(types[c].value_type):
                    raise DataError(f"column {c!r} has type {types[c]}, not a list of numbers", self.source)
        else:
            self.layout = "wide"
            if stored is not None:
                self._check_spec(labels, stored)
                schema = stored
                for c in schema.feature_names + schema.labels:
                    if c not in types:
                        raise DataError(f"column {c!r} of the stored schema is not in the file", self.source)
            else:
                if labels is None:
                    raise DataError(
                        "a file without streamml metadata needs a label spec (labels=...) to tell labels "
                        "from features",
                        self.source,
                    )
                label_cols = resolve_label_columns(labels, columns, self.source)
                label_set = set(label_cols)
                schema = Schema.numeric([c for c in columns if c not in label_set], label_cols)
            for kind, names in (("feature", schema.feature_names), ("label", schema.labels)):
                for c in names:
                    if not _is_numeric(types[c]):
                        raise DataError(
                            f"{kind} column {c!r} has type {types[c]}; {kind}s must be numeric"
                            + (" or bool" if kind == "label" else ""),
                            self.source,
                        )
            self._columns = schema.feature_names + list(schema.labels)
        schema.sparse = self.layout == "sparse"
        if name is not None:
            schema.name = name
        elif not schema.name:
            schema.name = default_name(path)
        self.schema = schema
        self._nominal = _NominalCheck(schema)
        width = 1 if self.layout == "sparse" else len(self._columns)
        self._rows = _rows_per_batch(batch_size, width)

    def _stored_schema(self, arrow_schema: pa.Schema) -> Schema | None:
        meta = arrow_schema.metadata or {}
        if SCHEMA_KEY not in meta:
            return None
        try:
            return Schema.from_dict(json.loads(meta[SCHEMA_KEY]))
        except (ValueError, KeyError, TypeError) as e:
            raise DataError(f"bad {SCHEMA_KEY.decode()} metadata: {e!r}", self.source) from None

    def _check_spec(self, labels: LabelSpec | None, stored: Schema) -> None:
        if labels is None:
            return
        given = resolve_label_columns(labels, stored.feature_names + stored.labels, self.source)
        if set(given) != set(stored.labels):
            raise DataError(
                f"label spec {labels!r} selects {given} but the file's schema has labels {stored.labels}", self.source
            )

    @abc.abstractmethod
    def _batches(self) -> Iterator[pa.RecordBatch]:
        """Record batches of the file, with at least the columns in ``self._columns``."""

    def __iter__(self) -> Iterator[tuple[Row, np.ndarray]]:
        self.errors = ErrorReport()
        base = 0
        convert = self._sparse_rows if self.layout == "sparse" else self._wide_rows
        for big in self._batches():
            for start in range(0, big.num_rows, self._rows):
                batch = big.slice(start, self._rows)
                for k, item in convert(batch, base):
                    if isinstance(item, str):
                        err = DataError(f"{item} (record index {k}, counting from 0)", self.source, k)
                        if self.on_error == "raise":
                            raise err
                        self.errors.add(err)
                    else:
                        yield item
                base += batch.num_rows

    # -- wide layout ----------------------------------------------------------------------------

    def _wide_rows(self, batch: pa.RecordBatch, base: int) -> Iterator[tuple[int, Any]]:
        n, d, L = batch.num_rows, self.schema.n_features, self.schema.n_labels
        X = np.empty((n, d), dtype=np.float64)
        for j, c in enumerate(self.schema.feature_names):
            X[:, j] = _to_float(batch.column(c))
        V = np.empty((n, L), dtype=np.float64)
        for j, c in enumerate(self.schema.labels):
            V[:, j] = _to_float(batch.column(c))
        Y = V == 1
        bad_y = ~(Y | (V == 0))
        bad_x = np.isinf(X)
        bad = bad_x.any(axis=1) | bad_y.any(axis=1)
        if self._nominal:
            bad_nom = self._nominal.bad(X)
            bad |= bad_nom.any(axis=1)
        if not bad.any():
            for i in range(n):
                yield base + i, (X[i], Y[i])
            return
        for i in range(n):
            if not bad[i]:
                yield base + i, (X[i], Y[i])
            elif bad_x[i].any():
                j = int(np.argmax(bad_x[i]))
                yield base + i, f"feature {self.schema.features[j].name!r} is {float(X[i, j])!r}"
            elif bad_y[i].any():
                j = int(np.argmax(bad_y[i]))
                v = "null" if np.isnan(V[i, j]) else repr(float(V[i, j]))
                yield base + i, f"label {self.schema.labels[j]!r} is {v}, not 0/1 or a bool"
            else:
                yield base + i, self._nominal.reason(X[i]) or "bad nominal code"

    # -- sparse layout --------------------------------------------------------------------------

    @staticmethod
    def _lists(col: pa.Array, integer: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(offsets from 0, flat values, null-row mask, null-element mask) of a list column."""
        off = col.offsets.to_numpy().astype(np.int64)
        child = col.values.slice(off[0], off[-1] - off[0])
        off = off - off[0]
        null_rows = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else np.zeros(len(col), bool)
        null_elems = child.is_null().to_numpy(zero_copy_only=False) if child.null_count else np.zeros(len(child), bool)
        if integer:
            flat = child.fill_null(0).cast(pa.int64(), safe=False).to_numpy(zero_copy_only=False)
        else:
            flat = _to_float(child)
        return off, flat, null_rows, null_elems

    def _sparse_rows(self, batch: pa.RecordBatch, base: int) -> Iterator[tuple[int, Any]]:
        n, d, L = batch.num_rows, self.schema.n_features, self.schema.n_labels
        oi, idx, null_i, nulle_i = self._lists(batch.column("indices"), True)
        ov, val, null_v, _ = self._lists(batch.column("values"), False)
        ol, lab, null_l, nulle_l = self._lists(batch.column("labels"), True)
        len_i, len_v, len_l = np.diff(oi), np.diff(ov), np.diff(ol)
        rows_i = np.repeat(np.arange(n), len_i)
        rows_v = np.repeat(np.arange(n), len_v)
        rows_l = np.repeat(np.arange(n), len_l)

        def rows_with(mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return np.bincount(rows[mask], minlength=n) > 0

        bad_index = nulle_i | (idx < 0) | (idx >= d)
        bad_value = np.isinf(val)
        bad_label = nulle_l | (lab < 0) | (lab >= L)
        bad = (
            null_i | null_v | null_l | (len_i != len_v)
            | rows_with(bad_index, rows_i) | rows_with(bad_value, rows_v) | rows_with(bad_label, rows_l)
        )
        check_nominal_per_row = False
        if self._nominal:
            if np.array_equal(oi, ov):  # entries line up: check the codes of the whole batch at once
                safe = np.where(bad_index, 0, idx)
                bad |= rows_with(self._nominal.bad_elements(safe, val) & ~bad_index, rows_i)
            else:
                check_nominal_per_row = True
        # rows whose indices are not strictly increasing are sorted (later duplicates win)
        if idx.size > 1:
            step = np.diff(idx) <= 0
            step &= rows_i[1:] == rows_i[:-1]
            unsorted = rows_with(np.concatenate([[False], step]), rows_i)
        else:
            unsorted = np.zeros(n, bool)
        idx32 = idx.astype(np.int32)
        Y = np.zeros((n, L), dtype=bool)
        ok = ~bad_label
        Y[rows_l[ok], lab[ok]] = True
        for i in range(n):
            if bad[i]:
                yield base + i, self._sparse_reason(
                    i, null_i, null_v, null_l, len_i, len_v, idx[oi[i] : oi[i + 1]], nulle_i[oi[i] : oi[i + 1]],
                    val[ov[i] : ov[i + 1]], lab[ol[i] : ol[i + 1]], nulle_l[ol[i] : ol[i + 1]],
                )
                continue
            ix, vx = idx32[oi[i] : oi[i + 1]], val[ov[i] : ov[i + 1]]
            x = SparseRow.from_pairs(ix, vx, d) if unsorted[i] else SparseRow(ix, vx, d)
            if check_nominal_per_row:
                reason = self._nominal.reason(x)
                if reason:
                    yield base + i, reason
                    continue
            yield base + i, (x, Y[i])

    def _sparse_reason(self, i, null_i, null_v, null_l, len_i, len_v, idx, nulle_i, val, lab, nulle_l) -> str:
        for c, nulls in (("indices", null_i), ("values", null_v), ("labels", null_l)):
            if nulls[i]:
                return f"column {c!r} is null"
        if len_i[i] != len_v[i]:
            return f"{len_i[i]} indices but {len_v[i]} values"
        d, L = self.schema.n_features, self.schema.n_labels
        for k in range(len(idx)):
            if nulle_i[k]:
                return "null feature index"
            if not 0 <= idx[k] < d:
                return f"feature index {int(idx[k])} out of range 0..{d - 1}"
            if np.isinf(val[k]):
                return f"feature {self.schema.features[idx[k]].name!r} is {float(val[k])!r}"
        for k in range(len(lab)):
            if nulle_l[k]:
                return "null label index"
            if not 0 <= lab[k] < L:
                return f"label index {int(lab[k])} out of range 0..{L - 1}"
        return self._nominal.reason(SparseRow.from_pairs(idx, val, d)) or "bad row"


class ParquetStream(_ArrowSource):
    """Stream a Parquet file, reading ``batch_size`` rows at a time.

    Parameters
    ----------
    path
        The file. Parquet compresses internally, so ``.gz``/``.bz2``/``.xz`` wrappers are refused.
    labels
        Label spec for wide files without streamml metadata; with metadata it may be given but must
        select the stored labels.
    batch_size
        Rows per record batch.
    on_error
        ``"raise"`` or ``"skip"``.
    name
        The schema's name; defaults to the stored name, else the file name without suffixes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pq.write_table(pa.table({"a": [1.0, float("inf")], "b": [1, None], "y": [True, False]}), p)
    >>> stream = ParquetStream(p, labels="y", on_error="skip")
    >>> [(x.tolist(), y.tolist()) for x, y in stream]
    [([1.0, 1.0], [True])]
    >>> stream.errors.first  # doctest: +ELLIPSIS
    ["...t.parquet:1: feature 'a' is inf (record index 1, counting from 0)"]

    """

    def __init__(
        self,
        path: str | os.PathLike,
        labels: LabelSpec | None = None,
        *,
        batch_size: int = 4096,
        on_error: str = "raise",
        name: str | None = None,
    ):
        if Path(path).suffix in COMPRESSED_SUFFIXES:
            raise ValueError(f"{path}: Parquet files compress internally and cannot be read through {Path(path).suffix}")
        pf = pq.ParquetFile(path)
        try:
            arrow_schema = pf.schema_arrow
            self.n_instances = pf.metadata.num_rows
        finally:
            pf.close()
        super().__init__(path, labels, batch_size, on_error, name, arrow_schema)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        pf = pq.ParquetFile(self.path)
        try:
            yield from pf.iter_batches(batch_size=self._rows, columns=self._columns)
        finally:
            pf.close()


def _open_ipc(path: Path):
    """Open an Arrow IPC file or stream: ``(reader, closeable)``; the reader is a file reader when it can be."""
    if path.suffix in COMPRESSED_SUFFIXES:
        f = open_binary(path)
        try:
            if f.peek(8)[:6] == b"ARROW1":  # the file format is magic + padding + a stream + footer
                f.read(8)
            return pa.ipc.open_stream(f), f
        except BaseException:
            f.close()
            raise
    source = pa.memory_map(str(path), "r")
    try:
        try:
            return pa.ipc.open_file(source), source
        except pa.ArrowInvalid:
            source.seek(0)
            return pa.ipc.open_stream(source), source
    except BaseException:
        source.close()
        raise


class ArrowStream(_ArrowSource):
    """Stream an Arrow IPC file (Feather v2) or IPC stream; the format is detected.

    Uncompressed files are memory-mapped and read batch by batch; ``.gz``/``.bz2``/``.xz`` files are
    decompressed on the fly (in either format). Batches larger than ``batch_size`` rows are sliced.
    Parameters are those of :class:`ParquetStream`. ``n_instances`` is known for the file format.

    >>> import tempfile, pathlib
    >>> import pyarrow as pa
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.arrows"
    >>> table = pa.table({"y": [1, 0], "a": [0.5, None]})
    >>> with pa.ipc.new_stream(str(p), table.schema) as w:
    ...     w.write_table(table)
    >>> [(x.tolist(), y.tolist()) for x, y in ArrowStream(p, labels=1)]
    [([0.5], [True]), ([nan], [False])]

    """

    def __init__(
        self,
        path: str | os.PathLike,
        labels: LabelSpec | None = None,
        *,
        batch_size: int = 4096,
        on_error: str = "raise",
        name: str | None = None,
    ):
        try:
            reader, closeable = _open_ipc(Path(path))
        except pa.ArrowInvalid as e:
            raise DataError(f"not an Arrow IPC file or stream: {e}", str(path)) from None
        try:
            arrow_schema = reader.schema
            self.format: Literal["file", "stream"] = "file" if hasattr(reader, "get_batch") else "stream"
            self.n_instances = reader.count_rows() if self.format == "file" else None
        finally:
            closeable.close()
        super().__init__(path, labels, batch_size, on_error, name, arrow_schema)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        reader, closeable = _open_ipc(self.path)
        try:
            if hasattr(reader, "get_batch"):
                for i in range(reader.num_record_batches):
                    yield reader.get_batch(i)
            else:
                yield from reader
        finally:
            closeable.close()


# ---------------------------------------------------------------------------------------------
# writers


def _arrow_schema(schema: Schema, sparse: bool, path: str | os.PathLike) -> pa.Schema:
    stored = schema.to_dict()
    stored["sparse"] = sparse
    meta = {SCHEMA_KEY: json.dumps(stored).encode()}
    if sparse:
        fields = [
            pa.field("indices", pa.list_(pa.int32())),
            pa.field("values", pa.list_(pa.float64())),
            pa.field("labels", pa.list_(pa.int32())),
        ]
    else:
        _unique_columns(schema, path)
        fields = [pa.field(c, pa.float64()) for c in schema.feature_names]
        fields += [pa.field(c, pa.bool_()) for c in schema.labels]
    return pa.schema(fields, metadata=meta)


def _dense_batch(xs: list[Row], ys: list[np.ndarray], arrow_schema: pa.Schema, d: int, L: int) -> pa.RecordBatch:
    n = len(xs)
    X = np.stack([row_to_dense(x) for x in xs]) if n else np.empty((0, d))
    XT = np.ascontiguousarray(X.T)  # one contiguous row per column
    missing = np.isnan(XT)
    has_missing = missing.any(axis=1)
    YT = np.ascontiguousarray((np.stack(ys) if n else np.empty((0, L))).astype(bool).T)
    columns = [pa.array(XT[j], type=pa.float64(), mask=missing[j] if has_missing[j] else None) for j in range(d)]
    columns += [pa.array(YT[j], type=pa.bool_()) for j in range(L)]
    return pa.RecordBatch.from_arrays(columns, schema=arrow_schema)


def _sparse_batch(xs: list[Row], ys: list[np.ndarray], arrow_schema: pa.Schema, L: int) -> pa.RecordBatch:
    rows = [x if isinstance(x, SparseRow) else SparseRow.from_dense(x) for x in xs]
    n = len(rows)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum([r.nnz for r in rows], out=offsets[1:])
    flat_i = np.concatenate([r.indices for r in rows]).astype(np.int32) if n else np.empty(0, np.int32)
    flat_v = np.concatenate([r.values for r in rows]).astype(np.float64) if n else np.empty(0)
    missing = np.isnan(flat_v)
    Y = np.stack(ys).astype(bool) if n else np.empty((0, L), bool)
    label_offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(Y.sum(axis=1), out=label_offsets[1:])
    flat_l = np.nonzero(Y)[1].astype(np.int32)  # row-major: grouped by row, sorted within
    off = pa.array(offsets)
    columns = [
        pa.ListArray.from_arrays(off, pa.array(flat_i, type=pa.int32())),
        pa.ListArray.from_arrays(off, pa.array(flat_v, type=pa.float64(), mask=missing if missing.any() else None)),
        pa.ListArray.from_arrays(pa.array(label_offsets), pa.array(flat_l, type=pa.int32())),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=arrow_schema)


def _record_batches(stream: Stream, path, sparse: bool | None, batch_size: int):
    """The Arrow schema, and a generator of record batches plus the instance count at the end."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
    schema = stream.schema
    sparse = schema.sparse if sparse is None else bool(sparse)
    arrow_schema = _arrow_schema(schema, sparse, path)
    d, L = schema.n_features, schema.n_labels
    rows = batch_size if sparse else _rows_per_batch(batch_size, d + L)
    watch = _Writing(stream, path)
    counter = [0]

    def batches() -> Iterator[pa.RecordBatch]:
        xs: list[Row] = []
        ys: list[np.ndarray] = []
        for x, y in stream:
            watch.check(counter[0], x, y)
            xs.append(x)
            ys.append(y)
            counter[0] += 1
            if len(xs) == rows:
                yield _sparse_batch(xs, ys, arrow_schema, L) if sparse else _dense_batch(xs, ys, arrow_schema, d, L)
                xs, ys = [], []
        if xs:
            yield _sparse_batch(xs, ys, arrow_schema, L) if sparse else _dense_batch(xs, ys, arrow_schema, d, L)

    return arrow_schema, batches(), counter


def write_parquet(
    stream: Stream, path: str | os.PathLike, *, sparse: bool | None = None, batch_size: int = 4096
) -> int:
    """Write ``stream`` to Parquet, one row group per ``batch_size`` rows; return the instance count.

    ``sparse=None`` follows ``stream.schema.sparse``; ``True`` writes the sparse layout, ``False`` the
    wide one (one float64 column per feature, one bool column per label; feature and label names
    must then be distinct). The schema goes into the metadata (:data:`SCHEMA_KEY`).
    """
    if Path(path).suffix in COMPRESSED_SUFFIXES:
        raise ValueError(f"{path}: Parquet compresses internally; write to a plain .parquet path")
    arrow_schema, batches, counter = _record_batches(stream, path, sparse, batch_size)
    with pq.ParquetWriter(path, arrow_schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return counter[0]


def write_arrow(
    stream: Stream,
    path: str | os.PathLike,
    *,
    sparse: bool | None = None,
    batch_size: int = 4096,
    format: Literal["file", "stream"] = "file",
) -> int:
    """Write ``stream`` as an Arrow IPC file (``format="file"``, Feather v2) or IPC stream.

    Like :func:`write_parquet`; ``.gz``/``.bz2``/``.xz`` paths are compressed on the fly and
    :class:`ArrowStream` reads them back.
    """
    if format not in ("file", "stream"):
        raise ValueError(f"format must be 'file' or 'stream', not {format!r}")
    arrow_schema, batches, counter = _record_batches(stream, path, sparse, batch_size)
    new = pa.ipc.new_file if format == "file" else pa.ipc.new_stream
    p = Path(path)
    sink: Any = open_binary(p, "wb") if p.suffix in COMPRESSED_SUFFIXES else pa.OSFile(str(p), "wb")
    try:
        with new(sink, arrow_schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    finally:
        sink.close()
    return counter[0]
