"""The Kafka learner loop: consume, predict, publish the prediction, learn; checkpoint; scale out.

:class:`KafkaWorker` consumes a topic of instance messages (:mod:`connectors.kafka.messages`) with
kafka-python and, for each message, predicts, publishes the prediction to an output topic (keyed by
the instance id) and then learns. Labels may instead come later on a labels topic; they are joined
by id (:mod:`connectors.kafka.labels_join`).

**Exactly-once learning.** Offsets are never auto-committed. The model, the join buffer and the
offsets it has consumed up to are saved together in one checkpoint file (:mod:`connectors.kafka.checkpoint`)
every ``checkpoint_every`` messages or ``checkpoint_seconds`` seconds, on a clean stop and when
partitions are revoked. The commit protocol: flush the producer (predictions and dead letters of
the covered messages are acknowledged), write the checkpoint (temp file, fsync, rename, fsync of the
folder), and only then commit the offsets to Kafka. A restarted worker loads the checkpoint and
seeks to its offsets, so every message is learned exactly once relative to the saved model state,
whatever kills the worker. Predictions of the messages after the last checkpoint are published
again after a crash (at-least-once for the output topic; they are keyed by id for deduplication).
If a send to Kafka fails for good, the worker stops *without* checkpointing, so that a restart
replays the messages concerned.

**Modes.** ``per_partition=False`` (default): one global model learns every partition of the topic,
which the worker assigns to itself (run one such worker per topic). ``per_partition=True``: the
worker joins the consumer group and keeps one model per assigned partition, each with its own
checkpoint ``<topic>-p<N>.ckpt``; a :class:`kafka.ConsumerRebalanceListener` checkpoints a partition
when it is revoked and loads its checkpoint when it is assigned, so partitions move between workers
(sharing the checkpoint folder) without losing or repeating anything. A labels topic must then have
the same partition count as the features topic and be keyed the same way (by id), so that an
instance and its labels land in the same partition number.

**Bad messages** (:data:`connectors.kafka.messages.BAD_KINDS`) go to the dead-letter topic with the
original bytes and key, and headers ``streamml.error.kind``, ``streamml.error.reason``,
``streamml.source.topic``, ``streamml.source.partition``, ``streamml.source.offset`` (and
``streamml.error.row`` for a row of an Arrow batch); the stream goes on, and the counts by kind are
in :meth:`KafkaWorker.stats`.

**Broker outages** are ridden out: kafka-python reconnects, the producer retries (``acks=all``,
idempotent, a long ``delivery_timeout_ms``), a failed offset commit is retried at the next
checkpoint (the checkpoint, not the commit, is what a restart trusts).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from connectors.kafka.checkpoint import tp_key
from connectors.kafka.live import LiveDisplay
from streamml.metrics import MultiLabelMetrics
from connectors.kafka.messages import ARROW_MARKER, DEFAULT_MAX_BYTES, BadMessage
from connectors.kafka.processor import StreamProcessor

__all__ = [
    "KafkaWorker",
    "WorkerConfig",
    "parse_kafka_url",
    "parse_client_config",
    "split_client_config",
    "checkpoint_path",
]


def parse_kafka_url(url: str) -> tuple[str, str]:
    """``kafka://HOST:PORT[,HOST:PORT]/TOPIC`` to ``(bootstrap, topic)``.

    >>> parse_kafka_url("kafka://127.0.0.1:9092/yeast")
    ('127.0.0.1:9092', 'yeast')
    """
    parsed = urlparse(url)
    if parsed.scheme != "kafka" or not parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"expected kafka://HOST:PORT/TOPIC, got {url!r}")
    topic = parsed.path.strip("/")
    if "/" in topic:
        raise ValueError(f"{url!r}: the topic name cannot contain '/'")
    return parsed.netloc, topic


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_client_config(items: Sequence[str] | None) -> dict[str, Any]:
    """``["security_protocol=SASL_SSL", "sasl_mechanism=PLAIN", ...]`` to a dict for kafka-python.

    Numbers and ``true``/``false`` are converted; dots in keys become underscores (``ssl.cafile``
    works as ``ssl_cafile``). A key may be prefixed ``consumer.`` or ``producer.`` to reach one client.

    >>> parse_client_config(["security.protocol=SSL", "consumer.fetch_max_wait_ms=100"])
    {'security_protocol': 'SSL', 'consumer.fetch_max_wait_ms': 100}
    """
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--client-config expects key=value, got {item!r}")
        key = key.strip()
        prefix = ""
        for p in ("consumer.", "producer."):
            if key.startswith(p):
                prefix, key = p, key[len(p):]
        out[prefix + key.replace(".", "_").replace("-", "_")] = _value(value.strip())
    return out


def split_client_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Client settings split into ``(consumer, producer)`` kwargs by what each kafka-python client takes."""
    from kafka import KafkaConsumer, KafkaProducer

    consumer: dict[str, Any] = {}
    producer: dict[str, Any] = {}
    for key, value in config.items():
        if key.startswith("consumer."):
            consumer[key[9:]] = value
            continue
        if key.startswith("producer."):
            producer[key[9:]] = value
            continue
        used = False
        if key in KafkaConsumer.DEFAULT_CONFIG:
            consumer[key] = value
            used = True
        if key in KafkaProducer.DEFAULT_CONFIG:
            producer[key] = value
            used = True
        if not used:
            raise ValueError(f"unknown kafka-python client setting {key!r}")
    return consumer, producer


