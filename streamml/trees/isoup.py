"""iSOUP-Tree: a multi-target regression Hoeffding tree used as a multi-label classifier.

After Osojnik, Panov and Dzeroski (2017), "Tree-based methods for online multi-target regression".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamml.base import sigmoid
from streamml.schema import Row, SparseRow
from streamml.trees.tree import HoeffdingTreeEngine, Leaf

__all__ = ["ISOUPTree"]


class _LinearLeaf:
    """All targets' logistic models of one leaf (one weight matrix) and the faded errors."""

    __slots__ = ("coef", "bias", "err_linear", "err_mean")

    def __init__(self, n_labels: int, n_features: int) -> None:
        self.coef = np.zeros((n_labels, n_features))
        self.bias = np.zeros(n_labels)
        self.err_linear = np.zeros(n_labels)
        self.err_mean = np.zeros(n_labels)

    def copy(self) -> _LinearLeaf:
        new = _LinearLeaf.__new__(_LinearLeaf)
        new.coef = self.coef.copy()
        new.bias = self.bias.copy()
        new.err_linear = self.err_linear.copy()
        new.err_mean = self.err_mean.copy()
        return new


class ISOUPTree(HoeffdingTreeEngine):
    """iSOUP-Tree for multi-label streams: 0/1 targets, variance-reduction splits, linear leaves.

    **Splits.** The labels are treated as 0/1 regression targets. The merit of a split is the
    relative variance reduction averaged over targets: for a target with positive fraction ``p``
    the variance is ``p (1 - p)``, so the engine's per-label weights give it directly (see
    :class:`~streamml.trees.criteria.VarianceReductionCriterion`). The merit lies in ``[0, 1]``
    (Hoeffding range 1) and, as in iSOUP-Tree / FIMT-DD, the test is the ratio of the second-best
    to the best merit: split when ``second / best < 1 - eps`` or ``eps < tau``. Candidate
    thresholds, the null split, nominal features, missing values, memory limit and label/feature
    growth are the engine's (:mod:`streamml.trees.tree`).

    **Leaves.** Every leaf has two predictors per target: the leaf mean (the target's positive
    fraction at the leaf) and an adaptive linear model, a logistic regression trained by SGD on
    every instance that reaches the leaf (all targets share one ``(n_labels, n_features)`` weight
    matrix, so an update is one outer product). Inputs are divided by the running standard
    deviation of each feature over the whole stream (not centred, so sparse rows stay sparse). A
    faded absolute error ``e <- decay * e + |y - p|`` is kept for both predictors, and each target
    uses the one with the lower error. The probability is thresholded at 0.5. A new leaf copies the
    linear model and errors of the leaf it was split from.

    **Simplifications.** The original uses perceptrons with its own normalisation and a learning
    rate decay; here the leaf models are logistic (as in the MLHAT experiments' configuration) with
    a constant learning rate, and inputs are scaled but not centred.

    Parameters
    ----------
    grace_period
        Weight between split attempts (reference: 200).
    delta
        Hoeffding confidence (reference configuration: 1e-5).
    tau
        Tie threshold (reference: 0.05).
    learning_rate
        SGD step of the leaf logistic models.
    model_selector_decay
        Fading factor of the errors that choose between the linear model and the mean (0.95).
    nominal_features, max_depth, min_branch_fraction, max_byte_size, memory_estimate_period
        As in :class:`~streamml.trees.MLHT`.

    Examples
    --------
    >>> import numpy as np
    >>> from streamml.trees import ISOUPTree
    >>> rng = np.random.default_rng(1)
    >>> model = ISOUPTree()
    >>> for _ in range(1000):
    ...     x = rng.normal(size=3)
    ...     model.learn_row(x, np.array([x[0] + x[1] > 0, x[2] > 0.5]))
    >>> model.predict_row(np.array([2.0, 1.0, 2.0])).tolist()
    [True, True]
    >>> model.predict_row(np.array([-2.0, -1.0, -2.0])).tolist()
    [False, False]
    """

    criterion = "variance"
    split_test = "ratio"

    def __init__(
        self,
        grace_period: float = 200,
        delta: float = 1e-5,
        tau: float = 0.05,
        learning_rate: float = 0.05,
        model_selector_decay: float = 0.95,
        nominal_features: list[int] | None = None,
        max_depth: int | None = None,
        min_branch_fraction: float = 0.01,
        max_byte_size: int | None = 100 * 2**20,
        memory_estimate_period: float = 1000,
    ) -> None:
        self.learning_rate = learning_rate
        self.model_selector_decay = model_selector_decay
        self._scale_n = 0.0
        self._scale_sum = np.zeros(0)
        self._scale_sq = np.zeros(0)
        self._inv_scale = np.zeros(0)
        self._scale_age = 0
        super().__init__(
            grace_period=grace_period,
            delta=delta,
            tau=tau,
            nominal_features=nominal_features,
            max_depth=max_depth,
            min_branch_fraction=min_branch_fraction,
            max_byte_size=max_byte_size,
            memory_estimate_period=memory_estimate_period,
        )

    # ------------------------------------------------------------- input scaling
    def _learn_row(self, x: Row, y: np.ndarray, w: float) -> None:
        if w <= 0:
            return
        x = self._prepare(x)
        self._scale_n += w
        if isinstance(x, SparseRow):
            cols: Any = x.indices
            v = x.values
        else:
            cols = slice(None)
            v = x
        s = v.sum()
        if s != s:
            v = np.nan_to_num(v)
        wv = v if w == 1.0 else w * v
        self._scale_sum[cols] += wv
        self._scale_sq[cols] += wv * v
        self._scale_age += 1
        if self._scale_age >= 100 or self._scale_n <= 100:
            self._refresh_scale()
        super()._learn_row(x, y, w)

    def _refresh_scale(self) -> None:
        self._scale_age = 0
        n = max(self._scale_n, 1e-12)
        mean = self._scale_sum / n
        std = np.sqrt(np.maximum(self._scale_sq / n - mean * mean, 0.0))
        with np.errstate(divide="ignore"):
            self._inv_scale = np.where(std > 1e-12, 1.0 / std, 0.0)

    def _linear_proba(self, model: _LinearLeaf, x: Row) -> tuple[np.ndarray, Any, np.ndarray]:
        """``(p, columns, scaled values)``; columns is a slice for dense rows, indices for sparse."""
        if isinstance(x, SparseRow):
            cols: Any = x.indices
            xs = x.values * self._inv_scale[cols]
            z = model.coef[:, cols] @ np.nan_to_num(xs)
        else:
            cols = slice(None)
            xs = x * self._inv_scale
            if xs.sum() != xs.sum():
                xs = np.nan_to_num(xs)
            z = model.coef @ xs
        z += model.bias
        return sigmoid(z), cols, xs

    # ------------------------------------------------------------- leaf models
    def _new_model(self, parent: Leaf | None, leaf: Leaf) -> _LinearLeaf:
        if parent is not None and parent.model is not None:
            return parent.model.copy()
        return _LinearLeaf(self.n_labels, self.n_features_)

    def _learn_model(self, leaf: Leaf, x: Row, y: np.ndarray, rows: np.ndarray, w: float) -> None:
        model: _LinearLeaf = leaf.model
        p, cols, xs = self._linear_proba(model, x)
        decay = self.model_selector_decay
        g = np.subtract(y, p)  # the target minus the linear model's probability
        model.err_linear *= decay
        model.err_linear += np.abs(g)
        mean_err = leaf.frequencies()
        mean_err -= y
        model.err_mean *= decay
        model.err_mean += np.abs(mean_err, out=mean_err)
        g *= self.learning_rate * w
        if isinstance(cols, slice):
            model.coef += np.outer(g, xs)
        else:
            model.coef[:, cols] += np.outer(g, np.nan_to_num(xs))
        model.bias += g

    def _model_proba(self, leaf: Leaf, x: Row) -> np.ndarray:
        model: _LinearLeaf = leaf.model
        p, _, _ = self._linear_proba(model, x)
        return np.where(model.err_linear < model.err_mean, p, leaf.frequencies())

    def _model_predict(self, leaf: Leaf, x: Row) -> np.ndarray:
        return self._model_proba(leaf, x) >= 0.5

    def _model_both(self, leaf: Leaf, x: Row) -> tuple[np.ndarray, np.ndarray]:
        p = self._model_proba(leaf, x)
        return p >= 0.5, p

    def _grow_model_labels(self, leaf: Leaf, n: int) -> None:
        m: _LinearLeaf = leaf.model
        m.coef = np.vstack([m.coef, np.zeros((n, m.coef.shape[1]))])
        m.bias = np.concatenate([m.bias, np.zeros(n)])
        m.err_linear = np.concatenate([m.err_linear, np.zeros(n)])
        m.err_mean = np.concatenate([m.err_mean, np.zeros(n)])

    def _grow_model_features(self, leaf: Leaf, n: int) -> None:
        m: _LinearLeaf = leaf.model
        m.coef = np.hstack([m.coef, np.zeros((m.coef.shape[0], n))])

    def _on_new_features(self, old: int, new: int) -> None:
        n = new - old
        self._scale_sum = np.concatenate([self._scale_sum, np.zeros(n)])
        self._scale_sq = np.concatenate([self._scale_sq, np.zeros(n)])
        self._inv_scale = np.concatenate([self._inv_scale, np.zeros(n)])
        super()._on_new_features(old, new)

    def _model_nbytes(self, model: Any) -> int:
        return model.coef.nbytes + 3 * model.bias.nbytes + 100

    def _model_state(self, model: _LinearLeaf) -> dict[str, Any]:
        return {"coef": model.coef, "bias": model.bias, "err_linear": model.err_linear, "err_mean": model.err_mean}

    def _model_from_state(self, state: dict[str, Any]) -> _LinearLeaf:
        m = _LinearLeaf.__new__(_LinearLeaf)
        m.coef = np.asarray(state["coef"], dtype=np.float64).reshape(self.n_labels, self.n_features_)
        m.bias = np.asarray(state["bias"], dtype=np.float64)
        m.err_linear = np.asarray(state["err_linear"], dtype=np.float64)
        m.err_mean = np.asarray(state["err_mean"], dtype=np.float64)
        return m

    def _extra_state(self) -> dict[str, Any]:
        return {
            "scale_n": float(self._scale_n),
            "scale_sum": self._scale_sum,
            "scale_sq": self._scale_sq,
            "inv_scale": self._inv_scale,
            "scale_age": int(self._scale_age),
        }

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        self._scale_n = float(state["scale_n"])
        self._scale_sum = np.asarray(state["scale_sum"], dtype=np.float64)
        self._scale_sq = np.asarray(state["scale_sq"], dtype=np.float64)
        self._inv_scale = np.asarray(state["inv_scale"], dtype=np.float64)
        self._scale_age = int(state["scale_age"])
