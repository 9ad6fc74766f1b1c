"""The Kafka connectors' parts that need no broker: codec, batched metrics, join buffer, checkpoints,
the embedding API."""

from __future__ import annotations

import hashlib
import json
import pickle
import struct

import numpy as np
import pytest

from connectors.kafka.checkpoint import CheckpointError, read_checkpoint, read_header, write_checkpoint
from connectors.kafka.labels_join import JoinBuffer

from connectors.kafka.messages import BadMessage, Decoder, decode_predictions, encode_arrow, encode_json
from connectors.kafka.processor import StreamProcessor
from connectors.kafka.worker import parse_client_config, parse_kafka_url, split_client_config
from streamml import datasets, persistence, registry
from streamml.learners import MajorityLabelset
from streamml.metrics import MultiLabelMetrics
from streamml.schema import SparseRow


def _decoder(**kw):
    return Decoder(MajorityLabelset(), **kw)


@pytest.mark.parametrize(
    "message, kind",
    [
        (b"{not json", "malformed"),
        (b"[1, 2]", "malformed"),
        (b'{"id": 1, "features": [1, "a"], "labels": []}', "non-numeric"),
        (b'{"id": 1, "features": [1, true], "labels": []}', "non-numeric"),
        (b'{"id": 1, "features": [1, NaN], "labels": []}', "non-finite"),
        (b'{"id": 1, "features": [1, 1e999], "labels": []}', "non-finite"),
        (b'{"id": 1, "features": {"a": Infinity}, "labels": []}', "non-finite"),
        (b'{"id": 1, "labels": ["a"]}', "missing-features"),
        (b'{"features": [1, 2]}', "missing-id"),
        (b'{"id": 1, "features": [1, 2], "labels": ["a"], "extra": 1}', "malformed"),
        (b'{"id": 1.5, "features": [1, 2], "labels": ["a"]}', "malformed"),
        (b'{"id": 1, "features": [1, 2], "labels": "a"}', "malformed"),
        (b'{"id": 1, "features": [1, 2], "labels": {"a": 3}}', "malformed"),
        (b"\xff\xff\xff\xffgarbage", "malformed"),
    ],
)
def test_bad_messages_are_classified(message, kind):
    with pytest.raises(BadMessage) as err:
        _decoder().decode(message)
    assert err.value.kind == kind


def test_oversized_and_feature_count_and_strict_modes():
    dec = _decoder(max_bytes=100)
    with pytest.raises(BadMessage, match="oversized"):
        dec.decode(b'{"id": 1, "features": [' + b"1," * 100 + b'1], "labels": []}')
    dec.decode(b'{"id": 1, "features": [1, 2, 3], "labels": ["a"]}')
    with pytest.raises(BadMessage) as err:
        dec.decode(b'{"id": 2, "features": [1, 2], "labels": ["a"]}')
    assert err.value.kind == "feature-count"

    strict = Decoder(MajorityLabelset(), strict_labels=True)
    strict.model._add_labels(["a", "b"])
    strict.decode(b'{"id": 1, "features": [1], "labels": ["b"]}')
    with pytest.raises(BadMessage) as err:
        strict.decode(b'{"id": 2, "features": [1], "labels": ["zz"]}')
    assert err.value.kind == "unknown-label"
    assert strict.model.labels_ == ["a", "b"]  # nothing grew

    sf = Decoder(MajorityLabelset(), strict_features=True)
    sf.model._add_features(["f"])
    with pytest.raises(BadMessage, match="unknown-feature"):
        sf.decode(b'{"id": 1, "features": {"g": 1}, "labels": []}')


def test_default_mode_grows_labels_and_features_only_when_the_message_is_valid():
    dec = _decoder()
    (inst,), _ = dec.decode(b'{"id": "a", "features": {"f": 1.0}, "labels": {"x": true, "y": false}}')
    assert inst.x.tolist() == [1.0] and inst.y.tolist() == [True, False]
    with pytest.raises(BadMessage):
        dec.decode(b'{"id": "b", "features": {"g": "bad"}, "labels": ["z"]}')
    assert dec.model.labels_ == ["x", "y"] and dec.model.feature_names_ == ["f"]
    (inst,), _ = dec.decode(b'{"id": "c", "features": {"g": 2.0, "f": null}, "labels": ["z", "x"]}')
    assert dec.model.labels_ == ["x", "y", "z"] and dec.model.feature_names_ == ["f", "g"]
    assert np.isnan(inst.x[0]) and inst.x[1] == 2.0 and inst.y.tolist() == [True, False, True]
    (inst,), _ = dec.decode(b'{"id": 9, "features": {"indices": [4, 1], "values": [0.5, 1.5]}, "labels": []}')
    assert isinstance(inst.x, SparseRow) and inst.x.indices.tolist() == [1, 4] and inst.x.size == 5


