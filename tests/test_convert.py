"""open_stream and convert: format by suffix, round trips through every format, ARFF included."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from connectors.arff import ArffStream, write_arff
from connectors.arrow import ArrowStream, ParquetStream
from connectors.convert import convert, format_of, open_stream
from connectors.tabular import CsvStream, JsonlStream
from streamml.schema import Feature, FeatureKind, Schema, SparseRow, row_to_dense
from streamml.stream import ArrayStream, DataError

from helpers import shared_dataset  # ../shared/datasets beside the repo; skips cleanly when absent


def assert_same_rows(got, want):
    got, want = list(got), list(want)
    assert len(got) == len(want)
    for (xg, yg), (xw, yw) in zip(got, want):
        np.testing.assert_array_equal(row_to_dense(xg), row_to_dense(xw))
        np.testing.assert_array_equal(np.asarray(yg, dtype=bool), np.asarray(yw, dtype=bool))


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("a.arff", "arff"),
        ("a.arff.xz", "arff"),
        ("a.CSV", "csv"),
        ("a.csv.gz", "csv"),
        ("a.jsonl.bz2", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.parquet", "parquet"),
        ("a.arrow", "arrow"),
        ("a.feather", "arrow"),
        ("a.ipc", "arrow"),
    ],
)
def test_format_of(name, fmt):
    assert format_of(name) == fmt


@pytest.mark.parametrize("name", ["a.txt", "a.gz", "a", "a.csv.zip"])
def test_format_of_unknown(name):
    with pytest.raises(ValueError, match="unknown format"):
        format_of(name)


def toy_source():
    X = np.array([[0.5, 0.0, 1.0], [np.nan, 2.0, 0.0], [0.0, 0.0, 0.0], [1e-3, -4.0, 2.0]])
    Y = np.array([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=bool)
    return ArrayStream(X, Y, Schema.numeric(["a", "b", "c"], ["l1", "l2"], name="toy"))


def test_open_stream_picks_reader_by_suffix(tmp_path):
    source = toy_source()
    expected = {
        "t.csv.gz": CsvStream,
        "t.ndjson": JsonlStream,
        "t.jsonl": JsonlStream,
        "t.parquet": ParquetStream,
        "t.feather": ArrowStream,
        "t.ipc": ArrowStream,
        "t.arrow": ArrowStream,
        "t.arff": ArffStream,
    }
    for name, cls in expected.items():
        p = tmp_path / name
        assert convert(source, p) == 4
        stream = open_stream(p, labels="last:2") if name.startswith("t.csv") else open_stream(p)
        assert type(stream) is cls, name
        assert stream.schema.labels == ["l1", "l2"], name
        assert_same_rows(stream, source)
    with gzip.open(tmp_path / "t.csv.gz", "rt") as f:
        assert f.readline().strip() == "a,b,c,l1,l2"


def test_open_stream_passes_options(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a;y\n1;1\nx;0\n")
    stream = open_stream(p, labels="y", on_error="skip", delimiter=";", name="nm")
    assert stream.schema.name == "nm"
    assert len(list(stream)) == 1 and stream.errors.count == 1


def test_chain_csv_parquet_jsonl_arrow_csv(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("f1,f2,happy,sad\n0.25,,yes,no\n-1,3,0,1\n,,1,1\n")
    assert convert(src, tmp_path / "a.parquet", labels="happy,sad") == 3
    assert convert(tmp_path / "a.parquet", tmp_path / "b.jsonl.xz") == 3
    assert convert(tmp_path / "b.jsonl.xz", tmp_path / "c.arrow") == 3
    assert convert(tmp_path / "c.arrow", tmp_path / "d.csv") == 3
    assert (tmp_path / "d.csv").read_text() == "f1,f2,happy,sad\n0.25,,1,0\n-1.0,3.0,0,1\n,,1,1\n"
    for name in ("a.parquet", "b.jsonl.xz", "c.arrow"):
        stream = open_stream(tmp_path / name)
        assert stream.schema.name == "in"
        assert_same_rows(stream, CsvStream(src, labels="last:2"))


@pytest.mark.parametrize("dst", ["o.parquet", "o.arrow"])
def test_convert_sparse_option(tmp_path, dst):
    source = toy_source()
    convert(source, tmp_path / dst, sparse=True)
    back = open_stream(tmp_path / dst)
    rows = list(back)
    assert all(isinstance(x, SparseRow) for x, _ in rows)
    assert_same_rows(rows, source)


def test_convert_growing_jsonl_rewrites_with_the_final_schema(tmp_path):
    src = tmp_path / "g.jsonl"
    src.write_text(
        "\n".join(
            json.dumps(m)
            for m in [
                {"id": 1, "features": {"a": 1.0}, "labels": ["sport"]},
                {"id": 2, "features": {"a": 2.0, "b": 5.0}, "labels": ["news"]},
                {"id": 3, "features": {"b": 3.0}, "labels": ["sport", "tech"]},
            ]
        )
    )
    for dst in ("g.parquet", "g.csv", "g.arff"):
        assert convert(src, tmp_path / dst, labels=None) == 3
    back = ParquetStream(tmp_path / "g.parquet")
    assert back.schema.feature_names == ["a", "b"]
    assert back.schema.labels == ["sport", "news", "tech"]
    rows = [(x.tolist(), y.tolist()) for x, y in back]
    assert rows[0][1] == [True, False, False]  # negative for the labels it came before
    assert rows[2][1] == [True, False, True]
    assert np.isnan(rows[0][0][1]) and rows[1][0] == [2.0, 5.0]
    assert_same_rows(CsvStream(tmp_path / "g.csv", labels="last:3"), back)
    assert_same_rows(ArffStream(tmp_path / "g.arff"), back)
    assert not list(tmp_path.glob(".tmp-*"))


def test_convert_failure_leaves_no_file(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("a,y\n1,1\n2,oops\n")
    for dst in ("out.parquet", "out.csv", "out.arff"):
        with pytest.raises(DataError) as info:
            convert(src, tmp_path / dst, labels="y")
        assert info.value.line == 3
        assert not (tmp_path / dst).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
    assert convert(src, tmp_path / "out.parquet", labels="y", on_error="skip") == 1


def test_convert_refuses_same_file_and_unknown_formats(tmp_path):
    src = tmp_path / "s.csv"
    src.write_text("a,y\n1,1\n")
    with pytest.raises(ValueError, match="same file"):
        convert(src, tmp_path / "." / "s.csv", labels="y")
    with pytest.raises(ValueError, match="unknown format"):
        convert(src, tmp_path / "s.xlsx", labels="y")
    with pytest.raises(ValueError, match="dialect"):
        convert(src, tmp_path / "s.arff", labels="y", dialect="weka")
    assert src.read_text() == "a,y\n1,1\n"


# ---------------------------------------------------------------------------------------------
# ARFF


TOY_ARFF = """@relation 'toy: -C 2'
@attribute sport {0,1}
@attribute music {0,1}
@attribute 'word count' numeric
@attribute colour {red,green,blue}
@data
1,0,12,green
0,1,?,red
1,1,0.5,?
"""


@pytest.mark.parametrize("via", ["parquet", "arrow", "jsonl"])
@pytest.mark.parametrize("dialect", ["meka", "mulan"])
def test_arff_round_trip_keeps_nominal_kinds(tmp_path, via, dialect):
    src = tmp_path / "toy.arff"
    src.write_text(TOY_ARFF)
    original = ArffStream(src)
    assert convert(src, tmp_path / f"toy.{via}") == 3
    mid = open_stream(tmp_path / f"toy.{via}")
    assert mid.schema.features == original.schema.features
    assert mid.schema.features[1] == Feature("colour", FeatureKind.NOMINAL, ("red", "green", "blue"))
    assert mid.schema.labels == ["sport", "music"]
    assert convert(tmp_path / f"toy.{via}", tmp_path / "back.arff", dialect=dialect) == 3
    if dialect == "mulan":
        assert (tmp_path / "back.xml").exists()
    back = ArffStream(tmp_path / "back.arff")
    assert back.schema.features == original.schema.features
    assert back.schema.labels == original.schema.labels
    assert_same_rows(back, original)
    assert not list(tmp_path.glob(".tmp-*"))


def test_arff_label_spec_strings(tmp_path):
    src = tmp_path / "plain.arff"
    src.write_text("@relation plain\n@attribute a numeric\n@attribute y1 {0,1}\n@attribute y2 {0,1}\n@data\n1,1,0\n")
    assert open_stream(src, labels="prefix:y").schema.labels == ["y1", "y2"]
    assert open_stream(src, labels=-2).schema.labels == ["y1", "y2"]
    assert open_stream(src, labels="last:1").schema.labels == ["y2"]
    with pytest.raises(DataError, match=r"plain\.arff: label column 'zz'"):
        open_stream(src, labels="zz")


def test_arff_sparse_round_trip(tmp_path):
    X = sp.csr_matrix(np.array([[0.0, 1.5, 0.0, 0.0], [0.0, 0.0, 0.0, -2.0], [0.0, 0.0, 0.0, 0.0]]))
    source = ArrayStream(X, np.array([[1, 0], [0, 0], [1, 1]]))
    write_arff(source, tmp_path / "s.arff", sparse=True)
    assert convert(tmp_path / "s.arff", tmp_path / "s.parquet") == 3
    assert pq.ParquetFile(tmp_path / "s.parquet").schema_arrow.names == ["indices", "values", "labels"]
    assert convert(tmp_path / "s.parquet", tmp_path / "s2.arff", sparse=True) == 3
    assert "{" in (tmp_path / "s2.arff").read_text().split("@data")[1]
    assert_same_rows(ArffStream(tmp_path / "s2.arff"), source)


@pytest.mark.shared
def test_emotions_arff_to_parquet_and_back(tmp_path):
    src = shared_dataset("emotions.arff.xz")  # skips cleanly when ../shared/datasets is absent
    original = list(open_stream(src))
    assert len(original) == 593
    assert convert(src, tmp_path / "emotions.parquet") == 593
    mid = ParquetStream(tmp_path / "emotions.parquet", batch_size=100)
    assert mid.schema.n_features == 72 and mid.schema.n_labels == 6
    assert_same_rows(mid, original)
    for dialect in ("meka", "mulan"):
        out = tmp_path / f"back-{dialect}.arff.gz"
        assert convert(tmp_path / "emotions.parquet", out, dialect=dialect) == 593
        back = ArffStream(out)
        assert back.schema.labels == ArffStream(src).schema.labels
        assert back.schema.feature_names == ArffStream(src).schema.feature_names
        assert_same_rows(back, original)
