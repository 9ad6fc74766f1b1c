"""MLHT and MLHT with pruned-sets leaves (Read, Bifet, Holmes and Pfahringer, 2012)."""

from __future__ import annotations

from typing import Any

import numpy as np

from streamml.schema import Row, SparseRow
from streamml.trees.tree import HoeffdingTreeEngine, Leaf

__all__ = ["MLHT", "MLHTPrunedSets"]


class MLHT(HoeffdingTreeEngine):
    """Multi-label Hoeffding tree with majority-labelset leaves.

    Splits maximise the multi-label entropy gain (the entropy of independent per-label
    Bernoullis), with the Hoeffding range ``R = log2(#distinct labelsets at the leaf)`` (1 for at
    most two); see :mod:`streamml.trees.tree` for the split procedure, missing values, label and
    feature growth and the memory limit. A leaf predicts the labelset it has seen most often
    (before it has seen anything, the labelset of the leaf it was split from), and its
    probabilities are the per-label relevance frequencies at the leaf.

    Parameters
    ----------
    grace_period
        Weight a leaf observes between split attempts (reference: 200).
    delta
        Confidence of the Hoeffding bound. The default, 1e-7, is the MLHAT reference code's
        (which uses 1.6587784772850855e-7); the MLHAT README's table of baselines lists 1e-5.
    tau
        Tie threshold: split anyway when the bound falls below it (reference: 0.05).
    nominal_features
        Indices of features whose values are ordinal codes of categories (non-negative
        integers); they get one-value-versus-rest binary splits. All other features are numeric.
    max_depth
        Leaves at this depth stop splitting (``None``: no limit).
    min_branch_fraction
        A split must send at least this fraction of the weight to each branch (reference: 0.01).
    max_byte_size
        Memory budget of the estimated tree size (default 100 MiB); ``None`` for none. Over
        budget, the least promising leaves are deactivated (they keep predicting but stop
        collecting statistics).
    memory_estimate_period
        Weight of instances between two memory checks.

    Examples
    --------
    >>> import numpy as np
    >>> from streamml.trees import MLHT
    >>> rng = np.random.default_rng(0)
    >>> model = MLHT(grace_period=100, delta=1e-5)
    >>> for _ in range(2000):
    ...     x = rng.random(3)
    ...     model.learn_row(x, np.array([x[0] > 0.3, x[0] <= 0.3]))
    >>> split = model.splits()[0]
    >>> split["feature"], abs(split["threshold"] - 0.3) < 0.1
    (0, True)
    >>> model.predict_row(np.array([0.9, 0.5, 0.5])).tolist()
    [True, False]
    """

    criterion = "entropy"
    split_test = "difference"

    def __init__(
        self,
        grace_period: float = 200,
        delta: float = 1e-7,
        tau: float = 0.05,
        nominal_features: list[int] | None = None,
        max_depth: int | None = None,
        min_branch_fraction: float = 0.01,
        max_byte_size: int | None = 100 * 2**20,
        memory_estimate_period: float = 1000,
    ) -> None:
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


