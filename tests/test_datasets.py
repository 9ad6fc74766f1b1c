"""Tests for streamml.datasets: Yeast from River's wheel, data folders, synthetic specs."""

from __future__ import annotations

import gzip
import itertools
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from streamml import datasets
from streamml.generators import Drift, MultiLabelDriftStream
from streamml.schema import SparseRow

from helpers import shared_dataset

TINY_ARFF = """\
@relation tiny
@attribute f1 numeric
@attribute f2 numeric
@attribute happy {0,1}
@attribute sad {0,1}
@data
0.5,1.5,1,0
-2,3,0,1
4,0,1,1
"""
TINY_XML = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<labels xmlns="http://mulan.sourceforge.net/labels"><label name="happy"/><label name="sad"/></labels>\n'
)
MEKA_ARFF = """\
@relation 'Tunes: -C 2'
@attribute rock {0,1}
@attribute jazz {0,1}
@attribute tempo numeric
@data
1,0,120
0,1,80
"""
TABLE_CSV = "a,b,c,l1,l2\n1,2,3,1,0\n4,5,6,0,1\n7,8,9,1,1\n10,11,12,0,0\n"


def rows(stream, n=None):
    out = list(stream if n is None else itertools.islice(stream, n))
    X = np.array([x.to_dense() if isinstance(x, SparseRow) else np.asarray(x) for x, _ in out])
    Y = np.array([np.asarray(y) for _, y in out])
    return X, Y


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tiny.arff").write_text(TINY_ARFF)
    (folder / "tiny.xml").write_text(TINY_XML)
    with gzip.open(folder / "meka-Tunes.arff.gz", "wt") as f:
        f.write(MEKA_ARFF)
    (folder / "table.csv").write_text(TABLE_CSV)
    (folder / "notes.txt").write_text("not a dataset")
    monkeypatch.setenv("STREAMML_DATA", str(folder))
    return folder


# --------------------------------------------------------------------------------------- yeast


def test_yeast_loads_offline_with_the_right_shape(no_network):
    stream = datasets.load("yeast")
    assert stream.schema.name == "yeast"
    assert stream.n_instances == 2417
    assert stream.schema.feature_names == [f"Att{i}" for i in range(1, 104)]
    assert stream.schema.labels == [f"Class{i}" for i in range(1, 15)]
    X, Y = rows(stream)
    assert X.shape == (2417, 103) and Y.shape == (2417, 14) and Y.dtype == bool
    assert Y.sum(axis=1).mean() == pytest.approx(4.237, abs=0.0005)
    assert datasets.load("Yeast").n_instances == 2417  # names are case-insensitive


def test_yeast_matches_rivers_own_iteration():
    from river.datasets import Yeast

    ours = datasets.load("yeast")
    for (x, y), (rx, ry) in itertools.islice(zip(ours, Yeast()), 50):
        assert x.tolist() == [rx[f] for f in ours.schema.feature_names]
        assert y.tolist() == [ry[lab] for lab in ours.schema.labels]
    # the first row exactly, and the same number of rows in all
    rx, ry = next(iter(Yeast()))
    x, y = next(iter(ours))
    np.testing.assert_array_equal(x, np.array(list(rx.values())))
    np.testing.assert_array_equal(y, np.array(list(ry.values())))
    assert sum(1 for _ in Yeast()) == ours.n_instances


def test_yeast_wins_over_a_data_folder_and_rejects_reader_options(data_dir):
    (data_dir / "yeast.csv").write_text(TABLE_CSV)
    assert datasets.load("yeast", labels=None).n_instances == 2417
    with pytest.raises(ValueError, match="labels"):
        datasets.load("yeast", labels="last:2")


# --------------------------------------------------------------------------------- data folders


def test_names_resolve_in_streamml_data(data_dir):
    tiny = datasets.load("tiny")
    assert tiny.schema.labels == ["happy", "sad"]
    assert tiny.schema.feature_names == ["f1", "f2"]
    X, Y = rows(tiny)
    np.testing.assert_array_equal(X, [[0.5, 1.5], [-2, 3], [4, 0]])
    np.testing.assert_array_equal(Y, [[1, 0], [0, 1], [1, 1]])

    for name in ("tunes", "TUNES", "meka-tunes", "meka-Tunes.arff.gz"):
        tunes = datasets.load(name)
        assert tunes.schema.labels == ["rock", "jazz"], name
        X, Y = rows(tunes)
        np.testing.assert_array_equal(X, [[120], [80]])
        np.testing.assert_array_equal(Y, [[1, 0], [0, 1]])

    table = datasets.load("table", labels="last:2")
    assert table.schema.labels == ["l1", "l2"]
    X, Y = rows(table)
    np.testing.assert_array_equal(X[:, 0], [1, 4, 7, 10])
    np.testing.assert_array_equal(Y, [[1, 0], [0, 1], [1, 1], [0, 0]])
    assert datasets.find("table") == data_dir / "table.csv"
    assert datasets.find("notes") is None


