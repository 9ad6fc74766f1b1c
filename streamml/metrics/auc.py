"""Per-label ROC AUC in bounded memory, from histograms of the scores.

:class:`BinnedAUC` keeps, for each label, two histograms over ``n_bins`` equal bins of ``[0, 1]``:
one of the scores given to positive instances and one of those given to negative instances. Its
memory is ``O(L * n_bins)`` whatever the stream's length, an instance is added (or removed, for a
sliding window) in ``O(L)``, and reading the AUC costs ``O(L * n_bins)``.

The AUC of a label is the binned Mann-Whitney statistic

.. math:: \\mathrm{AUC} = \\frac{1}{PN} \\sum_b pos_b \\Big( \\sum_{c < b} neg_c + \\tfrac12 neg_b \\Big)

where ``pos_b`` and ``neg_b`` count the positive and negative instances whose score falls in bin
``b`` and ``P``, ``N`` are their totals. The exact AUC counts each (positive, negative) pair as 1
if the positive scores higher, 1/2 on a tie and 0 otherwise. The bin index is a non-decreasing
function of the score, so a pair whose two scores fall in different bins is counted exactly the
same way by both. Only the ``pos_b * neg_b`` pairs that share a bin differ: each is counted 1/2
here and 0, 1/2 or 1 exactly. Hence, per label,

.. math:: |\\mathrm{AUC}_{binned} - \\mathrm{AUC}_{exact}| \\le \\frac{1}{2} \\frac{\\sum_b pos_b\\, neg_b}{P N},

and the macro AUC, an average over labels, is within the average of these bounds (this is what
:meth:`BinnedAUC.macro_error_bound` returns). The bound is 0 when no bin holds both a positive
and a negative, and the binned value is exact whenever all scores sharing a bin are equal (for
instance 0/1 scores). Scores are clipped to ``[0, 1]``; a NaN score counts as 0.

The macro AUC averages over the labels that have at least one positive and one negative; it is
NaN when no label has both.

Examples
--------
>>> import numpy as np
>>> auc = BinnedAUC(n_bins=10)
>>> auc.grow(1)
>>> for y, s in [(True, 0.95), (True, 0.52), (False, 0.55), (False, 0.1)]:
...     auc.add(np.array([y]), score_bins(np.array([s]), 10))
>>> auc.label_auc()  # 0.52 and 0.55 share bin 5: that pair counts 1/2, so (1 + 1 + 0.5 + 1) / 4
array([0.875])
>>> auc.macro_error_bound()  # one shared pair out of 4, at most 1/2 wrong
0.125
>>> # the exact AUC is 0.75, and indeed |0.875 - 0.75| <= 0.125
"""

from __future__ import annotations

import numpy as np

__all__ = ["BinnedAUC", "score_bins"]


def score_bins(scores: np.ndarray, n_bins: int) -> np.ndarray:
    """The bin, in ``0 .. n_bins - 1``, of each score: ``floor(score * n_bins)``, clipped.

    Bin ``b`` holds ``[b / n_bins, (b + 1) / n_bins)``, and the last bin also holds 1. NaN goes to
    bin 0.

    >>> score_bins(np.array([0.0, 0.05, 0.5, 0.999, 1.0, 7.0, -1.0, np.nan]), 10)
    array([0, 0, 5, 9, 9, 9, 0, 0])
    """
    x = np.asarray(scores, dtype=np.float64) * n_bins
    # fmax/fmin (unlike clip) turn NaN into the other operand, so NaN -> 0
    return np.fmin(np.fmax(x, 0.0), n_bins - 1).astype(np.intp)


