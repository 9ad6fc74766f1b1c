"""CSV and JSON Lines sources and sinks.

Both readers stream line by line (memory does not grow with the file size), open ``.gz``, ``.bz2`` and
``.xz`` files transparently, and report bad input as a :class:`~streamml.stream.DataError` naming the
file and the 1-based physical line number (``on_error="raise"``), or skip the line and count it in
``stream.errors`` (``on_error="skip"``; the report is reset at the start of each pass).

**Missing and non-finite values.** A missing feature value becomes ``NaN``: an empty cell or ``?`` in
CSV, ``null`` or an absent key in JSONL. Literal ``nan``, ``inf``, ``-inf`` (``NaN``, ``Infinity`` in
JSON) are *malformed input* and raise :class:`DataError`: a stream with infinities is almost always
a bug upstream, and a literal ``nan`` is ambiguous. Labels cannot be missing. This is the same policy
as the ARFF reader's.

CSV
---
The header row names the columns; a label spec (:mod:`connectors.labels`) says which are labels. The
other columns are numeric features. Label cells accept ``0``/``1``, ``true``/``false``,
``yes``/``no`` (any case). CSV carries no feature kinds: :func:`write_csv` writes nominal features as
their ordinal codes, and :class:`CsvStream` reads every feature as numeric.

>>> import tempfile, pathlib
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "d.csv").write_text("a,b,happy,sad\\n0.5,,1,no\\n1,2,false,YES\\n")
>>> stream = CsvStream(tmp / "d.csv", labels="last:2")
>>> stream.schema.feature_names, stream.schema.labels
(['a', 'b'], ['happy', 'sad'])
>>> [(x.tolist(), y.tolist()) for x, y in stream]
[([0.5, nan], [True, False]), ([1.0, 2.0], [False, True])]

JSON Lines
----------
Each line is one JSON object, in one of two layouts, detected line by line:

* **flat**: ``{"f1": 0.3, "f2": null, "l1": 1}``, read with a label spec like CSV. The first line's
  keys fix the schema; a later line may omit a feature (``NaN``) but not a label, and an unknown key
  is an error.
* **structured** (the shape of Kafka messages)::

      {"id": 7, "features": <features>, "labels": ["l1", "l3"] | {"l1": true, "l2": false}}

  where ``<features>`` is a dict ``{name: value}``, a dense list ``[v0, v1, ...]``, or a sparse
  ``{"indices": [...], "values": [...]}`` (yielded as a :class:`~streamml.schema.SparseRow`). ``id``
  is optional and only used in error messages. With structured messages **the spaces grow**: a
  label name never seen before is appended to ``schema.labels`` and later label vectors are longer
  (earlier instances are treated as negative for it, as learners do with shorter vectors); a new
  feature name in a dict, or a sparse index beyond the known features, appends features (named
  ``x<i>`` when only an index is known) and later rows are longer. A feature absent from a dict is
  missing (``NaN``); a dense list must have one value per known feature.

A first line ``{"schema": {...}}`` (:meth:`Schema.to_dict`) declares the schema up front: feature
names, kinds, nominal values and all label names. :func:`write_jsonl` writes it, so our own files
round-trip exactly and need no label spec.

>>> lines = ['{"id": 1, "features": {"a": 1.0}, "labels": ["sport"]}',
...          '{"id": 2, "features": {"a": 2.0, "b": 3.0}, "labels": ["news"]}']
>>> _ = (tmp / "m.jsonl").write_text("\\n".join(lines))
>>> stream = JsonlStream(tmp / "m.jsonl")
>>> [(x.tolist(), y.tolist()) for x, y in stream]
[([1.0], [True]), ([2.0, 3.0], [False, True])]
>>> stream.schema.feature_names, stream.schema.labels
(['a', 'b'], ['sport', 'news'])
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from connectors._io import open_text, strip_compression
from connectors.labels import LabelSpec, parse_label_value, resolve_label_columns
from streamml.schema import Feature, FeatureKind, Row, Schema, SparseRow, row_to_dense
from streamml.stream import DataError, ErrorReport, Stream, check_on_error

__all__ = ["CsvStream", "JsonlStream", "SchemaChangedError", "write_csv", "write_jsonl"]

_MISSING_TOKENS = ("", "?")
_LABEL_TOKENS = {"1": True, "0": False, "true": True, "false": False, "yes": True, "no": False}


class SchemaChangedError(DataError):
    """The source's schema grew while a writer was writing it (a JSONL source with new labels).

    Formats with a fixed header cannot take new columns half-way. :func:`connectors.convert.convert`
    handles this by reading the source to the end once and writing again with the final schema.
    """


def default_name(path: str | os.PathLike) -> str:
    """The stream name for a file: its name without format and compression suffixes."""
    return strip_compression(path).stem


# ---------------------------------------------------------------------------------------------
# helpers shared with connectors.arrow


class _NominalCheck:
    """Checks that nominal features hold valid ordinal codes (or NaN), for dense and sparse rows."""

    def __init__(self, schema: Schema):
        pos = [i for i, f in enumerate(schema.features) if f.kind == FeatureKind.NOMINAL]
        self.pos = np.asarray(pos, dtype=np.int64)
        self.sizes = np.asarray([len(schema.features[i].values) for i in pos], dtype=np.float64)
        self.names = [f.name for f in schema.features]
        # per feature: the number of codes of a nominal feature, inf for a numeric one
        self.size_of = np.full(schema.n_features, np.inf)
        self.size_of[self.pos] = self.sizes

    def __bool__(self) -> bool:
        return bool(self.pos.size)

    @staticmethod
    def _invalid(V: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return ~(np.isnan(V) | ((V >= 0) & (V < sizes) & (V == np.floor(V))))

    def bad(self, X: np.ndarray) -> np.ndarray:
        """Bool array ``(..., n_nominal)``: where the codes in ``X[..., pos]`` are invalid."""
        return self._invalid(X[..., self.pos], self.sizes)

    def bad_elements(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per sparse entry: is it an invalid code of a nominal feature? (``indices`` must be valid.)"""
        sizes = self.size_of[indices]
        return self._invalid(values, sizes) & np.isfinite(sizes)

    def reason(self, x: Row) -> str | None:
        if isinstance(x, SparseRow):
            known = x.indices < self.size_of.shape[0]  # features added later are numeric
            idx, val = x.indices[known], x.values[known]
            bad = self.bad_elements(idx, val)
            if not bad.any():
                return None
            k = int(np.argmax(bad))
            j, v = int(idx[k]), float(val[k])
        else:
            bad = self.bad(x)
            if not bad.any():
                return None
            j = int(self.pos[int(np.argmax(bad))])
            v = float(x[j])
        return f"nominal feature {self.names[j]!r} has code {v!r}, not in 0..{int(self.size_of[j]) - 1}"


