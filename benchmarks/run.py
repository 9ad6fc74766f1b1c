"""Benchmark harness: (dataset x model) prequential runs, each model paired with its peer.

Usage::

    python benchmarks/run.py --suite foundation            # writes benchmarks/RESULTS.md
    python benchmarks/run.py --suite foundation --datasets yeast --max-instances 500 --out /tmp/r.md

Every (dataset, model) evaluation runs in its own process through ``streamml evaluate --json``, so
that peak memory is the model's own and the CLI contract is what gets measured. Within one
invocation each of our models runs next to its peer (River's closest learner) on the same machine,
and the speed ratio (our instances per second / the peer's) is reported, because absolute speeds
on shared machines are noisy.

Datasets other than ``yeast`` (from River's wheel) come from ``../shared/datasets`` when present
(or ``STREAMML_DATA``); missing ones are listed as skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from suites import SUITES, Pair  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets"
RESULT_KEYS = ("subset_accuracy", "hamming_loss", "example_f1", "micro_f1", "macro_f1", "macro_auc")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if "STREAMML_DATA" not in env and SHARED.is_dir():
        env["STREAMML_DATA"] = str(SHARED)
    return env


def evaluate(dataset: str, spec: str, max_instances: int | None, window: int, timeout: float) -> dict:
    """Run one prequential evaluation in a fresh process; return its JSON result (or an error)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "streamml", "evaluate", "--data", dataset, "--model", spec,
               "--window", str(window), "--json", str(out), "--no-progress"]
        if max_instances:
            cmd += ["--max-instances", str(max_instances)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"model": spec, "dataset": dataset, "error": f"timed out after {timeout:.0f} s"}
        if proc.returncode != 0:
            return {"model": spec, "dataset": dataset, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
        return json.loads(out.read_text())[0]


def dataset_available(name: str) -> bool:
    if name == "yeast" or name.startswith("synthetic"):
        return True
    data = _env().get("STREAMML_DATA", "")
    return any(Path(d).is_dir() and any(Path(d).glob(f"{name}.*")) for d in data.split(os.pathsep) if d)


def fmt(v, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def run_suite(name: str, datasets: list[str] | None, max_instances: int | None, window: int, timeout: float) -> str:
    suite = SUITES[name]
    rows: list[dict] = []
    ratios: list[tuple[str, Pair, dict, dict]] = []
    skipped: list[str] = []
    for dataset in datasets or suite.datasets:
        if not dataset_available(dataset):
            skipped.append(dataset)
            continue
        for pair in suite.pairs:
            if dataset in pair.skip:
                continue
            ours = evaluate(dataset, pair.ours, max_instances, window, timeout)
            rows.append(ours)
            print(_line(ours), flush=True)
            if pair.peer:
                peer = evaluate(dataset, pair.peer, max_instances, window, timeout)
                rows.append(peer)
                print(_line(peer), flush=True)
                ratios.append((dataset, pair, ours, peer))
    return render(name, suite.description, rows, ratios, skipped, max_instances, window)


def _line(r: dict) -> str:
    if "error" in r:
        return f"{r['dataset']:>12s}  {r['model']:<16s}  ERROR {r['error']}"
    return f"{r['dataset']:>12s}  {r['model']:<16s}  micro-F1 {fmt(r['micro_f1'])}  {r['instances_per_second']:,.0f} inst/s"


def render(name, description, rows, ratios, skipped, max_instances, window) -> str:
    lines = [f"## Suite `{name}`", "", description, ""]
    lines.append(f"Prequential over {'the first ' + str(max_instances) + ' instances' if max_instances else 'the whole stream'}, window {window}. "
                 "Example-based metrics count an instance whose true and predicted label sets are both empty as 1.")
    lines.append("")
    lines.append("| dataset | model | n | subset acc | Hamming loss | example F1 | micro-F1 | macro-F1 | macro-AUC | inst/s | peak RSS MB | model KB |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['model']} | error: {r['error']} |" + " |" * 9)
            continue
        lines.append(
            f"| {r['dataset']} | `{r['model']}` | {r['n']} | "
            + " | ".join(fmt(r.get(k)) for k in RESULT_KEYS)
            + f" | {r['instances_per_second']:,.0f} | {r['peak_rss_mb']:,.0f} | {r['model_size_bytes'] / 1024:,.1f} |"
        )
    if ratios:
        lines += ["", "Speed ratios, measured in this run (ours / peer, instances per second):", "",
                  "| dataset | ours | peer | ours inst/s | peer inst/s | ratio |", "|---|---|---|---:|---:|---:|"]
        for dataset, pair, ours, peer in ratios:
            if "error" in ours or "error" in peer:
                lines.append(f"| {dataset} | `{pair.ours}` | `{pair.peer}` | – | – | – |")
                continue
            ratio = ours["instances_per_second"] / peer["instances_per_second"]
            lines.append(f"| {dataset} | `{pair.ours}` | `{pair.peer}` | {ours['instances_per_second']:,.0f} | {peer['instances_per_second']:,.0f} | **{ratio:.1f}×** |")
    if skipped:
        lines += ["", f"Skipped (dataset not found): {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"


def machine() -> str:
    import numpy
    import river

    return (f"{platform.node() or 'host'}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, River {river.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="suite(s) to run (default: all)")
    parser.add_argument("--datasets", nargs="+", help="override the suite's datasets")
    parser.add_argument("--max-instances", type=int, default=None)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per evaluation")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)

    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    sections = [run_suite(s, args.datasets, args.max_instances, args.window, args.timeout) for s in (args.suite or sorted(SUITES))]
    header = [
        "# Benchmark results", "",
        f"Command: `{command.strip()}`  ",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {machine()}", "",
        "Each evaluation ran in its own process (`streamml evaluate --json`), so peak RSS is per model "
        "and includes the interpreter and libraries (about 100 MB). Speeds are whole-run figures on a "
        "shared machine: compare the ratios measured in the same run.", "",
    ]
    text = "\n".join(header) + "\n" + "\n".join(sections)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