@dataclasses.dataclass
class WorkerConfig:
    """Everything a :class:`KafkaWorker` needs; the CLI's ``streamml run`` fills it."""

    bootstrap: str
    topic: str
    model: str = "br-lr"
    group: str = "streamml"
    checkpoint_dir: str = "checkpoints"
    predictions_topic: str | None = None
    labels_topic: str | None = None
    dlq_topic: str | None = None
    checkpoint_every: int = 1000
    checkpoint_seconds: float = 30.0
    per_partition: bool = False
    max_messages: int | None = None
    idle_timeout: float | None = None
    until_end: bool = False
    micro_batch: int = 1
    max_poll_records: int = 1000
    predictions_format: str = "auto"
    labels: list[str] | None = None
    strict_labels: bool = False
    strict_features: bool = False
    max_message_bytes: int = DEFAULT_MAX_BYTES
    join_capacity: int = 100_000
    join_ttl_s: float = 3600.0
    window: int = 1000
    client_config: dict[str, Any] = dataclasses.field(default_factory=dict)
    worker_id: str = dataclasses.field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}")


def checkpoint_path(directory: str | os.PathLike, topic: str, partition: int | None) -> Path:
    """``<dir>/<topic>.ckpt`` for the global model, ``<dir>/<topic>-p<N>.ckpt`` per partition."""
    name = f"{topic}.ckpt" if partition is None else f"{topic}-p{partition}.ckpt"
    return Path(directory) / name


class _Slot:
    """One model and the offsets it has consumed up to (the global one, or one partition's)."""

    def __init__(self, partition: int | None, processor: StreamProcessor, path: Path):
        self.partition = partition
        self.processor = processor
        self.path = path
        self.offsets: dict[str, int] = {}
        self.since = 0
        self.dirty = False
        self.last = time.monotonic()