def test_labels_messages_and_late_instances():
    dec = _decoder()
    (inst,), _ = dec.decode(b'{"id": 4, "features": [1.0, 2.0]}')
    assert inst.y is None
    (lab,), _ = dec.decode(b'{"id": 4, "labels": ["q"]}', labels_only=True)
    assert lab.x is None and lab.y.tolist() == [True]
    with pytest.raises(BadMessage, match="missing-labels"):
        dec.decode(b'{"id": 4}', labels_only=True)


def test_arrow_round_trip_and_bad_rows():
    stream = datasets.load("yeast")
    X, Y = stream.X[:50].copy(), stream.Y[:50]
    X[7, 3] = np.inf
    X[9, 0] = np.nan  # missing: written as null, read back as NaN
    msg = encode_arrow(list(range(50)), X, Y, stream.schema.labels, stream.schema.feature_names)
    dec = _decoder()
    instances, bad = dec.decode(msg)
    assert [b.row for b in bad] == [7] and bad[0].kind == "non-finite"
    assert [i.id for i in instances] == [i for i in range(50) if i != 7]
    assert dec.model.feature_names_ == stream.schema.feature_names
    assert np.array_equal(instances[0].x, X[0])
    # labels map by name into the model's space
    for inst in instances:
        names = {dec.model.labels_[j] for j in np.flatnonzero(inst.y)}
        assert names == {stream.schema.labels[j] for j in np.flatnonzero(Y[inst.id])}
    assert np.isnan(instances[8].x[0])
    # a batch with another feature count is bad row by row
    _, bad = dec.decode(encode_arrow([1], np.ones((1, 3)), np.zeros((1, 14), bool), stream.schema.labels))
    assert bad[0].kind == "feature-count"
    # labels-only batches for a labels topic
    (lab, *_), _ = dec.decode(encode_arrow([3, 4], None, Y[3:5], stream.schema.labels), labels_only=True)
    assert lab.id == 3 and lab.x is None


def test_json_encoding_round_trips():
    dec = _decoder()
    x = np.array([0.25, np.nan, 3.0])
    (inst,), _ = dec.decode(encode_json(5, x, np.array([True, False]), ["a", "b"]))
    assert inst.id == 5 and np.array_equal(inst.x, x, equal_nan=True) and inst.y.tolist() == [True]
    (inst,), _ = dec.decode(encode_json(6, SparseRow.from_dense(np.array([0, 2.0, 0])), None, None))
    assert isinstance(inst.x, SparseRow) and inst.y is None


@pytest.mark.parametrize("window", [None, 3, 50])
def test_batch_metrics_match_the_loop(window):
    rng = np.random.default_rng(0)
    a, b = MultiLabelMetrics(window=window), MultiLabelMetrics(window=window)
    for n, L in [(7, 4), (1, 4), (20, 6), (40, 6)]:  # the label space grows between blocks
        T, P = rng.random((n, L)) < 0.3, rng.random((n, L)) < 0.3
        S = rng.random((n, L))
        a.update_many(T, P, S)
        for t, p, s in zip(T, P, S):
            b.update(t, p, s)
    ga, gb = a.get(), b.get()
    assert a.n == b.n and a.n_labels == b.n_labels
    for k in gb:
        assert ga[k] == pytest.approx(gb[k], rel=1e-12, abs=1e-12), k


def test_join_buffer_capacity_ttl_and_persistence():
    buf = JoinBuffer(capacity=3, ttl_ms=100)
    for i in range(5):
        buf.add_features(i, np.full(2, float(i)), np.zeros(1, bool), np.zeros(1), ts=i)
    assert list(buf.features) == [2, 3, 4] and buf.evicted["features"] == 2
    buf.add_features("s", SparseRow.from_dense(np.array([0, 1.0])), np.ones(2, bool), np.full(2, 0.5), ts=10)
    buf.add_labels("early", np.array([True, False]), ts=10)
    copy = JoinBuffer(3, 100)
    copy.load_bytes(buf.to_bytes())
    assert list(copy.features) == list(buf.features) and list(copy.labels) == ["early"]
    assert copy.features["s"][0] == buf.features["s"][0] and copy.evicted == buf.evicted
    assert (copy.features_time, copy.labels_time) == (10, 10)
    assert copy.add_features("early", np.zeros(2), np.zeros(1, bool), np.zeros(1), ts=11).tolist() == [True, False]
    copy.add_features("new", np.zeros(2), np.zeros(1, bool), np.zeros(1), ts=1000)
    assert copy.expire() == 0  # the features side moving on evicts no features: their labels may be unread
    assert copy.add_labels("zz", np.array([True]), ts=1000) is None
    assert copy.expire() == 2  # labels stamped 1000 arrived: features 4 and "s" are overdue (3 made room)
    assert list(copy.features) == ["new"] and list(copy.labels) == ["zz"]


