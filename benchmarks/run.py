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
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from results_md import RESULTS, command_line, stamp, update_section  # noqa: E402
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


def run_dataset(dataset: str, specs: list[str], repeat: int, max_instances: int | None, window: int,
                timeout: float) -> dict[str, dict]:
    """Evaluate every spec ``repeat`` times, interleaved (A B C, A B C, ...), so that a slow spell of
    the machine hits every model alike. Quality comes from the first run (every run must give the
    same); ``ips_runs`` keeps each run's speed and ``instances_per_second`` is their median."""
    results: dict[str, dict] = {}
    for _ in range(repeat):
        for spec in specs:
            r = evaluate(dataset, spec, max_instances, window, timeout)
            first = results.setdefault(spec, r)
            if "error" in first:
                continue
            if "error" in r:
                results[spec] = r
                continue
            if r is not first and any(r.get(k) != first.get(k) for k in RESULT_KEYS):
                raise RuntimeError(f"{spec} on {dataset}: a repeated run gave other metrics (not deterministic)")
            first.setdefault("ips_runs", []).append(r["instances_per_second"])
    for r in results.values():
        if "error" not in r:
            r["instances_per_second"] = statistics.median(r["ips_runs"])
        print(_line(r), flush=True)
    return results


def run_suite(name: str, datasets: list[str] | None, max_instances: int | None, window: int, timeout: float,
              repeat: int = 1) -> str:
    suite = SUITES[name]
    rows: list[dict] = []
    ratios: list[tuple[str, Pair, dict, dict]] = []
    skipped: list[str] = []
    done: dict[tuple[str, str], dict] = {}

    for dataset in datasets or suite.datasets:
        if not dataset_available(dataset):
            skipped.append(dataset)
            continue
        specs: list[str] = []  # a peer shared by several pairs runs once per dataset
        for pair in suite.pairs:
            if dataset in pair.skip:
                continue
            specs += [s for s in (pair.ours, pair.peer if dataset not in pair.peer_skip else None) if s and s not in specs]
        results = run_dataset(dataset, specs, repeat, max_instances, window, timeout)
        rows += results.values()
        done.update(((dataset, spec), r) for spec, r in results.items())
        for pair in suite.pairs:
            if dataset not in pair.skip and pair.peer and dataset not in pair.peer_skip:
                ratios.append((dataset, pair, results[pair.ours], results[pair.peer]))
    text = render(name, suite.description, rows, ratios, skipped, max_instances, window, repeat)
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
    lines += ["", ("The target's datasets: " + ", ".join(target) + ". " if target else "") + "Bold: ours is higher."]
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


def paired_ratios(ours: dict, peer: dict) -> list[float]:
    """Speed ratio of each repetition (ours / peer; the runs were interleaved, so paired)."""
    a, b = ours.get("ips_runs") or [ours["instances_per_second"]], peer.get("ips_runs") or [peer["instances_per_second"]]
    return sorted(x / y for x, y in zip(a, b))


def render(name, description, rows, ratios, skipped, max_instances, window, repeat: int = 1) -> str:
    lines = [f"## Suite `{name}`", "", description, "",
             "Each evaluation ran in its own process (`streamml evaluate --json`), so peak RSS is per model "
             "and includes the interpreter and libraries (about 100 MB).", ""]
    if repeat > 1:
        lines += [f"Speed: every evaluation ran {repeat} times, the models of a dataset interleaved; inst/s is the "
                  "median of the runs, and a ratio is the median of the runs' paired ratios, with their range "
                  "(the quality figures were identical in every run).", ""]
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
                  "| dataset | ours | peer | ours inst/s | peer inst/s | ratio |" + (" range |" if repeat > 1 else ""),
                  "|---|---|---|---:|---:|---:|" + ("---:|" if repeat > 1 else "")]
        for dataset, pair, ours, peer in ratios:
            if "error" in ours or "error" in peer:
                lines.append(f"| {dataset} | `{pair.ours}` | `{pair.peer}` | – | – | – |" + (" – |" if repeat > 1 else ""))
                continue
            each = paired_ratios(ours, peer)
            ratio = statistics.median(each)
            spread = f" {each[0]:.2f}–{each[-1]:.2f} |" if repeat > 1 else ""
            lines.append(f"| {dataset} | `{pair.ours}` | `{pair.peer}` | {ours['instances_per_second']:,.0f} | "
                         f"{peer['instances_per_second']:,.0f} | **{ratio:.2f}×** |{spread}")
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
    parser.add_argument("--repeat", type=int, default=1, help="runs per evaluation, interleaved; speeds are medians")
    args = parser.parse_args(argv)

    command = command_line("benchmarks/run.py", argv if argv is not None else sys.argv[1:])
    for suite in args.suite or sorted(SUITES):
        text = run_suite(suite, args.datasets, args.max_instances, args.window, args.timeout, args.repeat)
        update_section(f"suite:{suite}", text.replace("\n\n", "\n\n" + stamp(command) + "\n", 1), Path(args.out))
        print(f"updated section suite:{suite} of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
