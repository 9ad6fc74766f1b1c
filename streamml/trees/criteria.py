"""Split criteria and the Hoeffding bound for multi-label trees.

A criterion scores a candidate binary split from per-label *positive weights* and the *total
weight* of the parent and of the two branches. Every function here is vectorised: the branch
arrays may carry any trailing shape (for example ``(n_labels, n_features, n_candidates)``), and the
merits come back with that trailing shape, so one call scores every candidate of a leaf.

Two criteria are provided:

* :class:`EntropyCriterion` -- the multi-label entropy of Read et al. (2012), the entropy of
  independent per-label Bernoulli variables: ``H = -sum_l [p_l log2 p_l + (1 - p_l) log2(1 - p_l)]``.
  Its range for the Hoeffding bound is ``log2`` of the number of distinct labelsets seen at the
  leaf (1 when there are at most two).
* :class:`VarianceReductionCriterion` -- the multi-target variance reduction of iSOUP-Tree, for
  0/1 targets whose variance is ``p (1 - p)``; each target's reduction is divided by its variance
  at the parent and the result is averaged over targets, so the merit lies in ``[0, 1]`` and the
  range is 1.

>>> import numpy as np
>>> round(float(multilabel_entropy(np.array([1.0, 2.0]), 4.0)), 6)   # p = (0.25, 0.5)
1.811278
>>> round(hoeffding_bound(1.0, 1e-7, 200), 6)
0.200732
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import entr

__all__ = [
    "hoeffding_bound",
    "labelset_range",
    "binary_entropy",
    "multilabel_entropy",
    "EntropyCriterion",
    "VarianceReductionCriterion",
    "CRITERIA",
]

_LN2 = math.log(2.0)


def hoeffding_bound(value_range: float, delta: float, n: float) -> float:
    """``sqrt(R^2 ln(1/delta) / (2 n))``: the Hoeffding bound after ``n`` weight of observations."""
    if n <= 0:
        return math.inf
    return math.sqrt(value_range * value_range * math.log(1.0 / delta) / (2.0 * n))


def labelset_range(n_labelsets: int) -> float:
    """The range ``R`` of the multi-label entropy: ``log2(n_labelsets)``, or 1 for at most two."""
    return math.log2(n_labelsets) if n_labelsets > 2 else 1.0


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of a Bernoulli(``p``), element-wise, with ``0 log 0 = 0``."""
    p = np.clip(p, 0.0, 1.0)
    return (entr(p) + entr(1.0 - p)) / _LN2


def multilabel_entropy(positive: np.ndarray, total) -> np.ndarray:
    """Sum over the first axis of the binary entropies of ``positive / total``.

    ``positive`` has the labels on axis 0; ``total`` broadcasts against ``positive[0]``. A zero
    total gives zero entropy.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.divide(positive, total)
    p = np.nan_to_num(p, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    return binary_entropy(p).sum(axis=0)


class EntropyCriterion:
    """Information gain under the multi-label (independent Bernoulli) entropy."""

    name = "entropy"

    @staticmethod
    def value_range(n_labelsets: int) -> float:
        return labelset_range(n_labelsets)

    @staticmethod
    def merit(parent_pos: np.ndarray, parent_n: float, left_pos, left_n, right_pos, right_n) -> np.ndarray:
        """``H(parent) - (n_L H(left) + n_R H(right)) / (n_L + n_R)`` for every candidate.

        ``parent_pos`` is ``(L,)``; ``left_pos``/``right_pos`` are ``(L, ...)`` and
        ``left_n``/``right_n`` have the trailing shape ``(...)``.
        """
        h_parent = float(multilabel_entropy(parent_pos, parent_n)) if parent_n > 0 else 0.0
        h_left = multilabel_entropy(left_pos, left_n)
        h_right = multilabel_entropy(right_pos, right_n)
        n = left_n + right_n
        with np.errstate(divide="ignore", invalid="ignore"):
            children = (left_n * h_left + right_n * h_right) / n
        return h_parent - np.nan_to_num(children, copy=False, nan=h_parent)


class VarianceReductionCriterion:
    """Mean, over targets, of the relative variance reduction of 0/1 targets (iSOUP-Tree style).

    For target ``l`` with parent variance ``v_l = p_l (1 - p_l) > 0`` the reduction is
    ``(v_l - (n_L v_l^L + n_R v_l^R) / n) / v_l``; targets that are constant at the parent are left
    out. The merit is in ``[0, 1]``, so the Hoeffding range is 1.
    """

    name = "variance"

    @staticmethod
    def value_range(n_labelsets: int) -> float:
        return 1.0

    @staticmethod
    def merit(parent_pos: np.ndarray, parent_n: float, left_pos, left_n, right_pos, right_n) -> np.ndarray:
        shape = np.shape(left_n)
        if parent_n <= 0:
            return np.zeros(shape)
        p = np.clip(parent_pos / parent_n, 0.0, 1.0)
        v = p * (1.0 - p)
        keep = v > 0
        if not keep.any():
            return np.zeros(shape)
        inv = (1.0 / v[keep]).reshape((-1,) + (1,) * len(shape))
        with np.errstate(divide="ignore", invalid="ignore"):
            pl = np.clip(np.nan_to_num(left_pos[keep] / left_n, nan=0.0), 0.0, 1.0)
            pr = np.clip(np.nan_to_num(right_pos[keep] / right_n, nan=0.0), 0.0, 1.0)
            rel_left = (pl * (1.0 - pl) * inv).sum(axis=0)
            rel_right = (pr * (1.0 - pr) * inv).sum(axis=0)
            n = left_n + right_n
            children = (left_n * rel_left + right_n * rel_right) / (n * keep.sum())
        return 1.0 - np.nan_to_num(children, copy=False, nan=1.0)


CRITERIA = {"entropy": EntropyCriterion, "variance": VarianceReductionCriterion}
