"""A broker restart in the middle of the stream: the worker reconnects, goes on, and loses nothing."""

from __future__ import annotations

import signal

import numpy as np
import pytest
from kafka_utils import offset_of, produce, read_topic, wait_for, worker_cmd, yeast_messages

from connectors.kafka.checkpoint import read_checkpoint
from connectors.kafka.worker import checkpoint_path

pytestmark = pytest.mark.kafka


def test_worker_survives_a_broker_restart(kafka_broker, make_topic, workers, tmp_path):
    topic = make_topic(1)
    messages = yeast_messages(2000)
    keys = [str(i).encode() for i in range(len(messages))]
    produce(kafka_broker, topic, messages[:1000], keys=keys[:1000])
    ck = tmp_path / "ck"
    path = checkpoint_path(ck, topic, None)
    key = f"{topic}:0"
    proc = workers.start(worker_cmd(kafka_broker, topic, ck, "--checkpoint-every", "200", "--checkpoint-seconds", "0.5",
                                    "--predictions-topic", f"{topic}-pred", model="mlht"), "worker")
    wait_for(lambda: offset_of(path, key) == 1000, 60, "the first half to be checkpointed", 0.1)

    kafka_broker.restart()  # same ports, same data
    assert proc.poll() is None, workers.log(proc)
    produce(kafka_broker, topic, messages[1000:], keys=keys[1000:])
    wait_for(lambda: offset_of(path, key) == 2000, 120, "the second half to be checkpointed", 0.2)
    proc.send_signal(signal.SIGTERM)
    assert workers.wait(proc, 60) == 0, workers.log(proc)

    ckpt = read_checkpoint(path)
    assert ckpt.offsets == {key: 2000} and ckpt.header["counters"]["learned"] == 2000
    ids = [int(r.key) for r in read_topic(kafka_broker, f"{topic}-pred", expect=2000, timeout=60)]
    assert set(ids) == set(range(2000))  # every prediction made it out
    assert np.bincount(ids).max() == 1  # and none twice: nothing was replayed
