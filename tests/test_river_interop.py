"""streamml learners inside River's own evaluation loop and metrics."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from river import datasets as river_datasets
from river import evaluate, metrics

from streamml import registry
from streamml.evaluate import prequential
from streamml.datasets import load


@pytest.mark.parametrize("spec", ["majority", "br-lr", "mlht"])
def test_progressive_val_score_matches_our_prequential(spec):
    n = 400
    river_metric = metrics.multioutput.MicroAverage(metrics.F1())
    exact = metrics.multioutput.ExactMatch()
    model = registry.make(spec)
    dataset = itertools.islice(river_datasets.Yeast(), n)
    for x, y in dataset:  # progressive_val_score's loop, written out to score two metrics
        # Labels the model has not met yet are predicted irrelevant, as streamml's evaluator does
        # (River's own loop skips the first, empty prediction instead).
        y_pred = {label: False for label in y} | model.predict_one(x)
        river_metric.update(y, y_pred)
        exact.update(y, y_pred)
        model.learn_one(x, y)
    (ours,) = prequential(load("yeast"), {spec: registry.make(spec)}, max_instances=n, progress=False)
    assert ours.metrics["micro_f1"] == pytest.approx(river_metric.get())
    assert ours.metrics["subset_accuracy"] == pytest.approx(exact.get())


def test_river_evaluate_loop_runs_our_learner():
    model = registry.make("br-lr")
    metric = metrics.multioutput.MicroAverage(metrics.F1())
    result = evaluate.progressive_val_score(
        dataset=itertools.islice(river_datasets.Yeast(), 300), model=model, metric=metric
    )
    assert 0.4 < result.get() < 0.8
    assert model.n_labels == 14 and sorted(model.predict_one({"Att1": 0.1})) == sorted(f"Class{i}" for i in range(1, 15))
    proba = model.predict_proba_one({"Att1": 0.1})
    assert all(set(p) == {False, True} and np.isclose(p[False] + p[True], 1.0) for p in proba.values())