class BinnedAUC:
    """Histograms of positive and negative scores, per label, and the AUC they give.

    Parameters
    ----------
    n_bins
        Number of equal bins over ``[0, 1]``.

    The label space starts empty and grows with :meth:`grow`; labels are columns ``0 .. L-1``.
    Capacity is doubled on growth, so growing one label at a time costs amortised ``O(n_bins)``
    per label.
    """

    def __init__(self, n_bins: int = 1000) -> None:
        if n_bins < 1:
            raise ValueError("n_bins must be at least 1")
        self.n_bins = int(n_bins)
        self.n_labels = 0
        # hist[j, 0] counts negatives of label j per bin, hist[j, 1] positives
        self._hist = np.zeros((0, 2, self.n_bins), dtype=np.int64)
        self._offsets = np.zeros(0, dtype=np.intp)  # j * 2 * n_bins, the start of label j

    def grow(self, n_labels: int, n_negatives: int = 0) -> None:
        """Extend to ``n_labels`` labels; each new label gets ``n_negatives`` negatives in bin 0.

        ``n_negatives`` accounts for the instances already counted, which are negatives with a
        score of 0 for a label they did not know.
        """
        old = self.n_labels
        if n_labels <= old:
            return
        if n_labels > self._hist.shape[0]:
            cap = max(n_labels, 2 * self._hist.shape[0])
            hist = np.zeros((cap, 2, self.n_bins), dtype=np.int64)
            hist[:old] = self._hist[:old]
            self._hist = hist
            self._offsets = np.arange(cap, dtype=np.intp) * (2 * self.n_bins)
        self._hist[old:n_labels, 0, 0] = n_negatives
        self.n_labels = n_labels

    def _flat_index(self, y_true: np.ndarray, bins: np.ndarray) -> np.ndarray:
        L = self.n_labels
        return self._offsets[:L] + y_true[:L] * self.n_bins + bins[:L]

    def add(self, y_true: np.ndarray, bins: np.ndarray) -> None:
        """Count one instance: its ``n_labels`` relevance flags and score bins."""
        # each label hits its own slice of the flat array, so the indices are distinct and a
        # buffered fancy-index increment is correct
        self._hist.reshape(-1)[self._flat_index(y_true, bins)] += 1

    def remove(self, y_true: np.ndarray, bins: np.ndarray) -> None:
        """Uncount an instance previously passed to :meth:`add` (padded for later labels)."""
        self._hist.reshape(-1)[self._flat_index(y_true, bins)] -= 1

    @property
    def histograms(self) -> tuple[np.ndarray, np.ndarray]:
        """``(neg, pos)``: two ``(n_labels, n_bins)`` count matrices (views)."""
        h = self._hist[: self.n_labels]
        return h[:, 0], h[:, 1]

    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per label: pairs ``P * N``, pairs won by the positive, pairs sharing a bin."""
        neg, pos = (h.astype(np.float64) for h in self.histograms)
        neg_below = np.cumsum(neg, axis=1) - neg
        won = np.einsum("lb,lb->l", pos, neg_below)
        same_bin = np.einsum("lb,lb->l", pos, neg)
        pairs = pos.sum(axis=1) * neg.sum(axis=1)
        return pairs, won, same_bin

    def label_auc(self) -> np.ndarray:
        """Binned AUC of each label; NaN for labels lacking positives or negatives."""
        pairs, won, same_bin = self._pairs()
        return np.divide(won + 0.5 * same_bin, pairs, out=np.full(pairs.shape, np.nan), where=pairs > 0)

    def label_error_bound(self) -> np.ndarray:
        """Bound on ``|binned - exact|`` AUC of each label; NaN where the AUC is undefined."""
        pairs, _, same_bin = self._pairs()
        return np.divide(0.5 * same_bin, pairs, out=np.full(pairs.shape, np.nan), where=pairs > 0)

    def macro_auc(self) -> float:
        """Mean binned AUC over the labels having both classes; NaN if there is none."""
        return _nanmean(self.label_auc())

    def macro_error_bound(self) -> float:
        """Bound on ``|binned - exact|`` macro AUC: the mean of the per-label bounds."""
        return _nanmean(self.label_error_bound())


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")
