"""ARFF connector: MEKA and Mulan dialects, dense and sparse rows, bad input, round trips, real files."""

from __future__ import annotations

import bz2
import gzip
import lzma
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.arff import (
    ArffStream,
    default_xml_path,
    meka_label_count,
    read_header,
    read_mulan_labels,
    write_arff,
)
from helpers import shared_dataset
from streamml.schema import Feature, FeatureKind, Schema, SparseRow, row_to_dense
from streamml.stream import ArrayStream, DataError

MULAN_NS = "http://mulan.sourceforge.net/labels"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def mulan_xml(path: Path, *names: str) -> Path:
    body = "".join(f'<label name="{n}"></label>' for n in names)
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<labels xmlns="{MULAN_NS}">{body}</labels>\n')
    return path


def rows_of(stream):
    return [(x, y.tolist()) for x, y in stream]


def dense_rows(stream):
    return [(row_to_dense(x).tolist(), y.tolist()) for x, y in stream]


def same(a, b) -> bool:
    """Rows equal, NaN equal to NaN, sparse compared as sparse."""
    if isinstance(a, SparseRow) or isinstance(b, SparseRow):
        return isinstance(a, SparseRow) and isinstance(b, SparseRow) and a == b
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


MEKA_DENSE = """% comment before the relation
@relation 'toy: -C 2'

@attribute sport {0,1}
@attribute music {0,1}
@attribute a numeric
@attribute b REAL

@data
1,0,0.5,-2
0,1,1e3,0

% comment among data
1,1,?,7
"""


# --------------------------------------------------------------------------------------------------
# Dialects
# --------------------------------------------------------------------------------------------------


def test_meka_labels_first_dense(tmp_path):
    stream = ArffStream(write(tmp_path / "toy.arff", MEKA_DENSE))
    assert stream.schema.labels == ["sport", "music"]
    assert stream.schema.feature_names == ["a", "b"]
    assert stream.schema.name == "toy" and stream.schema.sparse is False
    rows = dense_rows(stream)
    assert rows[0] == ([0.5, -2.0], [True, False])
    assert rows[1] == ([1000.0, 0.0], [False, True])
    assert math.isnan(rows[2][0][0]) and rows[2][0][1] == 7.0 and rows[2][1] == [True, True]
    x, _ = next(iter(stream))
    assert isinstance(x, np.ndarray) and x.dtype == np.float64


def test_meka_negative_count_means_labels_last(tmp_path):
    path = write(tmp_path / "neg.arff", "@relation \"neg: -C -2 -other 5\"\n@attribute a numeric\n"
                 "@attribute l1 {0,1}\n@attribute l2 numeric\n@data\n3,1,0\n4,0,1\n")
    stream = ArffStream(path)
    assert stream.schema.labels == ["l1", "l2"] and stream.schema.feature_names == ["a"]
    assert dense_rows(stream) == [([3.0], [True, False]), ([4.0], [False, True])]


@pytest.mark.parametrize("relation, expected", [
    ("'Music: -C 6'", 6), ("enron -C -14 -split-percentage 50", -14), ("'x:-C 3'", 3),
    ("MultiLabelData", None), ("weka.filters.Remove-C5", None),
])
def test_meka_label_count_parsing(relation, expected):
    assert meka_label_count(relation.strip("'")) == expected


def test_mulan_labels_from_default_xml_keep_file_order(tmp_path):
    path = write(tmp_path / "mul.arff", "@relation MultiLabelData\n@attribute f1 numeric\n@attribute B {0,1}\n"
                 "@attribute f2 numeric\n@attribute A {0,1}\n@data\n1,1,2,0\n3,0,4,1\n")
    mulan_xml(tmp_path / "mul.xml", "A", "B")  # XML order differs from the file's, as in yeast
    stream = ArffStream(path)
    assert stream.schema.labels == ["B", "A"] and stream.schema.feature_names == ["f1", "f2"]
    assert dense_rows(stream) == [([1.0, 2.0], [True, False]), ([3.0, 4.0], [False, True])]


def test_mulan_hierarchical_xml_collects_nested_labels(tmp_path):
    xml = tmp_path / "h.xml"
    xml.write_text(f'<labels xmlns="{MULAN_NS}"><label name="top"><label name="top.a"/>'
                   '<label name="top.b"><label name="top.b.x"/></label></label><label name="other"/></labels>')
    assert read_mulan_labels(xml) == ["top", "top.a", "top.b", "top.b.x", "other"]


