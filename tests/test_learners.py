"""The foundation learners: majority labelset, binary relevance, vectorised logistic regression."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.sparse as sp
from river import base as river_base
from river import linear_model, multioutput, tree

from helpers import yeast_arrays
from streamml import registry
from streamml.base import MultiLabelLearner
from streamml.learners import (
    BinaryRelevance,
    BRLogisticRegression,
    MajorityLabelset,
    RiverMultiLabel,
    row_to_dict,
)
from streamml.schema import SparseRow


# ------------------------------------------------------------------------------------- helpers
def micro_f1(model: MultiLabelLearner, X: np.ndarray, Y: np.ndarray) -> float:
    """Prequential (test-then-train) micro-F1 through the row API."""
    tp = fp = fn = 0
    for x, y in zip(X, Y):
        pred = model.predict_row(x)
        if pred.shape[0] < y.shape[0]:
            pred = np.concatenate([pred, np.zeros(y.shape[0] - pred.shape[0], dtype=bool)])
        tp += int(np.sum(pred & y))
        fp += int(np.sum(pred & ~y))
        fn += int(np.sum(~pred & y))
        model.learn_row(x, y)
    return 2 * tp / (2 * tp + fp + fn)


def separable(n: int, seed: int = 0, density: float = 1.0, nan: float = 0.0):
    """A linearly separable 3-label problem over 6 features (optionally sparse, with NaN)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 6))
    if density < 1.0:
        X[rng.random(X.shape) > density] = 0.0
    w = np.array([[2.0, 0, 1], [-1, 1, 0], [0, 2, 0], [1, 0, -2], [0, -1, 1], [0.5, 0, 0]])
    Y = X @ w > np.array([0.0, 0.1, -0.1])
    if nan:
        X[rng.random(X.shape) < nan] = np.nan
    return X, Y


ALL_LEARNERS = {
    "majority": MajorityLabelset,
    "br-lr": BRLogisticRegression,
    "br-lr-std": functools.partial(BRLogisticRegression, standardize=True, lr=0.005),
    "br-ht": BinaryRelevance,
    "br-river-lr": lambda: BinaryRelevance(linear_model.LogisticRegression()),
    "river-peer": lambda: RiverMultiLabel(multioutput.PerOutputClassifier(linear_model.LogisticRegression())),
}


# ---------------------------------------------------------------------------- MajorityLabelset
def test_majority_predicts_joint_mode_and_marginals():
    m = MajorityLabelset()
    x = np.zeros(2)
    for y in ([1, 1, 0], [1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 1, 0], [1, 1, 0]):
        m.learn_row(x, np.array(y, dtype=bool))
    # [1,0,1] reached 2 first, [0,1,0] tied it later, [1,1,0] tied it last: the earliest wins.
    assert m.predict_row(x).tolist() == [True, False, True]
    np.testing.assert_allclose(m.predict_proba_row(x), [4 / 6, 4 / 6, 2 / 6])
    m.learn_row(x, np.array([0, 1, 0], dtype=bool))
    assert m.predict_row(x).tolist() == [False, True, False]
    assert m.n_labelsets == 3


def test_majority_before_learning_and_weights():
    m = MajorityLabelset()
    assert m.predict_row(np.zeros(1)).tolist() == []
    m.learn_row(np.zeros(1), np.array([True, False]), w=3.0)
    m.learn_row(np.zeros(1), np.array([False, True]))
    m.learn_row(np.zeros(1), np.array([False, True]))
    assert m.predict_row(np.zeros(1)).tolist() == [True, False]
    np.testing.assert_allclose(m.predict_proba_row(np.zeros(1)), [0.6, 0.4])


def test_majority_label_growth_keeps_labelset_identity_across_byte_boundary():
    m = MajorityLabelset()
    x = np.zeros(1)
    y7 = np.array([1, 0, 0, 0, 0, 0, 1], dtype=bool)
    m.learn_row(x, y7)
    m.learn_row(x, y7)
    # 10 labels now: y7 padded with False must be the same labelset as before.
    y10 = np.concatenate([y7, np.zeros(3, dtype=bool)])
    other = np.zeros(10, dtype=bool)
    other[9] = True
    m.learn_row(x, other)
    m.learn_row(x, other)
    m.learn_row(x, y10)
    assert m.n_labelsets == 2
    assert m.predict_row(x).tolist() == y10.tolist()
    # The earlier rows count as "absent" for the new labels.
    np.testing.assert_allclose(m.predict_proba_row(x)[[0, 6, 9]], [3 / 5, 3 / 5, 2 / 5])
    # A shorter vector pads with False, i.e. the same labelset again.
    m.learn_row(x, y7)
    assert m._counts[np.packbits(y10).tobytes().rstrip(b"\0")] == 4


