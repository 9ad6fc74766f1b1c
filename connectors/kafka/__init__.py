"""Kafka connectors, and a real single-node Kafka broker for development and tests."""

from connectors.kafka.devbroker import (
    DEFAULT_VERSION,
    DevBroker,
    KafkaDevBrokerError,
    fetch_jars,
    java_and_maven_available,
)

__all__ = [
    "DEFAULT_VERSION",
    "DevBroker",
    "KafkaDevBrokerError",
    "fetch_jars",
    "java_and_maven_available",
]