def test_default_xml_path_strips_compression_and_arff():
    assert default_xml_path("data/yeast.arff.xz") == Path("data/yeast.xml")
    assert default_xml_path("data/yeast.arff") == Path("data/yeast.xml")
    assert default_xml_path("d/x.v2.ARFF.gz") == Path("d/x.v2.xml")


def test_explicit_labels_and_xml_override_the_file(tmp_path):
    path = write(tmp_path / "t.arff", MEKA_DENSE)
    assert ArffStream(path, labels=1).schema.labels == ["sport"]
    assert ArffStream(path, labels=-1).schema.labels == ["b"]
    by_name = ArffStream(path, labels=["music", "sport"])  # the list's order, not the file's
    assert by_name.schema.labels == ["music", "sport"] and by_name.schema.feature_names == ["a", "b"]
    assert dense_rows(by_name)[:2] == [([0.5, -2.0], [False, True]), ([1000.0, 0.0], [True, False])]
    xml = mulan_xml(tmp_path / "elsewhere.xml", "music")
    assert ArffStream(path, xml=xml).schema.labels == ["music"]


def test_no_label_information_is_a_clear_error_naming_the_file(tmp_path):
    path = write(tmp_path / "plain.arff", "@relation plain\n@attribute a numeric\n@attribute l {0,1}\n@data\n1,0\n")
    with pytest.raises(DataError) as e:
        ArffStream(path)
    assert "plain.arff" in str(e.value) and "labels" in str(e.value) and "plain.xml" in str(e.value)


@pytest.mark.parametrize("kwargs, needle", [
    ({"labels": ["nope"]}, "'nope'"),
    ({"labels": 5}, "5 labels"),
    ({"labels": 0}, "0 labels"),
])
def test_bad_label_choices_are_refused(tmp_path, kwargs, needle):
    path = write(tmp_path / "t.arff", MEKA_DENSE)
    with pytest.raises(DataError, match=needle):
        ArffStream(path, **kwargs)


def test_labels_as_a_string_is_a_type_error(tmp_path):
    with pytest.raises(TypeError):
        ArffStream(write(tmp_path / "t.arff", MEKA_DENSE), labels="sport")


def test_xml_naming_an_absent_attribute_is_an_error(tmp_path):
    path = write(tmp_path / "m.arff", "@relation m\n@attribute a numeric\n@attribute l {0,1}\n@data\n1,0\n")
    mulan_xml(tmp_path / "m.xml", "l", "ghost")
    with pytest.raises(DataError, match="ghost"):
        ArffStream(path)


def test_label_domains(tmp_path):
    path = write(tmp_path / "d.arff", "@relation 'd: -C 3'\n@attribute t {f,t}\n@attribute yes {YES,NO}\n"
                 "@attribute n numeric\n@attribute x numeric\n@data\nt,NO,1,0\nf,YES,0,1\n?,?,?,2\n")
    assert dense_rows(ArffStream(path)) == [
        ([0.0], [True, False, True]), ([1.0], [False, True, False]), ([2.0], [False, False, False])
    ]  # a missing label is irrelevant


def test_counts_like_solar_flare_warn_and_count_only_one(tmp_path):
    path = write(tmp_path / "c.arff", "@relation 'c: -C 1'\n@attribute c {0,1,2}\n@attribute x numeric\n"
                 "@data\n0,1\n1,2\n2,3\n")
    with pytest.warns(UserWarning, match="only the value 1"):
        stream = ArffStream(path)
    assert [y for _, y in dense_rows(stream)] == [[False], [True], [False]]


def test_multi_target_labels_are_refused(tmp_path):
    path = write(tmp_path / "mt.arff", "@relation 'mt: -C 1'\n@attribute c {A,B,NEG}\n@attribute x numeric\n"
                 "@data\nA,1\n")
    with pytest.raises(DataError, match=r"mt\.arff:2: label attribute 'c' is not binary"):
        ArffStream(path)


# --------------------------------------------------------------------------------------------------
# Sparse rows
# --------------------------------------------------------------------------------------------------

MULAN_SPARSE = """@relation sparse
@attribute w0 numeric
@attribute w1 numeric
@attribute L0 {0,1}
@attribute w2 numeric
@attribute L1 {0,1}
@data
{0 1.5,2 1,3 4}
{}
{ 1 ?, 4 1 }
{3 0,4 0}
"""


