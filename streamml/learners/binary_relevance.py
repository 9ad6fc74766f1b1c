"""Binary relevance over River classifiers, and an adapter for River's own multi-label models.

Both learners here hold River models, which speak dicts. Their NumPy fast path turns each row into a
dict once (:func:`row_to_dict`) and hands that dict to the River models; their dict API passes the
caller's dict through unchanged apart from dropping missing values, so River's handling of absent
and nominal features applies.

Their learned state is made of River models, which the persistence format can only store as
pickles: a saved model is signed with the HMAC key (``STREAMML_HMAC_KEY`` or the key file under
``STREAMML_HOME``) and loads only where the same key is configured.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from river import base as river_base

from streamml.base import MultiLabelLearner
from streamml.schema import Row, SparseRow

__all__ = ["BinaryRelevance", "RiverMultiLabel", "row_to_dict"]


def row_to_dict(x: Row, names: Sequence[Hashable]) -> dict[Hashable, float]:
    """A River feature dict for the row ``x``, keyed by ``names`` (the learner's feature names).

    A dense row gives every feature, zeros included; a :class:`~streamml.schema.SparseRow` gives only
    its stored (non-zero) entries. Missing values (NaN) are left out in both cases.

    >>> import numpy as np
    >>> from streamml.schema import SparseRow
    >>> row_to_dict(np.array([0.0, 2.0, np.nan]), ["a", "b", "c"])
    {'a': 0.0, 'b': 2.0}
    >>> row_to_dict(SparseRow.from_dense(np.array([0.0, 2.0, 3.0])), ["a", "b", "c"])
    {'b': 2.0, 'c': 3.0}
    """
    if isinstance(x, SparseRow):
        values = x.values.tolist()
        return {names[i]: v for i, v in zip(x.indices.tolist(), values) if v == v}
    arr = np.asarray(x, dtype=np.float64)
    if np.isnan(arr).any():
        return {n: v for n, v in zip(names, arr.tolist()) if v == v}
    return dict(zip(names, arr.tolist()))


def _clean_dict(x: dict) -> dict:
    """A copy of a River feature dict without missing values (``None`` or NaN)."""
    return {k: v for k, v in x.items() if v is not None and v == v}


class _DictPassThrough:
    """Dict API for learners backed by River models: the caller's dict goes to River as it is.

    Subclasses implement ``_learn_dict(x, y, w)`` (``y`` a full boolean label vector) and
    ``_proba_dict(x)`` (P(relevant) per known label).
    """

    labels_: list[Hashable]
    feature_names_: list[Hashable]
    _feature_index: dict[Hashable, int]

    def _learn_dict(self, x: dict, y: np.ndarray, w: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _proba_dict(self, x: dict) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # row API on top of the dict one
    def _learn_row(self, x: Row, y: np.ndarray, w: float) -> None:
        self._learn_dict(row_to_dict(x, self.feature_names_), y, w)

    def _predict_proba_row(self, x: Row) -> np.ndarray:
        return self._proba_dict(row_to_dict(x, self.feature_names_))

    def _predict_row(self, x: Row) -> np.ndarray:
        return self._predict_proba_row(x) > 0.5

    def predict_row_and_proba(self, x: Row) -> tuple[np.ndarray, np.ndarray]:
        """``(predict_row(x), predict_proba_row(x))`` from a single pass through the River models."""
        self._fit_spaces(x, None)  # type: ignore[attr-defined]
        if not self.labels_:
            return np.zeros(0, dtype=bool), np.zeros(0)
        p = self._predict_proba_row(x)
        return p > 0.5, p

    # dict API
    def learn_one(self, x: dict, y: dict) -> None:
        """Learn from River-style dicts; new feature or label names grow the spaces."""
        new = [k for k in x if k not in self._feature_index]
        if new:
            self._add_features(new)  # type: ignore[attr-defined]
        vec = self._y_from_dict(y)  # type: ignore[attr-defined]
        self._learn_dict(_clean_dict(x), vec, 1.0)

    def predict_proba_one(self, x: dict, **kwargs: Any) -> dict[Hashable, dict[bool, float]]:
        """``{label: {False: 1 - p, True: p}}`` for every known label."""
        if not self.labels_:
            return {}
        p = self._proba_dict(_clean_dict(x))
        return {lab: {False: 1.0 - float(pi), True: float(pi)} for lab, pi in zip(self.labels_, p)}

    def predict_one(self, x: dict, **kwargs: Any) -> dict[Hashable, bool]:
        """``{label: bool}`` for every known label: relevant when P(relevant) > 0.5."""
        if not self.labels_:
            return {}
        p = self._proba_dict(_clean_dict(x))
        return {lab: bool(pi > 0.5) for lab, pi in zip(self.labels_, p)}


def _p_true(proba: dict) -> float:
    return float(proba.get(True, 0.0))


class BinaryRelevance(_DictPassThrough, MultiLabelLearner):
    """Binary relevance: one River binary classifier per label, trained independently.

    Each label gets its own clone of ``model``. The NumPy fast path converts a row into a dict
    once (dense rows give every feature, zeros included, skipping NaN; sparse rows give only their
    stored non-zeros) and feeds that dict to every label's model. The dict API passes the caller's
    dict to the models unchanged, apart from dropping ``None`` and NaN values, so River's own
    handling of nominal (string) features applies there.

    A label is predicted relevant when its model's probability of ``True`` is above 0.5.

    **New labels.** The first time a label appears (a longer label vector, a new key in a label
    dict, or a label named by :meth:`bind`), a fresh clone of ``model`` is created for it; it has
    seen none of the earlier instances. Until it learns something its probability is whatever
    ``predict_proba_one`` of an untrained River model gives for ``True``: 0 for a Hoeffding tree
    (which returns an empty dict), 0.5 for a logistic regression. Either way the label is predicted
    irrelevant, as 0.5 is not above the threshold.

    **Persistence.** The per-label River models are stored as pickles signed with the HMAC key, so
    a saved model loads only where the same key is configured (``STREAMML_HMAC_KEY`` or the key file
    under ``STREAMML_HOME``).

    Parameters
    ----------
    model
        The River binary classifier to clone for each label. ``None`` (the default) means
        ``river.tree.HoeffdingTreeClassifier()`` with River's defaults.

    Attributes
    ----------
    models_
        The per-label classifiers, in label order.

    Examples
    --------

    >>> import numpy as np
    >>> from river import linear_model
    >>> from streamml.learners import BinaryRelevance

    >>> model = BinaryRelevance(linear_model.LogisticRegression())
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(300):
    ...     x = rng.normal(size=2)
    ...     model.learn_row(x, np.array([x[0] > 0, x[1] > 0]))
    >>> model.predict_row(np.array([2.0, -2.0])).tolist()
    [True, False]

    A longer label vector adds a label with a fresh model, predicted irrelevant until it learns:

    >>> model.learn_row(np.array([2.0, 2.0]), np.array([True, True, True]))
    >>> len(model.models_)
    3

    River's dict API, with named features and labels:

    >>> model = BinaryRelevance()
    >>> model.learn_one({"height": 1.0, "colour": "red"}, {"tall": True, "red": True})
    >>> model.predict_one({"height": 1.0, "colour": "red"})
    {'tall': True, 'red': True}

    """

    def __init__(self, model: river_base.Classifier | None = None) -> None:
        if model is not None and (
            not isinstance(model, river_base.Classifier) or isinstance(model, river_base.MultiLabelClassifier)
        ):
            raise TypeError(f"model must be a River binary classifier, got {type(model).__name__}")
        super().__init__()
        self.model = model
        self.models_: list[river_base.Classifier] = []

    @classmethod
    def _unit_test_params(cls):
        from river import linear_model

        yield {}
        yield {"model": linear_model.LogisticRegression()}

    def _template(self) -> river_base.Classifier:
        if self.model is not None:
            return self.model
        from river import tree

        return tree.HoeffdingTreeClassifier()

    def _on_new_labels(self, old: int, new: int) -> None:
        template = self._template()
        self.models_.extend(template.clone() for _ in range(new - old))

    def _learn_dict(self, x: dict, y: np.ndarray, w: float) -> None:
        if w == 1.0:
            for m, yi in zip(self.models_, y.tolist()):
                m.learn_one(x, yi)
        else:
            for m, yi in zip(self.models_, y.tolist()):
                m.learn_one(x, yi, w=w)

    def _proba_dict(self, x: dict) -> np.ndarray:
        return np.fromiter((_p_true(m.predict_proba_one(x)) for m in self.models_), float, len(self.models_))

    def _get_state(self) -> dict[str, Any]:
        return {"models": list(self.models_)}

    def _set_state(self, state: dict[str, Any]) -> None:
        models = list(state["models"])
        if len(models) != len(self.labels_):
            raise ValueError(f"{len(models)} label models for {len(self.labels_)} labels")
        if not all(isinstance(m, river_base.Classifier) for m in models):
            raise ValueError("the saved state holds something other than River classifiers")
        self.models_ = models


class RiverMultiLabel(_DictPassThrough, MultiLabelLearner):
    """Run one of River's own multi-label classifiers through streamml's row API.

    The adapter keeps a clone of ``model`` (the parameter stays an untrained template) and calls
    its ``learn_one`` and ``predict_proba_one`` with dicts: a NumPy row becomes a dict as in
    :class:`BinaryRelevance`, and the label vector becomes ``{label: bool}`` over every known label.
    It exists so that River's models can be evaluated and benchmarked alongside streamml's own;
    the registry's ``river-br-lr`` and ``river-br-ht`` peers are
    ``RiverMultiLabel(river.multioutput.PerOutputClassifier(...))``.

    A label is predicted relevant when the wrapped model's probability of ``True`` for it is above
    0.5; a label the wrapped model gives no probability for has probability 0.

    **New labels.** A new label is passed to the wrapped model in the next label dict; what it does
    with it is River's business (``PerOutputClassifier`` starts a fresh copy of its classifier for
    it). Until then the label has probability 0.

    **Persistence.** The wrapped model is stored as a signed pickle, so a saved adapter needs the
    HMAC key that wrote it.

    Parameters
    ----------
    model
        A River multi-label classifier, such as ``multioutput.PerOutputClassifier(...)`` or
        ``multioutput.ClassifierChain(...)``.

    Attributes
    ----------
    model_
        The trained copy of ``model``.

    Examples
    --------

    >>> import numpy as np
    >>> from river import linear_model, multioutput
    >>> from streamml.learners import RiverMultiLabel

    >>> model = RiverMultiLabel(multioutput.PerOutputClassifier(linear_model.LogisticRegression()))
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(300):
    ...     x = rng.normal(size=2)
    ...     model.learn_row(x, np.array([x[0] > 0, x[1] > 0]))
    >>> model.predict_row(np.array([2.0, -2.0])).tolist()
    [True, False]
    >>> sorted(model.model_.keys())
    [0, 1]

    """

    def __init__(self, model: river_base.MultiLabelClassifier) -> None:
        if not isinstance(model, river_base.MultiLabelClassifier):
            raise TypeError(f"model must be a River multi-label classifier, got {type(model).__name__}")
        super().__init__()
        self.model = model
        self.model_ = model.clone()

    @classmethod
    def _unit_test_params(cls):
        from river import linear_model, multioutput

        yield {"model": multioutput.PerOutputClassifier(linear_model.LogisticRegression())}

    def _learn_dict(self, x: dict, y: np.ndarray, w: float) -> None:
        yd = dict(zip(self.labels_, y.tolist()))
        if w == 1.0:
            self.model_.learn_one(x, yd)
        else:
            self.model_.learn_one(x, yd, w=w)

    def _proba_dict(self, x: dict) -> np.ndarray:
        proba = self.model_.predict_proba_one(x)
        out = np.zeros(len(self.labels_))
        for j, lab in enumerate(self.labels_):
            p = proba.get(lab)
            if p:
                out[j] = _p_true(p)
        return out

    def _get_state(self) -> dict[str, Any]:
        return {"model": self.model_}

    def _set_state(self, state: dict[str, Any]) -> None:
        model = state["model"]
        if not isinstance(model, river_base.MultiLabelClassifier):
            raise ValueError("the saved state does not hold a River multi-label classifier")
        self.model_ = model
