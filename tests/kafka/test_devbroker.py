"""The Kafka dev broker against real clients: kafka-python producing to and consuming from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from connectors.kafka import devbroker
from connectors.kafka.devbroker import DevBroker, KafkaDevBrokerError, fetch_jars

ROOT = Path(__file__).resolve().parents[2]


def _producer(broker: DevBroker, **config) -> KafkaProducer:
    return KafkaProducer(
        **broker.client_config(),
        acks="all",
        **config,
    )


def _consumer(broker: DevBroker, topic: str, group: str, **config) -> KafkaConsumer:
    return KafkaConsumer(
        topic,
        **broker.client_config(),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **config,
    )


def _value(record) -> dict:
    return json.loads(record.value)


def _poll_until(consumer: KafkaConsumer, count: int, timeout: float = 30) -> list:
    """Records polled until ``count`` arrived or ``timeout`` passed, in arrival order."""
    records: list = []
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    return records


def _wait_assigned(consumer: KafkaConsumer, timeout: float = 30) -> set:
    deadline = time.monotonic() + timeout
    records = []
    while not consumer.assignment() and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    assert consumer.assignment(), "the consumer was never assigned a partition"
    assert records == [], f"expected nothing new, got {len(records)} records"
    return consumer.assignment()


def _produce(broker: DevBroker, topic: str, values, key=None) -> None:
    producer = _producer(broker)
    try:
        futures = [
            producer.send(topic, value=json.dumps(v).encode(), key=key(v).encode() if key else None)
            for v in values
        ]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=10)  # raises if any send failed
    finally:
        producer.close()


def test_thousand_json_messages_round_trip_in_order(kafka_broker, topic):
    sent = [{"seq": i, "x": [i * 0.5, -i], "labels": [i % 3, (i * 7) % 5]} for i in range(1000)]
    _produce(kafka_broker, topic, sent)

    group = f"{topic}-group"
    consumer = _consumer(kafka_broker, topic, group)
    try:
        records = _poll_until(consumer, 1000)
        assert [_value(r) for r in records] == sent
        assert [r.offset for r in records] == list(range(1000))
        consumer.commit()
        assert consumer.committed(TopicPartition(topic, 0)) == 1000
    finally:
        consumer.close()

    # The same group again: the committed offset holds, so there is nothing new to read.
    second = _consumer(kafka_broker, topic, group)
    try:
        assert _wait_assigned(second) == {TopicPartition(topic, 0)}
        assert second.position(TopicPartition(topic, 0)) == 1000
        assert _poll_until(second, 1, timeout=2) == []
    finally:
        second.close()


def test_multi_partition_topic_spreads_keys_and_keeps_per_key_order(kafka_broker, make_topic):
    topic = make_topic(partitions=3)
    sent = [{"seq": i, "key": f"k{i % 12}"} for i in range(300)]
    _produce(kafka_broker, topic, sent, key=lambda v: v["key"])

    consumer = _consumer(kafka_broker, topic, f"{topic}-group")
    try:
        assert consumer.partitions_for_topic(topic) == {0, 1, 2}
        records = _poll_until(consumer, 300)
    finally:
        consumer.close()
    assert sorted(_value(r)["seq"] for r in records) == list(range(300))
    partitions_of_key = defaultdict(set)
    seqs_of_key = defaultdict(list)
    for record in records:
        partitions_of_key[_value(record)["key"]].add(record.partition)
        seqs_of_key[_value(record)["key"]].append(_value(record)["seq"])
    assert {r.partition for r in records} == {0, 1, 2}
    assert all(len(parts) == 1 for parts in partitions_of_key.values())  # a key sticks to a partition
    assert all(seqs == sorted(seqs) for seqs in seqs_of_key.values())


def test_restart_keeps_data_and_committed_offsets(kafka_broker, topic):
    _produce(kafka_broker, topic, [{"seq": i} for i in range(100)])
    tp = TopicPartition(topic, 0)
    group = f"{topic}-group"
    consumer = _consumer(kafka_broker, topic, group)
    try:
        assert len(_poll_until(consumer, 100)) == 100
        consumer.commit({tp: OffsetAndMetadata(60, "", -1)})
    finally:
        consumer.close()

    bootstrap, pid = kafka_broker.bootstrap, kafka_broker.pid
    kafka_broker.restart()
    assert kafka_broker.bootstrap == bootstrap
    assert kafka_broker.pid != pid
    assert topic in kafka_broker.list_topics()

    _produce(kafka_broker, topic, [{"seq": i} for i in range(100, 110)])  # writes work after it too
    resumed = _consumer(kafka_broker, topic, group)
    try:
        assert [_value(r)["seq"] for r in _poll_until(resumed, 50)] == list(range(60, 110))
    finally:
        resumed.close()
    fresh = _consumer(kafka_broker, topic, f"{topic}-fresh")
    try:
        assert [_value(r)["seq"] for r in _poll_until(fresh, 110)] == list(range(110))
    finally:
        fresh.close()


def test_a_port_in_use_is_refused_before_launching(kafka_broker, tmp_path):
    clash = DevBroker(workdir=tmp_path / "clash", port=kafka_broker.port)
    with pytest.raises(KafkaDevBrokerError, match=f"port {kafka_broker.port} .* already in use"):
        clash.start(timeout=60)
    assert clash.pid is None and not clash.running


def test_a_broker_that_dies_while_starting_raises_with_its_log(kafka_broker, tmp_path, monkeypatch):
    # Skip the port check, as if the port had been taken just after it: the JVM itself fails to bind,
    # and the broker already answering on that port must not be taken for this one.
    monkeypatch.setattr(devbroker, "_port_free", lambda port: True)
    clash = DevBroker(workdir=tmp_path / "clash", port=kafka_broker.port)
    with pytest.raises(KafkaDevBrokerError, match="Address already in use") as info:
        clash.start(timeout=60)
    assert "exited" in str(info.value) and str(clash.log_path) in str(info.value)
    assert not clash.running
    clash.stop()
    assert kafka_broker.list_topics() is not None  # the shared broker is unharmed


def test_cli_detach_status_stop(kafka_broker, tmp_path):
    env = {**os.environ, "STREAMML_KAFKA_STATE": str(tmp_path / "state.json")}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "connectors.kafka.devbroker", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=150,
        )  # fmt: skip

    assert cli("status").returncode == 1
    started = cli("start", "--detach", "--quiet")
    try:
        assert started.returncode == 0, started.stderr
        bootstrap = started.stdout.strip().splitlines()[-1]
        state = json.loads((tmp_path / "state.json").read_text())
        assert bootstrap == state["bootstrap"] and bootstrap.startswith("127.0.0.1:")
        status = cli("status")
        assert status.returncode == 0 and bootstrap in status.stdout
        assert DevBroker(port=int(bootstrap.rsplit(":", 1)[1])).list_topics() is not None
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not devbroker._is_our_broker(state["pid"])
    assert not Path(state["dir"]).exists()
    assert cli("status").returncode == 1


# ---- prerequisites and the jar cache (no broker needed)


def _fake_tools(bin_dir: Path, java_version: str | None, mvn: bool) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    if java_version is not None:
        java = bin_dir / "java"
        java.write_text(f'#!/bin/sh\necho \'openjdk version "{java_version}" 2024-01-16\' >&2\n')
        java.chmod(0o755)
    if mvn:
        (bin_dir / "mvn").write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / "mvn").chmod(0o755)


@pytest.mark.parametrize(
    ("java_version", "mvn", "expected"),
    [
        (None, True, ["java was not found", "Java 17"]),
        ("11.0.22", True, ["is Java 11", "needs Java 17"]),
        ("1.8.0_392", True, ["is Java 8"]),
        ("17.0.15", False, ["mvn", "Maven"]),
        (None, False, ["java was not found", "mvn"]),
        ("17.0.15", True, None),
        ("21.0.2", True, None),
    ],
)
def test_java_and_maven_available_says_what_is_missing(tmp_path, monkeypatch, java_version, mvn, expected):
    _fake_tools(tmp_path / "bin", java_version, mvn)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    reason = devbroker.java_and_maven_available()
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        for text in expected:
            assert text in reason
        if mvn:
            assert "mvn" not in reason


def test_second_fetch_uses_the_stamp_and_runs_no_maven(kafka_broker, monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"fetch_jars ran a process although its cache is complete: {args}")

    monkeypatch.setattr(devbroker.subprocess, "run", no_subprocess)
    start = time.perf_counter()
    libs = fetch_jars(kafka_broker.version)
    assert time.perf_counter() - start < 1.0
    assert (libs / f"kafka_2.13-{kafka_broker.version}.jar").is_file()
    assert (libs / "slf4j-simple-1.7.36.jar").is_file()


class _FakeMaven:
    """Stands in for ``subprocess.run(mvn ...)``: counts runs and writes the jars named."""

    def __init__(self, version: str, delay: float = 0.0, fail: bool = False):
        self.version, self.delay, self.fail = version, delay, fail
        self.calls: list[list[str]] = []
        self.active = self.max_active = 0
        self._guard = threading.Lock()

    def __call__(self, cmd, **kwargs):
        with self._guard:
            self.calls.append(cmd)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            if self.fail:
                return subprocess.CompletedProcess(cmd, 1, "", "[ERROR] could not resolve")
            out = Path(next(a for a in cmd if a.startswith("-DoutputDirectory=")).split("=", 1)[1])
            out.mkdir(parents=True, exist_ok=True)
            for name in (f"kafka_2.13-{self.version}.jar", "kafka-clients.jar", "slf4j-simple-1.7.36.jar"):
                (out / name).write_bytes(b"PK")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        finally:
            with self._guard:
                self.active -= 1


@pytest.fixture
def fake_maven(monkeypatch):
    monkeypatch.setattr(devbroker.shutil, "which", lambda name: f"/usr/bin/{name}")
    fake = _FakeMaven("9.9.9")
    monkeypatch.setattr(devbroker.subprocess, "run", fake)
    return fake


def test_interrupted_download_is_redone_and_then_cached(tmp_path, fake_maven):
    cache = tmp_path / "cache"
    (cache / "libs").mkdir(parents=True)
    (cache / "libs" / "half-downloaded.jar").write_bytes(b"")  # no stamp: an interrupted fetch

    libs = fetch_jars("9.9.9", cache)
    assert len(fake_maven.calls) == 1
    cmd = fake_maven.calls[0]
    assert "dependency:copy-dependencies" in cmd and "-DincludeScope=runtime" in cmd
    assert "<artifactId>kafka_2.13</artifactId>" in (cache / "pom.xml").read_text()
    assert not (libs / "half-downloaded.jar").exists()
    assert (libs / "kafka_2.13-9.9.9.jar").is_file()

    assert fetch_jars("9.9.9", cache) == libs
    assert len(fake_maven.calls) == 1  # the stamp says it is complete

    (libs / "kafka-clients.jar").unlink()  # a jar the stamp lists went missing
    fetch_jars("9.9.9", cache)
    assert len(fake_maven.calls) == 2


def test_failed_download_leaves_no_stamp(tmp_path, fake_maven):
    fake_maven.fail = True
    with pytest.raises(KafkaDevBrokerError, match="could not resolve"):
        fetch_jars("9.9.9", tmp_path)
    assert not (tmp_path / devbroker._STAMP).exists()


def test_concurrent_fetches_run_maven_once(tmp_path, fake_maven):
    fake_maven.delay = 0.5
    results, errors = [], []

    def fetch():
        try:
            results.append(fetch_jars("9.9.9", tmp_path))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(results) == 3 and len(set(results)) == 1
    assert len(fake_maven.calls) == 1 and fake_maven.max_active == 1


def _load_kafka_conftest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("kafka_tests_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_java_skips_unless_kafka_is_required(monkeypatch):
    conftest = _load_kafka_conftest()
    monkeypatch.setattr(conftest, "java_and_maven_available", lambda: "mvn was not found on PATH")
    monkeypatch.delenv("STREAMML_REQUIRE_KAFKA", raising=False)
    with pytest.raises(pytest.skip.Exception, match="mvn was not found"):
        conftest.kafka_prerequisites_or_skip()
    monkeypatch.setenv("STREAMML_REQUIRE_KAFKA", "1")
    with pytest.raises(pytest.fail.Exception, match="STREAMML_REQUIRE_KAFKA.*mvn was not found"):
        conftest.kafka_prerequisites_or_skip()
    monkeypatch.setattr(conftest, "java_and_maven_available", lambda: None)
    conftest.kafka_prerequisites_or_skip()  # all there: neither skips nor fails
