"""Per-leaf attribute observers, vectorised over classes and features.

The "classes" of a multi-label leaf are rows of a statistics matrix:

* row 0 -- the *total* (every instance),
* row 1 -- the *empty labelset* (instances with no relevant label),
* row ``2 + l`` -- the instances where label ``l`` is relevant.

An instance updates row 0 and either row 1 or the rows of its positive labels, so one update
touches ``k + 1`` rows for ``k`` positive labels (:func:`class_rows` builds that index vector). New
labels append rows, so existing row numbers never move.

:class:`GaussianObserver` keeps, per class and feature, the weighted sum and sum of squares of the
values (for a Gaussian estimate of each class's distribution), and per feature the observed min and
max. **Zeros are implicit**: the weight of class ``c`` at feature ``f`` is the class weight ``W_c``
minus the weight of instances where ``f`` was missing, so a :class:`~streamml.schema.SparseRow`
update only touches its non-zero entries, ``O((k + 1) nnz)``, while a dense row costs
``O((k + 1) d)``. The min and max account for implicit zeros (a feature absent from some sparse row
has seen a 0). A dense row and its sparse form leave exactly the same statistics.

**Missing values** (NaN) are skipped: they add nothing to the sums and are subtracted from the
feature's class weights.

:class:`NominalObserver` keeps per-class counts of each value code of the nominal features, for
one-value-versus-rest binary splits.

>>> import numpy as np
>>> obs = GaussianObserver(n_classes=4, n_features=2)
>>> obs.update_dense(class_rows(np.array([True, False])), np.array([1.0, 0.0]), 1.0)
>>> obs.update_dense(class_rows(np.array([False, False])), np.array([3.0, 2.0]), 1.0)
>>> mean, var, weight = obs.moments(np.array([0]))
>>> mean.tolist(), var.tolist(), weight.tolist()
([[2.0, 1.0]], [[1.0, 1.0]], [[2.0, 2.0]])
>>> obs.bounds()[0].tolist(), obs.bounds()[1].tolist()
([1.0, 0.0], [3.0, 2.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

__all__ = ["class_rows", "GaussianObserver", "NominalObserver", "N_SPLIT_POINTS"]

#: Candidate thresholds per numeric feature, equally spaced strictly inside [min, max].
N_SPLIT_POINTS = 10
_FRACTIONS = np.arange(1, N_SPLIT_POINTS + 1) / (N_SPLIT_POINTS + 1)
_EMPTY_ROWS = np.array([0, 1], dtype=np.intp)


def class_rows(y: np.ndarray) -> np.ndarray:
    """The statistics rows an instance with label vector ``y`` updates: total, then labels or empty."""
    pos = np.flatnonzero(y)
    if pos.shape[0] == 0:
        return _EMPTY_ROWS
    rows = np.empty(pos.shape[0] + 1, dtype=np.intp)
    rows[0] = 0
    np.add(pos, 2, out=rows[1:])
    return rows


class GaussianObserver:
    """Weighted sums and sums of squares per (class, feature), plus per-feature min and max."""

    __slots__ = ("weight", "sum", "sq", "missing", "min", "max", "n_obs", "n_dense", "n_explicit")

    def __init__(self, n_classes: int, n_features: int) -> None:
        self.weight = np.zeros(n_classes)
        self.sum = np.zeros((n_classes, n_features))
        self.sq = np.zeros((n_classes, n_features))
        self.missing: np.ndarray | None = None  # (C, d) weight of NaN values, allocated on first NaN
        self.min = np.full(n_features, np.inf)
        self.max = np.full(n_features, -np.inf)
        self.n_obs = 0  # instances observed
        self.n_dense = 0  # of which dense rows (every feature explicit)
        self.n_explicit = np.zeros(n_features, dtype=np.int64)  # explicit entries from sparse rows

    # ------------------------------------------------------------------ updates
    def update_dense(self, rows: np.ndarray, x: np.ndarray, w: float) -> None:
        """Add a dense row (NaN = missing) to the classes ``rows``."""
        s = x.sum()
        if s != s:  # some value is NaN (or +inf and -inf both)
            self._update_nan(rows, None, x, w)
            self.n_dense += 1
            return
        self.weight[rows] += w
        if w == 1.0:
            self.sum[rows] += x
            self.sq[rows] += x * x
        else:
            wx = w * x
            self.sum[rows] += wx
            self.sq[rows] += wx * x
        np.fmin(self.min, x, out=self.min)
        np.fmax(self.max, x, out=self.max)
        self.n_obs += 1
        self.n_dense += 1

    def update_sparse(self, rows: np.ndarray, idx: np.ndarray, vals: np.ndarray, w: float) -> None:
        """Add a sparse row (non-zero ``vals`` at ``idx``; NaN = missing) to the classes ``rows``."""
        s = vals.sum()
        if s != s:
            self._update_nan(rows, idx, vals, w)
        else:
            self.weight[rows] += w
            r = rows[:, None]
            if w == 1.0:
                self.sum[r, idx] += vals
                self.sq[r, idx] += vals * vals
            else:
                wv = w * vals
                self.sum[r, idx] += wv
                self.sq[r, idx] += wv * vals
            self.min[idx] = np.fmin(self.min[idx], vals)
            self.max[idx] = np.fmax(self.max[idx], vals)
            self.n_obs += 1
        self.n_explicit[idx] += 1

    def _update_nan(self, rows: np.ndarray, idx: np.ndarray | None, vals: np.ndarray, w: float) -> None:
        nan = np.isnan(vals)
        if self.missing is None:
            self.missing = np.zeros_like(self.sum)
        where = np.flatnonzero(nan) if idx is None else idx[nan]
        self.missing[rows[:, None], where] += w
        clean = np.where(nan, 0.0, vals)
        self.weight[rows] += w
        if idx is None:
            cols: Any = slice(None)
            r: Any = rows
        else:
            cols, r = idx, rows[:, None]
        if w == 1.0:
            self.sum[r, cols] += clean
            self.sq[r, cols] += clean * clean
        else:
            wc = w * clean
            self.sum[r, cols] += wc
            self.sq[r, cols] += wc * clean
        self.min[cols] = np.fmin(self.min[cols], vals)
        self.max[cols] = np.fmax(self.max[cols], vals)
        self.n_obs += 1

    # ------------------------------------------------------------------ growth
    def add_classes(self, n: int) -> None:
        d = self.sum.shape[1]
        self.weight = np.concatenate([self.weight, np.zeros(n)])
        self.sum = np.vstack([self.sum, np.zeros((n, d))])
        self.sq = np.vstack([self.sq, np.zeros((n, d))])
        if self.missing is not None:
            self.missing = np.vstack([self.missing, np.zeros((n, d))])

    def add_features(self, n: int) -> None:
        """New features: every instance seen so far counts as a 0 there."""
        c = self.sum.shape[0]
        self.sum = np.hstack([self.sum, np.zeros((c, n))])
        self.sq = np.hstack([self.sq, np.zeros((c, n))])
        if self.missing is not None:
            self.missing = np.hstack([self.missing, np.zeros((c, n))])
        seen = 0.0 if self.n_obs else np.inf
        self.min = np.concatenate([self.min, np.full(n, seen)])
        self.max = np.concatenate([self.max, np.full(n, -seen)])
        self.n_explicit = np.concatenate([self.n_explicit, np.full(n, self.n_obs - self.n_dense, dtype=np.int64)])

    # --------------------------------------------------------------- estimates
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature (min, max) of the observed values, implicit zeros included."""
        implicit = (self.n_dense + self.n_explicit) < self.n_obs
        if not implicit.any():
            return self.min.copy(), self.max.copy()
        return np.where(implicit, np.fmin(self.min, 0.0), self.min), np.where(implicit, np.fmax(self.max, 0.0), self.max)

    def feature_weight(self, classes: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Weight of each class at each feature in ``cols`` (missing values excluded)."""
        w = np.repeat(self.weight[classes, None], cols.shape[0], axis=1)
        if self.missing is not None:
            w -= self.missing[np.ix_(classes, cols)]
        return w

    def moments(self, classes: np.ndarray, cols: np.ndarray | None = None):
        """``(mean, variance, weight)`` per class and feature, each ``(len(classes), len(cols))``."""
        if cols is None:
            cols = np.arange(self.sum.shape[1])
        wf = self.feature_weight(classes, cols)
        sub = np.ix_(classes, cols)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum[sub] / wf
            var = self.sq[sub] / wf - mean * mean
        mean = np.nan_to_num(mean, copy=False, nan=0.0)
        var = np.nan_to_num(var, copy=False, nan=0.0)
        np.maximum(var, 0.0, out=var)
        return mean, var, wf

    def left_weights(self, classes: np.ndarray, features: np.ndarray, points: np.ndarray):
        """Estimated weight of each class at or below each point.

        ``points`` is ``(F, P)`` (thresholds per feature); returns ``(left, weight)`` with ``left``
        of shape ``(len(classes), F, P)`` from each class's Gaussian CDF, and ``weight`` the class
        weights ``(len(classes), F)``.
        """
        mean, var, wf = self.moments(classes, features)
        std = np.sqrt(var)
        np.maximum(std, 1e-300, out=std)  # a constant class becomes a step at its value
        with np.errstate(over="ignore", invalid="ignore"):
            z = (points[None, :, :] - mean[:, :, None]) / std[:, :, None]
        left = ndtr(z)
        left *= wf[:, :, None]
        return left, wf

    def candidate_points(self, features: np.ndarray) -> np.ndarray:
        """``N_SPLIT_POINTS`` thresholds per feature, equally spaced strictly inside [min, max]."""
        lo, hi = self.bounds()
        lo, hi = lo[features], hi[features]
        return lo[:, None] + (hi - lo)[:, None] * _FRACTIONS[None, :]

    def nbytes(self) -> int:
        n = self.weight.nbytes + self.sum.nbytes + self.sq.nbytes + self.min.nbytes + self.max.nbytes
        n += self.n_explicit.nbytes + (self.missing.nbytes if self.missing is not None else 0)
        return n + 200

    # ------------------------------------------------------------- persistence
    def get_state(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "sum": self.sum,
            "sq": self.sq,
            "missing": self.missing,
            "min": self.min,
            "max": self.max,
            "n_obs": int(self.n_obs),
            "n_dense": int(self.n_dense),
            "n_explicit": self.n_explicit,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GaussianObserver:
        obs = cls.__new__(cls)
        obs.weight = np.asarray(state["weight"], dtype=np.float64)
        obs.sum = np.asarray(state["sum"], dtype=np.float64)
        obs.sq = np.asarray(state["sq"], dtype=np.float64)
        m = state.get("missing")
        obs.missing = None if m is None else np.asarray(m, dtype=np.float64)
        obs.min = np.asarray(state["min"], dtype=np.float64)
        obs.max = np.asarray(state["max"], dtype=np.float64)
        obs.n_obs = int(state["n_obs"])
        obs.n_dense = int(state["n_dense"])
        obs.n_explicit = np.asarray(state["n_explicit"], dtype=np.int64)
        return obs


class NominalObserver:
    """Per-class weight of each value code of the nominal features: ``counts[c, j, v]``.

    ``j`` indexes the tree's ``nominal_features`` list; codes are non-negative integers (the
    ordinal index of the value), and the value axis grows when a larger code appears. NaN codes
    are skipped.
    """

    __slots__ = ("counts",)

    def __init__(self, n_classes: int, n_nominal: int, n_values: int = 2) -> None:
        self.counts = np.zeros((n_classes, n_nominal, n_values))

    def update(self, rows: np.ndarray, codes: np.ndarray, w: float) -> None:
        ok = ~np.isnan(codes)
        if not ok.all():
            feats = np.flatnonzero(ok)
            codes = codes[ok]
        else:
            feats = np.arange(codes.shape[0])
        if codes.shape[0] == 0:
            return
        ci = codes.astype(np.intp)
        if ci.min() < 0:
            raise ValueError("nominal feature codes must be non-negative integers")
        top = int(ci.max())
        if top >= self.counts.shape[2]:
            self.counts = np.concatenate(
                [self.counts, np.zeros(self.counts.shape[:2] + (top + 1 - self.counts.shape[2],))], axis=2
            )
        self.counts[rows[:, None], feats[None, :], ci[None, :]] += w

    def add_classes(self, n: int) -> None:
        _, m, v = self.counts.shape
        self.counts = np.concatenate([self.counts, np.zeros((n, m, v))], axis=0)

    def nbytes(self) -> int:
        return self.counts.nbytes + 100
