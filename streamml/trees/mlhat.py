"""MLHAT: the Multi-Label Hoeffding Adaptive Tree (Esteban, Cano, Zafra and Ventura, KBS 2024).

See :class:`MLHAT`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from river.drift import ADWIN

from streamml.bounds import PairedMicroF1, bernstein_gap
from streamml.schema import Row, SparseRow, is_frozen
from streamml.trees.criteria import unit_binary_entropy
from streamml.trees.observers import class_rows
from streamml.trees.leaf_models import BaggedLogistic, Instance, LabelCombinationKNN
from streamml.trees.tree import HoeffdingTreeEngine, Leaf

__all__ = ["MLHAT", "alternate_bound", "alternate_decision", "combine_leaf_probabilities"]

_POISSON_BLOCK = 4096


def alternate_bound(p: float, n_alt: float, n_main: float, significance: float = 0.05) -> float:
    """``sqrt(2 p (1 - p) ln(2 / significance) (1 / n_alt + 1 / n_main))``.

    The bound on the difference of two Hamming losses beyond which MLHAT replaces a subtree by its
    alternate (or prunes the alternate); ``p`` is the main node's Hamming loss.

    >>> round(alternate_bound(0.2, 400, 400), 6)   # sqrt(0.32 * ln 40 * 0.005)
    0.076826
    """
    return math.sqrt(2.0 * p * (1.0 - p) * math.log(2.0 / significance) * (1.0 / n_alt + 1.0 / n_main))


def alternate_decision(p_main: float, p_alt: float, n_alt: float, n_main: float, significance: float = 0.05) -> str | None:
    """``"switch"`` when the alternate's loss is lower by more than the bound, ``"prune"`` when it is
    higher by more than the bound, else None.

    >>> alternate_decision(0.30, 0.20, 400, 400), alternate_decision(0.20, 0.30, 400, 400)
    ('switch', 'prune')
    >>> alternate_decision(0.20, 0.17, 400, 400) is None
    True
    """
    bound = alternate_bound(p_main, n_alt, n_main, significance)
    if p_main - p_alt > bound:
        return "switch"
    if p_alt - p_main > bound:
        return "prune"
    return None


def combine_leaf_probabilities(probas: list[np.ndarray], losses: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """MLHAT's inverse-squared-Hamming combination of leaf predictions.

    Each leaf's per-label distribution ``{True: p, False: 1 - p}`` is divided by
    ``(p + (1 - p)) * loss^2`` (left as is when that is 0, i.e. for a leaf with no recorded error),
    the distributions are summed, and each label's sum is normalised. Returns ``(prediction,
    P(True))``, where a label is predicted relevant when ``P(True) >= P(False)``.

    >>> pred, p = combine_leaf_probabilities([np.array([0.9, 0.2]), np.array([0.3, 0.6])], [0.5, 0.25])
    >>> p.round(4).tolist(), pred.tolist()
    ([0.42, 0.52], [False, True])
    """
    if not probas:
        return np.zeros(0, dtype=bool), np.zeros(0)
    if len(probas) == 1:  # the weight cancels
        p = np.asarray(probas[0], dtype=np.float64)
        return p >= 0.5, p
    num = np.zeros_like(probas[0], dtype=np.float64)
    den = 0.0
    for p, hl in zip(probas, losses):
        weight = 1.0 / (hl * hl) if hl > 0 else 1.0
        num += weight * p
        den += weight
    proba = num / den
    return 2.0 * num >= den, proba


class _LeafModels:
    """What an MLHAT leaf trains besides the engine's statistics: weight, kNN and bagged LR.

    ``loss_knn`` / ``loss_lr`` are the weighted sums of the two models' Hamming losses on the
    instances they were about to learn (kept only with ``leaf_selection="loss"``); ``paired`` the
    weight, sum, sum of squares and largest size of their per-instance differences (regressions
    minus kNN, per label), and ``settled`` whether the regressions have won for good. With
    ``selection_metric="micro_f1"`` the comparison is ``f1`` instead (kNN as *a*, regressions as
    *b*), and the Hamming sums stay at zero.
    """

    __slots__ = ("weight", "knn", "lr", "loss_knn", "loss_lr", "paired", "settled", "f1", "entropy", "entropy_at",
                 "entropy_size", "entropy_of_total")  # fmt: skip

    def __init__(self, weight: float, knn: LabelCombinationKNN, lr: BaggedLogistic, loss_knn: float = 0.0,
                 loss_lr: float = 0.0, paired: list[float] | None = None, settled: bool = False,
                 f1: PairedMicroF1 | None = None) -> None:  # fmt: skip
        self.weight = weight
        self.knn = knn
        self.lr = lr
        self.loss_knn = loss_knn
        self.loss_lr = loss_lr
        self.paired = [0.0, 0.0, 0.0, 0.0] if paired is None else [float(v) for v in paired]
        self.settled = settled
        self.f1 = f1
        self.entropy = 0.0  # cache of MLHAT.leaf_entropy, valid while the leaf's total is entropy_at
        self.entropy_at = -1.0
        self.entropy_size = -1
        self.entropy_of_total = False  # whether the frequencies were relative to the total (the usual case)


class MLHAT(HoeffdingTreeEngine):
    """Multi-Label Hoeffding Adaptive Tree.

    **Tree.** A multi-label Hoeffding tree on the engine of :mod:`streamml.trees.tree`: multi-label
    entropy splits, Hoeffding range ``R = log2(#distinct labelsets seen at the leaf)`` (1 for at
    most two), split when ``best - second > eps`` or ``eps < tau``, 10 Gaussian candidate thresholds
    per numeric feature, binary splits, each branch with at least ``min_branch_fraction`` of the
    weight, the null split (pre-pruning) allowed. No split is attempted at a pure leaf (at most one
    labelset seen) or when one class (a label, or the empty labelset) covers more than
    ``max_share_to_split`` of the leaf's weight.

    **Instance weighting.** With ``bootstrap_sampling`` every instance's weight is multiplied by
    ``k ~ Poisson(poisson_rate)`` when ``k > 0``; ``k = 0`` keeps the weight (instances are never
    dropped). Draws come from a NumPy generator seeded with ``seed``.

    **Leaf models.** Every leaf trains three models on every instance that reaches it:

    * the majority labelset (the engine's labelset counts);
    * a label-combination kNN (``knn_neighbors`` = 4 neighbours, sliding window of ``knn_window`` =
      170 instances, inverse-distance votes);
    * binary relevance over online bagging of ``n_models`` = 10 SGD logistic regressions
      (``learning_rate`` 0.3 as in the reference; intercept step ``intercept_lr`` 0.01, River's
      default, which the reference keeps). On sparse rows the intercept is the one parameter that
      every instance updates, and at 0.01 it learns label base rates slowly: ``intercept_lr=0.3``
      lifts Corel5k's micro-F1 from 0.2537 to 0.3536 and lowers Yeast's (dense) from 0.6149 to
      0.6028 (``benchmarks/RESULTS.md``, section ``suite:ihomer``). iHOMER's units use 0.3.

    A leaf predicts with the majority labelset while pure; else with the kNN while its weight
    (since it was created) is below ``cardinality_th`` = 750 or its label entropy (the sum, over
    the labels and the empty labelset, of the binary entropies of their frequencies at the leaf)
    is below ``entropy_th`` = 0.3; else with the bagged logistic regressions -- with the default
    ``leaf_selection="loss"``, only while their Hamming loss at the leaf (each model's prediction
    on every instance before learning it, weighted, since the leaf was created) is at most the
    kNN's, otherwise the kNN stays. ``leaf_selection="reference"`` switches unconditionally, as
    the reference code does. The check costs one extra kNN query per instance at leaves past the
    thresholds (the logistic prediction comes free with its SGD step); with ``selection_delta`` a
    leaf whose regressions lead by a Bernstein bound on the paired per-instance losses settles on
    them and stops paying it (iHOMER's units do; off by default). It matters where raw
    features suit SGD badly: on Emotions (feature magnitudes up to 237) the reference switch lowers
    micro-F1 from 0.481 to 0.464; on Yeast and Scene it changes nothing. With
    ``selection_metric="micro_f1"`` the two models are compared on their micro-F1 at the leaf
    instead (:class:`~streamml.bounds.PairedMicroF1`, the same bound for settling): where labels
    are sparse, Hamming loss favours the model that predicts fewer of them, and a kNN that misses
    most relevant labels can beat regressions that find them (iHOMER's cluster units use it). A
    leaf that has seen nothing yet gives no prediction. See :mod:`streamml.trees.leaf_models` for
    the vectorised models. Two shortcuts leave every answer as it was: a settled leaf's kNN stores
    rows only when it is read again (:meth:`~streamml.trees.leaf_models.LabelCombinationKNN.defer`),
    and a leaf's entropy is recomputed only when it may have crossed ``entropy_th`` since it was
    last computed (a bound on how far the frequencies can have moved).

    **Combining leaves.** Every node keeps a running (weighted) Hamming loss of its own predictions:
    the prediction of the leaf its subtree sends the instance to, made before learning it. A leaf's
    per-label distribution is divided by ``(P(True) + P(False)) * loss^2`` (kept as is while the
    loss is 0, as in the reference); with ``combined_prediction`` the distributions of the main
    leaf and of the leaves reached in the alternate trees met on the way (those with weight above
    ``drift_window_threshold``) are summed and normalised per label, and a label is predicted
    relevant when ``P(True) >= P(False)``. :func:`combine_leaf_probabilities` is this arithmetic.

    **Drift.** After updating its loss, each node feeds the loss (the cumulative Hamming loss,
    River ``ADWIN(delta=adwin_delta)``) to its detector. A *warning* is a rise of the node's loss at
    this step: on a warning, a branch of the main tree that has no alternate starts one (a fresh
    leaf) in the background. The ADWIN *drift* signal is used as in the reference: when it fires on
    a step where the loss fell, the node's loss estimate restarts. Alternate trees learn every
    instance their branch sees and keep their own losses, but never grow alternates themselves.
    Once the alternate has at least ``drift_window_threshold`` weight, and so has the branch since
    the alternate started, the bound of :func:`alternate_bound` is computed with ``p`` the branch's
    loss (before this instance), ``n_alt`` the alternate's weight and ``n_main`` the weight behind
    the branch's loss (since its last restart, the reference's "post-drift weight"): an alternate
    whose loss is lower by more than the bound replaces the branch's subtree (``"switch"``), one
    whose loss is higher by more than the bound is discarded (``"prune"``). Every start, switch and
    prune is logged in :attr:`events` as ``{"n": index of the instance being learned (0-based),
    "kind": "alternate" | "switch" | "prune", "node": branch id}``; :meth:`evaluation_report`
    returns them for plots.

    **Label-space growth.** A new label is taken to have been irrelevant in every earlier instance:
    it gets zero statistics, ``False`` in every stored kNN labelset, and zero logistic weights
    (probability 0.5 until trained). New features are taken to have been 0.

    **Reference defaults** (the MLHAT research code): grace period 200, delta
    1.6587784772850855e-7, tau 0.05, 10 split points, binary splits, min branch fraction 0.01,
    max share to split 0.99, cardinality threshold 750, entropy threshold 0.3, kNN k = 4 and window
    170, 10 bagged logistic regressions with SGD(0.3), Poisson(1) weighting, ADWIN(0.002) fed the
    cumulative Hamming loss ("per labelset"), alternates built on warning, drift window threshold
    200, switch significance 0.05, combined prediction on.

    **Deviations from the reference code**, all small on the benchmark streams:

    * ``leaf_selection="loss"`` (above) is an addition; ``"reference"`` restores the plain switch.
      So are ``selection_delta`` (off by default) and ``selection_metric="micro_f1"`` (Hamming loss
      by default).
    * The bagged logistic regressions take one step with gradient times ``k_m`` instead of ``k_m``
      successive steps (``bagging_update="repeated"`` restores the successive steps).
    * For more than ``knn_dense_max_features`` features, or when a leaf's first stored row has
      under a quarter of its features non-zero, the kNN window is stored sparse and the
      distances use ``|w|^2 + |x|^2 - 2 w.x`` (rounding differences only; set the threshold high for
      the direct formula).
    * Every node keeps the loss of its own predictions. In the reference a leaf below a branch
      shares its parent branch's loss object, and an alternate leaf below the root the loss of its
      grandparent (a quirk); the restart-on-drift is applied at every node (the reference applies it
      at branches only while a grown alternate exists).
    * A leaf that fails the 0.99 share test or loses to the null split is not deactivated (the
      reference deactivates it for good); it simply does not split this time.
    * The instance that triggers a split is not re-learned by the new children, and a promoted
      alternate learns the instance of the switch.
    * Random draws use NumPy's generator, not Python's ``random``; the reference seeds every
      leaf's bagging with one shared random seed.

    Parameters
    ----------
    grace_period, delta, tau, nominal_features, max_depth, min_branch_fraction
        Split parameters (see above and :class:`~streamml.trees.MLHT`).
    max_share_to_split
        No split attempt while one class covers more than this share of the leaf's weight.
    max_byte_size, memory_estimate_period
        Memory budget and check period of the engine (reference: 100 MiB, every 1e6 instances).
    cardinality_th, entropy_th
        Leaf-model switch thresholds.
    knn_neighbors, knn_window, knn_dense_max_features
        kNN size, window and the feature count above which its window is stored sparse.
    n_models, learning_rate, intercept_lr, bagging_update
        Bagged logistic regressions; ``bagging_update`` is ``"weighted"`` or ``"repeated"``.
    bootstrap_sampling, poisson_rate
        Poisson instance weighting.
    adwin_delta, drift_window_threshold, switch_significance
        Drift detection and alternate-tree management.
    combined_prediction
        Combine the main leaf with grown alternate leaves.
    leaf_selection
        ``"loss"`` (default): past the thresholds, use the bagged logistic regressions only while
        their observed loss at the leaf is at most the kNN's; ``"reference"``: switch regardless.
    selection_delta
        With ``leaf_selection="loss"``: ``None`` (default) scores both leaf models on every
        instance for as long as the leaf lives; a value settles a leaf once its regressions' loss
        is lower than the kNN's by a Bernstein bound (confidence ``1 - selection_delta``) on the
        paired per-instance differences -- the leaf then predicts with the regressions and stops
        querying the kNN to score it.
    selection_metric
        With ``leaf_selection="loss"``: what the two leaf models are compared on, ``"hamming"``
        (default: Hamming loss) or ``"micro_f1"`` (micro-F1 over the leaf's instances; the
        regressions are used while theirs is at least the kNN's, and settle when it is higher by
        the bound of :class:`~streamml.bounds.PairedMicroF1`).
    seed
        Seed of the random draws.

    Examples
    --------
    >>> import numpy as np
    >>> from streamml.trees import MLHAT
    >>> rng = np.random.default_rng(0)
    >>> model = MLHAT(seed=1)
    >>> for _ in range(300):
    ...     x = rng.normal(size=2)
    ...     model.learn_row(x, np.array([x[0] > 0, x[1] > 0]))
    >>> model.predict_row(np.array([2.0, -2.0])).tolist()
    [True, False]
    """

    criterion = "entropy"
    split_test = "difference"

    def __init__(
        self,
        grace_period: float = 200,
        delta: float = 1.6587784772850855e-7,
        tau: float = 0.05,
        cardinality_th: float = 750,
        entropy_th: float = 0.3,
        knn_neighbors: int = 4,
        knn_window: int = 170,
        knn_dense_max_features: int = 512,
        n_models: int = 10,
        learning_rate: float = 0.3,
        intercept_lr: float = 0.01,
        bagging_update: str = "weighted",
        bootstrap_sampling: bool = True,
        poisson_rate: float = 1.0,
        adwin_delta: float = 0.002,
        drift_window_threshold: float = 200,
        switch_significance: float = 0.05,
        combined_prediction: bool = True,
        leaf_selection: str = "loss",
        selection_delta: float | None = None,
        selection_metric: str = "hamming",
        max_share_to_split: float = 0.99,
        nominal_features: list[int] | None = None,
        max_depth: int | None = None,
        min_branch_fraction: float = 0.01,
        max_byte_size: int | None = 100 * 2**20,
        memory_estimate_period: float = 1_000_000,
        seed: int = 0,
    ) -> None:
        if leaf_selection not in ("reference", "loss"):
            raise ValueError(f"leaf_selection must be 'reference' or 'loss', not {leaf_selection!r}")
        if selection_metric not in ("hamming", "micro_f1"):
            raise ValueError(f"selection_metric must be 'hamming' or 'micro_f1', not {selection_metric!r}")
        if bagging_update not in ("weighted", "repeated"):
            raise ValueError(f"bagging_update must be 'weighted' or 'repeated', not {bagging_update!r}")
        self.cardinality_th = cardinality_th
        self.entropy_th = entropy_th
        self.knn_neighbors = knn_neighbors
        self.knn_window = knn_window
        self.knn_dense_max_features = knn_dense_max_features
        self.n_models = n_models
        self.learning_rate = learning_rate
        self.intercept_lr = intercept_lr
        self.bagging_update = bagging_update
        self.bootstrap_sampling = bootstrap_sampling
        self.poisson_rate = poisson_rate
        self.adwin_delta = adwin_delta
        self.drift_window_threshold = drift_window_threshold
        self.switch_significance = switch_significance
        self.combined_prediction = combined_prediction
        self.leaf_selection = leaf_selection
        self.selection_delta = selection_delta
        self.selection_metric = selection_metric
        self.max_share_to_split = max_share_to_split
        self.seed = seed
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

    # ------------------------------------------------------------------ structure
    def _reset_tree(self) -> None:
        self._root = 0
        self._alt: list[int] = []
        self._bg: list[bool] = []
        self._hl_sum: list[float] = []
        self._hl_w: list[float] = []
        self._post_w: list[float] = []
        self._node_w: list[float] = []
        self._alt_main_w: list[float] = []
        self._ndepth: list[int] = []
        self._adwin: list[ADWIN | None] = []
        self._free: list[int] = []
        self._rng = np.random.default_rng(self.seed)
        self._pois = np.zeros(0, dtype=np.int64)
        self._pois_pos = 0
        self.events: list[dict[str, Any]] = []
        self._n_learned = 0
        self._version = 0
        self._cache_version = -1
        self._cache_x: Any = None
        self._cache_inst: Instance | None = None
        self._cache: dict[Any, np.ndarray | None] = {}
        super()._reset_tree()

    def _add_node(self, leaf: Leaf | None) -> int:
        if self._free:
            n = self._free.pop()
            self._feature[n] = -1
            self._threshold[n] = 0.0
            self._nominal[n] = False
            self._left[n] = -1
            self._right[n] = -1
            self._missing_left[n] = True
            self._leaf[n] = leaf
        else:
            n = super()._add_node(leaf)
            for lst, v in ((self._alt, -1), (self._bg, False), (self._hl_sum, 0.0), (self._hl_w, 0.0),
                           (self._post_w, 0.0), (self._node_w, 0.0), (self._alt_main_w, 0.0),
                           (self._ndepth, 0), (self._adwin, None)):  # fmt: skip
                lst.append(v)  # type: ignore[attr-defined]
        self._alt[n] = -1
        self._bg[n] = False
        self._node_w[n] = 0.0
        self._alt_main_w[n] = 0.0
        self._ndepth[n] = leaf.depth if leaf is not None else 0
        self._fresh_drift(n)
        self._forget_cached(n)
        return n

    def _forget_cached(self, n: int) -> None:
        """Drop node ``n``'s cached leaf outputs (its id is reused, or it stops being a leaf)."""
        cache = self._cache
        cache.pop(n, None)
        cache.pop(("knn", n), None)
        cache.pop(("lr", n), None)
        cache.pop(("rows", n), None)

    def _fresh_drift(self, n: int) -> None:
        self._hl_sum[n] = 0.0
        self._hl_w[n] = 0.0
        self._post_w[n] = 0.0
        self._adwin[n] = ADWIN(delta=self.adwin_delta)

    def _new_model(self, parent: Leaf | None, leaf: Leaf) -> _LeafModels:
        return _LeafModels(
            0.0,
            LabelCombinationKNN(self.n_features_, self.n_labels, self.knn_neighbors, self.knn_window, self.knn_dense_max_features),
            BaggedLogistic(self.n_features_, self.n_labels, self.n_models, self.learning_rate, self.intercept_lr,
                           self.bagging_update == "repeated"),  # fmt: skip
            f1=PairedMicroF1() if self.selection_metric == "micro_f1" else None,
        )

    def _kill(self, root: int) -> None:
        stack = [root]
        while stack:
            n = stack.pop()
            if self._feature[n] >= 0:
                stack.append(self._left[n])
                stack.append(self._right[n])
            if self._alt[n] >= 0:
                stack.append(self._alt[n])
            self._feature[n] = -1
            self._left[n] = self._right[n] = -1
            self._alt[n] = -1
            self._leaf[n] = None
            self._adwin[n] = None
            self._forget_cached(n)
            self._free.append(n)

    def _subtree(self, root: int) -> list[int]:
        out, stack = [], [root]
        while stack:
            n = stack.pop()
            out.append(n)
            if self._feature[n] >= 0:
                stack.append(self._left[n])
                stack.append(self._right[n])
            if self._alt[n] >= 0:
                stack.append(self._alt[n])
        return out

    # --------------------------------------------------------------- inspection
    @property
    def n_nodes(self) -> int:
        """Live nodes: the main tree and its alternate trees."""
        return len(self._leaf) - len(self._free)

    @property
    def n_alternate_trees(self) -> int:
        """Alternate trees currently grown in the background."""
        return sum(1 for n in self._subtree(self._root) if self._alt[n] >= 0)

    def splits(self) -> list[dict[str, Any]]:
        """Split nodes of the main tree: ``{"node", "feature", "threshold", "nominal", "depth"}``."""
        out = [{"node": n, "feature": self._feature[n], "threshold": self._threshold[n],
                "nominal": self._nominal[n], "depth": self._ndepth[n]}
               for n in self._main_tree() if self._feature[n] >= 0]  # fmt: skip
        return sorted(out, key=lambda s: s["node"])

    def leaf_model_kinds(self) -> list[str]:
        """The model each leaf of the main tree predicts with now (:meth:`leaf_model_kind`), left to right.

        A tree that has not split is one leaf; until ``cardinality_th`` weight has reached a leaf
        it predicts with its kNN.

        >>> import numpy as np
        >>> model = MLHAT(seed=1)
        >>> for i in range(300):
        ...     model.learn_row(np.array([float(i % 7)]), np.array([i % 2 == 0, i % 3 == 0]))
        >>> model.leaf_model_kinds()
        ['knn']
        """
        return [self.leaf_model_kind(self._leaf[n]) for n in self._main_tree() if self._feature[n] < 0]  # type: ignore[arg-type]

    def _main_tree(self) -> list[int]:
        """Nodes of the main tree (no alternate trees), depth first, left before right."""
        out, stack = [], [self._root]
        while stack:
            n = stack.pop()
            out.append(n)
            if self._feature[n] >= 0:
                stack.append(self._right[n])
                stack.append(self._left[n])
        return out

    def node_loss(self, node: int) -> float:
        """Running Hamming loss of a node's own predictions (0 before any)."""
        w = self._hl_w[node]
        return self._hl_sum[node] / w if w > 0 else 0.0

    def evaluation_report(self) -> dict[str, Any]:
        report = super().evaluation_report()
        kinds = [e["kind"] for e in self.events]
        report.update(
            {
                "events": [dict(e) for e in self.events],
                "n_switches": kinds.count("switch"),
                "n_prunes": kinds.count("prune"),
                "n_alternates_started": kinds.count("alternate"),
                "n_alternate_trees": self.n_alternate_trees,
            }
        )
        return report

    # ------------------------------------------------------------------- growth
    def _on_new_labels(self, old: int, new: int) -> None:
        super()._on_new_labels(old, new)
        self._version += 1

    def _on_new_features(self, old: int, new: int) -> None:
        super()._on_new_features(old, new)
        self._version += 1

    def _grow_model_labels(self, leaf: Leaf, n: int) -> None:
        leaf.model.knn.add_labels(n)
        leaf.model.lr.add_labels(n)

    def _grow_model_features(self, leaf: Leaf, n: int) -> None:
        leaf.model.knn.add_features(n, self.knn_dense_max_features)
        leaf.model.lr.add_features(n)

    def _model_nbytes(self, model: Any) -> int:
        return model.knn.nbytes() + model.lr.nbytes() + 50

    # ------------------------------------------------------------------ helpers
    def _poisson(self, n: int) -> np.ndarray:
        pos = self._pois_pos
        if pos + n > self._pois.shape[0]:
            self._pois = np.concatenate([self._pois[pos:], self._rng.poisson(1.0, max(_POISSON_BLOCK, n))])
            pos = 0
        self._pois_pos = pos + n
        return self._pois[pos : pos + n]

    def _instance(self, x: Row) -> Instance:
        """The reduced row, reusing the cached one (and leaf predictions) for the same row and model."""
        cx = self._cache_x
        if self._cache_version == self._version and cx is not None:
            if cx is x and is_frozen(x):  # the same read-only row
                return self._cache_inst  # type: ignore[return-value]
            # (a NaN compares unequal: such a row is simply recomputed)
            if isinstance(x, SparseRow):
                same = (isinstance(cx, SparseRow) and cx.size == x.size and cx.indices.shape == x.indices.shape
                        and bool((cx.indices == x.indices).all()) and bool((cx.values == x.values).all()))  # fmt: skip
            else:
                same = not isinstance(cx, SparseRow) and cx.shape == x.shape and bool((cx == x).all())
            if same:
                return self._cache_inst  # type: ignore[return-value]
        inst = Instance.of(x, self.n_features_)
        self._cache_version = self._version
        if is_frozen(x):
            self._cache_x = x
        else:
            self._cache_x = SparseRow(x.indices.copy(), x.values.copy(), x.size) if isinstance(x, SparseRow) else x.copy()
        self._cache_inst = inst
        self._cache.clear()
        return inst

    def leaf_entropy(self, leaf: Leaf) -> float:
        """Sum of the binary entropies of the empty labelset's and the labels' frequencies at the leaf.

        As in the reference, the frequencies are relative to the largest count (normally the total).
        """
        m = leaf.model
        st = leaf.stats
        if m.entropy_at != st[0] or m.entropy_size != st.shape[0]:
            top = st.max()
            m.entropy = float(unit_binary_entropy(st[1:] / top).sum()) if top > 0 else 0.0
            m.entropy_at = float(st[0])
            m.entropy_size = st.shape[0]
            m.entropy_of_total = bool(top == st[0])
        return m.entropy

    def _entropy_below(self, leaf: Leaf) -> bool:
        """``leaf_entropy(leaf) < entropy_th``, recomputing the entropy only when the answer may have changed.

        Between totals ``T0`` (when the entropy was last computed, relative to the total) and ``T``,
        every count grew by at most ``T - T0``, so every frequency moved by at most
        ``(T - T0) / T``, its binary entropy by at most ``h((T - T0) / T)`` (``|h(a) - h(b)| <=
        h(|a - b|)`` while ``|a - b| <= 1/2``), and the sum over the leaf's classes by at most that
        many times as much. Recomputing costs a pass over every label for every prediction.
        """
        m, st = leaf.model, leaf.stats
        total = float(st[0])
        if m.entropy_of_total and m.entropy_size == st.shape[0] and total > 0.0:
            moved = (total - m.entropy_at) / total
            if 0.0 <= moved <= 0.5:
                bound = (st.shape[0] - 1) * float(unit_binary_entropy(moved)) + 1e-9  # (and rounding)
                if m.entropy - bound >= self.entropy_th:
                    return False
                if m.entropy + bound < self.entropy_th:
                    return True
        return self.leaf_entropy(leaf) < self.entropy_th

    def leaf_model_kind(self, leaf: Leaf) -> str:
        """Which model the leaf predicts with: ``"none"``, ``"majority"``, ``"knn"`` or ``"bagging"``."""
        if len(leaf.labelsets) <= 1:
            return "majority" if leaf.labelsets else "none"
        m = leaf.model
        if m.weight < self.cardinality_th or self._entropy_below(leaf):
            return "knn"
        if self.leaf_selection == "loss" and not m.settled:
            lr_worse = m.f1.micro_f1_b < m.f1.micro_f1_a if m.f1 is not None else m.loss_lr > m.loss_knn
            if lr_worse:
                return "knn"
        return "bagging"

    def _dist(self, node: int, inst: Instance) -> np.ndarray | None:
        cache = self._cache
        if node in cache:
            return cache[node]
        leaf: Leaf = self._leaf[node]  # type: ignore[assignment]
        kind = self.leaf_model_kind(leaf)
        if kind == "none":
            p = None
        elif kind == "majority":
            p = leaf.mode.astype(np.float64)
        elif kind == "knn":
            p = cache[("knn", node)] = leaf.model.knn.proba(inst)  # type: ignore[index]
        else:
            rows = cache[("rows", node)] = leaf.model.lr.gather(inst)  # shared with this instance's learning step
            members = cache[("lr", node)] = leaf.model.lr.member_proba(inst, rows)
            p = leaf.model.lr.proba(inst, members)
        cache[node] = p
        return p

    # --------------------------------------------------------------- prediction
    def _combined(self, x: Row) -> tuple[np.ndarray, np.ndarray]:
        x = self._prepare(x)
        inst = self._instance(x)
        path = self._walk(self._root, x)
        nodes = [path[-1]]
        if self.combined_prediction:
            thr = self.drift_window_threshold
            for n in path[:-1]:
                a = self._alt[n]
                if a >= 0:
                    leaf_n = self._walk(a, x)[-1]
                    if self._leaf[leaf_n].stats[0] > thr:  # type: ignore[union-attr]
                        nodes.append(leaf_n)
        probas, losses = [], []
        for n in nodes:
            p = self._dist(n, inst)
            if p is not None:
                probas.append(p)
                losses.append(self.node_loss(n))
        if not probas:
            return np.zeros(self.n_labels, dtype=bool), np.zeros(self.n_labels)
        return combine_leaf_probabilities(probas, losses)

    def _predict_proba_row(self, x: Row) -> np.ndarray:
        return self._combined(x)[1]

    def _predict_row(self, x: Row) -> np.ndarray:
        return self._combined(x)[0]

    def predict_row_and_proba(self, x: Row) -> tuple[np.ndarray, np.ndarray]:
        self._fit_spaces(x, None)
        if not self.labels_:
            return np.zeros(0, dtype=bool), np.zeros(0)
        return self._combined(x)

    # ----------------------------------------------------------------- learning
    def _learn_row(self, x: Row, y: np.ndarray, w: float) -> None:
        if self.bootstrap_sampling:
            k = int(self._poisson(1)[0]) if self.poisson_rate == 1.0 else int(self._rng.poisson(self.poisson_rate))
            if k > 0:
                w = w * k
        if w <= 0:
            return
        x = self._prepare(x)
        inst = self._instance(x)
        rows = class_rows(y)
        self._learn_tree(self._root, -1, False, inst, x, y, rows, w)
        self._n_learned += 1
        self._version += 1
        if self.max_byte_size is not None:
            self._since_memory_check += w
            if self._since_memory_check >= self.memory_estimate_period:
                self._enforce_memory()

    def _update_loss(self, n: int, y: np.ndarray, y_pred: np.ndarray, w: float) -> tuple[float, float, bool]:
        """Add this step's Hamming loss to node ``n``: ``(old loss, new loss, ADWIN drift)``."""
        n_labels = y.shape[0]
        loss = np.count_nonzero(y != y_pred) / n_labels if n_labels else 0.0
        hw = self._hl_w[n]
        old = self._hl_sum[n] / hw if hw > 0 else 0.0
        self._hl_sum[n] += w * loss
        self._hl_w[n] = hw + w
        new = self._hl_sum[n] / self._hl_w[n]
        self._post_w[n] += w
        adwin = self._adwin[n]
        adwin.update(new)  # type: ignore[union-attr]
        return old, new, adwin.drift_detected  # type: ignore[union-attr]

    def _restart_loss(self, n: int) -> None:
        self._hl_sum[n] = 0.0
        self._hl_w[n] = 0.0
        self._post_w[n] = 0.0

    def _log(self, kind: str, node: int) -> None:
        self.events.append({"n": self._n_learned, "kind": kind, "node": node})

    def _learn_tree(self, start: int, parent: int, right: bool, inst: Instance, x: Row, y: np.ndarray,
                    rows: np.ndarray, w: float) -> None:  # fmt: skip
        """Learn an instance in the (sub)tree rooted at ``start`` (child ``right`` of ``parent``)."""
        path = self._walk(start, x)
        leaf_n = path[-1]
        p = self._dist(leaf_n, inst)
        y_pred = None if p is None else p >= 0.5
        thr = self.drift_window_threshold
        for i in range(len(path) - 1):
            n = path[i]
            self._node_w[n] += w
            if y_pred is not None:
                old, new, drift = self._update_loss(n, y, y_pred, w)
                if not self._bg[n]:
                    a = self._alt[n]
                    if a < 0:
                        if new > old:  # warning: start an alternate tree
                            leaf = self._make_leaf(np.zeros(2 + self.n_labels), self._ndepth[n], np.zeros(self.n_labels, dtype=bool), None)
                            a = self._add_node(leaf)
                            self._bg[a] = True
                            self._alt[n] = a
                            self._alt_main_w[n] = w  # the alternate learns this instance too
                            self._log("alternate", n)
                    else:
                        self._alt_main_w[n] += w
                        n_alt = self._node_w[a]
                        if n_alt >= thr and self._alt_main_w[n] >= thr:
                            decision = alternate_decision(old, self.node_loss(a), n_alt, self._post_w[n], self.switch_significance)
                            if decision == "switch":
                                self._switch(n, parent, right)
                                self._learn_tree(a, parent, right, inst, x, y, rows, w)
                                return
                            if decision == "prune":
                                self._alt[n] = -1
                                self._kill(a)
                                self._log("prune", n)
                if drift and new < old:
                    self._restart_loss(n)
            a = self._alt[n]
            if a >= 0:
                self._learn_tree(a, -1, False, inst, x, y, rows, w)
            parent, right = n, path[i + 1] == self._right[n]
        self._node_w[leaf_n] += w
        if y_pred is not None:
            old, new, drift = self._update_loss(leaf_n, y, y_pred, w)
            if drift and new < old:
                self._restart_loss(leaf_n)
        self._learn_leaf(leaf_n, inst, x, y, rows, w)

    def _switch(self, n: int, parent: int, right: bool) -> None:
        a = self._alt[n]
        self._alt[n] = -1
        if parent < 0:
            self._root = a
        elif right:
            self._right[parent] = a
        else:
            self._left[parent] = a
        self._kill(n)
        for m in self._subtree(a):
            self._bg[m] = False
        self._log("switch", n)

    def _learn_leaf(self, n: int, inst: Instance, x: Row, y: np.ndarray, rows: np.ndarray, w: float) -> None:
        leaf: Leaf = self._leaf[n]  # type: ignore[assignment]
        models: _LeafModels = leaf.model
        models.weight += w
        if self.leaf_selection == "loss" and models.knn.count and not models.settled:
            p_knn = self._cache.get(("knn", n))
            if p_knn is None:
                p_knn = models.knn.proba(inst)
            p_lr = models.lr.learn(inst, y, w, self._poisson(self.n_models), self._cache.get(("lr", n)), self._cache.get(("rows", n)))
            if models.f1 is not None:
                self._settle_f1(models, y, p_knn >= 0.5, p_lr >= 0.5)
            else:
                e_knn = np.count_nonzero((p_knn >= 0.5) != y)
                models.loss_knn += w * e_knn
                e_lr = np.count_nonzero((p_lr >= 0.5) != y)
                models.loss_lr += w * e_lr
                if self.selection_delta is not None and y.shape[0]:
                    self._settle(models, (e_lr - e_knn) / y.shape[0], w)
        else:
            models.lr.learn(inst, y, w, self._poisson(self.n_models), self._cache.get(("lr", n)), self._cache.get(("rows", n)),
                            before=False)
        if models.settled:  # its kNN is seldom read again: store the row only if it is
            models.knn.defer(inst, y)
        else:
            models.knn.learn(inst, y)
        if self._update_leaf(leaf, x, y, rows, w):
            if len(leaf.labelsets) <= 1 or (self.max_depth is not None and leaf.depth >= self.max_depth):
                return
            st = leaf.stats
            if st[0] > 0 and st[1:].max() / st[0] > self.max_share_to_split:
                return
            self._attempt_split(leaf)

    def _settle(self, models: _LeafModels, diff: float, w: float) -> None:
        """Add one paired loss difference (regressions minus kNN); settle when the regressions lead
        by the Bernstein bound."""
        st = models.paired
        st[0] += w
        st[1] += w * diff
        st[2] += w * diff * diff
        if abs(diff) > st[3]:
            st[3] = abs(diff)
        if st[1] < 0.0:
            mean, bound = bernstein_gap(st[0], st[1], st[2], st[3], self.selection_delta)  # type: ignore[arg-type]
            if mean < -bound and models.loss_lr <= models.loss_knn:
                models.settled = True

    def _settle_f1(self, models: _LeafModels, y: np.ndarray, knn: np.ndarray, lr: np.ndarray) -> None:
        """Add one instance to the leaf's micro-F1 comparison (unweighted: the instance weights are
        a training device); settle when the regressions lead by the bound."""
        f1: PairedMicroF1 = models.f1  # type: ignore[assignment]
        f1.update(y, knn, lr)
        if self.selection_delta is not None and f1.micro_f1_b > f1.micro_f1_a:
            mean, bound = f1.gap(self.selection_delta)
            if mean > bound:
                models.settled = True

    def _split(self, leaf: Leaf, feature: int, nominal: bool, threshold: float, left: np.ndarray, right: np.ndarray) -> None:
        node = self._node_of(leaf)
        bg = self._bg[node]
        super()._split(leaf, feature, nominal, threshold, left, right)
        self._fresh_drift(node)  # the new branch starts a fresh loss and detector
        self._forget_cached(node)
        self._bg[self._left[node]] = bg
        self._bg[self._right[node]] = bg

    # -------------------------------------------------------------- persistence
    def _model_state(self, model: _LeafModels) -> dict[str, Any]:
        return {"weight": float(model.weight), "knn": model.knn.get_state(), "lr": model.lr.get_state(),
                "loss_knn": float(model.loss_knn), "loss_lr": float(model.loss_lr), "paired": list(model.paired),
                "settled": bool(model.settled), "f1": None if model.f1 is None else model.f1.sums.tolist()}  # fmt: skip

    def _model_from_state(self, state: dict[str, Any]) -> _LeafModels:
        return _LeafModels(
            float(state["weight"]), LabelCombinationKNN.from_state(state["knn"]), BaggedLogistic.from_state(state["lr"]),
            float(state.get("loss_knn", 0.0)), float(state.get("loss_lr", 0.0)), state.get("paired"),
            bool(state.get("settled", False)), self._f1_from_state(state.get("f1")),
        )

    def _f1_from_state(self, sums: list[float] | None) -> PairedMicroF1 | None:
        if self.selection_metric != "micro_f1":
            return None
        return PairedMicroF1() if sums is None else PairedMicroF1.from_sums(sums)

    def _extra_state(self) -> dict[str, Any]:
        return {
            "root": int(self._root),
            "alt": np.array(self._alt, dtype=np.int64),
            "bg": np.array(self._bg, dtype=bool),
            "hl_sum": np.array(self._hl_sum, dtype=np.float64),
            "hl_w": np.array(self._hl_w, dtype=np.float64),
            "post_w": np.array(self._post_w, dtype=np.float64),
            "node_w": np.array(self._node_w, dtype=np.float64),
            "alt_main_w": np.array(self._alt_main_w, dtype=np.float64),
            "ndepth": np.array(self._ndepth, dtype=np.int64),
            "adwin": list(self._adwin),  # River detectors: signed pickles
            "free": np.array(self._free, dtype=np.int64),
            "rng": self._rng.bit_generator.state,
            "pois": self._pois.astype(np.int64),
            "pois_pos": int(self._pois_pos),
            "events": [dict(e) for e in self.events],
            "n_learned": int(self._n_learned),
        }

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self._root = int(state["root"])
        self._alt = [int(v) for v in state["alt"]]
        self._bg = [bool(v) for v in state["bg"]]
        self._hl_sum = [float(v) for v in state["hl_sum"]]
        self._hl_w = [float(v) for v in state["hl_w"]]
        self._post_w = [float(v) for v in state["post_w"]]
        self._node_w = [float(v) for v in state["node_w"]]
        self._alt_main_w = [float(v) for v in state["alt_main_w"]]
        self._ndepth = [int(v) for v in state["ndepth"]]
        self._adwin = list(state["adwin"])
        self._free = [int(v) for v in state["free"]]
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = state["rng"]
        self._pois = np.asarray(state["pois"], dtype=np.int64)
        self._pois_pos = int(state["pois_pos"])
        self.events = [dict(e) for e in state["events"]]
        self._n_learned = int(state["n_learned"])
        self._version += 1
        self._cache_x = None
        self._cache.clear()
