"""Where iHOMER's time goes, per instance, next to our MLHAT's whole cost in the same run.

Usage::

    python benchmarks/ihomer_cost.py                      # corel5k, bibtex, cal500, delicious
    python benchmarks/ihomer_cost.py --datasets corel5k --max-instances 2000 --out /tmp/r.md

For each dataset, ``mlhat`` and ``ihomer`` (default parameters) run test-then-train over the whole
stream in this process, first plainly, ``--repeat`` times each, interleaved (the median totals, and
the median of the runs' paired time ratios with their range: on a shared machine the range shows
whether a ratio near 1 is a verdict or noise), then ``ihomer`` once more with its units' ``learn`` /
``predict`` calls and its phases timed. The breakdown splits unit work into:

* *active*: units of the hierarchy that is predicting;
* *candidate only*: units that only a candidate hierarchy on trial has (shared units count as active);
* *warm start*: replays of the buffer into a candidate's new units.

Timing each call adds about a microsecond per call, so the timed run's total (which the parts add
up to) is a little above the plain run's. *Active units alone / mlhat* is the time ratio iHOMER
would have if the active hierarchy's unit calls were all it did (no candidates, warm starts,
clustering or routing): their share of the timed run times the plain (median) ratio (:func:`floor_ratio`).
Where it is near or above 1, no saving outside the units can make iHOMER faster than MLHAT; only
cheaper or fewer unit calls can. The plain runs also time the second half of each stream, paired
the same way: most of iHOMER's restructures (the first candidates, which the back-off has not yet
spaced out, and the warm starts they pay) fall in the first half, so the second half's ratio is nearer
what iHOMER costs once its structure has settled. *Label slots* counts the targets that the active
units' learn calls train per instance (a meta unit's meta-labels, a leaf unit's labels); MLHAT trains
every label on every instance. Fewer slots in more calls is the hierarchy's trade: it pays where a
call's fixed cost is small next to its per-label work. Writes the ``ihomer-cost`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from results_md import command_line, stamp, update_section  # noqa: E402
from run import _env, dataset_available  # noqa: E402
from streamml import datasets, registry  # noqa: E402
from streamml.ihomer import IHOMER, JaccardODAC  # noqa: E402
from streamml.ihomer.hierarchy import Unit  # noqa: E402

SECTION_NAME = "ihomer-cost"
PARTS = [
    ("unit learn: active", "units of the predicting hierarchy, learning"),
    ("unit predict: active", "the same, predicting"),
    ("unit learn: candidate only", "units only a candidate on trial has, learning"),
    ("unit predict: candidate only", "the same, predicting"),
    ("unit learn: warm start", "buffer replays into a candidate's new units"),
    ("clustering", "JaccardODAC.update (pair counts, tests)"),
    ("rest", "routing, decision rules, global detector, buffer, bookkeeping"),
]


def _rows(name: str, limit: int | None) -> tuple[Any, list]:
    stream = datasets.load(name)
    rows = list(itertools.islice(stream, limit)) if limit else list(stream)
    return stream.schema, rows


def _test_then_train(model: Any, rows: list) -> tuple[float, float]:
    """Seconds to predict, then learn, every row; and the seconds the second half of the rows took."""
    half = len(rows) // 2
    seconds = []
    for part in (rows[:half], rows[half:]):
        t = time.perf_counter()
        for x, y in part:
            model.predict_row(x)
            model.learn_row(x, y)
        seconds.append(time.perf_counter() - t)
    return seconds[0] + seconds[1], seconds[1]


def _plain(spec: str, schema: Any, rows: list) -> tuple[float, float]:
    model = registry.make(spec)
    model.bind(schema)
    return _test_then_train(model, rows)


@contextmanager
def _instrumented(model: IHOMER, acc: Counter, counts: Counter) -> Iterator[None]:
    """Time ``model``'s unit calls and phases into ``acc`` (seconds) and ``counts`` (calls)."""
    state: dict[str, Any] = {"warm": False, "active": None, "root": None}
    saved = {(cls, name): getattr(cls, name) for cls, name in [
        (Unit, "learn"), (Unit, "predict"), (IHOMER, "_warm_start_all"), (IHOMER, "_warm_start"),
        (IHOMER, "_learn_row"), (IHOMER, "_compute"), (JaccardODAC, "update")]}

    def active_ids() -> set[int]:
        root = model._active
        if state["active"] is None or state["root"] is not root:  # a switch makes another hierarchy active
            state["root"] = root
            state["active"] = {id(u) for u in root.units()} if root is not None else set()
        return state["active"]

    def timed(key: str, f: Any, *args: Any) -> Any:
        t = time.perf_counter()
        out = f(*args)
        acc[key] += time.perf_counter() - t
        counts[key] += 1
        return out

    def unit_learn(unit: Unit, *args: Any) -> None:
        kind = "warm start" if state["warm"] else "active" if id(unit) in active_ids() else "candidate only"
        if kind == "active":
            counts["label slots: active"] += unit.n_targets  # the targets this call trains
        timed(f"unit learn: {kind}", saved[(Unit, "learn")], unit, *args)

    def unit_predict(unit: Unit, *args: Any) -> Any:
        kind = "active" if id(unit) in active_ids() else "candidate only"
        return timed(f"unit predict: {kind}", saved[(Unit, "predict")], unit, *args)

    def warm(name: str) -> Any:
        def run(self: IHOMER, *args: Any) -> Any:
            state["warm"] = True
            try:
                return saved[(IHOMER, name)](self, *args)
            finally:
                state["warm"] = False
        return run

    def phase(cls: type, name: str, key: str) -> Any:
        def run(self: Any, *args: Any) -> Any:
            return timed(key, saved[(cls, name)], self, *args)
        return run

    Unit.learn, Unit.predict = unit_learn, unit_predict  # type: ignore[method-assign]
    IHOMER._warm_start_all, IHOMER._warm_start = warm("_warm_start_all"), warm("_warm_start")  # type: ignore[method-assign]
    IHOMER._learn_row = phase(IHOMER, "_learn_row", "learn")  # type: ignore[method-assign]
    IHOMER._compute = phase(IHOMER, "_compute", "predict")  # type: ignore[method-assign]
    JaccardODAC.update = phase(JaccardODAC, "update", "clustering")  # type: ignore[method-assign]
    try:
        yield
    finally:
        for (cls, name), f in saved.items():
            setattr(cls, name, f)


