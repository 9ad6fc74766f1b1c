"""The vectorised multi-label Hoeffding-tree engine shared by MLHT, MLHT-PS and iSOUP-Tree.

Structure
---------
Split nodes live in flat Python lists indexed by node id (feature, threshold, kind, children,
where missing values go); each leaf is a :class:`Leaf` holding NumPy arrays:

* ``stats`` -- label statistics in the row layout of :mod:`streamml.trees.observers`
  (``[total, empty labelset, label 0, label 1, ...]``), so one instance updates them with a
  single fancy-indexed add;
* ``obs`` / ``nom`` -- the Gaussian and nominal observers (``None`` once the leaf is deactivated);
* ``labelsets`` -- the weight of each distinct labelset seen at the leaf (keys are the bytes of
  the instance's class-row vector, which does not depend on how many labels are known), from which
  the majority labelset and the Hoeffding range ``log2(#labelsets)`` come;
* ``model`` -- whatever the concrete tree keeps at its leaves (nothing for MLHT, a pruned-sets
  naive Bayes for MLHT-PS, a linear model for iSOUP-Tree).

Learning an instance is: find its leaf, update ``stats`` and the labelset count, update the
observers, and, every ``grace_period`` weight of observations, evaluate every candidate split of
that leaf in one vectorised pass (features x candidate thresholds x labels, see
:meth:`HoeffdingTreeEngine._attempt_split`).

Splitting
---------
Numeric features get ``N_SPLIT_POINTS`` (10) thresholds equally spaced strictly between the
feature's observed min and max; the weight of each class at or below a threshold is estimated
from that class's Gaussian CDF (zero below the class's minimum, all of it at or above its maximum,
as in MOA and River; the CDF is a vectorised Abramowitz-Stegun approximation with absolute error
below 7.5e-8, several times faster than ``scipy.special.ndtr``). Nominal features (indices listed in
``nominal_features``; their values are the non-negative ordinal codes of the categories) get one
``value == v`` versus ``value != v`` split per value seen. Every split is binary. A candidate is
admissible when both branches get at least ``min_branch_fraction`` (1 %) of the weight. Each
feature contributes its best candidate; the best feature competes with the second best and with
the *null split* (merit 0, which gives pre-pruning): with ``eps`` the Hoeffding bound
``sqrt(R^2 ln(1/delta) / (2 n))``, the leaf splits when the best merit is positive and
``best - second > eps`` or ``eps < tau`` (``split_test="difference"``); ``split_test="ratio"`` uses
``second / best < 1 - eps`` instead (the iSOUP-Tree/FIMT-DD test). No split is tried at a leaf that
has seen at most one distinct labelset. The new leaves start with the label statistics estimated
for their side of the split (so they predict sensibly before seeing data) and fresh observers.

Missing values, new labels, new features
----------------------------------------
* A NaN feature value is skipped by the observers; at a split node it follows the branch that
  received the larger weight when the split was made.
* A new label gets zero positive weight in every node, every labelset seen so far is taken not to
  contain it, and it is predicted irrelevant until leaves see it.
* A new feature is taken to have been 0 in every earlier instance.

Memory
------
``byte_size`` estimates the memory of the tree (array bytes plus a per-node constant). When
``max_byte_size`` is set (default 100 MiB, River's default; ``None`` disables the limit), the estimate is checked every ``memory_estimate_period`` weight of
instances (and after each split); if it is over the limit, the least promising active leaves
(smallest ``weight x error``, the error being the leaf's expected Hamming error
``mean_l min(p_l, 1 - p_l)``) are deactivated until it fits: they drop their observers, stop
trying to split, but keep predicting and keep training their leaf models. When the estimate later
falls below the limit, the most promising inactive leaves are reactivated with fresh observers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamml.base import MultiLabelLearner
from streamml.schema import Row, SparseRow
from streamml.trees.criteria import CRITERIA, hoeffding_bound
from streamml.trees.observers import GaussianObserver, NominalObserver, class_rows

__all__ = ["Leaf", "HoeffdingTreeEngine"]

_NODE_BYTES = 120  # rough Python overhead of one node (list slots, floats, ints)
_CHUNK_ELEMENTS = 1 << 16  # size of the (classes x features x points) blocks scored at once


class Leaf:
    """One leaf: label statistics, observers, labelset counts and the leaf model."""

    __slots__ = ("stats", "obs", "nom", "labelsets", "mode_key", "mode_count", "mode", "last_eval", "depth", "model")

    def __init__(self, stats: np.ndarray, depth: int, mode: np.ndarray) -> None:
        self.stats = stats
        self.obs: GaussianObserver | None = None
        self.nom: NominalObserver | None = None
        self.labelsets: dict[bytes, float] = {}
        self.mode_key: bytes | None = None
        self.mode_count = 0.0
        self.mode = mode
        self.last_eval = 0.0
        self.depth = depth
        self.model: Any = None

    @property
    def active(self) -> bool:
        return self.obs is not None

    def frequencies(self) -> np.ndarray:
        """Per-label relevance frequency at the leaf."""
        n = self.stats[0]
        if n <= 0:
            return np.zeros(self.stats.shape[0] - 2)
        return self.stats[2:] / n

    def promise(self) -> float:
        """``weight x expected Hamming error``: how much the leaf could still gain from splitting."""
        n = float(self.stats[0])
        if n <= 0 or self.stats.shape[0] <= 2:
            return 0.0
        p = self.stats[2:] / n
        return n * float(np.minimum(p, 1.0 - p).mean())


def _decode_key(key: bytes, n_labels: int) -> np.ndarray:
    rows = np.frombuffer(key, dtype=np.intp)
    mode = np.zeros(n_labels, dtype=bool)
    labels = rows[rows >= 2] - 2
    mode[labels[labels < n_labels]] = True
    return mode


class HoeffdingTreeEngine(MultiLabelLearner):
    """Base class of the multi-label Hoeffding trees (see the module docstring).

    Concrete trees set :attr:`criterion` / :attr:`split_test` and override the leaf-model hooks
    (``_new_model``, ``_learn_model``, ``_model_proba``, ``_model_predict`` and their growth and
    persistence companions). The defaults implement majority-labelset leaves.
    """

    #: Name of the split criterion in :data:`streamml.trees.criteria.CRITERIA`.
    criterion = "entropy"
    #: ``"difference"`` (best - second > eps) or ``"ratio"`` (second / best < 1 - eps).
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
        super().__init__()
        self.grace_period = grace_period
        self.delta = delta
        self.tau = tau
        self.nominal_features = nominal_features
        self.max_depth = max_depth
        self.min_branch_fraction = min_branch_fraction
        self.max_byte_size = max_byte_size
        self.memory_estimate_period = memory_estimate_period
        self._crit = CRITERIA[self.criterion]
        self._nominal_idx = np.array(sorted(set(nominal_features or [])), dtype=np.intp)
        self._reset_tree()

    # ------------------------------------------------------------------ structure
    def _reset_tree(self) -> None:
        self._feature: list[int] = []
        self._threshold: list[float] = []
        self._nominal: list[bool] = []
        self._left: list[int] = []
        self._right: list[int] = []
        self._missing_left: list[bool] = []
        self._leaf: list[Leaf | None] = []
        self._since_memory_check = 0.0
        self._n_splits = 0
        self._numeric_mask = np.ones(self.n_features_, dtype=bool)
        self._update_numeric_mask()
        root = self._make_leaf(np.zeros(2 + self.n_labels), 0, np.zeros(self.n_labels, dtype=bool), None)
        self._add_node(root)

    def _add_node(self, leaf: Leaf | None) -> int:
        self._feature.append(-1)
        self._threshold.append(0.0)
        self._nominal.append(False)
        self._left.append(-1)
        self._right.append(-1)
        self._missing_left.append(True)
        self._leaf.append(leaf)
        return len(self._leaf) - 1

    def _make_leaf(self, stats: np.ndarray, depth: int, mode: np.ndarray, parent: Leaf | None) -> Leaf:
        leaf = Leaf(stats, depth, mode)
        self._activate(leaf)
        leaf.model = self._new_model(parent, leaf)
        return leaf

    def _activate(self, leaf: Leaf) -> None:
        n_classes = 2 + self.n_labels
        leaf.obs = GaussianObserver(n_classes, self.n_features_)
        leaf.nom = NominalObserver(n_classes, len(self._nominal_idx)) if len(self._nominal_idx) else None
        leaf.last_eval = 0.0

    def _deactivate(self, leaf: Leaf) -> None:
        leaf.obs = None
        leaf.nom = None

    def _update_numeric_mask(self) -> None:
        mask = np.ones(self.n_features_, dtype=bool)
        nom = self._nominal_idx[self._nominal_idx < self.n_features_]
        mask[nom] = False
        self._numeric_mask = mask

    # --------------------------------------------------------------- inspection
    def _leaves(self) -> list[Leaf]:
        return [leaf for leaf in self._leaf if leaf is not None]

    @property
    def n_nodes(self) -> int:
        """Number of nodes (split nodes and leaves)."""
        return len(self._leaf)

    @property
    def n_leaves(self) -> int:
        return len(self._leaves())

    @property
    def n_active_leaves(self) -> int:
        """Leaves that still collect observer statistics and may split."""
        return sum(1 for leaf in self._leaves() if leaf.active)

    @property
    def depth(self) -> int:
        """Depth of the deepest leaf (a lone root leaf has depth 0)."""
        return max(leaf.depth for leaf in self._leaves())

    @property
    def byte_size(self) -> int:
        """Estimated memory of the tree in bytes (arrays plus a per-node constant)."""
        return sum(self._leaf_bytes(leaf) for leaf in self._leaves()) + _NODE_BYTES * len(self._leaf)

    def _leaf_bytes(self, leaf: Leaf) -> int:
        n = leaf.stats.nbytes + leaf.mode.nbytes + 200
        n += len(leaf.labelsets) * (100 + 8 * (2 + max(1, int(leaf.stats[2:].sum() / max(leaf.stats[0], 1.0)))))
        if leaf.obs is not None:
            n += leaf.obs.nbytes()
        if leaf.nom is not None:
            n += leaf.nom.nbytes()
        return n + self._model_nbytes(leaf.model)

    def splits(self) -> list[dict[str, Any]]:
        """The split nodes: ``{"node", "feature", "threshold", "nominal", "depth"}`` in creation order."""
        out = []
        depth = {0: 0}
        for node in range(len(self._leaf)):
            if self._feature[node] >= 0:
                depth[self._left[node]] = depth[self._right[node]] = depth[node] + 1
                out.append(
                    {
                        "node": node,
                        "feature": self._feature[node],
                        "threshold": self._threshold[node],
                        "nominal": self._nominal[node],
                        "depth": depth[node],
                    }
                )
        return out

    def evaluation_report(self) -> dict[str, Any]:
        """Tree facts for the evaluator's results."""
        return {
            "n_nodes": self.n_nodes,
            "n_leaves": self.n_leaves,
            "n_active_leaves": self.n_active_leaves,
            "depth": self.depth,
            "byte_size": self.byte_size,
        }

    # ------------------------------------------------------------------- growth
    def _on_new_labels(self, old: int, new: int) -> None:
        n = new - old
        for leaf in self._leaves():
            leaf.stats = np.concatenate([leaf.stats, np.zeros(n)])
            leaf.mode = np.concatenate([leaf.mode, np.zeros(n, dtype=bool)])
            if leaf.obs is not None:
                leaf.obs.add_classes(n)
            if leaf.nom is not None:
                leaf.nom.add_classes(n)
            self._grow_model_labels(leaf, n)

    def _on_new_features(self, old: int, new: int) -> None:
        n = new - old
        for leaf in self._leaves():
            if leaf.obs is not None:
                leaf.obs.add_features(n)
            self._grow_model_features(leaf, n)
        self._update_numeric_mask()

    # ------------------------------------------------------------------ routing
    def _prepare(self, x: Row) -> Row:
        if isinstance(x, SparseRow):
            return x
        if x.dtype != np.float64:
            x = x.astype(np.float64)
        if x.shape[0] != self.n_features_:
            full = np.zeros(self.n_features_)
            full[: x.shape[0]] = x
            x = full
        return x

    def _sort(self, x: Row) -> Leaf:
        return self._leaf[self._walk(0, x)[-1]]  # type: ignore[return-value]

    def _walk(self, node: int, x: Row) -> list[int]:
        """The nodes from ``node`` down to the leaf that ``x`` reaches, both included."""
        path = [node]
        feature = self._feature
        f = feature[node]
        if f < 0:
            return path
        sparse = isinstance(x, SparseRow)
        if sparse:
            idx, vals = x.indices, x.values
            nnz = idx.shape[0]
        while f >= 0:
            if sparse:
                i = int(idx.searchsorted(f))
                v = float(vals[i]) if i < nnz and idx[i] == f else 0.0
            else:
                v = float(x[f])
            if v != v:  # NaN: missing, follows the branch that was heavier at split time
                go_left = self._missing_left[node]
            elif self._nominal[node]:
                go_left = v == self._threshold[node]
            else:
                go_left = v <= self._threshold[node]
            node = self._left[node] if go_left else self._right[node]
            path.append(node)
            f = feature[node]
        return path

    def _node_of(self, leaf: Leaf) -> int:
        return self._leaf.index(leaf)

    def _nominal_codes(self, x: Row) -> np.ndarray:
        nom = self._nominal_idx
        codes = np.full(nom.shape[0], np.nan)
        present = nom < (x.size if isinstance(x, SparseRow) else x.shape[0])
        if isinstance(x, SparseRow):
            pos = np.searchsorted(x.indices, nom)
            hit = (pos < x.indices.shape[0]) & present
            hit[hit] = x.indices[pos[hit]] == nom[hit]
            codes[present] = 0.0
            codes[hit] = x.values[pos[hit]]
        else:
            codes[present] = x[nom[present]]
        return codes

    # ----------------------------------------------------------------- learning
    def _learn_row(self, x: Row, y: np.ndarray, w: float) -> None:
        if w <= 0:
            return
        x = self._prepare(x)
        leaf = self._sort(x)
        rows = class_rows(y)
        self._learn_model(leaf, x, y, rows, w)
        if self._update_leaf(leaf, x, y, rows, w):
            if len(leaf.labelsets) > 1 and (self.max_depth is None or leaf.depth < self.max_depth):
                self._attempt_split(leaf)
        if self.max_byte_size is not None:
            self._since_memory_check += w
            if self._since_memory_check >= self.memory_estimate_period:
                self._enforce_memory()

    def _update_leaf(self, leaf: Leaf, x: Row, y: np.ndarray, rows: np.ndarray, w: float) -> bool:
        """Add an instance to the leaf's statistics, labelset counts and observers.

        Returns True when ``grace_period`` weight has been observed since the last split attempt
        (the caller decides whether to attempt a split).
        """
        leaf.stats[rows] += w
        key = rows.tobytes()
        count = leaf.labelsets.get(key, 0.0) + w
        leaf.labelsets[key] = count
        if count > leaf.mode_count:
            leaf.mode_count = count
            if key != leaf.mode_key:
                leaf.mode_key = key
                leaf.mode = _decode_key(key, y.shape[0])
        obs = leaf.obs
        if obs is not None:
            if isinstance(x, SparseRow):
                obs.update_sparse(rows, x.indices, x.values, w)
            else:
                obs.update_dense(rows, x, w)
            if leaf.nom is not None:
                leaf.nom.update(rows, self._nominal_codes(x), w)
            seen = obs.weight[0]
            if seen - leaf.last_eval >= self.grace_period:
                leaf.last_eval = seen
                return True
        return False

    # ---------------------------------------------------------------- splitting
    def _candidates(self, leaf: Leaf) -> tuple[np.ndarray, list[tuple[int, bool, float]]] | None:
        """Best admissible split of every feature: ``(merits, [(feature, nominal, threshold)])``.

        Numeric features are scored in chunks (features x candidate points x classes), so that
        the temporaries stay cache-sized; a feature without an admissible candidate is left out.
        """
        obs = leaf.obs
        assert obs is not None
        weight = obs.weight
        n = float(weight[0])
        classes = np.flatnonzero(weight > 0)
        if classes.shape[0] == 0 or classes[0] != 0:
            return None
        classes = classes[classes != 1]  # the total and the labels; the empty class plays no part
        is_label = classes >= 2
        parent_pos = weight[classes[1:]]
        frac = self.min_branch_fraction
        merit_fn = self._crit.merit
        merits: list[np.ndarray] = []
        splits: list[tuple[int, bool, float]] = []

        lo, hi = obs.bounds()
        feats = np.flatnonzero((hi > lo) & self._numeric_mask)
        if feats.shape[0]:
            points = obs.candidate_points(feats)  # (F, P)
            chunk = max(1, _CHUNK_ELEMENTS // (classes.shape[0] * points.shape[1]))
            best = np.empty(feats.shape[0], dtype=np.intp)
            best_merit = np.empty(feats.shape[0])
            for a in range(0, feats.shape[0], chunk):
                b = min(a + chunk, feats.shape[0])
                left, wf = obs.left_weights(classes, feats[a:b], points[a:b])  # (c, F, P), (c, F)
                right = np.subtract(wf[:, :, None], left)
                nl, nr = left[0], right[0]
                merit = merit_fn(parent_pos, n, left[1:], nl, right[1:], nr)
                tot = nl + nr
                merit[(nl < frac * tot) | (nr < frac * tot)] = -np.inf
                j = merit.argmax(axis=1)
                best[a:b] = j
                best_merit[a:b] = merit[np.arange(b - a), j]
            ok = np.isfinite(best_merit)
            merits.append(best_merit[ok])
            splits.extend((int(feats[i]), False, float(points[i, best[i]])) for i in np.flatnonzero(ok))

        if leaf.nom is not None:
            counts = leaf.nom.counts[classes]  # (c, m, V)
            wf = counts.sum(axis=2, keepdims=True)
            rest = wf - counts
            nl, nr = counts[0], rest[0]
            merit = merit_fn(parent_pos, n, counts[is_label], nl, rest[is_label], nr)
            tot = nl + nr
            merit[(nl < frac * tot) | (nr < frac * tot) | (tot <= 0)] = -np.inf
            best = merit.argmax(axis=1)
            best_merit = merit[np.arange(merit.shape[0]), best]
            ok = np.isfinite(best_merit) & (self._nominal_idx < self.n_features_)
            merits.append(best_merit[ok])
            splits.extend((int(self._nominal_idx[i]), True, float(best[i])) for i in np.flatnonzero(ok))
        if not splits:
            return None
        return np.concatenate(merits), splits

    def _branch_stats(self, leaf: Leaf, feature: int, nominal: bool, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Estimated class statistics (``stats`` layout) of the two branches of a split."""
        obs = leaf.obs
        assert obs is not None
        classes = np.flatnonzero(obs.weight > 0)
        if nominal:
            j = self._nominal_idx.tolist().index(feature)
            counts = leaf.nom.counts[classes, j]  # type: ignore[union-attr]
            lw = counts[:, int(threshold)]
            rw = counts.sum(axis=1) - lw
        else:
            left, wf = obs.left_weights(classes, np.array([feature]), np.array([[threshold]]))
            lw, rw = left[:, 0, 0], wf[:, 0] - left[:, 0, 0]
        size = obs.weight.shape[0]
        ls, rs = np.zeros(size), np.zeros(size)
        ls[classes], rs[classes] = lw, rw
        # per-class Gaussian estimates need not be consistent with the total: clip
        np.minimum(ls[1:], ls[0], out=ls[1:])
        np.minimum(rs[1:], rs[0], out=rs[1:])
        return ls, rs

    def _attempt_split(self, leaf: Leaf) -> bool:
        """Evaluate the leaf's candidates and split it if the Hoeffding test allows; True if split."""
        found = self._candidates(leaf)
        if found is None:
            return False
        merits, splits = found
        order = np.argsort(-merits, kind="stable")
        best_merit = float(merits[order[0]])
        if best_merit <= 0:
            return False  # the null split wins
        second = max(float(merits[order[1]]) if len(splits) > 1 else 0.0, 0.0)
        n = float(leaf.obs.weight[0])  # type: ignore[union-attr]
        eps = hoeffding_bound(self._crit.value_range(len(leaf.labelsets)), self.delta, n)
        if self.split_test == "ratio":
            ok = second / best_merit < 1.0 - eps
        else:
            ok = best_merit - second > eps
        if not (ok or eps < self.tau):
            return False
        feature, nominal, threshold = splits[order[0]]
        ls, rs = self._branch_stats(leaf, feature, nominal, threshold)
        self._split(leaf, feature, nominal, threshold, ls, rs)
        return True

    def _split(self, leaf: Leaf, feature: int, nominal: bool, threshold: float, left: np.ndarray, right: np.ndarray) -> None:
        node = self._node_of(leaf)
        self._feature[node] = feature
        self._threshold[node] = threshold
        self._nominal[node] = nominal
        self._missing_left[node] = bool(left[0] >= right[0])
        self._leaf[node] = None
        kids = []
        for stats in (left, right):
            child = self._make_leaf(stats, leaf.depth + 1, leaf.mode.copy(), leaf)
            kids.append(self._add_node(child))
        self._left[node], self._right[node] = kids
        self._n_splits += 1
        if self.max_byte_size is not None:
            self._enforce_memory()

    # ------------------------------------------------------------------- memory
    def _enforce_memory(self) -> None:
        self._since_memory_check = 0.0
        limit = self.max_byte_size
        if limit is None:
            return
        size = self.byte_size
        leaves = self._leaves()
        if size > limit:
            active = sorted((leaf for leaf in leaves if leaf.active), key=Leaf.promise)
            for leaf in active:
                before = self._leaf_bytes(leaf)
                self._deactivate(leaf)
                size -= before - self._leaf_bytes(leaf)
                if size <= limit:
                    break
        else:
            inactive = sorted((leaf for leaf in leaves if not leaf.active), key=Leaf.promise, reverse=True)
            for leaf in inactive:
                before = self._leaf_bytes(leaf)
                self._activate(leaf)
                after = self._leaf_bytes(leaf)
                if size + after - before > limit:
                    self._deactivate(leaf)
                    break
                size += after - before

    # --------------------------------------------------------------- prediction
    def _predict_proba_row(self, x: Row) -> np.ndarray:
        x = self._prepare(x)
        return self._model_proba(self._sort(x), x)

    def _predict_row(self, x: Row) -> np.ndarray:
        x = self._prepare(x)
        return self._model_predict(self._sort(x), x)

    def predict_row_and_proba(self, x: Row) -> tuple[np.ndarray, np.ndarray]:
        """Prediction and probabilities from a single pass down the tree."""
        self._fit_spaces(x, None)
        if not self.labels_:
            return np.zeros(0, dtype=bool), np.zeros(0)
        x = self._prepare(x)
        return self._model_both(self._sort(x), x)

    # --------------------------------------------------------- leaf-model hooks
    def _new_model(self, parent: Leaf | None, leaf: Leaf) -> Any:
        """The model of a new leaf (``parent`` is the leaf being split, or None for the root)."""
        return None

    def _learn_model(self, leaf: Leaf, x: Row, y: np.ndarray, rows: np.ndarray, w: float) -> None:
        """Train the leaf model; called before the leaf's statistics are updated."""

    def _model_proba(self, leaf: Leaf, x: Row) -> np.ndarray:
        return leaf.frequencies()

    def _model_predict(self, leaf: Leaf, x: Row) -> np.ndarray:
        return leaf.mode.copy()

    def _model_both(self, leaf: Leaf, x: Row) -> tuple[np.ndarray, np.ndarray]:
        return self._model_predict(leaf, x), self._model_proba(leaf, x)

    def _grow_model_labels(self, leaf: Leaf, n: int) -> None:
        pass

    def _grow_model_features(self, leaf: Leaf, n: int) -> None:
        pass

    def _model_nbytes(self, model: Any) -> int:
        return 0

    def _model_state(self, model: Any) -> Any:
        return None

    def _model_from_state(self, state: Any) -> Any:
        return None

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        pass

    # -------------------------------------------------------------- persistence
    def _get_state(self) -> dict[str, Any]:
        leaves = []
        for node, leaf in enumerate(self._leaf):
            if leaf is None:
                continue
            keys = list(leaf.labelsets)
            arrays = [np.frombuffer(k, dtype=np.intp) for k in keys]
            leaves.append(
                {
                    "node": node,
                    "stats": leaf.stats,
                    "obs": leaf.obs.get_state() if leaf.obs is not None else None,
                    "nom": leaf.nom.counts if leaf.nom is not None else None,
                    "labelset_rows": np.concatenate(arrays).astype(np.int64) if arrays else np.zeros(0, np.int64),
                    "labelset_sizes": np.array([a.shape[0] for a in arrays], dtype=np.int64),
                    "labelset_counts": np.array([leaf.labelsets[k] for k in keys], dtype=np.float64),
                    "mode_index": keys.index(leaf.mode_key) if leaf.mode_key is not None else -1,
                    "mode_count": float(leaf.mode_count),
                    "mode": leaf.mode,
                    "last_eval": float(leaf.last_eval),
                    "depth": int(leaf.depth),
                    "model": self._model_state(leaf.model),
                }
            )
        return {
            "nodes": {
                "feature": np.array(self._feature, dtype=np.int64),
                "threshold": np.array(self._threshold, dtype=np.float64),
                "nominal": np.array(self._nominal, dtype=bool),
                "left": np.array(self._left, dtype=np.int64),
                "right": np.array(self._right, dtype=np.int64),
                "missing_left": np.array(self._missing_left, dtype=bool),
            },
            "leaves": leaves,
            "since_memory_check": float(self._since_memory_check),
            "n_splits": int(self._n_splits),
            "extra": self._extra_state(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        nodes = state["nodes"]
        self._feature = [int(v) for v in nodes["feature"]]
        self._threshold = [float(v) for v in nodes["threshold"]]
        self._nominal = [bool(v) for v in nodes["nominal"]]
        self._left = [int(v) for v in nodes["left"]]
        self._right = [int(v) for v in nodes["right"]]
        self._missing_left = [bool(v) for v in nodes["missing_left"]]
        self._leaf = [None] * len(self._feature)
        self._update_numeric_mask()
        for ls in state["leaves"]:
            leaf = Leaf(np.asarray(ls["stats"], dtype=np.float64), int(ls["depth"]), np.asarray(ls["mode"], dtype=bool))
            leaf.obs = GaussianObserver.from_state(ls["obs"]) if ls["obs"] is not None else None
            if ls["nom"] is not None:
                leaf.nom = NominalObserver.__new__(NominalObserver)
                leaf.nom.counts = np.asarray(ls["nom"], dtype=np.float64)
            rows = np.asarray(ls["labelset_rows"], dtype=np.intp)
            bounds = np.concatenate([[0], np.cumsum(np.asarray(ls["labelset_sizes"], dtype=np.int64))])
            keys = [rows[bounds[i] : bounds[i + 1]].tobytes() for i in range(len(bounds) - 1)]
            leaf.labelsets = dict(zip(keys, np.asarray(ls["labelset_counts"], dtype=np.float64).tolist()))
            mi = int(ls["mode_index"])
            leaf.mode_key = keys[mi] if mi >= 0 else None
            leaf.mode_count = float(ls["mode_count"])
            leaf.last_eval = float(ls["last_eval"])
            leaf.model = self._model_from_state(ls["model"])
            self._leaf[int(ls["node"])] = leaf
        self._since_memory_check = float(state["since_memory_check"])
        self._n_splits = int(state["n_splits"])
        self._set_extra_state(state.get("extra", {}))
