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
0.200737
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
_TINY = 1e-300


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
    return unit_binary_entropy(np.clip(p, 0.0, 1.0))


def unit_binary_entropy(p: np.ndarray) -> np.ndarray:
    """:func:`binary_entropy` for ``p`` known to lie in ``[0, 1]`` (no clipping: a hot path)."""
    return (entr(p) + entr(1.0 - p)) / _LN2


def multilabel_entropy(positive: np.ndarray, total) -> np.ndarray:
    """Sum over the first axis of the binary entropies of ``positive / total``.

    ``positive`` has the labels on axis 0; ``total`` broadcasts against ``positive[0]``. A zero
    total gives zero entropy.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.divide(positive, total)
    p = np.nan_to_num(p, nan=0.0, posinf=1.0, neginf=0.0)
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
        ``left_n``/``right_n`` have the trailing shape ``(...)``. Positive weights above their
        branch total (possible with Gaussian estimates) are clipped to it.

        The children term is computed from weights, not fractions: with ``entr(t) = -t ln t``,
        ``n h(a / n) = (entr(a) + entr(n - a) - entr(n)) / ln 2``, which needs no division per
        label and candidate.
        """
        h_parent = float(multilabel_entropy(parent_pos, parent_n)) if parent_n > 0 else 0.0
        n_labels = left_pos.shape[0]
        total = _weighted_entropy(left_pos, left_n, n_labels) + _weighted_entropy(right_pos, right_n, n_labels)
        n = left_n + right_n
        with np.errstate(divide="ignore", invalid="ignore"):
            children = total / (n * _LN2)
        return h_parent - _fill_nan(children, h_parent)


def _weighted_entropy(pos: np.ndarray, n: np.ndarray, n_labels: int) -> np.ndarray:
    """``sum_l n h(pos_l / n)`` in nats, over axis 0 of ``pos``: ``sum_l [entr(a) + entr(n - a)] - L entr(n)``."""
    a = np.minimum(pos, n)
    rest = np.subtract(n, a)
    out = _xlogx(a)
    out += _xlogx(rest)
    total = out.sum(axis=0)
    total -= n_labels * _xlogx(np.asarray(n, dtype=np.float64))
    return -total


def _fill_nan(a, value: float):
    """``a`` with NaN replaced by ``value`` (in place for arrays)."""
    if np.ndim(a):
        np.copyto(a, value, where=np.isnan(a))
        return a
    return value if a != a else a


def _xlogx(a: np.ndarray) -> np.ndarray:
    """``a ln a`` with ``0 ln 0 = 0`` for ``a >= 0`` (numpy's vectorised log is much faster than entr)."""
    out = np.maximum(a, _TINY)
    if np.ndim(out):
        np.log(out, out=out)
        out *= a
        return out
    return np.log(out) * a


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
        inv = 1.0 / v[keep]
        n = left_n + right_n
        with np.errstate(divide="ignore", invalid="ignore"):
            # sum_l inv_l n_side p (1 - p) = sum_l inv_l a (n_side - a) / n_side
            within = _weighted_variance(left_pos[keep], left_n, inv) + _weighted_variance(right_pos[keep], right_n, inv)
            children = within / (n * keep.sum())
        return 1.0 - _fill_nan(children, 1.0)


def _weighted_variance(pos: np.ndarray, n: np.ndarray, inv: np.ndarray) -> np.ndarray:
    a = np.minimum(pos, n)
    rest = np.subtract(n, a)
    rest *= a
    out = np.tensordot(inv, rest, axes=1)
    out = out / n
    return _fill_nan(out, 0.0)


CRITERIA = {"entropy": EntropyCriterion, "variance": VarianceReductionCriterion}