def test_sparse_rows_are_remapped_to_the_feature_space(tmp_path):
    path = write(tmp_path / "sparse.arff", MULAN_SPARSE)
    mulan_xml(tmp_path / "sparse.xml", "L0", "L1")
    stream = ArffStream(path)
    assert stream.schema.sparse is True and stream.schema.feature_names == ["w0", "w1", "w2"]
    rows = rows_of(stream)
    assert rows[0][0] == SparseRow(np.array([0, 2], dtype=np.int32), np.array([1.5, 4.0]), 3)
    assert rows[0][1] == [True, False]
    assert rows[1][0] == SparseRow(np.array([], dtype=np.int32), np.array([]), 3) and rows[1][1] == [False, False]
    x2 = rows[2][0]
    assert x2.indices.tolist() == [1] and math.isnan(x2.values[0]) and rows[2][1] == [False, True]
    assert rows[3][0].nnz == 0 and rows[3][1] == [False, False]  # explicit zeros are not stored
    assert all(r[0].indices.dtype == np.int32 for r in rows)


def test_dense_true_densifies_and_dense_false_sparsifies(tmp_path):
    path = write(tmp_path / "sparse.arff", MULAN_SPARSE)
    mulan_xml(tmp_path / "sparse.xml", "L0", "L1")
    dense = ArffStream(path, dense=True)
    assert dense.schema.sparse is False
    rows = rows_of(dense)
    assert isinstance(rows[0][0], np.ndarray) and rows[0][0].tolist() == [1.5, 0.0, 4.0]
    assert np.isnan(rows[2][0][1])
    sparse = ArffStream(write(tmp_path / "toy.arff", MEKA_DENSE), dense=False)
    assert sparse.schema.sparse is True
    x, y = next(iter(sparse))
    assert x == SparseRow(np.array([0, 1], dtype=np.int32), np.array([0.5, -2.0]), 2)
    assert list(sparse)[2][0].indices.tolist() == [0, 1]  # NaN kept as an explicit entry


def test_lines_of_the_other_form_are_converted(tmp_path):
    path = write(tmp_path / "mixed.arff", "@relation 'm: -C 1'\n@attribute l {0,1}\n@attribute a numeric\n"
                 "@attribute b numeric\n@data\n{0 1,2 5}\n0,3,0\n")
    rows = rows_of(ArffStream(path))
    assert all(isinstance(x, SparseRow) for x, _ in rows)
    assert rows[1][0] == SparseRow(np.array([0], dtype=np.int32), np.array([3.0]), 2)


def test_sparse_omitted_value_is_the_first_declared_one(tmp_path):
    # Weka's rule: an omitted attribute of a sparse line has code 0, i.e. its first declared value.
    path = write(tmp_path / "o.arff", "@relation 'o: -C 2'\n@attribute on {1,0}\n@attribute off {0,1}\n"
                 "@attribute x numeric\n@data\n{2 3}\n{0 0,1 1}\n")
    assert dense_rows(ArffStream(path)) == [([3.0], [True, False]), ([0.0], [False, True])]


def test_sparse_weight_and_unsorted_indices(tmp_path):
    path = write(tmp_path / "w.arff", "@relation 'w: -C 1'\n@attribute l {0,1}\n@attribute a numeric\n"
                 "@attribute b numeric\n@data\n{2 5,0 1}, {3}\n1,2,3,{0.5}\n")
    rows = dense_rows(ArffStream(path))
    assert rows == [([0.0, 5.0], [True]), ([2.0, 3.0], [True])]


# --------------------------------------------------------------------------------------------------
# Nominal features, quoting, dropped attributes
# --------------------------------------------------------------------------------------------------

NOMINAL = """@relation 'nom: -C 1'
@attribute 'the label' {0,1}
@attribute colour {red, 'dark green', "blue, ish"}
@attribute 'it\\'s a "size"' numeric
@attribute flag {0,1}
@data
1,'dark green',3,1
0,red,?,0
1,"blue, ish",1.5,?
0,?,2,1
"""


