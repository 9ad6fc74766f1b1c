"""The benchmark harness (benchmarks/run.py): repeated, interleaved runs and their medians."""

from __future__ import annotations

import statistics
import sys

import pytest
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
    # every active learn call trains at least one and at most all 6 labels (or meta-labels)
    assert calls["unit learn: active"] <= calls["label slots: active"] <= 6 * calls["unit learn: active"]

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



def test_drift_recovery_measures_on_a_hand_made_curve():
    import ihomer_drift

    # windowed micro-F1 every 50 instances, drift at 1000, window 100: pre is the mean over (800, 1000]
    ns = list(range(50, 2001, 50))
    f = [0.5] * 20 + [0.3, 0.35, 0.44, 0.46, 0.47, 0.5] + [0.5] * 14
    curve = [{"n": n, "window_micro_f1": v} for n, v in zip(ns, f)]
    r = ihomer_drift.recovery(curve, drift=1000, window=100, post=300)
    assert r["pre"] == 0.5 and r["dip"] == 0.3
    assert r["rec90"] == 200  # first >= 0.45 at 1200 (0.46), held through 1250 (0.47)
    assert r["rec95"] == 300  # first >= 0.475 at 1300
    assert abs(r["post"] - (0.3 + 0.35 + 0.44 + 0.46 + 0.47 + 0.5) / 6) < 1e-12  # (1000, 1300]
    assert abs(r["loss"] - (0.2 + 0.15 + 0.06 + 0.04 + 0.03 + 0.0) / 6) < 1e-12
    # a level reached but not held for window / 2 does not count
    f2 = [0.5] * 20 + [0.3, 0.48, 0.4, 0.49, 0.5] + [0.5] * 15
    r2 = ihomer_drift.recovery([{"n": n, "window_micro_f1": v} for n, v in zip(ns, f2)], 1000, 100, 300)
    assert r2["rec95"] == 200  # 0.48 at 1100 drops to 0.4 at 1150; held from 1200 on


def test_drift_seed_by_seed_comparison_and_sign_test():
    import ihomer_drift

    assert ihomer_drift.sign_test(0, 0) == 1.0
    assert ihomer_drift.sign_test(5, 5) == 1.0
    assert abs(ihomer_drift.sign_test(8, 2) - 2 * (1 + 10 + 45) / 1024) < 1e-12  # P(X <= 2), X ~ Bin(10, 1/2), twice
    assert ihomer_drift.sign_test(2, 8) == ihomer_drift.sign_test(8, 2)
    assert ihomer_drift.format_p(ihomer_drift.sign_test(25, 5)) == "< 0.001"  # 0.0003: not printed as 0.000
    assert ihomer_drift.format_p(ihomer_drift.sign_test(8, 2)) == "0.109"
    assert ihomer_drift.format_p(0.0005) == "0.001"
    ours = [{"seed": 0, "rec90": 50, "rec95": None, "loss": 0.01, "post": 0.5, "micro_f1": 0.4, "subset_accuracy": 0.1},
            {"seed": 1, "rec90": 300, "rec95": 400, "loss": 0.02, "post": 0.4, "micro_f1": 0.3, "subset_accuracy": 0.2},
            {"seed": 2, "rec90": 100, "rec95": 100, "loss": 0.03, "post": 0.3, "micro_f1": 0.2, "subset_accuracy": 0.2}]
    peer = [{"seed": 0, "rec90": 100, "rec95": 9000, "loss": 0.02, "post": 0.2, "micro_f1": 0.3, "subset_accuracy": 0.2},
            {"seed": 1, "rec90": 300, "rec95": 200, "loss": 0.01, "post": 0.2, "micro_f1": 0.3, "subset_accuracy": 0.3},
            {"seed": 2, "rec90": 200, "rec95": 100, "loss": 0.03, "post": 0.2, "micro_f1": 0.1, "subset_accuracy": 0.3}]
    rows = {label: (counts, p) for label, counts, p in ihomer_drift.paired(ours, peer, never=10_000)}
    assert rows["rec90"][0] == (2, 1, 0)  # better (sooner), tied, worse
    assert rows["rec95"][0] == (0, 1, 2)  # never (10,000) is later than 9,000
    assert rows["shortfall"][0] == (1, 1, 1)
    assert rows["post"][0] == (3, 0, 0)  # higher is better
    assert rows["whole-stream micro-F1"][0] == (2, 1, 0) and rows["whole-stream subset acc"][0] == (0, 0, 3)
    assert rows["rec90"][1] == 0.5 and rows["post"][1] == 0.25