def breakdown(schema: Any, rows: list, spec: str = "ihomer") -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per part of an instrumented ``spec`` (an iHOMER) run, and calls per instance of each part."""
    model = registry.make(spec)
    assert isinstance(model, IHOMER)
    model.bind(schema)
    acc: Counter = Counter()
    counts: Counter = Counter()
    with _instrumented(model, acc, counts):
        total = _test_then_train(model, rows)[0]
    parts = {key: acc[key] for key, _ in PARTS if key != "rest"}
    parts["rest"] = total - sum(parts.values())
    parts["total"] = total
    n = len(rows)
    return parts, {key: counts[key] / n for key in counts}


def floor_ratio(parts: dict[str, float], ihomer_s: float, mlhat_s: float) -> float:
    """``ihomer / mlhat`` time with only the active hierarchy's unit calls: their share of the timed
    run (``parts``, from :func:`breakdown`) applied to the plain runs' ratio ``ihomer_s / mlhat_s``."""
    active = parts["unit learn: active"] + parts["unit predict: active"]
    return active / parts["total"] * ihomer_s / mlhat_s


def report(results: list[dict[str, Any]], command: str, repeat: int) -> str:
    lines = [
        "## Where iHOMER's time goes",
        "",
        stamp(command).rstrip(),
        "",
        "`ihomer` and `mlhat` (defaults) test-then-train over each whole stream in one process, first "
        f"plainly ({repeat} run(s) each, interleaved; median times, and the median of the runs' paired time ratios "
        "with their range), then `ihomer` once more with each unit call and phase timed "
        "(`benchmarks/ihomer_cost.py` says how). Microseconds per instance; *calls* is unit calls per "
        "instance. *Second half*: the same paired time ratio over the second half of the stream alone "
        "(the models still learn the first half, untimed), by when iHOMER has made most of its "
        "restructures. *Label slots*: the targets the active units' learn calls train, per instance (a meta "
        "unit's meta-labels, a leaf unit's labels), next to `mlhat`'s, which trains every label on every instance.",
        "",
        "| dataset | n | mlhat µs | ihomer µs | ihomer / mlhat time | range | second half: ihomer / mlhat | range "
        "| label slots per instance: ihomer active units / mlhat | active units alone / mlhat | ihomer µs, timed run | "
        + " | ".join(k for k, _ in PARTS) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(PARTS),
    ]
    for r in results:
        n, parts, calls = r["n"], r["parts"], r["calls"]
        cells = []
        for key, _ in PARTS:
            us = parts[key] / n * 1e6
            c = calls.get(key)
            cells.append(f"{us:,.0f}" + (f" ({c:.1f} calls)" if c is not None and key.startswith("unit") else ""))
        ratios, late = r["ratios"], r["late_ratios"]
        ratio = statistics.median(ratios)
        slots = calls.get("label slots: active", 0.0)
        lines.append(
            f"| {r['dataset']} | {n} | {r['mlhat'] / n * 1e6:,.0f} | {r['ihomer'] / n * 1e6:,.0f} | "
            f"**{ratio:.2f}** | {min(ratios):.2f}–{max(ratios):.2f} | {statistics.median(late):.2f} | "
            f"{min(late):.2f}–{max(late):.2f} | {slots:,.0f} / {r['n_labels']} | {floor_ratio(parts, ratio, 1.0):.2f} | "
            f"{parts['total'] / n * 1e6:,.0f} | " + " | ".join(cells) + " |"
        )
    lines += ["", "Parts: " + "; ".join(f"*{k}*: {d}" for k, d in PARTS) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["corel5k", "bibtex", "cal500", "delicious"])
    ap.add_argument("--max-instances", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=5, help="plain runs of each model (medians reported)")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)
    os.environ["STREAMML_DATA"] = _env().get("STREAMML_DATA", "")  # ../shared/datasets by default
    results = []
    for name in args.datasets:
        if not dataset_available(name):
            print(f"skipping {name}: not found", file=sys.stderr)
            continue
        schema, rows = _rows(name, args.max_instances)
        plain: dict[str, list[tuple[float, float]]] = {"mlhat": [], "ihomer": []}
        for _ in range(args.repeat):  # interleaved: a slow spell of the machine hits both
            for spec in plain:
                plain[spec].append(_plain(spec, schema, rows))
        mlhat_s = statistics.median(t for t, _ in plain["mlhat"])
        ihomer_s = statistics.median(t for t, _ in plain["ihomer"])
        parts, calls = breakdown(schema, rows)
        ratios = [i[0] / m[0] for i, m in zip(plain["ihomer"], plain["mlhat"])]
        late = [i[1] / m[1] for i, m in zip(plain["ihomer"], plain["mlhat"])]
        results.append({"dataset": name, "n": len(rows), "n_labels": schema.n_labels, "mlhat": mlhat_s, "ihomer": ihomer_s,
                        "ratios": ratios, "late_ratios": late, "parts": parts, "calls": calls})  # fmt: skip
        print(f"{name:>10}  mlhat {mlhat_s / len(rows) * 1e6:,.0f} us/inst  ihomer {ihomer_s / len(rows) * 1e6:,.0f} us/inst", flush=True)
    command = command_line("benchmarks/ihomer_cost.py", argv if argv is not None else sys.argv[1:])
    update_section(SECTION_NAME, report(results, command, args.repeat), args.out)
    print(f"updated section {SECTION_NAME} of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