def test_nominal_ordinal_and_quoted_names(tmp_path):
    stream = ArffStream(write(tmp_path / "nom.arff", NOMINAL))
    s = stream.schema
    assert s.labels == ["the label"]
    assert s.features[0] == Feature("colour", FeatureKind.NOMINAL, ("red", "dark green", "blue, ish"))
    assert s.features[1] == Feature('it\'s a "size"')
    assert s.features[2] == Feature("flag", FeatureKind.NOMINAL, ("0", "1"))
    rows = dense_rows(stream)
    assert rows[0] == ([1.0, 3.0, 1.0], [True])
    assert rows[1][0][0] == 0.0 and math.isnan(rows[1][0][1])
    assert rows[2][0][:2] == [2.0, 1.5] and math.isnan(rows[2][0][2])
    assert math.isnan(rows[3][0][0])


def test_nominal_onehot(tmp_path):
    stream = ArffStream(write(tmp_path / "nom.arff", NOMINAL), nominal="onehot")
    assert stream.schema.feature_names == [
        "colour=red", "colour=dark green", "colour=blue, ish", 'it\'s a "size"', "flag=0", "flag=1"
    ]
    assert all(f.kind == FeatureKind.NUMERIC for f in stream.schema.features)
    rows = dense_rows(stream)
    assert rows[0][0] == [0.0, 1.0, 0.0, 3.0, 0.0, 1.0]
    assert rows[1][0][:3] == [1.0, 0.0, 0.0] and rows[1][0][4:] == [1.0, 0.0]
    assert all(math.isnan(v) for v in rows[3][0][:3])  # a missing nominal value: NaN in all its features


def test_onehot_sparse_omitted_nominal_is_its_first_value(tmp_path):
    path = write(tmp_path / "ns.arff", "@relation 'ns: -C 1'\n@attribute l {0,1}\n@attribute c {a,b,c}\n"
                 "@attribute x numeric\n@data\n{0 1,2 4}\n{1 c}\n")
    rows = dense_rows(ArffStream(path, nominal="onehot"))
    assert rows == [([1.0, 0.0, 0.0, 4.0], [True]), ([0.0, 0.0, 1.0, 0.0], [False])]
    assert dense_rows(ArffStream(path)) == [([0.0, 4.0], [True]), ([2.0, 0.0], [False])]


def test_invalid_nominal_option_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ordinal"):
        ArffStream(write(tmp_path / "t.arff", MEKA_DENSE), nominal="binary")  # type: ignore[arg-type]


def test_string_date_and_id_like_attributes_are_dropped_with_a_warning(tmp_path):
    ids = ",".join(f"P{i}" for i in range(300))
    path = write(tmp_path / "drop.arff", f"@relation 'drop: -C 1'\n@attribute l {{0,1}}\n@attribute name string\n"
                 f"@attribute when date 'yyyy-MM-dd'\n@attribute protein {{{ids}}}\n@attribute x numeric\n"
                 "@data\n1,'some text, quoted',\"2020-01-02\",P7,2.5\n0,plain,?,P299,3\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = ArffStream(path)
    messages = [str(w.message) for w in caught]
    for attr in ("'name'", "'when'", "'protein'"):
        assert any(attr in m and "drop.arff" in m for m in messages), (attr, messages)
    assert stream.schema.feature_names == ["x"]
    assert dense_rows(stream) == [([2.5], [True]), ([3.0], [False])]


# --------------------------------------------------------------------------------------------------
# Compression, re-iteration
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix, opener", [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_compressed_files(tmp_path, suffix, opener):
    path = tmp_path / f"toy.arff{suffix}"
    with opener(path, "wt", encoding="utf-8") as f:
        f.write(MULAN_SPARSE)
    mulan_xml(tmp_path / "toy.xml", "L0", "L1")
    plain = write(tmp_path / "plain.arff", MULAN_SPARSE)
    expected = rows_of(ArffStream(plain, labels=["L0", "L1"]))
    got = rows_of(ArffStream(path))
    assert len(got) == len(expected) == 4
    assert all(same(a[0], b[0]) and a[1] == b[1] for a, b in zip(got, expected))
    assert ArffStream(path).schema.name == "toy"


def test_stream_is_reiterable_and_counts_instances(tmp_path):
    stream = ArffStream(write(tmp_path / "toy.arff", MEKA_DENSE))
    assert stream.n_instances is None  # not known before a full pass
    first, second = dense_rows(stream), dense_rows(stream)
    assert len(first) == 3
    assert all(same(a[0], b[0]) and a[1] == b[1] for a, b in zip(first, second))
    assert stream.n_instances == 3


def test_many_lines_stream_in_chunks_identically_to_line_by_line(tmp_path):
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(1300, 5)), 4)
    X[rng.random(X.shape) < 0.3] = 0.0
    Y = rng.random((1300, 3)) < 0.4
    for sparse in (False, True):
        path = tmp_path / f"big-{sparse}.arff"
        write_arff(ArrayStream(X, Y), path, sparse=sparse)
        text = path.read_text().splitlines()
        text[700] = text[700].replace("1", "?", 1) if "1" in text[700] else text[700]  # one careful line
        path.write_text("\n".join(text) + "\n")
        fast = ArffStream(path)
        careful = ArffStream(path)
        careful._fast = False  # the line-by-line parser, for reference
        a, b = list(fast), list(careful)
        assert len(a) == len(b) == 1300
        assert all(same(xa, xb) and (ya == yb).all() for (xa, ya), (xb, yb) in zip(a, b))


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------

