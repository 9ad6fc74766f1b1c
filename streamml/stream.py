"""Streams of multi-label instances, and the policy for bad input.

Every source (files, Kafka, generators, in-memory arrays) is a :class:`Stream`: an iterable of
``(x, y)`` pairs described by a :class:`~streamml.schema.Schema`. A source that meets bad input
either raises a :class:`DataError` naming the place at fault (``on_error="raise"``, the default) or
skips the instance and records why in :attr:`Stream.errors` (``on_error="skip"``), so that nothing
is dropped silently.

>>> import numpy as np
>>> stream = ArrayStream(np.eye(3), np.array([[1, 0], [0, 1], [1, 1]], dtype=bool))
>>> [(x.tolist(), y.tolist()) for x, y in stream][:2]
[([1.0, 0.0, 0.0], [True, False]), ([0.0, 1.0, 0.0], [False, True])]
>>> stream.schema.labels
['y0', 'y1']
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Literal

import numpy as np

from streamml.schema import Row, Schema, SparseRow

__all__ = ["DataError", "ErrorReport", "OnError", "Stream", "ArrayStream"]

OnError = Literal["raise", "skip"]


class DataError(ValueError):
    """Bad input, located: ``source`` is a file name or topic, ``line`` a line number or offset."""

    def __init__(self, reason: str, source: str = "", line: int | None = None):
        self.reason = reason
        self.source = source
        self.line = line
        where = source
        if line is not None:
            where = f"{source}:{line}" if source else f"line {line}"
        super().__init__(f"{where}: {reason}" if where else reason)


class ErrorReport:
    """How many instances a source skipped, and the first reasons why."""

    def __init__(self, keep: int = 20):
        self.keep = keep
        self.count = 0
        self.first: list[str] = []

    def add(self, error: DataError | str) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(str(error))

    def to_dict(self) -> dict[str, object]:
        return {"skipped": self.count, "first_reasons": list(self.first)}

    def __repr__(self) -> str:
        return f"ErrorReport(skipped={self.count})"


def check_on_error(on_error: str) -> OnError:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    return on_error  # type: ignore[return-value]


class Stream(abc.ABC):
    """An iterable of ``(x, y)`` pairs with a :class:`Schema`.

    ``n_instances`` is the number of instances when the source knows it (used for progress bars),
    else ``None``. ``errors`` lists what the source skipped under ``on_error="skip"``.
    """

    schema: Schema
    n_instances: int | None = None

    def __init__(self) -> None:
        self.errors = ErrorReport()

    @abc.abstractmethod
    def __iter__(self) -> Iterator[tuple[Row, np.ndarray]]:
        """Yield ``(x, y)``; each call starts again from the beginning when the source allows it."""


class ArrayStream(Stream):
    """A stream over in-memory arrays: ``X`` dense ``(n, d)`` or scipy.sparse CSR, ``Y`` ``(n, L)``."""

    def __init__(self, X, Y, schema: Schema | None = None):
        super().__init__()
        Y = np.asarray(Y).astype(bool)
        if Y.ndim != 2:
            raise ValueError(f"Y must be 2-D (n, n_labels), got shape {Y.shape}")
        if X.shape[0] != Y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
        self._sparse = hasattr(X, "indptr")
        self.X = X if self._sparse else np.asarray(X, dtype=np.float64)
        self.Y = Y
        self.schema = schema or Schema.numeric(
            [f"x{i}" for i in range(X.shape[1])], [f"y{j}" for j in range(Y.shape[1])], sparse=self._sparse
        )
        self.n_instances = int(Y.shape[0])

    def __iter__(self) -> Iterator[tuple[Row, np.ndarray]]:
        if self._sparse:
            X = self.X
            d = X.shape[1]
            for i in range(X.shape[0]):
                a, b = X.indptr[i], X.indptr[i + 1]
                yield SparseRow(X.indices[a:b].astype(np.int32), X.data[a:b].astype(np.float64), d), self.Y[i]
        else:
            yield from zip(self.X, self.Y)
