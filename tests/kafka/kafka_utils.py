"""Helpers of the broker tests: worker subprocesses, producing Yeast, reading topics back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from connectors.kafka.checkpoint import read_header
from connectors.kafka.messages import encode_json
from streamml import datasets

ROOT = Path(__file__).resolve().parents[2]


def yeast_messages(n: int | None = None, repeat: int = 1) -> list[bytes]:
    """Yeast as JSON instance messages, ids 0..; ``repeat`` passes over the data."""
    stream = datasets.load("yeast")
    out = []
    for _ in range(repeat):
        for x, y in zip(stream.X, stream.Y):
            out.append(encode_json(len(out), x, y, stream.schema.labels))
    return out[:n] if n is not None else out


def produce(broker, topic: str, values, keys=None, partition=None) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(**broker.client_config(), linger_ms=10, max_request_size=8 << 20)
    try:
        for i, value in enumerate(values):
            key = keys[i] if keys is not None else None
            producer.send(topic, value=value, key=key, partition=partition)
        producer.flush()
    finally:
        producer.close()


def read_topic(broker, topic: str, expect: int | None = None, timeout: float = 30.0):
    """Every record of ``topic`` (all partitions) from the beginning; waits for ``expect`` records."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**broker.client_config(), group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=1500)
    try:
        deadline = time.monotonic() + timeout
        parts = None
        while not parts:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                if time.monotonic() > deadline:
                    return []
                consumer.topics()
                time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p) for p in parts])
        records = []
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
            if not batch and (expect is None or len(records) >= expect):
                break
        return records
    finally:
        consumer.close()


def worker_cmd(broker, topic: str, ckdir, *extra: str, model: str = "br-lr", group: str = "g") -> list[str]:
    return [sys.executable, "-m", "streamml", "run", "--source", f"kafka://{broker.bootstrap}/{topic}",
            "--model", model, "--group", group, "--checkpoint-dir", str(ckdir), "--log-every", "1", *extra]


class Workers:
    """Worker subprocesses started by a test; every one still running is killed at teardown."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: list[str], name: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        proc.log_path = self.tmp_path / f"{name}.log"  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def log(self, proc) -> str:
        return Path(proc.log_path).read_text()

    def wait(self, proc, timeout: float = 120) -> int:
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise AssertionError(f"worker did not exit within {timeout} s; its log:\n{self.log(proc)[-3000:]}")

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)


def wait_for(condition, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def offset_of(path, key: str) -> int:
    """The offset a checkpoint holds for ``topic:partition`` (-1 when there is no checkpoint yet)."""
    try:
        return int(read_header(path)["offsets"].get(key, -1))
    except (OSError, ValueError, KeyError):
        return -1


def yeast_xy():
    stream = datasets.load("yeast")
    return stream.X, stream.Y, stream.schema


def as_ids(records) -> list:
    import json

    return [json.loads(r.value)["id"] for r in records]


def model_outputs(model, X) -> np.ndarray:
    return model.predict_proba_many(X)
