"""The README's Python examples run as written (in a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STREAMML_HOME", str(tmp_path / "home"))
    namespace: dict = {}
    exec(compile(BLOCKS[index], f"README.md python block {index + 1}", "exec"), namespace)
    written = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    # every file a block names in quotes with an extension it writes is there and not empty
    for name in re.findall(r'"([\w.]+\.(?:png|sml))"', BLOCKS[index]):
        assert name in written, f"block {index + 1} did not write {name}"
        assert (tmp_path / name).stat().st_size > 0
