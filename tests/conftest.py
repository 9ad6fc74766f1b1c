"""Shared fixtures: where the real datasets are, and keys kept out of the home folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import shared_dataset


@pytest.fixture
def shared_datasets() -> Path:
    """The ``../shared/datasets`` folder (skips cleanly when absent)."""
    return shared_dataset("README.md").parent


@pytest.fixture(autouse=True)
def _isolated_streamml_home(tmp_path_factory, monkeypatch):
    """Signing keys and caches go to a temporary folder, never to the user's home."""
    if "STREAMML_HOME" not in os.environ:
        monkeypatch.setenv("STREAMML_HOME", str(tmp_path_factory.getbasetemp() / "streamml-home"))
