"""Parquet and Arrow IPC readers and writers."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import connectors.arrow as arrow_mod
from connectors.arrow import SCHEMA_KEY, ArrowStream, ParquetStream, write_arrow, write_parquet
from connectors.tabular import JsonlStream, SchemaChangedError
from streamml.schema import Feature, FeatureKind, Schema, SparseRow, row_to_dense
from streamml.stream import ArrayStream, DataError


def assert_same_rows(got, want):
    got, want = list(got), list(want)
    assert len(got) == len(want)
    for (xg, yg), (xw, yw) in zip(got, want):
        np.testing.assert_array_equal(row_to_dense(xg), row_to_dense(xw))
        np.testing.assert_array_equal(np.asarray(yg, dtype=bool), np.asarray(yw, dtype=bool))


def write_ipc(table: pa.Table, path: Path, fmt: str = "file", chunk: int | None = None) -> Path:
    new = pa.ipc.new_file if fmt == "file" else pa.ipc.new_stream
    with new(str(path), table.schema) as w:
        w.write_table(table, max_chunksize=chunk)
    return path


def write_table(table: pa.Table, path: Path, **kw) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(table, path, **kw)
    else:
        write_ipc(table, path)
    return path


def reader(path: Path):
    return ParquetStream if path.suffix == ".parquet" else ArrowStream


FORMATS = ["parquet", "arrow"]


# ---------------------------------------------------------------------------------------------
# wide layout, foreign files


@pytest.mark.parametrize("fmt", FORMATS)
def test_wide_foreign_file_with_label_spec(tmp_path, fmt):
    table = pa.table(
        {
            "a": pa.array([1.5, None, np.nan], pa.float64()),
            "b": pa.array([1, 2, None], pa.int32()),
            "flag": pa.array([True, False, True]),
            "l_int": pa.array([1, 0, 1], pa.int8()),
            "l_bool": pa.array([False, True, True]),
        }
    )
    p = write_table(table, tmp_path / f"w.{fmt}")
    stream = reader(p)(p, labels="prefix:l_")
    assert stream.schema.feature_names == ["a", "b", "flag"]
    assert stream.schema.labels == ["l_int", "l_bool"]
    assert stream.schema.name == "w" and not stream.schema.sparse
    assert stream.n_instances == 3
    rows = list(stream)
    np.testing.assert_array_equal(rows[0][0], [1.5, 1.0, 1.0])
    np.testing.assert_array_equal(rows[1][0], [np.nan, 2.0, 0.0])
    np.testing.assert_array_equal(rows[2][0], [np.nan, np.nan, 1.0])
    assert [y.tolist() for _, y in rows] == [[True, False], [False, True], [True, True]]
    assert all(isinstance(x, np.ndarray) and x.dtype == np.float64 for x, _ in rows)


@pytest.mark.parametrize("fmt", FORMATS)
def test_wide_infinite_and_bad_labels_name_file_and_row(tmp_path, fmt):
    table = pa.table(
        {
            "a": [1.0, 2.0, -np.inf, 4.0, 5.0, 6.0],
            "y": pa.array([1, 0, 1, 2, None, 1], pa.int64()),
        }
    )
    p = write_table(table, tmp_path / f"bad.{fmt}")
    stream = reader(p)(p, labels="y")
    it = iter(stream)
    assert next(it)[0].tolist() == [1.0]
    assert next(it)[0].tolist() == [2.0]
    with pytest.raises(DataError) as info:
        next(it)
    err = info.value
    assert err.source == str(p) and err.line == 2
    assert "feature 'a' is -inf" in err.reason and "record index 2" in str(err)
    assert str(err).startswith(f"{p}:2: ")
    skipping = reader(p)(p, labels="y", on_error="skip")
    assert [x.tolist() for x, _ in skipping] == [[1.0], [2.0], [6.0]]
    assert skipping.errors.count == 3
    assert "label 'y' is 2.0" in skipping.errors.first[1] and ":3:" in skipping.errors.first[1]
    assert "label 'y' is null" in skipping.errors.first[2] and ":4:" in skipping.errors.first[2]


def test_row_numbers_count_across_batches(tmp_path):
    a = np.arange(100, dtype=float)
    a[77] = np.inf
    p = tmp_path / "many.parquet"
    pq.write_table(pa.table({"a": a, "y": np.ones(100, bool)}), p, row_group_size=10)
    with pytest.raises(DataError) as info:
        list(ParquetStream(p, labels="y", batch_size=7))
    assert info.value.line == 77


@pytest.mark.parametrize("fmt", FORMATS)
def test_wide_foreign_file_errors(tmp_path, fmt):
    p = write_table(pa.table({"name": ["x", "y"], "a": [1.0, 2.0], "y": [True, False]}), tmp_path / f"s.{fmt}")
    with pytest.raises(DataError, match=r"feature column 'name' has type string"):
        reader(p)(p, labels="y")
    with pytest.raises(DataError, match=r"s\.(parquet|arrow): a file without streamml metadata needs a label spec"):
        reader(p)(p)
    with pytest.raises(DataError, match=r"label column 'nope' is not in the file"):
        reader(p)(p, labels="nope")
    with pytest.raises(DataError, match=r"label column 'name' has type string"):
        reader(p)(p, labels="name")
    with pytest.raises(ValueError, match="batch_size"):
        reader(p)(p, labels="y", batch_size=0)


def test_arrow_rejects_non_arrow_and_parquet_rejects_compression(tmp_path):
    p = tmp_path / "x.arrow"
    p.write_bytes(b"this is not arrow at all")
    with pytest.raises(DataError, match=r"x\.arrow: not an Arrow IPC"):
        ArrowStream(p)
    with pytest.raises(ValueError, match="compress internally"):
        ParquetStream(tmp_path / "x.parquet.gz")
    src = ArrayStream(np.zeros((1, 1)), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="compresses internally"):
        write_parquet(src, tmp_path / "y.parquet.gz")


# ---------------------------------------------------------------------------------------------
# our own files: metadata, both layouts


def nominal_source():
    schema = Schema(
        [Feature("colour", FeatureKind.NOMINAL, ("red", "green", "blue")), Feature("w"), Feature("z")],
        ["happy", "sad", "never"],
        name="toy",
    )
    X = np.array([[2.0, 0.5, 0.0], [np.nan, 0.0, -1.0], [0.0, 0.0, 0.0]])
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
    return ArrayStream(X, Y, schema)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("sparse", [False, True])
def test_round_trip_keeps_schema(tmp_path, fmt, sparse):
    source = nominal_source()
    p = tmp_path / f"t.{fmt}"
    write = write_parquet if fmt == "parquet" else write_arrow
    assert write(source, p, sparse=sparse) == 3
    back = reader(p)(p)
    assert back.layout == ("sparse" if sparse else "wide")
    assert back.schema.features == source.schema.features
    assert back.schema.labels == ["happy", "sad", "never"]
    assert back.schema.name == "toy" and back.schema.sparse is sparse
    rows = list(back)
    assert_same_rows(rows, source)
    assert all(isinstance(x, SparseRow) == sparse for x, _ in rows)
    if sparse:
        assert rows[1][0] == SparseRow(np.array([0, 2], np.int32), np.array([np.nan, -1.0]), 3)
    assert reader(p)(p, name="other").schema.name == "other"
    assert reader(p)(p, labels="happy,sad,never").schema.labels == ["happy", "sad", "never"]
    with pytest.raises(DataError, match="schema has labels"):
        reader(p)(p, labels="first:1")


def test_metadata_is_the_schema_as_json(tmp_path):
    p = tmp_path / "m.parquet"
    write_parquet(nominal_source(), p)
    meta = pq.ParquetFile(p).schema_arrow.metadata
    stored = json.loads(meta[SCHEMA_KEY])
    assert Schema.from_dict(stored).features == nominal_source().schema.features
    assert pq.read_table(p).column("happy").type == pa.bool_()
    assert pq.read_table(p).column("colour").null_count == 1  # missing written as null


def test_sparse_layout_follows_schema_hint(tmp_path):
    source = ArrayStream(sp.csr_matrix(np.eye(3)), np.eye(3, 2))
    assert source.schema.sparse
    p = tmp_path / "h.parquet"
    write_parquet(source, p)
    assert pq.ParquetFile(p).schema_arrow.names == ["indices", "values", "labels"]
    table = pq.read_table(p)
    assert table.column("labels").to_pylist() == [[0], [1], []]
    assert table.column("indices").type == pa.list_(pa.int32())
    assert_same_rows(ParquetStream(p), source)
    write_parquet(source, p, sparse=False)
    assert pq.ParquetFile(p).schema_arrow.names == ["x0", "x1", "x2", "y0", "y1"]
    assert_same_rows(ParquetStream(p), source)


def sparse_table(indices, values, labels, meta=True, d=4, L=2):
    table = pa.table(
        {
            "indices": pa.array(indices, pa.list_(pa.int32())),
            "values": pa.array(values, pa.list_(pa.float64())),
            "labels": pa.array(labels, pa.list_(pa.int32())),
        }
    )
    if meta:
        schema = Schema.numeric([f"f{i}" for i in range(d)], [f"l{j}" for j in range(L)], sparse=True)
        table = table.replace_schema_metadata({SCHEMA_KEY: json.dumps(schema.to_dict()).encode()})
    return table


@pytest.mark.parametrize("fmt", FORMATS)
def test_sparse_bad_rows(tmp_path, fmt):
    table = sparse_table(
        [[0, 3], [1], [4], [0], None, [2], [0, 1], [2, 0, 2]],
        [[1.0, 2.0], [np.inf], [1.0], [1.0, 2.0], [], [None], [1.0, 1.0], [1.0, 2.0, 3.0]],
        [[0], [], [1], [0], [], [5], [1, 0], []],
    )
    p = write_table(table, tmp_path / f"sp.{fmt}")
    with pytest.raises(DataError) as info:
        list(reader(p)(p))
    assert info.value.line == 1 and "feature 'f1' is inf" in info.value.reason
    skipping = reader(p)(p, on_error="skip")
    rows = list(skipping)
    reasons = skipping.errors.first
    assert skipping.errors.count == 5
    assert "feature 'f1' is inf" in reasons[0] and ":1:" in reasons[0]
    assert "feature index 4 out of range 0..3" in reasons[1] and ":2:" in reasons[1]
    assert "1 indices but 2 values" in reasons[2] and ":3:" in reasons[2]
    assert "column 'indices' is null" in reasons[3] and ":4:" in reasons[3]
    assert "label index 5 out of range 0..1" in reasons[4] and ":5:" in reasons[4]
    assert [y.tolist() for _, y in rows] == [[True, False], [True, True], [False, False]]
    assert rows[0][0] == SparseRow(np.array([0, 3], np.int32), np.array([1.0, 2.0]), 4)
    # unsorted indices are sorted, a repeated index keeps its last value
    assert rows[2][0] == SparseRow(np.array([0, 2], np.int32), np.array([2.0, 3.0]), 4)


def test_sparse_layout_needs_metadata(tmp_path):
    p = write_table(sparse_table([[0]], [[1.0]], [[0]], meta=False), tmp_path / "nm.parquet")
    with pytest.raises(DataError, match=r"nm\.parquet: sparse layout .* needs the streamml schema"):
        ParquetStream(p)


def test_bad_metadata(tmp_path):
    table = pa.table({"a": [1.0], "y": [True]}).replace_schema_metadata({SCHEMA_KEY: b"{not json"})
    p = write_table(table, tmp_path / "bm.parquet")
    with pytest.raises(DataError, match="bad streamml.schema metadata"):
        ParquetStream(p)


def test_stored_schema_column_missing(tmp_path):
    schema = Schema.numeric(["a", "gone"], ["y"])
    table = pa.table({"a": [1.0], "y": [True]}).replace_schema_metadata(
        {SCHEMA_KEY: json.dumps(schema.to_dict()).encode()}
    )
    p = write_table(table, tmp_path / "g.arrow")
    with pytest.raises(DataError, match="column 'gone' of the stored schema is not in the file"):
        ArrowStream(p)


def test_wide_nominal_codes_are_checked(tmp_path):
    schema = Schema([Feature("c", FeatureKind.NOMINAL, ("a", "b"))], ["y"])
    table = pa.table({"c": [1.0, 2.0, 0.5, None], "y": [True, False, True, True]}).replace_schema_metadata(
        {SCHEMA_KEY: json.dumps(schema.to_dict()).encode()}
    )
    p = write_table(table, tmp_path / "nom.parquet")
    stream = ParquetStream(p, on_error="skip")
    rows = list(stream)
    assert len(rows) == 2 and stream.errors.count == 2
    assert "nominal feature 'c' has code 2.0, not in 0..1" in stream.errors.first[0]


@pytest.mark.parametrize("misaligned", [False, True])
def test_sparse_nominal_codes_are_checked(tmp_path, misaligned):
    schema = Schema([Feature("w"), Feature("c", FeatureKind.NOMINAL, ("a", "b", "c"))], ["y"], sparse=True)
    indices = [[0, 1], [1], [1], [0]]
    values = [[9.5, 2.0], [3.0], [None], [1.0, 2.0] if misaligned else [1.0]]
    table = pa.table(
        {
            "indices": pa.array(indices, pa.list_(pa.int32())),
            "values": pa.array(values, pa.list_(pa.float64())),
            "labels": pa.array([[0], [], [0], []], pa.list_(pa.int32())),
        }
    ).replace_schema_metadata({SCHEMA_KEY: json.dumps(schema.to_dict()).encode()})
    p = write_table(table, tmp_path / "sn.parquet")
    stream = ParquetStream(p, on_error="skip")
    rows = list(stream)
    assert [x.values.tolist() for x, _ in rows][0] == [9.5, 2.0]
    assert len(rows) == 2 + (not misaligned)
    assert "nominal feature 'c' has code 3.0, not in 0..2" in stream.errors.first[0] and ":1:" in stream.errors.first[0]
    assert stream.errors.count == 1 + misaligned


# ---------------------------------------------------------------------------------------------
# streaming by batch


def test_parquet_reads_batch_by_batch(tmp_path, monkeypatch):
    n = 1000
    X = np.arange(n * 3, dtype=float).reshape(n, 3)
    Y = (np.arange(n * 2).reshape(n, 2) % 3 == 0)
    source = ArrayStream(X, Y)
    p = tmp_path / "rg.parquet"
    assert write_parquet(source, p, batch_size=50) == n
    assert pq.ParquetFile(p).num_row_groups == 20

    pulled: list[int] = []
    calls: list[dict] = []
    original = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        for batch in original(self, *args, **kwargs):
            pulled.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    stream = ParquetStream(p, batch_size=16)
    it = iter(stream)
    first = next(it)
    assert pulled == [16]  # the first row comes before the rest of the file is read
    assert calls[0]["batch_size"] == 16
    rows = [first, *it]
    assert len(pulled) == math.ceil(n / 16) and max(pulled) <= 16
    assert_same_rows(rows, source)


@pytest.mark.parametrize("fmt", FORMATS)
def test_wide_batches_are_capped_by_cells(tmp_path, fmt, monkeypatch):
    source = ArrayStream(np.arange(40, dtype=float).reshape(10, 4), np.ones((10, 1), bool))
    p = tmp_path / f"c.{fmt}"
    (write_parquet if fmt == "parquet" else write_arrow)(source, p)
    monkeypatch.setattr(arrow_mod, "MAX_BATCH_CELLS", 10)
    stream = reader(p)(p, batch_size=1000)
    assert stream._rows == 2  # 10 cells / 5 columns
    assert_same_rows(stream, source)


@pytest.mark.parametrize("fmt", ["file", "stream"])
def test_arrow_ipc_file_and_stream_with_big_batches(tmp_path, fmt):
    n = 100
    table = pa.table({"a": np.arange(n, dtype=float), "b": np.arange(n) % 7, "y": np.arange(n) % 2 == 0})
    p = write_ipc(table, tmp_path / f"big.{fmt}", fmt)
    stream = ArrowStream(p, labels="y", batch_size=9)
    assert stream.format == fmt
    assert stream.n_instances == (n if fmt == "file" else None)
    rows = list(stream)
    assert len(rows) == n
    np.testing.assert_array_equal(np.stack([x for x, _ in rows]), np.c_[np.arange(n), np.arange(n) % 7])
    assert [bool(y[0]) for _, y in rows] == (np.arange(n) % 2 == 0).tolist()


@pytest.mark.parametrize("suffix", [".gz", ".xz"])
@pytest.mark.parametrize("fmt", ["file", "stream"])
def test_arrow_compressed(tmp_path, suffix, fmt):
    source = nominal_source()
    p = tmp_path / f"t.arrow{suffix}"
    assert write_arrow(source, p, format=fmt, batch_size=2) == 3
    back = ArrowStream(p)
    assert back.schema.features == source.schema.features and back.format == "stream"
    assert_same_rows(back, source)


def test_writers_on_empty_streams(tmp_path):
    source = ArrayStream(np.zeros((0, 2)), np.zeros((0, 3)))
    for sparse in (False, True):
        for p, write in ((tmp_path / "e.parquet", write_parquet), (tmp_path / "e.arrow", write_arrow)):
            assert write(source, p, sparse=sparse) == 0
            back = reader(p)(p)
            assert list(back) == [] and back.schema.n_features == 2 and back.schema.labels == ["y0", "y1", "y2"]


def test_writers_refuse_growing_schema_and_bad_args(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text(
        '{"features": {"a": 1}, "labels": ["s"]}\n{"features": {"a": 2}, "labels": ["t"]}\n'
    )
    with pytest.raises(SchemaChangedError):
        write_parquet(JsonlStream(p), tmp_path / "g.parquet", batch_size=1)
    with pytest.raises(SchemaChangedError):
        write_arrow(JsonlStream(p), tmp_path / "g.arrow")
    src = ArrayStream(np.zeros((1, 1)), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="format"):
        write_arrow(src, tmp_path / "x.arrow", format="zip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        write_parquet(src, tmp_path / "x.parquet", batch_size=0)
    with pytest.raises(ValueError, match="used twice"):
        write_parquet(ArrayStream(np.zeros((1, 1)), np.zeros((1, 1)), Schema.numeric(["a"], ["a"])), tmp_path / "d.parquet", sparse=False)


# ---------------------------------------------------------------------------------------------
# property: random tables round-trip


_cells = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), st.just(math.nan), st.just(0.0), st.just(-0.0)
)


@st.composite
def tables(draw):
    n = draw(st.integers(0, 12))
    d = draw(st.integers(1, 5))
    L = draw(st.integers(1, 4))
    return draw(arrays(np.float64, (n, d), elements=_cells)), draw(arrays(np.bool_, (n, L)))


@settings(max_examples=30, deadline=None)
@given(
    tables(),
    st.sampled_from(["parquet", "arrow"]),
    st.sampled_from([None, False, True]),
    st.booleans(),
    st.integers(1, 5),
)
def test_property_arrow_round_trips(table, fmt, sparse, sparse_source, batch_size):
    X, Y = table
    source = ArrayStream(sp.csr_matrix(X) if sparse_source else X, Y)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / f"t.{fmt}"
        write = write_parquet if fmt == "parquet" else write_arrow
        assert write(source, p, sparse=sparse, batch_size=batch_size) == len(Y)
        back = reader(p)(p, batch_size=batch_size)
        expect_sparse = sparse_source if sparse is None else sparse
        assert back.layout == ("sparse" if expect_sparse else "wide")
        assert back.schema.feature_names == source.schema.feature_names
        assert back.schema.labels == source.schema.labels
        got = list(back)
        assert_same_rows(got, source)
        assert all(isinstance(x, SparseRow) == expect_sparse for x, _ in got)
