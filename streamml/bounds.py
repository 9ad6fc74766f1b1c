"""Concentration bounds for the learners' online statistical tests.

>>> mean, bound = bernstein_gap(n=400, total=-20.0, total_sq=4.0, max_abs=0.5, delta=0.05)
>>> round(mean, 3), round(bound, 4), mean < -bound
(-0.05, 0.0118, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["bernstein_gap", "PairedMicroF1"]


def bernstein_gap(n: float, total: float, total_sq: float, max_abs: float, delta: float) -> tuple[float, float]:
    """``(mean, bound)`` of paired differences: Bernstein's deviation bound at confidence ``1 - delta``.

    ``n`` differences (or their total weight) with sum ``total``, sum of squares ``total_sq`` and
    largest absolute value ``max_abs``: ``bound = sqrt(2 var ln(1/delta) / n) + R ln(1/delta) / (3 n)``
    with ``R = max_abs``. A mean beyond ``bound`` is a significant difference.
    """
    if n <= 1:
        return 0.0, float("inf")
    mean = total / n
    var = max(total_sq / n - mean * mean, 0.0)
    log = math.log(1.0 / delta)
    return mean, math.sqrt(2.0 * var * log / n) + max(max_abs, 1e-12) * log / (3.0 * n)


class PairedMicroF1:
    """Whether predictor *b* has a higher micro-F1 than predictor *a* on the same instances.

    Micro-F1 is not a mean over instances, so its difference has no per-instance terms to bound
    directly. It is linearised exactly: with ``F`` the micro-F1 of *a*, and ``TP``, ``FP`` and the
    number of relevant labels ``P`` summed over the instances, ``F_b > F`` holds exactly when
    ``(2 - F) (TP_b - TP_a) - F (FP_b - FP_a) > 0`` (the same expression is zero for *a*). Each
    instance adds one term ``d = (2 - F) dTP - F dFP``; :meth:`gap` gives their mean and the
    Bernstein bound on it (:func:`bernstein_gap`), with ``F`` plugged in from the same instances.
    Sums of ``dTP``, ``dFP`` and their squares and product are kept, so that ``F`` may change.

    >>> import numpy as np
    >>> cmp = PairedMicroF1()
    >>> y = np.array([True, True, False, False])
    >>> for _ in range(200):
    ...     cmp.update(y, a=np.array([True, False, False, False]), b=np.array([True, True, False, False]))
    >>> mean, bound = cmp.gap(delta=0.05)
    >>> round(cmp.micro_f1_a, 3), round(cmp.micro_f1_b, 3), mean > bound
    (0.667, 1.0, True)
    """

    def __init__(self) -> None:
        # n, sum dtp, sum dfp, sum dtp^2, sum dfp^2, sum dtp*dfp, max |dtp|, max |dfp|, tp_a, fp_a, tp_b, fp_b, positives
        # (a list: one instance adds to them on the hot path, where NumPy scalar writes cost more)
        self._sums = [0.0] * 13

    @classmethod
    def from_sums(cls, sums: Any) -> PairedMicroF1:
        """The comparison whose :attr:`sums` are ``sums`` (as saved)."""
        out = cls()
        out._sums = [float(v) for v in sums]
        return out

    @property
    def sums(self) -> np.ndarray:
        """The 13 running sums (a copy)."""
        return np.array(self._sums)

    @property
    def n(self) -> float:
        return self._sums[0]

    def update(self, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        """Add one instance: true labels ``y`` and the two boolean predictions."""
        tp_a, tp_b = int(np.count_nonzero(a & y)), int(np.count_nonzero(b & y))
        fp_a, fp_b = int(np.count_nonzero(a)) - tp_a, int(np.count_nonzero(b)) - tp_b
        dtp, dfp = float(tp_b - tp_a), float(fp_b - fp_a)
        s = self._sums
        s[0] += 1.0
        s[1] += dtp
        s[2] += dfp
        s[3] += dtp * dtp
        s[4] += dfp * dfp
        s[5] += dtp * dfp
        s[6] = max(s[6], abs(dtp))
        s[7] = max(s[7], abs(dfp))
        s[8] += tp_a
        s[9] += fp_a
        s[10] += tp_b
        s[11] += fp_b
        s[12] += int(np.count_nonzero(y))

    @staticmethod
    def _f1(tp: float, fp: float, positives: float) -> float:
        denominator = float(tp + fp + positives)
        return 2.0 * float(tp) / denominator if denominator else 1.0

    @property
    def micro_f1_a(self) -> float:
        return self._f1(self._sums[8], self._sums[9], self._sums[12])

    @property
    def micro_f1_b(self) -> float:
        return self._f1(self._sums[10], self._sums[11], self._sums[12])

    def gap(self, delta: float) -> tuple[float, float]:
        """``(mean, bound)``: *b* is significantly better when ``mean > bound``, worse when ``mean < -bound``."""
        s = self._sums
        f = self.micro_f1_a
        u, v = 2.0 - f, f
        total = u * s[1] - v * s[2]
        total_sq = u * u * s[3] + v * v * s[4] - 2.0 * u * v * s[5]
        return bernstein_gap(s[0], total, total_sq, u * s[6] + v * s[7], delta)
