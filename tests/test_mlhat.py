"""Tests of MLHAT (streamml.trees.mlhat) and its leaf models (streamml.trees.leaf_models)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamml.evaluate import prequential
from streamml.generators import Drift, MultiLabelDriftStream
from streamml.persistence import dumps, loads
from streamml.schema import SparseRow
from streamml.trees import MLHAT
from streamml.trees.leaf_models import BaggedLogistic, Instance, LabelCombinationKNN
from streamml.trees.mlhat import alternate_bound, alternate_decision, combine_leaf_probabilities


@pytest.fixture(autouse=True)
def _hmac_home(tmp_path, monkeypatch):
    # ADWIN detectors are saved as signed pickles: keep the key file in a temporary home
    monkeypatch.setenv("STREAMML_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STREAMML_HMAC_KEY", raising=False)


def _root_leaf(model: MLHAT):
    return model._leaf[model._root]


def _leaf_proba(model: MLHAT, node: int, inst: Instance):
    leaf = model._leaf[node]
    kind = model.leaf_model_kind(leaf)
    if kind == "none":
        return None
    if kind == "majority":
        return leaf.mode.astype(float)
    return (leaf.model.knn if kind == "knn" else leaf.model.lr).proba(inst)


# ------------------------------------------------------------------------------ drift
def test_abrupt_drift_triggers_a_switch_and_recovery():
    stream = MultiLabelDriftStream(
        n_instances=8000, n_features=4, n_labels=4, n_groups=2, strength=6.0,
        drifts=[Drift(4000, kind="mapping")], seed=11,
    )  # fmt: skip
    model = MLHAT(seed=0, delta=1e-2, grace_period=100)  # splits early enough to have branches before the drift
    result = prequential(stream, {"mlhat": model}, window=500, record_every=500, progress=False)[0]
    f1 = {c["n"]: c["window_micro_f1"] for c in result.curve}

    assert model.splits(), "the tree must have branches for alternates to grow"
    switches = [e["n"] for e in model.events if e["kind"] == "switch"]
    assert any(4000 <= n < 6000 for n in switches), model.events
    # the drift hurts, the switch repairs
    assert f1[4500] < f1[4000] - 0.1
    assert f1[6500] > f1[4500] + 0.08
    report = model.evaluation_report()
    assert report["n_nodes"] == model.n_nodes
    assert {e["kind"] for e in report["events"]} <= {"alternate", "switch", "prune"}
    assert all(set(e) == {"n", "kind", "node"} for e in report["events"])
    assert report["n_switches"] == len(switches)


def test_alternates_start_on_warning_and_only_at_main_branches():
    stream = MultiLabelDriftStream(n_instances=3000, n_features=4, n_labels=4, n_groups=2, strength=6.0, seed=11)
    model = MLHAT(seed=0, delta=1e-2, grace_period=100)
    for x, y in stream:
        model.learn_row(x, y)
    started = [e for e in model.events if e["kind"] == "alternate"]
    assert started, "a warning (a rise of a branch's loss) must start an alternate"
    for n in range(len(model._alt)):
        if model._alt[n] >= 0:
            assert model._feature[n] >= 0 and not model._bg[n]  # only branches of the main tree hold one
            assert model._bg[model._alt[n]]


# ----------------------------------------------------------------- switch arithmetic
def test_alternate_bound_hand_computed():
    # p = 0.2, n_alt = n_main = 400: 2 * 0.2 * 0.8 * ln(2 / 0.05) * (1/400 + 1/400)
    expected = math.sqrt(0.32 * math.log(40.0) * 0.005)
    assert alternate_bound(0.2, 400, 400) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.0768258, abs=1e-7)
    # unequal sizes: p = 0.1, n_alt = 200, n_main = 1000
    assert alternate_bound(0.1, 200, 1000) == pytest.approx(math.sqrt(0.18 * math.log(40.0) * 0.006), rel=1e-12)
    assert alternate_bound(0.0, 200, 200) == 0.0


def test_alternate_decision_hand_computed():
    # bound(0.3, 400, 400) = sqrt(0.42 ln 40 * 0.005) = 0.0880
    assert alternate_decision(0.30, 0.21, 400, 400) == "switch"  # lower by 0.09 > 0.088
    assert alternate_decision(0.30, 0.22, 400, 400) is None  # lower by 0.08 < 0.088
    assert alternate_decision(0.30, 0.39, 400, 400) == "prune"
    assert alternate_decision(0.30, 0.38, 400, 400) is None
    # a perfect main node: any error of the alternate prunes it
    assert alternate_decision(0.0, 0.01, 400, 400) == "prune"
    assert alternate_decision(0.0, 0.0, 400, 400) is None


# -------------------------------------------------------------- leaf combination
def test_inverse_squared_hamming_weighting_hand_computed():
    # leaf A: P = (0.9, 0.2), loss 0.5 -> weight 4; leaf B: P = (0.3, 0.6), loss 0.25 -> weight 16
    # label 0: (4 * 0.9 + 16 * 0.3) / 20 = 0.42; label 1: (4 * 0.2 + 16 * 0.6) / 20 = 0.52
    pred, p = combine_leaf_probabilities([np.array([0.9, 0.2]), np.array([0.3, 0.6])], [0.5, 0.25])
    assert p == pytest.approx([0.42, 0.52])
    assert pred.tolist() == [False, True]
    # a leaf without recorded error is not divided (weight 1, as in the reference)
    pred, p = combine_leaf_probabilities([np.array([1.0]), np.array([0.0])], [0.0, 0.5])
    assert p == pytest.approx([1.0 / 5.0])  # (1 * 1 + 4 * 0) / (1 + 4)
    # P(True) >= P(False) predicts relevant: a tie is relevant
    pred, p = combine_leaf_probabilities([np.array([0.5])], [0.3])
    assert pred.tolist() == [True]


def test_model_combines_main_and_grown_alternate_leaves():
    stream = MultiLabelDriftStream(n_instances=3000, n_features=4, n_labels=4, n_groups=2, strength=6.0, seed=11)
    model = MLHAT(seed=0, delta=1e-2, grace_period=100)
    rows = list(stream)
    checked = 0
    for x, y in rows:
        path = model._walk(model._root, x)
        alts = [model._walk(model._alt[n], x)[-1] for n in path[:-1] if model._alt[n] >= 0]
        grown = [a for a in alts if model._leaf[a].stats[0] > model.drift_window_threshold]
        if grown:
            inst = Instance(x, model.n_features_)
            leaves = [path[-1]] + grown
            probas = [_leaf_proba(model, n, inst) for n in leaves]
            keep = [(p, model.node_loss(n)) for p, n in zip(probas, leaves) if p is not None]
            expected_pred, expected = combine_leaf_probabilities([p for p, _ in keep], [h for _, h in keep])
            pred, proba = model.predict_row_and_proba(x)
            np.testing.assert_allclose(proba, expected, rtol=1e-12)
            assert pred.tolist() == expected_pred.tolist()
            checked += 1
        model.learn_row(x, y)
    assert checked > 50


# ------------------------------------------------------------------ leaf models
def test_pure_leaf_predicts_its_labelset():
    model = MLHAT(seed=0)
    assert model.predict_row(np.zeros(2)).tolist() == []
    for v in range(5):
        model.learn_row(np.array([v, -v], dtype=float), np.array([True, False, True]))
    leaf = _root_leaf(model)
    assert model.leaf_model_kind(leaf) == "majority"
    pred, proba = model.predict_row_and_proba(np.array([100.0, 3.0]))
    assert pred.tolist() == [True, False, True]
    assert proba.tolist() == [1.0, 0.0, 1.0]


def test_knn_decides_below_the_cardinality_threshold():
    model = MLHAT(seed=0)
    model.learn_row(np.array([0.0, 0.0]), np.array([True, False]))
    model.learn_row(np.array([4.0, 0.0]), np.array([False, True]))
    leaf = _root_leaf(model)
    assert model.leaf_model_kind(leaf) == "knn"
    # distances 1 and 3 -> votes 1 and 1/3: P(label 0) = 1 / (4/3) = 0.75
    pred, proba = model.predict_row_and_proba(np.array([1.0, 0.0]))
    assert proba == pytest.approx([0.75, 0.25])
    assert pred.tolist() == [True, False]
    # an exact match takes its labelset with probability 1
    pred, proba = model.predict_row_and_proba(np.array([4.0, 0.0]))
    assert proba.tolist() == [0.0, 1.0]
    # only the k = 4 nearest vote: two far instances of label 0 change nothing near (4, 0)
    model.learn_row(np.array([3.0, 0.0]), np.array([False, True]))
    model.learn_row(np.array([5.0, 0.0]), np.array([False, True]))
    model.learn_row(np.array([100.0, 0.0]), np.array([True, False]))
    _, proba = model.predict_row_and_proba(np.array([4.5, 0.0]))
    # neighbours (4,0) d .5, (5,0) d .5, (3,0) d 1.5 -> label 1; (0,0) d 4.5 -> label 0
    votes = np.array([2.0, 2.0, 1 / 1.5, 1 / 4.5])
    assert proba[0] == pytest.approx(votes[3] / votes.sum())


def test_knn_window_slides():
    knn = LabelCombinationKNN(n_features=1, n_labels=1, k=1, window=3)
    for v, lab in [(0.0, True), (1.0, False), (2.0, False), (3.0, False)]:
        knn.learn(Instance(np.array([v]), 1), np.array([lab]))
    # (0, True) left the window: the nearest to -1 is now (1, False)
    assert knn.proba(Instance(np.array([-1.0]), 1)).tolist() == [0.0]


def test_bagged_logistic_takes_over_past_the_thresholds():
    rng = np.random.default_rng(3)
    model = MLHAT(seed=0, cardinality_th=60, leaf_selection="reference", bootstrap_sampling=False)
    kinds = []
    for _ in range(100):
        x = rng.normal(size=2)
        model.learn_row(x, np.array([x[0] > 0, x[1] > 0]))
        kinds.append(model.leaf_model_kind(_root_leaf(model)))
    assert kinds[50] == "knn" and kinds[-1] == "bagging"
    assert kinds.index("bagging") == 59  # weight 60 reached (every weight is 1 without Poisson)
    x = np.array([1.5, -0.7])
    leaf = _root_leaf(model)
    expected = leaf.model.lr.proba(Instance(x, 2))
    np.testing.assert_allclose(model.predict_proba_row(x), expected, rtol=1e-12)
    assert model.predict_row(np.array([2.0, -2.0])).tolist() == [True, False]


def test_loss_based_selection_keeps_the_knn_where_the_linear_models_fail():
    rng = np.random.default_rng(5)
    rows = [rng.uniform(-1, 1, size=2) for _ in range(1200)]
    data = [(x, np.array([(x[0] > 0) != (x[1] > 0), x[0] > 0])) for x in rows]  # label 0 is XOR
    kinds = {}
    for selection in ("reference", "loss"):
        model = MLHAT(seed=0, leaf_selection=selection, delta=1e-300, tau=0.0)  # a single leaf
        for x, y in data:
            model.learn_row(x, y)
        kinds[selection] = model.leaf_model_kind(_root_leaf(model))
    assert kinds == {"reference": "bagging", "loss": "knn"}


def test_micro_f1_selection_uses_the_regressions_where_hamming_loss_keeps_the_knn():
    # sparse labels: the kNN predicts few of them (low Hamming loss, low micro-F1), the regressions
    # find more of them at the cost of false positives
    stream = MultiLabelDriftStream(n_instances=1500, n_features=10, n_labels=20, n_groups=2, label_cardinality=2.0,
                                   strength=4.0, seed=0)  # fmt: skip
    models = {}
    for metric in ("hamming", "micro_f1"):
        models[metric] = MLHAT(seed=0, max_depth=0, cardinality_th=100, bootstrap_sampling=False, selection_metric=metric)
        models[metric].bind(stream.schema)
    # the leaf models train the same way under both metrics; score them here, independently
    tp, fp, wrong, relevant = np.zeros(2), np.zeros(2), np.zeros(2), 0
    for x, y in stream:
        leaf = _root_leaf(models["micro_f1"])
        if leaf is not None and leaf.model.knn.count:
            inst = Instance(x, 10)
            for i, p in enumerate((leaf.model.knn.proba(inst) >= 0.5, leaf.model.lr.proba(inst) >= 0.5)):
                tp[i] += np.count_nonzero(p & y)
                fp[i] += np.count_nonzero(p & ~y)
                wrong[i] += np.count_nonzero(p != y)
            relevant += np.count_nonzero(y)
        for model in models.values():
            model.predict_row(x)
            model.learn_row(x, y)
    f1 = 2 * tp / (tp + fp + relevant)
    assert wrong[0] < wrong[1] and f1[0] < f1[1]  # the two metrics disagree here
    hamming, micro = _root_leaf(models["hamming"]).model, _root_leaf(models["micro_f1"]).model
    assert (hamming.loss_knn, hamming.loss_lr) == (wrong[0], wrong[1])
    assert micro.f1.micro_f1_a == pytest.approx(f1[0]) and micro.f1.micro_f1_b == pytest.approx(f1[1])
    assert models["hamming"].leaf_model_kind(_root_leaf(models["hamming"])) == "knn"
    assert models["micro_f1"].leaf_model_kind(_root_leaf(models["micro_f1"])) == "bagging"
    x = np.linspace(-1, 1, 10)
    np.testing.assert_array_equal(models["micro_f1"].predict_proba_row(x), micro.lr.proba(Instance(x, 10)))


def test_micro_f1_selection_settles_by_the_bound_and_persists():
    stream = MultiLabelDriftStream(n_instances=1500, n_features=10, n_labels=20, n_groups=2, label_cardinality=2.0,
                                   strength=4.0, seed=0)  # fmt: skip
    rows = list(stream)
    model = MLHAT(seed=0, max_depth=0, cardinality_th=100, bootstrap_sampling=False, selection_metric="micro_f1",
                  selection_delta=0.01)  # fmt: skip
    for x, y in rows[:1000]:
        model.predict_row(x)
        model.learn_row(x, y)
    leaf = _root_leaf(model).model
    assert leaf.settled
    n_scored = leaf.f1.n
    mean, bound = leaf.f1.gap(0.01)
    assert mean > bound and n_scored < 1000  # settled before the end, and scored no more since
    copy = loads(dumps(model))
    assert _root_leaf(copy).model.f1.sums.tolist() == leaf.f1.sums.tolist()
    for x, y in rows[1000:]:
        assert model.predict_proba_row(x).tolist() == copy.predict_proba_row(x).tolist()
        model.learn_row(x, y)
        copy.learn_row(x, y)
    assert _root_leaf(model).model.f1.n == n_scored


def test_selection_metric_is_validated():
    with pytest.raises(ValueError, match="selection_metric"):
        MLHAT(selection_metric="accuracy")


def test_bagged_logistic_vectorised_step_matches_per_member_updates():
    rng = np.random.default_rng(0)
    bag = BaggedLogistic(3, 2, n_models=4, lr=0.3, intercept_lr=0.01)
    singles = [BaggedLogistic(3, 2, n_models=1, lr=0.3, intercept_lr=0.01) for _ in range(4)]
    for _ in range(50):
        x = rng.normal(size=3)
        y = np.array([x[0] > 0, x[1] + x[2] > 0])
        ks = rng.poisson(1.0, 4)
        bag.learn(Instance(x, 3), y, 1.5, ks)
        for m, k in enumerate(ks):
            singles[m].learn(Instance(x, 3), y, 1.5 * k, np.array([1]))
    for m in range(4):
        np.testing.assert_allclose(bag.W[:, m, :], singles[m].W[:, 0, :], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(bag.b[m], singles[m].b[0], rtol=1e-12, atol=1e-15)


def test_bagged_logistic_shares_the_gathered_rows_bit_for_bit():
    # a prediction's gathered weight rows, handed to the step that follows, change nothing
    rng = np.random.default_rng(2)
    own, shared = BaggedLogistic(40, 3, n_models=5), BaggedLogistic(40, 3, n_models=5)
    for i in range(200):
        x = rng.normal(size=40) * (rng.random(40) < 0.2)
        inst = Instance(SparseRow.from_dense(x), 40)
        y = rng.random(3) < 0.4
        ks = rng.poisson(1.0, 5)
        before_own = own.learn(inst, y, 1.0, ks)
        rows = shared.gather(inst)
        if inst.idx.shape[0]:
            assert np.array_equal(rows, shared.W.reshape(40, -1)[inst.idx])
        members = shared.member_proba(inst, rows) if i % 2 else None
        before_shared = shared.learn(inst, y, 1.0, ks, members, rows)
        assert np.array_equal(before_own, before_shared)
    assert np.array_equal(own.W, shared.W) and np.array_equal(own.b, shared.b)
    assert np.abs(own.W).sum() > 0


# ------------------------------------------------------------------ Poisson weights
def test_poisson_weighting_never_drops_and_is_seeded():
    rng = np.random.default_rng(1)
    rows = [(rng.normal(size=2), np.array([True, False])) for _ in range(300)]

    def weights(seed):
        model = MLHAT(seed=seed)
        for x, y in rows:
            model.learn_row(x, y)
        return _root_leaf(model).model.weight

    w0 = weights(0)
    assert w0 == weights(0)  # reproducible
    assert w0 != weights(1)
    # k = 0 keeps weight 1, so the total weight is at least the instance count
    assert w0 >= 300 and w0 > 340  # E[weight] = P(k=0) + E[k] = 1.37 per instance
    model = MLHAT(bootstrap_sampling=False)
    for x, y in rows:
        model.learn_row(x, y)
    assert _root_leaf(model).model.weight == 300


# ------------------------------------------------------------- persistence, clone
def _drift_rows(n=4000, sparse=None):
    stream = MultiLabelDriftStream(
        n_instances=n, n_features=4, n_labels=4, n_groups=2, strength=6.0,
        drifts=[Drift(n // 2, kind="mapping")], sparse_density=sparse, seed=11,
    )  # fmt: skip
    return list(stream)


def test_persistence_round_trip_gives_identical_later_predictions():
    rows = _drift_rows()
    model = MLHAT(seed=3, delta=1e-2, grace_period=100)
    for x, y in rows[:2500]:
        model.learn_row(x, y)
    assert model.n_nodes > 1 and model.events
    copy = loads(dumps(model))
    assert copy.events == model.events and copy.n_nodes == model.n_nodes
    for x, y in rows[2500:]:
        p1, q1 = model.predict_row_and_proba(x)
        p2, q2 = copy.predict_row_and_proba(x)
        assert p1.tolist() == p2.tolist()
        np.testing.assert_array_equal(q1, q2)
        model.learn_row(x, y)
        copy.learn_row(x, y)
    assert copy.events == model.events
    assert copy.evaluation_report() == model.evaluation_report()


def test_clone_is_a_fresh_model_with_the_same_parameters():
    rows = _drift_rows(1500)
    model = MLHAT(seed=5, delta=1e-2, grace_period=100, knn_window=50)
    for x, y in rows:
        model.learn_row(x, y)
    twin = model.clone()
    assert isinstance(twin, MLHAT) and twin._get_params() == model._get_params()
    assert twin.n_nodes == 1 and twin.n_labels == 0 and twin.events == []
    fresh = MLHAT(seed=5, delta=1e-2, grace_period=100, knn_window=50)
    for x, y in rows:
        twin.learn_row(x, y)
        fresh.learn_row(x, y)
    assert twin.events == fresh.events == model.events
    x = rows[-1][0]
    np.testing.assert_array_equal(twin.predict_proba_row(x), model.predict_proba_row(x))


# ------------------------------------------------------------------ label growth
def test_label_growth():
    rng = np.random.default_rng(2)
    model = MLHAT(seed=0, cardinality_th=30, leaf_selection="reference")
    for _ in range(50):
        x = rng.normal(size=3)
        model.learn_row(x, np.array([x[0] > 0, x[1] > 0]))
    assert model.predict_row(np.zeros(3)).shape == (2,)
    x = rng.normal(size=3)
    model.learn_row(x, np.array([x[0] > 0, x[1] > 0, True]))  # a third label appears
    assert model.n_labels == 3
    leaf = _root_leaf(model)
    assert leaf.model.knn.Y.shape[1] == 3 and leaf.model.lr.W.shape[2] == 3
    assert leaf.model.knn.Y[:, 2].sum() == 1  # earlier window entries: irrelevant
    for _ in range(100):
        x = rng.normal(size=3)
        model.learn_row(x, np.array([x[0] > 0, x[1] > 0, x[2] > 0]))
    assert model.predict_row(np.array([1.0, 1.0, 2.0])).tolist() == [True, True, True]
    assert model.predict_row(np.array([-1.0, -1.0, -2.0])).tolist() == [False, False, False]
    copy = loads(dumps(model))
    np.testing.assert_array_equal(copy.predict_proba_row(np.ones(3)), model.predict_proba_row(np.ones(3)))


def test_new_label_is_irrelevant_in_the_knn():
    model = MLHAT(seed=0)
    model.learn_row(np.array([0.0]), np.array([True]))
    model.learn_row(np.array([1.0]), np.array([False]))
    model.learn_row(np.array([2.0]), np.array([False, True]))
    _, proba = model.predict_row_and_proba(np.array([0.1]))
    assert proba[1] < 0.5


# ---------------------------------------------------------------- sparse vs dense
@pytest.mark.parametrize("dense_max", [512, 1])
def test_sparse_and_dense_rows_give_identical_predictions(dense_max):
    rows = _drift_rows(2500, sparse=0.4)
    assert isinstance(rows[0][0], SparseRow)
    sparse_model = MLHAT(seed=9, delta=1e-2, grace_period=100, knn_dense_max_features=dense_max)
    dense_model = MLHAT(seed=9, delta=1e-2, grace_period=100, knn_dense_max_features=dense_max)
    for x, y in rows:
        xd = np.zeros(x.size)
        xd[x.indices] = x.values
        ps, qs = sparse_model.predict_row_and_proba(x)
        pd, qd = dense_model.predict_row_and_proba(xd)
        assert ps.tolist() == pd.tolist()
        np.testing.assert_array_equal(qs, qd)
        sparse_model.learn_row(x, y)
        dense_model.learn_row(xd, y)
    assert sparse_model.events == dense_model.events
    assert sparse_model.splits() == dense_model.splits()


def test_knn_layout_follows_the_feature_count_and_the_first_row():
    rng = np.random.default_rng(1)
    y = np.array([True, False])
    for d, nnz, dense_max, expected in [(40, 20, 100, True), (40, 9, 100, False), (40, 20, 10, False)]:
        knn = LabelCombinationKNN(n_features=d, n_labels=2, dense_max_features=dense_max)
        x = np.zeros(d)
        x[rng.choice(d, nnz, replace=False)] = 1.0
        knn.learn(Instance(x, d), y)
        assert knn.dense is expected, (d, nnz, dense_max)
        dense_again = np.ones(d)  # the layout is fixed once the window holds a row
        knn.learn(Instance(dense_again, d), y)
        assert knn.dense is expected
        assert knn.distances(Instance(dense_again, d))[1][-1] == 0.0


def test_sparse_knn_layout_matches_dense_distances():
    rng = np.random.default_rng(0)
    dense = LabelCombinationKNN(n_features=30, n_labels=3, k=4, window=20, dense_max_features=100)
    sparse = LabelCombinationKNN(n_features=30, n_labels=3, k=4, window=20, dense_max_features=10)
    assert dense.dense and not sparse.dense
    rows = []
    for _ in range(40):
        x = np.where(rng.random(30) < 0.2, rng.normal(size=30), 0.0)
        y = rng.random(3) < 0.4
        rows.append(x)
        for m in (dense, sparse):
            m.learn(Instance(x, 30), y)
    for x in rows[-20:] + [np.where(rng.random(30) < 0.3, 1.0, 0.0)]:
        inst = Instance(x, 30)
        _, d_dense = dense.distances(inst)
        _, d_sparse = sparse.distances(inst)
        np.testing.assert_allclose(d_sparse, d_dense, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(sparse.proba(inst), dense.proba(inst), rtol=1e-6)
    # a stored row is found at distance exactly 0 in the sparse layout too
    assert sparse.distances(Instance(rows[-1], 30))[1].min() == 0.0


# --------------------------------------------------------------------- registry
def test_registered_and_reference_defaults():
    from streamml import registry

    model = registry.make("mlhat")
    assert isinstance(model, MLHAT)
    assert (model.grace_period, model.delta, model.tau) == (200, 1.6587784772850855e-7, 0.05)
    assert (model.cardinality_th, model.entropy_th, model.knn_neighbors, model.knn_window) == (750, 0.3, 4, 170)
    assert (model.n_models, model.learning_rate, model.adwin_delta) == (10, 0.3, 0.002)
    assert (model.drift_window_threshold, model.switch_significance, model.max_share_to_split) == (200, 0.05, 0.99)


# ------------------------------------------------------------------ real data: Yeast
def test_yeast_quality_meets_the_reference():
    from streamml import datasets

    stream = datasets.load("yeast")
    result = prequential(stream, {"mlhat": MLHAT()}, progress=False)[0]
    final = result.curve[-1]
    assert result.n == 2417
    # reference MLHAT code: subset accuracy 0.1394, micro-F1 0.6143
    assert final["subset_accuracy"] >= 0.1394 - 0.02
    assert final["micro_f1"] >= 0.6143 - 0.02


def test_sparse_knn_queue_survives_wide_rows_evictions_and_persistence():
    # rows of very different widths (Delicious: 18 non-zeros on average, 335 at most) pass through
    # a small window many times, so the entry queue evicts, compacts and grows
    rng = np.random.default_rng(4)
    d = 400
    knn = LabelCombinationKNN(n_features=d, n_labels=2, k=3, window=5, dense_max_features=10)
    stored = []
    for t in range(60):
        nnz = 300 if t % 17 == 0 else int(rng.integers(0, 12))
        x = np.zeros(d)
        x[rng.choice(d, nnz, replace=False)] = rng.normal(size=nnz)
        if knn.count:
            window = np.array(stored[-knn.count :])
            _, d2 = knn.distances(Instance(x, d))
            np.testing.assert_allclose(d2, ((window - x) ** 2).sum(axis=1), rtol=1e-9, atol=1e-9)
            assert knn.distances(Instance(stored[-1], d))[1][-1] == 0.0  # the newest, found exactly
        knn.learn(Instance(x, d), np.array([t % 2 == 0, t % 3 == 0]))
        stored.append(x)
    assert knn.e1 - knn.e0 == int(knn.row_len.sum()) == sum(np.count_nonzero(r) for r in stored[-5:])
    again = LabelCombinationKNN.from_state(knn.get_state())
    # a window saved in the earlier padded layout (rows of indices and values) loads as the same window
    width = int(knn.row_len.max())
    pidx, pval = np.zeros((5, width), dtype=np.int64), np.zeros((5, width))
    for s in range(5):
        nz = np.flatnonzero(stored[-5:][(s - knn.head) % 5])
        pidx[s, : nz.shape[0]], pval[s, : nz.shape[0]] = nz, stored[-5:][(s - knn.head) % 5][nz]
    old = {k: v for k, v in knn.get_state().items() if not k.startswith("e_") and k != "row_len"}
    padded = LabelCombinationKNN.from_state({**old, "pidx": pidx, "pval": pval})
    for x in stored[-7:]:
        inst = Instance(x, d)
        np.testing.assert_array_equal(again.distances(inst)[1], knn.distances(inst)[1])
        np.testing.assert_allclose(padded.distances(inst)[1], knn.distances(inst)[1], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(padded.proba(inst), knn.proba(inst))


def test_a_settled_leaf_predicts_with_the_regressions_and_stops_querying_the_knn(monkeypatch):
    rng = np.random.default_rng(2)
    data = []
    for _ in range(1500):
        x = rng.uniform(-1, 1, size=2)
        data.append((x, np.array([x[0] > 0, x[0] + x[1] > 0])))  # linear: the regressions win
    calls = [0]
    original = LabelCombinationKNN.proba

    def counting(self, inst):
        calls[0] += 1
        return original(self, inst)

    monkeypatch.setattr(LabelCombinationKNN, "proba", counting)
    queries, models = {}, {}
    for delta in (None, 0.01):
        model = MLHAT(seed=0, max_depth=0, cardinality_th=100, selection_delta=delta)  # one leaf
        calls[0] = 0
        for x, y in data:
            model.predict_row(x)
            model.learn_row(x, y)
        queries[delta], models[delta] = calls[0], model
    settled = _root_leaf(models[0.01]).model
    assert settled.settled and not _root_leaf(models[None]).model.settled
    assert models[0.01].leaf_model_kind(_root_leaf(models[0.01])) == "bagging"
    assert queries[None] >= len(data) - 1  # scored on every instance
    assert queries[0.01] < queries[None] - 500  # not queried any more once settled (here after ~770)
    # the paired statistics that settled it: the regressions' mean loss is lower by the bound
    from streamml.bounds import bernstein_gap

    n, total, sq, top = settled.paired
    mean, bound = bernstein_gap(n, total, sq, top, 0.01)
    assert mean < -bound
    restored = loads(dumps(models[0.01]))
    assert _root_leaf(restored).model.settled
    x = np.array([0.3, -0.5])
    assert restored.predict_proba_row(x).tolist() == models[0.01].predict_proba_row(x).tolist()


def test_frozen_rows_give_the_same_model_as_plain_rows():
    from streamml.schema import frozen_row

    rows = _drift_rows(1500, sparse=0.4)
    plain, frozen = MLHAT(seed=3, grace_period=100), MLHAT(seed=3, grace_period=100)
    for x, y in rows:
        fx = frozen_row(x)
        assert plain.predict_proba_row(x).tolist() == frozen.predict_proba_row(fx).tolist()
        plain.learn_row(x, y)
        frozen.learn_row(fx, y)
    assert plain.splits() == frozen.splits()


def test_instances_of_a_frozen_row_are_shared():
    from streamml.schema import frozen_row

    x = SparseRow(np.array([1, 4], dtype=np.int32), np.array([2.0, -1.0]), 6)
    fx = frozen_row(x)
    assert Instance.of(fx, 6) is Instance.of(fx, 6)
    assert Instance.of(fx, 7) is not Instance.of(fx, 6)
    assert Instance.of(x, 6) is not Instance.of(x, 6)  # a writable row may change between calls


# ------------------------------------------------------------- deferred kNN rows
@pytest.mark.parametrize("dense_max", [100, 10])
def test_deferred_knn_rows_give_the_window_stored_at_once(dense_max):
    # one window stores every row at once, the other defers rows in runs shorter and longer than
    # the window (the older rows of a long run are evicted before they are read): every read, and
    # the saved state, must be bit for bit the same
    rng = np.random.default_rng(7)
    d, window = 30, 6
    eager = LabelCombinationKNN(n_features=d, n_labels=3, k=3, window=window, dense_max_features=dense_max)
    lazy = LabelCombinationKNN(n_features=d, n_labels=3, k=3, window=window, dense_max_features=dense_max)
    runs = [1, 3, 6, 7, 2, 15, 1, 6, 13, 4]
    for run in runs:
        for _ in range(run):
            x = np.where(rng.random(d) < 0.3, rng.normal(size=d), 0.0)
            y = rng.random(3) < 0.4
            eager.learn(Instance(x, d), y)
            lazy.defer(Instance(x, d), y)
        query = Instance(np.where(rng.random(d) < 0.3, rng.normal(size=d), 0.0), d)
        assert lazy.n_deferred == 0 or lazy.count > 0
        np.testing.assert_array_equal(lazy.proba(query), eager.proba(query))
        assert lazy.n_deferred == 0
        for a, b in zip(lazy.distances(query), eager.distances(query)):
            np.testing.assert_array_equal(a, b)
        assert (lazy.head, lazy.count) == (eager.head, eager.count)
    assert eager.dense is lazy.dense is (dense_max == 100)
    for _ in range(window + 2):  # deferred rows are saved with the window
        x = np.where(rng.random(d) < 0.3, rng.normal(size=d), 0.0)
        eager.learn(Instance(x, d), np.array([True, False, True]))
        lazy.defer(Instance(x, d), np.array([True, False, True]))
    saved, expected = lazy.get_state(), eager.get_state()
    for key, value in expected.items():
        np.testing.assert_array_equal(saved[key], value, err_msg=key)


def test_deferred_knn_rows_are_copied_when_the_caller_can_change_them():
    d = 8
    knn = LabelCombinationKNN(n_features=d, n_labels=1, k=1, window=4, dense_max_features=4)
    knn.learn(Instance(SparseRow(np.array([0]), np.array([1.0]), d), d), np.array([True]))
    row = SparseRow(np.array([2, 5]), np.array([3.0, 4.0]), d)
    y = np.array([False])
    knn.defer(Instance(row, d), y)
    row.values[:] = 100.0  # a caller reusing its buffers
    y[0] = True
    _, d2 = knn.distances(Instance(SparseRow(np.array([2, 5]), np.array([3.0, 4.0]), d), d))
    assert d2[-1] == 0.0
    assert knn.Y[1, 0] == np.False_
    # a new label or feature first stores the deferred rows (they have the old sizes)
    knn.defer(Instance(row, d), np.array([True]))
    knn.add_labels(1)
    assert knn.n_deferred == 0 and knn.Y.shape == (4, 2) and knn.count == 3


def test_settled_mlhat_leaves_defer_their_knn_rows_with_identical_predictions():
    # a settling MLHAT stops reading its leaves' kNN; the rows it defers must not change a thing
    stream = MultiLabelDriftStream(n_instances=2500, n_features=8, n_labels=5, n_groups=2, seed=5)
    rows = list(stream)
    fast = MLHAT(cardinality_th=100, selection_delta=0.05, bootstrap_sampling=False, seed=2)
    eager = MLHAT(cardinality_th=100, selection_delta=0.05, bootstrap_sampling=False, seed=2)
    original = LabelCombinationKNN.defer
    try:
        LabelCombinationKNN.defer = LabelCombinationKNN.learn  # type: ignore[method-assign]  # every row stored at once
        eager_out = []
        for x, y in rows:
            eager_out.append(eager.predict_proba_row(x))
            eager.learn_row(x, y)
    finally:
        LabelCombinationKNN.defer = original  # type: ignore[method-assign]
    deferred = 0
    for (x, y), expected in zip(rows, eager_out):
        np.testing.assert_array_equal(fast.predict_proba_row(x), expected)
        fast.learn_row(x, y)
        deferred += sum(fast._leaf[n].model.knn.n_deferred > 0 for n in fast._main_tree() if fast._feature[n] < 0)
    assert deferred > 0  # some settled leaf did defer
    assert any(fast._leaf[n].model.settled for n in fast._main_tree() if fast._feature[n] < 0)


# ------------------------------------------------------------ leaf entropy check
def test_binary_entropy_moves_by_at_most_the_entropy_of_the_step():
    # the bound behind MLHAT._entropy_below: |h(a) - h(b)| <= h(|a - b|) for |a - b| <= 1/2
    from streamml.trees.criteria import unit_binary_entropy

    def _binary_entropy(p: float) -> float:
        return float(unit_binary_entropy(p))

    grid = np.linspace(0.0, 1.0, 401)
    for a in grid:
        for b in grid[np.abs(grid - a) <= 0.5]:
            assert abs(_binary_entropy(a) - _binary_entropy(b)) <= _binary_entropy(abs(a - b)) + 1e-12
    assert _binary_entropy(0.5) == 1.0 and _binary_entropy(0.0) == _binary_entropy(1.0) == 0.0


@pytest.mark.parametrize("threshold", [0.3, 1.0, 2.0, 2.6, 3.0])
def test_leaf_entropy_check_answers_as_the_exact_entropy_does(threshold):
    # thresholds near the leaves' entropies make the check recompute; every answer, on every leaf
    # after every instance, must be the one the recomputed entropy gives
    stream = MultiLabelDriftStream(n_instances=1500, n_features=6, n_labels=4, n_groups=2, seed=3)
    model = MLHAT(entropy_th=threshold, cardinality_th=0, grace_period=100, seed=1)
    recomputed = 0
    for x, y in stream:
        model.learn_row(x, y)
        for n in model._main_tree():
            if model._feature[n] >= 0:
                continue
            leaf = model._leaf[n]
            before = leaf.model.entropy_at
            answer = model._entropy_below(leaf)
            recomputed += leaf.model.entropy_at != before
            st = leaf.stats
            exact = float(sum(_h(v / st.max()) for v in st[1:])) if st.max() > 0 else 0.0
            if abs(exact - threshold) > 1e-9:  # (two summations may round a tie differently)
                assert answer == (exact < threshold)
    assert 0 < recomputed < 1500  # the bound skipped most recomputations, not all


def _h(p: float) -> float:
    return 0.0 if p <= 0.0 or p >= 1.0 else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def test_bagged_logistic_step_without_the_probabilities_updates_the_same_weights():
    rng = np.random.default_rng(3)
    a = BaggedLogistic(n_features=12, n_labels=4, n_models=5, lr=0.3, intercept_lr=0.3)
    b = BaggedLogistic(n_features=12, n_labels=4, n_models=5, lr=0.3, intercept_lr=0.3)
    for _ in range(50):
        x = np.where(rng.random(12) < 0.4, rng.normal(size=12), 0.0)
        y = rng.random(4) < 0.5
        ks = rng.poisson(1.0, 5)
        p = a.learn(Instance(x, 12), y, 1.0, ks)
        assert b.learn(Instance(x, 12), y, 1.0, ks, before=False) is None
        assert p.shape == (4,)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.b, b.b)