class _Writing:
    """What every writer checks: the schema does not grow, and rows have the schema's sizes."""

    def __init__(self, stream: Stream, path: str | os.PathLike):
        self.schema = stream.schema
        self.path = str(path)
        self.n_features = stream.schema.n_features
        self.n_labels = stream.schema.n_labels

    def check(self, i: int, x: Row, y: np.ndarray) -> None:
        if self.schema.n_features != self.n_features or self.schema.n_labels != self.n_labels:
            raise SchemaChangedError(
                f"the source's schema grew from {self.n_features} features / {self.n_labels} labels to "
                f"{self.schema.n_features} / {self.schema.n_labels} at instance {i}",
                self.path,
            )
        size = x.size if isinstance(x, SparseRow) else np.shape(x)[0]
        if size != self.n_features:
            raise DataError(f"instance {i} has {size} features, the schema {self.n_features}", self.path)
        if np.shape(y)[0] != self.n_labels:
            raise DataError(f"instance {i} has {np.shape(y)[0]} labels, the schema {self.n_labels}", self.path)


def _unique_columns(schema: Schema, path: str | os.PathLike) -> list[str]:
    columns = schema.feature_names + list(schema.labels)
    seen: set[str] = set()
    for c in columns:
        if c in seen:
            raise ValueError(f"{path}: column name {c!r} is used twice (features and labels share one namespace here)")
        seen.add(c)
    return columns


def _json_float(v: float) -> float | None:
    return None if v != v else v


# ---------------------------------------------------------------------------------------------
# CSV


