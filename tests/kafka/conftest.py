"""Fixtures for the tests that need a real Kafka broker.

One :class:`connectors.kafka.devbroker.DevBroker` serves the whole session. Where Java 17+ or Maven is
missing the tests that use it are skipped, saying why, unless ``STREAMML_REQUIRE_KAFKA`` is set (as in
CI), where that is a failure instead.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest

from connectors.kafka.devbroker import DevBroker, java_and_maven_available
from kafka_utils import Workers


def kafka_prerequisites_or_skip() -> None:
    """Skip (or fail under ``STREAMML_REQUIRE_KAFKA``) when Java or Maven is missing."""
    reason = java_and_maven_available()
    if reason is None:
        return
    if os.environ.get("STREAMML_REQUIRE_KAFKA"):
        pytest.fail(f"STREAMML_REQUIRE_KAFKA is set but the Kafka dev broker cannot run: {reason}")
    pytest.skip(f"Kafka tests need Java 17+ and Maven: {reason}")


@pytest.fixture(scope="session")
def kafka_broker():
    """A running single-node Kafka broker, shared by the session (``.bootstrap`` is host:port)."""
    kafka_prerequisites_or_skip()
    broker = DevBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def make_topic(kafka_broker, request):
    """``make_topic(partitions=1)`` creates a fresh topic with a unique name and returns the name."""

    def make(partitions: int = 1) -> str:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:60]
        return kafka_broker.create_topic(f"t-{stem}-{uuid.uuid4().hex[:8]}", partitions=partitions)

    return make


@pytest.fixture
def topic(make_topic) -> str:
    """A fresh one-partition topic (created with the admin client); its name."""
    return make_topic()


@pytest.fixture
def workers(tmp_path):
    """Worker subprocesses started by a test, killed at its end."""
    w = Workers(tmp_path)
    yield w
    w.close()
