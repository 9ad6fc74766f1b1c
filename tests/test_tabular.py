"""Label-column specs, CSV and JSON Lines readers and writers."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from connectors.labels import parse_label_value, resolve_label_columns
from connectors.tabular import CsvStream, JsonlStream, SchemaChangedError, write_csv, write_jsonl
from streamml.schema import Feature, FeatureKind, Schema, SparseRow, row_to_dense
from streamml.stream import ArrayStream, DataError

COLS = ["a", "b", "c", "l1", "l2"]


def as_lists(stream):
    return [(row_to_dense(x).tolist(), np.asarray(y).tolist()) for x, y in stream]


def assert_same_rows(got, want):
    got, want = list(got), list(want)
    assert len(got) == len(want)
    for (xg, yg), (xw, yw) in zip(got, want):
        np.testing.assert_array_equal(row_to_dense(xg), row_to_dense(xw))  # NaN == NaN here
        np.testing.assert_array_equal(np.asarray(yg, dtype=bool), np.asarray(yw, dtype=bool))


def nan_equal(a, b):
    return len(a) == len(b) and all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


# ---------------------------------------------------------------------------------------------
# label spec


@pytest.mark.parametrize(
    "spec, expected",
    [
        (["l2", "a"], ["l2", "a"]),
        ("l1, l2", ["l1", "l2"]),
        ("l2", ["l2"]),
        ("first:2", ["a", "b"]),
        ("last:2", ["l1", "l2"]),
        ("prefix:l", ["l1", "l2"]),
        (2, ["a", "b"]),
        (-3, ["c", "l1", "l2"]),
        ("-2", ["l1", "l2"]),
        ("1", ["a"]),
    ],
)
def test_resolve_label_columns_forms(spec, expected):
    assert resolve_label_columns(spec, COLS, "f.csv") == expected


def test_resolve_exact_name_wins_over_forms():
    cols = ["first:1", "x", "y"]
    assert resolve_label_columns("first:1", cols, "f.csv") == ["first:1"]


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("l1,zz", "label column 'zz' is not in the file"),
        (["a", "nope"], "label column 'nope'"),
        ("prefix:q", "matches no column"),
        ("first:0", "positive integer"),
        ("last:9", "asks for 9 label columns but the file has 5"),
        (0, "asks for 0"),
        (-6, "asks for 6"),
        ("a,a", "named twice"),
        ("a,,b", "empty column name"),
        ([], "empty list"),
    ],
)
def test_resolve_label_columns_errors_name_source(spec, fragment):
    with pytest.raises(DataError) as info:
        resolve_label_columns(spec, COLS, "data/my.csv")
    assert fragment in str(info.value)
    assert info.value.source == "data/my.csv"
    assert str(info.value).startswith("data/my.csv: ")


def test_resolve_label_columns_rejects_bool_and_non_strings():
    with pytest.raises(TypeError):
        resolve_label_columns(True, COLS, "f")
    with pytest.raises(TypeError):
        resolve_label_columns([1, 2], COLS, "f")


@pytest.mark.parametrize(
    "value, expected",
    [("1", True), ("0", False), ("TRUE", True), ("False", False), (" yes ", True), ("No", False), (True, True), (0, False), (1.0, True)],
)
def test_parse_label_value(value, expected):
    assert parse_label_value(value) is expected


@pytest.mark.parametrize("value", ["2", "", "?", "y", None, 0.5, "nan"])
def test_parse_label_value_rejects(value):
    with pytest.raises(ValueError):
        parse_label_value(value)


# ---------------------------------------------------------------------------------------------
# CSV reading


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_reads_features_labels_and_missing(tmp_path):
    p = write(tmp_path / "d.csv", "a,b,l1,l2\n0.5,?,1,no\n,3e2,True,YES\n")
    stream = CsvStream(p, labels="last:2")
    assert stream.schema.feature_names == ["a", "b"]
    assert stream.schema.labels == ["l1", "l2"]
    assert stream.schema.name == "d"
    rows = as_lists(stream)
    assert nan_equal(rows[0][0], [0.5, math.nan]) and rows[0][1] == [True, False]
    assert nan_equal(rows[1][0], [math.nan, 300.0]) and rows[1][1] == [True, True]
    assert all(isinstance(x, np.ndarray) and x.dtype == np.float64 for x, _ in stream)


def test_csv_label_columns_anywhere_keep_spec_order(tmp_path):
    p = write(tmp_path / "d.csv", "y2,a,y1,b\n1,1,0,2\n")
    stream = CsvStream(p, labels=["y1", "y2"])
    assert stream.schema.feature_names == ["a", "b"]
    assert as_lists(stream) == [([1.0, 2.0], [False, True])]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_delimiter_and_quotes(tmp_path, delimiter):
    p = write(tmp_path / "d.csv", delimiter.join(['"a b"', '"l,1"']) + "\n" + delimiter.join(['"1.5"', "1"]) + "\n")
    stream = CsvStream(p, labels="l,1", delimiter=delimiter)
    assert stream.schema.feature_names == ["a b"]
    assert as_lists(stream) == [([1.5], [True])]


def test_csv_blank_lines_and_bom_and_spaces(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("\ufeffa , l\n\n 1 , 1 \n\n2,0\n".encode())
    stream = CsvStream(p, labels="l")
    assert stream.schema.feature_names == ["a"]
    assert as_lists(stream) == [([1.0], [True]), ([2.0], [False])]


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("1,2", "expected 3 fields, found 2"),
        ("1,2,1,4", "expected 3 fields, found 4"),
        ("1,abc,1", "feature 'b' has non-numeric value 'abc'"),
        ("1,2,maybe", "label 'l' has bad value 'maybe'"),
        ("1,2,", "label 'l' has bad value ''"),
        ("1,2,?", "label 'l' has bad value '?'"),
        ("nan,2,1", "feature 'a' has non-finite value 'nan'"),
        ("1,inf,1", "feature 'b' has non-finite value 'inf'"),
        ("-inf,2,1", "feature 'a' has non-finite value '-inf'"),
        ("1,Infinity,1", "non-finite value 'Infinity'"),
        ("1,1e999,0", "non-finite value '1e999'"),
    ],
)
def test_csv_bad_lines_name_file_and_line(tmp_path, line, fragment):
    p = write(tmp_path / "bad.csv", f"a,b,l\n1,2,1\n\n{line}\n3,4,0\n")
    stream = CsvStream(p, labels="l")
    with pytest.raises(DataError) as info:
        list(stream)
    err = info.value
    assert fragment in err.reason
    assert err.line == 4
    assert err.source == str(p)
    assert str(err).startswith(f"{p}:4: ")
    # skip mode: the bad line is skipped and counted, the others are read
    skipping = CsvStream(p, labels="l", on_error="skip")
    assert as_lists(skipping) == [([1.0, 2.0], [True]), ([3.0, 4.0], [False])]
    assert skipping.errors.count == 1
    assert fragment in skipping.errors.first[0] and ":4:" in skipping.errors.first[0]


def test_csv_line_numbers_are_physical_lines_across_quoted_newlines(tmp_path):
    p = write(tmp_path / "q.csv", 'a,b,l\n1,"2",1\n"3\n",4,0\n5,x,1\n')
    stream = CsvStream(p, labels="l")
    it = iter(stream)
    assert next(it)[0].tolist() == [1.0, 2.0]
    assert next(it)[0].tolist() == [3.0, 4.0]
    with pytest.raises(DataError) as info:
        next(it)
    assert info.value.line == 5


def test_csv_unterminated_quote_is_a_data_error(tmp_path):
    p = write(tmp_path / "u.csv", 'a,l\n1,1\n"2,0\n')
    with pytest.raises(DataError) as info:
        list(CsvStream(p, labels="l"))
    assert info.value.source == str(p)
    assert info.value.line == 3


def test_csv_skip_counts_and_resets_each_pass(tmp_path):
    p = write(tmp_path / "s.csv", "a,l\n1,1\nx,1\n2,2\n3,0\n,1\n")
    stream = CsvStream(p, labels="l", on_error="skip")
    assert len(list(stream)) == 3
    assert stream.errors.count == 2
    assert len(list(stream)) == 3
    assert stream.errors.count == 2  # a new pass starts a new report


def test_csv_yields_rows_before_a_later_bad_line(tmp_path):
    p = write(tmp_path / "late.csv", "a,l\n" + "1,1\n" * 50 + "oops,1\n")
    it = iter(CsvStream(p, labels="l"))
    assert next(it)[0].tolist() == [1.0]
    with pytest.raises(DataError) as info:
        list(it)
    assert info.value.line == 52


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("a,a,l\n1,2,1\n", "column 'a' appears twice"),
        ("a,,l\n1,2,1\n", "empty column name"),
    ],
)
def test_csv_bad_header(tmp_path, text, fragment):
    p = write(tmp_path / "h.csv", text)
    with pytest.raises(DataError) as info:
        CsvStream(p, labels="l")
    assert fragment in str(info.value) and str(p) in str(info.value)


def test_csv_label_spec_errors(tmp_path):
    p = write(tmp_path / "h.csv", "a,b\n1,1\n")
    with pytest.raises(DataError, match=r"h\.csv: label column 'zz' is not in the file"):
        CsvStream(p, labels="zz")
    with pytest.raises(ValueError, match="label spec"):
        CsvStream(p, labels=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_error"):
        CsvStream(p, labels="b", on_error="ignore")
    with pytest.raises(ValueError, match="delimiter"):
        CsvStream(p, labels="b", delimiter=";;")


@pytest.mark.parametrize("suffix, opener", [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_csv_and_jsonl_compressed(tmp_path, suffix, opener):
    p = tmp_path / f"d.csv{suffix}"
    with opener(p, "wt") as f:
        f.write("a,l\n1.5,1\n?,0\n")
    stream = CsvStream(p, labels="l")
    assert stream.schema.name == "d"
    rows = as_lists(stream)
    assert rows[0] == ([1.5], [True]) and math.isnan(rows[1][0][0])
    q = tmp_path / f"m.jsonl{suffix}"
    with opener(q, "wt") as f:
        f.write('{"features": [1.0], "labels": ["x"]}\n')
    assert as_lists(JsonlStream(q)) == [([1.0], [True])]
    # and the writers compress too
    out = tmp_path / f"out.csv{suffix}"
    assert write_csv(CsvStream(p, labels="l"), out) == 2
    with opener(out, "rt") as f:
        assert f.readline().strip() == "a,l"
    assert_same_rows(CsvStream(out, labels="l"), CsvStream(p, labels="l"))


# ---------------------------------------------------------------------------------------------
# CSV writing


def test_write_csv_round_trip_dense_sparse_and_nominal(tmp_path):
    X = np.array([[0.1, np.nan, 0.0], [1e-300, 2.0, -3.5]])
    Y = np.array([[1, 0], [0, 0]], dtype=bool)
    schema = Schema(
        [Feature("p"), Feature("colour", FeatureKind.NOMINAL, ("red", "green", "blue")), Feature("q r")],
        ["happy", "sad"],
    )
    dense = ArrayStream(X, Y, schema)
    p = tmp_path / "o.csv"
    assert write_csv(dense, p) == 2
    back = CsvStream(p, labels="last:2")
    assert back.schema.feature_names == ["p", "colour", "q r"]
    assert all(f.kind == FeatureKind.NUMERIC for f in back.schema.features)  # CSV keeps no kinds
    assert_same_rows(back, dense)
    sparse = ArrayStream(sp.csr_matrix(np.nan_to_num(X)), Y)
    assert write_csv(sparse, tmp_path / "s.csv") == 2
    assert_same_rows(CsvStream(tmp_path / "s.csv", labels=-2), sparse)


def test_write_csv_refuses_shared_names(tmp_path):
    stream = ArrayStream(np.zeros((1, 1)), np.zeros((1, 1)), Schema.numeric(["a"], ["a"]))
    with pytest.raises(ValueError, match="'a' is used twice"):
        write_csv(stream, tmp_path / "x.csv")


def test_write_csv_quotes_awkward_names(tmp_path):
    schema = Schema.numeric(['a,b', 'say "hi"', "ü"], ["l;1"])
    stream = ArrayStream(np.array([[1.0, 2.0, 3.0]]), np.array([[True]]), schema)
    write_csv(stream, tmp_path / "n.csv")
    back = CsvStream(tmp_path / "n.csv", labels=["l;1"])
    assert back.schema.feature_names == schema.feature_names
    assert_same_rows(back, stream)


_cells = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), st.just(math.nan), st.just(0.0), st.integers(-5, 5).map(float)
)


@st.composite
def tables(draw):
    n = draw(st.integers(0, 10))
    d = draw(st.integers(1, 5))
    L = draw(st.integers(1, 4))
    X = draw(arrays(np.float64, (n, d), elements=_cells))
    Y = draw(arrays(np.bool_, (n, L)))
    return X, Y


@settings(max_examples=30, deadline=None)
@given(tables(), st.sampled_from(["csv", "flat", "structured", "structured-no-header", "sparse"]))
def test_property_text_round_trips(table, form):
    X, Y = table
    source = ArrayStream(sp.csr_matrix(X) if form == "sparse" else X, Y)
    with tempfile.TemporaryDirectory() as tmp:
        if form == "csv":
            p = Path(tmp) / "t.csv"
            assert write_csv(source, p) == len(Y)
            back = CsvStream(p, labels=f"last:{Y.shape[1]}")
        else:
            p = Path(tmp) / "t.jsonl"
            layout = "flat" if form == "flat" else "structured"
            assert write_jsonl(source, p, layout, header=form != "structured-no-header") == len(Y)
            back = JsonlStream(p)
        got = list(back)
        if form == "structured-no-header":
            # feature names survive, labels never positive do not; the positives keep their names
            assert set(back.schema.labels) == {f"y{j}" for j in np.flatnonzero(Y.any(axis=0))}
            for (x, y), xs, ys in zip(got, X, Y):
                np.testing.assert_array_equal(x, xs)
                assert {back.schema.labels[j] for j in np.flatnonzero(y)} == {f"y{j}" for j in np.flatnonzero(ys)}
            assert len(got) == len(Y)
            return
        assert back.schema.feature_names == source.schema.feature_names
        assert back.schema.labels == source.schema.labels
        assert_same_rows(got, source)
        if form == "sparse":
            assert all(isinstance(x, SparseRow) and x.size == X.shape[1] for x, _ in got)


# ---------------------------------------------------------------------------------------------
# JSON Lines: flat layout


def jsonl(path: Path, *objs, raw: list[str] | None = None) -> Path:
    lines = [o if isinstance(o, str) else json.dumps(o) for o in objs]
    path.write_text("\n".join(lines + (raw or [])) + "\n")
    return path


def test_jsonl_flat(tmp_path):
    p = jsonl(
        tmp_path / "f.jsonl",
        {"a": 0.5, "b": 1, "l1": 1, "l2": False},
        {"b": None, "a": 2, "l2": "yes", "l1": 0},
        {"a": 1, "l1": True, "l2": "No"},
    )
    stream = JsonlStream(p, labels="prefix:l")
    assert stream.schema.feature_names == ["a", "b"]
    assert stream.schema.labels == ["l1", "l2"]
    rows = as_lists(stream)
    assert rows[0] == ([0.5, 1.0], [True, False])
    assert nan_equal(rows[1][0], [2.0, math.nan]) and rows[1][1] == [False, True]
    assert nan_equal(rows[2][0], [1.0, math.nan]) and rows[2][1] == [True, False]


def test_jsonl_flat_needs_label_spec(tmp_path):
    p = jsonl(tmp_path / "f.jsonl", {"a": 1, "l": 1})
    with pytest.raises(DataError, match=r"f\.jsonl:1: flat JSON objects need a label spec"):
        JsonlStream(p)


@pytest.mark.parametrize(
    "line, fragment",
    [
        ('{"a": 1, "l": 1, "zz": 3}', "unknown key 'zz'"),
        ('{"a": 1}', "label 'l' is missing"),
        ('{"a": "x", "l": 1}', "feature 'a' has non-numeric value 'x'"),
        ('{"a": true, "l": 1}', "feature 'a' has non-numeric value True"),
        ('{"a": NaN, "l": 1}', "non-finite literal NaN"),
        ('{"a": Infinity, "l": 1}', "non-finite literal Infinity"),
        ('{"a": -Infinity, "l": 1}', "non-finite literal -Infinity"),
        ('{"a": 1e999, "l": 1}', "non-finite value"),
        ('{"a": 1, "l": 2}', "label 'l': bad label value 2"),
        ('{"a": 1, "l": null}', "label 'l': bad label value None"),
        ('{"a": 1, "l": ', "invalid JSON"),
        ("[1, 2]", "expected a JSON object, found list"),
        ('{"schema": {"features": [], "labels": []}}', "schema line is only allowed as the first line"),
    ],
)
def test_jsonl_bad_lines_name_file_and_line(tmp_path, line, fragment):
    p = jsonl(tmp_path / "bad.jsonl", {"a": 1, "l": 1}, "", line, {"a": 2, "l": 0})
    with pytest.raises(DataError) as info:
        list(JsonlStream(p, labels="l"))
    assert fragment in info.value.reason
    assert info.value.line == 3 and info.value.source == str(p)
    assert str(info.value).startswith(f"{p}:3: ")
    skipping = JsonlStream(p, labels="l", on_error="skip")
    assert as_lists(skipping) == [([1.0], [True]), ([2.0], [False])]
    assert skipping.errors.count == 1 and ":3:" in skipping.errors.first[0]


def test_jsonl_bad_first_line(tmp_path):
    p = jsonl(tmp_path / "b.jsonl", "{oops", {"a": 1, "l": 1})
    with pytest.raises(DataError, match=r"b\.jsonl:1: invalid JSON"):
        JsonlStream(p, labels="l")
    stream = JsonlStream(p, labels="l", on_error="skip")
    assert stream.schema.feature_names == ["a"]
    assert as_lists(stream) == [([1.0], [True])]
    assert stream.errors.count == 1


def test_jsonl_empty_file(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text("\n")
    stream = JsonlStream(p, labels=["a", "b"])
    assert list(stream) == [] and stream.schema.labels == ["a", "b"] and stream.schema.n_features == 0


# ---------------------------------------------------------------------------------------------
# JSON Lines: structured layout


def test_jsonl_structured_dict_features_and_label_growth(tmp_path):
    p = jsonl(
        tmp_path / "s.jsonl",
        {"id": "m1", "features": {"a": 1.0, "b": 2.0}, "labels": ["sport"]},
        {"id": "m2", "features": {"b": 3.0}, "labels": []},
        {"id": "m3", "features": {"c": 4.0, "a": 5.0}, "labels": ["news", "sport"]},
        {"id": "m4", "features": {"a": None}, "labels": {"sport": False, "tech": True, "news": False}},
    )
    stream = JsonlStream(p)
    # the first message is known at construction
    assert stream.schema.feature_names == ["a", "b"] and stream.schema.labels == ["sport"]
    got = [(x.tolist(), y.tolist()) for x, y in stream]
    assert nan_equal(got[0][0], [1.0, 2.0]) and got[0][1] == [True]
    assert nan_equal(got[1][0], [math.nan, 3.0]) and got[1][1] == [False]
    assert nan_equal(got[2][0], [5.0, math.nan, 4.0]) and got[2][1] == [True, True]
    assert nan_equal(got[3][0], [math.nan] * 3) and got[3][1] == [False, False, True]
    assert stream.schema.feature_names == ["a", "b", "c"]
    assert stream.schema.labels == ["sport", "news", "tech"]
    # a second pass knows every label from the start
    assert [len(y) for _, y in stream] == [3, 3, 3, 3]


def test_jsonl_structured_dense_list_and_predeclared_labels(tmp_path):
    p = jsonl(
        tmp_path / "l.jsonl",
        {"features": [1, 2], "labels": ["b"]},
        {"features": [3, None], "labels": ["a", "c"]},
    )
    stream = JsonlStream(p, labels=["a", "b"])
    assert stream.schema.feature_names == ["x0", "x1"]
    got = as_lists(stream)
    assert got[0] == ([1.0, 2.0], [False, True])
    assert nan_equal(got[1][0], [3.0, math.nan]) and got[1][1] == [True, False, True]
    assert stream.schema.labels == ["a", "b", "c"]
    with pytest.raises(ValueError, match="label names"):
        JsonlStream(p, labels="last:2")


def test_jsonl_structured_sparse_grows_feature_space(tmp_path):
    p = jsonl(
        tmp_path / "sp.jsonl",
        {"features": {"indices": [0, 2], "values": [1.5, -1]}, "labels": ["x"]},
        {"features": {"indices": [5, 1], "values": [2, None]}, "labels": ["y"]},
        {"features": {"indices": [], "values": []}, "labels": []},
    )
    stream = JsonlStream(p)
    assert stream.schema.sparse and stream.schema.n_features == 3
    rows = list(stream)
    assert rows[0][0] == SparseRow(np.array([0, 2], np.int32), np.array([1.5, -1.0]), 3)
    assert rows[1][0] == SparseRow(np.array([1, 5], np.int32), np.array([np.nan, 2.0]), 6)
    assert rows[2][0] == SparseRow(np.array([], np.int32), np.array([]), 6)
    assert [y.tolist() for _, y in rows] == [[True], [False, True], [False, False]]
    assert stream.schema.feature_names == [f"x{i}" for i in range(6)]


def test_jsonl_generated_feature_names_do_not_clash(tmp_path):
    p = jsonl(
        tmp_path / "c.jsonl",
        {"features": {"x1": 1.0}, "labels": []},
        {"features": {"indices": [1], "values": [2.0]}, "labels": []},
    )
    stream = JsonlStream(p)
    list(stream)
    assert stream.schema.feature_names == ["x1", "x1_1"]


@pytest.mark.parametrize(
    "message, fragment",
    [
        ({"id": 9, "features": {"a": 1}, "labels": [3]}, "message id=9: label names must be strings"),
        ({"id": "k", "features": {"a": "x"}, "labels": []}, "message id='k': feature 'a' has non-numeric value 'x'"),
        ({"features": {"a": 1}, "labels": "sport"}, "'labels' must be a list"),
        ({"features": {"a": 1}, "labels": {"sport": 3}}, "label 'sport': bad label value 3"),
        ({"features": {"a": 1}}, "needs both 'features' and 'labels'"),
        ({"features": {"a": 1}, "labels": [], "extra": 1}, "unknown key 'extra'"),
        ({"features": [1, 2], "labels": []}, "dense features have 2 values, the schema has 1"),
        ({"features": {"indices": [0, 1], "values": [1]}, "labels": []}, "2 indices but 1 values"),
        ({"features": {"indices": [-1], "values": [1]}, "labels": []}, "index -1 is not a non-negative integer"),
        ({"features": {"indices": [0], "values": [1], "size": 3}, "labels": []}, "exactly the lists"),
        ({"features": 3, "labels": ["a"]}, "'features' must be a dict or a list"),
    ],
)
def test_jsonl_structured_bad_messages(tmp_path, message, fragment):
    p = jsonl(tmp_path / "m.jsonl", {"features": {"a": 1}, "labels": ["s"]}, message)
    with pytest.raises(DataError) as info:
        list(JsonlStream(p))
    assert fragment in info.value.reason and info.value.line == 2
    skipping = JsonlStream(p, on_error="skip")
    assert len(list(skipping)) == 1 and skipping.errors.count == 1
    # a bad message commits none of its new names
    assert skipping.schema.feature_names == ["a"] and skipping.schema.labels == ["s"]


def test_jsonl_flat_and_structured_lines_mix(tmp_path):
    p = jsonl(
        tmp_path / "mix.jsonl",
        {"a": 1, "l": 0},
        {"features": {"a": 2, "b": 3}, "labels": ["l"]},
        {"a": 4, "b": 5, "l": 1},
    )
    assert as_lists(JsonlStream(p, labels="l")) == [([1.0], [False]), ([2.0, 3.0], [True]), ([4.0, 5.0], [True])]


def test_jsonl_header_round_trip_keeps_kinds_and_all_labels(tmp_path):
    schema = Schema(
        [Feature("colour", FeatureKind.NOMINAL, ("red", "green")), Feature("w")], ["l0", "never"], name="toy"
    )
    source = ArrayStream(np.array([[1.0, 0.5], [np.nan, 2.0]]), np.array([[1, 0], [0, 0]]), schema)
    for layout in ("structured", "flat"):
        p = tmp_path / f"{layout}.jsonl"
        assert write_jsonl(source, p, layout) == 2
        back = JsonlStream(p)
        assert back.schema.features == schema.features
        assert back.schema.labels == ["l0", "never"] and back.schema.name == "toy"
        assert_same_rows(back, source)


def test_jsonl_header_checks_nominal_codes_and_label_spec(tmp_path):
    header = {"schema": Schema([Feature("c", FeatureKind.NOMINAL, ("a", "b"))], ["l"]).to_dict()}
    p = jsonl(tmp_path / "n.jsonl", header, {"features": [1], "labels": []}, {"features": [2], "labels": ["l"]})
    with pytest.raises(DataError) as info:
        list(JsonlStream(p))
    assert info.value.line == 3 and "nominal feature 'c' has code 2.0" in info.value.reason
    with pytest.raises(DataError, match="declares labels"):
        JsonlStream(p, labels="c")
    assert JsonlStream(p, labels="l").schema.labels == ["l"]


def test_jsonl_sparse_nominal_codes_are_checked(tmp_path):
    header = {"schema": Schema([Feature("w"), Feature("c", FeatureKind.NOMINAL, ("a", "b"))], ["l"]).to_dict()}
    p = jsonl(
        tmp_path / "sn.jsonl",
        header,
        {"features": {"indices": [0, 1, 4], "values": [9.5, 1, 7.25]}, "labels": []},
        {"features": {"indices": [1], "values": [5]}, "labels": []},
    )
    stream = JsonlStream(p, on_error="skip")
    rows = list(stream)
    assert rows[0][0] == SparseRow(np.array([0, 1, 4], np.int32), np.array([9.5, 1.0, 7.25]), 5)
    assert len(rows) == 1 and stream.errors.count == 1
    assert ":3: nominal feature 'c' has code 5.0, not in 0..1" in stream.errors.first[0]


def test_write_jsonl_structured_sparse_lines(tmp_path):
    source = ArrayStream(sp.csr_matrix(np.array([[0.0, 2.0], [0.0, 0.0]])), np.array([[0, 1], [0, 0]]))
    p = tmp_path / "o.jsonl"
    assert write_jsonl(source, p) == 2
    lines = [json.loads(s) for s in p.read_text().splitlines()]
    assert lines[0]["schema"]["labels"] == ["y0", "y1"]
    assert lines[1] == {"id": 0, "features": {"indices": [1], "values": [2.0]}, "labels": ["y1"]}
    assert lines[2] == {"id": 1, "features": {"indices": [], "values": []}, "labels": []}
    with pytest.raises(ValueError, match="layout"):
        write_jsonl(source, p, "wide")  # type: ignore[arg-type]


def test_writers_refuse_a_growing_schema(tmp_path):
    p = jsonl(
        tmp_path / "g.jsonl",
        {"features": {"a": 1}, "labels": ["s"]},
        {"features": {"a": 2}, "labels": ["t"]},
    )
    with pytest.raises(SchemaChangedError, match="grew"):
        write_csv(JsonlStream(p), tmp_path / "o.csv")
    with pytest.raises(SchemaChangedError):
        write_jsonl(JsonlStream(p), tmp_path / "o.jsonl")
