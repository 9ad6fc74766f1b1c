"""Saving and loading learners: round trips, signed pickles, format versions, refusals."""

from __future__ import annotations

import functools
import json
import pickle

import numpy as np
import pytest
from river import datasets, linear_model

from streamml import persistence, registry
from streamml.learners import BinaryRelevance, BRLogisticRegression, MajorityLabelset
from streamml.persistence import (
    FORMAT_VERSION,
    PersistenceError,
    TamperedFileError,
    UnsupportedFormatError,
    dumps,
    load,
    loads,
    model_size,
    save,
)

SPECS = ["majority", "br-lr", "br-lr(standardize=True, lr=0.005, l2=0.001)", "br-ht(grace_period=30)", "river-br-lr",
         "river-br-ht(grace_period=30)",
         "river:linear_model.LogisticRegression"]


@functools.lru_cache(maxsize=1)
def yeast_arrays() -> tuple[np.ndarray, np.ndarray]:
    rows = list(datasets.Yeast())
    X = np.array([list(x.values()) for x, _ in rows], dtype=np.float64)
    Y = np.array([list(y.values()) for _, y in rows], dtype=bool)
    return X, Y


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty STREAMML_HOME and no key in the environment."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("STREAMML_HOME", str(path))
    monkeypatch.delenv("STREAMML_HMAC_KEY", raising=False)
    return path


def split(data: bytes) -> tuple[dict, bytes]:
    """The header (parsed) and the blob section of a model file."""
    magic, version, head_len = persistence._PREFIX.unpack_from(data)
    start = persistence._PREFIX.size
    return json.loads(data[start : start + head_len]), data[start + head_len :]


def join(header: dict, blobs: bytes, version: int | None = None, magic: bytes = persistence.MAGIC) -> bytes:
    head = json.dumps(header).encode()
    return persistence._PREFIX.pack(magic, FORMAT_VERSION if version is None else version, len(head)) + head + blobs


def pickle_refs(node) -> list[list]:
    """Every ``[start, length, signature]`` of a signed pickle in a header tree."""
    found = []
    if isinstance(node, dict):
        if set(node) == {"__pickle__"}:
            found.append(node["__pickle__"])
        for v in node.values():
            found.extend(pickle_refs(v))
    elif isinstance(node, list):
        for v in node:
            found.extend(pickle_refs(v))
    return found


# -------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("spec", SPECS)
def test_round_trip_continues_identically(spec, home, tmp_path):
    X, Y = yeast_arrays()
    n_first, n_next = (100, 60) if "ht" in spec else (400, 200)
    model = registry.make(spec)
    model.learn_many(X[:n_first], Y[:n_first])
    path = tmp_path / "model.streamml"
    size = save(model, path)
    assert size == path.stat().st_size == model_size(model) == len(dumps(model))
    loaded = load(path)
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    assert loaded.labels_ == model.labels_ and loaded.feature_names_ == model.feature_names_
    # Learn the rest of the stream in both, predicting before each row (prequential).
    for x, y in zip(X[n_first : n_first + n_next], Y[n_first : n_first + n_next]):
        assert np.array_equal(loaded.predict_proba_row(x), model.predict_proba_row(x))
        assert np.array_equal(loaded.predict_row(x), model.predict_row(x))
        model.learn_row(x, y)
        loaded.learn_row(x, y)
    assert np.array_equal(loaded.predict_proba_many(X[-50:]), model.predict_proba_many(X[-50:]))


def test_round_trip_of_dict_api_names_and_growth(home):
    model = BRLogisticRegression()
    model.learn_one({"a": 1.0, ("t", 1): 2.0}, {"x": True, 3: False})
    model.learn_row(np.ones(4), np.array([True, True, False]))
    loaded = loads(dumps(model))
    assert loaded.labels_ == ["x", 3, 2] and loaded.feature_names_ == ["a", ("t", 1), 2, 3]
    assert loaded.predict_proba_one({"a": 1.0, ("t", 1): 1.0}) == model.predict_proba_one({"a": 1.0, ("t", 1): 1.0})
    # Growth after loading works as before saving.
    for m in (model, loaded):
        m.learn_row(np.ones(6), np.array([True, False, True, True]))
    np.testing.assert_array_equal(loaded.weights_, model.weights_)


def test_majority_round_trip_keeps_the_tie_winner(home):
    m = MajorityLabelset()
    x = np.zeros(1)
    for y in ([1, 0], [0, 1], [0, 1], [1, 0]):  # tie 2-2: [0, 1] reached 2 first
        m.learn_row(x, np.array(y, dtype=bool))
    loaded = loads(dumps(m))
    assert loaded.predict_row(x).tolist() == [False, True]
    for model in (m, loaded):
        model.learn_row(x, np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=bool))
        model.learn_row(x, np.array([1, 0], dtype=bool))
    assert loaded.predict_row(x).tolist() == m.predict_row(x).tolist() == [True] + [False] * 9
    assert loaded._counts == m._counts


