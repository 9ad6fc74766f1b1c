"""The live demo runs end to end in its short mode (on the session's broker)."""

from __future__ import annotations

import json
import subprocess

import pytest
from kafka_utils import ROOT

pytestmark = pytest.mark.kafka


def test_demo_short_mode(kafka_broker, tmp_path):
    out = tmp_path / "demo.json"
    proc = subprocess.run(
        ["bash", str(ROOT / "demos/kafka_live/run.sh"), "--short", "--bootstrap", kafka_broker.bootstrap,
         "--json", str(out)],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())[0]
    assert result["n"] == 300 and result["skipped"]["skipped"] == 0
    assert "subset_accuracy" in proc.stdout and "[streamml run]" in proc.stderr
