"""Incremental multi-label metrics: cumulative over a stream, or over a sliding window.

:class:`MultiLabelMetrics` computes all of :data:`~streamml.metrics.functional.METRIC_NAMES` from
one instance at a time, with the definitions and edge-case conventions of
:mod:`streamml.metrics.functional` (see there, and ``empty_score``). Its state is

* three per-label count vectors: true positives, true count and predicted count (false positives,
  false negatives and true negatives follow from them and ``n``);
* running sums of the per-instance quantities: exact match, wrong cells, and the instance's
  precision, recall, F1 and Jaccard index;
* a :class:`~streamml.metrics.auc.BinnedAUC` for the macro AUC (bounded memory; its error bound is
  :meth:`MultiLabelMetrics.auc_error_bound`);
* with ``window=N``, a ring buffer of the last ``N`` instances' label rows, score bins and
  per-instance quantities, so that the instance leaving the window is subtracted as the new one
  is added. The running sums of floats are recomputed from the buffer each time it wraps around,
  so that rounding errors from the subtractions cannot pile up.

An update is a handful of NumPy operations over the label vector, ``O(L)``; :meth:`get` costs
``O(L * auc_bins)`` for the AUC.

**Label-space growth.** A vector longer than any seen before adds labels: the instances already
counted become negatives of the new labels, neither relevant nor predicted, with score 0. A vector
shorter than the label count is padded the same way (its missing trailing labels are irrelevant,
not predicted, score 0), as :mod:`streamml.base` specifies, so ``y_true``, ``y_pred`` and
``y_score`` may have different lengths, e.g. when a learner predicts before it has heard of a new
label. Growth never changes the example-based or micro/macro precision/recall/F1 counts of past
instances, but it does change ``hamming_loss`` (more cells, all correct) and adds the new labels to
the macro averages.

Examples
--------
>>> import numpy as np
>>> m = MultiLabelMetrics()
>>> m.update(np.array([True, False, True]), np.array([True, False, True]))
>>> m.update(np.array([True, True, False]), np.array([True, False, False]))
>>> m.update(np.array([False, False, False]), np.array([False, False, False]))
>>> r = m.get()
>>> m.n, r["subset_accuracy"], r["example_recall"], r["micro_recall"]
(3, 0.6666666666666666, 0.8333333333333334, 0.75)

A sliding window of the last two instances:

>>> w = MultiLabelMetrics(window=2)
>>> for t, p in [([1, 0], [1, 0]), ([0, 1], [1, 1]), ([1, 1], [0, 1])]:
...     w.update(np.array(t, dtype=bool), np.array(p, dtype=bool))
>>> w.n, w.get()["hamming_loss"]   # the last two instances have 2 wrong cells out of 4
(2, 0.5)

The label space grows with the vectors:

>>> w.update(np.array([0, 0, 1], dtype=bool), np.array([0, 0, 1], dtype=bool))
>>> w.n_labels, w.get()["hamming_loss"]  # 1 wrong cell out of 2 * 3
(3, 0.16666666666666666)

Scores give the macro AUC, binned, within :meth:`~MultiLabelMetrics.auc_error_bound` of the exact
value:

>>> a = MultiLabelMetrics(auc_bins=100)
>>> for t, s in [(1, 0.9), (0, 0.2), (1, 0.405), (0, 0.401)]:
...     a.update(np.array([t], dtype=bool), np.array([s >= 0.5]), np.array([s]))
>>> a.get()["macro_auc"], a.auc_error_bound()  # exact: 1.0; 0.405 and 0.401 share a bin
(0.875, 0.125)
>>> import math
>>> math.isnan(MultiLabelMetrics().get()["subset_accuracy"])  # nothing counted yet
True
"""

from __future__ import annotations

import numpy as np

from streamml.metrics.auc import BinnedAUC, score_bins
from streamml.metrics.functional import METRIC_NAMES, safe_ratio

__all__ = ["MultiLabelMetrics"]

# columns of the per-instance quantities
_EXACT, _WRONG, _PREC, _REC, _F1, _JACC = range(6)
_N_SCALARS = 6