class _PrunedSets:
    """Gaussian naive Bayes over a leaf's frequent labelsets (the pruned-sets classes)."""

    __slots__ = ("keys", "sets", "n", "sum", "sq", "mean", "inv_var", "log_norm", "dirty", "pooled_var")

    def __init__(self, n_labels: int, n_features: int) -> None:
        self.keys: dict[bytes, int] = {}
        self.sets = np.zeros((0, n_labels), dtype=bool)
        self.n = np.zeros(0)
        self.sum = np.zeros((0, n_features))
        self.sq = np.zeros((0, n_features))
        self.dirty = True
        self.mean = self.inv_var = self.sum
        self.log_norm = self.n
        self.pooled_var = np.zeros(n_features)

    def add_class(self, key: bytes, y: np.ndarray) -> int:
        k = len(self.keys)
        self.keys[key] = k
        d = self.sum.shape[1]
        self.sets = np.vstack([self.sets, y[None, :]])
        self.n = np.append(self.n, 0.0)
        self.sum = np.vstack([self.sum, np.zeros((1, d))])
        self.sq = np.vstack([self.sq, np.zeros((1, d))])
        self.dirty = True
        return k

    def learn(self, k: int, x: Row, w: float) -> None:
        self.n[k] += w
        if isinstance(x, SparseRow):
            idx, v = x.indices, np.nan_to_num(x.values)
            self.sum[k, idx] += w * v
            self.sq[k, idx] += w * v * v
        else:
            v = np.nan_to_num(x)
            self.sum[k] += w * v
            self.sq[k] += w * v * v
        self.dirty = True

    def _refresh(self) -> None:
        n = np.maximum(self.n, 1e-12)[:, None]
        mean = self.sum / n
        var = np.maximum(self.sq / n - mean * mean, 0.0)
        total = self.n.sum()
        if total > 0:
            pm = self.sum.sum(0) / total
            self.pooled_var = np.maximum(self.sq.sum(0) / total - pm * pm, 0.0)
        # Shrink each class variance towards the pooled one (one pseudo-observation) plus a floor,
        # so that classes seen once are not infinitely confident.
        var = (var * self.n[:, None] + self.pooled_var[None, :]) / (self.n[:, None] + 1.0)
        var += 1e-2 * self.pooled_var.mean() + 1e-9
        self.mean = mean
        self.inv_var = 1.0 / var
        self.log_norm = -0.5 * np.log(var).sum(axis=1) + np.log(np.maximum(self.n, 1e-12))
        self.dirty = False

    def posterior(self, x: Row) -> np.ndarray:
        if self.dirty:
            self._refresh()
        xd = x.to_dense() if isinstance(x, SparseRow) else x
        xd = np.nan_to_num(xd)  # a missing value counts as 0 here
        diff = xd[None, :] - self.mean
        log_post = self.log_norm - 0.5 * np.einsum("kd,kd->k", diff * diff, self.inv_var)
        log_post -= log_post.max()
        post = np.exp(log_post)
        return post / post.sum()

    def nbytes(self) -> int:
        return self.sum.nbytes * 4 + self.sets.nbytes + 100 * len(self.keys)


