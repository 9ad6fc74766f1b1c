"""Exactly-once learning: a worker SIGKILLed mid-stream and restarted ends with the same model as an
uninterrupted run over the same messages."""

from __future__ import annotations

import signal

import numpy as np
import pytest
from kafka_utils import offset_of, produce, read_topic, wait_for, worker_cmd, yeast_messages, yeast_xy

from connectors.kafka.checkpoint import read_checkpoint
from connectors.kafka.processor import StreamProcessor
from connectors.kafka.worker import checkpoint_path
from streamml import persistence

pytestmark = pytest.mark.kafka


def test_sigkill_mid_stream_then_restart_learns_every_message_exactly_once(kafka_broker, make_topic, workers, tmp_path):
    topic = make_topic(1)
    messages = yeast_messages(repeat=2)  # 4834 instances
    n = len(messages)
    produce(kafka_broker, topic, messages, keys=[str(i).encode() for i in range(n)])
    key = f"{topic}:0"
    opts = ["--checkpoint-every", "300", "--checkpoint-seconds", "1000", "--max-poll-records", "100",
            "--predictions-topic", f"{topic}-pred"]

    # the interrupted run: killed with SIGKILL once it has checkpointed past offset 900
    ck_a = tmp_path / "ck-interrupted"
    path_a = checkpoint_path(ck_a, topic, None)
    first = workers.start(worker_cmd(kafka_broker, topic, ck_a, *opts, group="interrupted"), "first")
    wait_for(lambda: offset_of(path_a, key) >= 900 or first.poll() is not None, 120, "a checkpoint past 900")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert first.returncode == -signal.SIGKILL, workers.log(first)
    killed_at = offset_of(path_a, key)
    assert 900 <= killed_at < n, f"the kill was not mid-stream (checkpoint at {killed_at} of {n})"

    second = workers.start(worker_cmd(kafka_broker, topic, ck_a, *opts, "--until-end", group="interrupted"), "second")
    assert workers.wait(second) == 0, workers.log(second)
    assert f"restored {path_a.name} (offsets {{'{key}': {killed_at}}}" in workers.log(second)

    # the uninterrupted run over the same messages
    ck_b = tmp_path / "ck-straight"
    straight = workers.start(worker_cmd(kafka_broker, topic, ck_b, "--until-end", "--checkpoint-every", "300",
                                        group="straight"), "straight")
    assert workers.wait(straight) == 0, workers.log(straight)

    a, b = read_checkpoint(path_a), read_checkpoint(checkpoint_path(ck_b, topic, None))
    assert a.offsets == b.offsets == {key: n}
    assert a.header["counters"]["learned"] == b.header["counters"]["learned"] == n  # none lost, none twice

    # and the same model as learning the messages once, in order, in-process
    reference = StreamProcessor("br-lr")
    for m in messages:
        reference.process(m)
    X = yeast_xy()[0]
    for ckpt in (a, b):
        assert np.array_equal(ckpt.model.predict_proba_many(X), reference.model.predict_proba_many(X))
        assert np.array_equal(ckpt.model.predict_many(X), reference.model.predict_many(X))
        assert persistence.dumps(ckpt.model) == persistence.dumps(reference.model)

    # the predictions topic has every id (at least once: those after the last checkpoint twice)
    predicted = read_topic(kafka_broker, f"{topic}-pred", expect=n)
    ids = [int(r.key) for r in predicted]
    assert set(ids) == set(range(n))
    # only messages after the last checkpoint before the kill were predicted again, once
    counts = np.bincount(ids, minlength=n)
    assert counts.max() <= 2 and (counts[:killed_at] == 1).all()