def test_drift_tree_table_reads_the_trees_each_model_ends_with():
    import ihomer_drift
    import numpy as np

    from streamml.generators import MultiLabelDriftStream
    from streamml.ihomer import IHOMER
    from streamml.learners import BRLogisticRegression
    from streamml.trees.mlhat import MLHAT

    # one feature that decides both labels: the tree splits on it (two leaves, both past cardinality_th)
    rng = np.random.default_rng(0)
    tree = MLHAT(grace_period=50, delta=0.01, cardinality_th=20, seed=0)
    for _ in range(1500):
        x = rng.normal(size=2)
        tree.learn_row(x, np.array([x[0] > 0, x[0] <= 0]))
    assert len(tree.splits()) >= 1
    kinds = ihomer_drift.grown_trees(tree)
    assert len(kinds) == 1 and len(kinds[0]) == len(tree.splits()) + 1
    assert set(kinds[0]) <= {"knn", "bagging", "majority", "none"}
    assert ihomer_drift.grown_trees(BRLogisticRegression()) is None

    # iHOMER: one tree per unit of the active hierarchy
    stream = MultiLabelDriftStream(n_instances=800, n_features=6, n_labels=6, n_groups=2, seed=3)
    model = IHOMER(cardinality_factor=0.0)
    for x, y in stream:
        model.learn_row(x, y)
    trees = ihomer_drift.grown_trees(model)
    assert len(trees) == len(model.hierarchy.units()) >= 2
    assert trees[0] == model.hierarchy.unit.learner.leaf_model_kinds()

    table = {"a": [{"trees": [["knn"]]}, {"trees": [["knn", "bagging"], ["bagging"]]}], "b": [{"trees": None}]}
    assert ihomer_drift.growth_rows(table) == ["| `a` | 1–2 | 1–2 | bagging 2, knn 2 |"]


def test_cost_floor_is_the_active_units_share_of_the_plain_ratio():
    import ihomer_cost

    parts = {"unit learn: active": 3.0, "unit predict: active": 1.0, "total": 8.0}
    assert ihomer_cost.floor_ratio(parts, ihomer_s=2.0, mlhat_s=1.0) == 1.0  # half of a 2x run


def test_cost_report_gives_the_median_paired_ratio_and_its_range():
    import ihomer_cost

    parts = {k: 1.0 for k, _ in ihomer_cost.PARTS}
    parts["total"] = float(len(ihomer_cost.PARTS))
    row = {"dataset": "d", "n": 10, "n_labels": 50, "mlhat": 1.0, "ihomer": 1.1, "ratios": [1.3, 0.9, 1.05],
           "late_ratios": [0.8, 0.7, 1.2], "parts": parts, "calls": {"label slots: active": 12.4}}
    table = [line for line in ihomer_cost.report([row], "cmd", 3).splitlines() if line.startswith("| d |")]
    cells = [c.strip() for c in table[0].strip("|").split("|")]
    # the median of the runs' own ratios (not the ratio of the medians, 1.10) and the runs' spread
    assert cells[4] == "**1.05**" and cells[5] == "0.90–1.30"
    assert cells[6] == "0.80" and cells[7] == "0.70–1.20"  # the second halves', paired the same way
    assert cells[8] == "12 / 50"


def test_recorded_commands_paste_into_a_shell_as_they_were_run():
    import shlex

    from results_md import command_line

    args = ["--stream", "clustered", "--models", "ihomer", "mlhat(selection_metric='micro_f1')", 'odd"one', "--seeds", "0"]
    line = command_line("benchmarks/ihomer_drift.py", args)
    assert line.startswith("python benchmarks/ihomer_drift.py --stream clustered")
    assert "\"mlhat(selection_metric='micro_f1')\"" in line  # readable where double quotes suffice
    assert shlex.split(line) == ["python", "benchmarks/ihomer_drift.py", *args]


def test_every_suite_names_models_that_build_and_datasets_that_resolve(shared_datasets, monkeypatch):
    from suites import SUITES

    from streamml import datasets, registry

    monkeypatch.setenv("STREAMML_DATA", str(shared_datasets))
    for name, suite in SUITES.items():
        for pair in suite.pairs:
            for spec in (pair.ours, pair.peer):
                if spec is not None:
                    assert registry.make(spec) is not None, (name, spec)
        for dataset in suite.datasets:
            assert dataset == "yeast" or datasets.find(dataset) is not None, (name, dataset)
    # the hold-out suite shares no dataset with the suite whose targets it checks
    assert not set(SUITES["ihomer-holdout"].datasets) & set(SUITES["ihomer"].datasets)


def test_a_held_out_drift_run_writes_its_own_section_and_figure(tmp_path):
    import ihomer_drift

    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmark results\n\n<!-- begin ihomer-drift -->\nthe main run\n<!-- end ihomer-drift -->\n")
    png = tmp_path / "curves.png"
    ihomer_drift.main(["--held-out", "--seeds", "10", "--n", "600", "--window", "100", "--post", "200",
                       "--models", "mlhat", "--out", str(out), "--png", str(png)])
    text = out.read_text()
    assert "<!-- begin ihomer-drift -->\nthe main run\n<!-- end ihomer-drift -->" in text  # left alone
    assert "<!-- begin ihomer-drift-heldout -->" in text
    assert "## iHOMER drift recovery (held-out seeds)" in text and "seeds [10]" in text
    assert png.exists()


def test_unit_call_cost_fits_a_line_through_real_timings_of_both_learners():
    import unit_call_cost

    r = unit_call_cost.measure("yeast", [1, 99], repeat=1)  # 99 is more than Yeast has: all 14 labels
    assert r["label_counts"] == [1, 14] and r["n_labels"] == 14 and r["n"] == 2417
    for key in unit_call_cost.LEARNERS:
        f, v = r["lines"][key]
        for L in (1, 14):  # two points: the line goes through both
            assert f + v * L == pytest.approx(r["medians"][key][L], rel=1e-6)
    text = unit_call_cost.report(r, "python benchmarks/unit_call_cost.py --dataset yeast", 1)
    assert text.count("\n| 1 | ") == 1 and text.count("\n| 14 | ") == 1
    assert "| iHOMER leaf unit |" in text and "| mlhat |" in text