class MLHTPrunedSets(MLHT):
    """MLHT whose leaves run a pruned-sets classifier (MLHT-PS).

    Each leaf counts the labelsets it sees. A labelset seen at least ``min_count`` times (weight)
    becomes a class of the leaf's multi-class model, up to ``max_labelsets`` classes per leaf.
    The multi-class model is a Gaussian naive Bayes with per-class, per-feature means and
    variances (each variance shrunk towards the leaf's pooled variance). An instance whose
    labelset is a class trains that class; an instance with an infrequent labelset trains the
    largest class that is a subset of its labelset (the "pruning" of pruned sets keeps only that
    subset), or nothing if none is. The prediction decodes the most probable class to its
    labelset; the probabilities are the posterior-weighted label marginals. A leaf with no class
    yet falls back to MLHT's majority labelset and frequencies.

    Simplifications with respect to Read's pruned sets: one subset per pruned instance (not the
    ``b`` largest), and a class starts collecting statistics when its labelset becomes frequent
    (earlier instances of it are not replayed). A new leaf starts with an empty model.

    Parameters are those of :class:`MLHT` (same defaults: grace 200, delta 1e-7, tau 0.05), plus
    ``min_count`` (default 2: a labelset must be seen twice) and ``max_labelsets`` (default 32).

    Examples
    --------
    >>> import numpy as np
    >>> from streamml.trees import MLHTPrunedSets
    >>> rng = np.random.default_rng(0)
    >>> model = MLHTPrunedSets(min_count=2)
    >>> for _ in range(500):
    ...     x = rng.normal(size=2)
    ...     model.learn_row(x, np.array([x[0] > 0, x[0] > 0, x[1] > 0]))
    >>> model.predict_row(np.array([2.0, 2.0])).tolist()
    [True, True, True]
    >>> model.predict_row(np.array([-2.0, -2.0])).tolist()
    [False, False, False]
    """

    def __init__(
        self,
        grace_period: float = 200,
        delta: float = 1e-7,
        tau: float = 0.05,
        nominal_features: list[int] | None = None,
        max_depth: int | None = None,
        min_branch_fraction: float = 0.01,
        max_byte_size: int | None = 100 * 2**20,
        memory_estimate_period: float = 1000,
        min_count: float = 2,
        max_labelsets: int = 32,
    ) -> None:
        self.min_count = min_count
        self.max_labelsets = max_labelsets
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

    def _new_model(self, parent: Leaf | None, leaf: Leaf) -> _PrunedSets:
        return _PrunedSets(self.n_labels, self.n_features_)

    def _learn_model(self, leaf: Leaf, x: Row, y: np.ndarray, rows: np.ndarray, w: float) -> None:
        ps: _PrunedSets = leaf.model
        key = rows.tobytes()
        k = ps.keys.get(key)
        if k is None:
            seen = leaf.labelsets.get(key, 0.0) + w  # the engine adds w after this hook
            if seen >= self.min_count and len(ps.keys) < self.max_labelsets:
                k = ps.add_class(key, y)
            elif len(ps.keys):
                subset = ~(ps.sets & ~y[None, :]).any(axis=1)
                if subset.any():
                    sizes = np.where(subset, ps.sets.sum(axis=1), -1)
                    k = int(sizes.argmax())
        if k is not None:
            ps.learn(k, x, w)

    def _model_both(self, leaf: Leaf, x: Row) -> tuple[np.ndarray, np.ndarray]:
        ps: _PrunedSets = leaf.model
        if not ps.keys:
            return leaf.mode.copy(), leaf.frequencies()
        post = ps.posterior(x)
        proba = post @ ps.sets
        return ps.sets[int(post.argmax())].copy(), proba

    def _model_proba(self, leaf: Leaf, x: Row) -> np.ndarray:
        return self._model_both(leaf, x)[1]

    def _model_predict(self, leaf: Leaf, x: Row) -> np.ndarray:
        return self._model_both(leaf, x)[0]

    def _grow_model_labels(self, leaf: Leaf, n: int) -> None:
        ps: _PrunedSets = leaf.model
        ps.sets = np.hstack([ps.sets, np.zeros((ps.sets.shape[0], n), dtype=bool)])

    def _grow_model_features(self, leaf: Leaf, n: int) -> None:
        ps: _PrunedSets = leaf.model
        k = ps.sum.shape[0]
        ps.sum = np.hstack([ps.sum, np.zeros((k, n))])
        ps.sq = np.hstack([ps.sq, np.zeros((k, n))])
        ps.pooled_var = np.concatenate([ps.pooled_var, np.zeros(n)])
        ps.dirty = True

    def _model_nbytes(self, model: Any) -> int:
        return model.nbytes()

    def _model_state(self, model: _PrunedSets) -> dict[str, Any]:
        keys = sorted(model.keys, key=model.keys.__getitem__)
        arrays = [np.frombuffer(k, dtype=np.intp) for k in keys]
        return {
            "key_rows": np.concatenate(arrays).astype(np.int64) if arrays else np.zeros(0, np.int64),
            "key_sizes": np.array([a.shape[0] for a in arrays], dtype=np.int64),
            "sets": model.sets,
            "n": model.n,
            "sum": model.sum,
            "sq": model.sq,
        }

    def _model_from_state(self, state: dict[str, Any]) -> _PrunedSets:
        ps = _PrunedSets(self.n_labels, self.n_features_)
        rows = np.asarray(state["key_rows"], dtype=np.intp)
        bounds = np.concatenate([[0], np.cumsum(np.asarray(state["key_sizes"], dtype=np.int64))])
        ps.keys = {rows[bounds[i] : bounds[i + 1]].tobytes(): i for i in range(len(bounds) - 1)}
        ps.sets = np.asarray(state["sets"], dtype=bool).reshape(len(ps.keys), self.n_labels)
        ps.n = np.asarray(state["n"], dtype=np.float64)
        ps.sum = np.asarray(state["sum"], dtype=np.float64).reshape(len(ps.keys), self.n_features_)
        ps.sq = np.asarray(state["sq"], dtype=np.float64).reshape(len(ps.keys), self.n_features_)
        ps.pooled_var = np.zeros(ps.sum.shape[1])
        ps.dirty = True
        return ps
