"""Test helpers shared across modules: the repo root and the real datasets in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"


def shared_dataset(name: str) -> Path:
    """Path of a file in ``../shared/datasets``.

    Skips the test when the folder is absent, unless ``STREAMML_REQUIRE_SHARED`` is set (as in
    CI, which has the folder), where a missing file is a failure.
    """
    path = SHARED_DATASETS / name
    if not path.exists():
        if os.environ.get("STREAMML_REQUIRE_SHARED"):
            pytest.fail(f"{path} is missing but STREAMML_REQUIRE_SHARED is set")
        pytest.skip(f"{path} not available (../shared/datasets is absent)")
    return path