# ------------------------------------------------------------------------ BRLogisticRegression
def test_brlr_learns_linearly_separable_problem():
    X, Y = separable(4000)
    m = BRLogisticRegression(lr=0.5)
    m.learn_many(X[:3000], Y[:3000])
    acc = (m.predict_many(X[3000:]) == Y[3000:]).mean(axis=0)
    assert acc.min() > 0.93, acc
    # A fresh model predicts nothing relevant: the learning made the difference.
    fresh = BRLogisticRegression()
    fresh.learn_row(X[0], Y[0] & False)
    assert (fresh.predict_many(X[3000:]) == Y[3000:]).mean() < 0.8


@pytest.mark.parametrize(
    "params",
    [{}, {"l2": 0.01}, {"clip_gradient": 0.05, "lr": 0.5}, {"standardize": True, "lr": 0.01}],
    ids=["plain", "l2", "clip", "standardize"],
)
def test_brlr_dense_and_sparse_paths_agree(params):
    X, Y = separable(600, seed=1, density=0.3, nan=0.05)
    dense, sparse = BRLogisticRegression(**params), BRLogisticRegression(**params)
    for x, y in zip(X, Y):
        dense.learn_row(x, y)
        sparse.learn_row(SparseRow.from_dense(x), y)
    assert dense.weights_.shape == (6, 3)
    assert np.abs(dense.weights_).max() > 0.1  # something was learned
    np.testing.assert_allclose(dense.weights_, sparse.weights_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dense.intercept_, sparse.intercept_, rtol=1e-9, atol=1e-12)
    for x in X[:50]:
        np.testing.assert_allclose(dense.predict_proba_row(x), sparse.predict_proba_row(SparseRow.from_dense(x)))
        np.testing.assert_allclose(dense.predict_proba_row(x), dense.predict_proba_row(SparseRow.from_dense(x)))


def test_brlr_nan_is_zero_and_untouched():
    m = BRLogisticRegression(l2=0.5)
    m.learn_row(np.array([1.0, 1.0, 1.0]), np.array([True]))
    w_before = m.weights_.copy()
    m.learn_row(np.array([np.nan, 0.0, 2.0]), np.array([False]))
    # Rows of missing and zero features were neither updated nor shrunk.
    assert m.weights_[0, 0] == w_before[0, 0] and m.weights_[1, 0] == w_before[1, 0]
    assert m.weights_[2, 0] < w_before[2, 0]
    np.testing.assert_allclose(
        m.predict_proba_row(np.array([np.nan, 0.0, 2.0])), m.predict_proba_row(np.array([0.0, 0.0, 2.0]))
    )


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_brlr_learn_many_equals_learn_row_loop(fmt, standardize):
    X, Y = separable(300, seed=2, density=0.5, nan=0.02)
    Xin = sp.csr_matrix(np.nan_to_num(X, nan=0.0)) if fmt == "csr" else X
    if fmt == "csr":
        X = np.nan_to_num(X, nan=0.0)
    Y2 = Y[:, :2]  # a shorter label matrix pads with False after the first batch
    many, loop = BRLogisticRegression(standardize=standardize), BRLogisticRegression(standardize=standardize)
    many.learn_many(Xin[:100], Y[:100])
    many.learn_many(Xin[100:], Y2[100:])
    rows = [SparseRow.from_dense(x) for x in X] if fmt == "csr" else list(X)
    for i, (x, y) in enumerate(zip(rows, Y)):
        loop.learn_row(x, y if i < 100 else Y2[i])
    assert np.array_equal(many.weights_, loop.weights_)
    assert np.array_equal(many.intercept_, loop.intercept_)


@pytest.mark.parametrize("standardize", [False, True])
def test_brlr_predict_proba_many_matches_rows(standardize):
    X, Y = separable(300, seed=3, density=0.5, nan=0.03)
    m = BRLogisticRegression(standardize=standardize)
    m.learn_many(X[:200], Y[:200])
    test = X[200:]
    per_row = np.vstack([m.predict_proba_row(x) for x in test])
    np.testing.assert_allclose(m.predict_proba_many(test), per_row, rtol=1e-12)
    csr = sp.csr_matrix(np.nan_to_num(test, nan=0.0))
    per_row_sparse = np.vstack([m.predict_proba_row(SparseRow.from_dense(x)) for x in csr.toarray()])
    np.testing.assert_allclose(m.predict_proba_many(csr), per_row_sparse, rtol=1e-12)
    assert np.array_equal(m.predict_many(test), per_row > 0.5)
    # Fewer columns than known features: the missing trailing features are zeros.
    np.testing.assert_allclose(
        m.predict_proba_many(test[:, :4]), np.vstack([m.predict_proba_row(np.r_[x[:4], 0, 0]) for x in test])
    )
    assert m.predict_proba_many(np.zeros((0, 6))).shape == (0, 3)