def test_an_existing_path_is_opened_directly(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMML_DATA", str(tmp_path / "elsewhere"))
    (tmp_path / "x.arff").write_text(TINY_ARFF)
    (tmp_path / "x.xml").write_text(TINY_XML)
    stream = datasets.load(tmp_path / "x.arff")
    assert rows(stream)[0].shape == (3, 2)
    assert datasets.load(str(tmp_path / "x.arff")).schema.labels == ["happy", "sad"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        datasets.load(str(tmp_path / "missing.arff"))
    with pytest.raises(IsADirectoryError):
        datasets.load(str(tmp_path))


def test_folders_are_searched_in_order_and_formats_by_preference(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "both.arff").write_text(TINY_ARFF)
    (second / "both.xml").write_text(TINY_XML)
    (first / "both.csv").write_text(TABLE_CSV)
    (second / "only.csv").write_text(TABLE_CSV)
    (second / "only.arff.xz").write_bytes(b"")  # preferred by format over only.csv in the same folder
    (second / "meka-pick.arff").write_text(MEKA_ARFF)
    (second / "pick.csv").write_text(TABLE_CSV)  # an exact name beats the meka- prefix
    missing = tmp_path / "missing"
    monkeypatch.setenv("STREAMML_DATA", os.pathsep.join([str(missing), str(first), str(second)]))
    assert datasets.data_dirs() == [missing, first, second]
    assert datasets.find("both") == first / "both.csv"
    assert datasets.find("only") == second / "only.arff.xz"
    assert datasets.find("pick") == second / "pick.csv"
    assert datasets.find("meka-pick") == second / "meka-pick.arff"
    assert datasets.load("both", labels="last:2").schema.labels == ["l1", "l2"]


def test_default_data_folder_when_streamml_data_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("STREAMML_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / ".local" / "share" / "streamml" / "datasets"
    assert datasets.data_dirs() == [folder]
    folder.mkdir(parents=True)
    (folder / "tiny.arff").write_text(TINY_ARFF)
    (folder / "tiny.xml").write_text(TINY_XML)
    assert datasets.load("tiny").schema.labels == ["happy", "sad"]
    monkeypatch.setenv("STREAMML_DATA", "")  # empty means unset
    assert datasets.data_dirs() == [folder]


def test_available_lists_builtins_and_folder_files(data_dir):
    infos = datasets.available()
    by_name = {i.name: i for i in infos}
    assert [i.name for i in infos[:2]] == ["yeast", "synthetic"]
    assert by_name["yeast"].location == "river wheel" and by_name["yeast"].path is None
    assert by_name["tiny"].format == "arff" and by_name["tiny"].path == data_dir / "tiny.arff"
    assert by_name["Tunes"].format == "arff" and by_name["Tunes"].location == str(data_dir / "meka-Tunes.arff.gz")
    assert by_name["table"].format == "csv"
    assert "notes" not in by_name and "tiny.xml" not in by_name
    assert len(infos) == 5


def test_unknown_name_lists_where_it_looked(data_dir, tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("STREAMML_DATA", os.pathsep.join([str(data_dir), str(missing)]))
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load("emotionz")
    message = str(info.value)
    assert "'emotionz'" in message
    assert str(data_dir) in message and str(missing) in message
    assert "missing" in message
    assert "STREAMML_DATA" in message
    for name in ("tiny", "Tunes", "table"):
        assert name in message
    assert isinstance(info.value, FileNotFoundError)


def test_unknown_name_names_the_default_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("STREAMML_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        datasets.load("nothing")
    assert str(tmp_path / ".local" / "share" / "streamml" / "datasets") in str(info.value)
    assert "not set" in str(info.value)


def test_on_error_is_checked():
    with pytest.raises(ValueError, match="on_error"):
        datasets.load("yeast", on_error="ignore")


# ------------------------------------------------------------------------------------ synthetic


def test_synthetic_default():
    stream = datasets.load("synthetic")
    assert isinstance(stream, MultiLabelDriftStream)
    assert stream.n_instances == 10_000 and stream.seed == 0 and stream.drifts == []
    assert stream.schema.name == "synthetic"
    # reproducible from the name alone
    a, b = rows(stream, 200), rows(datasets.load("synthetic"), 200)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_synthetic_spec():
    spec = "synthetic:n=5000,features=7,labels=20,groups=4,cardinality=4,noise=0.01,seed=3,drift=cooccurrence@2500"
    stream = datasets.load(spec)
    assert stream.n_instances == 5000
    assert stream.schema.n_features == 7 and stream.schema.n_labels == 20 and stream.n_groups == 4
    assert stream.label_cardinality == 4.0 and stream.noise == 0.01 and stream.seed == 3
    assert stream.drifts == [Drift(2500, 0, "cooccurrence")]
    assert stream.schema.name == spec
    assert not np.array_equal(stream.concept_at(0).group_of_label, stream.concept_at(2500).group_of_label)


def test_synthetic_grammar_details():
    p = datasets.parse_synthetic
    assert p("Synthetic: N=10k , Labels=12 ")["n_instances"] == 10_000
    assert p("synthetic:n=1e6")["n_instances"] == 1_000_000
    assert p("synthetic:n=2M")["n_instances"] == 2_000_000
    assert p("synthetic:n=10_000")["n_instances"] == 10_000
    assert p("synthetic:n=inf")["n_instances"] is None
    assert p("synthetic:density=0.05")["sparse_density"] == 0.05
    assert p("synthetic:n_labels=5")["n_labels"] == 5
    assert p("synthetic:q=0.4")["group_label_rate"] == 0.4
    assert datasets.load("synthetic:labels=30,cardinality=3,q=0.3").group_label_rate == 0.3
    assert p("synthetic:drift=100")["drifts"] == [Drift(100, 0, "both")]
    assert p("synthetic:drift=mapping@6000/1000+both@3000,drift=co-occurrence@9000")["drifts"] == [
        Drift(3000, 0, "both"),
        Drift(6000, 1000, "mapping"),
        Drift(9000, 0, "cooccurrence"),
    ]


@pytest.mark.parametrize(
    "spec, match",
    [
        ("synthetic:n", "KEY=VALUE"),
        ("synthetic:colour=red", "unknown key"),
        ("synthetic:n=ten", "not a number"),
        ("synthetic:labels=2.5", "not an integer"),
        ("synthetic:drift=sideways@10", "drift kind"),
        ("synthetic:drift=mapping@", "drift"),
        ("synthetic:drift=mapping@10/x", "not a number"),
        ("synthetic:n=100,labels=3,groups=5", "n_groups"),
    ],
)
def test_bad_synthetic_specs_raise_clearly(spec, match):
    with pytest.raises(ValueError, match=match):
        datasets.load(spec)


def test_synthetic_keywords_override_the_spec():
    stream = datasets.load("synthetic:n=100,seed=1", seed=9, n_labels=4, n_groups=2)
    assert stream.seed == 9 and stream.schema.n_labels == 4 and stream.n_instances == 100


def test_infinite_synthetic_stream():
    stream = datasets.load("synthetic:n=inf,labels=5,groups=2")
    assert stream.n_instances is None
    X, Y = rows(stream, 2500)
    assert X.shape == (2500, 20) and Y.shape == (2500, 5)


def test_sparse_synthetic_stream():
    x, _ = next(iter(datasets.load("synthetic:n=10,density=0.1,features=50")))
    assert isinstance(x, SparseRow) and x.size == 50


# ----------------------------------------------------------------------------- shared datasets


@pytest.mark.shared
@pytest.mark.parametrize(
    "name, n, d, n_labels, cardinality",
    [("emotions", 593, 72, 6, 1.868), ("flags", 194, 19, 7, 3.392), ("music", 592, 71, 6, 1.870)],
)
def test_shared_datasets_resolve_by_name(name, n, d, n_labels, cardinality, monkeypatch):
    folder = shared_dataset("README.md").parent
    monkeypatch.setenv("STREAMML_DATA", str(folder))
    stream = datasets.load(name)
    assert stream.schema.n_features == d
    assert stream.schema.n_labels == n_labels
    X, Y = rows(stream)
    assert X.shape == (n, d) and Y.shape == (n, n_labels)
    assert Y.sum(axis=1).mean() == pytest.approx(cardinality, abs=0.001)
    by_name = {i.name.lower(): i for i in datasets.available()}
    assert name in by_name and Path(by_name[name].location).parent == folder
