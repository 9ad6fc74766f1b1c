"""The benchmark harness (benchmarks/run.py): repeated, interleaved runs and their medians."""

from __future__ import annotations

import statistics
import sys

from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import run as harness  # noqa: E402


def test_repeated_runs_are_interleaved_and_reported_as_medians(monkeypatch):
    calls = []
    speeds = iter([100.0, 50.0, 300.0, 60.0, 200.0, 40.0])  # ours, peer, ours, peer, ours, peer

    def fake(dataset, spec, max_instances, window, timeout):
        calls.append(spec)
        return {"model": spec, "dataset": dataset, "micro_f1": 0.5, "instances_per_second": next(speeds)}

    monkeypatch.setattr(harness, "evaluate", fake)
    results = harness.run_dataset("yeast", ["ours", "peer"], 3, None, 100, 60)
    assert calls == ["ours", "peer"] * 3
    assert results["ours"]["ips_runs"] == [100.0, 300.0, 200.0]
    assert results["ours"]["instances_per_second"] == 200.0
    assert results["peer"]["instances_per_second"] == 50.0
    # ratios are paired run by run: 100/50, 300/60, 200/40
    each = harness.paired_ratios(results["ours"], results["peer"])
    assert each == [2.0, 5.0, 5.0] and statistics.median(each) == 5.0


def test_a_repeated_run_with_other_metrics_is_an_error(monkeypatch):
    f1 = iter([0.5, 0.6])
    monkeypatch.setattr(harness, "evaluate", lambda d, s, m, w, t: {"model": s, "dataset": d, "micro_f1": next(f1),
                                                                    "instances_per_second": 1.0})
    try:
        harness.run_dataset("yeast", ["ours"], 2, None, 100, 60)
    except RuntimeError as e:
        assert "not deterministic" in str(e)
    else:
        raise AssertionError("expected an error")


def test_one_real_repeated_evaluation():
    results = harness.run_dataset("yeast", ["majority"], 2, 200, 50, 300)
    r = results["majority"]
    assert r["n"] == 200 and len(r["ips_runs"]) == 2
    assert r["instances_per_second"] == statistics.median(r["ips_runs"])


def test_ihomer_cost_breakdown_accounts_for_the_run_and_leaves_the_model_as_it_was():
    import ihomer_cost
    import pytest

    from streamml import registry
    from streamml.generators import MultiLabelDriftStream
    from streamml.ihomer import IHOMER
    from streamml.ihomer.hierarchy import Unit

    stream = MultiLabelDriftStream(n_instances=1500, n_features=6, n_labels=6, n_groups=2, seed=3)
    rows = list(stream)
    spec = "ihomer(cardinality_factor=0.0)"  # planted groups of 3 labels: a real hierarchy, with candidates
    originals = (Unit.learn, Unit.predict, IHOMER._learn_row, IHOMER._compute)
    parts, calls = ihomer_cost.breakdown(stream.schema, rows, spec)
    assert (Unit.learn, Unit.predict, IHOMER._learn_row, IHOMER._compute) == originals
    assert parts["total"] > 0 and all(parts[k] >= 0 for k, _ in ihomer_cost.PARTS if k != "rest")
    assert sum(parts[k] for k, _ in ihomer_cost.PARTS) == pytest.approx(parts["total"])
    assert calls["unit learn: active"] >= 1.0  # the root trains on every instance
    assert calls["unit learn: warm start"] > 0  # the bootstrap candidate's units were replayed

    # the instrumented run learns exactly what a plain one does: same unit learns per instance
    model = registry.make(spec)
    model.bind(stream.schema)
    learned = 0
    original_learn = Unit.learn

    def counting(self, *args):
        nonlocal learned
        learned += 1
        return original_learn(self, *args)

    Unit.learn = counting
    try:
        for x, y in rows:
            model.predict_row(x)
            model.learn_row(x, y)
    finally:
        Unit.learn = original_learn
    total = sum(v for k, v in calls.items() if k.startswith("unit learn")) * len(rows)
    assert round(total) == learned