def test_brlr_grows_features_geometrically_and_labels_with_zero_columns():
    m = BRLogisticRegression()
    for d in range(1, 101):
        m.learn_row(np.ones(d), np.array([True]))
    assert m.weights_.shape == (100, 1)
    assert m._W.shape[0] < 256  # capacity doubled, not one row per new feature
    first_rows = m.weights_[:5, 0].copy()
    m.learn_row(np.ones(3), np.array([True, False, True]))
    assert m.weights_.shape == (100, 3)
    # The new labels started at zero: one step from 0 gives +-lr * x * 0.5 exactly.
    np.testing.assert_allclose(m.weights_[:3, 1], [-0.05, -0.05, -0.05])
    np.testing.assert_allclose(m.weights_[:3, 2], [0.05, 0.05, 0.05])
    assert np.all(m.weights_[3:, 1:] == 0)
    assert np.all(m.weights_[3:5, 0] == first_rows[3:5])


def test_brlr_matches_river_logistic_regression():
    """Same maths as River's LogisticRegression with the same step sizes (the benchmark peer)."""
    X, Y = yeast_arrays()
    ours = BRLogisticRegression(lr=0.1, intercept_lr=0.01)
    river_peer = registry.river_br_logistic(lr=0.1)
    for x, y in zip(X[:300], Y[:300]):
        np.testing.assert_allclose(ours.predict_proba_row(x), river_peer.predict_proba_row(x), atol=1e-9)
        ours.learn_row(x, y)
        river_peer.learn_row(x, y)
    assert np.abs(ours.weights_).max() > 0.1


def test_brlr_beats_majority_on_yeast():
    X, Y = yeast_arrays()
    f1_lr = micro_f1(registry.make("br-lr"), X, Y)
    f1_majority = micro_f1(registry.make("majority"), X, Y)
    assert f1_lr > 0.59, f1_lr
    assert f1_lr > f1_majority + 0.04, (f1_lr, f1_majority)


def test_brlr_rejects_bad_parameters():
    with pytest.raises(ValueError):
        BRLogisticRegression(lr=0)
    with pytest.raises(ValueError):
        BRLogisticRegression(l2=-1)
    with pytest.raises(ValueError):
        BRLogisticRegression(clip_gradient=0)


# ----------------------------------------------------------------------------- BinaryRelevance
class Recorder(river_base.Classifier):
    """A River classifier that records what it is given and always answers P(True) = 0.7."""

    def __init__(self, p: float = 0.7):
        self.p = p
        self.seen: list[tuple[dict, bool]] = []

    def learn_one(self, x, y, **kwargs):
        self.seen.append((dict(x), y))

    def predict_proba_one(self, x, **kwargs):
        return {False: 1 - self.p, True: self.p}


def test_row_to_dict_dense_and_sparse():
    names = ["a", "b", "c", "d"]
    assert row_to_dict(np.array([0.0, 1.5, np.nan, -2.0]), names) == {"a": 0.0, "b": 1.5, "d": -2.0}
    assert row_to_dict(np.array([0.0, 1.5]), names) == {"a": 0.0, "b": 1.5}
    row = SparseRow(np.array([1, 3], dtype=np.int32), np.array([1.5, np.nan]), 4)
    assert row_to_dict(row, names) == {"b": 1.5}


def test_binary_relevance_feeds_every_label_model_one_dict():
    m = BinaryRelevance(Recorder())
    m.learn_row(np.array([0.0, 2.0, np.nan]), np.array([True, False]))
    m.learn_row(SparseRow.from_dense(np.array([0.0, 3.0, 0.0])), np.array([False, True]))
    assert len(m.models_) == 2 and m.models_[0] is not m.models_[1] and m.model.seen == []
    assert m.models_[0].seen == [({0: 0.0, 1: 2.0}, True), ({1: 3.0}, False)]
    assert m.models_[1].seen == [({0: 0.0, 1: 2.0}, False), ({1: 3.0}, True)]
    np.testing.assert_allclose(m.predict_proba_row(np.zeros(3)), [0.7, 0.7])
    # A new label gets a fresh model that has seen nothing before it.
    m.learn_row(np.ones(3), np.array([True, True, True]))
    assert len(m.models_) == 3 and len(m.models_[2].seen) == 1
    pred, proba = m.predict_row_and_proba(np.zeros(3))
    assert pred.tolist() == [True] * 3 and proba.tolist() == [0.7] * 3


