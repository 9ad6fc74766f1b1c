"""Kafka connectors, and a real single-node Kafka broker for development and tests.

The dev-broker API (:class:`DevBroker`, :func:`fetch_jars`, ...) lives in
:mod:`connectors.kafka.devbroker` and is re-exported here, loaded on first use so that
``python -m connectors.kafka.devbroker`` runs the module only once.
"""

from __future__ import annotations

import importlib

__all__ = [
    "DEFAULT_VERSION",
    "DevBroker",
    "KafkaDevBrokerError",
    "fetch_jars",
    "java_and_maven_available",
]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("connectors.kafka.devbroker"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
