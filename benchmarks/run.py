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
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from results_md import RESULTS, stamp, update_section  # noqa: E402
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
    env = _env()
    previous = os.environ.get("STREAMML_DATA")
    os.environ["STREAMML_DATA"] = env.get("STREAMML_DATA", "")
    try:
        from streamml.datasets import find

        return find(name) is not None
    finally:
        if previous is None:
            os.environ.pop("STREAMML_DATA", None)
        else:
            os.environ["STREAMML_DATA"] = previous


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
    done: dict[tuple[str, str], dict] = {}  # a peer shared by several pairs runs once per dataset

    def run(dataset: str, spec: str) -> dict:
        if (dataset, spec) not in done:
            done[dataset, spec] = result = evaluate(dataset, spec, max_instances, window, timeout)
            rows.append(result)
            print(_line(result), flush=True)
        return done[dataset, spec]

    for dataset in datasets or suite.datasets:
        if not dataset_available(dataset):
            skipped.append(dataset)
            continue
        for pair in suite.pairs:
            if dataset in pair.skip:
                continue
            ours = run(dataset, pair.ours)
            if pair.peer and dataset not in pair.peer_skip:
                ratios.append((dataset, pair, ours, run(dataset, pair.peer)))
    text = render(name, suite.description, rows, ratios, skipped, max_instances, window)
    if suite.reference and not max_instances:
        text += render_reference(suite, done)
    if suite.means:
        text += render_means(ratios, suite.means_over)
    return text


def render_means(ratios, target: tuple[str, ...] = ()) -> str:
    """Means of subset accuracy and micro-F1 per pair: over ``target`` (the datasets a target names)
    when given, and over every dataset where both sides of the pair ran."""
    by_pair: dict[tuple[str, str], list[tuple[str, dict, dict]]] = {}
    for dataset, pair, ours, peer in ratios:
        if "error" not in ours and "error" not in peer:
            by_pair.setdefault((pair.ours, pair.peer), []).append((dataset, ours, peer))
    lines = ["", "Means (each instance of each stream scored):", "",
             "| ours | peer | over | datasets | ours mean subset acc | peer mean subset acc | ours mean micro-F1 | peer mean micro-F1 |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for (ours, peer), runs in by_pair.items():
        groups = []
        if target:
            chosen = [r for r in runs if r[0] in target]
            if len(chosen) == len(target):
                groups.append(("the target's datasets", chosen))
        groups.append(("every dataset where both ran", runs))
        for label, group in groups:
            mean = lambda side, key: sum(r[side][key] for r in group) / len(group)  # noqa: E731
            sa_o, sa_p, f_o, f_p = mean(1, "subset_accuracy"), mean(2, "subset_accuracy"), mean(1, "micro_f1"), mean(2, "micro_f1")
            bold = lambda a, b: f"**{a:.4f}**" if a > b else f"{a:.4f}"  # noqa: E731
            lines.append(f"| `{ours}` | `{peer}` | {label} | {len(group)} | {bold(sa_o, sa_p)} | {sa_p:.4f} "
                         f"| {bold(f_o, f_p)} | {f_p:.4f} |")
    if target:
        lines += ["", "The target's datasets: " + ", ".join(target) + ". Bold: ours is higher."]
    return "\n".join(lines) + "\n"


def render_reference(suite, done: dict[tuple[str, str], dict]) -> str:
    lines = ["", suite.reference_note, "",
             "| dataset | model | metric | ours | reference | ours − reference | within tolerance |",
             "|---|---|---|---:|---:|---:|---|"]
    for spec, per_dataset in suite.reference.items():
        for dataset, figures in per_dataset.items():
            ours = done.get((dataset, spec))
            for metric, ref in figures.items():
                if ours is None or "error" in ours:
                    lines.append(f"| {dataset} | `{spec}` | {metric} | – | {ref:.4f} | – | not run |")
                    continue
                delta = ours[metric] - ref
                ok = "yes" if delta >= -suite.tolerance else "**no**"
                lines.append(f"| {dataset} | `{spec}` | {metric} | {ours[metric]:.4f} | {ref:.4f} | {delta:+.4f} | {ok} |")
    return "\n".join(lines) + "\n"


def _line(r: dict) -> str:
    if "error" in r:
        return f"{r['dataset']:>12s}  {r['model']:<16s}  ERROR {r['error']}"
    return f"{r['dataset']:>12s}  {r['model']:<16s}  micro-F1 {fmt(r['micro_f1'])}  {r['instances_per_second']:,.0f} inst/s"


def render(name, description, rows, ratios, skipped, max_instances, window) -> str:
    lines = [f"## Suite `{name}`", "", description, "",
             "Each evaluation ran in its own process (`streamml evaluate --json`), so peak RSS is per model "
             "and includes the interpreter and libraries (about 100 MB).", ""]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="suite(s) to run (default: all)")
    parser.add_argument("--datasets", nargs="+", help="override the suite's datasets")
    parser.add_argument("--max-instances", type=int, default=None)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per evaluation")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)

    command = ("python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    for suite in args.suite or sorted(SUITES):
        text = run_suite(suite, args.datasets, args.max_instances, args.window, args.timeout)
        update_section(f"suite:{suite}", text.replace("\n\n", "\n\n" + stamp(command) + "\n", 1), Path(args.out))
        print(f"updated section suite:{suite} of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
