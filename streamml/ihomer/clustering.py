"""Online divisive-agglomerative clustering (ODAC) of label indicator streams with a Jaccard distance.

The clustering partitions the labels of a multi-label stream into disjoint groups of labels that
co-occur. It follows ODAC (Rodrigues, Gama and Pedroso, 2008) with the distance iHOMER's paper
names, ``d(a, b) = 1 - n11 / (n11 + n10 + n01)`` (one minus the Jaccard similarity of the two
labels' indicator streams).

Statistics: O(k^2) per instance
-------------------------------
Only ``n11`` (how often labels ``a`` and ``b`` are relevant together) is stored, in a dense
``(L, L)`` ``int32`` matrix whose diagonal is ``n1`` (how often each label is relevant); then
``n10 = n1(a) - n11``. An instance with ``k`` relevant labels adds 1 to the ``k x k`` block of those
labels (one fancy-indexed add), so it touches ``k^2`` cells, never ``L^2``
(:attr:`PairStats.cells_touched` counts them).

The counts are *windowed* so that the clustering follows a change in co-occurrence: there are two
matrices, the current epoch and the previous one (``window / 2`` instances each), and the statistics
are their sum (between ``window / 2`` and ``window`` of the latest instances). When an epoch ends the
older matrix is cleared and becomes the current one; only the block of labels relevant during that
epoch can be non-zero, so clearing costs ``|T|^2`` for the ``|T|`` labels seen in the epoch,
``|T|^2 / (window / 2)`` per instance amortised (counted in :attr:`PairStats.cells_cleared`).

Tests (every ``n_min`` instances)
---------------------------------
For each leaf cluster, over its labels that are relevant at least ``min_support`` times in the
window (rarer labels carry no usable co-occurrence evidence and do not drive decisions): ``d1`` (the
largest pair distance, whose pair are the *pivots*), ``d2`` (the second largest), ``d0`` (the
smallest) and the mean; ``eps = sqrt(ln(1 / confidence) / (2 n))`` with ``n`` the instances in the
window. The counts do not change during a round of tests, so the round computes the distance
matrix of the supported labels once, ``O(S^2)`` for ``S`` of them, and every test below cuts its
blocks from it (on Delicious this took a round of tests from 23 to 17 ms).

* **Split** (ODAC) when ``(d1 - d2 > eps or tau > eps)`` and
  ``(d1 - d0) * |d1 + d0 - 2 mean| > eps``: every label joins the nearer pivot (ties, and labels
  that co-occur with neither pivot, join the smaller side; labels never relevant so far wait, see
  below), then one pass moves each label to the side whose labels are closer on average (our
  addition: the pivot distances alone are noisy). A split that would leave a side smaller than the
  minimum cluster size (below) is not made.
* **Aggregate** (ODAC) a leaf's parent when ``d1(leaf) - d1(parent at its split) >
  max(eps(parent at its split), eps(leaf))``: the leaf has become more diverse than the cluster it
  came from, so that split no longer holds.
* **Merge** (our addition; see below) the two leaf clusters whose average cross distance exceeds
  the larger of their average within distances by the least, when it exceeds it by less than
  ``eps``: they are no farther apart than their own members are. Both must be *mature* (created at
  least ``window`` instances ago, so the window holds only data seen since they exist).
* **Relocate** (our addition): a label whose average distance to another leaf cluster is lower
  than to its own by more than ``max(eps, eps_label)`` moves there (``eps_label`` is the bound with
  ``n`` the label's relevant instances in the window, from which its distances are estimated) (one ODAC split decides a label's side from two
  pivots on the data seen so far; this corrects it later, and lets single labels follow a change).
  A moved label stays at least ``window`` instances before it may move again.
* **Refine** (as the reference code): a leaf smaller than the minimum cluster size (by default
  the most common labelset size seen so far) is merged with its sibling when the sibling is a leaf,
  else with the nearest leaf cluster (average linkage).

Deviations from ODAC, deliberate
--------------------------------
* Windowed global pair counts instead of per-leaf statistics accumulated since the leaf was
  created: all leaves see the same indicator streams, so one set of counts serves them all, and
  the window lets old co-occurrence fade.
* The merge test: with a Jaccard distance, unrelated labels are all near distance 1, so a leaf's
  ``d1`` can hardly exceed its parent's and ODAC's aggregate test almost never fires after a change
  in co-occurrence. Clusters whose labels start to co-occur are joined by the merge test instead,
  even when they are not siblings (the moved cluster's parent then collapses).
* :meth:`JaccardODAC.reset` (used on a global drift signal) forgets the counts and returns to one
  cluster, which the tests then re-split from post-drift data.

Labels that arrive after the first split, and labels that have never been relevant when a split
is made (a split leaves them out), are *pending* until they are first relevant: they then join the
leaf holding most of the labels relevant with them (the smallest leaf when none is), without any
restart. A label never relevant has no co-occurrence to place it by; dealt to a side of a split, it
would land in a cluster at random and, once it fires, route instances to that cluster's unit (a
deviation from ODAC, which clusters every series from the start). On Corel5k, 264 of its 374 labels
are not relevant in its first 500 instances.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> odac = JaccardODAC(n_min=100, min_cluster_size=2)
>>> _ = odac.add_labels(6)
>>> for _ in range(3000):
...     y = np.zeros(6, dtype=bool)
...     if rng.random() < 0.5: y[:3] = rng.random(3) < 0.9
...     if rng.random() < 0.5: y[3:] = rng.random(3) < 0.9
...     _ = odac.update(np.flatnonzero(y))
>>> odac.partition()
[[0, 1, 2], [3, 4, 5]]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["PairStats", "JaccardODAC", "jaccard_distance"]


def jaccard_distance(block: np.ndarray) -> np.ndarray:
    """``1 - J`` for a square block of pair counts whose diagonal holds each label's count."""
    d = block.astype(np.float64)  # a copy, reused in place for the result
    n1 = np.diagonal(d).copy()
    union = n1[:, None] + n1[None, :]
    union -= d
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(d, union, out=d)
    np.subtract(1.0, d, out=d)
    # a pair count is at most either label's count, so the union is 0 only where neither label was
    # relevant in the window: distance 1 (a pass over those labels, not over every cell)
    never = np.flatnonzero(n1 == 0)
    if never.shape[0]:
        d[np.ix_(never, never)] = 1.0
    return d


