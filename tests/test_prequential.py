"""Prequential invariants: every instance scored, test before train, delays, one pass, outputs."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from streamml.base import MultiLabelLearner
from streamml.evaluate import plot_curves, prequential, write_csv, write_json
from streamml.learners import BRLogisticRegression, MajorityLabelset
from streamml.metrics import METRIC_NAMES, functional
from streamml.stream import ArrayStream


class Recorder(MultiLabelLearner):
    """Logs every call; predicts the labels of the last instance it learned."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, int]] = []
        self.last = np.zeros(0, dtype=bool)

    def _on_new_labels(self, old: int, new: int) -> None:
        self.last = np.concatenate([self.last, np.zeros(new - old, dtype=bool)])

    def _learn_row(self, x, y, w):
        self.log.append(("learn", int(x[0])))
        self.last = y.copy()

    def _predict_proba_row(self, x):
        self.log.append(("predict", int(x[0])))
        return self.last.astype(float)

    def _get_state(self):
        return {"last": self.last}

    def _set_state(self, state):
        self.last = state["last"]


def indexed_stream(n: int = 50, n_labels: int = 3, seed: int = 0) -> ArrayStream:
    """Feature 0 is the instance index, so a learner can tell which instance it sees."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.arange(n, dtype=float), rng.normal(size=(n, 2))])
    Y = rng.random((n, n_labels)) < 0.4
    return ArrayStream(X, Y)


class OnePass(ArrayStream):
    iterations = 0

    def __iter__(self):
        OnePass.iterations += 1
        if OnePass.iterations > 1:
            raise AssertionError("the stream was read twice")
        return super().__iter__()


def test_every_instance_is_predicted_before_it_is_learned():
    rec = Recorder()
    (result,) = prequential(indexed_stream(40), {"rec": rec}, window=10, progress=False)
    assert result.n == 40
    predicted = [i for op, i in rec.log if op == "predict"]
    learned = [i for op, i in rec.log if op == "learn"]
    assert predicted == list(range(40)) and learned == list(range(40))
    for i in range(40):
        assert rec.log.index(("predict", i)) < rec.log.index(("learn", i))
        if i + 1 < 40:  # and instance i is learned before i+1 is predicted
            assert rec.log.index(("learn", i)) < rec.log.index(("predict", i + 1))


@pytest.mark.parametrize("delay", [1, 5])
def test_delayed_labels_are_learned_k_instances_later(delay):
    rec = Recorder()
    n = 30
    prequential(indexed_stream(n), [("rec", rec)], delay=delay, progress=False)
    for i in range(n):
        learn_at = rec.log.index(("learn", i))
        if i + delay < n:
            assert rec.log.index(("predict", i + delay)) < learn_at
            if i + delay + 1 < n:
                assert learn_at < rec.log.index(("predict", i + delay + 1))
    assert sorted(i for op, i in rec.log if op == "learn") == list(range(n))  # none lost at the end


def test_scores_match_an_independent_test_then_train_loop():
    stream = indexed_stream(120, n_labels=4, seed=3)
    results = prequential(stream, {"maj": MajorityLabelset(), "lr": BRLogisticRegression()}, window=50, progress=False)
    for result, model in zip(results, [MajorityLabelset(), BRLogisticRegression()]):
        model.bind(stream.schema)
        preds, scores = [], []
        for x, y in stream:
            preds.append(model.predict_row(x))
            scores.append(model.predict_proba_row(x))
            model.learn_row(x, y)
        P, S = np.array(preds), np.array(scores)
        expected = functional.all_metrics(stream.Y, P, S)
        for name in METRIC_NAMES:
            if name == "macro_auc":
                assert result.metrics[name] == pytest.approx(expected[name], abs=result.auc_error_bound + 1e-9)
            else:
                assert result.metrics[name] == pytest.approx(expected[name], nan_ok=True), name
        # the windowed figures at the end are those of the last 50 instances
        last = functional.all_metrics(stream.Y[-50:], P[-50:], S[-50:])
        assert result.window_metrics["micro_f1"] == pytest.approx(last["micro_f1"])
        assert result.window_metrics["subset_accuracy"] == pytest.approx(last["subset_accuracy"])


def test_models_share_one_pass_and_max_instances_is_respected():
    OnePass.iterations = 0
    stream = OnePass(*(lambda s: (s.X, s.Y))(indexed_stream(60)))
    results = prequential(stream, [MajorityLabelset(), ("lr", BRLogisticRegression())], max_instances=25, progress=False)
    assert [r.n for r in results] == [25, 25]
    assert OnePass.iterations == 1
    assert results[0].model == "MajorityLabelset" and results[1].model == "lr"


def test_label_space_growing_mid_stream_is_scored_for_every_model():
    def rows():
        for i in range(20):
            yield np.array([float(i)]), np.array([i % 2 == 0])
        for i in range(20, 40):  # a third label appears at instance 20
            yield np.array([float(i)]), np.array([i % 2 == 0, False, i % 3 == 0])

    rec = Recorder()
    (result,) = prequential(rows(), {"rec": rec}, window=10, progress=False)
    assert result.n == 40
    assert rec.n_labels == 3
    # Before a label exists, every instance counts as negative for it and as predicted negative.
    Y = np.array([[i % 2 == 0, False, i >= 20 and i % 3 == 0] for i in range(40)])
    P = np.vstack([np.zeros(3, dtype=bool), Y[:-1]])  # the recorder predicts the previous labels
    assert result.metrics["hamming_loss"] == pytest.approx(functional.hamming_loss(Y, P))
    assert result.metrics["micro_f1"] == pytest.approx(functional.micro_f1(Y, P))


def test_curves_outputs_json_csv_and_png(tmp_path):
    stream = indexed_stream(200)
    results = prequential(stream, {"maj": MajorityLabelset(), "lr": BRLogisticRegression()}, window=50, record_every=20, progress=False)
    assert [p["n"] for p in results[0].curve] == list(range(20, 201, 20))
    write_json(results, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert [d["model"] for d in data] == ["maj", "lr"]
    for key in ("model", "n", "subset_accuracy", "hamming_loss", "example_f1", "micro_f1", "macro_f1", "macro_auc",
                "seconds", "instances_per_second", "peak_rss_mb", "model_size_bytes"):
        assert key in data[0], key
    assert data[1]["model_size_bytes"] > data[0]["model_size_bytes"] > 0
    write_csv(results, tmp_path / "r.csv")
    with open(tmp_path / "r.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 10
    assert float(rows[-1]["micro_f1"]) == pytest.approx(results[1].metrics["micro_f1"])
    png = plot_curves(results, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_draws_switches_as_lines_and_other_events_as_ticks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from streamml.evaluate.plot import MAJOR_EVENTS, _curves_figure, _split_events
    from streamml.evaluate.results import EvaluationResult

    events = [{"n": 100, "kind": "relocate"}, {"n": 100, "kind": "split"}, {"n": 200, "kind": "merge"},
              {"n": 300, "kind": "switch"}, {"n": 350, "kind": "global_drift"}, {"n": 400}]
    assert _split_events(events, MAJOR_EVENTS) == ([300, 350, 400], [100, 200])  # a kind-less event is a line

    def result(name, evs):
        return EvaluationResult(model=name, dataset="toy", n=500, metrics={}, window_metrics={}, seconds=1.0, wall_seconds=1.0,
                                peak_rss_mb=1.0, model_size_bytes=1, window=100,
                                curve=[{"n": n, "window_micro_f1": 0.5} for n in range(100, 501, 100)], extra={"events": evs})

    fig = _curves_figure([result("a", events), result("b", [])], ["micro_f1", "hamming_loss"], True, None, MAJOR_EVENTS)
    try:
        for ax in fig.axes:
            dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
            ticks = [ln for ln in ax.lines if ln.get_marker() == "|"]
            assert sorted(ln.get_xdata()[0] for ln in dashed) == [300, 350, 400]
            assert len(ticks) == 1 and list(ticks[0].get_xdata()) == [100, 200]
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert labels == ["a", "b", "global drift, switch", "other structural events"]
    finally:
        plt.close(fig)
    # no events: no event entries in the legend
    fig = _curves_figure([result("b", [])], ["micro_f1"], True, None, MAJOR_EVENTS)
    try:
        assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["b"]
    finally:
        plt.close(fig)


def test_size_curve_is_recorded():
    (result,) = prequential(indexed_stream(100), {"lr": BRLogisticRegression()}, size_every=25, progress=False)
    assert [n for n, _ in result.size_curve] == [25, 50, 75, 100]
    assert all(size > 0 for _, size in result.size_curve)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unique"):
        prequential(indexed_stream(5), [("a", MajorityLabelset()), ("a", MajorityLabelset())], progress=False)
    with pytest.raises(TypeError, match="not a streamml"):
        prequential(indexed_stream(5), {"x": object()}, progress=False)  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="window"):
        prequential(indexed_stream(5), MajorityLabelset(), window=0, progress=False)
