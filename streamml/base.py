"""The learner protocol: River's multi-label API plus a NumPy fast path.

Every streamml learner subclasses :class:`MultiLabelLearner`, which is a
``river.base.MultiLabelClassifier``. It therefore speaks River's dict API::

    learn_one(x: dict, y: dict[label, bool])
    predict_one(x) -> dict[label, bool]            # every known label present
    predict_proba_one(x) -> dict[label, dict[bool, float]]

and, underneath, a fast path over NumPy rows that the evaluator and the connectors use, with no
dicts on the hot path::

    learn_row(x: ndarray | SparseRow, y: ndarray[bool])
    predict_proba_row(x) -> ndarray[float]         # P(label is relevant), one entry per label
    predict_row(x) -> ndarray[bool]
    learn_many(X, Y) / predict_many(X) / predict_proba_many(X)   # NumPy 2-D or scipy.sparse CSR

**Feature and label spaces grow.** A learner starts knowing no features or labels (or those of a
schema given to :meth:`MultiLabelLearner.bind`). A row longer than any seen before, a dict with a
new feature name, a label vector longer than the known label count, or a label dict with a new
label name grows the space; each subclass documents what a new label means for its state (usually:
fresh statistics, predicted irrelevant until learned). A label vector *shorter* than the label count
means the missing trailing labels are irrelevant.

Subclasses implement ``_learn_row``, ``_predict_proba_row``, ``_on_new_labels``,
``_on_new_features``, and ``_get_state``/``_set_state`` for persistence.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
from river import base as river_base

from streamml.schema import Row, Schema, SparseRow

__all__ = ["MultiLabelLearner", "iter_rows", "sigmoid", "PERSISTABLE_CLASSES"]

#: Every class that can be rebuilt by :func:`streamml.persistence.load`, by qualified name.
PERSISTABLE_CLASSES: dict[str, type] = {}


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def iter_rows(X) -> Iterable[Row]:
    """Rows of a dense 2-D array or of a scipy.sparse CSR matrix (as :class:`SparseRow`)."""
    if hasattr(X, "indptr"):
        X = X.tocsr() if getattr(X, "format", "csr") != "csr" else X
        d = X.shape[1]
        indices = X.indices.astype(np.int32, copy=False)
        data = X.data.astype(np.float64, copy=False)
        for i in range(X.shape[0]):
            a, b = X.indptr[i], X.indptr[i + 1]
            yield SparseRow(indices[a:b], data[a:b], d)
    else:
        yield from np.asarray(X, dtype=np.float64)


class MultiLabelLearner(river_base.MultiLabelClassifier):
    """Base class of streamml's multi-label learners (see the module docstring).

    A learner implements the row methods; the dict API, the growing spaces and the batch methods
    come with the base class. A learner that predicts each label's rate so far:

    >>> class LabelRates(MultiLabelLearner):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.counts, self.n = np.zeros(0), 0.0
    ...     def _on_new_labels(self, old, new):  # a new label starts at rate 0
    ...         self.counts = np.concatenate([self.counts, np.zeros(new - old)])
    ...     def _learn_row(self, x, y, w):
    ...         self.counts += w * y
    ...         self.n += w
    ...     def _predict_proba_row(self, x):
    ...         return self.counts / max(self.n, 1.0)
    >>> model = LabelRates()
    >>> for x, y in [({"a": 1.0}, {"sport": True, "news": False}), ({"a": 0.0}, {"sport": True, "news": True}),
    ...              ({"b": 2.0}, {"sport": False, "news": False})]:
    ...     model.learn_one(x, y)
    >>> model.labels_, model.feature_names_
    (['sport', 'news'], ['a', 'b'])
    >>> model.predict_one({"a": 1.0})
    {'sport': True, 'news': False}
    >>> model.predict_proba_row(np.array([1.0, 0.0])).round(3).tolist()
    [0.667, 0.333]
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        PERSISTABLE_CLASSES[_qualname(cls)] = cls

    def __init__(self) -> None:
        self._init_space()

    # ------------------------------------------------------------------ spaces
    def _init_space(self) -> None:
        self.labels_: list[Hashable] = []
        self._label_index: dict[Hashable, int] = {}
        self.feature_names_: list[Hashable] = []
        self._feature_index: dict[Hashable, int] = {}
        self.n_features_: int = 0

    @property
    def n_labels(self) -> int:
        """How many labels the learner knows."""
        return len(self.labels_)

    def bind(self, schema: Schema) -> MultiLabelLearner:
        """Name the features and labels from ``schema`` (labels it lacks are appended)."""
        new_labels = [lab for lab in schema.labels if lab not in self._label_index]
        if new_labels:
            self._add_labels(new_labels)
        if schema.n_features > self.n_features_:
            self._add_features(schema.feature_names[self.n_features_ :])
        return self

    def _add_labels(self, names: Iterable[Hashable]) -> None:
        old = len(self.labels_)
        for name in names:
            if name in self._label_index:
                raise ValueError(f"label {name!r} is already known")
            self._label_index[name] = len(self.labels_)
            self.labels_.append(name)
        if len(self.labels_) > old:
            self._on_new_labels(old, len(self.labels_))

    def _add_features(self, names: Iterable[Hashable]) -> None:
        old = self.n_features_
        for name in names:
            if name in self._feature_index:  # a clash with a default positional name
                name = f"{name}#{len(self.feature_names_)}"
            self._feature_index[name] = len(self.feature_names_)
            self.feature_names_.append(name)
        self.n_features_ = len(self.feature_names_)
        if self.n_features_ > old:
            self._on_new_features(old, self.n_features_)

    def _fit_spaces(self, x: Row, n_labels: int | None) -> None:
        size = x.size if isinstance(x, SparseRow) else x.shape[0]
        if size > self.n_features_:
            self._add_features(range(self.n_features_, size))
        if n_labels is not None and n_labels > len(self.labels_):
            self._add_labels(i for i in range(len(self.labels_), n_labels) if i not in self._label_index)
            while len(self.labels_) < n_labels:  # a default integer name was taken by a named label
                self._add_labels([f"label_{len(self.labels_)}"])

    # ------------------------------------------------------------- subclass API
    @abc.abstractmethod
    def _learn_row(self, x: Row, y: np.ndarray, w: float) -> None:
        """Learn one row; ``y`` has exactly ``n_labels`` entries and ``x`` fits ``n_features_``."""

    @abc.abstractmethod
    def _predict_proba_row(self, x: Row) -> np.ndarray:
        """P(relevant) for each of the ``n_labels`` labels."""

    def _predict_row(self, x: Row) -> np.ndarray:
        return self._predict_proba_row(x) >= 0.5

    def _on_new_labels(self, old: int, new: int) -> None:
        """Grow per-label state from ``old`` to ``new`` labels."""

    def _on_new_features(self, old: int, new: int) -> None:
        """Grow per-feature state from ``old`` to ``new`` features."""

    def _get_state(self) -> dict[str, Any]:
        """The learned state: NumPy arrays, JSON values, nested learners (see persistence)."""
        raise NotImplementedError(f"{type(self).__name__} does not support persistence")

    def _set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support persistence")

    # ---------------------------------------------------------------- fast path
    def learn_row(self, x: Row, y: np.ndarray, w: float = 1.0) -> None:
        """Learn from a NumPy row (dense or :class:`SparseRow`) and a boolean label vector."""
        n = y.shape[0]
        self._fit_spaces(x, n)
        if n < len(self.labels_):
            full = np.zeros(len(self.labels_), dtype=bool)
            full[:n] = y
            y = full
        elif y.dtype != np.bool_:
            y = y.astype(bool)
        self._learn_row(x, y, w)

    def predict_proba_row(self, x: Row) -> np.ndarray:
        """P(relevant) per known label, as a float64 vector of length ``n_labels``."""
        self._fit_spaces(x, None)
        if not self.labels_:
            return np.zeros(0)
        return self._predict_proba_row(x)

    def predict_row(self, x: Row) -> np.ndarray:
        """The predicted label vector (boolean, length ``n_labels``)."""
        self._fit_spaces(x, None)
        if not self.labels_:
            return np.zeros(0, dtype=bool)
        return self._predict_row(x)

    def predict_row_and_proba(self, x: Row) -> tuple[np.ndarray, np.ndarray]:
        """``(predict_row(x), predict_proba_row(x))`` computed with one pass through the model.

        The evaluator calls this, so that a learner whose decision is not ``P >= 0.5`` (for
        example the joint mode of a majority-labelset learner) is scored on its real decision.
        """
        self._fit_spaces(x, None)
        if not self.labels_:
            return np.zeros(0, dtype=bool), np.zeros(0)
        p = self._predict_proba_row(x)
        if type(self)._predict_row is MultiLabelLearner._predict_row:
            return p >= 0.5, p
        return self._predict_row(x), p

    def learn_many(self, X, Y) -> None:
        """Learn rows of ``X`` (dense 2-D or CSR) with label matrix ``Y`` ``(n, n_labels)``, in order."""
        Y = np.asarray(Y).astype(bool, copy=False)
        for x, y in zip(iter_rows(X), Y):
            self.learn_row(x, y)

    def predict_proba_many(self, X) -> np.ndarray:
        """Probabilities for each row of ``X``: an ``(n, n_labels)`` float array."""
        rows = [self.predict_proba_row(x) for x in iter_rows(X)]
        return np.vstack(rows) if rows else np.zeros((0, self.n_labels))

    def predict_many(self, X) -> np.ndarray:
        """Predicted label matrix ``(n, n_labels)``."""
        rows = [self.predict_row(x) for x in iter_rows(X)]
        return np.vstack(rows) if rows else np.zeros((0, self.n_labels), dtype=bool)

    # ----------------------------------------------------------------- dict API
    def _x_from_dict(self, x: dict, grow: bool) -> np.ndarray:
        if grow:
            new = [k for k in x if k not in self._feature_index]
            if new:
                self._add_features(new)
        row = np.zeros(self.n_features_)
        index = self._feature_index
        for name, value in x.items():
            j = index.get(name)
            if j is None:
                continue  # a feature first seen at prediction time carries no learned weight
            try:
                row[j] = value
            except (TypeError, ValueError):
                raise TypeError(
                    f"feature {name!r} has non-numeric value {value!r}; encode nominal values first"
                ) from None
        return row

    def _y_from_dict(self, y: dict) -> np.ndarray:
        new = [k for k in y if k not in self._label_index]
        if new:
            self._add_labels(new)
        vec = np.zeros(len(self.labels_), dtype=bool)
        index = self._label_index
        for name, value in y.items():
            if value:
                vec[index[name]] = True
        return vec

    def learn_one(self, x: dict, y: dict) -> None:
        """Learn from River-style dicts. New feature or label names grow the spaces."""
        row = self._x_from_dict(x, grow=True)
        vec = self._y_from_dict(y)
        self._learn_row(row, vec, 1.0)

    def predict_proba_one(self, x: dict, **kwargs: Any) -> dict[Hashable, dict[bool, float]]:
        """``{label: {False: 1 - p, True: p}}`` for every known label."""
        if not self.labels_:
            return {}
        p = self._predict_proba_row(self._x_from_dict(x, grow=False))
        return {lab: {False: 1.0 - float(pi), True: float(pi)} for lab, pi in zip(self.labels_, p)}

    def predict_one(self, x: dict, **kwargs: Any) -> dict[Hashable, bool]:
        """``{label: bool}`` for every known label."""
        if not self.labels_:
            return {}
        pred = self._predict_row(self._x_from_dict(x, grow=False))
        return {lab: bool(v) for lab, v in zip(self.labels_, pred)}

    # -------------------------------------------------------------- persistence
    def _space_state(self) -> dict[str, Any]:
        return {"labels": list(self.labels_), "features": list(self.feature_names_)}

    def _set_space_state(self, space: dict[str, Any]) -> None:
        self._init_space()
        self.labels_ = list(space["labels"])
        self._label_index = {lab: i for i, lab in enumerate(self.labels_)}
        self.feature_names_ = list(space["features"])
        self._feature_index = {f: i for i, f in enumerate(self.feature_names_)}
        self.n_features_ = len(self.feature_names_)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))