def test_binary_relevance_untrained_label_is_irrelevant():
    lr = BinaryRelevance(linear_model.LogisticRegression())
    lr.learn_row(np.ones(2), np.array([True]))
    lr.learn_one({0: 1.0, 1: 1.0}, {0: True, "new": False})
    ht = BinaryRelevance()
    ht.learn_row(np.ones(2), np.array([True]))
    ht._add_labels(["never-learned"])
    assert ht.predict_proba_row(np.ones(2))[1] == 0.0  # empty Hoeffding tree: {} -> 0
    fresh = BinaryRelevance(linear_model.LogisticRegression())
    fresh._add_labels(["a"])
    assert fresh.predict_proba_row(np.ones(2)).tolist() == [0.5]
    assert fresh.predict_row(np.ones(2)).tolist() == [False]


def test_binary_relevance_requires_a_binary_river_classifier():
    with pytest.raises(TypeError):
        BinaryRelevance(multioutput.PerOutputClassifier(linear_model.LogisticRegression()))
    with pytest.raises(TypeError):
        BinaryRelevance("tree")  # type: ignore[arg-type]


def test_binary_relevance_clone_is_fresh():
    m = BinaryRelevance(tree.HoeffdingTreeClassifier(grace_period=50))
    X, Y = yeast_arrays()
    m.learn_many(X[:20], Y[:20])
    c = m.clone()
    assert type(c) is BinaryRelevance and c.model.grace_period == 50 and c.models_ == []
    assert c.model is not m.model


def test_river_adapter_matches_river_used_directly():
    X, Y = yeast_arrays()
    direct = multioutput.PerOutputClassifier(linear_model.LogisticRegression())
    adapter = RiverMultiLabel(multioutput.PerOutputClassifier(linear_model.LogisticRegression()))
    for x, y in zip(X[:100], Y[:100]):
        xd = dict(enumerate(x.tolist()))
        p = direct.predict_proba_one(xd)
        expected = [p[j][True] if j in p else 0.0 for j in range(14)]
        got = adapter.predict_proba_row(x)
        assert got.tolist() == (expected if adapter.n_labels else [])
        direct.learn_one(xd, dict(enumerate(y.tolist())))
        adapter.learn_row(x, y)
    assert len(adapter.model) == 0  # the template stays untrained
    assert sorted(adapter.model_.keys()) == list(range(14))


# ------------------------------------------------------------------------------------ dict API
@pytest.mark.parametrize("name", list(ALL_LEARNERS))
def test_dict_api_and_label_growth(name):
    m = ALL_LEARNERS[name]()
    assert m.predict_one({"a": 1.0}) == {} and m.predict_proba_one({"a": 1.0}) == {}
    for i in range(40):  # "odd" is relevant in 3 rows of 4, exactly when a == 1
        a = float(i % 4 != 0)
        m.learn_one({"a": a, "b": 1.0 - a}, {"odd": a == 1.0, "even": a == 0.0})
    pred = m.predict_one({"a": 1.0, "b": 0.0})
    assert set(pred) == {"odd", "even"} and all(isinstance(v, bool) for v in pred.values())
    proba = m.predict_proba_one({"a": 1.0, "b": 0.0})
    assert set(proba) == {"odd", "even"}
    for p in proba.values():
        assert set(p) == {False, True} and abs(p[False] + p[True] - 1) < 1e-12
    assert pred == {"odd": True, "even": False}
    # A new label key and a new feature name grow the spaces.
    m.learn_one({"a": 1.0, "c": 5.0}, {"odd": True, "rare": True})
    assert m.labels_ == ["odd", "even", "rare"]
    assert m.feature_names_ == ["a", "b", "c"]
    assert set(m.predict_one({"a": 1.0})) == {"odd", "even", "rare"}
    assert set(m.predict_proba_one({"zzz": 1.0})) == {"odd", "even", "rare"}  # unseen feature: ignored
    # The vector path grows the label space too (a default name for the new label).
    m.learn_row(np.array([1.0, 0.0, 0.0]), np.array([True, False, False, True]))
    assert m.n_labels == 4 and len(m.predict_row(np.array([1.0, 0.0, 0.0]))) == 4
    assert len(m.predict_proba_one({"a": 1.0})) == 4


@pytest.mark.parametrize("name", list(ALL_LEARNERS))
def test_predict_row_and_proba_is_coherent(name):
    X, Y = yeast_arrays()
    m = ALL_LEARNERS[name]()
    m.learn_many(X[:60], Y[:60])
    for x in X[60:70]:
        pred, proba = m.predict_row_and_proba(x)
        assert np.array_equal(pred, m.predict_row(x))
        np.testing.assert_allclose(proba, m.predict_proba_row(x))
        assert proba.shape == (14,) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(m.predict_proba_many(X[60:70]), np.vstack([m.predict_proba_row(x) for x in X[60:70]]))