class CsvStream(Stream):
    """Stream a CSV file with a header row.

    Parameters
    ----------
    path
        The file; ``.gz``, ``.bz2`` and ``.xz`` are decompressed on the fly.
    labels
        Which columns are labels (see :mod:`connectors.labels`); the others are numeric features.
    delimiter
        The one-character field separator.
    on_error
        ``"raise"`` to stop at the first bad line, ``"skip"`` to skip it and record it in
        :attr:`errors`.
    name
        The schema's name; defaults to the file name without suffixes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bad.csv"
    >>> _ = p.write_text("y,x\\n1,0.5\\n1,inf\\nmaybe,1\\n0,?\\n")
    >>> stream = CsvStream(p, labels="first:1", on_error="skip")
    >>> [(x.tolist(), y.tolist()) for x, y in stream]
    [([0.5], [True]), ([nan], [False])]
    >>> stream.errors.count
    2
    >>> list(CsvStream(p, labels="y"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    streamml.stream.DataError: ...bad.csv:3: feature 'x' has non-finite value 'inf' (write a missing value as an empty cell or ?)

    """

    def __init__(
        self,
        path: str | os.PathLike,
        labels: LabelSpec,
        *,
        delimiter: str = ",",
        on_error: str = "raise",
        name: str | None = None,
    ):
        super().__init__()
        self.path = Path(path)
        self.source = str(path)
        self.on_error = check_on_error(on_error)
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ValueError(f"delimiter must be one character, not {delimiter!r}")
        self.delimiter = delimiter
        if labels is None:
            raise ValueError(f"{self.source}: a CSV file needs a label spec (labels=...) to tell labels from features")
        header = self._read_header()
        label_cols = resolve_label_columns(labels, header, self.source)
        pos = {c: i for i, c in enumerate(header)}
        label_set = set(label_cols)
        self._n_columns = len(header)
        self._label_pos = [pos[c] for c in label_cols]
        self._feature_pos = [i for i, c in enumerate(header) if c not in label_set]
        self.schema = Schema.numeric(
            [header[i] for i in self._feature_pos], label_cols, name=default_name(path) if name is None else name
        )

    def _records(self, f) -> Iterator[tuple[int, list[str] | DataError]]:
        """Yield ``(first physical line, fields)`` per non-blank record, or a DataError for broken CSV."""
        reader = csv.reader(f, delimiter=self.delimiter)
        last = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                start, last = last + 1, max(reader.line_num, last + 1)
                yield start, DataError(f"malformed CSV: {e}", self.source, start)
                continue
            start, last = last + 1, reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            yield start, fields

    def _read_header(self) -> list[str]:
        with open_text(self.path) as f:
            for line, fields in self._records(f):
                if isinstance(fields, DataError):
                    raise fields
                names = [c.strip() for c in fields]
                names[0] = names[0].lstrip("\ufeff")
                seen: set[str] = set()
                for c in names:
                    if not c:
                        raise DataError("empty column name in the header", self.source, line)
                    if c in seen:
                        raise DataError(f"column {c!r} appears twice in the header", self.source, line)
                    seen.add(c)
                return names
        raise DataError("empty file: no header row", self.source)

    def _parse(self, fields: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if len(fields) != self._n_columns:
            raise ValueError(f"expected {self._n_columns} fields, found {len(fields)}")
        fpos = self._feature_pos
        try:
            x = np.array([float(fields[j]) for j in fpos], dtype=np.float64)
        except ValueError:
            x = np.empty(len(fpos), dtype=np.float64)
            for k, j in enumerate(fpos):
                token = fields[j].strip()
                if token in _MISSING_TOKENS:
                    x[k] = np.nan
                    continue
                try:
                    x[k] = float(token)
                except ValueError:
                    raise ValueError(
                        f"feature {self.schema.features[k].name!r} has non-numeric value {fields[j]!r}"
                    ) from None
        finite = np.isfinite(x)
        if not finite.all():
            # NaN from an empty cell or "?" is fine; a NaN or inf parsed from a token is not
            for k in np.flatnonzero(~finite):
                token = fields[fpos[k]].strip()
                if token not in _MISSING_TOKENS:
                    raise ValueError(
                        f"feature {self.schema.features[k].name!r} has non-finite value {token!r} "
                        "(write a missing value as an empty cell or ?)"
                    )
        y = np.empty(len(self._label_pos), dtype=bool)
        for k, j in enumerate(self._label_pos):
            v = _LABEL_TOKENS.get(fields[j].strip().lower())
            if v is None:
                raise ValueError(
                    f"label {self.schema.labels[k]!r} has bad value {fields[j]!r} (expected 0/1, true/false or yes/no)"
                )
            y[k] = v
        return x, y

    def __iter__(self) -> Iterator[tuple[Row, np.ndarray]]:
        self.errors = ErrorReport()
        with open_text(self.path) as f:
            records = self._records(f)
            for line, fields in records:  # the header
                if isinstance(fields, DataError):
                    raise fields
                break
            for line, fields in records:
                if not isinstance(fields, DataError):
                    try:
                        yield self._parse(fields)
                        continue
                    except ValueError as e:
                        fields = DataError(str(e), self.source, line)
                if self.on_error == "raise":
                    raise fields
                self.errors.add(fields)


def write_csv(stream: Stream, path: str | os.PathLike, *, delimiter: str = ",") -> int:
    """Write ``stream`` to a CSV file (compressed by suffix) and return the number of instances.

    Features come first, then labels as ``0``/``1``; missing values are empty cells; numbers are
    written with Python's shortest round-trip ``repr``, so reading back gives the same floats.

    >>> import tempfile, pathlib
    >>> from streamml.stream import ArrayStream
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
    >>> write_csv(ArrayStream(np.array([[0.1, np.nan]]), np.array([[1, 0]])), p)
    1
    >>> print(p.read_text(), end="")
    x0,x1,y0,y1
    0.1,,1,0
    """
    watch = _Writing(stream, path)
    columns = _unique_columns(stream.schema, path)
    n = 0
    with open_text(path, "w") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(columns)
        for x, y in stream:
            watch.check(n, x, y)
            values = ["" if v != v else repr(v) for v in row_to_dense(x).tolist()]
            values.extend("1" if b else "0" for b in np.asarray(y, dtype=bool).tolist())
            writer.writerow(values)
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
# JSON Lines


def _reject_constant(token: str) -> float:
    raise ValueError(f"non-finite literal {token} (write a missing value as null)")


class _Bad(ValueError):
    """A line that cannot be read; carries the reason."""


class JsonlStream(Stream):
    """Stream a JSON Lines file of flat or structured objects (see the module documentation).

    Parameters
    ----------
    path
        The file; ``.gz``, ``.bz2`` and ``.xz`` are decompressed on the fly.
    labels
        Flat layout: the label spec (required unless the file starts with a schema line). Structured
        layout: optional list (or comma-separated string) of label names declared up front, which
        fixes their order; further names still grow the label space.
    on_error
        ``"raise"`` or ``"skip"``.
    name
        The schema's name; defaults to the schema line's name, else the file name without suffixes.

    Examples
    --------
    Flat objects with a label spec; a missing feature key is ``NaN``:

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "flat.jsonl"
    >>> _ = p.write_text('{"a": 1, "b": 2, "l": true}\\n\\n{"a": 3, "l": 0}\\n')
    >>> [(x.tolist(), y.tolist()) for x, y in JsonlStream(p, labels="l")]
    [([1.0, 2.0], [True]), ([3.0, nan], [False])]

    Sparse structured messages:

    >>> _ = p.write_text('{"features": {"indices": [3], "values": [0.5]}, "labels": {"a": false}}\\n')
    >>> list(JsonlStream(p))
    [(SparseRow(indices=array([3], dtype=int32), values=array([0.5]), size=4), array([False]))]

    """

    def __init__(
        self,
        path: str | os.PathLike,
        labels: LabelSpec | None = None,
        *,
        on_error: str = "raise",
        name: str | None = None,
    ):
        super().__init__()
        self.path = Path(path)
        self.source = str(path)
        self.on_error = check_on_error(on_error)
        self.schema = Schema([], [], default_name(path) if name is None else name)
        self._fidx: dict[str, int] = {}
        self._lidx: dict[str, int] = {}
        self._nominal = _NominalCheck(self.schema)
        self._has_header = False
        first = self._first_object()
        if first is None:
            if labels is not None and not isinstance(labels, int):
                self._declare_labels(self._label_names(labels))
            return
        obj, line = first
        kind = self._kind(obj)
        if kind == "schema":
            self._has_header = True
            self._read_header(obj, line, labels)
        elif kind == "flat":
            if labels is None:
                raise DataError(
                    "flat JSON objects need a label spec (labels=...) to tell labels from features", self.source, line
                )
            columns = list(obj)
            label_cols = resolve_label_columns(labels, columns, self.source)
            label_set = set(label_cols)
            for c in columns:
                if c not in label_set:
                    self._add_feature(c)
            self._declare_labels(label_cols)
        else:
            if labels is not None:
                self._declare_labels(self._label_names(labels))
            try:
                self._parse_structured(obj)
            except _Bad:
                pass  # reported with its line number when iterated
            self.schema.sparse = isinstance(obj.get("features"), dict) and "indices" in obj["features"]

    # -- schema bookkeeping -------------------------------------------------------------------

    def _label_names(self, labels: LabelSpec) -> list[str]:
        if isinstance(labels, str):
            text = labels.strip()
            if text.partition(":")[0] in ("first", "last", "prefix") or text.lstrip("+-").isdigit():
                raise ValueError(
                    f"{self.source}: structured JSONL takes label names, not the positional spec {labels!r}"
                )
            return [s.strip() for s in text.split(",") if s.strip()]
        if isinstance(labels, int) or not all(isinstance(s, str) for s in labels):
            raise ValueError(f"{self.source}: structured JSONL takes a list of label names, not {labels!r}")
        return list(labels)

    def _add_feature(self, name: str, kind: FeatureKind = FeatureKind.NUMERIC, values: tuple = ()) -> None:
        self._fidx[name] = len(self.schema.features)
        self.schema.features.append(Feature(name, kind, values))

    def _declare_labels(self, names: list[str]) -> None:
        for lab in names:
            if lab not in self._lidx:
                self._lidx[lab] = len(self.schema.labels)
                self.schema.labels.append(lab)

    def _read_header(self, obj: dict, line: int, labels: LabelSpec | None) -> None:
        try:
            schema = Schema.from_dict(obj["schema"])
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"bad schema line: {e!r}", self.source, line) from None
        for f in schema.features:
            if f.name in self._fidx:
                raise DataError(f"schema line names feature {f.name!r} twice", self.source, line)
            self._add_feature(f.name, f.kind, f.values)
        self._declare_labels(schema.labels)
        if len(self._lidx) != len(schema.labels):
            raise DataError("schema line names a label twice", self.source, line)
        self.schema.sparse = schema.sparse
        if self.schema.name == default_name(self.path) and schema.name:
            self.schema.name = schema.name
        if labels is not None:
            given = resolve_label_columns(labels, self.schema.feature_names + self.schema.labels, self.source)
            if set(given) != set(self.schema.labels):
                raise DataError(
                    f"label spec {labels!r} selects {given} but the schema line declares labels {self.schema.labels}",
                    self.source,
                    line,
                )
        self._nominal = _NominalCheck(self.schema)

    def _fresh_name(self, i: int, taken: dict[str, int]) -> str:
        name, k = f"x{i}", 0
        while name in self._fidx or name in taken:
            k += 1
            name = f"x{i}_{k}"
        return name

    # -- parsing ---------------------------------------------------------------------------------

    def _first_object(self) -> tuple[dict, int] | None:
        with open_text(self.path) as f:
            for line, text in enumerate(f, 1):
                if not text.strip():
                    continue
                try:
                    return self._load(text), line
                except _Bad as e:
                    if self.on_error == "raise":
                        raise DataError(str(e), self.source, line) from None
        return None

    @staticmethod
    def _load(text: str) -> dict:
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as e:
            raise _Bad(f"invalid JSON: {e.msg} at column {e.colno}") from None
        except ValueError as e:
            raise _Bad(str(e)) from None
        if not isinstance(obj, dict):
            raise _Bad(f"expected a JSON object, found {type(obj).__name__}")
        return obj

    @staticmethod
    def _kind(obj: dict) -> str:
        if len(obj) == 1 and "schema" in obj and isinstance(obj["schema"], dict):
            return "schema"
        if isinstance(obj.get("features"), (dict, list)) or isinstance(obj.get("labels"), (dict, list)):
            return "structured"
        return "flat"

    @staticmethod
    def _number(v: Any, what: str) -> float:
        if v is None:
            return math.nan
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _Bad(f"{what} has non-numeric value {v!r}")
        try:
            out = float(v)
        except OverflowError:
            out = math.inf
        if not math.isfinite(out):
            raise _Bad(f"{what} has non-finite value {v!r} (write a missing value as null)")
        return out

    def _parse_flat(self, obj: dict) -> tuple[np.ndarray, np.ndarray]:
        x = np.full(self.schema.n_features, np.nan)
        y = np.zeros(self.schema.n_labels, dtype=bool)
        n_labels = 0
        for key, v in obj.items():
            j = self._fidx.get(key)
            if j is not None:
                x[j] = self._number(v, f"feature {key!r}")
                continue
            j = self._lidx.get(key)
            if j is None:
                raise _Bad(f"unknown key {key!r} (not a feature or label of the schema)")
            try:
                y[j] = parse_label_value(v)
            except ValueError as e:
                raise _Bad(f"label {key!r}: {e}") from None
            n_labels += 1
        if n_labels != self.schema.n_labels:
            missing = next(lab for lab in self.schema.labels if lab not in obj)
            raise _Bad(f"label {missing!r} is missing (labels cannot be missing)")
        return x, y

    def _parse_structured(self, obj: dict) -> tuple[Row, np.ndarray]:
        """Parse a structured message; new features and labels are only committed when it is valid."""
        for key in obj:
            if key not in ("id", "features", "labels"):
                raise _Bad(f"unknown key {key!r} in a structured message (expected id, features, labels)")
        if "features" not in obj or "labels" not in obj:
            raise _Bad("a structured message needs both 'features' and 'labels'")
        feats, labs = obj["features"], obj["labels"]
        d = self.schema.n_features
        new_features: dict[str, int] = {}
        x: Row
        if isinstance(feats, dict) and "indices" in feats and isinstance(feats["indices"], list):
            if set(feats) != {"indices", "values"} or not isinstance(feats["values"], list):
                raise _Bad("sparse features need exactly the lists 'indices' and 'values'")
            indices, values = feats["indices"], feats["values"]
            if len(indices) != len(values):
                raise _Bad(f"sparse features have {len(indices)} indices but {len(values)} values")
            for i in indices:
                if isinstance(i, bool) or not isinstance(i, int) or i < 0:
                    raise _Bad(f"sparse feature index {i!r} is not a non-negative integer")
            vals = [self._number(v, f"sparse feature {i}") for i, v in zip(indices, values)]
            size = max(d, max(indices, default=-1) + 1)
            for i in range(d, size):
                new_features[self._fresh_name(i, new_features)] = i
            x = SparseRow.from_pairs(indices, vals, size)
        elif isinstance(feats, dict):
            pos = []
            for key in feats:
                j = self._fidx.get(key)
                if j is None:
                    j = new_features[key] = d + len(new_features)
                pos.append(j)
            x = np.full(d + len(new_features), np.nan)
            for j, (key, v) in zip(pos, feats.items()):
                x[j] = self._number(v, f"feature {key!r}")
        elif isinstance(feats, list):
            if d == 0 and feats:
                for i in range(len(feats)):
                    new_features[self._fresh_name(i, new_features)] = i
            elif len(feats) != d:
                raise _Bad(f"dense features have {len(feats)} values, the schema has {d} features")
            x = np.array([self._number(v, f"feature {i}") for i, v in enumerate(feats)], dtype=np.float64)
        else:
            raise _Bad(f"'features' must be a dict or a list, not {type(feats).__name__}")

        L = self.schema.n_labels
        new_labels: dict[str, int] = {}
        positive: list[int] = []
        if isinstance(labs, list):
            items: Any = ((lab, True) for lab in labs)
        elif isinstance(labs, dict):
            items = labs.items()
        else:
            raise _Bad(f"'labels' must be a list of names or a dict of name: bool, not {type(labs).__name__}")
        for lab, v in items:
            if not isinstance(lab, str):
                raise _Bad(f"label names must be strings, found {lab!r}")
            try:
                value = parse_label_value(v)
            except ValueError as e:
                raise _Bad(f"label {lab!r}: {e}") from None
            j = self._lidx.get(lab)
            if j is None:
                j = new_labels.get(lab)
                if j is None:
                    j = new_labels[lab] = L + len(new_labels)
            if value:
                positive.append(j)
        if self._nominal:
            reason = self._nominal.reason(x)
            if reason:
                raise _Bad(reason)
        # valid: commit the new names
        for name in new_features:
            self._add_feature(name)
        self._declare_labels(list(new_labels))
        y = np.zeros(self.schema.n_labels, dtype=bool)
        y[positive] = True
        return x, y

    def __iter__(self) -> Iterator[tuple[Row, np.ndarray]]:
        self.errors = ErrorReport()
        header_allowed = self._has_header
        with open_text(self.path) as f:
            for line, text in enumerate(f, 1):
                if not text.strip():
                    continue
                obj: Any = None
                try:
                    obj = self._load(text)
                    kind = self._kind(obj)
                    if kind == "schema":
                        if not header_allowed:
                            raise _Bad("a schema line is only allowed as the first line")
                        header_allowed = False
                        continue
                    header_allowed = False
                    if kind == "flat":
                        x, y = self._parse_flat(obj)
                        reason = self._nominal.reason(x) if self._nominal else None
                        if reason:
                            raise _Bad(reason)
                    else:
                        x, y = self._parse_structured(obj)
                except _Bad as e:
                    reason = str(e)
                    if isinstance(obj, dict) and isinstance(obj.get("id"), (str, int, float)):
                        reason = f"message id={obj['id']!r}: {reason}"
                    err = DataError(reason, self.source, line)
                    if self.on_error == "raise":
                        raise err from None
                    self.errors.add(err)
                    continue
                yield x, y


