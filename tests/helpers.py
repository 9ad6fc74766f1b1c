"""Test helpers shared across modules: the repo root and the real datasets in ../shared."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest
from river import datasets

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


@functools.lru_cache(maxsize=1)
def yeast_rows() -> tuple:
    """Yeast as River dicts (bundled with River, no download)."""
    return tuple(datasets.Yeast())


@functools.lru_cache(maxsize=1)
def yeast_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Yeast as a dense feature matrix and a boolean label matrix, in River's column order."""
    rows = yeast_rows()
    X = np.array([list(x.values()) for x, _ in rows], dtype=np.float64)
    Y = np.array([list(y.values()) for _, y in rows], dtype=bool)
    return X, Y
