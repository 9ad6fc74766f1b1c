"""The statistical tests' bounds: Bernstein's bound and the paired micro-F1 comparison."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamml.bounds import PairedMicroF1, bernstein_gap


def _micro_f1(Y: np.ndarray, P: np.ndarray) -> float:
    """The reference definition, 2 TP / (2 TP + FP + FN), over whole matrices."""
    tp = np.count_nonzero(P & Y)
    return 2 * tp / (2 * tp + np.count_nonzero(P & ~Y) + np.count_nonzero(~P & Y))


def test_bernstein_gap_by_hand():
    d = np.array([0.5, -0.25, 0.25, 0.0, 0.5])
    mean, bound = bernstein_gap(len(d), d.sum(), (d * d).sum(), 0.5, 0.1)
    var = d.var()  # population variance, as the bound uses it
    log = math.log(10.0)
    assert mean == pytest.approx(0.2)
    assert bound == pytest.approx(math.sqrt(2 * var * log / 5) + 0.5 * log / 15)
    assert bernstein_gap(1, 0.5, 0.25, 0.5, 0.1) == (0.0, float("inf"))


@pytest.mark.parametrize("seed", range(6))
def test_paired_micro_f1_sign_is_exactly_the_sign_of_the_f1_difference(seed):
    rng = np.random.default_rng(seed)
    n, L = 300, 9
    Y = rng.random((n, L)) < 0.3
    A = np.where(rng.random((n, L)) < 0.7, Y, rng.random((n, L)) < 0.2)
    B = np.where(rng.random((n, L)) < 0.3 + 0.1 * seed, Y, rng.random((n, L)) < 0.1 * (seed % 3))
    cmp = PairedMicroF1()
    for y, a, b in zip(Y, A, B):
        cmp.update(y, a, b)
    fa, fb = _micro_f1(Y, A), _micro_f1(Y, B)
    assert cmp.micro_f1_a == pytest.approx(fa) and cmp.micro_f1_b == pytest.approx(fb)
    mean, bound = cmp.gap(0.05)
    assert np.sign(mean) == np.sign(fb - fa)
    # the same bound as Bernstein's over the explicit per-instance terms (2 - F) dTP - F dFP
    dtp = (B & Y).sum(1) - (A & Y).sum(1)
    dfp = (B & ~Y).sum(1) - (A & ~Y).sum(1)
    d = (2 - fa) * dtp - fa * dfp
    r = (2 - fa) * np.abs(dtp).max() + fa * np.abs(dfp).max()
    assert (mean, bound) == pytest.approx(bernstein_gap(n, d.sum(), (d * d).sum(), r, 0.05))


def test_paired_micro_f1_tells_fewer_misses_from_fewer_false_alarms():
    """Hamming loss prefers predicting nothing on sparse labels; micro-F1 does not."""
    y = np.zeros(20, dtype=bool)
    y[:2] = True
    silent = np.zeros(20, dtype=bool)  # Hamming loss 2/20, micro-F1 0
    eager = []  # both labels and two false alarms, missing label 1 on a third of the instances
    for i in range(150):
        e = np.zeros(20, dtype=bool)
        e[[0, 2, 3]] = True
        e[1] = i % 3 != 0
        eager.append(e)
    cmp = PairedMicroF1()
    for e in eager:
        cmp.update(y, silent, e)
    mean, bound = cmp.gap(0.05)
    assert cmp.micro_f1_a == 0.0 and mean > bound
    # on the same instances Hamming loss finds the silent predictor no worse
    hamming_gain = [np.mean(silent != y) - np.mean(e != y) for e in eager]
    assert np.mean(hamming_gain) < 0