class KafkaWorker:
    """The learner loop (see the module docstring). ``run()`` until a stop condition, then checkpoint."""

    def __init__(self, config: WorkerConfig, *, display: LiveDisplay | None = None,
                 log: Callable[[str], None] | None = None):
        self.config = config
        self.display = display
        self._log = log
        self.slots: dict[int | None, _Slot] = {}
        self.cumulative = MultiLabelMetrics()
        self.windowed = MultiLabelMetrics(window=config.window)
        self.run_counters = {"messages": 0, "instances": 0, "labels_messages": 0, "dead_letters": 0}
        self.dead_letter_kinds: dict[str, int] = {}
        self.first_reasons: list[str] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.commit_failures = 0
        self.send_failures = 0
        self._send_error: Exception | None = None
        self._stop = False
        self._stop_reason = ""
        self.consumer = None
        self.producer = None
        self.started = time.perf_counter()
        self.model_seconds_closed = 0.0
        self.curve: list[dict[str, float]] = []
        self.partitions_seen: set[int] = set()
        self.first_data: float | None = None
        self.last_data: float | None = None

    # --------------------------------------------------------------------------------- logging
    def log(self, message: str) -> None:
        if self._log is not None:
            self._log(message)
        elif self.display is not None:
            self.display.log(message)
        else:
            print(f"[streamml run] {message}", file=sys.stderr, flush=True)

    # --------------------------------------------------------------------------------- setup
    def _new_processor(self) -> StreamProcessor:
        c = self.config
        proc = StreamProcessor(
            c.model,
            labels=c.labels,
            strict_labels=c.strict_labels,
            strict_features=c.strict_features,
            max_message_bytes=c.max_message_bytes,
            micro_batch=c.micro_batch,
            join_capacity=c.join_capacity,
            join_ttl_s=c.join_ttl_s,
            window=c.window,
        )
        proc.cumulative, proc.windowed = self.cumulative, self.windowed  # one scoreboard for the worker
        return proc

    def _slot(self, partition: int | None) -> _Slot:
        slot = self.slots.get(partition)
        if slot is None:
            path = checkpoint_path(self.config.checkpoint_dir, self.config.topic, partition)
            slot = _Slot(partition, self._new_processor(), path)
            if path.exists():
                header = slot.processor.restore(path)
                slot.processor.cumulative, slot.processor.windowed = self.cumulative, self.windowed
                slot.offsets = dict(header.get("offsets", {}))
                if header.get("model_spec") not in (None, self.config.model):
                    self.log(f"note: {path.name} holds a {header.get('model_spec')!r} model (not {self.config.model!r}); it goes on with it")
                where = "global model" if partition is None else f"partition {partition}"
                self.log(f"{where}: restored {path.name} (offsets {slot.offsets}, "
                         f"{header.get('counters', {}).get('learned', 0)} learned)")
            self.slots[partition] = slot
            if partition is not None:
                self.partitions_seen.add(partition)
        return slot

    def _clients(self) -> None:
        from kafka import KafkaConsumer, KafkaProducer

        c = self.config
        consumer_cfg, producer_cfg = split_client_config(c.client_config)
        consumer_kwargs = {
            "bootstrap_servers": c.bootstrap,
            "group_id": c.group,
            "client_id": f"streamml-{c.worker_id}",
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": c.max_poll_records,
            "fetch_max_wait_ms": 100,
            "max_partition_fetch_bytes": max(8 << 20, 2 * c.max_message_bytes),
            "session_timeout_ms": 10000,
            "heartbeat_interval_ms": 2000,
            "metadata_max_age_ms": 30000,  # notice new partitions (and rebalance) within 30 s
            **consumer_cfg,
        }
        producer_kwargs = {
            "bootstrap_servers": c.bootstrap,
            "client_id": f"streamml-{c.worker_id}-out",
            "acks": "all",
            "linger_ms": 5,
            "batch_size": 256 * 1024,
            "delivery_timeout_ms": 600_000,
            "max_request_size": max(1 << 20, c.max_message_bytes + (64 << 10)),
            **producer_cfg,
        }
        self.consumer = KafkaConsumer(**consumer_kwargs)
        self.producer = KafkaProducer(**producer_kwargs)
        self._max_request = producer_kwargs["max_request_size"]

    def _topics(self) -> list[str]:
        return [self.config.topic] + ([self.config.labels_topic] if self.config.labels_topic else [])

    def _partitions(self, topic: str, timeout: float = 60.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while True:
            parts = self.consumer.partitions_for_topic(topic)
            if parts:
                return sorted(parts)
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic!r} has no partitions (does it exist?)")
            self.consumer.topics()  # refresh the metadata
            time.sleep(0.2)

    def _start(self) -> None:
        from kafka import ConsumerRebalanceListener, TopicPartition

        c = self.config
        Path(c.checkpoint_dir).mkdir(parents=True, exist_ok=True)
        self._clients()
        if c.labels_topic:
            n_features = self._partitions(c.topic)
            n_labels = self._partitions(c.labels_topic)
            if c.per_partition and len(n_features) != len(n_labels):
                raise ValueError(
                    f"per-partition mode needs the labels topic {c.labels_topic!r} ({len(n_labels)} partitions) "
                    f"co-partitioned with {c.topic!r} ({len(n_features)} partitions)"
                )
        if c.per_partition:
            # the group leader assigns only the partitions its metadata knows: know them before joining
            for t in self._topics():
                self._partitions(t)
            worker = self

            class Listener(ConsumerRebalanceListener):
                def on_partitions_revoked(self, revoked):
                    worker._on_revoked(revoked)

                def on_partitions_assigned(self, assigned):
                    worker._on_assigned(assigned)

                def on_partitions_lost(self, lost):
                    worker._on_lost(lost)

            self.consumer.subscribe(topics=self._topics(), listener=Listener())
            self.log(f"joined group {c.group!r} on {self._topics()} (one model per partition)")
        else:
            tps = [TopicPartition(t, p) for t in self._topics() for p in self._partitions(t)]
            self.consumer.assign(tps)
            slot = self._slot(None)
            self._seek(slot, tps)
            self.log(f"assigned {len(tps)} partitions of {self._topics()} (one global model)")

    def _seek(self, slot: _Slot, tps) -> None:
        for tp in tps:
            offset = slot.offsets.get(tp_key(tp.topic, tp.partition))
            if offset is not None:
                self.consumer.seek(tp, offset)

    # --------------------------------------------------------------------------------- rebalance
    def _on_assigned(self, assigned) -> None:
        parts = sorted({tp.partition for tp in assigned})
        for p in parts:
            slot = self._slot(p)
            self._seek(slot, [tp for tp in assigned if tp.partition == p])
        self.log(f"assigned partitions {parts}")

    def _on_revoked(self, revoked) -> None:
        parts = sorted({tp.partition for tp in revoked} & set(k for k in self.slots if k is not None))
        if not parts:
            return
        self.log(f"revoked partitions {parts}: checkpointing them")
        try:
            self._checkpoint([self.slots[p] for p in parts], reason="revoke")
        finally:
            for p in parts:
                self._close_slot(p)

    def _on_lost(self, lost) -> None:
        parts = sorted({tp.partition for tp in lost} & set(k for k in self.slots if k is not None))
        if parts:
            self.log(f"lost partitions {parts} (evicted from the group): dropping their uncheckpointed state")
        for p in parts:
            self._close_slot(p)

    def _close_slot(self, partition) -> None:
        slot = self.slots.pop(partition, None)
        if slot is not None:
            slot.processor.flush_metrics()
            self.model_seconds_closed += slot.processor.model_seconds

    # --------------------------------------------------------------------------------- checkpoints
    def _checkpoint(self, slots: list[_Slot], reason: str) -> None:
        from kafka import OffsetAndMetadata, TopicPartition

        if not slots:
            return
        t0 = time.perf_counter()
        self.producer.flush()  # (1) predictions and dead letters acknowledged
        if self._send_error is not None:
            raise RuntimeError(
                f"{self.send_failures} sends to Kafka failed ({self._send_error!r}); stopping without a checkpoint "
                "so that a restart replays the messages concerned"
            )
        flushed = time.perf_counter() - t0
        c = self.config
        commits = {}
        for slot in slots:  # (2) durable checkpoint
            info = slot.processor.checkpoint(
                slot.path,
                offsets=slot.offsets,
                mode="per-partition" if c.per_partition else "global",
                topic=c.topic,
                labels_topic=c.labels_topic,
                partition=slot.partition,
                group=c.group,
                writer=c.worker_id,
                reason=reason,
            )
            slot.since = 0
            slot.dirty = False
            slot.last = time.monotonic()
            self.checkpoints.append({"partition": slot.partition, "bytes": info.bytes, "seconds": info.seconds,
                                     "flush_seconds": flushed, "reason": reason})
            for key, offset in slot.offsets.items():
                topic, _, part = key.rpartition(":")
                commits[TopicPartition(topic, int(part))] = OffsetAndMetadata(offset, "", -1)
        if commits:  # (3) only now tell Kafka
            try:
                self.consumer.commit(offsets=commits)
            except Exception as e:  # noqa: BLE001 - any client error: the checkpoint is what counts
                self.commit_failures += 1
                self.log(f"offset commit failed ({e!r}); the checkpoint holds the offsets, retrying at the next one")

    def _maybe_checkpoint(self) -> None:
        c = self.config
        now = time.monotonic()
        due = [s for s in self.slots.values()
               if s.dirty and (s.since >= c.checkpoint_every or now - s.last >= c.checkpoint_seconds)]
        if due:
            self._checkpoint(due, reason="periodic")

    # --------------------------------------------------------------------------------- sending
    def _on_send_error(self, exc: Exception) -> None:
        self.send_failures += 1
        self._send_error = exc

    def _send(self, topic: str, value: bytes, key: bytes | None = None, headers=None) -> None:
        future = self.producer.send(topic, value=value, key=key, headers=headers)
        future.add_errback(self._on_send_error)

    def _publish(self, proc: StreamProcessor, preds, arrow: bool, key: bytes | None) -> None:
        topic = self.config.predictions_topic
        if not topic or not preds:
            return
        fmt = self.config.predictions_format
        as_arrow = arrow if fmt == "auto" else fmt == "arrow"
        values = proc.encode(preds, arrow=as_arrow)
        if as_arrow:
            self._send(topic, values[0], key)
        else:
            for (ident, _, _), value in zip(preds, values):
                self._send(topic, value, None if ident is None else str(ident).encode())

    def _dead_letter(self, proc: StreamProcessor, record, error: BadMessage) -> None:
        from kafka.errors import MessageSizeTooLargeError

        proc.record_bad(error)
        self.run_counters["dead_letters"] += 1
        self.dead_letter_kinds[error.kind] = self.dead_letter_kinds.get(error.kind, 0) + 1
        where = f"{record.topic}:{record.partition}@{record.offset}"
        if len(self.first_reasons) < 20:
            self.first_reasons.append(f"{where}: {error}")
        topic = self.config.dlq_topic
        if not topic:
            return
        headers = [
            ("streamml.error.kind", error.kind.encode()),
            ("streamml.error.reason", str(error.reason).encode()[:4000]),
            ("streamml.source.topic", record.topic.encode()),
            ("streamml.source.partition", str(record.partition).encode()),
            ("streamml.source.offset", str(record.offset).encode()),
            ("streamml.source.timestamp", str(record.timestamp).encode()),
        ]
        if error.row is not None:
            headers.append(("streamml.error.row", str(error.row).encode()))
        value = record.value if record.value is not None else b""
        try:
            self._send(topic, value, record.key, headers)
        except MessageSizeTooLargeError:
            keep = max(0, self._max_request - (64 << 10))
            headers.append(("streamml.error.truncated", str(len(value)).encode()))
            self._send(topic, value[:keep], record.key, headers)

    # --------------------------------------------------------------------------------- processing
    def _process(self, records: dict, polled_at: float | None = None) -> int:
        if self.first_data is None:  # from the poll call that brought the first records
            self.first_data = polled_at if polled_at is not None else time.perf_counter()
        n = 0
        c = self.config
        for tp, recs in records.items():
            slot = self._slot(tp.partition if c.per_partition else None)
            if slot.partition is None and tp.partition not in self.partitions_seen:
                self.partitions_seen.add(tp.partition)
            if tp.topic == c.labels_topic and tp.topic != c.topic:
                self._labels(slot, recs)
                self.run_counters["labels_messages"] += len(recs)
            else:
                self._features(slot, recs)
            slot.offsets[tp_key(tp.topic, tp.partition)] = recs[-1].offset + 1
            slot.since += len(recs)
            slot.dirty = True
            n += len(recs)
        self.run_counters["messages"] += n
        for slot in self.slots.values():
            slot.processor.flush_metrics()
        self.last_data = time.perf_counter()
        return n

    def _features(self, slot: _Slot, recs) -> None:
        proc = slot.processor
        decode = proc.decoder.decode
        group: list = []  # instances of consecutive JSON messages, predicted together (micro-batching)
        group_ts = 0
        step = self.config.micro_batch
        publish = self._publish

        def flush_group():
            nonlocal group
            if group:
                proc.on_features(group, group_ts, emit=lambda p: publish(proc, p, False, None))
                self.run_counters["instances"] += len(group)
                group = []

        for rec in recs:
            value = rec.value
            try:
                instances, bad = decode(value)
            except BadMessage as e:
                self._dead_letter(proc, rec, e)
                continue
            proc.counters["messages"] += 1
            for b in bad:
                self._dead_letter(proc, rec, b)
            if value[:4] == ARROW_MARKER:
                flush_group()
                # one prediction message per Arrow message: every row is predicted before it is learned,
                # and the batch of predictions is published once the message is done
                publish(proc, proc.on_features(instances, rec.timestamp), True, rec.key)
                self.run_counters["instances"] += len(instances)
            elif step == 1:
                proc.on_features(instances, rec.timestamp, emit=lambda p: publish(proc, p, False, None))
                self.run_counters["instances"] += len(instances)
            else:
                group.extend(instances)
                group_ts = max(group_ts, rec.timestamp)
                if len(group) >= step:
                    flush_group()
        flush_group()

    def _labels(self, slot: _Slot, recs) -> None:
        proc = slot.processor
        for rec in recs:
            try:
                instances, bad = proc.decoder.decode(rec.value, labels_only=True)
            except BadMessage as e:
                self._dead_letter(proc, rec, e)
                continue
            for b in bad:
                self._dead_letter(proc, rec, b)
            proc.counters["labels_messages"] += 1
            proc.on_labels(instances, rec.timestamp)

    # --------------------------------------------------------------------------------- run
    def stop(self, reason: str = "stop requested") -> None:
        """Ask the loop to stop (it checkpoints first); safe from a signal handler or another thread."""
        self._stop = True
        self._stop_reason = self._stop_reason or reason

    def _caught_up(self) -> bool:
        assigned = self.consumer.assignment()
        if not assigned:
            return False
        ends = self.consumer.end_offsets(list(assigned))
        return all(self.consumer.position(tp) >= end for tp, end in ends.items())

    def run(self) -> dict[str, Any]:
        """Consume until a stop condition (max messages, idle timeout, caught up, signal); returns :meth:`stats`."""
        c = self.config
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, lambda s, f: self.stop(signal.Signals(s).name))
        try:
            self._start()
            last_data = time.monotonic()
            rate_mark = (time.monotonic(), 0)
            while not self._stop:
                budget = c.max_poll_records
                if c.max_messages is not None:
                    budget = min(budget, c.max_messages - self.run_counters["messages"])
                    if budget <= 0:
                        self.stop(f"--max-messages {c.max_messages} reached")
                        break
                polled_at = time.perf_counter()
                records = self.consumer.poll(timeout_ms=200, max_records=budget)
                if records:
                    self._process(records, polled_at)
                    last_data = time.monotonic()
                else:
                    if c.idle_timeout is not None and time.monotonic() - last_data >= c.idle_timeout:
                        self.stop(f"idle for {c.idle_timeout:g} s")
                    elif c.until_end and self._caught_up():
                        self.stop("caught up with the end of the topic")
                self._maybe_checkpoint()
                if self.display is not None and self.display.due():
                    now = time.monotonic()
                    stats = self.stats()
                    dt = now - rate_mark[0]
                    stats["rate"] = (stats["instances"] - rate_mark[1]) / dt if dt > 0 else 0.0
                    rate_mark = (now, stats["instances"])
                    self.display.show(stats, self.cumulative.get(), self.windowed.get())
                    self._record_curve()
            self.log(f"stopping: {self._stop_reason}")
            if self.consumer is not None:
                self._checkpoint([s for s in self.slots.values() if s.dirty or not s.path.exists()], reason="stop")
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            self.close()
        self._record_curve()
        return self.stats()

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
        if self.consumer is not None:
            try:
                self.consumer.close(autocommit=False)
            except Exception:  # noqa: BLE001
                pass
            self.consumer = None
        if self.producer is not None:
            try:
                self.producer.close(timeout=30)
            except Exception:  # noqa: BLE001
                pass
            self.producer = None

    # --------------------------------------------------------------------------------- reporting
    def stats(self) -> dict[str, Any]:
        """What this run did: counts, dead letters by kind, join buffer, checkpoints."""
        slots = list(self.slots.values())
        ck = [p["seconds"] for p in self.checkpoints]
        return {
            **self.run_counters,
            "scored": self.cumulative.n,
            "learned": sum(s.processor.counters["learned"] for s in slots),
            "pending": sum(len(s.processor.join) for s in slots),
            "evicted": sum(s.processor.join.total_evicted for s in slots),
            "dead_letters_by_kind": dict(self.dead_letter_kinds),
            "checkpoints": len(self.checkpoints),
            "checkpoint_bytes_last": self.checkpoints[-1]["bytes"] if self.checkpoints else 0,
            "checkpoint_ms_mean": 1000 * sum(ck) / len(ck) if ck else 0.0,
            "checkpoint_ms_max": 1000 * max(ck) if ck else 0.0,
            "commit_failures": self.commit_failures,
            "send_failures": self.send_failures,
            "partitions": sorted(k for k in self.slots if k is not None) if self.config.per_partition else sorted(self.partitions_seen),
            "wall_seconds": time.perf_counter() - self.started,
            "busy_seconds": (self.last_data - self.first_data) if self.first_data is not None else 0.0,
            "stop_reason": self._stop_reason,
        }

    def _record_curve(self) -> None:
        n = self.cumulative.n
        if n == 0 or (self.curve and self.curve[-1]["n"] == n):
            return
        point: dict[str, float] = {"n": n, "seconds": self.model_seconds(), "wall_seconds": time.perf_counter() - self.started}
        point.update(self.cumulative.get())
        point.update({f"window_{k}": v for k, v in self.windowed.get().items()})
        self.curve.append(point)

    def model_seconds(self) -> float:
        return self.model_seconds_closed + sum(s.processor.model_seconds for s in self.slots.values())

    def result(self, models: dict[Hashable, Any] | None = None):
        """The run as a :class:`streamml.evaluate.results.EvaluationResult` (what ``--json`` writes)."""
        from streamml.evaluate.results import EvaluationResult, peak_rss_mb
        from streamml.persistence import model_size

        stats = self.stats()
        size = 0
        for slot in self.slots.values():
            try:
                size += model_size(slot.processor.model)
            except Exception:  # noqa: BLE001 - a learner without persistence
                pass
        return EvaluationResult(
            model=self.config.model,
            dataset=self.config.topic,
            n=self.cumulative.n,
            metrics=self.cumulative.get(),
            window_metrics=self.windowed.get(),
            seconds=self.model_seconds(),
            wall_seconds=stats["wall_seconds"],
            peak_rss_mb=peak_rss_mb(),
            model_size_bytes=size,
            window=self.config.window,
            auc_error_bound=self.cumulative.auc_error_bound(),
            curve=self.curve,
            skipped={"skipped": stats["dead_letters"], "first_reasons": list(self.first_reasons)},
            extra={"kafka": {k: v for k, v in stats.items()},
                   "checkpoints": self.checkpoints[-50:],
                   "mode": "per-partition" if self.config.per_partition else "global",
                   "group": self.config.group, "micro_batch": self.config.micro_batch},
        )
