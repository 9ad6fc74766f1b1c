"""The ``streamml`` command end to end: the installed console script, real data, bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from streamml import datasets
from streamml.evaluate import prequential
from streamml.learners import BRLogisticRegression, MajorityLabelset

from helpers import ROOT, shared_dataset

REQUIRED_KEYS = ("model", "n", "subset_accuracy", "hamming_loss", "example_f1", "micro_f1", "macro_f1", "macro_auc",
                 "seconds", "instances_per_second", "peak_rss_mb")


def streamml(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    exe = shutil.which("streamml")
    cmd = [exe] if exe else [sys.executable, "-m", "streamml"]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"streamml {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def test_console_script_is_installed():
    assert shutil.which("streamml"), "pip install should provide the `streamml` command"


def test_evaluate_on_yeast_writes_json_csv_png_in_model_order(tmp_path):
    proc = streamml("evaluate", "--data", "yeast", "--model", "br-lr", "--model", "majority", "--window", "200",
                    "--max-instances", "600", "--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv"),
                    "--plot", str(tmp_path / "r.png"), "--no-progress")
    data = json.loads((tmp_path / "r.json").read_text())
    assert [d["model"] for d in data] == ["br-lr", "majority"]
    for d in data:
        for key in REQUIRED_KEYS:
            assert key in d, key
        assert d["n"] == 600
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "r.csv").read_text().count("\n") == 1 + 2 * 30
    assert "micro_f1" in proc.stdout and "br-lr" in proc.stdout  # the final table

    # The numbers are the library's: an in-process run of the same models gives the same figures.
    results = prequential(datasets.load("yeast"), {"br-lr": BRLogisticRegression(), "majority": MajorityLabelset()},
                          window=200, max_instances=600, progress=False)
    for d, r in zip(data, results):
        for key in ("subset_accuracy", "hamming_loss", "micro_f1", "macro_f1", "example_f1"):
            assert d[key] == pytest.approx(r.metrics[key]), key
    assert data[0]["micro_f1"] > data[1]["micro_f1"]  # logistic regression beats the majority labelset


def test_evaluate_on_a_mulan_file_from_shared(tmp_path):
    arff = shared_dataset("emotions.arff.xz")
    streamml("evaluate", "--data", str(arff), "--model", "br-lr", "--json", str(tmp_path / "e.json"), "--no-progress")
    (d,) = json.loads((tmp_path / "e.json").read_text())
    assert d["n"] == 593
    assert 0.3 < d["micro_f1"] < 0.9


def test_evaluate_resolves_shared_names_through_streamml_data(tmp_path):
    folder = shared_dataset("flags.arff.xz").parent
    streamml("evaluate", "--data", "flags", "--model", "majority", "--json", str(tmp_path / "f.json"), "--no-progress",
             env={"STREAMML_DATA": str(folder)})
    assert json.loads((tmp_path / "f.json").read_text())[0]["n"] == 194


def test_unknown_model_is_a_clear_error():
    proc = streamml("evaluate", "--data", "yeast", "--model", "no-such-model", check=False)
    assert proc.returncode == 2
    assert "no-such-model" in proc.stderr and "br-lr" in proc.stderr  # names the spec and lists others
    assert "Traceback" not in proc.stderr


def test_malformed_file_names_file_and_line_and_skip_reports_it(tmp_path):
    path = tmp_path / "bad.arff"
    path.write_text(
        "@relation 'bad: -C 2'\n"
        "@attribute a {0,1}\n@attribute b {0,1}\n@attribute x numeric\n@attribute z numeric\n"
        "@data\n"
        "1,0,0.5,1.0\n"
        "0,1,oops,2.0\n"
        "1,1,0.1,0.2\n"
    )
    proc = streamml("evaluate", "--data", str(path), "--model", "majority", check=False)
    assert proc.returncode == 2
    assert "bad.arff:8" in proc.stderr and "Traceback" not in proc.stderr
    proc = streamml("evaluate", "--data", str(path), "--model", "majority", "--on-error", "skip",
                    "--json", str(tmp_path / "s.json"), "--no-progress")
    (d,) = json.loads((tmp_path / "s.json").read_text())
    assert d["n"] == 2
    assert d["skipped"]["skipped"] == 1 and "bad.arff:8" in d["skipped"]["first_reasons"][0]
    assert "skipped 1" in proc.stderr


def test_models_and_datasets_are_listed():
    models = streamml("models").stdout
    for spec in ("majority", "br-ht", "br-lr", "river:"):
        assert spec in models
    listed = streamml("datasets").stdout
    assert "yeast" in listed


def test_convert_arff_to_parquet_and_back(tmp_path):
    src = tmp_path / "small.arff"
    src.write_text(
        "@relation 'small: -C 2'\n"
        "@attribute l1 {0,1}\n@attribute l2 {0,1}\n@attribute x numeric\n@attribute y numeric\n"
        "@data\n1,0,0.5,1.5\n0,1,2.5,-1\n1,1,?,0\n"
    )
    streamml("convert", str(src), str(tmp_path / "small.parquet"))
    streamml("convert", str(tmp_path / "small.parquet"), str(tmp_path / "back.arff"))
    a = list(datasets.load(str(src)))
    b = list(datasets.load(str(tmp_path / "back.arff")))
    assert len(a) == len(b) == 3
    for (xa, ya), (xb, yb) in zip(a, b):
        assert (ya == yb).all()
        assert ((xa == xb) | ((xa != xa) & (xb != xb))).all()  # NaN (missing) survives


def test_ihomer_demo_finds_the_planted_groups(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "demos" / "ihomer_hierarchy.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    groups = {}
    for line in proc.stdout.splitlines():
        head, sep, rest = line.partition(":")
        if sep and rest.lstrip().startswith("{"):
            groups[head.strip()] = {frozenset(map(int, g.split(","))) for g in re.findall(r"\{([\d,]+)\}", rest)}
    before, after = groups["planted groups before the drift"], groups["planted groups after the drift"]
    assert len(before) == len(after) == 3 and before != after
    assert groups["iHOMER clustering at the drift"] == groups["iHOMER hierarchy at the drift"] == before
    assert groups["iHOMER clustering at the end"] == after  # re-split from post-drift co-occurrence
    for name in ("ihomer_hierarchy.png", "ihomer_curves.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    post_drift = dict(re.findall(r"(ihomer|mlhat) ([\d.]+)", proc.stdout.splitlines()[-1]))
    assert float(post_drift["ihomer"]) > float(post_drift["mlhat"])  # the demo's last line: windowed micro-F1 after the drift


def test_demo_runs_as_written(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "demos" / "compare_learners.py"), "--out", str(tmp_path),
                           "--max-instances", "300"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "yeast_results.json").read_text())
    assert len(results) == 3 and all(r["n"] == 300 for r in results)
    assert (tmp_path / "yeast_curves.png").read_bytes()[:4] == b"\x89PNG"