def write_jsonl(
    stream: Stream,
    path: str | os.PathLike,
    layout: Literal["structured", "flat"] = "structured",
    *,
    header: bool = True,
) -> int:
    """Write ``stream`` as JSON Lines (compressed by suffix) and return the number of instances.

    ``layout="structured"`` writes ``{"id": i, "features": ..., "labels": [positive names]}`` with
    dense rows as lists and sparse rows as ``{"indices", "values"}``; ``layout="flat"`` writes one
    key per feature and per label (``0``/``1``). Missing values are ``null``. With ``header=True``
    (the default) the first line is ``{"schema": ...}``, so feature names and kinds and every label
    name survive the round trip; without it, structured dense rows are written as dicts (to keep
    feature names) and a label never positive is lost.

    >>> import tempfile, pathlib
    >>> from streamml.stream import ArrayStream
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.jsonl"
    >>> write_jsonl(ArrayStream(np.array([[0.5, np.nan]]), np.array([[0, 1]])), p, header=False)
    1
    >>> print(p.read_text(), end="")
    {"id": 0, "features": {"x0": 0.5, "x1": null}, "labels": ["y1"]}
    """
    if layout not in ("structured", "flat"):
        raise ValueError(f"layout must be 'structured' or 'flat', not {layout!r}")
    schema = stream.schema
    watch = _Writing(stream, path)
    if layout == "flat":
        _unique_columns(schema, path)
    names = schema.feature_names
    labels = list(schema.labels)
    n = 0
    with open_text(path, "w") as f:
        if header:
            f.write(json.dumps({"schema": schema.to_dict()}) + "\n")
        for x, y in stream:
            watch.check(n, x, y)
            y = np.asarray(y, dtype=bool)
            if layout == "flat":
                obj: dict[str, Any] = dict(zip(names, map(_json_float, row_to_dense(x).tolist())))
                obj.update(zip(labels, (int(b) for b in y.tolist())))
            else:
                if isinstance(x, SparseRow):
                    feats: Any = {
                        "indices": x.indices.tolist(),
                        "values": [_json_float(v) for v in x.values.tolist()],
                    }
                elif header:
                    feats = [_json_float(v) for v in np.asarray(x, dtype=np.float64).tolist()]
                else:
                    feats = dict(zip(names, map(_json_float, np.asarray(x, dtype=np.float64).tolist())))
                obj = {"id": n, "features": feats, "labels": [labels[j] for j in np.flatnonzero(y).tolist()]}
            f.write(json.dumps(obj, allow_nan=False) + "\n")
            n += 1
    return n