def _cross_distance(cross: np.ndarray, n1a: np.ndarray, n1b: np.ndarray) -> np.ndarray:
    union = n1a[:, None] + n1b[None, :] - cross
    with np.errstate(divide="ignore", invalid="ignore"):
        j = np.where(union > 0, cross / np.where(union > 0, union, 1.0), 0.0)
    return 1.0 - j


class PairStats:
    """Windowed label co-occurrence counts: ``n11`` per pair, ``n1`` on the diagonal.

    Two epochs of ``epoch`` instances each; see the module docstring for the costs.
    """

    def __init__(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.n_labels = 0
        self._mats = [np.zeros((0, 0), np.int32), np.zeros((0, 0), np.int32)]  # current, previous
        self._seen = [np.zeros(0, bool), np.zeros(0, bool)]
        self.n = [0, 0]
        #: Cells written by :meth:`update` (k^2 for k relevant labels), for tests and profiling.
        self.cells_touched = 0
        #: Cells zeroed when an epoch is recycled.
        self.cells_cleared = 0

    @property
    def capacity(self) -> int:
        return self._mats[0].shape[0]

    @property
    def window_n(self) -> int:
        """Instances in the window."""
        return self.n[0] + self.n[1]

    def grow(self, n_labels: int) -> None:
        """Make room for ``n_labels`` labels (capacity doubles, so growth is amortised)."""
        if n_labels > self.capacity:
            cap = max(n_labels, 2 * self.capacity, 8)
            for i in range(2):
                m = np.zeros((cap, cap), np.int32)
                old = self._mats[i].shape[0]
                m[:old, :old] = self._mats[i]
                self._mats[i] = m
                s = np.zeros(cap, bool)
                s[:old] = self._seen[i]
                self._seen[i] = s
        self.n_labels = max(self.n_labels, n_labels)

    def update(self, pos: np.ndarray) -> None:
        """Count one instance whose relevant labels are ``pos`` (unique indices)."""
        k = pos.shape[0]
        if k:
            cur = self._mats[0]
            if k == 1:
                cur[pos[0], pos[0]] += 1
            else:  # the k x k block through flat indices of a raveled view: twice as fast as .flat, three times np.ix_
                cells = cur.view()
                cells.shape = (-1,)  # raises rather than copy: the counts must be written in place
                cells[((pos * cur.shape[0])[:, None] + pos).reshape(-1)] += 1
            self._seen[0][pos] = True
            self.cells_touched += k * k
        self.n[0] += 1
        if self.n[0] >= self.epoch:
            self._rotate()

    def _rotate(self) -> None:
        old = np.flatnonzero(self._seen[1])
        if old.shape[0]:
            self._mats[1][np.ix_(old, old)] = 0
            self.cells_cleared += old.shape[0] ** 2
            self._seen[1][old] = False
        self._mats.reverse()
        self._seen.reverse()
        self.n = [0, self.n[0]]

    def forget(self) -> None:
        """Drop every count (both epochs)."""
        for _ in range(2):
            self.n[0] = self.epoch  # force a rotation that clears the previous epoch
            self._rotate()
        self.n = [0, 0]

    def n1(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Relevance counts in the window (all labels, or ``idx``)."""
        a, b = self._mats
        L = self.n_labels
        d = np.diagonal(a)[:L].astype(np.int64) + np.diagonal(b)[:L]
        return d if idx is None else d[idx]

    def block(self, rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """Window counts ``n11`` for ``rows x cols`` (``rows x rows`` by default), as int64."""
        rows = np.asarray(rows, dtype=np.intp)
        cols = rows if cols is None else np.asarray(cols, dtype=np.intp)

        cur, prev = self._mats
        # the two epochs added after the first gather, so that the slower second one is made once; the
        # shorter index first: fewer cells copied (counts stay far below the int32 range: at most the window)
        if cols.shape[0] < rows.shape[0]:
            out = np.add(cur.take(cols, axis=1), prev.take(cols, axis=1)).take(rows, axis=0)
        else:
            out = np.add(cur.take(rows, axis=0), prev.take(rows, axis=0)).take(cols, axis=1)
        return out.astype(np.int64)

    def get_state(self) -> dict[str, Any]:
        L = self.n_labels
        return {
            "epoch": self.epoch,
            "n_labels": L,
            "current": self._mats[0][:L, :L].copy(),
            "previous": self._mats[1][:L, :L].copy(),
            "seen_current": self._seen[0][:L].copy(),
            "seen_previous": self._seen[1][:L].copy(),
            "n": list(self.n),
            "cells_touched": int(self.cells_touched),
            "cells_cleared": int(self.cells_cleared),
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> PairStats:
        st = cls(int(s["epoch"]))
        L = int(s["n_labels"])
        st.grow(L)
        st._mats[0][:L, :L] = s["current"]
        st._mats[1][:L, :L] = s["previous"]
        st._seen[0][:L] = s["seen_current"]
        st._seen[1][:L] = s["seen_previous"]
        st.n = [int(v) for v in s["n"]]
        st.cells_touched = int(s["cells_touched"])
        st.cells_cleared = int(s["cells_cleared"])
        return st


class JaccardODAC:
    """Online label clustering: ODAC's tree of clusters over a windowed Jaccard distance.

    Parameters
    ----------
    confidence
        ODAC's confidence in the Hoeffding bound ``eps = sqrt(ln(1/confidence) / (2 n))`` (0.9).
    n_min
        Instances between two rounds of tests (100).
    tau
        ODAC's tie threshold (0.1).
    window
        Instances over which co-occurrence is counted (two epochs of ``window // 2``).
    min_support
        A label needs this many relevant instances in the window to take part in the tests.
    min_cluster_size
        Smallest cluster a split may create (and below which refinement merges); ``None``: the most
        common labelset size seen so far, as iHOMER's reference code does.
    merge
        Run the merge test (see the module docstring).
    max_clusters
        Upper bound on the number of leaf clusters (``None``: none).
    relocate
        Run the relocation test (see the module docstring).
    cardinality_factor
        With ``min_cluster_size=None``, the floor is also at least this multiple of the mean size of
        the non-empty labelsets seen so far (0: the most common labelset size alone, as the reference
        code does).
    """

    def __init__(
        self,
        confidence: float = 0.9,
        n_min: int = 100,
        tau: float = 0.1,
        window: int = 2000,
        min_support: int = 5,
        min_cluster_size: int | None = None,
        merge: bool = True,
        max_clusters: int | None = None,
        relocate: bool = True,
        cardinality_factor: float = 0.0,
    ) -> None:
        self.confidence = confidence
        self.n_min = int(n_min)
        self.tau = tau
        self.window = int(window)
        self.min_support = int(min_support)
        self.min_cluster_size = min_cluster_size
        self.merge = merge
        self.max_clusters = max_clusters
        self.relocate = relocate
        self.cardinality_factor = cardinality_factor
        self.stats = PairStats(max(1, self.window // 2))
        self.n_labels = 0
        self.n_seen = 0
        # Cluster tree: parallel lists indexed by node id; internal nodes have two children.
        self._labels: list[list[int]] = []  # labels of leaves (empty for internal nodes)
        self._parent: list[int] = []
        self._children: list[list[int]] = []
        self._alive: list[bool] = []
        self._created: list[int] = []
        self._split_d1: list[float] = []
        self._split_eps: list[float] = []
        self._root = -1
        self._pending: list[int] = []
        self._ever = np.zeros(0, bool)  # whether each label has been relevant at least once
        self._moved: dict[int, int] = {}
        self._size_counts = np.zeros(1, np.int64)
        self._round: tuple[np.ndarray, np.ndarray] | None = None
        self.version = 0
        #: Every structural change, ``{"n": instance, "kind": ..., ...}``.
        self.events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ tree
    def _new_node(self, labels: list[int], parent: int) -> int:
        self._labels.append(sorted(labels))
        self._parent.append(parent)
        self._children.append([])
        self._alive.append(True)
        self._created.append(self.n_seen)
        self._split_d1.append(float("nan"))
        self._split_eps.append(float("nan"))
        return len(self._labels) - 1

    def leaves(self) -> list[int]:
        """Ids of the leaf clusters, in id order."""
        return [i for i, a in enumerate(self._alive) if a and not self._children[i]]

    def labels_of(self, node: int) -> list[int]:
        """Sorted labels under ``node``."""
        if not self._children[node]:
            return list(self._labels[node])
        out: list[int] = []
        for c in self._children[node]:
            out.extend(self.labels_of(c))
        return sorted(out)

    def partition(self) -> list[list[int]]:
        """The leaf clusters' label lists, ordered by their smallest label."""
        return sorted((self._labels[i] for i in self.leaves() if self._labels[i]), key=lambda c: c[0])

    def tree(self) -> Any:
        """The cluster tree as nested ``(labels, [children])`` tuples (``None`` before any label)."""
        if self._root < 0:
            return None

        def rec(i: int) -> Any:
            return (self.labels_of(i), [rec(c) for c in self._children[i]])

        return rec(self._root)

    def leaf_of(self) -> np.ndarray:
        """The leaf cluster id of every label (-1 while pending)."""
        out = np.full(self.n_labels, -1, np.int64)
        for i in self.leaves():
            out[self._labels[i]] = i
        return out

    @property
    def pending(self) -> list[int]:
        """Labels not placed in a cluster yet (not relevant before the split that left them out, or added
        after the first split, and not relevant since)."""
        return list(self._pending)

    def cluster_size_floor(self) -> int:
        if self.min_cluster_size is not None:
            return int(self.min_cluster_size)
        counts = self._size_counts[1:]
        total = counts.sum()
        if total == 0:
            return 1
        mode = int(np.argmax(counts) + 1)
        if self.cardinality_factor <= 0:
            return mode
        mean = float(counts @ np.arange(1, counts.shape[0] + 1)) / float(total)
        return max(mode, int(np.ceil(self.cardinality_factor * mean)))

    # ---------------------------------------------------------------- labels
    def add_labels(self, n_new: int) -> list[int]:
        """Add ``n_new`` labels. Before the first split they join the root; later they are pending."""
        start = self.n_labels
        self.n_labels += n_new
        self.stats.grow(self.n_labels)
        self._ever = np.concatenate([self._ever, np.zeros(n_new, bool)])
        new = list(range(start, self.n_labels))
        if self._root < 0:
            self._root = self._new_node(new, -1)
        elif not self._children[self._root]:
            self._labels[self._root] = sorted(self._labels[self._root] + new)
        else:
            self._pending.extend(new)
            return []
        return new

    def _place(self, pos: np.ndarray) -> list[tuple[int, int]]:
        placed = []
        pending = set(self._pending)
        fresh = [int(p) for p in pos if int(p) in pending]
        if not fresh:
            return placed
        leaf_of = self.leaf_of()
        known = [int(p) for p in pos if leaf_of[p] >= 0]
        if known:
            ids, counts = np.unique(leaf_of[known], return_counts=True)
            target = int(ids[np.argmax(counts)])
        else:
            target = min(self.leaves(), key=lambda i: (len(self._labels[i]), i))
        for lab in fresh:
            self._pending.remove(lab)
            self._labels[target] = sorted(self._labels[target] + [lab])
            placed.append((lab, target))
            self.events.append({"n": self.n_seen, "kind": "label_placed", "label": lab, "cluster": self._labels[target]})
        return placed

    # ---------------------------------------------------------------- update
    def update(self, pos: np.ndarray) -> tuple[list[tuple[int, int]], bool]:
        """Observe one instance with relevant labels ``pos`` (sorted unique indices).

        Returns ``(placed, changed)``: the ``(label, cluster)`` placements of pending labels, and
        whether the partition changed in a way that needs a new hierarchy.
        """
        pos = np.asarray(pos, dtype=np.intp)
        self.n_seen += 1
        placed = self._place(pos) if self._pending and pos.shape[0] else []
        self._ever[pos] = True
        self.stats.update(pos)
        k = pos.shape[0]
        if k >= self._size_counts.shape[0]:
            self._size_counts = np.concatenate([self._size_counts, np.zeros(k + 1 - self._size_counts.shape[0], np.int64)])
        self._size_counts[k] += 1
        changed = False
        if self.n_seen % self.n_min == 0 and self.n_labels > 1:
            changed = self._check()
        return placed, changed

    def reset(self) -> None:
        """Forget the counts and go back to one cluster of every placed label (global drift)."""
        labels = sorted(self.labels_of(self._root)) if self._root >= 0 else []
        self.stats.forget()
        if self._root >= 0 and self._children[self._root]:
            for i in range(len(self._alive)):
                self._alive[i] = False
            self._root = self._new_node(labels, -1)
            self.version += 1
        self._log({"n": self.n_seen, "kind": "reset"})

    def _log(self, event: dict[str, Any]) -> None:
        event["n_clusters"] = len(self.leaves())
        self.events.append(event)

    # ----------------------------------------------------------------- tests
    def _eps(self) -> float:
        n = max(self.stats.window_n, 1)
        return math.sqrt(math.log(1.0 / self.confidence) / (2.0 * n))

    def _distances(self, labels: np.ndarray) -> np.ndarray:
        """Jaccard distances among ``labels`` (all supported), cut from the round's matrix.

        The split, merge and relocation tests all ask for blocks of the same matrix; it is computed
        once per round (see the module docstring).
        """
        if self._round is None:
            support = self.stats.n1()
            supported = np.flatnonzero(support >= self.min_support)
            row = np.full(self.n_labels, -1, np.intp)
            row[supported] = np.arange(supported.shape[0])
            self._round = (jaccard_distance(self.stats.block(supported)), row)
        D, row = self._round
        r = row[labels]
        return D.take(r, axis=0).take(r, axis=1)

    def _diameters(self, labels: np.ndarray) -> dict[str, Any] | None:
        if labels.shape[0] < 2:
            return None
        D = self._distances(labels)
        iu = np.triu_indices(labels.shape[0], 1)
        vals = D[iu]
        top = int(vals.argmax())  # the first largest, as a stable sort on -vals would give
        if vals.shape[0] > 1:
            rest = vals.copy()
            rest[top] = -np.inf
            d2 = float(rest.max())
        else:
            d2 = float(vals[top])
        return {
            "D": D,
            "d1": float(vals[top]),
            "d2": d2,
            "d0": float(vals.min()),
            "mean": float(vals.mean()),
            "pivots": (int(iu[0][top]), int(iu[1][top])),
        }

    def _supported(self, labels: list[int], support: np.ndarray) -> np.ndarray:
        arr = np.asarray(labels, dtype=np.intp)
        return arr[support[arr] >= self.min_support] if arr.shape[0] else arr

    def _check(self) -> bool:
        try:
            return self._run_tests()
        finally:
            self._round = None  # the round's distance matrix is not kept between rounds

    def _run_tests(self) -> bool:
        support = self.stats.n1()
        eps = self._eps()
        floor = self.cluster_size_floor()
        changed = False
        for leaf in self.leaves():
            if not (self._alive[leaf] and not self._children[leaf]):
                continue
            if self.n_seen - self._created[leaf] < self.n_min:
                continue
            sup = self._supported(self._labels[leaf], support)
            st = self._diameters(sup)
            if st is None:
                continue
            parent = self._parent[leaf]
            if parent >= 0 and not math.isnan(self._split_d1[parent]):
                if st["d1"] - self._split_d1[parent] > max(self._split_eps[parent], eps):
                    self._aggregate(parent, "aggregate", d1=st["d1"], parent_d1=self._split_d1[parent], eps=eps)
                    changed = True
                    continue
            if self.max_clusters is not None and len(self.leaves()) >= self.max_clusters:
                continue
            d1, d2, d0, mean = st["d1"], st["d2"], st["d0"], st["mean"]
            if (d1 - d2 > eps or self.tau > eps) and (d1 - d0) * abs(d1 + d0 - 2.0 * mean) > eps:
                if self._split(leaf, sup, st, eps, floor):
                    changed = True
        if self.merge and self._merge_test(support, eps):
            changed = True
        if self.relocate and self._relocate(support, eps, floor):
            changed = True
        if self._refine(support, floor):
            changed = True
        if changed:
            self.version += 1
        return changed

    def _split(self, leaf: int, sup: np.ndarray, st: dict[str, Any], eps: float, floor: int) -> bool:
        if len(self._labels[leaf]) < 2 * floor:
            return False  # one side would be below the floor, whatever the sides (most attempts on Delicious)
        labels = np.asarray(self._labels[leaf], dtype=np.intp)
        seen = self._ever[labels]
        unseen, labels = labels[~seen], labels[seen]
        a, b = sup[st["pivots"][0]], sup[st["pivots"][1]]
        piv = np.array([a, b], dtype=np.intp)
        cross = self.stats.block(labels, piv)
        n1 = self.stats.n1(labels)
        n1p = self.stats.n1(piv)
        D = _cross_distance(cross.astype(np.float64), n1.astype(np.float64), n1p.astype(np.float64))
        to_a = D[:, 0] < D[:, 1]
        to_b = D[:, 1] < D[:, 0]
        ties = ~(to_a | to_b)
        to_a[labels == a], to_b[labels == a] = True, False
        to_b[labels == b], to_a[labels == b] = True, False
        ties[(labels == a) | (labels == b)] = False
        side_a = labels[to_a].tolist()
        side_b = labels[to_b].tolist()
        for lab in labels[ties].tolist():  # no evidence either way: the smaller side
            (side_a if len(side_a) <= len(side_b) else side_b).append(lab)
        side_a, side_b = self._reassign(sup, st["D"], side_a, side_b, a, b)
        if len(side_a) < floor or len(side_b) < floor:
            return False
        self._labels[leaf] = []
        self._pending.extend(unseen.tolist())
        kids = [self._new_node(side_a, leaf), self._new_node(side_b, leaf)]
        self._children[leaf] = kids
        self._split_d1[leaf] = st["d1"]
        self._split_eps[leaf] = eps
        self._log({
            "n": self.n_seen, "kind": "split", "labels": sorted(labels.tolist()),
            "into": [sorted(side_a), sorted(side_b)], "d1": st["d1"], "d2": st["d2"], "d0": st["d0"],
            "mean": st["mean"], "eps": eps,
        })
        return True

    @staticmethod
    def _reassign(sup: np.ndarray, D: np.ndarray, side_a: list[int], side_b: list[int], a: int, b: int) -> tuple[list[int], list[int]]:
        """One pass moving each supported label (not a pivot) to the side it is closer to on average.

        The pivot assignment alone hangs on two labels' noisy distances; the average over each
        side's supported labels is steadier (a deviation from ODAC).
        """
        where = {int(lab): i for i, lab in enumerate(sup.tolist())}
        in_a = set(side_a)
        ia = [where[v] for v in side_a if v in where]
        ib = [where[v] for v in side_b if v in where]
        if not ia or not ib:
            return side_a, side_b
        ma = D[:, ia].mean(axis=1)
        mb = D[:, ib].mean(axis=1)
        new_a, new_b = [], []
        for lab in side_a + side_b:
            i = where.get(lab)
            if lab in (a, b) or i is None:
                (new_a if lab in in_a else new_b).append(lab)
            elif ma[i] < mb[i]:
                new_a.append(lab)
            elif mb[i] < ma[i]:
                new_b.append(lab)
            else:
                (new_a if lab in in_a else new_b).append(lab)
        return new_a, new_b

    def _aggregate(self, node: int, kind: str, **info: Any) -> None:
        labels = self.labels_of(node)

        def kill(i: int) -> None:
            for c in self._children[i]:
                self._alive[c] = False
                kill(c)

        kill(node)
        self._children[node] = []
        self._labels[node] = labels
        self._created[node] = self.n_seen
        self._split_d1[node] = float("nan")
        self._split_eps[node] = float("nan")
        self._log({"n": self.n_seen, "kind": kind, "labels": labels, **info})

    def _absorb(self, target: int, victim: int, kind: str, **info: Any) -> None:
        """Move leaf ``victim``'s labels into leaf ``target``; ``victim``'s parent collapses."""
        if self._parent[victim] == self._parent[target] and self._parent[victim] >= 0:
            self._aggregate(self._parent[victim], kind, **info)
            return
        moved = self._labels[victim]
        self._labels[target] = sorted(self._labels[target] + moved)
        self._created[target] = self.n_seen
        self._alive[victim] = False
        parent = self._parent[victim]
        sibling = [c for c in self._children[parent] if c != victim][0]
        grand = self._parent[parent]
        self._alive[parent] = False
        self._parent[sibling] = grand
        if grand < 0:
            self._root = sibling
        else:
            self._children[grand] = [sibling if c == parent else c for c in self._children[grand]]
        self._log({"n": self.n_seen, "kind": kind, "labels": sorted(self._labels[target]), "moved": moved, **info})

    def _linkage(self, leaves: list[int], support: np.ndarray, supported_only: bool) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Per leaf its (supported) labels, the within mean distance, and the cross mean matrix."""
        sets = [self._supported(self._labels[i], support) if supported_only else np.asarray(self._labels[i], np.intp) for i in leaves]
        allidx = np.concatenate(sets) if sets else np.zeros(0, np.intp)
        within = np.full(len(leaves), np.nan)
        cross = np.full((len(leaves), len(leaves)), np.nan)
        if allidx.shape[0] == 0:
            return sets, within, cross
        D = self._distances(allidx) if supported_only else jaccard_distance(self.stats.block(allidx))
        bounds = np.concatenate([[0], np.cumsum([s.shape[0] for s in sets])])
        for i in range(len(leaves)):
            a0, a1 = bounds[i], bounds[i + 1]
            m = a1 - a0
            if m >= 2:
                within[i] = D[a0:a1, a0:a1][np.triu_indices(m, 1)].mean()
            for j in range(i + 1, len(leaves)):
                b0, b1 = bounds[j], bounds[j + 1]
                if m and b1 > b0:
                    cross[i, j] = cross[j, i] = D[a0:a1, b0:b1].mean()
        return sets, within, cross

    def _merge_test(self, support: np.ndarray, eps: float) -> bool:
        mature = [i for i in self.leaves() if self.n_seen - self._created[i] >= self.window]
        if len(mature) < 2:
            return False
        _, within, cross = self._linkage(mature, support, supported_only=True)
        best, pair = None, None
        for i in range(len(mature)):
            for j in range(i + 1, len(mature)):
                if np.isnan(within[i]) or np.isnan(within[j]) or np.isnan(cross[i, j]):
                    continue
                gap = cross[i, j] - max(within[i], within[j])
                if gap < eps and (best is None or gap < best):
                    best, pair = gap, (i, j)
        if pair is None:
            return False
        i, j = pair
        a, b = mature[i], mature[j]
        target, victim = (a, b) if len(self._labels[a]) >= len(self._labels[b]) else (b, a)
        self._absorb(target, victim, "merge", gap=float(best), eps=eps)
        return True

    def _relocate(self, support: np.ndarray, eps: float, floor: int) -> bool:
        """Move each label whose average distance to another leaf is lower by more than ``eps``."""
        leaves = self.leaves()
        if len(leaves) < 2:
            return False
        sets = [self._supported(self._labels[i], support) for i in leaves]
        allidx = np.concatenate(sets)
        if allidx.shape[0] < 3:
            return False
        D = self._distances(allidx)
        owner = np.concatenate([np.full(s.shape[0], j) for j, s in enumerate(sets)])
        onehot = np.zeros((allidx.shape[0], len(leaves)))
        onehot[np.arange(allidx.shape[0]), owner] = 1.0
        sums = D @ onehot  # (labels, leaves): summed distance to each leaf's supported labels
        counts = onehot.sum(axis=0)[None, :] - onehot  # a label does not count itself
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.inf)
        own = mean[np.arange(allidx.shape[0]), owner]
        mean[np.arange(allidx.shape[0]), owner] = np.inf
        best = mean.argmin(axis=1)
        gap = own - mean[np.arange(allidx.shape[0]), best]
        # a label's distances are estimated from the instances where it is relevant: its own bound
        label_eps = np.sqrt(math.log(1.0 / self.confidence) / (2.0 * np.maximum(support[allidx], 1)))
        moved = False
        for i in np.argsort(-(gap - label_eps), kind="stable"):
            if not gap[i] > max(eps, label_eps[i]):
                break
            src, dst = leaves[owner[i]], leaves[best[i]]
            lab = int(allidx[i])
            if len(self._labels[src]) <= max(floor, 1) or self.n_seen - self._moved.get(lab, -self.window) < self.window:
                continue  # keep clusters at the floor; a moved label waits a window before moving again
            self._moved[lab] = self.n_seen
            self._labels[src] = [v for v in self._labels[src] if v != lab]
            self._labels[dst] = sorted(self._labels[dst] + [lab])
            self._log({"n": self.n_seen, "kind": "relocate", "label": lab, "to": list(self._labels[dst]), "gap": float(gap[i]),
                       "eps": max(eps, float(label_eps[i]))})
            moved = True
        return moved

    def _refine(self, support: np.ndarray, floor: int) -> bool:
        changed = False
        while True:
            leaves = self.leaves()
            if len(leaves) < 2:
                return changed
            small = [i for i in leaves if len(self._labels[i]) < floor]
            if not small:
                return changed
            victim = small[0]
            parent = self._parent[victim]
            sib = [c for c in self._children[parent] if c != victim] if parent >= 0 else []
            if sib and not self._children[sib[0]]:
                self._aggregate(parent, "refine", size=len(self._labels[victim]), floor=floor)
            else:
                _, _, cross = self._linkage(leaves, support, supported_only=False)
                v = leaves.index(victim)
                row = np.where(np.isnan(cross[v]), np.inf, cross[v])
                row[v] = np.inf
                target = leaves[int(np.argmin(row))]
                self._absorb(target, victim, "refine", size=len(self._labels[victim]), floor=floor)
            changed = True

    # ------------------------------------------------------------- persistence
    def get_state(self) -> dict[str, Any]:
        return {
            "stats": self.stats.get_state(),
            "n_labels": self.n_labels,
            "n_seen": self.n_seen,
            "labels": [list(v) for v in self._labels],
            "parent": list(self._parent),
            "children": [list(v) for v in self._children],
            "alive": list(self._alive),
            "created": list(self._created),
            "split_d1": list(self._split_d1),
            "split_eps": list(self._split_eps),
            "root": self._root,
            "pending": list(self._pending),
            "ever": self._ever,
            "moved": {str(k): v for k, v in self._moved.items()},
            "size_counts": self._size_counts,
            "version": self.version,
            "events": self.events,
        }

    def set_state(self, s: dict[str, Any]) -> None:
        self.stats = PairStats.from_state(s["stats"])
        self.n_labels = int(s["n_labels"])
        self.n_seen = int(s["n_seen"])
        self._labels = [[int(v) for v in a] for a in s["labels"]]
        self._parent = [int(v) for v in s["parent"]]
        self._children = [[int(v) for v in a] for a in s["children"]]
        self._alive = [bool(v) for v in s["alive"]]
        self._created = [int(v) for v in s["created"]]
        self._split_d1 = [float(v) for v in s["split_d1"]]
        self._split_eps = [float(v) for v in s["split_eps"]]
        self._root = int(s["root"])
        self._pending = [int(v) for v in s["pending"]]
        self._ever = np.asarray(s["ever"], dtype=bool) if "ever" in s else self.stats.n1() > 0
        self._moved = {int(k): int(v) for k, v in s["moved"].items()}
        self._size_counts = np.asarray(s["size_counts"], dtype=np.int64)
        self.version = int(s["version"])
        self.events = list(s["events"])
