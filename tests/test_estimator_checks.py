"""Checks shared by every registered learner, in the spirit of scikit-learn's estimator checks.

Each spec of :func:`streamml.registry.available` must pass River's own estimator checks (run on
Yeast, which ships with River, instead of the Music dataset River would download), survive a
save/load round trip with identical later predictions, give coherent row and dict predictions, and
grow its label space when a new label appears.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from river import checks

from helpers import yeast_arrays, yeast_rows
from streamml import registry
from streamml.persistence import dumps, loads
from streamml.schema import Schema

# Light settings keep the slow learners quick; every spec is still the registered factory.
SPECS = {
    spec: spec
    for spec in registry.available()
    if not spec.startswith("river-")  # River's own learners wrapped for benchmarks
}
SPECS["br-ht"] = "br-ht(grace_period=30)"
# variants: standardised logistic regression, BR over a River linear model, a River peer
SPECS["br-lr-std"] = "br-lr(standardize=True, lr=0.005)"
SPECS["river:lr"] = "river:linear_model.LogisticRegression"
SPECS["river-br-lr"] = "river-br-lr"


def test_river_checks_cover_the_dataset_checks():
    names = {p.values[1].__name__ for p in _river_checks()}
    for expected in (
        "check_learn_one",
        "check_shuffle_features_no_impact",
        "check_emerging_features",
        "check_disappearing_features",
        "check_predict_one_before_any_learn",
        "check_clone_is_independent",
        "check_bounded_memory_growth",
        "check_init_default_params_are_not_mutable",
    ):
        assert expected in names


def _yeast_check_datasets(model, scale: int = 1):
    yield checks._DummyDataset(*copy.deepcopy(yeast_rows()[: 50 * scale]))


def _river_checks():
    out = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checks, "_yield_datasets", _yeast_check_datasets)
        for name, spec in SPECS.items():
            for check in checks.yield_checks(registry.make(spec)):
                out.append(pytest.param(spec, check, id=f"{name}-{check.__name__}"))
    return out


@pytest.mark.parametrize("spec, check", _river_checks())
def test_river_estimator_checks(spec, check, monkeypatch):
    monkeypatch.setattr(checks, "_yield_datasets", _yeast_check_datasets)
    model = registry.make(spec)
    assert check.__name__ not in model._unit_test_skips()
    check(model.clone())


@pytest.mark.parametrize("spec", list(SPECS.values()))
def test_save_load_round_trip_continues_identically(spec):
    X, Y = yeast_arrays()
    model = registry.make(spec)
    model.learn_many(X[:300], Y[:300])
    copy_ = loads(dumps(model))
    for x, y in zip(X[300:450], Y[300:450]):
        p1, q1 = model.predict_row_and_proba(x)
        p2, q2 = copy_.predict_row_and_proba(x)
        assert np.array_equal(p1, p2)
        np.testing.assert_array_equal(q1, q2)
        model.learn_row(x, y)
        copy_.learn_row(x, y)


@pytest.mark.parametrize("spec", list(SPECS.values()))
def test_row_and_dict_predictions_agree_and_cover_every_label(spec):
    X, Y = yeast_arrays()
    rows = yeast_rows()
    model = registry.make(spec)
    model.bind(Schema.numeric(list(rows[0][0]), list(rows[0][1])))  # names for the dict API
    model.learn_many(X[:200], Y[:200])
    for (xd, _), x in zip(rows[200:210], X[200:210]):
        pred, proba = model.predict_row_and_proba(x)
        assert pred.shape == proba.shape == (14,)
        assert np.all((proba >= 0) & (proba <= 1))
        as_dict = model.predict_one(xd)
        assert list(as_dict) == model.labels_  # every label present, in order
        # dict features map to the columns the rows used (Yeast's dict order is its column order)
        assert [as_dict[label] for label in model.labels_] == pred.tolist()


@pytest.mark.parametrize("spec", list(SPECS.values()))
def test_a_label_never_seen_before_grows_the_label_space(spec):
    X, Y = yeast_arrays()
    model = registry.make(spec)
    model.learn_many(X[:100], Y[:100])
    assert model.n_labels == 14
    wider = np.column_stack([Y[100:160], np.ones(60, dtype=bool)])  # a 15th label, always relevant
    model.learn_many(X[100:160], wider)
    assert model.n_labels == 15
    assert model.predict_proba_row(X[160]).shape == (15,)
    # and the dict API names it
    model.learn_one({f"Att{i + 1}": v for i, v in enumerate(X[161])}, {"brand-new": True})
    assert "brand-new" in model.predict_one({"Att1": 0.0})