# "c" is nominal {0,1}: its code is its value, so good lines go through the vectorized parser.
BAD_HEADER = "@relation 'bad: -C 2'\n@attribute l1 {0,1}\n@attribute l2 {0,1}\n@attribute x numeric\n@attribute c {0,1}\n@data\n"
GOOD = "1,0,0.5,1\n"


@pytest.mark.parametrize("bad_line, needle", [
    ("1,0,'0.5,1", "unterminated quote"),
    ("1,0,0.5", "expected 4 values, got 3"),
    ("1,0,0.5,1,0", "expected 4 values, got 5"),
    ("1,0,0.5,z", "unknown nominal value 'z'"),
    ("1,0,0.5,2", "unknown nominal value '2'"),
    ("1,0,0.5,-1", "unknown nominal value '-1'"),
    ("{0 1,3 2}", "unknown nominal value '2'"),
    ("1,0,abc,1", "non-numeric value 'abc'"),
    ("1,0,,1", "empty value"),
    ("1,0,nan,1", "not finite"),
    ("1,0,NaN,1", "not finite"),
    ("1,0,inf,1", "not finite"),
    ("1,0,-inf,1", "not finite"),
    ("1,0,1e999,1", "not finite"),
    ("{0 1,2 inf}", "not finite"),
    ("2,0,0.5,1", "must be 0 or 1"),
    ("{0 0.5}", "must be 0 or 1"),
    ("{0 1,2 x}", "non-numeric value 'x'"),
    ("{0 1,1 1,2 1,3 1,4 1}", "sparse index 4 out of range"),
    ("{0 1,9 1}", "sparse index 9 out of range"),
    ("{0 1,2}", "bad sparse pair"),
    ("{0 1,2 1", "no closing"),
    ("{0 1,0 1}", "appears twice"),
    ("{0 1,-2 1}", "bad sparse pair"),
    ("{0 1,2 1} trailing", "unexpected text"),
    ("{0 1, 2 'a}", "unterminated quote"),
])
def test_bad_line_names_file_and_line(tmp_path, bad_line, needle):
    # 600 good lines first, so that the error is found inside a chunk of the vectorized parser.
    text = BAD_HEADER + "% a comment\n\n" + GOOD * 600 + bad_line + "\n" + GOOD
    path = write(tmp_path / "bad.arff", text)
    line = 9 + 600  # header 6, comment, blank, 600 good lines
    assert text.splitlines()[line - 1] == bad_line
    with pytest.raises(DataError) as e:
        list(ArffStream(path))
    msg = str(e.value)
    assert f"bad.arff:{line}:" in msg and needle in msg, msg
    assert e.value.line == line and e.value.source == str(path)

    skipping = ArffStream(path, on_error="skip")
    rows = list(skipping)
    assert len(rows) == 601
    assert skipping.errors.count == 1 and f"bad.arff:{line}:" in skipping.errors.first[0]


def test_lines_whose_errors_cancel_out_in_a_chunk_are_still_caught(tmp_path):
    # 3 values then 5 values: as many as two good lines (and read together, plausible ones), but
    # neither line is good.
    path = write(tmp_path / "bad.arff", BAD_HEADER + GOOD * 20 + "1,0,1\n1,0,1,0,1\n" + GOOD * 20)
    stream = ArffStream(path, on_error="skip")
    assert len(list(stream)) == 40 and stream.errors.count == 2
    assert "bad.arff:27:" in stream.errors.first[0] and "bad.arff:28:" in stream.errors.first[1]
    sparse = write(tmp_path / "bads.arff", BAD_HEADER + "{0 1}\n" * 20 + "{0 1,2}\n{0 1 3,1}\n" + "{0 1}\n" * 20)
    stream = ArffStream(sparse, on_error="skip")
    assert len(list(stream)) == 40 and stream.errors.count == 2


