"""Tests of streamml.metrics: batch definitions, the incremental/windowed accumulator, binned AUC.

Three independent references are used: River's multi-output metrics (fed ``{j: bool}`` dicts one
instance at a time), small examples worked out by hand, and, for the AUC, a brute-force count over
all (positive, negative) pairs plus ``scipy.stats.mannwhitneyu``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from river import metrics as rm
from river import utils as river_utils
from river.metrics import multioutput as rmo
from scipy.stats import mannwhitneyu

from streamml.metrics import METRIC_NAMES, MultiLabelMetrics, all_metrics, label_auc, macro_auc
from streamml.metrics import functional as F
from streamml.metrics.auc import BinnedAUC, score_bins

NON_AUC = [name for name in METRIC_NAMES if name != "macro_auc"]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- references
def river_factories():
    """A River metric computing each of our metrics except macro_auc (and hamming via 1 - x)."""
    return {
        "subset_accuracy": lambda: rmo.ExactMatch(),
        "hamming_loss": lambda: rmo.MicroAverage(rm.Accuracy()),  # 1 - micro accuracy
        "example_precision": lambda: rmo.SampleAverage(rm.Precision()),
        "example_recall": lambda: rmo.SampleAverage(rm.Recall()),
        "example_f1": lambda: rmo.SampleAverage(rm.F1()),
        "example_accuracy": lambda: rmo.SampleAverage(rm.Jaccard()),
        "micro_precision": lambda: rmo.MicroAverage(rm.Precision()),
        "micro_recall": lambda: rmo.MicroAverage(rm.Recall()),
        "micro_f1": lambda: rmo.MicroAverage(rm.F1()),
        "macro_precision": lambda: rmo.MacroAverage(rm.Precision()),
        "macro_recall": lambda: rmo.MacroAverage(rm.Recall()),
        "macro_f1": lambda: rmo.MacroAverage(rm.F1()),
    }


def as_dict(row: np.ndarray) -> dict[int, bool]:
    return {j: bool(v) for j, v in enumerate(row)}


def river_values(Y_true: np.ndarray, Y_pred: np.ndarray) -> dict[str, float]:
    ms = {name: make() for name, make in river_factories().items()}
    for t, p in zip(Y_true, Y_pred):
        yt, yp = as_dict(t), as_dict(p)
        for m in ms.values():
            m.update(yt, yp)
    out = {name: m.get() for name, m in ms.items()}
    out["hamming_loss"] = 1.0 - out["hamming_loss"]
    return out


def river_rolling_values(Y_true: np.ndarray, Y_pred: np.ndarray, window: int) -> list[dict[str, float]]:
    """River's values over a sliding window, after each instance (via utils.Rolling / revert)."""
    wrappers = {
        "subset_accuracy": (rmo.ExactMatch, {}),
        "hamming_loss": (rmo.MicroAverage, {"metric": rm.Accuracy()}),
        "example_recall": (rmo.SampleAverage, {"metric": rm.Recall()}),
        "example_accuracy": (rmo.SampleAverage, {"metric": rm.Jaccard()}),
        "micro_f1": (rmo.MicroAverage, {"metric": rm.F1()}),
        "macro_precision": (rmo.MacroAverage, {"metric": rm.Precision()}),
        "macro_f1": (rmo.MacroAverage, {"metric": rm.F1()}),
    }
    ms = {name: river_utils.Rolling(cls, window_size=window, **kw) for name, (cls, kw) in wrappers.items()}
    history = []
    for t, p in zip(Y_true, Y_pred):
        yt, yp = as_dict(t), as_dict(p)
        for m in ms.values():
            m.update(yt, yp)
        values = {name: m.get() for name, m in ms.items()}
        values["hamming_loss"] = 1.0 - values["hamming_loss"]
        history.append(values)
    return history


