"""Model size and peak memory over a long synthetic stream: is growth bounded?

Usage::

    python benchmarks/memory_curve.py                       # 1M instances, mlht and mlhat
    python benchmarks/memory_curve.py --n 200000 --model mlht

Each model runs in its own process (``streamml evaluate --size-every``) over the same seeded
stream with an abrupt drift half way; the serialised model size is recorded every ``--every``
instances. Writes ``benchmarks/memory_curve.png`` and the section ``memory`` of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from results_md import stamp, update_section  # noqa: E402


def run(spec: str, data: str, every: int, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [sys.executable, "-m", "streamml", "evaluate", "--data", data, "--model", spec, "--window", "10000",
               "--record-every", str(every), "--size-every", str(every), "--json", str(out), "--no-progress"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise SystemExit(f"{spec} failed: {proc.stderr[-2000:]}")
        return json.loads(out.read_text())[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=50_000)
    parser.add_argument("--model", action="append", help="model spec(s) (default: mlht, mlhat)")
    parser.add_argument("--timeout", type=float, default=7200)
    args = parser.parse_args(argv)
    specs = args.model or ["mlht", "mlhat"]
    data = f"synthetic:n={args.n},features=20,labels=10,groups=3,drift=both@{args.n // 2},seed=7"
    results = {spec: run(spec, data, args.every, args.timeout) for spec in specs}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for spec, r in results.items():
        xs = [n for n, _ in r["size_curve"]]
        ax.plot(xs, [size / 1024 for _, size in r["size_curve"]], marker=".", label=spec)
    ax.axvline(args.n // 2, color="grey", linestyle=":", label="drift")
    ax.set_xlabel("instances")
    ax.set_ylabel("serialised model size (KiB)")
    ax.set_title(f"Model size over {args.n:,} synthetic instances")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "memory_curve.png", dpi=110)

    command = "python benchmarks/memory_curve.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = ["## Memory over a long stream", "", stamp(command.strip()),
             f"Stream: `{data}` (abrupt drift in features and co-occurrence half way). "
             "Curve: [memory_curve.png](memory_curve.png).", "",
             "| model | instances | inst/s | peak RSS MB | size at 10% KiB | size at 50% KiB | final size KiB | max size KiB | micro-F1 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for spec, r in results.items():
        sizes = [s for _, s in r["size_curve"]]
        at = lambda frac: sizes[max(0, int(len(sizes) * frac) - 1)] / 1024  # noqa: E731
        lines.append(f"| `{spec}` | {r['n']:,} | {r['instances_per_second']:,.0f} | {r['peak_rss_mb']:,.0f} | "
                     f"{at(0.1):,.1f} | {at(0.5):,.1f} | {sizes[-1] / 1024:,.1f} | {max(sizes) / 1024:,.1f} | {r['micro_f1']:.4f} |")
    update_section("memory", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
