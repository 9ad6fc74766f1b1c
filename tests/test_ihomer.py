"""iHOMER: online Jaccard ODAC clustering, the hierarchy, drift and restructuring, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from streamml import persistence, registry
from streamml.base import MultiLabelLearner
from streamml.bounds import PairedMicroF1
from streamml.evaluate import prequential
from streamml.generators import Drift, MultiLabelDriftStream
from streamml.ihomer import IHOMER, JaccardODAC, PairStats
from streamml.ihomer.clustering import jaccard_distance
from streamml.ihomer.hierarchy import Unit
from streamml.ihomer.view import plot_hierarchy, render_text
from streamml.trees import MLHT


def _planted(rng, n, groups, L, p_group=0.5, p_label=0.9):
    """Label vectors where each group fires as a block."""
    for _ in range(n):
        y = np.zeros(L, dtype=bool)
        for g in groups:
            if rng.random() < p_group:
                y[g] = rng.random(len(g)) < p_label
        yield y


def _feed(odac, rng, n, groups, L):
    for y in _planted(rng, n, groups, L):
        odac.update(np.flatnonzero(y))


# ----------------------------------------------------------------------------- clustering
def test_clustering_separates_planted_groups_and_merges_them_back():
    rng = np.random.default_rng(1)
    odac = JaccardODAC(n_min=100, min_cluster_size=2, window=1000)
    odac.add_labels(8)
    a, b = [0, 2, 4, 6], [1, 3, 5, 7]
    _feed(odac, rng, 2000, [a, b], 8)
    assert odac.partition() == [a, b]
    # the planted correlation changes: all eight labels now fire together
    _feed(odac, rng, 4000, [a + b], 8)
    assert odac.partition() == [list(range(8))]
    kinds = [e["kind"] for e in odac.events]
    assert "split" in kinds and ("merge" in kinds or "aggregate" in kinds)


def test_clustering_follows_the_generator_groups():
    stream = MultiLabelDriftStream(n_instances=3000, n_features=5, n_labels=9, n_groups=3, label_cardinality=2.5, seed=4)
    odac = JaccardODAC(min_cluster_size=2)
    odac.add_labels(9)
    for _, y in stream:
        odac.update(np.flatnonzero(y))
    expected = sorted((sorted(map(int, g)) for g in stream.concept_at(0).groups), key=lambda g: g[0])
    assert odac.partition() == expected


def test_a_label_never_relevant_by_the_first_split_is_placed_when_it_first_is():
    # labels 8 and 9 are declared but not relevant until after the first split: they carry no
    # co-occurrence evidence then, so they wait, and each joins the group it first fires with
    odac = JaccardODAC(n_min=100, min_cluster_size=2, window=1000)
    odac.add_labels(10)
    a, b = [0, 2, 4, 6], [1, 3, 5, 7]
    _feed(odac, np.random.default_rng(2), 1000, [a, b], 10)
    split = next(e for e in odac.events if e["kind"] == "split")
    assert sorted(split["into"]) == [a, b] and 8 not in split["labels"] and 9 not in split["labels"]
    assert sorted(odac.pending) == [8, 9]
    assert sorted(lab for c in odac.partition() for lab in c) == list(range(8))
    placed, _ = odac.update(np.array([1, 3, 9]))
    assert [(lab, odac.labels_of(c)) for lab, c in placed] == [(9, sorted(b + [9]))]
    placed, _ = odac.update(np.array([0, 8]))
    assert [(lab, odac.labels_of(c)) for lab, c in placed] == [(8, sorted(a + [8]))]
    assert odac.pending == [] and odac.partition() == [sorted(a + [8]), sorted(b + [9])]
    # persisted with the state
    copy = JaccardODAC(n_min=100, min_cluster_size=2, window=1000)
    copy.set_state(odac.get_state())
    assert np.array_equal(copy._ever, odac._ever) and copy._ever.all()


def test_pair_updates_touch_only_the_k_by_k_block():
    L = 3000
    stats = PairStats(epoch=10_000)
    stats.grow(L)
    rng = np.random.default_rng(0)
    expected = 0
    for _ in range(200):
        k = int(rng.integers(0, 6))
        pos = np.sort(rng.choice(L, size=k, replace=False))
        before = stats.cells_touched
        stats.update(pos)
        assert stats.cells_touched - before == k * k  # never L * L
        expected += k * k
    assert stats.cells_touched == expected < L
    # the counts are right: n11 on the block, n1 on the diagonal
    stats2 = PairStats(epoch=100)
    stats2.grow(5)
    stats2.update(np.array([1, 3]))
    stats2.update(np.array([1, 3, 4]))
    stats2.update(np.array([3]))
    assert stats2.block(np.array([1, 3, 4])).tolist() == [[2, 2, 1], [2, 3, 1], [1, 1, 1]]
    assert stats2.n1().tolist() == [0, 2, 0, 3, 1]


def test_jaccard_distances_match_their_definition_and_the_round_cut_matches_a_fresh_block():
    rng = np.random.default_rng(3)
    Y = rng.random((300, 9)) < [0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.0, 0.3]
    odac = JaccardODAC(n_min=10**9, min_support=5)
    odac.add_labels(9)
    for y in Y:
        odac.update(np.flatnonzero(y))
    labels = np.arange(9)
    D = jaccard_distance(odac.stats.block(labels))
    for a in range(9):  # 1 - |a and b| / |a or b|, and 1 for labels never relevant
        for b in range(9):
            union = np.sum(Y[:, a] | Y[:, b])
            expected = 1.0 - np.sum(Y[:, a] & Y[:, b]) / union if union else 1.0
            assert D[a, b] == pytest.approx(expected)
    # the tests of one round cut their blocks from one matrix over the supported labels
    supported = np.flatnonzero(Y.sum(axis=0) >= 5)
    some = supported[[4, 0, 2]]
    odac._round = None
    assert np.array_equal(odac._distances(some), jaccard_distance(odac.stats.block(some)))
    assert odac._round[0].shape == (supported.shape[0],) * 2
    odac._check()
    assert odac._round is None  # not kept between rounds


def test_pair_update_cost_does_not_grow_with_the_label_count():
    odac_small, odac_big = JaccardODAC(n_min=10**9), JaccardODAC(n_min=10**9)
    odac_small.add_labels(50)
    odac_big.add_labels(4000)
    pos = np.array([3, 7, 11, 19])
    for odac in (odac_small, odac_big):
        for _ in range(100):
            odac.update(pos)
    # identical work per instance, whatever L
    assert odac_small.stats.cells_touched == odac_big.stats.cells_touched == 100 * 16


def test_epoch_recycling_clears_only_the_labels_seen():
    stats = PairStats(epoch=10)
    stats.grow(1000)
    for i in range(40):
        stats.update(np.array([i % 3, 5]))
    # 4 epochs of 10: the 3 recycled ones saw labels {0, 1, 2, 5}, so 16 cells each, not 1000 ** 2
    assert stats.cells_cleared == 3 * 16
    assert stats.window_n == 10


# ------------------------------------------------------------------------------ hierarchy
def _trained(n=2500, seed=3, **kw):
    stream = MultiLabelDriftStream(n_instances=n, n_features=6, n_labels=6, n_groups=2, seed=seed)
    kw.setdefault("bootstrap", True)  # these tests inspect a real hierarchy early
    model = IHOMER(node_learner=MLHT(grace_period=100), **{"cardinality_factor": 0.0, **kw})
    model.bind(stream.schema)
    for x, y in stream:
        model.predict_row(x)
        model.learn_row(x, y)
    return model, stream


def _path_to(pos, label, path=()):
    if pos.unit is not None and pos.unit.kind == "leaf":
        return path + (pos,) if label in pos.unit.domain else None
    for i, c in enumerate(pos.children):
        found = _path_to(c, label, path + ((pos, i),))
        if found:
            return found
    return None


def test_predictions_for_a_label_come_from_the_unit_that_owns_it():
    model, stream = _trained(decision="routed")
    assert len(model.active_partition()) == 2  # a real hierarchy is predicting
    X, _, _ = stream.arrays(2500, 2700) if stream.n_instances is None else MultiLabelDriftStream(
        n_instances=2700, n_features=6, n_labels=6, n_groups=2, seed=3).arrays(2500, 2700)
    for x in X:
        pred, proba = model.predict_row_and_proba(x)
        for label in range(6):
            owner = model.owner(label)
            path = _path_to(model.hierarchy, label)
            assert path[-1].unit is owner
            visited = all(p.unit.predict(x)[0][i] for p, i in path[:-1])
            own_pred, own_proba = owner.predict(x)
            j = list(owner.domain).index(label)
            assert pred[label] == (visited and own_pred[j])
            if visited:
                scale = np.prod([p.unit.predict(x)[1][i] for p, i in path[:-1]])
                assert proba[label] == pytest.approx(scale * own_proba[j])


def test_a_label_under_an_unvisited_child_scores_the_path_times_its_frequency_there():
    model, _ = _trained(decision="routed")
    X, _, _ = MultiLabelDriftStream(n_instances=2700, n_features=6, n_labels=6, n_groups=2, seed=3).arrays(2500, 2700)
    checked = 0
    for x in X:
        _, proba = model.predict_row_and_proba(x)
        for label in range(6):
            path = _path_to(model.hierarchy, label)
            scale = 1.0
            for k, (p, i) in enumerate(path[:-1]):
                pred, q = p.unit.predict(x)
                scale *= q[i]
                if not pred[i]:  # cut here: the child below is not visited
                    child = path[k + 1][0] if k + 1 < len(path) - 1 else path[-1]
                    child = child.unit
                    j = list(child.domain).index(label)
                    expected = scale * child.pos[j] / child.n_trained if child.n_trained else 0.0
                    assert proba[label] == pytest.approx(expected)
                    checked += 1
                    break
    assert checked > 50


def test_candidate_warm_start_instance_by_instance_equals_unit_by_unit():
    model, stream = _trained(n=1200)
    X, _, _ = MultiLabelDriftStream(n_instances=1300, n_features=6, n_labels=6, n_groups=2, seed=3).arrays(1200, 1300)

    def fresh():
        return [Unit(u.kind, u.groups, u.always, model._new_learner(u.kind, u.always), u.uid, None) for u in model.hierarchy.units()]

    together, apart = fresh(), fresh()
    assert len(together) > 2
    model._warm_start_all(together)
    for unit in apart:
        model._warm_start(unit, unit.learner, len(model._buffer))
    assert all(u.n_trained > 0 for u in together)
    for a, b in zip(together, apart):
        assert a.n_trained == b.n_trained and a.pos.tolist() == b.pos.tolist()
        for x in X:
            pa, qa = a.predict(x)
            pb, qb = b.predict(x)
            assert pa.tolist() == pb.tolist() and qa.tolist() == qb.tolist()


def test_meta_units_train_only_where_their_meta_label_holds():
    model, stream = _trained(n=1500)
    for u in model.hierarchy.units():
        if not u.always:
            _, Y, _ = stream.arrays(0, 1500)
            assert u.n_trained <= Y[:, u.domain].any(axis=1).sum()


class _Recorder(MultiLabelLearner):
    """Delegates to a learner and records the order of predict and learn calls."""

    def __init__(self, inner: MultiLabelLearner | None = None) -> None:
        super().__init__()
        self.inner = inner
        self.log: list[tuple[str, int]] = []
        self._i = 0

    def predict_row_and_proba(self, x):
        self.log.append(("predict", self._i))
        return self.inner.predict_row_and_proba(x)

    def _predict_proba_row(self, x):
        return self.inner.predict_proba_row(x)

    def learn_row(self, x, y, w=1.0):
        self.log.append(("learn", self._i))
        self._i += 1
        self.inner.learn_row(x, y, w)

    def _learn_row(self, x, y, w):  # pragma: no cover - learn_row is overridden
        raise AssertionError

    def evaluation_report(self):
        return self.inner.evaluation_report()

    def _get_state(self):
        return {"inner": self.inner, "log": self.log, "i": self._i}


def test_every_instance_is_scored_including_around_restructures():
    n = 6000
    stream = MultiLabelDriftStream(n_instances=n, n_features=6, n_labels=8, n_groups=2, label_cardinality=2.5,
                                   drifts=[Drift(3000, kind="cooccurrence")], seed=5)
    rec = _Recorder(IHOMER(node_learner=MLHT(grace_period=100), cardinality_factor=0.0))
    (result,) = prequential(stream, {"ihomer": rec}, progress=False)
    assert result.n == n
    assert rec.log == [(kind, i) for i in range(n) for kind in ("predict", "learn")]
    events = result.extra["events"]
    assert any(e["kind"] == "split" for e in events)
    assert any(e["kind"] in ("switch", "merge", "reset") and e["n"] > 3000 for e in events)
    assert all(1 <= e["n"] <= n for e in events)


def test_restructure_events_are_deterministic():
    def run():
        stream = MultiLabelDriftStream(n_instances=4000, n_features=6, n_labels=8, n_groups=2, label_cardinality=2.5,
                                       drifts=[Drift(2000, kind="cooccurrence")], seed=11)
        model = IHOMER(node_learner=MLHT(grace_period=100), cardinality_factor=0.0)
        prequential(stream, {"m": model}, progress=False)
        return model.events

    first, second = run(), run()
    assert first and first == second


def test_a_new_label_joins_the_partition_without_a_restart():
    model, stream = _trained(n=1500)
    uids = sorted(u.uid for u in model.hierarchy.units())
    partition = model.partition()
    group = partition[0]
    rng = np.random.default_rng(0)
    X, Y, _ = MultiLabelDriftStream(n_instances=2000, n_features=6, n_labels=6, n_groups=2, seed=3).arrays(1500, 2000)
    for x, y in zip(X, Y):
        y7 = np.concatenate([y, [bool(y[group].any() and rng.random() < 0.9)]])
        pred = model.predict_row(x)
        assert pred.shape[0] == model.n_labels
        model.learn_row(x, y7)
    assert model.n_labels == 7
    assert 6 in model.partition()[0] or any(6 in c and set(group) <= set(c) for c in model.partition())
    placed = [e for e in model.events if e["kind"] == "label_placed"]
    assert placed and placed[0]["label"] == 6
    # the units that were there keep their learners (no restart)
    assert set(uids) & {u.uid for u in model.hierarchy.units()}
    assert model.owner(6) is not None


@pytest.mark.parametrize("bootstrap", [False, True])  # the single root active at 1,500, or a hierarchy
def test_a_declared_label_first_relevant_after_the_split_joins_its_group_and_no_unit_holds_it_twice(bootstrap):
    # label 6 is declared from the start (the single root holds it) but first relevant at 1,500
    stream = MultiLabelDriftStream(n_instances=3000, n_features=6, n_labels=6, n_groups=2, seed=3)
    model = IHOMER(node_learner=MLHT(grace_period=100), cardinality_factor=0.0, bootstrap=bootstrap)
    group = [int(v) for v in stream.concept_at(0).groups[0]]
    rng = np.random.default_rng(0)
    for i, (x, y) in enumerate(stream):
        y7 = np.concatenate([y, [i >= 1500 and bool(y[group].any()) and rng.random() < 0.9]])
        assert model.predict_row(x).shape[0] == (7 if i else 0)
        model.learn_row(x, y7)
        if i == 1499:
            assert model.clustering.pending == [6]
            assert all(6 not in c for c in model.partition())
    assert model.clustering.pending == []
    assert any(6 in c and set(group) <= set(c) for c in model.partition())
    assert len(model.hierarchy.units()) == (1 if not bootstrap else len(model.active_partition()) + 1)
    for unit in model.hierarchy.units():
        assert len(set(unit.domain.tolist())) == unit.domain.shape[0]
    assert model.owner(6) is not None and set(group) <= set(model.owner(6).domain.tolist())


def test_flat_mode_joins_one_learner_per_cluster():
    model, _ = _trained(flat=True)
    root = model.hierarchy
    assert root.unit is None
    assert all(c.unit.kind == "leaf" and c.unit.always for c in root.children)
    assert len(root.children) == len(model.active_partition())


@pytest.mark.parametrize("cluster_learner", [None, "mlhat-micro-f1"])
def test_persistence_round_trip_gives_identical_later_predictions(cluster_learner):
    if cluster_learner is not None:  # cluster units whose leaves compare kNN and regressions on micro-F1
        from streamml.trees.mlhat import MLHAT

        cluster_learner = MLHAT(grace_period=100, selection_metric="micro_f1")
    model, _ = _trained(n=2000, cluster_learner=cluster_learner)
    copy = persistence.loads(persistence.dumps(model))
    X, Y, _ = MultiLabelDriftStream(n_instances=2600, n_features=6, n_labels=6, n_groups=2, seed=3).arrays(2000, 2600)
    for x, y in zip(X, Y):
        p1, q1 = model.predict_row_and_proba(x)
        p2, q2 = copy.predict_row_and_proba(x)
        assert np.array_equal(p1, p2) and np.array_equal(q1, q2)
        model.learn_row(x, y)
        copy.learn_row(x, y)
    assert model.events == copy.events
    assert model.partition() == copy.partition()


def test_clone_is_unfitted_with_the_same_parameters():
    model, _ = _trained(n=800)
    fresh = model.clone()
    assert isinstance(fresh, IHOMER) and fresh.n_labels == 0 and fresh.events == []
    assert fresh.window == model.window and type(fresh.node_learner) is MLHT
    assert fresh.node_learner.grace_period == 100


def test_registry_and_views(tmp_path):
    assert isinstance(registry.make("ihomer(n_min=50)"), IHOMER)
    assert registry.make("ihomer-flat").flat is True
    model, _ = _trained(n=1500)
    text = render_text(model)
    assert "leaf" in text and "events:" in text and "split" in text
    out = plot_hierarchy(model, tmp_path / "h.png")
    assert out.stat().st_size > 1000
    # clustering events say which labels moved where
    model.events.append({"n": 1500, "kind": "merge", "labels": [0, 1, 2, 4], "moved": [2, 4], "gap": 0.1, "eps": 0.05})
    model.events.append({"n": 1500, "kind": "aggregate", "labels": [3, 5], "d1": 0.2, "parent_d1": 0.1, "eps": 0.05})
    last = render_text(model).splitlines()[-2:]
    assert last == ["  @   1500 merge {y2, y4} -> cluster of 4 labels", "  @   1500 aggregate -> cluster of 2 labels"]


def test_cluster_units_get_the_cluster_learner_and_the_others_the_node_learner():
    from streamml.trees.mlhat import MLHAT

    model, _ = _trained(n=1500, cluster_learner=MLHAT(grace_period=100, selection_metric="micro_f1"))
    units = model.hierarchy.units()
    clusters = [u for u in units if u.kind == "leaf" and not u.always]
    assert len(clusters) >= 2 and len(clusters) < len(units)
    for u in units:
        if u in clusters:
            assert type(u.learner) is MLHAT and u.learner.selection_metric == "micro_f1" and u.learner.grace_period == 100
        else:
            assert type(u.learner) is MLHT
    # defaults: the cluster units choose their leaf models on micro-F1, the root on Hamming loss
    stream = MultiLabelDriftStream(n_instances=1500, n_features=6, n_labels=6, n_groups=2, seed=3)
    default = IHOMER(cardinality_factor=0.0).bind(stream.schema)
    for x, y in stream:
        default.predict_row(x)
        default.learn_row(x, y)
    metrics = {(u.kind, u.always): u.learner.selection_metric for u in default.hierarchy.units()}
    assert metrics == {("meta", True): "hamming", ("leaf", False): "micro_f1"}
    # a single cluster trains on every instance: the node learner
    single = IHOMER(cardinality_factor=0.0, min_cluster_size=6).bind(stream.schema)
    for x, y in stream:
        single.learn_row(x, y)
    assert [(u.always, u.learner.selection_metric) for u in single.hierarchy.units()] == [(True, "hamming")]
    # a node learner given alone serves every unit
    only = IHOMER(node_learner=MLHT(grace_period=50))
    assert type(only._cluster_template) is MLHT and only._cluster_template.grace_period == 50


def test_defaults_earned_switches_on_micro_f1_and_no_second_drift_layer_over_mlhat():
    from streamml.ihomer.model import has_own_drift
    from streamml.trees.mlhat import MLHAT

    model = IHOMER()
    assert model.bootstrap is False and model.switch_criterion == "micro_f1"
    assert model._switch_on_f1()
    assert has_own_drift(MLHAT()) and not has_own_drift(MLHT())
    assert model._local_drift is False  # MLHAT units: MLHAT's own ADWINs only
    assert IHOMER(node_learner=MLHT())._local_drift is True
    assert IHOMER(local_drift=True)._local_drift is True


def test_by_default_the_single_root_predicts_until_a_hierarchy_earns_its_switch_on_micro_f1():
    # groups of 12 labels of which an instance has about 4 (the drift benchmark's clustered stream)
    stream = MultiLabelDriftStream(n_instances=900, n_features=20, n_labels=36, n_groups=3, label_cardinality=4.0,
                                   group_label_rate=0.5, strength=4.0, seed=0)
    model = IHOMER().bind(stream.schema)
    clusters_predicting = []
    for x, y in stream:
        model.predict_row(x)
        model.learn_row(x, y)
        clusters_predicting.append(len(model.active_partition()))
    switches = [e for e in model.events if e["kind"] == "switch"]
    assert len(switches) == 1 and not switches[0].get("bootstrap")
    switch = switches[0]
    assert switch["criterion"] == "micro_f1" and switch["gain"] > switch["bound"] > 0
    assert switch["after"] >= model.min_switch  # scored beside the single root first
    at = switch["n"]
    assert set(clusters_predicting[: at - 1]) == {1} and clusters_predicting[-1] == 3
    planted = sorted(sorted(map(int, g)) for g in stream.concept_at(0).groups)
    assert sorted(model.active_partition()) == planted


def test_without_bootstrap_the_single_root_predicts_until_a_switch_is_earned():
    model, stream = _trained(n=600, bootstrap=False)
    if not any(e["kind"] == "switch" for e in model.events):
        assert len(model.active_partition()) == 1
    assert not any(e.get("bootstrap") for e in model.events if e["kind"] == "switch")


# ------------------------------------------------------------------- routing and cluster floor
def _stub_hierarchy():
    from streamml.ihomer.hierarchy import Position, Unit

    root = Unit("meta", [[0, 1], [2]], True, MLHT(), 0, None)
    a = Unit("leaf", [[0, 1]], False, MLHT(), 1, None)
    b = Unit("leaf", [[2]], False, MLHT(), 2, None)
    return Position(root, [Position(a, []), Position(b, [])])


def _predict(outputs, consistent, root_routed=False):
    from streamml.ihomer.hierarchy import predict_structure

    out = {uid: (np.asarray(p, bool), np.asarray(q, float)) for uid, (p, q) in outputs.items()}
    return predict_structure(_stub_hierarchy(), None, 3, lambda u: out[u.uid], consistent, root_routed)


def test_consistent_routing_makes_a_reached_unit_predict_its_most_probable_output():
    # the root routes to cluster {0, 1}, whose leaf predicts neither label
    outputs = {0: ([True, False], [0.6, 0.3]), 1: ([False, False], [0.2, 0.4]), 2: ([False], [0.1])}
    pred, proba = _predict(outputs, consistent=False)
    assert pred.tolist() == [False, False, False]
    pred_c, proba_c = _predict(outputs, consistent=True)
    assert pred_c.tolist() == [False, True, False]  # label 1: the leaf's most probable
    np.testing.assert_allclose(proba_c, proba)  # scores are untouched
    np.testing.assert_allclose(proba_c, [0.6 * 0.2, 0.6 * 0.4, 0.3 * 0.0])


def test_the_root_is_held_to_consistency_only_when_told_so():
    # the root predicts no cluster: with root_routed it enters its most probable child (cluster {2})
    outputs = {0: ([False, False], [0.3, 0.45]), 1: ([False, False], [0.2, 0.4]), 2: ([False], [0.1])}
    assert _predict(outputs, consistent=True).__getitem__(0).tolist() == [False, False, False]
    assert _predict(outputs, consistent=True, root_routed=True)[0].tolist() == [False, False, True]


class _Silent(MultiLabelLearner):
    """Predicts no label, with fixed scores that rank label 1 first."""

    def _learn_row(self, x, y, w):
        pass

    def _predict_proba_row(self, x):
        q = np.full(self.n_labels, 0.1)
        q[1:2] = 0.3
        return q

    def predict_row_and_proba(self, x):
        self._fit_spaces(x, None)
        return np.zeros(self.n_labels, bool), self._predict_proba_row(x)


def test_root_routing_follows_the_rate_of_empty_labelsets():
    stream = MultiLabelDriftStream(n_instances=10, n_features=4, n_labels=4, n_groups=2, seed=1)
    model = IHOMER(node_learner=_Silent(), global_drift=False).bind(stream.schema)
    x = np.zeros(4)
    for _ in range(40):
        model.learn_row(x, np.array([True, True, False, False]))
    # no empty labelset seen: the root (one leaf cluster) predicts at least its most probable label
    assert model.predict_row(x).tolist() == [False, True, False, False]
    for _ in range(10):  # 10 of 50 labelsets empty (20 %): the empty set may be predicted again
        model.learn_row(x, np.zeros(4, bool))
    assert model.predict_row(x).tolist() == [False, False, False, False]
    plain = IHOMER(node_learner=_Silent(), consistent=False, global_drift=False).bind(stream.schema)
    for _ in range(40):
        plain.learn_row(x, np.array([True, True, False, False]))
    assert not plain.predict_row(x).any()


def test_cluster_floor_is_at_least_twice_the_mean_labelset_size():
    def floor(factor):
        odac = JaccardODAC(cardinality_factor=factor)
        odac.add_labels(6)
        for labels in ([0], [1], [2], [0, 1, 2, 3]):  # sizes 1, 1, 1, 4: mode 1, mean 1.75
            odac.update(np.array(labels))
        return odac.cluster_size_floor()

    assert floor(0.0) == 1  # the reference code's floor: the most common labelset size
    assert floor(2.0) == 4  # ceil(2 * 1.75)
    assert floor(1.0) == 2


def test_training_units_are_those_a_pass_over_the_pool_would_pick():
    model, _ = _trained(n=1200)
    assert len(model._pool) > 2
    rng = np.random.default_rng(0)
    for _ in range(200):
        y = rng.random(6) < 0.3
        expected = [u.uid for u in model._pool.values() if u.trains_on(y)]
        assert [u.uid for u in model._training_units(y)] == sorted(expected)


class _Eager(MultiLabelLearner):
    """Predicts label 0 relevant although its probability is 0.4 (so the two rules disagree)."""

    def _learn_row(self, x, y, w):
        pass

    def _predict_proba_row(self, x):
        q = np.full(self.n_labels, 0.1)
        q[:1] = 0.4
        return q

    def predict_row_and_proba(self, x):
        self._fit_spaces(x, None)
        p = np.zeros(self.n_labels, bool)
        p[:1] = True
        return p, self._predict_proba_row(x)


@pytest.mark.parametrize("truth, expected", [([True, False, False], [True, False, False]),
                                             ([False, False, False], [False, False, False])])
def test_auto_decision_follows_the_rule_with_more_exact_matches(truth, expected):
    stream = MultiLabelDriftStream(n_instances=10, n_features=3, n_labels=3, n_groups=1, seed=0)
    x = np.zeros(3)
    models = {d: IHOMER(node_learner=_Eager(), decision=d, global_drift=False).bind(stream.schema)
              for d in ("routed", "marginal", "auto")}
    for _ in range(30):
        for m in models.values():
            m.predict_row(x)
            m.learn_row(x, np.array(truth))
    assert models["routed"].predict_row(x).tolist() == [True, False, False]
    assert models["marginal"].predict_row(x).tolist() == [False, False, False]
    assert models["auto"].predict_row(x).tolist() == expected  # the rule that matched every instance


def test_marginal_decision_thresholds_the_path_probability():
    model, stream = _trained(n=1500, decision="marginal")
    X, _, _ = MultiLabelDriftStream(n_instances=1700, n_features=6, n_labels=6, n_groups=2, seed=3).arrays(1500, 1700)
    for x in X:
        pred, proba = model.predict_row_and_proba(x)
        assert pred.tolist() == (proba >= 0.5).tolist()


def test_decision_must_be_known():
    with pytest.raises(ValueError, match="decision"):
        IHOMER(decision="vote")


def test_rejections_back_off_the_next_candidate_and_a_trial_blocks_new_ones():
    model, stream = _trained(n=1200, switch_criterion="auto")  # judged on Hamming loss (the stats set below)
    rows = list(MultiLabelDriftStream(n_instances=3000, n_features=6, n_labels=6, n_groups=2, seed=8))
    built = []
    model._start_candidate = lambda: built.append(model._n)  # type: ignore[method-assign]
    feed = iter(rows)

    def learn(k):
        for _ in range(k):
            x, y = next(feed)
            model.predict_row(x)
            model.learn_row(x, y)

    def lose():  # a candidate on trial that is clearly worse after enough instances
        model._candidate = model._active
        model._cand_stats = [float(model.max_candidate_age), -50.0, 5.0, 0.5]
        model._switch_test()

    window = model.window = 400
    lose()
    assert model._candidate is None and model._losing_streak == 1
    assert model._quiet_until == model._n + window
    start = model._n
    model._change_at = model._n - model.n_min  # a partition change is pending
    learn(window - 1)
    assert built == []  # held back for window instances
    learn(2)
    assert built == [start + window]
    lose()  # the second rejection in a row holds the next one back twice as long
    assert model._quiet_until == model._n + 2 * window
    # a candidate on trial is decided before another is built
    model._quiet_until = 0
    model._candidate = model._active
    model._cand_stats = [0.0, 0.0, 0.0, 0.0]
    model._change_at = model._n - model.n_min
    built.clear()
    learn(5)
    assert built == [] and model._cand_stats[0] == 5
    # an earned switch ends the losing streak
    model._cand_stats = [float(model.min_switch), 50.0, 5.0, 0.5]
    model._switch_test()
    assert model._candidate is None and model._losing_streak == 0


def test_after_a_global_drift_candidates_are_judged_on_micro_f1_until_a_switch():
    model, stream = _trained(n=1200, switch_criterion="auto")
    rows = list(MultiLabelDriftStream(n_instances=200, n_features=6, n_labels=6, n_groups=2, seed=8))

    class Signal:  # an ADWIN that has just seen the meta-label error rise
        estimation, drift_detected, width = 0.0, True, 50

        def update(self, v):
            self.estimation = 1.0

    model._candidate = model._active
    model._global = Signal()
    model._global_update(1.0)
    assert model._judge_on_f1 and model._candidate is None  # the candidate built before the change is dropped
    assert [e["kind"] for e in model.events[-2:]] == ["global_drift", "reject"]

    # the next candidate's micro-F1 is compared with the active hierarchy's on every instance it is scored on
    model._global = None
    model._candidate, model._cand_stats, model._cand_f1 = model._active, [0.0] * 4, PairedMicroF1()
    for x, y in rows[:30]:
        model.predict_row(x)
        model.learn_row(x, y)
    assert model._cand_f1.n == 30 == model._cand_stats[0]

    # Hamming loss slightly worse but not significantly, micro-F1 clearly better: no verdict on Hamming loss,
    # a switch on micro-F1 (which ends the micro-F1 period)
    y = np.array([True, True] + [False] * 4)
    silent, eager = np.zeros(6, dtype=bool), np.array([True, True, True, False, False, False])
    hamming = [float(model.min_switch), -1.0, 0.5, 1 / 6]
    for judge_on_f1, switched in [(False, False), (True, True)]:
        model._candidate, model._cand_stats, model._cand_f1 = model._active, list(hamming), PairedMicroF1()
        for _ in range(model.min_switch):
            model._cand_f1.update(y, silent, eager)
        model._judge_on_f1 = judge_on_f1
        n_events = len(model.events)
        model._switch_test()
        assert (model._candidate is None) is switched
        if switched:
            assert model.events[n_events]["kind"] == "switch" and model.events[n_events]["criterion"] == "micro_f1"
            assert not model._judge_on_f1
            assert "switch (2 clusters, judged on micro-F1)" in render_text(model)


@pytest.mark.parametrize("criterion", ["micro_f1", "hamming", "auto"])
def test_a_fixed_switch_criterion_holds_with_or_without_a_global_drift(criterion):
    model, _ = _trained(n=1200, switch_criterion=criterion)
    rows = list(MultiLabelDriftStream(n_instances=200, n_features=6, n_labels=6, n_groups=2, seed=8))
    model._candidate, model._cand_stats, model._cand_f1 = model._active, [0.0] * 4, PairedMicroF1()
    for x, y in rows[:20]:
        model.predict_row(x)
        model.learn_row(x, y)
    assert model._cand_f1.n == (20 if criterion == "micro_f1" else 0)  # no global drift has happened
    # the evidence of the test above: no verdict on Hamming loss, micro-F1 clearly better
    y = np.array([True, True] + [False] * 4)
    silent, eager = np.zeros(6, dtype=bool), np.array([True, True, True, False, False, False])
    for drift in (False, True):
        model._judge_on_f1 = drift  # what a global drift sets
        on_f1 = criterion == "micro_f1" or (criterion == "auto" and drift)
        model._candidate, model._cand_stats = model._active, [float(model.min_switch), -1.0, 0.5, 1 / 6]
        model._cand_f1 = PairedMicroF1()
        for _ in range(model.min_switch):
            model._cand_f1.update(y, silent, eager)
        n_events = len(model.events)
        model._switch_test()
        assert (model._candidate is None) is on_f1
        if on_f1:
            assert model.events[n_events]["criterion"] == "micro_f1"


def test_switch_criterion_must_be_known():
    with pytest.raises(ValueError, match="switch_criterion"):
        IHOMER(switch_criterion="f1")


def test_micro_f1_judging_survives_persistence():
    model, _ = _trained(n=600)
    model._judge_on_f1 = True
    model._cand_f1.update(np.array([True] + [False] * 5), np.zeros(6, bool), np.ones(6, bool))
    restored = persistence.loads(persistence.dumps(model))
    assert restored._judge_on_f1 and restored._cand_f1.sums.tolist() == model._cand_f1.sums.tolist()


@pytest.mark.parametrize("cardinality_factor, several", [(0.0, True), (2.0, False)])
def test_meta_label_error_counts_the_leaf_clusters_whose_relevance_was_wrong(cardinality_factor, several):
    model, _ = _trained(n=1500, cardinality_factor=cardinality_factor)
    leaves = model._active.leaf_units()
    assert (len(leaves) >= 2) is several  # several clusters, or a single one

    class Recorder:
        estimation, drift_detected, width = 0.0, False, 0

        def __init__(self):
            self.seen = []

        def update(self, v):
            self.seen.append(v)

    rec = model._global = Recorder()
    rng = np.random.default_rng(0)
    expected = []
    for _ in range(200):
        pred, y = rng.random(model.n_labels) < 0.3, rng.random(model.n_labels) < 0.3
        model._global_step(pred, y)
        expected.append(sum(bool(pred[u.domain].any()) != bool(y[u.domain].any()) for u in leaves) / len(leaves))
    assert rec.seen == expected


def test_a_partition_whose_clusters_are_always_relevant_is_not_used():
    import collections

    model = IHOMER(node_learner=MLHT(), cardinality_factor=0.0)
    model.learn_row(np.zeros(3), np.array([True, False, True, False]))
    tree = ([0, 1, 2, 3], [([0, 1], []), ([2, 3], [])])
    model._odac.tree = lambda: tree  # type: ignore[method-assign]

    def buffer(labelsets):
        model._buffer = collections.deque(((np.zeros(3), np.array(y, dtype=bool)) for y in labelsets), maxlen=500)

    # every instance has a label of each cluster (as on CAL500: 26 of 174 labels per instance)
    buffer([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 1, 1]] * 30)
    assert model._routing_tree() == ([0, 1, 2, 3], [])
    # cluster {2, 3} is relevant in only a third of them: the hierarchy routes, it is kept
    buffer([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 0, 0]] * 30)
    assert model._routing_tree() == tree
    # the share is that of the buffered instances: 89 % is not enough
    buffer([[1, 0, 1, 0]] * 89 + [[1, 0, 0, 0]] * 11)
    assert model._routing_tree() == tree
    buffer([[1, 0, 1, 0]] * 90 + [[1, 0, 0, 0]] * 10)
    assert model._routing_tree() == ([0, 1, 2, 3], [])


@pytest.mark.parametrize("n_leaves", [3, 20, 60])
def test_hierarchy_figure_boxes_never_overlap(n_leaves):
    from types import SimpleNamespace

    import matplotlib.pyplot as plt
    import numpy as np

    from streamml.ihomer.view import _hierarchy_figure

    size = 5
    leaves = [SimpleNamespace(children=[], unit=SimpleNamespace(kind="leaf", uid=i + 2, domain=np.arange(i * size, (i + 1) * size), groups=[]))
              for i in range(n_leaves)]
    root_unit = SimpleNamespace(kind="meta", uid=1, domain=np.arange(n_leaves * size), groups=[[0]] * n_leaves)
    model = SimpleNamespace(hierarchy=SimpleNamespace(children=leaves, unit=root_unit), events=[], _n=0,
                            labels_=[f"a_rather_long_label_name_{i}" for i in range(n_leaves * size)])
    fig, texts = _hierarchy_figure(model)
    try:
        fig.canvas.draw()  # places the boxes
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in texts]
        assert len(boxes) == n_leaves + 1
        fig_box = fig.bbox
        for i, a in enumerate(boxes):
            assert a.x0 >= fig_box.x0 and a.x1 <= fig_box.x1  # inside the figure
            for b in boxes[i + 1:]:
                assert not a.overlaps(b), (a, b)
        assert all(len(line) <= 18 for t in texts[:-1] for line in t.get_text().splitlines())  # names shortened
    finally:
        plt.close(fig)


# ------------------------------------------------------------------ the bootstrap's fallback trial
def _fallback_model(**kw):
    """A model 100 instances after its bootstrap switch: the single root it replaced is on trial."""
    model, _ = _trained(n=300, **kw)
    boot = [e for e in model.events if e["kind"] == "switch" and e.get("bootstrap")]
    assert len(boot) == 1 and len(model.active_partition()) == 2
    return model, boot[0]["n"]


def test_the_hierarchy_a_bootstrap_switch_replaced_stays_on_trial():
    model, at = _fallback_model()
    trial = [e for e in model.events if e["kind"] == "candidate" and e.get("fallback")]
    assert [e["n"] for e in trial] == [at] and trial[0]["clusters"] == [list(range(6))]
    assert model._fallback_trial
    # the fallback is the single root that predicted before the switch, scored on every instance since
    assert [u.always for u in model.candidate.units()] == [True] and model.candidate.units()[0].domain.tolist() == list(range(6))
    assert model._cand_stats[0] == model._n - at and model._cand_f1.n == model._n - at
    assert model._switch_on_f1()  # judged on micro-F1 with the default criterion
    assert not IHOMER(switch_criterion="hamming")._switch_on_f1()
    hamming, _ = _fallback_model(switch_criterion="hamming")
    assert hamming._fallback_trial and hamming._cand_f1.n == 0 and not hamming._switch_on_f1()
    # on by default; off, the bootstrap hierarchy has no rival
    assert IHOMER().fallback is True
    plain, _ = _fallback_model(fallback=False)
    assert plain.candidate is None and not any(e.get("fallback") for e in plain.events)


def test_a_fallback_that_earns_the_switch_takes_back_over():
    model, _ = _fallback_model()
    single, hierarchy = model.candidate, model.hierarchy
    model._losing_streak, model._quiet_until = 0, 0
    y = np.array([True, True] + [False] * 4)
    silent, eager = np.zeros(6, dtype=bool), np.array([True, True, True, False, False, False])
    model._cand_stats = [float(model.min_switch), -1.0, 0.5, 1 / 6]  # no verdict on Hamming loss
    model._cand_f1 = PairedMicroF1()
    for _ in range(model.min_switch):
        model._cand_f1.update(y, silent, eager)  # the fallback finds the labels the hierarchy misses
    model._switch_test()
    # ahead by the bound, but within the warm-up a candidate's deficit is forgiven for: no verdict yet
    assert model.hierarchy is hierarchy and model._fallback_trial and model.candidate is single
    half = model.max_candidate_age // 2
    model._cand_stats[0] = float(half)
    for _ in range(half - model.min_switch):
        model._cand_f1.update(y, silent, eager)
    model._switch_test()
    assert model.hierarchy is single and model.candidate is None and not model._fallback_trial
    last = model.events[-1]
    assert last["kind"] == "switch" and last["fallback"] and last["criterion"] == "micro_f1"
    assert model.active_partition() == [list(range(6))]
    # the bootstrap hierarchy lost: it counts as a rejection (back-off, and not rebuilt soon)
    assert model._losing_streak == 1 and model._quiet_until == model._n + model.window == last["quiet_until"]
    from streamml.ihomer.hierarchy import structure_key

    assert model._rejected[structure_key(hierarchy)] == model._n
    assert model._switch_on_f1()  # a hierarchy comes back only by beating it on micro-F1


def test_a_fallback_that_loses_leaves_no_back_off():
    model, _ = _fallback_model()
    hierarchy = model.hierarchy
    model._losing_streak, model._quiet_until = 0, 0
    model._cand_stats = [float(model.max_candidate_age), 50.0, 5.0, 0.5]
    model._cand_f1 = PairedMicroF1()
    for _ in range(model.max_candidate_age):  # the hierarchy finds the labels the fallback misses
        model._cand_f1.update(np.array([True] + [False] * 5), np.ones(6, dtype=bool), np.zeros(6, dtype=bool))
    model._switch_test()
    assert model.hierarchy is hierarchy and model.candidate is None and not model._fallback_trial
    assert model.events[-1]["kind"] == "reject" and model.events[-1]["fallback"]
    assert model._losing_streak == 0 and model._quiet_until == 0  # no hierarchy from the partition has lost


def test_a_new_candidate_takes_the_fallbacks_place_on_trial():
    model, _ = _fallback_model(buffer_size=200)  # past the bootstrap: the new candidate must earn its switch
    hierarchy = model.hierarchy
    model._routing_tree = lambda: (list(range(6)), [([0, 1, 2], []), ([3, 4, 5], [])])  # the partition changed
    model._start_candidate()
    assert model.events[-2]["kind"] == "reject" and model.events[-2]["reason"] == "new candidate" and model.events[-2]["fallback"]
    assert model.events[-1]["kind"] == "candidate" and not model.events[-1].get("fallback")
    assert not model._fallback_trial and model.hierarchy is hierarchy
    assert model.candidate is not None and model.candidate is not hierarchy
    assert sorted(u.domain.tolist() for u in model.candidate.leaf_units()) == [[0, 1, 2], [3, 4, 5]]
    # the same partition as the active hierarchy's builds nothing: the fallback stays on trial
    again, _ = _fallback_model(buffer_size=200)
    again._routing_tree = lambda: again._odac.tree()
    again._start_candidate()
    assert again._fallback_trial and again.events[-1]["kind"] == "candidate" and again.events[-1]["fallback"]


def test_the_fallback_trial_survives_persistence():
    model, _ = _fallback_model()
    restored = persistence.loads(persistence.dumps(model))
    assert restored._fallback_trial and restored._switch_on_f1()
    assert restored.candidate.units()[0].domain.tolist() == list(range(6))
