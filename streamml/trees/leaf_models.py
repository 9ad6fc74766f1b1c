"""Vectorised leaf models of MLHAT: label-combination kNN and bagged binary-relevance logistic regression.

Both models work on an :class:`Instance`, a row already reduced to its non-zero features, so that a
dense row and its :class:`~streamml.schema.SparseRow` form give bit-identical results.

:class:`LabelCombinationKNN`
    A sliding window of the last ``window`` instances (features and label vectors) in a ring
    buffer. The ``k`` nearest instances by Euclidean distance vote for their labelsets with weight
    ``1 / distance``; the per-label probability is the vote-weighted fraction of neighbours where the
    label is relevant (the label marginals of the label-combination posterior). When the nearest
    instance is at distance 0, its labelset gets probability 1. Ties in distance go to the older
    instance. Two storage layouts give the same distances (up to rounding):

    * *dense* (``n_features <= dense_max_features``): the window is a ``(window, d)`` array and the
      distances are ``sum((W - x)^2)`` in one NumPy operation;
    * *sparse* (more features, or a first stored row with under a quarter of its features
      non-zero, as in Corel5k's 8 of 499 or Delicious' 19 of 500): the window's non-zero entries
      ``(slot, feature, value)`` are kept in insertion order in one queue (the oldest row's entries
      leave at the front, a new row's join at the back), and the squared distance is
      ``|w|^2 + |x|^2 - 2 w.x`` with all the ``w.x`` summed per slot in one ``bincount`` over the
      queue, gathering ``x`` from its dense copy. It costs ``O(window non-zeros)``, not
      ``O(window * d)`` (Bibtex: ~70 stored values against 1,836 features), and not ``O(window *
      widest row)`` either (Delicious: 18 non-zeros on average, 335 at most). The norms are summed
      in the same sequential order as the dot products, so an exact duplicate still has distance
      exactly 0; other distances may differ from the dense ones by rounding.

    :meth:`LabelCombinationKNN.defer` stores a row later, the next time the window is read: a leaf
    that has settled on its regressions (MLHAT's ``selection_delta``) seldom or never queries its kNN
    again, and storing a row costs about as much as a regression step on a small label set. Only the
    last ``window`` deferred rows are kept (the older ones would be evicted anyway), and the window
    they give is the one storing them at once would have given, slot for slot.

:class:`BaggedLogistic`
    Online bagging of ``n_models`` SGD logistic regressions for every label (binary relevance),
    held as one ``(d, n_models, L)`` weight tensor and ``(n_models, L)`` intercepts. Learning draws a
    Poisson(1) count ``k_m`` per member (shared by all labels, as in the reference where every
    label's bagging ensemble is a copy with the same random state) and takes one SGD step on the log
    loss with gradient ``w * k_m * (sigmoid(z) - y)``: ``W[j] -= lr * x_j * g`` for the non-zero
    features ``j`` only, ``b -= intercept_lr * g``. The reference (River's ``BaggingClassifier``)
    instead calls ``learn_one`` ``k_m`` times in a row; ``update="repeated"`` does that (one
    vectorised step per repetition, over the members still repeating). The probability is the mean
    of the members' sigmoids. Weight rows are allocated zeroed (lazily backed by the OS) so rows of
    features never seen cost no resident memory. For a sparse row the weight rows of its non-zero
    features are gathered once (:meth:`BaggedLogistic.gather`) and shared by the prediction and the
    step that follows it (on Delicious' 983 labels a gather copies about 1.5 MB).
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from streamml.base import sigmoid
from streamml.schema import Row, SparseRow, is_frozen

__all__ = ["Instance", "LabelCombinationKNN", "BaggedLogistic"]


class Instance:
    """A row reduced to its non-zero, non-missing features (NaN counts as 0 for the leaf models).

    :meth:`of` reuses the reduction of the last read-only row (:func:`~streamml.schema.frozen_row`),
    so that the many units of a model that share one row reduce it once.

    >>> inst = Instance(np.array([0.0, 2.0, np.nan, 1.0]), 4)
    >>> inst.idx.tolist(), inst.vals.tolist(), inst.full, inst.dense.tolist()
    ([1, 3], [2.0, 1.0], False, [0.0, 2.0, 0.0, 1.0])
    >>> Instance(SparseRow(np.array([0, 5]), np.array([3.0, 1.0]), 6), 4).idx.tolist()  # beyond d: dropped
    [0]
    """

    __slots__ = ("d", "idx", "vals", "full", "_dense")

    _last: tuple[Any, int, Any] = (None, -1, None)  # (read-only row, d, its Instance)

    @classmethod
    def of(cls, x: Row, d: int) -> Instance:
        """``Instance(x, d)``, shared with the previous call for the same read-only row."""
        last = cls._last
        if last[0] is x and last[1] == d:
            return last[2]
        inst = cls(x, d)
        if is_frozen(x):
            cls._last = (x, d, inst)
        return inst

    def __init__(self, x: Row, d: int) -> None:
        self.d = d
        if isinstance(x, SparseRow):
            vals = x.values
            idx = x.indices
            keep = vals != 0
            keep &= ~np.isnan(vals)
            if not keep.all():
                idx, vals = idx[keep], vals[keep]
            keep = idx < d
            if not keep.all():
                idx, vals = idx[keep], vals[keep]
            self.idx = idx.astype(np.intp, copy=False)
            self.vals = vals.astype(np.float64, copy=False)
            self._dense = None
        else:
            xd = x[:d] if x.shape[0] > d else x
            if xd.shape[0] < d:
                xd = np.concatenate([xd, np.zeros(d - xd.shape[0])])
            if np.isnan(xd.sum()):
                xd = np.nan_to_num(xd, nan=0.0)
            self.idx = np.flatnonzero(xd)
            self.vals = xd[self.idx]
            self._dense = xd
        self.full = self.idx.shape[0] == d

    @property
    def dense(self) -> np.ndarray:
        """The row as a dense vector of length ``d`` (NaN replaced by 0)."""
        if self._dense is None:
            xd = np.zeros(self.d)
            xd[self.idx] = self.vals
            self._dense = xd
        return self._dense


def _sequential_sum(a: np.ndarray) -> float:
    """``sum(a)`` accumulated left to right, as ``bincount`` accumulates (``ndarray.sum`` is pairwise)."""
    if a.shape[0] == 0:
        return 0.0
    return float(np.bincount(np.zeros(a.shape[0], dtype=np.intp), weights=a, minlength=1)[0])


class LabelCombinationKNN:
    """Label-combination kNN over a sliding window (see the module docstring).

    The query ``(0, 1)`` is at distance 1 from ``(0, 0)`` and ``sqrt(2)`` from ``(1, 0)``: with
    ``k=2`` they vote with weights 1 and ``1/sqrt(2)``, so label 0 gets ``1 / (1 + 1/sqrt(2))``. A
    stored copy of the query decides alone, and a full window forgets its oldest row:

    >>> knn = LabelCombinationKNN(n_features=2, n_labels=2, k=2, window=3)
    >>> for x, y in [([0.0, 0.0], [1, 0]), ([1.0, 0.0], [0, 1]), ([5.0, 5.0], [1, 1])]:
    ...     knn.learn(Instance(np.array(x), 2), np.array(y, dtype=bool))
    >>> knn.proba(Instance(np.array([0.0, 1.0]), 2)).round(4).tolist()
    [0.5858, 0.4142]
    >>> knn.proba(Instance(np.array([1.0, 0.0]), 2)).tolist()
    [0.0, 1.0]
    >>> knn.learn(Instance(np.array([9.0, 9.0]), 2), np.array([False, False]))  # evicts (0, 0)
    >>> knn.proba(Instance(np.array([0.0, 1.0]), 2)).round(4).tolist()  # (1, 0) at sqrt(2), (5, 5) at sqrt(41)
    [0.1809, 1.0]
    """

    __slots__ = ("k", "size", "dense", "X", "e_slot", "e_idx", "e_val", "e0", "e1", "row_len", "norm", "Y",
                 "count", "head", "d", "deferred", "n_deferred")  # fmt: skip

    def __init__(self, n_features: int, n_labels: int, k: int = 4, window: int = 170, dense_max_features: int = 512) -> None:
        self.k = k
        self.size = window
        self.d = n_features
        self.dense = n_features <= dense_max_features
        self.X = np.zeros((window, n_features)) if self.dense else np.zeros((0, 0))
        self._empty_queue()
        self.norm = np.zeros(window)
        self.Y = np.zeros((window, n_labels), dtype=bool)
        self.count = 0  # instances stored (<= window)
        self.head = 0  # slot of the next write (= the oldest when full)
        self.deferred: collections.deque = collections.deque(maxlen=window)  # rows for _store
        self.n_deferred = 0  # rows deferred since the last store (may exceed what the deque keeps)

    # --------------------------------------------------------------- learning
    def learn(self, inst: Instance, y: np.ndarray) -> None:
        if self.n_deferred:
            self._store_deferred()
        if self.count == 0 and self.dense and 4 * inst.idx.shape[0] < self.d:
            # the layout follows the data: sparse rows are cheaper to compare in the sparse layout
            self.dense = False
            self.X = np.zeros((0, 0))
        self._store(*((inst.dense,) if self.dense else (inst.idx, inst.vals)), y)

    def defer(self, inst: Instance, y: np.ndarray) -> None:
        """:meth:`learn`, done when the window is next read (see the module docstring)."""
        if self.count == 0 and not self.n_deferred:
            self.learn(inst, y)  # the first row also chooses the layout
            return
        # the row is read later: keep copies of arrays the caller may still change
        row = (inst.dense,) if self.dense else (inst.idx, inst.vals)
        row = tuple(a.copy() if a.flags.writeable else a for a in (*row, y))
        self.deferred.append(row)
        self.n_deferred += 1

    def _store_deferred(self) -> None:
        rows, n = self.deferred, self.n_deferred
        self.deferred, self.n_deferred = collections.deque(maxlen=self.size), 0
        if n > len(rows):
            # the kept rows overwrite every slot: start them from an empty window, the first kept
            # row in the slot it would have been written to
            self.head = (self.head + n - len(rows)) % self.size
            self.count = 0
            if not self.dense:
                self._empty_queue()
        for row in rows:
            self._store(*row)

    def _store(self, *row: np.ndarray) -> None:
        """Write ``(dense row, labels)`` or ``(indices, values, labels)``, as the layout keeps rows."""
        s = self.head
        if self.dense:
            self.X[s] = row[0]
        else:
            self._push(s, row[0], row[1])
        self.Y[s] = row[-1]
        self.head = (s + 1) % self.size
        if self.count < self.size:
            self.count += 1

    def _empty_queue(self) -> None:
        # sparse layout: live entries e0:e1 of the queue, oldest row first; row_len[s] entries per slot
        self.e_slot = np.zeros(0, dtype=np.intp)
        self.e_idx = np.zeros(0, dtype=np.intp)
        self.e_val = np.zeros(0)
        self.e0 = self.e1 = 0
        self.row_len = np.zeros(self.size, dtype=np.intp)

    def _refill(self, row_of: Any) -> None:
        """Fill the empty queue with every stored slot's ``row_of(slot) -> (indices, values)``, oldest first."""
        order, self.count = self._order(), 0
        for s in order.tolist():
            idx, vals = row_of(s)
            self._push(s, idx, vals)
            self.count += 1

    def _push(self, s: int, idx: np.ndarray, vals: np.ndarray) -> None:
        """Store a row's non-zeros in slot ``s``, evicting the row there (the oldest) when full."""
        if self.count == self.size:
            self.e0 += int(self.row_len[s])
        m = idx.shape[0]
        if self.e1 + m > self.e_idx.shape[0]:
            live = self.e1 - self.e0
            cap = max(self.e_idx.shape[0], 2 * (live + m), 64)
            for name in ("e_slot", "e_idx", "e_val"):
                old = getattr(self, name)
                new = np.zeros(cap, dtype=old.dtype)
                new[:live] = old[self.e0 : self.e1]
                setattr(self, name, new)
            self.e0, self.e1 = 0, live
        e1 = self.e1
        self.e_slot[e1 : e1 + m] = s
        self.e_idx[e1 : e1 + m] = idx
        self.e_val[e1 : e1 + m] = vals
        self.e1 = e1 + m
        self.row_len[s] = m
        self.norm[s] = _sequential_sum(vals * vals)

    # ------------------------------------------------------------- prediction
    def _order(self) -> np.ndarray:
        """Window slots from the oldest to the newest."""
        if self.count < self.size:
            return np.arange(self.count)
        return (np.arange(self.size) + self.head) % self.size

    def distances(self, inst: Instance) -> tuple[np.ndarray, np.ndarray]:
        """``(slots, squared distances)`` of the stored instances, oldest first."""
        if self.n_deferred:
            self._store_deferred()
        order = self._order()
        c = self.count
        if self.dense:
            diff = self.X[:c] - inst.dense
            d2 = np.einsum("ij,ij->i", diff, diff)
        else:
            e0, e1 = self.e0, self.e1
            # per-slot sums of the products, each accumulated in entry order like the stored norms:
            # a stored copy of the query is at distance exactly 0
            prod = inst.dense[self.e_idx[e0:e1]]
            prod *= self.e_val[e0:e1]
            dots = np.bincount(self.e_slot[e0:e1], weights=prod, minlength=c)
            d2 = self.norm[:c] + _sequential_sum(inst.vals * inst.vals) - 2.0 * dots
            np.maximum(d2, 0.0, out=d2)
        if c == self.size and self.head:
            d2 = d2[order]
        return order, d2

    def proba(self, inst: Instance) -> np.ndarray | None:
        """Per-label P(relevant), or None when the window is empty."""
        if self.n_deferred:
            self._store_deferred()
        if self.count == 0:
            return None
        order, d2 = self.distances(inst)
        k = min(self.k, order.shape[0])
        near = np.argsort(d2, kind="stable")[:k]
        if d2[near[0]] == 0.0:
            return self.Y[order[near[0]]].astype(np.float64)
        votes = 1.0 / np.sqrt(d2[near])
        return (votes @ self.Y[order[near]]) / votes.sum()

    # ----------------------------------------------------------------- growth
    def add_labels(self, n: int) -> None:
        if self.n_deferred:
            self._store_deferred()
        self.Y = np.hstack([self.Y, np.zeros((self.size, n), dtype=bool)])

    def add_features(self, n: int, dense_max_features: int | None = None) -> None:
        """Grow the feature space; a dense window that outgrows ``dense_max_features`` turns sparse."""
        if self.n_deferred:
            self._store_deferred()
        self.d += n
        if not self.dense:
            return
        if dense_max_features is not None and self.d > dense_max_features:
            X = self.X
            self.dense = False
            self.X = np.zeros((0, 0))

            def row_of(s: int) -> tuple[np.ndarray, np.ndarray]:
                nz = np.flatnonzero(X[s])
                return nz, X[s, nz]

            self._refill(row_of)
        else:
            self.X = np.hstack([self.X, np.zeros((self.size, n))])

    def nbytes(self) -> int:
        deferred = sum(a.nbytes for row in self.deferred for a in row)
        return (self.X.nbytes + self.e_slot.nbytes + self.e_idx.nbytes + self.e_val.nbytes + self.row_len.nbytes
                + self.norm.nbytes + self.Y.nbytes + deferred + 100)  # fmt: skip

    # ------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        if self.n_deferred:
            self._store_deferred()
        live = slice(self.e0, self.e1)
        return {
            "k": self.k, "size": self.size, "d": self.d, "dense": self.dense, "X": self.X,
            "e_slot": self.e_slot[live].astype(np.int64), "e_idx": self.e_idx[live].astype(np.int64),
            "e_val": self.e_val[live], "row_len": self.row_len.astype(np.int64), "norm": self.norm, "Y": self.Y,
            "count": self.count, "head": self.head,
        }  # fmt: skip

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> LabelCombinationKNN:
        m = cls.__new__(cls)
        m.k, m.size, m.d, m.dense = int(s["k"]), int(s["size"]), int(s["d"]), bool(s["dense"])
        m.X = np.asarray(s["X"], dtype=np.float64)
        m.Y = np.asarray(s["Y"], dtype=bool)
        m.count, m.head = int(s["count"]), int(s["head"])
        m.norm = np.array(s["norm"], dtype=np.float64)
        m.deferred, m.n_deferred = collections.deque(maxlen=m.size), 0
        if "e_slot" in s:
            m.e_slot = np.array(s["e_slot"], dtype=np.intp)
            m.e_idx = np.array(s["e_idx"], dtype=np.intp)
            m.e_val = np.array(s["e_val"], dtype=np.float64)
            m.row_len = np.array(s["row_len"], dtype=np.intp)
            m.e0, m.e1 = 0, m.e_idx.shape[0]
            return m
        # padded layout of earlier versions: rows of (indices, values), zero-padded
        m._empty_queue()
        if not m.dense:
            pidx, pval = np.asarray(s["pidx"], dtype=np.intp), np.asarray(s["pval"], dtype=np.float64)
            m._refill(lambda slot: (pidx[slot][pval[slot] != 0], pval[slot][pval[slot] != 0]))
        return m