def _fit(v: np.ndarray, size: int) -> np.ndarray:
    """``v`` padded with zeros (False) to ``size`` entries."""
    if v.shape[0] == size:
        return v
    out = np.zeros(size, dtype=v.dtype)
    out[: v.shape[0]] = v
    return out


class MultiLabelMetrics:
    """All multi-label metrics of a stream, updated one instance at a time.

    Parameters
    ----------
    window
        ``None`` for metrics over the whole stream; ``N`` for metrics over the last ``N``
        instances only.
    n_labels
        Initial size of the label space (it grows with longer vectors).
    auc_bins
        Number of equal score bins over ``[0, 1]`` per label for the macro AUC. The AUC is exact for
        scores that share a bin only when they are equal; see :meth:`auc_error_bound`.
    empty_score
        Example-based precision, recall, F1 and accuracy of an instance whose true and predicted
        label sets are both empty: 1 (default, MEKA and the published tables) or 0 (River).
    """

    def __init__(
        self, window: int | None = None, n_labels: int = 0, auc_bins: int = 1000, empty_score: float = 1.0
    ) -> None:
        if window is not None and window < 1:
            raise ValueError("window must be None or at least 1")
        if n_labels < 0:
            raise ValueError("n_labels must be non-negative")
        self.window = window
        self.auc_bins = int(auc_bins)
        self.empty_score = float(empty_score)
        self._auc = BinnedAUC(self.auc_bins)
        self._n_seen = 0  # instances ever counted
        self._L = 0
        self._cap = 0
        self._tp = np.zeros(0, dtype=np.int64)
        self._n_true = np.zeros(0, dtype=np.int64)
        self._n_pred = np.zeros(0, dtype=np.int64)
        self._sums = np.zeros(_N_SCALARS)
        if window is not None:
            bin_dtype = np.uint16 if self.auc_bins <= 1 << 16 else np.int64
            self._ring_true = np.zeros((window, 0), dtype=bool)
            self._ring_pred = np.zeros((window, 0), dtype=bool)
            self._ring_bins = np.zeros((window, 0), dtype=bin_dtype)
            self._ring_scalars = np.zeros((window, _N_SCALARS))
        self._grow(n_labels)

    # ------------------------------------------------------------------ state
    @property
    def n(self) -> int:
        """Instances counted (those in the window, with a window)."""
        return self._n_seen if self.window is None else min(self._n_seen, self.window)

    @property
    def n_labels(self) -> int:
        """Size of the label space so far."""
        return self._L

    def _grow(self, L: int) -> None:
        old = self._L
        if L <= old:
            return
        if L > self._cap:
            cap = max(L, 2 * self._cap)
            for name in ("_tp", "_n_true", "_n_pred"):
                setattr(self, name, _fit(getattr(self, name), cap))
            if self.window is not None:
                for name in ("_ring_true", "_ring_pred", "_ring_bins"):
                    ring = getattr(self, name)
                    grown = np.zeros((self.window, cap), dtype=ring.dtype)
                    grown[:, :old] = ring[:, :old]
                    setattr(self, name, grown)
            self._cap = cap
        # the counted instances are negatives of the new labels, with score 0 (ring rows beyond
        # ``old`` are already False / bin 0)
        self._auc.grow(L, n_negatives=self.n)
        self._L = L

    # ----------------------------------------------------------------- update
    def update(self, y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None = None) -> None:
        """Count one instance.

        ``y_true`` and ``y_pred`` are boolean label vectors, ``y_score`` the scores
        ``P(relevant)`` in ``[0, 1]`` (``y_pred`` itself if None). Vectors shorter than the
        label space are padded with irrelevant labels; a longer one grows it.
        """
        t = np.asarray(y_true, dtype=bool)
        p = np.asarray(y_pred, dtype=bool)
        s = p if y_score is None else np.asarray(y_score, dtype=np.float64)
        L = max(t.shape[0], p.shape[0], s.shape[0], self._L)
        if L > self._L:
            self._grow(L)
        t, p = _fit(t, L), _fit(p, L)
        bins = _fit(score_bins(s, self.auc_bins), L)

        hits = t & p
        tp, n_true, n_pred = int(np.count_nonzero(hits)), int(np.count_nonzero(t)), int(np.count_nonzero(p))
        wrong = n_true + n_pred - 2 * tp
        union = n_true + n_pred - tp
        if union == 0:  # both sets empty
            e = self.empty_score
            row = np.array((1.0, 0.0, e, e, e, e))
        else:
            row = np.array(
                (
                    wrong == 0,
                    wrong,
                    tp / n_pred if n_pred else 0.0,
                    tp / n_true if n_true else 0.0,
                    2 * tp / (n_true + n_pred),
                    tp / union,
                ),
                dtype=np.float64,
            )

        self._tp[:L] += hits
        self._n_true[:L] += t
        self._n_pred[:L] += p
        self._sums += row
        self._auc.add(t, bins)

        if self.window is not None:
            slot = self._n_seen % self.window
            if self._n_seen >= self.window:
                self._evict(slot)
            self._ring_true[slot, :L] = t
            self._ring_pred[slot, :L] = p
            self._ring_bins[slot, :L] = bins
            self._ring_scalars[slot] = row
            if slot == self.window - 1:  # wrapped around: drop accumulated rounding error
                self._sums = self._ring_scalars.sum(axis=0)
        self._n_seen += 1

    def update_many(self, Y_true: np.ndarray, Y_pred: np.ndarray, Y_score: np.ndarray | None = None) -> None:
        """Count the rows of ``(n, L)`` matrices, as :meth:`update` on each row in order would.

        One block costs a few NumPy operations instead of one call per row, which matters when
        the per-row update costs as much as a fast learner (a Kafka worker scores whole polls at
        once). Results equal those of the per-row loop up to float rounding in the windowed sums.
        """
        T = np.asarray(Y_true, dtype=bool)
        P = np.asarray(Y_pred, dtype=bool)
        n = T.shape[0]
        if n == 0:
            return
        if n == 1:  # the per-row update is cheaper for a single row
            self.update(T[0], P[0], None if Y_score is None else np.asarray(Y_score)[0])
            return
        S = P.astype(np.float64) if Y_score is None else np.asarray(Y_score, dtype=np.float64)
        if self.window is not None and n > self.window:
            for start in range(0, n, self.window):
                self.update_many(T[start : start + self.window], P[start : start + self.window],
                                 S[start : start + self.window])
            return
        L = max(T.shape[1], P.shape[1], S.shape[1], self._L)
        if L > self._L:
            self._grow(L)
        T, P, S = _widen(T, L), _widen(P, L), _widen(S, L)
        bins = score_bins(S, self.auc_bins)

        hits = T & P
        tp = hits.sum(axis=1)
        nt = T.sum(axis=1)
        npred = P.sum(axis=1)
        wrong = nt + npred - 2 * tp
        union = nt + npred - tp
        rows = np.empty((n, _N_SCALARS))
        with np.errstate(invalid="ignore", divide="ignore"):
            rows[:, 0] = wrong == 0
            rows[:, 1] = wrong
            rows[:, 2] = np.where(npred > 0, tp / np.maximum(npred, 1), 0.0)
            rows[:, 3] = np.where(nt > 0, tp / np.maximum(nt, 1), 0.0)
            rows[:, 4] = 2 * tp / np.maximum(nt + npred, 1)
            rows[:, 5] = tp / np.maximum(union, 1)
        empty = union == 0
        if empty.any():
            e = self.empty_score
            rows[empty] = (1.0, 0.0, e, e, e, e)

        hist = self._auc._hist.reshape(-1)
        offsets = self._auc._offsets[:L]

        if self.window is not None:
            W = self.window
            slots = (self._n_seen + np.arange(n)) % W
            evict = slots[self._n_seen + np.arange(n) >= W]
            if evict.size:
                ot, op = self._ring_true[evict, :L], self._ring_pred[evict, :L]
                self._tp[:L] -= (ot & op).sum(axis=0)
                self._n_true[:L] -= ot.sum(axis=0)
                self._n_pred[:L] -= op.sum(axis=0)
                self._sums -= self._ring_scalars[evict].sum(axis=0)
                flat = offsets + ot * self.auc_bins + self._ring_bins[evict, :L]
                np.subtract.at(hist, flat.reshape(-1), 1)
            self._ring_true[slots, :L] = T
            self._ring_pred[slots, :L] = P
            self._ring_bins[slots, :L] = bins
            self._ring_scalars[slots] = rows
        self._tp[:L] += hits.sum(axis=0)
        self._n_true[:L] += T.sum(axis=0)
        self._n_pred[:L] += P.sum(axis=0)
        self._sums += rows.sum(axis=0)
        flat = offsets + T * self.auc_bins + bins
        np.add.at(hist, flat.reshape(-1), 1)
        self._n_seen += n
        if self.window is not None and (self._n_seen >= self.window):
            # as ``update`` does on each wrap-around: drop the rounding error of the subtractions
            if (self._n_seen - n) // self.window != self._n_seen // self.window or self._n_seen % self.window == 0:
                self._sums = self._ring_scalars.sum(axis=0)


    def _evict(self, slot: int) -> None:
        L = self._L
        t = self._ring_true[slot, :L]
        p = self._ring_pred[slot, :L]
        self._tp[:L] -= t & p
        self._n_true[:L] -= t
        self._n_pred[:L] -= p
        self._sums -= self._ring_scalars[slot]
        self._auc.remove(t, self._ring_bins[slot, :L])

    # -------------------------------------------------------------------- get
    def get(self) -> dict[str, float]:
        """Every metric of :data:`METRIC_NAMES` (NaN where undefined, e.g. before any instance)."""
        n, L = self.n, self._L
        if n == 0:
            return dict.fromkeys(METRIC_NAMES, float("nan"))
        sums = self._sums / n
        tp, n_true, n_pred = self._tp[:L], self._n_true[:L], self._n_pred[:L]
        TP, T, P = int(tp.sum()), int(n_true.sum()), int(n_pred.sum())
        nan = float("nan")
        out = {
            "subset_accuracy": float(sums[_EXACT]),
            "hamming_loss": float(self._sums[_WRONG] / (n * L)) if L else nan,
            "example_precision": float(sums[_PREC]),
            "example_recall": float(sums[_REC]),
            "example_f1": float(sums[_F1]),
            "example_accuracy": float(sums[_JACC]),
            "micro_precision": TP / P if P else 0.0,
            "micro_recall": TP / T if T else 0.0,
            "micro_f1": 2 * TP / (T + P) if TP else 0.0,
            "macro_precision": float(safe_ratio(tp, n_pred).mean()) if L else nan,
            "macro_recall": float(safe_ratio(tp, n_true).mean()) if L else nan,
            "macro_f1": float(safe_ratio(2 * tp, n_true + n_pred).mean()) if L else nan,
            "macro_auc": self._auc.macro_auc(),
        }
        return {name: out[name] for name in METRIC_NAMES}

    def auc_error_bound(self) -> float:
        """Bound on ``|macro_auc - exact macro AUC|`` from the current histograms.

        The binned AUC of a label differs from the exact (rank-based) one only through the pairs of
        a positive and a negative whose scores share a bin, each off by at most 1/2, so the error
        of label ``j`` is at most ``0.5 * sum_b pos_b * neg_b / (P_j * N_j)``; this returns the mean
        of those bounds over the labels that enter the macro AUC (NaN if none does). The exact AUC
        meant is that of the scores clipped to ``[0, 1]``, over the instances counted, with the
        padding described in the module docstring.
        """
        return self._auc.macro_error_bound() if self.n else float("nan")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in self.get().items())
        return f"{type(self).__name__}(n={self.n}, window={self.window}, {shown})"


def _widen(M: np.ndarray, L: int) -> np.ndarray:
    if M.shape[1] == L:
        return M
    out = np.zeros((M.shape[0], L), dtype=M.dtype)
    out[:, : M.shape[1]] = M
    return out
