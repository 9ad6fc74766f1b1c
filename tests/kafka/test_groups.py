"""Scale-out: two per-partition workers in one consumer group; one is SIGKILLed and its partitions go on
on the other, from their checkpoints, with no message lost or learned twice per partition model."""

from __future__ import annotations

import re
import signal

import numpy as np
import pytest
from kafka_utils import offset_of, produce, read_topic, wait_for, worker_cmd, yeast_messages, yeast_xy

from connectors.kafka.checkpoint import read_checkpoint
from connectors.kafka.processor import StreamProcessor
from connectors.kafka.worker import checkpoint_path

pytestmark = pytest.mark.kafka


def _assigned(log: str) -> list[int] | None:
    found = re.findall(r"assigned partitions \[([0-9, ]*)\]", log)
    return [int(p) for p in found[-1].split(",") if p.strip()] if found else None


def test_partitions_move_to_the_surviving_worker_from_their_checkpoints(kafka_broker, make_topic, workers, tmp_path):
    topic = make_topic(4)
    messages = yeast_messages(repeat=2)
    half = len(messages) // 2
    keys = [str(i).encode() for i in range(len(messages))]
    produce(kafka_broker, topic, messages[:half], keys=keys[:half])
    ck = tmp_path / "ck"
    opts = ["--per-partition", "--checkpoint-every", "100", "--checkpoint-seconds", "1", "--max-poll-records", "50",
            "--client-config", "consumer.session_timeout_ms=6000",
            "--client-config", "consumer.heartbeat_interval_ms=1000"]
    paths = {p: checkpoint_path(ck, topic, p) for p in range(4)}

    a = workers.start(worker_cmd(kafka_broker, topic, ck, *opts, group="grp"), "a")
    wait_for(lambda: _assigned(workers.log(a)) == [0, 1, 2, 3], 60, "worker a to own the 4 partitions", 0.2)
    wait_for(lambda: all(offset_of(paths[p], f"{topic}:{p}") > 0 for p in range(4)), 60, "first checkpoints", 0.1)

    b = workers.start(worker_cmd(kafka_broker, topic, ck, *opts, group="grp"), "b")
    wait_for(lambda: _assigned(workers.log(b)), 60, "worker b to get partitions", 0.2)
    wait_for(lambda: "revoked partitions" in workers.log(a) and _assigned(workers.log(a)) not in (None, [0, 1, 2, 3]),
             60, "worker a to hand partitions over", 0.2)
    a_parts, b_parts = _assigned(workers.log(a)), _assigned(workers.log(b))
    assert sorted(a_parts + b_parts) == [0, 1, 2, 3] and a_parts and b_parts

    # more data while both run; a dies (SIGKILL: no revoke, no final checkpoint) in the middle of it
    produce(kafka_broker, topic, messages[half:], keys=keys[half:])
    wait_for(lambda: any(offset_of(paths[p], f"{topic}:{p}") > 0 and read_checkpoint(paths[p]).header["counters"][
        "learned"] > 0 and f"-{a.pid}-" in read_checkpoint(paths[p]).header["writer"] for p in a_parts), 60,
        "a checkpoint by worker a", 0.1)
    a.send_signal(signal.SIGKILL)
    a.wait(10)

    records = read_topic(kafka_broker, topic, expect=len(messages))
    assert len(records) == len(messages)
    per_partition: dict[int, list] = {p: [] for p in range(4)}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        per_partition[r.partition].append(r.value)
    ends = {p: len(v) for p, v in per_partition.items()}
    wait_for(lambda: all(offset_of(paths[p], f"{topic}:{p}") == ends[p] for p in range(4)), 90,
             "worker b to finish every partition", 0.2)
    b.send_signal(signal.SIGTERM)
    assert workers.wait(b, 60) == 0, workers.log(b)
    assert sorted(_assigned(workers.log(b))) == [0, 1, 2, 3], workers.log(b)
    for p in a_parts:
        assert f"partition {p}: restored {paths[p].name}" in workers.log(b)

    X = yeast_xy()[0]
    for p in range(4):
        ckpt = read_checkpoint(paths[p])
        assert ckpt.offsets == {f"{topic}:{p}": ends[p]}
        assert ckpt.header["counters"]["learned"] == ends[p], (p, ckpt.header["counters"])
        assert f"-{b.pid}-" in ckpt.header["writer"] and ckpt.header["partition"] == p
        reference = StreamProcessor("br-lr")
        for value in per_partition[p]:
            reference.process(value)
        assert np.array_equal(ckpt.model.predict_proba_many(X), reference.model.predict_proba_many(X)), p