def test_quoted_question_mark_is_a_value_not_missing(tmp_path):
    path = write(tmp_path / "q.arff", "@relation 'q: -C 1'\n@attribute l {0,1}\n@attribute c {a,'?'}\n"
                 "@attribute d {a,'?'}\n@data\n1,'?' ,'?'\n0,?,a \n{1 '?'}\n")
    rows = dense_rows(ArffStream(path))
    assert rows[0] == ([1.0, 1.0], [True])
    assert math.isnan(rows[1][0][0]) and rows[1][0][1] == 0.0
    assert rows[2] == ([1.0, 0.0], [False])


def test_skip_counts_every_bad_line_and_restarts_on_each_pass(tmp_path):
    path = write(tmp_path / "bad.arff", BAD_HEADER + GOOD + "x,0,1,1\n" + GOOD + "1,0,1,q\n1,0\n" + GOOD)
    stream = ArffStream(path, on_error="skip")
    assert len(list(stream)) == 3
    assert stream.errors.count == 3 and stream.errors.to_dict()["skipped"] == 3
    assert [re.search(r"bad\.arff:(\d+):", r).group(1) for r in stream.errors.first] == ["8", "10", "11"]
    assert len(list(stream)) == 3 and stream.errors.count == 3  # a new pass, a new report


def test_bad_on_error_value_is_refused(tmp_path):
    with pytest.raises(ValueError, match="on_error"):
        ArffStream(write(tmp_path / "t.arff", MEKA_DENSE), on_error="ignore")  # type: ignore[arg-type]


@pytest.mark.parametrize("header, needle, line", [
    ("@relation r\n@attribute x numeric\n", "no @data", None),
    ("@relation r\n@attribute x numeric\n@attribute y blob\n@data\n", "unknown type", 3),
    ("@relation r\n@attribute 'x numeric\n@data\n", "unterminated quote", 2),
    ("@relation r\n@attribute c {a,b\n@data\n", "no closing", 2),
    ("@relation r\n@attribute x\n@data\n", "has no type", 2),
    ("@relation r\nhello\n@data\n", "expected @relation", 2),
    ("@relation r\n@attribute r relational\n@end r\n@data\n", "relational", 2),
])
def test_bad_header_names_file_and_line(tmp_path, header, needle, line):
    path = write(tmp_path / "head.arff", header)
    with pytest.raises(DataError) as e:
        read_header(path)
    assert needle in str(e.value) and "head.arff" in str(e.value)
    assert e.value.line == line


# --------------------------------------------------------------------------------------------------
# Writing and round trips
# --------------------------------------------------------------------------------------------------


def mixed_schema() -> Schema:
    return Schema(
        [Feature("num"), Feature("colour", FeatureKind.NOMINAL, ("red", "dark green", "?")),
         Feature("bit", FeatureKind.NOMINAL, ("0", "1")), Feature("it's, odd {x}")],
        ["lab one", "lab,two", "l3"],
        name="mixed",
    )


def mixed_rows():
    nan = math.nan
    X = np.array([[0.25, 1, 1, 0], [0, 0, 0, -3e-7], [nan, nan, 1, 12345.5], [0, 2, 0, 0]])
    Y = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0], [1, 1, 1]], dtype=bool)
    return X, Y


