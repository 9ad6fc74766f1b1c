"""Tests for streamml.generators.MultiLabelDriftStream."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from streamml.generators import Concept, Drift, MultiLabelDriftStream
from streamml.schema import SparseRow


def collect(stream, n=None):
    rows = list(stream if n is None else itertools.islice(stream, n))
    X = np.array([x.to_dense() if isinstance(x, SparseRow) else x for x, _ in rows])
    Y = np.array([y for _, y in rows])
    return X, Y


def jaccard(Y: np.ndarray) -> np.ndarray:
    Y = Y.astype(np.float64)
    inter = Y.T @ Y
    n = Y.sum(axis=0)
    return inter / np.maximum(n[:, None] + n[None, :] - inter, 1.0)


def pair_masks(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    same = groups[:, None] == groups[None, :]
    off = ~np.eye(groups.size, dtype=bool)
    return same & off, ~same


def fit_logistic(X: np.ndarray, Y: np.ndarray, steps: int = 300) -> np.ndarray:
    """One logistic regression per label, by batch gradient descent."""
    X1 = np.c_[X, np.ones(len(X))]
    W = np.zeros((X1.shape[1], Y.shape[1]))
    for _ in range(steps):
        P = 1.0 / (1.0 + np.exp(-X1 @ W))
        W -= X1.T @ (P - Y) / len(X)
    return W


def accuracy(W: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    return float(((np.c_[X, np.ones(len(X))] @ W > 0) == Y).mean())


# --- reproducibility ------------------------------------------------------------------------


def test_two_iterations_and_same_seed_give_identical_data():
    kw = dict(n_instances=2500, n_features=7, n_labels=5, n_groups=2, seed=3, drifts=[Drift(1200, 300)])
    s = MultiLabelDriftStream(**kw)
    X1, Y1 = collect(s)
    X2, Y2 = collect(s)
    X3, Y3 = collect(MultiLabelDriftStream(**kw))
    assert X1.shape == (2500, 7) and Y1.shape == (2500, 5) and Y1.dtype == bool
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)
    np.testing.assert_array_equal(X1, X3)
    np.testing.assert_array_equal(Y1, Y3)
    X4, Y4 = collect(MultiLabelDriftStream(**{**kw, "seed": 4}))
    assert not np.array_equal(X1, X4)
    assert not np.array_equal(Y1, Y4)


def test_unseeded_stream_is_fixed_at_construction():
    s = MultiLabelDriftStream(n_instances=50, seed=None)
    np.testing.assert_array_equal(collect(s)[1], collect(s)[1])
    assert not np.array_equal(collect(s)[0], collect(MultiLabelDriftStream(n_instances=50))[0])


def test_shorter_stream_is_a_prefix_and_arrays_match_iteration():
    long = MultiLabelDriftStream(n_instances=3000, seed=11, chunk_size=700, drifts=[Drift(1000, 500)])
    short = MultiLabelDriftStream(n_instances=1500, seed=11, chunk_size=700, drifts=[Drift(1000, 500)])
    XL, YL = collect(long)
    XS, YS = collect(short)
    np.testing.assert_array_equal(XL[:1500], XS)
    np.testing.assert_array_equal(YL[:1500], YS)
    X, Y, concept = long.arrays(650, 2200)
    np.testing.assert_array_equal(X, XL[650:2200])
    np.testing.assert_array_equal(Y, YL[650:2200])
    assert concept.shape == (1550,)
    X, Y, _ = long.arrays()
    assert X.shape[0] == 3000
    np.testing.assert_array_equal(Y, YL)


def test_infinite_stream_can_be_sliced():
    s = MultiLabelDriftStream(n_instances=None, n_features=3, n_labels=4, n_groups=2, seed=0, chunk_size=100)
    assert s.n_instances is None
    X, Y = collect(s, 1234)
    assert X.shape == (1234, 3) and Y.shape == (1234, 4)
    X2, Y2, _ = s.arrays(1000, 1234)
    np.testing.assert_array_equal(X[1000:], X2)
    np.testing.assert_array_equal(Y[1000:], Y2)
    with pytest.raises(ValueError, match="infinite"):
        s.arrays()


def test_sparse_rows():
    s = MultiLabelDriftStream(n_instances=1500, n_features=40, sparse_density=0.1, seed=5)
    assert s.schema.sparse
    rows = list(s)
    assert all(isinstance(x, SparseRow) and x.size == 40 for x, _ in rows)
    X, Y, _ = s.arrays()
    np.testing.assert_array_equal(np.array([x.to_dense() for x, _ in rows]), X)
    np.testing.assert_array_equal(np.array([y for _, y in rows]), Y)
    nnz = np.mean([x.nnz for x, _ in rows])
    assert 3.0 < nnz < 5.0
    assert all(np.all(np.diff(x.indices) > 0) and np.all(x.values != 0) for x, _ in rows[:100])


def test_schema():
    s = MultiLabelDriftStream(n_instances=10, n_features=3, n_labels=2, n_groups=1, name="toy")
    assert s.schema.feature_names == ["x0", "x1", "x2"]
    assert s.schema.labels == ["y0", "y1"]
    assert s.schema.name == "toy" and not s.schema.sparse
    assert s.n_instances == 10 and sum(1 for _ in s) == 10


# --- label distribution -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_labels, n_groups, cardinality, density",
    [(10, 3, 3.0, None), (6, 2, 1.0, None), (30, 5, 5.0, None), (10, 2, 8.0, None), (50, 8, 3.0, 0.2)],
)
def test_label_cardinality_near_target(n_labels, n_groups, cardinality, density):
    s = MultiLabelDriftStream(
        n_instances=20_000,
        n_features=40,
        n_labels=n_labels,
        n_groups=n_groups,
        label_cardinality=cardinality,
        sparse_density=density,
        seed=7,
    )
    _, Y, _ = s.arrays()
    assert Y.sum(axis=1).mean() == pytest.approx(cardinality, rel=0.1)
    # every label is used, none is always on
    assert np.all(Y.mean(axis=0) > 0.01) and np.all(Y.mean(axis=0) < 0.99)


def test_default_cardinality_and_concept_proba():
    s = MultiLabelDriftStream(n_instances=20_000, n_labels=9, seed=1)
    assert s.label_cardinality == 3.0
    X, Y, _ = s.arrays()
    P = s.concepts[0].proba(X)
    assert P.shape == Y.shape
    # the model's P(y|x) is calibrated: its mean matches the observed rates label by label
    np.testing.assert_allclose(P.mean(axis=0), Y.mean(axis=0), atol=0.02)


def test_groups_are_balanced():
    s = MultiLabelDriftStream(n_labels=11, n_groups=3, seed=2, drifts=[Drift(10, kind="cooccurrence")])
    for concept in s.concepts:
        sizes = np.bincount(concept.group_of_label, minlength=3)
        assert sorted(sizes.tolist()) == [3, 4, 4]
        assert sum(len(g) for g in concept.groups) == 11


def test_group_label_rate_makes_groups_larger_than_labelsets():
    kw = dict(n_instances=20_000, n_features=20, n_labels=36, n_groups=3, label_cardinality=4.0, seed=5)
    default, small = MultiLabelDriftStream(**kw), MultiLabelDriftStream(group_label_rate=0.4, **kw)
    for s, q in ((default, 0.8), (small, 0.4)):
        X, Y, _ = s.arrays()
        assert Y.sum(axis=1).mean() == pytest.approx(4.0, rel=0.1)
        # a label's rate given its group is active is q, on average over x (from the concept)
        c = s.concepts[0]
        r = 1.0 / (1.0 + np.exp(-(X @ c.group_weights.T + c.group_bias)))
        p = 1.0 / (1.0 + np.exp(-(X @ c.label_weights.T + c.label_bias)))
        assert p.mean() == pytest.approx(q, abs=0.02)
        assert r.mean() == pytest.approx((4.0 / 36 - s.noise) / (q - s.noise), rel=0.05)
    # with q = 0.4 a typical non-empty labelset holds fewer labels than a group (12), and the groups
    # still co-occur: each label's most similar label shares its group
    _, Y, _ = small.arrays()
    sizes = Y.sum(axis=1)
    assert np.median(sizes[sizes > 0]) < 6
    J = jaccard(Y)
    J[np.eye(36, dtype=bool)] = -1
    assert np.mean(small.group_of_label[J.argmax(axis=1)] == small.group_of_label) >= 0.9


# --- co-occurrence and drift -----------------------------------------------------------------


def test_within_group_labels_cooccur_more_than_across():
    s = MultiLabelDriftStream(n_instances=10_000, n_labels=12, n_groups=4, label_cardinality=3.0, seed=0)
    _, Y, _ = s.arrays()
    same, diff = pair_masks(s.group_of_label)
    J = jaccard(Y)
    assert J[same].mean() > 0.4
    assert J[same].mean() > 3 * J[diff].mean()
    # the planted groups are recoverable: each label's most similar label shares its group
    J[np.eye(12, dtype=bool)] = -1
    partner = J.argmax(axis=1)
    assert np.mean(s.group_of_label[partner] == s.group_of_label) >= 0.9


def test_cooccurrence_drift_changes_the_planted_pairs():
    drift = Drift(10_000, kind="cooccurrence")
    s = MultiLabelDriftStream(n_instances=20_000, n_labels=12, n_groups=4, label_cardinality=3.0, drifts=[drift], seed=1)
    old, new = s.concepts[0].group_of_label, s.concepts[1].group_of_label
    assert s.concept_at(9_999) is s.concepts[0] and s.concept_at(10_000) is s.concepts[1]
    old_same, _ = pair_masks(old)
    new_same, new_diff = pair_masks(new)
    # labels that shared a group are spread out: with 3 labels per group and 4 groups none stay together
    assert not np.any(old_same & new_same)
    # each label keeps its own weights
    np.testing.assert_array_equal(s.concepts[0].label_weights, s.concepts[1].label_weights)

    _, Y, concept = s.arrays()
    assert np.all(concept[:10_000] == 0) and np.all(concept[10_000:] == 1)
    before, after = jaccard(Y[:10_000]), jaccard(Y[10_000:])
    assert before[old_same].mean() > 3 * before[new_same].mean()
    assert after[new_same].mean() > 3 * after[old_same].mean()
    assert after[old_same].mean() < 0.5 * before[old_same].mean()


def test_mapping_drift_changes_p_y_given_x_but_keeps_groups():
    s = MultiLabelDriftStream(n_instances=20_000, drifts=[Drift(10_000, kind="mapping")], seed=0)
    np.testing.assert_array_equal(s.concepts[0].group_of_label, s.concepts[1].group_of_label)
    assert not np.allclose(s.concepts[0].label_weights, s.concepts[1].label_weights)
    X, Y, _ = s.arrays()
    model = fit_logistic(X[:8000], Y[:8000])
    before = accuracy(model, X[8000:10_000], Y[8000:10_000])
    after = accuracy(model, X[18_000:], Y[18_000:])
    refit = accuracy(fit_logistic(X[10_000:18_000], Y[10_000:18_000]), X[18_000:], Y[18_000:])
    assert before > after + 0.1
    assert refit > after + 0.1
    # the co-occurrence structure is unchanged
    same, diff = pair_masks(s.group_of_label)
    for window in (Y[:10_000], Y[10_000:]):
        J = jaccard(window)
        assert J[same].mean() > 3 * J[diff].mean()


def test_both_drift_changes_weights_and_groups():
    s = MultiLabelDriftStream(n_labels=9, n_groups=3, drifts=[Drift(100, kind="both")], seed=4)
    a, b = s.concepts
    assert not np.array_equal(a.group_of_label, b.group_of_label)
    assert not np.allclose(a.label_weights, b.label_weights)
    assert not np.allclose(a.group_weights, b.group_weights)


def test_gradual_drift_mixes_concepts_across_the_width():
    s = MultiLabelDriftStream(n_instances=20_000, drifts=[Drift(10_000, width=4000)], seed=2)
    _, _, concept = s.arrays()
    assert set(np.unique(concept).tolist()) == {0, 1}
    windows = [(2000, 4000), (6000, 8000), (9000, 11_000), (12_000, 14_000), (16_000, 18_000)]
    fractions = [concept[a:b].mean() for a, b in windows]
    expected = [float(Drift(10_000, 4000).probability((a + b) / 2)) for a, b in windows]
    assert fractions == sorted(fractions)
    np.testing.assert_allclose(fractions, expected, atol=0.06)
    assert fractions[0] < 0.05 and 0.4 < fractions[2] < 0.6 and fractions[-1] > 0.95
    # inside the window both concepts occur, so the switch is not abrupt
    assert 0 < concept[8000:12_000].mean() < 1


def test_abrupt_drift_switches_exactly():
    s = MultiLabelDriftStream(n_instances=3000, drifts=[Drift(1234)], seed=2, chunk_size=500)
    _, _, concept = s.arrays()
    assert np.all(concept[:1234] == 0) and np.all(concept[1234:] == 1)


def test_several_drifts_compose_in_order():
    drifts = [Drift(2000, kind="mapping"), Drift(4000, 1000, kind="cooccurrence"), Drift(8000, kind="both")]
    s = MultiLabelDriftStream(n_instances=10_000, drifts=drifts, seed=3)
    assert len(s.concepts) == 4
    assert [s.concept_index_at(t) for t in (0, 1999, 2000, 3999, 4000, 7999, 8000)] == [0, 0, 1, 1, 2, 2, 3]
    _, _, concept = s.arrays()
    assert np.all(concept[:2000] == 0)
    assert np.all(concept[8000:] == 3)
    assert set(np.unique(concept[3000:5000]).tolist()) == {1, 2}
    # concept 2 regrouped concept 1's labels but kept its mapping
    np.testing.assert_array_equal(s.concepts[1].group_of_label, s.concepts[0].group_of_label)
    np.testing.assert_array_equal(s.concepts[2].label_weights, s.concepts[1].label_weights)


def test_drift_seed_makes_a_concept_independent_of_the_others():
    a = MultiLabelDriftStream(drifts=[Drift(10, kind="mapping", seed=9)], seed=0)
    b = MultiLabelDriftStream(drifts=[Drift(5, kind="cooccurrence"), Drift(10, kind="mapping", seed=9)], seed=0)
    np.testing.assert_array_equal(a.concepts[-1].label_weights, b.concepts[-1].label_weights)
    c = MultiLabelDriftStream(drifts=[Drift(10, kind="mapping")], seed=0)
    assert not np.allclose(a.concepts[-1].label_weights, c.concepts[-1].label_weights)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(n_groups=0), "n_groups"),
        (dict(n_labels=3, n_groups=4), "n_groups"),
        (dict(label_cardinality=10.0), "label_cardinality"),
        (dict(label_cardinality=0.1, noise=0.05), "label_cardinality"),
        (dict(noise=0.7), "noise"),
        (dict(sparse_density=0.0), "sparse_density"),
        (dict(n_instances=-1), "n_instances"),
        (dict(drifts=[Drift(10), Drift(5)]), "increasing"),
        (dict(n_groups=1, drifts=[Drift(10, kind="cooccurrence")]), "n_groups"),
        (dict(n_labels=10, label_cardinality=3.0, group_label_rate=0.2), "group_label_rate"),
        (dict(group_label_rate=1.0), "group_label_rate"),
    ],
)
def test_bad_parameters_raise(kw, match):
    with pytest.raises(ValueError, match=match):
        MultiLabelDriftStream(**kw)


@pytest.mark.parametrize("kw", [dict(position=-1), dict(position=0, width=-5), dict(position=0, kind="label")])
def test_bad_drift_raises(kw):
    with pytest.raises(ValueError):
        Drift(**kw)


def test_concept_type():
    s = MultiLabelDriftStream(n_labels=4, n_groups=2, n_features=3, seed=0)
    c = s.concept_at(0)
    assert isinstance(c, Concept)
    assert c.group_weights.shape == (2, 3) and c.label_weights.shape == (4, 3)
    assert c.n_groups == 2
