"""Publish a dataset to a Kafka topic as instance messages (``streamml replay``).

Instance ``i`` of the stream gets id ``i`` (its index) and key ``str(i)``. In JSON format each
instance is one message; in Arrow format each message is a batch of ``batch_size`` instances (keyed
by its first id). With a labels topic the instance messages carry no labels and the labels go, keyed
the same way, to the labels topic, ``labels_delay`` instances later (to simulate late ground truth).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from connectors.kafka.messages import encode_arrow, encode_json
from streamml.schema import Schema, SparseRow, row_to_dense

__all__ = ["replay", "ensure_topic"]


def ensure_topic(bootstrap: str, topic: str, partitions: int, client_config: dict[str, Any] | None = None,
                 timeout: float = 30.0) -> bool:
    """Create ``topic`` with ``partitions`` partitions unless it exists; True when it was created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from connectors.kafka.worker import split_client_config

    consumer_cfg, _ = split_client_config(client_config or {})
    admin_keys = KafkaAdminClient.DEFAULT_CONFIG
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **{k: v for k, v in consumer_cfg.items() if k in admin_keys})
    try:
        if topic in admin.list_topics():
            return False
        try:
            admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                timeout_ms=int(timeout * 1000))
        except TopicAlreadyExistsError:
            return False
        deadline = time.monotonic() + timeout
        while topic not in admin.list_topics():
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic!r} did not appear within {timeout} s")
            time.sleep(0.1)
        return True
    finally:
        admin.close()


def replay(
    stream: Iterable,
    bootstrap: str,
    topic: str,
    *,
    schema: Schema | None = None,
    rate: float | None = None,
    labels_topic: str | None = None,
    labels_delay: int = 0,
    fmt: str = "json",
    batch_size: int = 500,
    max_instances: int | None = None,
    client_config: dict[str, Any] | None = None,
    first_id: int = 0,
    producer=None,
) -> dict[str, Any]:
    """Send the instances of ``stream`` to ``topic``; returns counts and timing.

    ``rate`` caps the instances sent per second (None: as fast as possible).
    """
    from kafka import KafkaProducer

    from connectors.kafka.worker import split_client_config

    if fmt not in ("json", "arrow"):
        raise ValueError(f"format must be json or arrow, not {fmt!r}")
    schema = schema if schema is not None else getattr(stream, "schema", None)
    label_names = list(schema.labels) if schema is not None else None
    feature_names = list(schema.feature_names) if schema is not None else None
    own = producer is None
    if own:
        _, producer_cfg = split_client_config(client_config or {})
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=1 << 20,
                                 max_request_size=8 << 20, **producer_cfg)
    started = time.perf_counter()
    sent = {"messages": 0, "labels_messages": 0, "instances": 0}
    pending_labels: list[tuple[Any, Any]] = []

    def send(t, key, value, what="messages"):
        producer.send(t, key=key, value=value)
        sent[what] += 1

    def throttle(n_done: int) -> None:
        if rate:
            ahead = n_done / rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)

    def release_labels(force: bool = False) -> None:
        while pending_labels and (force or len(pending_labels) > labels_delay):
            key, value = pending_labels.pop(0)
            send(labels_topic, key, value, "labels_messages")

    ids: list[int] = []
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []

    def flush_batch() -> None:
        if not ids:
            return
        X = np.vstack(xs)
        Y = np.vstack(ys)
        key = str(ids[0]).encode()
        send(topic, key, encode_arrow(ids, X, None if labels_topic else Y, label_names, feature_names))
        if labels_topic:
            pending_labels.append((key, encode_arrow(ids, None, Y, label_names)))
            release_labels()
        ids.clear(), xs.clear(), ys.clear()

    i = first_id
    for x, y in stream:
        if max_instances is not None and sent["instances"] >= max_instances:
            break
        if fmt == "json":
            key = str(i).encode()
            send(topic, key, encode_json(i, x, None if labels_topic else y, label_names))
            if labels_topic:
                pending_labels.append((key, encode_json(i, None, y, label_names)))
                release_labels()
        else:
            ids.append(i)
            xs.append(row_to_dense(x) if isinstance(x, SparseRow) else np.asarray(x, dtype=np.float64))
            ys.append(np.asarray(y, dtype=bool))
            if len(ids) >= batch_size:
                flush_batch()
        i += 1
        sent["instances"] += 1
        throttle(sent["instances"])
    flush_batch()
    release_labels(force=True)
    producer.flush()
    if own:
        producer.close()
    seconds = time.perf_counter() - started
    return {**sent, "seconds": seconds, "next_id": i}
