"""Concentration bounds for the learners' online statistical tests.

>>> mean, bound = bernstein_gap(n=400, total=-20.0, total_sq=4.0, max_abs=0.5, delta=0.05)
>>> round(mean, 3), round(bound, 4), mean < -bound
(-0.05, 0.0118, True)
"""

from __future__ import annotations

import math

__all__ = ["bernstein_gap"]


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