class BaggedLogistic:
    """Binary relevance over online bagging of SGD logistic regressions (see the module docstring).

    One step at ``x = (1, 0)``, label relevant, where member 0 draws a count of 1 and member 1 of 0:
    member 0's gradient is ``sigmoid(0) - 1 = -0.5``, so its weight on feature 0 and its intercept
    move by ``0.5 * 0.5`` each, and member 1 is untouched. ``learn`` returns the probability it had
    before the step:

    >>> lr = BaggedLogistic(n_features=2, n_labels=1, n_models=2, lr=0.5, intercept_lr=0.5)
    >>> inst = Instance(np.array([1.0, 0.0]), 2)
    >>> lr.learn(inst, np.array([True]), 1.0, np.array([1, 0])).tolist()
    [0.5]
    >>> lr.W[:, :, 0].tolist(), lr.b[:, 0].tolist()
    ([[0.25, 0.0], [0.0, 0.0]], [0.25, 0.0])
    >>> round(float(lr.proba(inst)[0]), 4)  # the mean of sigmoid(0.5) and sigmoid(0)
    0.5612
    """

    __slots__ = ("W", "b", "touched", "lr", "intercept_lr", "repeated")

    def __init__(self, n_features: int, n_labels: int, n_models: int = 10, lr: float = 0.3,
                 intercept_lr: float = 0.01, repeated: bool = False) -> None:  # fmt: skip
        self.W = np.zeros((n_features, n_models, n_labels))
        self.b = np.zeros((n_models, n_labels))
        self.touched = np.zeros(n_features, dtype=bool)
        self.lr = lr
        self.intercept_lr = intercept_lr
        self.repeated = repeated

    def gather(self, inst: Instance) -> np.ndarray | None:
        """The weights' rows at the non-zero features of a sparse ``inst``, ``(nnz, n_models * L)``: a copy
        that :meth:`raw` and :meth:`learn` can share (``None`` for a dense or empty row)."""
        if inst.full or not inst.idx.shape[0]:
            return None
        M, L = self.b.shape
        # take() gathers rows about twice as fast as fancy indexing
        return self.W.reshape(inst.d, M * L).take(inst.idx, axis=0)

    def raw(self, inst: Instance, rows: np.ndarray | None = None) -> np.ndarray:
        """Logits ``(n_models, L)`` (``rows``: :meth:`gather` for ``inst`` with the current weights, if known)."""
        M, L = self.b.shape
        if inst.full:
            z = inst.dense @ self.W.reshape(inst.d, M * L)
        elif inst.idx.shape[0]:
            z = inst.vals @ (self.gather(inst) if rows is None else rows)
        else:
            return self.b.copy()
        z = z.reshape(M, L)
        z += self.b
        return z

    def member_proba(self, inst: Instance, rows: np.ndarray | None = None) -> np.ndarray:
        """Every member's probabilities ``(n_models, L)``."""
        return sigmoid(self.raw(inst, rows))

    def proba(self, inst: Instance, members: np.ndarray | None = None) -> np.ndarray:
        """Mean of the members' probabilities (``members``: :meth:`member_proba` for ``inst``, if known)."""
        p = (self.member_proba(inst) if members is None else members).sum(axis=0)
        p *= 1.0 / self.b.shape[0]
        return p

    def learn(self, inst: Instance, y: np.ndarray, w: float, ks: np.ndarray, members: np.ndarray | None = None,
              rows: np.ndarray | None = None, before: bool = True) -> np.ndarray | None:  # fmt: skip
        """One SGD step per member with weight ``w * ks[m]`` (or ``ks[m]`` repeated steps).

        ``members``: :meth:`member_proba` for ``inst`` with the current weights, when the caller
        already has it (a prediction just made), to save computing it again; ``rows``: likewise
        :meth:`gather` (the step updates it in place). Returns the probabilities before the update
        (what :meth:`proba` gave), or None with ``before=False``.
        """
        if not ks.any():
            return self.proba(inst, members) if before else None
        yf = y.astype(np.float64)
        if self.repeated:
            p = self._step(inst, yf, w * (ks >= 1), members, rows, before)
            for t in range(2, int(ks.max()) + 1):
                self._step(inst, yf, w * (ks >= t), before=False)
            return p
        return self._step(inst, yf, w * ks.astype(np.float64), members, rows, before)

    def _step(self, inst: Instance, yf: np.ndarray, mw: np.ndarray, members: np.ndarray | None = None,
              rows: np.ndarray | None = None, before: bool = True) -> np.ndarray | None:  # fmt: skip
        if rows is None:
            rows = self.gather(inst)  # once, for the logits and the update
        g = self.member_proba(inst, rows) if members is None else members.copy()
        p = self.proba(inst, g) if before else None
        g -= yf
        g *= mw[:, None]
        M, L = self.b.shape
        if inst.full:
            W2 = self.W.reshape(inst.d, M * L)
            W2 -= np.multiply.outer(self.lr * inst.dense, g.ravel())
        elif rows is not None:
            rows -= np.multiply.outer(self.lr * inst.vals, g.ravel())
            self.W.reshape(inst.d, M * L)[inst.idx] = rows
        self.touched[inst.idx] = True
        self.b -= self.intercept_lr * g
        return p

    def add_labels(self, n: int) -> None:
        d, M, _ = self.W.shape
        self.W = np.concatenate([self.W, np.zeros((d, M, n))], axis=2)
        self.b = np.hstack([self.b, np.zeros((M, n))])

    def add_features(self, n: int) -> None:
        _, M, L = self.W.shape
        self.W = np.concatenate([self.W, np.zeros((n, M, L))], axis=0)
        self.touched = np.concatenate([self.touched, np.zeros(n, dtype=bool)])

    def nbytes(self) -> int:
        _, M, L = self.W.shape
        return int(self.touched.sum()) * M * L * 8 + self.b.nbytes + self.touched.nbytes + 100

    def get_state(self) -> dict[str, Any]:
        # only the touched rows: untouched rows are zero
        rows = np.flatnonzero(self.touched)
        return {"shape": list(self.W.shape), "rows": rows.astype(np.int64), "W": self.W[rows], "b": self.b,
                "lr": self.lr, "intercept_lr": self.intercept_lr, "repeated": self.repeated}  # fmt: skip

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> BaggedLogistic:
        m = cls.__new__(cls)
        d, M, L = (int(v) for v in s["shape"])
        m.W = np.zeros((d, M, L))
        rows = np.asarray(s["rows"], dtype=np.intp)
        m.W[rows] = np.asarray(s["W"], dtype=np.float64).reshape(rows.shape[0], M, L)
        m.touched = np.zeros(d, dtype=bool)
        m.touched[rows] = True
        m.b = np.asarray(s["b"], dtype=np.float64).reshape(M, L)
        m.lr, m.intercept_lr, m.repeated = float(s["lr"]), float(s["intercept_lr"]), bool(s["repeated"])
        return m