def pairwise_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Brute-force AUC: the mean over (positive, negative) pairs of [s+ > s-] + [s+ == s-] / 2."""
    pos, neg = s[y], s[~y]
    if pos.size == 0 or neg.size == 0:
        return math.nan
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def pairwise_macro_auc(Y: np.ndarray, S: np.ndarray) -> float:
    aucs = [pairwise_auc(Y[:, j], S[:, j]) for j in range(Y.shape[1])]
    aucs = [a for a in aucs if not math.isnan(a)]
    return float(np.mean(aucs)) if aucs else math.nan


def stream(Y_true, Y_pred, Y_score=None, **kwargs) -> MultiLabelMetrics:
    m = MultiLabelMetrics(**kwargs)
    for i in range(len(Y_true)):
        m.update(Y_true[i], Y_pred[i], None if Y_score is None else Y_score[i])
    return m


def assert_same(got: dict[str, float], want: dict[str, float], names=METRIC_NAMES, tol: float = 1e-9) -> None:
    for name in names:
        g, w = got[name], want[name]
        if math.isnan(w):
            assert math.isnan(g), f"{name}: got {g}, want NaN"
        else:
            assert g == pytest.approx(w, rel=tol, abs=tol), f"{name}: got {g}, want {w}"


# ---------------------------------------------------------------- strategies
@st.composite
def label_matrices(draw, min_n: int = 1, max_n: int = 12, min_L: int = 1, max_L: int = 6):
    """(Y_true, Y_pred, Y_score); some rows are forced to be empty in both truth and prediction."""
    n = draw(st.integers(min_n, max_n))
    L = draw(st.integers(min_L, max_L))
    cells = draw(st.lists(st.booleans(), min_size=2 * n * L, max_size=2 * n * L))
    Y = np.array(cells, dtype=bool).reshape(2, n, L)
    empty = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    Y[:, empty & np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)] = False
    score = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.1, 0.5, 0.55, 1.0]))
    S = np.array(draw(st.lists(score, min_size=n * L, max_size=n * L)), dtype=np.float64).reshape(n, L)
    return Y[0], Y[1], S


@st.composite
def ragged_streams(draw, max_len: int = 5, max_steps: int = 25):
    """Instances whose y_true / y_pred / y_score lengths vary (label growth, padding)."""
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        lt, lp, ls = (draw(st.integers(0, max_len)) for _ in range(3))
        t = np.array(draw(st.lists(st.booleans(), min_size=lt, max_size=lt)), dtype=bool)
        p = np.array(draw(st.lists(st.booleans(), min_size=lp, max_size=lp)), dtype=bool)
        s = np.array(draw(st.lists(st.sampled_from([0.0, 0.2, 0.21, 0.5, 0.9, 1.0]), min_size=ls, max_size=ls)))
        steps.append((t, p, s))
    return steps


def pad(v: np.ndarray, L: int) -> np.ndarray:
    out = np.zeros(L, dtype=v.dtype)
    out[: v.shape[0]] = v
    return out


# ------------------------------------------------------- property tests: cumulative
@PROPERTY
@given(label_matrices())
def test_incremental_matches_batch_functions(data):
    Y_true, Y_pred, Y_score = data
    got = stream(Y_true, Y_pred, Y_score).get()
    want = all_metrics(Y_true, Y_pred, Y_score)
    assert_same(got, want, NON_AUC, tol=1e-12)
    # each batch function on its own agrees with all_metrics
    for name in NON_AUC:
        assert_same({name: getattr(F, name)(Y_true, Y_pred)}, want, [name], tol=1e-12)


@PROPERTY
@given(label_matrices())
def test_incremental_and_batch_match_river(data):
    Y_true, Y_pred, _ = data
    want = river_values(Y_true, Y_pred)
    # River scores an instance with both label sets empty 0 on example-based metrics
    assert_same(stream(Y_true, Y_pred, empty_score=0.0).get(), want, NON_AUC)
    assert_same(all_metrics(Y_true, Y_pred, empty_score=0.0), want, NON_AUC)


@PROPERTY
@given(label_matrices(max_n=1))
def test_single_instance_matches_river(data):
    Y_true, Y_pred, _ = data
    assert_same(stream(Y_true, Y_pred, empty_score=0.0).get(), river_values(Y_true, Y_pred), NON_AUC)


@PROPERTY
@given(label_matrices(max_n=30), st.sampled_from([1, 7, 50, 1000]))
def test_binned_auc_within_bound_of_exact(data, bins):
    Y_true, Y_pred, Y_score = data
    m = stream(Y_true, Y_pred, Y_score, auc_bins=bins)
    exact = pairwise_macro_auc(Y_true, Y_score)
    assert macro_auc(Y_true, Y_score) == pytest.approx(exact, nan_ok=True)
    got, bound = m.get()["macro_auc"], m.auc_error_bound()
    if math.isnan(exact):
        assert math.isnan(got) and math.isnan(bound)
    else:
        assert 0.0 <= bound <= 0.5
        assert abs(got - exact) <= bound + 1e-12


@PROPERTY
@given(label_matrices(max_n=30))
def test_binary_scores_give_exact_auc(data):
    # 0/1 scores fall in the first and last bins only, and scores sharing a bin are equal
    Y_true, Y_pred, _ = data
    got = stream(Y_true, Y_pred, auc_bins=10).get()["macro_auc"]
    assert got == pytest.approx(all_metrics(Y_true, Y_pred)["macro_auc"], nan_ok=True)


@PROPERTY
@given(label_matrices(max_n=20))
def test_label_auc_matches_mannwhitneyu(data):
    Y_true, _, Y_score = data
    aucs = label_auc(Y_true, Y_score)
    for j in range(Y_true.shape[1]):
        pos, neg = Y_score[Y_true[:, j], j], Y_score[~Y_true[:, j], j]
        if pos.size and neg.size:
            u = mannwhitneyu(pos, neg).statistic
            assert aucs[j] == pytest.approx(u / (pos.size * neg.size))
        else:
            assert math.isnan(aucs[j])


# --------------------------------------------------------- property tests: windowed
@PROPERTY
@given(label_matrices(max_n=25), st.integers(1, 8))
def test_window_matches_batch_on_last_rows(data, window):
    Y_true, Y_pred, Y_score = data
    m = MultiLabelMetrics(window=window, auc_bins=20)
    for i in range(len(Y_true)):
        m.update(Y_true[i], Y_pred[i], Y_score[i])
        lo = max(0, i + 1 - window)
        assert m.n == i + 1 - lo
        got = m.get()
        assert_same(got, all_metrics(Y_true[lo : i + 1], Y_pred[lo : i + 1]), NON_AUC, tol=1e-12)
        # the histograms equal those of a fresh accumulator fed only the window's rows
        fresh = stream(Y_true[lo : i + 1], Y_pred[lo : i + 1], Y_score[lo : i + 1], auc_bins=20)
        assert_same(got, fresh.get(), ["macro_auc"], tol=1e-12)
        assert_same({"b": m.auc_error_bound()}, {"b": fresh.auc_error_bound()}, ["b"], tol=1e-12)
        exact = macro_auc(Y_true[lo : i + 1], Y_score[lo : i + 1])
        if not math.isnan(exact):
            assert abs(got["macro_auc"] - exact) <= m.auc_error_bound() + 1e-12


@PROPERTY
@given(label_matrices(max_n=20), st.integers(1, 6))
def test_window_matches_river_rolling(data, window):
    Y_true, Y_pred, _ = data
    m = MultiLabelMetrics(window=window, empty_score=0.0)
    for i, want in enumerate(river_rolling_values(Y_true, Y_pred, window)):
        m.update(Y_true[i], Y_pred[i])
        assert_same(m.get(), want, list(want))


@PROPERTY
@given(ragged_streams(), st.integers(1, 6), st.integers(0, 3))
def test_window_with_label_growth_matches_batch(steps, window, n_labels):
    m = MultiLabelMetrics(window=window, n_labels=n_labels, auc_bins=4)
    cum = MultiLabelMetrics(n_labels=n_labels, auc_bins=4)
    L = n_labels
    for i, (t, p, s) in enumerate(steps):
        m.update(t, p, s)
        cum.update(t, p, s)
        L = max(L, t.size, p.size, s.size)
        assert m.n_labels == cum.n_labels == L
        rows = steps[max(0, i + 1 - window) : i + 1]
        T = np.array([pad(r[0], L) for r in rows]).reshape(len(rows), L)
        P = np.array([pad(r[1], L) for r in rows]).reshape(len(rows), L)
        S = np.array([pad(r[2], L) for r in rows]).reshape(len(rows), L)
        got = m.get()
        assert_same(got, all_metrics(T, P, S), NON_AUC, tol=1e-12)
        fresh = stream(T, P, S, auc_bins=4, n_labels=L)
        assert_same(got, fresh.get(), ["macro_auc"], tol=1e-12)
        exact = macro_auc(T, S)
        if not math.isnan(exact):
            assert abs(got["macro_auc"] - exact) <= m.auc_error_bound() + 1e-12
    # and the cumulative accumulator equals the batch functions on all rows, padded
    T = np.array([pad(r[0], L) for r in steps]).reshape(len(steps), L)
    P = np.array([pad(r[1], L) for r in steps]).reshape(len(steps), L)
    S = np.array([pad(r[2], L) for r in steps]).reshape(len(steps), L)
    assert_same(cum.get(), all_metrics(T, P, S), NON_AUC, tol=1e-12)
    exact = macro_auc(T, S)
    if not math.isnan(exact):
        assert abs(cum.get()["macro_auc"] - exact) <= cum.auc_error_bound() + 1e-12


def test_long_windowed_stream_does_not_drift():
    rng = np.random.default_rng(1)
    n, L, window = 3000, 5, 7
    Y_true = rng.random((n, L)) < 0.3
    Y_pred = rng.random((n, L)) < 0.3
    S = rng.random((n, L))
    m = stream(Y_true, Y_pred, S, window=window, auc_bins=50)
    assert_same(m.get(), all_metrics(Y_true[-window:], Y_pred[-window:]), NON_AUC, tol=1e-13)
    fresh = stream(Y_true[-window:], Y_pred[-window:], S[-window:], auc_bins=50)
    assert m.get()["macro_auc"] == fresh.get()["macro_auc"]


# ------------------------------------------------------------- hand-worked examples
def test_hand_worked_example():
    # instance   true      pred      |T&P| |T| |P|  prec  rec   f1    jaccard  exact  wrong cells
    #   0       {0,1}     {0}          1    2   1    1     1/2   2/3   1/2      no     1
    #   1       {2}       {1,2}        1    1   2    1/2   1     2/3   1/2      no     1
    #   2       {}        {}           0    0   0    e     e     e     e        yes    0
    #   3       {0,2}     {0,2}        2    2   2    1     1     1     1        yes    0
    # n = 4, L = 3; e = empty_score: 1 by default (MEKA), 0 in River
    Y_true = np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 1]], dtype=bool)
    Y_pred = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0], [1, 0, 1]], dtype=bool)
    # per label:  label 0: TP=2 FP=0 FN=0 -> P=1,   R=1, F1=1
    #             label 1: TP=0 FP=1 FN=1 -> P=0,   R=0, F1=0
    #             label 2: TP=2 FP=0 FN=0 -> P=1,   R=1, F1=1
    # pooled:     TP=4, FP=1, FN=1 -> P = 4/5, R = 4/5, F1 = 8/10
    e = 0.0
    want = {
        "subset_accuracy": 2 / 4,
        "hamming_loss": 2 / 12,
        "example_precision": (1 + 1 / 2 + e + 1) / 4,
        "example_recall": (1 / 2 + 1 + e + 1) / 4,
        "example_f1": (2 / 3 + 2 / 3 + e + 1) / 4,
        "example_accuracy": (1 / 2 + 1 / 2 + e + 1) / 4,
        "micro_precision": 4 / 5,
        "micro_recall": 4 / 5,
        "micro_f1": 8 / 10,
        "macro_precision": 2 / 3,
        "macro_recall": 2 / 3,
        "macro_f1": 2 / 3,
    }
    assert_same(all_metrics(Y_true, Y_pred, empty_score=0.0), want, NON_AUC, tol=1e-15)
    assert_same(stream(Y_true, Y_pred, empty_score=0.0).get(), want, NON_AUC, tol=1e-15)
    assert_same(river_values(Y_true, Y_pred), want, NON_AUC)
    # the default scores the empty instance (row 2) as a perfect prediction
    for name in ("example_precision", "example_recall", "example_f1", "example_accuracy"):
        want[name] += 1 / 4
    assert_same(all_metrics(Y_true, Y_pred), want, NON_AUC, tol=1e-15)
    assert_same(stream(Y_true, Y_pred).get(), want, NON_AUC, tol=1e-15)


def test_hand_worked_macro_with_label_never_relevant():
    # label 0: TP=1 FP=1 FN=0 -> P=1/2, R=1, F1=2/3
    # label 1: never relevant, predicted once: TP=0 FP=1 -> P=0, R=0/0 -> 0, F1=0
    # label 2: never relevant, never predicted: P=0/0 -> 0, R -> 0, F1 -> 0 (River's MacroAverage)
    Y_true = np.array([[1, 0, 0], [0, 0, 0]], dtype=bool)
    Y_pred = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
    want = {"macro_precision": (1 / 2) / 3, "macro_recall": 1 / 3, "macro_f1": (2 / 3) / 3}
    assert_same(stream(Y_true, Y_pred).get(), want, list(want), tol=1e-15)
    assert_same(river_values(Y_true, Y_pred), want, list(want))


def test_hand_worked_auc():
    # label 0: positives score 0.9, 0.35; negatives 0.3, 0.1.  All 4 pairs won -> exact AUC 1.
    #          With 10 bins, 0.35 and 0.3 share bin 3: that pair counts 1/2 -> binned 3.5/4 = 0.875,
    #          bound 0.5 * 1 / 4 = 0.125.
    # label 1: positive 0.6; negatives 0.6 (tie), 0.2, 0.8 -> exact (1/2 + 1 + 0) / 3 = 1/2.
    #          0.6 and 0.6 share bin 6 -> binned is also 1/2; bound 0.5 * 1 / 3 = 1/6.
    # label 2: no positive -> excluded from the macro average.
    Y_true = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=bool)
    S = np.array([[0.9, 0.6, 0.5], [0.35, 0.6, 0.5], [0.3, 0.2, 0.5], [0.1, 0.8, 0.5]])
    assert list(label_auc(Y_true, S)[:2]) == [1.0, 0.5] and math.isnan(label_auc(Y_true, S)[2])
    assert macro_auc(Y_true, S) == 0.75
    m = stream(Y_true, Y_true, S, auc_bins=10)
    assert m.get()["macro_auc"] == pytest.approx((0.875 + 0.5) / 2)
    assert m.auc_error_bound() == pytest.approx((0.125 + 1 / 6) / 2)


def test_river_rocauc_loosely():
    # River's ROCAUC integrates a thresholded ROC curve: only a rough check of the scale.
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.4
    s = np.clip(rng.random(400) * 0.7 + 0.3 * y, 0, 1)
    ours = stream(y[:, None], (s >= 0.5)[:, None], s[:, None]).get()["macro_auc"]
    river_auc = rm.ROCAUC(n_thresholds=200)
    for yy, ss in zip(y, s):
        river_auc.update(bool(yy), float(ss))
    assert ours == pytest.approx(river_auc.get(), abs=0.01)
    assert ours == pytest.approx(pairwise_auc(y, s), abs=1e-3)


# ---------------------------------------------------------------------- edge cases
def test_metric_names_and_key_order():
    assert METRIC_NAMES == (
        "subset_accuracy", "hamming_loss", "example_precision", "example_recall", "example_f1",
        "example_accuracy", "micro_precision", "micro_recall", "micro_f1", "macro_precision",
        "macro_recall", "macro_f1", "macro_auc",
    )  # fmt: skip
    m = stream(np.ones((2, 2), bool), np.ones((2, 2), bool))
    assert tuple(m.get()) == METRIC_NAMES
    assert tuple(all_metrics(np.ones((2, 2), bool), np.ones((2, 2), bool))) == METRIC_NAMES


@pytest.mark.parametrize("window", [None, 3])
def test_no_instance_gives_nan(window):
    m = MultiLabelMetrics(window=window, n_labels=4)
    assert m.n == 0
    assert all(math.isnan(v) for v in m.get().values())
    assert math.isnan(m.auc_error_bound())
    empty = np.zeros((0, 4), dtype=bool)
    assert all(math.isnan(v) for v in all_metrics(empty, empty).values())


@pytest.mark.parametrize("window", [None, 2])
def test_empty_true_and_predicted_sets_convention(window):
    # An instance with T = P = {} is an exact match with no wrong cell; on example precision /
    # recall / F1 / Jaccard it scores 1 by default (MEKA, published tables) and 0 in River.
    default = MultiLabelMetrics(window=window)
    for _ in range(3):
        default.update(np.zeros(3, bool), np.zeros(3, bool))
    for name in ("example_precision", "example_recall", "example_f1", "example_accuracy"):
        assert default.get()[name] == 1.0
    m = MultiLabelMetrics(window=window, empty_score=0.0)
    for _ in range(3):
        m.update(np.zeros(3, bool), np.zeros(3, bool))
    got = m.get()
    assert got["subset_accuracy"] == 1.0
    assert got["hamming_loss"] == 0.0
    for name in ("example_precision", "example_recall", "example_f1", "example_accuracy"):
        assert got[name] == 0.0
    for name in ("micro_precision", "micro_recall", "micro_f1", "macro_precision", "macro_recall", "macro_f1"):
        assert got[name] == 0.0
    assert math.isnan(got["macro_auc"])  # no label has a positive
    Z = np.zeros((3, 3), dtype=bool)
    assert_same(all_metrics(Z, Z, empty_score=0.0), got, NON_AUC)
    assert_same(river_values(Z, Z), got, NON_AUC)


def test_one_sided_empty_sets():
    # T = {0}, P = {}: precision 0 (nothing predicted), recall 0, F1 0, Jaccard 0
    # T = {}, P = {1}: precision 0, recall 0 (nothing relevant), F1 0, Jaccard 0
    Y_true = np.array([[1, 0], [0, 0]], dtype=bool)
    Y_pred = np.array([[0, 0], [0, 1]], dtype=bool)
    got = stream(Y_true, Y_pred).get()
    for name in ("subset_accuracy", "example_precision", "example_recall", "example_f1", "example_accuracy"):
        assert got[name] == 0.0
    assert got["hamming_loss"] == 2 / 4
    assert_same(river_values(Y_true, Y_pred), got, NON_AUC)


def test_zero_labels():
    m = MultiLabelMetrics()
    m.update(np.zeros(0, bool), np.zeros(0, bool))
    got = m.get()
    assert m.n == 1 and m.n_labels == 0
    # with no label at all, both sets are empty: example metrics take empty_score (1 by default)
    assert got["subset_accuracy"] == 1.0 and got["example_f1"] == 1.0 and got["micro_f1"] == 0.0
    for name in ("hamming_loss", "macro_precision", "macro_recall", "macro_f1", "macro_auc"):
        assert math.isnan(got[name])
    Z = np.zeros((1, 0), dtype=bool)
    assert_same(all_metrics(Z, Z), got)


def test_label_growth_mid_stream_by_hand():
    m = MultiLabelMetrics(auc_bins=10)
    # two instances over one label, then a third label space of size 3
    m.update(np.array([True]), np.array([True]), np.array([0.8]))
    m.update(np.array([False]), np.array([True]), np.array([0.7]))
    assert m.get()["hamming_loss"] == 1 / 2
    m.update(np.array([False, False, True]), np.array([False, True, True]), np.array([0.1, 0.9, 0.6]))
    # the first two instances are negatives of labels 1 and 2 (score 0, not predicted):
    # wrong cells: instance 1 label 0, instance 2 label 1 -> 2 of 3 * 3
    got = m.get()
    assert m.n_labels == 3
    assert got["hamming_loss"] == pytest.approx(2 / 9)
    # label 0: pos {0.8}, neg {0.7, 0.1} -> 1; label 1: no positive; label 2: pos {0.6}, neg {0, 0} -> 1
    assert got["macro_auc"] == 1.0 and m.auc_error_bound() == 0.0
    # label 1 (never relevant, predicted once) counts 0 in the macro averages
    # label 0: P = 1/2, R = 1, F1 = 2/3; label 2: P = R = F1 = 1
    assert got["macro_precision"] == pytest.approx((1 / 2 + 0 + 1) / 3)
    assert got["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    # a shorter vector: missing trailing labels are irrelevant and not predicted
    m.update(np.array([True]), np.array([True, False, False]))
    assert m.get()["hamming_loss"] == pytest.approx(2 / 12)


def test_prediction_shorter_than_truth():
    # the learner predicts before it knows label 1: its prediction is padded with "not relevant"
    m = MultiLabelMetrics()
    m.update(np.array([True, True]), np.array([True]))
    got = m.get()
    assert got["example_recall"] == 1 / 2 and got["example_precision"] == 1.0
    assert got["hamming_loss"] == 1 / 2


def test_window_eviction_across_label_growth_by_hand():
    m = MultiLabelMetrics(window=2)
    m.update(np.array([True]), np.array([False]))  # 1 wrong cell
    m.update(np.array([True, True]), np.array([True, True]))  # grows to 2 labels
    assert m.get()["hamming_loss"] == 1 / 4
    m.update(np.array([False, True]), np.array([False, True]))  # evicts the first instance
    got = m.get()
    assert m.n == 2 and got["hamming_loss"] == 0.0 and got["subset_accuracy"] == 1.0
    assert got["macro_recall"] == 1.0  # label 0's false negative has left the window


def test_score_none_uses_prediction():
    Y_true = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)
    Y_pred = np.array([[1, 0], [1, 1], [0, 1]], dtype=bool)
    a = stream(Y_true, Y_pred).get()["macro_auc"]
    b = stream(Y_true, Y_pred, Y_pred.astype(float)).get()["macro_auc"]
    assert a == b == macro_auc(Y_true, Y_pred.astype(float))


def test_score_bins_clip_and_nan():
    assert list(score_bins(np.array([-0.5, 0.0, 0.0999, 0.1, 0.99, 1.0, 2.0, np.nan]), 10)) == [
        0, 0, 0, 1, 9, 9, 9, 0,
    ]  # fmt: skip


def test_binned_auc_growth_keeps_counts():
    auc = BinnedAUC(n_bins=4)
    auc.grow(1)
    auc.add(np.array([True]), np.array([3]))
    auc.add(np.array([False]), np.array([1]))
    for k in range(2, 40):  # one label at a time: capacity doubles, counts survive
        auc.grow(k, n_negatives=2)
    neg, pos = auc.histograms
    assert neg.shape == (39, 4)
    assert pos[0, 3] == 1 and neg[0, 1] == 1 and neg[1:, 0].tolist() == [2] * 38 and pos[1:].sum() == 0


def test_invalid_arguments():
    with pytest.raises(ValueError):
        MultiLabelMetrics(window=0)
    with pytest.raises(ValueError):
        MultiLabelMetrics(auc_bins=0)
    with pytest.raises(ValueError):
        all_metrics(np.zeros((2, 3), bool), np.zeros((2, 2), bool))
