"""The worker against a real broker: dead letters, late labels, the results JSON, the CLI replay."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from kafka_utils import produce, read_topic, worker_cmd, yeast_messages, yeast_xy

from connectors.kafka.checkpoint import read_checkpoint
from connectors.kafka.messages import encode_arrow, encode_json
from connectors.kafka.worker import checkpoint_path
from streamml import cli

pytestmark = pytest.mark.kafka


def test_bad_messages_go_to_the_dead_letter_topic_and_the_stream_goes_on(kafka_broker, make_topic, workers, tmp_path):
    topic = make_topic(1)
    X, Y, schema = yeast_xy()
    labels = schema.labels
    row = X[0].tolist()
    arrow_x = X[1:4].copy()
    arrow_x[1, 5] = np.inf
    bad = {
        1: (b"{not json", "malformed"),
        2: (encode_json(2, X[0][:5], Y[0], labels), "feature-count"),
        3: (json.dumps({"id": 3, "features": row[:-1] + ["x"], "labels": []}).encode(), "non-numeric"),
        4: (b'{"id": 4, "features": [NaN' + b", 1.0" * 102 + b'], "labels": []}', "non-finite"),
        5: (json.dumps({"id": 5, "features": row, "labels": ["Class1", "NoSuchLabel"]}).encode(), "unknown-label"),
        6: (json.dumps({"id": 6, "features": row, "labels": [], "pad": "x" * 6000}).encode(), "oversized"),
    }
    values = [encode_json(0, X[0], Y[0], labels)]
    values += [bad[i][0] for i in range(1, 7)]
    values.append(encode_arrow([100, 101, 102], arrow_x, Y[1:4], labels))  # offset 7: row 1 is bad
    good = [encode_json(200 + i, X[10 + i], Y[10 + i], labels) for i in range(100)]
    values += good
    produce(kafka_broker, topic, values, keys=[str(i).encode() for i in range(len(values))])

    out = tmp_path / "run.json"
    proc = workers.start(worker_cmd(kafka_broker, topic, tmp_path / "ck", "--until-end", "--dlq-topic", f"{topic}-dlq",
                                    "--predictions-topic", f"{topic}-pred", "--strict-labels",
                                    "--labels", ",".join(labels), "--max-message-bytes", "5000", "--json", str(out),
                                    model="mlht"), "worker")
    assert workers.wait(proc) == 0, workers.log(proc)

    dead = read_topic(kafka_broker, f"{topic}-dlq", expect=7)
    assert len(dead) == 7
    by_offset = {}
    for rec in dead:
        headers = {k: v.decode() for k, v in rec.headers}
        assert headers["streamml.source.topic"] == topic and headers["streamml.source.partition"] == "0"
        offset = int(headers["streamml.source.offset"])
        assert rec.value == values[offset] and rec.key == str(offset).encode()  # the original bytes and key
        assert headers["streamml.error.reason"]
        by_offset.setdefault(offset, []).append(headers)
    for offset, (_, kind) in bad.items():
        assert [h["streamml.error.kind"] for h in by_offset[offset]] == [kind]
    assert [(h["streamml.error.kind"], h["streamml.error.row"]) for h in by_offset[7]] == [("non-finite", "1")]

    result = json.loads(out.read_text())[0]
    kafka = result["extra"]["kafka"]
    assert result["skipped"]["skipped"] == kafka["dead_letters"] == 7
    assert kafka["dead_letters_by_kind"] == {"malformed": 1, "feature-count": 1, "non-numeric": 1, "non-finite": 2,
                                             "unknown-label": 1, "oversized": 1}
    assert result["n"] == kafka["learned"] == 1 + 2 + 100  # every good instance, Arrow rows included
    ckpt = read_checkpoint(checkpoint_path(tmp_path / "ck", topic, None))
    assert ckpt.offsets == {f"{topic}:0": len(values)}
    assert ckpt.model.labels_ == labels  # the strict label space did not grow
    preds = read_topic(kafka_broker, f"{topic}-pred", expect=1 + 1 + 100)
    assert len(preds) == 1 + 1 + 100  # one JSON message per JSON instance, one Arrow message for the batch

    # the results JSON has the fields of `streamml evaluate --json`
    ev = tmp_path / "ev.json"
    assert cli.main(["evaluate", "--data", "yeast", "--model", "mlht", "--max-instances", "20", "--json", str(ev),
                     "--no-progress"]) == 0
    expected = set(json.loads(ev.read_text())[0])
    assert expected - {"size_curve"} <= set(result)
    assert {"subset_accuracy", "window_metrics", "curve", "model_size_bytes"} <= set(result)


@pytest.mark.parametrize("fmt", ["json", "arrow"])
def test_late_labels_joined_by_id(kafka_broker, make_topic, workers, tmp_path, fmt):
    topic, labels_topic = make_topic(1), make_topic(1)
    assert cli.main(["replay", "--data", "yeast", "--to", f"kafka://{kafka_broker.bootstrap}/{topic}",
                     "--labels-topic", labels_topic, "--labels-delay", "3", "--format", fmt, "--batch-size", "50",
                     "--max-instances", "600"]) == 0
    out = tmp_path / "run.json"
    proc = workers.start(worker_cmd(kafka_broker, topic, tmp_path / "ck", "--labels-topic", labels_topic,
                                    "--until-end", "--json", str(out), "--predictions-topic", f"{topic}-pred",
                                    model="mlht"), "worker")
    assert workers.wait(proc) == 0, workers.log(proc)
    result = json.loads(out.read_text())[0]
    kafka = result["extra"]["kafka"]
    assert result["n"] == kafka["learned"] == 600
    assert kafka["pending"] == 0 and kafka["evicted"] == 0
    ckpt = read_checkpoint(checkpoint_path(tmp_path / "ck", topic, None))
    assert ckpt.offsets[f"{labels_topic}:0"] > 0 and ckpt.header["counters"]["learned"] == 600
    assert sorted(ckpt.model.labels_) == sorted(yeast_xy()[2].labels)


def test_unmatched_instances_are_evicted_after_their_time_to_live(kafka_broker, make_topic, workers, tmp_path):
    topic, labels_topic = make_topic(1), make_topic(1)
    X, Y, schema = yeast_xy()
    produce(kafka_broker, topic, [encode_json(i, X[i], None) for i in range(100)])
    produce(kafka_broker, labels_topic, [encode_json(i, None, Y[i], schema.labels) for i in range(0, 100, 2)])
    time.sleep(1.5)  # event time moves past the 1 s time-to-live of the unmatched odd ids
    produce(kafka_broker, topic, [encode_json(i, X[i], Y[i], schema.labels) for i in range(100, 110)])
    produce(kafka_broker, labels_topic, [encode_json(999, None, Y[0], schema.labels)])  # no such instance
    out = tmp_path / "run.json"
    proc = workers.start(worker_cmd(kafka_broker, topic, tmp_path / "ck", "--labels-topic", labels_topic,
                                    "--join-ttl", "1", "--until-end", "--json", str(out)), "worker")
    assert workers.wait(proc) == 0, workers.log(proc)
    kafka = json.loads(out.read_text())[0]["extra"]["kafka"]
    assert kafka["learned"] == 50 + 10
    assert kafka["evicted"] == 50 and kafka["pending"] == 1  # id 999 waits: features time has not moved on


def test_client_config_passes_through_to_kafka_python(kafka_broker, make_topic, workers, tmp_path):
    topic = make_topic(1)
    produce(kafka_broker, topic, yeast_messages(50))
    out = tmp_path / "run.json"
    # a setting kafka-python does not know is refused before anything runs
    bad = workers.start(worker_cmd(kafka_broker, topic, tmp_path / "ck", "--until-end",
                                   "--client-config", "no_such_setting=1"), "bad")
    assert workers.wait(bad) != 0 and "no_such_setting" in workers.log(bad)
    good = workers.start(worker_cmd(kafka_broker, topic, tmp_path / "ck", "--until-end", "--json", str(out),
                                    "--client-config", "security_protocol=PLAINTEXT",
                                    "--client-config", "consumer.fetch_max_wait_ms=50",
                                    "--client-config", "producer.linger_ms=1"), "good")
    assert workers.wait(good) == 0, workers.log(good)
    assert json.loads(out.read_text())[0]["n"] == 50
