"""The data model shared by connectors, learners and the evaluator.

A stream is described by a :class:`Schema` (feature names and kinds, label names) and yields
``(x, y)`` pairs:

* ``x`` is a *row*: either a dense ``numpy.ndarray`` of ``float64`` with one value per feature, or a
  :class:`SparseRow` holding the indices and values of its non-zero features. Missing values are
  ``NaN`` in both forms.
* ``y`` is a boolean ``numpy.ndarray`` with one entry per label. :func:`labels_from_indices` turns
  the set of positive label indices into that vector.

>>> import numpy as np
>>> schema = Schema.numeric(["a", "b", "c"], labels=["l0", "l1"])
>>> schema.n_features, schema.n_labels
(3, 2)
>>> row = SparseRow.from_dense(np.array([0.0, 2.5, 0.0]))
>>> row
SparseRow(indices=array([1], dtype=int32), values=array([2.5]), size=3)
>>> row.to_dense()
array([0. , 2.5, 0. ])
>>> labels_from_indices([1], 2)
array([False,  True])
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Union

import numpy as np

__all__ = [
    "FeatureKind",
    "Feature",
    "Schema",
    "SparseRow",
    "Row",
    "labels_from_indices",
    "row_to_dense",
    "frozen_row",
    "is_frozen",
]


class FeatureKind(str, enum.Enum):
    """How a feature's values are to be read."""

    NUMERIC = "numeric"
    #: A nominal feature is stored as the ordinal index of its value in :attr:`Feature.values`.
    NOMINAL = "nominal"


@dataclasses.dataclass(frozen=True)
class Feature:
    """One input feature.

    ``values`` lists the categories of a nominal feature, in the order that defines their ordinal
    codes; it is empty for numeric features.
    """

    name: str
    kind: FeatureKind = FeatureKind.NUMERIC
    values: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind.value}
        if self.values:
            d["values"] = list(self.values)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Feature:
        return cls(d["name"], FeatureKind(d.get("kind", "numeric")), tuple(d.get("values", ())))


@dataclasses.dataclass
class Schema:
    """Feature names and kinds, and label names, of a multi-label stream.

    ``sparse`` is a hint from the source: rows will mostly come as :class:`SparseRow`.
    """

    features: list[Feature]
    labels: list[str]
    name: str = ""
    sparse: bool = False

    @classmethod
    def numeric(cls, feature_names: Iterable[str], labels: Iterable[str], name: str = "", sparse: bool = False) -> Schema:
        """A schema whose features are all numeric."""
        return cls([Feature(str(f)) for f in feature_names], [str(lab) for lab in labels], name, sparse)

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sparse": self.sparse,
            "features": [f.to_dict() for f in self.features],
            "labels": list(self.labels),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        return cls(
            [Feature.from_dict(f) for f in d["features"]],
            list(d["labels"]),
            d.get("name", ""),
            bool(d.get("sparse", False)),
        )


class SparseRow(NamedTuple):
    """A sparse instance: sorted, unique ``indices`` (int32) with their ``values`` (float64).

    ``size`` is the number of features of the row's space.
    """

    indices: np.ndarray
    values: np.ndarray
    size: int

    @classmethod
    def from_dense(cls, x: np.ndarray) -> SparseRow:
        x = np.asarray(x, dtype=np.float64)
        nz = np.flatnonzero(x)  # NaN is non-zero, so missing values are kept
        return cls(nz.astype(np.int32), x[nz], x.shape[0])

    @classmethod
    def from_pairs(cls, indices: Sequence[int], values: Sequence[float], size: int) -> SparseRow:
        """Build a row from unsorted pairs; later duplicates overwrite earlier ones."""
        idx = np.asarray(indices, dtype=np.int64)
        val = np.asarray(values, dtype=np.float64)
        if idx.size and (np.any(np.diff(idx) <= 0)):
            # keep the last occurrence of each index
            rev_unique, rev_pos = np.unique(idx[::-1], return_index=True)
            val = val[::-1][rev_pos]
            idx = rev_unique
        return cls(idx.astype(np.int32), val, int(size))

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def to_dense(self) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float64)
        out[self.indices] = self.values
        return out

    def __eq__(self, other: object) -> bool:  # NamedTuple equality would compare arrays element-wise
        if not isinstance(other, SparseRow):
            return NotImplemented
        return (
            self.size == other.size
            and np.array_equal(self.indices, other.indices)
            and np.array_equal(self.values, other.values, equal_nan=True)
        )

    __hash__ = None  # type: ignore[assignment]


Row = Union[np.ndarray, SparseRow]


def row_to_dense(x: Row) -> np.ndarray:
    """Return ``x`` as a dense float64 vector (no copy when it already is one)."""
    if isinstance(x, SparseRow):
        return x.to_dense()
    return np.asarray(x, dtype=np.float64)


def frozen_row(x: Row) -> Row:
    """A read-only copy of ``x``.

    Nothing can change a frozen row, so learners may treat a frozen row they see again as the same
    row and reuse what they computed from it (a model that hands one row to many sub-learners
    freezes it once).

    >>> r = frozen_row(np.array([1.0, 0.0]))
    >>> is_frozen(r), r.flags.writeable
    (True, False)
    """
    if isinstance(x, SparseRow):
        idx, val = x.indices.copy(), x.values.copy()
        idx.flags.writeable = False
        val.flags.writeable = False
        return SparseRow(idx, val, x.size)
    v = np.array(x, dtype=np.float64)
    v.flags.writeable = False
    return v


def is_frozen(x: Row) -> bool:
    """Whether nothing can change ``x``: its arrays, and every array they view, are read-only."""
    if isinstance(x, SparseRow):
        return _immutable(x.indices) and _immutable(x.values)
    return _immutable(x)


def _immutable(a: np.ndarray) -> bool:
    base: object = a
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return False
        base = base.base
    return base is None or isinstance(base, bytes)


def labels_from_indices(indices: Iterable[int], n_labels: int) -> np.ndarray:
    """The boolean label vector whose positive entries are ``indices``."""
    y = np.zeros(n_labels, dtype=bool)
    idx = np.fromiter(indices, dtype=np.int64)
    if idx.size:
        y[idx] = True
    return y