@pytest.mark.parametrize("dialect", ["meka", "mulan"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("sparse_input", [False, True])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dialect, sparse, sparse_input, suffix):
    schema = mixed_schema()
    X, Y = mixed_rows()
    rows = [(SparseRow.from_dense(x) if sparse_input else x, y) for x, y in zip(X, Y)]
    path = tmp_path / f"out.arff{suffix}"
    write_arff((schema, rows), path, dialect=dialect, sparse=sparse)
    assert default_xml_path(path).exists() == (dialect == "mulan")
    back = ArffStream(path, dense=True)
    assert back.schema.features == schema.features
    assert back.schema.labels == schema.labels
    got = list(back)
    assert len(got) == 4
    for (x, y), xe, ye in zip(got, X, Y):
        assert np.array_equal(x, xe, equal_nan=True) and (y == ye).all()
    header = read_header(path)
    first_attrs = header.names[:3]
    assert (first_attrs == schema.labels) == (dialect == "meka")
    assert header.sparse == sparse


def test_round_trip_of_a_stream_keeps_its_form(tmp_path):
    src = write(tmp_path / "sparse.arff", MULAN_SPARSE)
    mulan_xml(tmp_path / "sparse.xml", "L0", "L1")
    stream = ArffStream(src)
    write_arff(stream, tmp_path / "copy.arff.xz", dialect="meka")
    copy = ArffStream(tmp_path / "copy.arff.xz")
    assert copy.schema.sparse and copy.schema.labels == ["L0", "L1"]
    assert all(same(a[0], b[0]) and a[1] == b[1] for a, b in zip(rows_of(stream), rows_of(copy)))
    assert (tmp_path / "copy.arff.xz").read_bytes()[:6] == b"\xfd7zXZ\x00"  # really xz-compressed


def test_meka_output_layout(tmp_path):
    path = tmp_path / "o.arff"
    write_arff(ArrayStream(np.array([[0.5, 0.0], [math.nan, 2.0]]), np.array([[1, 0], [0, 1]])), path)
    lines = [ln for ln in path.read_text().splitlines() if ln]
    assert lines[0] == "@relation 'o: -C 2'"
    assert lines[-2:] == ["1,0,0.5,0", "0,1,?,2"]


def test_mulan_xml_is_readable(tmp_path):
    schema = Schema.numeric(["a"], ["x&y", 'say "hi"'], name="m")
    write_arff((schema, [(np.array([1.0]), np.array([True, False]))]), tmp_path / "m.arff", dialect="mulan")
    assert read_mulan_labels(tmp_path / "m.xml") == ["x&y", 'say "hi"']


@pytest.mark.parametrize("x, y, needle", [
    (np.array([math.inf, 0, 0, 0]), [1, 0, 0], "infinite"),
    (np.array([0, 3, 0, 0]), [1, 0, 0], "colour"),
    (np.array([0, 0, 0.5, 0]), [1, 0, 0], "bit"),
    (np.array([0, 0, 0]), [1, 0, 0], "shape"),
    (np.array([0, 0, 0, 0]), [1, 0], "labels"),
])
def test_write_refuses_what_arff_cannot_hold(tmp_path, x, y, needle):
    with pytest.raises(ValueError, match=needle):
        write_arff((mixed_schema(), [(x, np.array(y, dtype=bool))]), tmp_path / "w.arff")


def test_write_needs_a_stream_and_a_known_dialect(tmp_path):
    with pytest.raises(TypeError):
        write_arff([1, 2], tmp_path / "w.arff")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dialect"):
        write_arff((mixed_schema(), []), tmp_path / "w.arff", dialect="weka")  # type: ignore[arg-type]


NAME_CHARS = st.sampled_from(list("abcXYZ019 _-'\",{}%?\\@"))


@st.composite
def tables(draw):
    n_feat = draw(st.integers(1, 6))
    n_lab = draw(st.integers(1, 4))
    names = draw(st.lists(st.text(NAME_CHARS, min_size=1, max_size=6), min_size=n_feat + n_lab,
                          max_size=n_feat + n_lab, unique=True))
    n = draw(st.integers(0, 12))
    value = st.one_of(st.just(0.0), st.just(math.nan),
                      st.floats(allow_nan=False, allow_infinity=False, width=64))
    X = np.array(draw(st.lists(st.lists(value, min_size=n_feat, max_size=n_feat), min_size=n, max_size=n)),
                 dtype=np.float64).reshape(n, n_feat)
    Y = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n_lab, max_size=n_lab), min_size=n, max_size=n)),
                 dtype=bool).reshape(n, n_lab)
    return Schema.numeric(names[:n_feat], names[n_feat:], name=draw(st.text(NAME_CHARS, max_size=5))), X, Y


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), dialect=st.sampled_from(["meka", "mulan"]), sparse=st.booleans(), read_dense=st.booleans())
def test_property_random_tables_survive_write_then_read(tmp_path, table, dialect, sparse, read_dense):
    schema, X, Y = table
    path = tmp_path / f"p-{dialect}-{sparse}.arff"
    rows = [(SparseRow.from_dense(x) if sparse else x, y) for x, y in zip(X, Y)]
    write_arff((schema, rows), path, dialect=dialect, sparse=sparse)
    back = ArffStream(path, dense=read_dense)
    assert back.schema.feature_names == schema.feature_names and back.schema.labels == schema.labels
    got = list(back)
    assert len(got) == X.shape[0]
    for (x, y), xe, ye in zip(got, X, Y):
        assert isinstance(x, np.ndarray) == read_dense
        assert np.array_equal(row_to_dense(x), xe, equal_nan=True)
        assert (y == ye).all()