def test_checkpoint_is_versioned_checked_and_cannot_run_code(tmp_path, monkeypatch):
    model = registry.make("br-ht")  # River trees inside: signed pickles
    stream = datasets.load("yeast")
    for x, y in zip(stream.X[:30], stream.Y[:30]):
        model.learn_row(x, y)
    path = tmp_path / "c.ckpt"
    write_checkpoint(path, model, offsets={"t:0": 30}, counters={"learned": 30})
    assert read_header(path)["offsets"] == {"t:0": 30}
    assert read_checkpoint(path).model.predict_many(stream.X[:5]).shape == (5, 14)

    data = bytearray(path.read_bytes())
    # a newer format version is refused
    newer = bytearray(data)
    struct.pack_into("<I", newer, 8, 99)
    (tmp_path / "v.ckpt").write_bytes(newer)
    with pytest.raises(CheckpointError, match="version"):
        read_checkpoint(tmp_path / "v.ckpt")
    # a flipped byte is caught by the section digest
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF
    (tmp_path / "f.ckpt").write_bytes(flipped)
    with pytest.raises(CheckpointError, match="SHA-256"):
        read_checkpoint(tmp_path / "f.ckpt")

    # an attacker who rewrites the model's pickled state *and* fixes the digest still cannot run
    # code: the pickle's HMAC does not match and it is refused before unpickling
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    head_len = struct.unpack_from("<Q", data, 12)[0]
    header = json.loads(data[20 : 20 + head_len])
    body = bytes(data[20 + head_len :])
    start, length, _ = header["sections"]["model"]
    model_bytes = bytearray(body[start : start + length])
    m_head_len = struct.unpack_from("<Q", model_bytes, 12)[0]
    m_header = json.loads(model_bytes[20 : 20 + m_head_len])
    evil = pickle.dumps(Evil())
    blob_start = len(model_bytes) - (20 + m_head_len)

    def swap(obj):
        if isinstance(obj, dict):
            if "__pickle__" in obj:
                obj["__pickle__"] = [blob_start, len(evil), obj["__pickle__"][2]]
                return obj
            return {k: swap(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [swap(v) for v in obj]
        return obj

    m_header = swap(m_header)
    m_head = json.dumps(m_header).encode()
    new_model = struct.pack("<8sIQ", b"STREAMML", 1, len(m_head)) + m_head + bytes(model_bytes[20 + m_head_len :]) + evil
    header["sections"] = {"model": [0, len(new_model), hashlib.sha256(new_model).hexdigest()]}
    head = json.dumps(header).encode()
    (tmp_path / "evil.ckpt").write_bytes(struct.pack("<8sIQ", b"SMLCKPT\x00", 1, len(head)) + head + new_model)
    with pytest.raises(persistence.TamperedFileError):
        read_checkpoint(tmp_path / "evil.ckpt")
    assert not marker.exists()


def test_checkpoint_is_fast_for_trees_on_yeast(tmp_path):
    stream = datasets.load("yeast")
    for spec in [s for s in ("mlht", "mlhat") if s in registry.available()]:
        model = registry.make(spec)
        model.bind(stream.schema)
        for x, y in stream:
            model.learn_row(x, y)
        times = [write_checkpoint(tmp_path / f"{spec}.ckpt", model, offsets={"t:0": 2417}).seconds for _ in range(5)]
        assert min(times) < 0.1, (spec, times)


def test_processor_embedding_checkpoint_restore_and_micro_batching(tmp_path):
    stream = datasets.load("yeast")
    msgs = [encode_json(i, x, y, stream.schema.labels) for i, (x, y) in enumerate(stream)][:600]
    one = StreamProcessor("br-lr")
    for m in msgs[:300]:
        one.process(m)
    one.checkpoint(tmp_path / "p.ckpt", offsets={"t:0": 300})
    two = StreamProcessor("br-lr")
    assert two.restore(tmp_path / "p.ckpt")["offsets"] == {"t:0": 300}
    for m in msgs[300:]:
        one.process(m)
        two.process(m)
    X = stream.X[600:700]
    ref = one.model.predict_proba_many(X)
    assert np.array_equal(two.model.predict_proba_many(X), ref)
    # Arrow batches of 100, predicted 64 at a time or one at a time: the same model either way
    batched, single = StreamProcessor("br-lr", micro_batch=64), StreamProcessor("br-lr")
    for start in range(0, 600, 100):
        ids = list(range(start, start + 100))
        msg = encode_arrow(ids, stream.X[ids], stream.Y[ids], stream.schema.labels)
        out = batched.process(msg)
        assert [p["id"] for p in out] == ids
        single.process(msg)
    assert np.array_equal(batched.model.predict_proba_many(X), single.model.predict_proba_many(X))
    assert batched.metrics()["n"] == 600
    assert one.stats()["learned"] == two.stats()["learned"] == 600


def test_processor_bad_message_changes_nothing():
    proc = StreamProcessor("majority", labels=["a", "b"], strict_labels=True)
    proc.process({"id": 1, "features": [1.0], "labels": ["a"]})
    with pytest.raises(BadMessage) as err:
        proc.process(b'{"id": 2, "features": [1.0], "labels": ["c"]}')
    assert err.value.kind == "unknown-label"
    assert proc.stats()["dead_letters_by_kind"] == {"unknown-label": 1}
    assert proc.stats()["learned"] == 1 and proc.model.labels_ == ["a", "b"]


def test_processor_late_labels_ttl_by_event_time():
    proc = StreamProcessor("majority", join_ttl_s=1.0, join_capacity=10)
    for i in range(5):
        proc.process({"id": i, "features": [float(i)]}, timestamp_ms=1000 + i)
    assert proc.process_labels({"id": 2, "labels": ["a"]}, timestamp_ms=1500) == 1
    assert proc.process_labels({"id": 99, "labels": ["a"]}, timestamp_ms=1600) == 0  # waits for features
    proc.process({"id": 5, "features": [5.0], "labels": ["a"]}, timestamp_ms=5000)  # features time moves on
    assert proc.stats()["evicted_by_side"] == {"features": 0, "labels": 1}
    assert proc.process_labels({"id": 77, "labels": ["a"]}, timestamp_ms=5000) == 0  # labels time moves on
    stats = proc.stats()
    assert stats["learned"] == 2 and stats["pending"] == 1  # id 77 waits
    assert stats["evicted_by_side"] == {"features": 4, "labels": 1}
    assert proc.metrics()["n"] == 2


def test_prediction_messages_round_trip():
    proc = StreamProcessor("majority")
    preds = [(1, np.array([True, False]), np.array([0.9, 0.1])), (2, np.array([False, True]), np.array([0.2, 0.8]))]
    proc.model._add_labels(["a", "b"])
    for arrow in (False, True):
        msgs = proc.encode(preds, arrow=arrow)
        assert len(msgs) == (1 if arrow else 2)
        back = [p for m in msgs for p in decode_predictions(m)]
        assert [p["labels"] for p in back] == [["a"], ["b"]]
        assert back[1]["scores"]["b"] == pytest.approx(0.8)


def test_urls_and_client_config():
    assert parse_kafka_url("kafka://h1:9092,h2:9092/t") == ("h1:9092,h2:9092", "t")
    with pytest.raises(ValueError):
        parse_kafka_url("http://h:1/t")
    cfg = parse_client_config(["security_protocol=SASL_SSL", "sasl.mechanism=PLAIN", "sasl_plain_username=u",
                               "consumer.fetch_max_wait_ms=50", "producer.linger_ms=7", "ssl_check_hostname=false"])
    consumer, producer = split_client_config(cfg)
    assert consumer["security_protocol"] == producer["security_protocol"] == "SASL_SSL"
    assert consumer["sasl_mechanism"] == "PLAIN" and consumer["fetch_max_wait_ms"] == 50
    assert producer["linger_ms"] == 7 and "linger_ms" not in consumer and producer["ssl_check_hostname"] is False
    with pytest.raises(ValueError, match="unknown"):
        split_client_config({"no_such_setting": 1})


def test_docs_kafka_md_examples_run_without_a_broker():
    import doctest
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "kafka.md"
    result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
