"""Keep benchmarks/RESULTS.md as named sections, each rewritten only by the script that owns it.

A section is the text between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``. Rerunning one
suite replaces its own section and leaves the others (and their commands and dates) as they were.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shlex
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = (
    "# Benchmark results\n\n"
    "Each section below was written by the command it names, on the machine it names. Speeds are "
    "whole-run figures on a shared machine: compare the ratios measured in the same run.\n"
)


def machine() -> str:
    import numpy
    import river

    return (f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, River {river.__version__}")


def command_line(script: str, args: list[str]) -> str:
    """``python script args``, quoted so that it can be pasted into a POSIX shell (double quotes
    where they suffice: model specs such as ``mlhat(selection_metric='micro_f1')`` stay readable)."""
    def quote(a: str) -> str:
        if re.fullmatch(r"[\w@%+=:,./-]+", a):
            return a
        if not re.search(r'["$`\\!]', a):
            return f'"{a}"'
        return shlex.quote(a)

    return " ".join(["python", script, *map(quote, args)])


def stamp(command: str) -> str:
    """The provenance lines every section starts with."""
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"Command: `{command}`  \nDate: {when}  \nMachine: {machine()}\n"


def update_section(name: str, text: str, path: Path = RESULTS) -> None:
    """Replace (or append) section ``name`` of ``path`` with ``text``."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    current = path.read_text() if path.exists() else TITLE
    if not current.startswith("# Benchmark results"):
        current = TITLE
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: block, current)
    else:
        current = current.rstrip() + "\n\n" + block
    path.write_text(current)