# --------------------------------------------------------------------------------------------------
# Real datasets (../shared/datasets)
# --------------------------------------------------------------------------------------------------


def read_all(path: Path, **kwargs):
    stream = ArffStream(path, **kwargs)
    n, positives, sparse_rows = 0, 0, 0
    for x, y in stream:
        n += 1
        positives += int(y.sum())
        sparse_rows += isinstance(x, SparseRow)
    return stream, n, positives / max(n, 1), sparse_rows


@pytest.mark.shared
@pytest.mark.parametrize("name, n, d, n_labels, cardinality, sparse", [
    ("yeast.arff.xz", 2417, 103, 14, 4.237, False),
    ("emotions.arff.xz", 593, 72, 6, 1.868, False),
    ("flags.arff.xz", 194, 19, 7, 3.392, False),
    ("genbase.arff.xz", 662, 1185, 27, 1.252, False),
    ("bibtex.arff.xz", 7395, 1836, 159, 2.402, True),
    ("meka-Music.arff.xz", 592, 71, 6, 1.870, False),
])
def test_real_dataset_counts(name, n, d, n_labels, cardinality, sparse):
    path = shared_dataset(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream, count, card, sparse_rows = read_all(path)
    assert (count, stream.schema.n_features, stream.schema.n_labels) == (n, d, n_labels)
    assert card == pytest.approx(cardinality, abs=5e-4)
    assert stream.schema.sparse is sparse and sparse_rows == (count if sparse else 0)
    assert stream.n_instances == n and stream.errors.count == 0
    if name.startswith("genbase"):  # the protein accession is an ID: dropped, with a warning
        assert any("protein" in str(w.message) and "genbase" in str(w.message) for w in caught)
        assert "protein" not in stream.schema.feature_names


@pytest.mark.shared
def test_meka_music_labels_come_first():
    stream = ArffStream(shared_dataset("meka-Music.arff.xz"))
    assert stream.schema.labels[0] == "amazed-suprised" and stream.schema.labels[-1] == "angry-aggresive"
    assert stream.schema.feature_names[0] == "Mean_Acc1298_Mean_Mem40_Centroid"


@pytest.mark.shared
def test_flags_nominal_features_ordinal_and_onehot():
    path = shared_dataset("flags.arff.xz")
    ordinal = ArffStream(path)
    assert ordinal.schema.features[0] == Feature("landmass", FeatureKind.NOMINAL, ("1", "2", "3", "4", "5", "6"))
    x, _ = next(iter(ordinal))
    assert x[0] == 4.0  # value "5" is the fifth declared value
    onehot = ArffStream(path, nominal="onehot")
    assert onehot.schema.feature_names[:6] == [f"landmass={v}" for v in range(1, 7)]
    xo, _ = next(iter(onehot))
    assert xo[:6].tolist() == [0, 0, 0, 0, 1, 0]


@pytest.mark.shared
def test_yeast_xml_order_is_not_the_label_order():
    path = shared_dataset("yeast.arff.xz")
    assert read_mulan_labels(path.with_name("yeast.xml"))[3] == "Class6"
    assert ArffStream(path).schema.labels == [f"Class{i}" for i in range(1, 15)]


@pytest.mark.shared
def test_bibtex_round_trips_through_mulan_sparse(tmp_path):
    src = ArffStream(shared_dataset("bibtex.arff.xz"))
    out = tmp_path / "bibtex.arff"
    write_arff(src, out, dialect="mulan")
    copy = ArffStream(out)
    assert copy.schema.features == src.schema.features and copy.schema.labels == src.schema.labels
    n = 0
    for (xa, ya), (xb, yb) in zip(src, copy):
        assert xa == xb and (ya == yb).all()
        n += 1
    assert n == 7395


@pytest.mark.shared
@pytest.mark.slow
def test_imdb_streams_all_rows():
    stream, n, card, sparse_rows = read_all(shared_dataset("meka-Imdb.arff.xz"))
    assert (n, stream.schema.n_features, stream.schema.n_labels) == (120919, 1001, 28)
    assert sparse_rows == n and card == pytest.approx(2.0, abs=5e-3)