# ---------------------------------------------------------------------------- signed pickles
def test_flipped_byte_in_pickle_blob_is_refused(home):
    X, Y = yeast_arrays()
    model = BinaryRelevance(linear_model.LogisticRegression())
    model.learn_many(X[:30], Y[:30])
    data = dumps(model)
    header, blobs = split(data)
    refs = pickle_refs(header)
    assert len(refs) == 14
    start, length, _ = refs[3]
    offset = len(data) - len(blobs) + start + length // 2
    tampered = bytearray(data)
    tampered[offset] ^= 0x01
    with pytest.raises(TamperedFileError, match="not unpickled"):
        loads(bytes(tampered))
    assert isinstance(loads(data), BinaryRelevance)  # the untouched file still loads


class _Evil:
    """Unpickling this creates a marker file (stands for arbitrary code execution)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_forged_pickle_is_never_unpickled(home, tmp_path, monkeypatch):
    X, Y = yeast_arrays()
    model = BinaryRelevance(linear_model.LogisticRegression())
    model.learn_many(X[:10], Y[:10])
    header, blobs = split(dumps(model))
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Evil(str(marker)))
    ref = pickle_refs(header)[0]
    ref[0], ref[1] = len(blobs), len(evil)  # point the first label's model at the forged blob
    forged_blobs = blobs + evil

    # Keeping the old signature, or signing with another key: refused, nothing runs.
    with pytest.raises(TamperedFileError):
        loads(join(header, forged_blobs))
    ref[2] = persistence._sign(evil, b"not the key")
    with pytest.raises(TamperedFileError):
        loads(join(header, forged_blobs))
    assert not marker.exists()

    # The same file signed with the real key *would* run the payload: the check above is what
    # stops it (this proves the test can fail).
    ref[2] = persistence._sign(evil, persistence.hmac_key(create=False))
    with pytest.raises(PersistenceError, match="other than River classifiers"):
        loads(join(header, forged_blobs))
    assert marker.exists()


def test_signed_models_need_the_same_key(home, monkeypatch):
    X, Y = yeast_arrays()
    model = registry.make("river-br-lr")
    model.learn_many(X[:20], Y[:20])
    monkeypatch.setenv("STREAMML_HMAC_KEY", "key-one")
    data = dumps(model)
    assert loads(data).labels_ == model.labels_
    monkeypatch.setenv("STREAMML_HMAC_KEY", "key-two")
    with pytest.raises(TamperedFileError, match="signature mismatch"):
        loads(data)
    monkeypatch.delenv("STREAMML_HMAC_KEY")
    with pytest.raises(TamperedFileError, match="no HMAC key"):
        loads(data)


@pytest.mark.parametrize("spec", ["majority", "br-lr", "br-lr(standardize=True)"])
def test_array_only_models_need_no_key(spec, home):
    X, Y = yeast_arrays()
    model = registry.make(spec)
    model.learn_many(X[:50], Y[:50])
    data = dumps(model)
    assert b"__pickle__" not in data
    assert not (home / "hmac.key").exists()  # writing needed no key either
    loaded = loads(data)
    assert not (home / "hmac.key").exists()
    np.testing.assert_array_equal(loaded.predict_proba_many(X[50:80]), model.predict_proba_many(X[50:80]))


# ---------------------------------------------------------------------------- bad files
def test_newer_format_version_is_refused_clearly(home):
    header, blobs = split(dumps(MajorityLabelset()))
    header["version"] = FORMAT_VERSION + 1
    with pytest.raises(UnsupportedFormatError) as info:
        loads(join(header, blobs, version=FORMAT_VERSION + 1), source="future.streamml")
    message = str(info.value)
    assert "future.streamml" in message and f"version {FORMAT_VERSION + 1}" in message
    assert "upgrade" in message


def test_bad_magic_is_refused(home):
    data = dumps(MajorityLabelset())
    with pytest.raises(PersistenceError, match="bad magic"):
        loads(b"NOTSTRML" + data[8:])
    with pytest.raises(PersistenceError, match="too short"):
        loads(b"STR")


@pytest.mark.parametrize("name", ["streamml.learners.Nope", "os.system", "builtins.eval"])
def test_unknown_learner_class_is_refused(name, home):
    header, blobs = split(dumps(BRLogisticRegression()))
    header["model"]["__learner__"] = name
    with pytest.raises(PersistenceError, match="unknown learner class"):
        loads(join(header, blobs))


def test_inconsistent_state_is_a_persistence_error(home):
    model = BRLogisticRegression()
    model.learn_row(np.ones(3), np.array([True, False]))
    header, blobs = split(dumps(model))
    header["model"]["space"]["labels"].append("extra")  # state no longer matches the space
    with pytest.raises(PersistenceError, match="invalid model description"):
        loads(join(header, blobs))
    header, blobs = split(dumps(model))
    header["model"]["params"]["bogus"] = 1
    with pytest.raises(PersistenceError):
        loads(join(header, blobs))


def test_model_size_is_the_serialised_length(home):
    X, Y = yeast_arrays()
    small, large = BRLogisticRegression(), BRLogisticRegression()
    small.learn_many(X[:10, :10], Y[:10])
    large.learn_many(X[:10], Y[:10])
    assert model_size(small) == len(dumps(small))
    assert model_size(large) == len(dumps(large))
    # 93 more features x 14 labels of float64 weights
    assert model_size(large) - model_size(small) >= 93 * 14 * 8
