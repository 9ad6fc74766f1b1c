"""The ``streamml`` command.

::

    streamml evaluate --data yeast --model br-lr --model majority --plot curves.png --json out.json
    streamml datasets
    streamml models
    streamml convert in.arff out.parquet
    streamml kafka-dev-broker start --detach        # a local Kafka broker for development

Errors in the input (a malformed line, an unknown model spec, a missing file) are printed as one
line naming the place at fault, and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamml", description="Online multi-label learning on streams.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ev = sub.add_parser("evaluate", help="prequential (test-then-train) evaluation of one or more models")
    ev.add_argument("--data", required=True, metavar="NAME_OR_PATH", help="dataset name (see `streamml datasets`) or file path")
    ev.add_argument("--model", action="append", required=True, metavar="SPEC", help="model spec (see `streamml models`); repeat to compare")
    ev.add_argument("--window", type=int, default=1000, help="sliding window size for windowed metrics (default 1000)")
    ev.add_argument("--max-instances", type=int, default=None, metavar="N", help="stop after N instances")
    ev.add_argument("--delay", type=int, default=0, metavar="K", help="reveal each label K instances after its prediction")
    ev.add_argument("--record-every", type=int, default=None, metavar="N", help="record curve points every N instances")
    ev.add_argument("--size-every", type=int, default=None, metavar="N", help="record the serialised model size every N instances")
    ev.add_argument("--empty-score", type=float, choices=[0.0, 1.0], default=1.0,
                    help="example-based score of an instance with empty true and predicted label sets: 1 (default, MEKA) or 0 (River)")
    ev.add_argument("--labels", default=None, metavar="SPEC", help="label columns for CSV/JSONL/Parquet without metadata: names, first:N, last:N, prefix:P")
    ev.add_argument("--on-error", choices=["raise", "skip"], default="raise", help="bad input: stop with an error (default) or skip and report")
    ev.add_argument("--json", metavar="OUT", help="write results as JSON (a list, one object per model)")
    ev.add_argument("--csv", metavar="OUT", help="write the curves as CSV")
    ev.add_argument("--plot", metavar="OUT.png", help="plot the windowed curves to a PNG")
    ev.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar (default: when attached to a terminal)")

    sub.add_parser("datasets", help="list the datasets that resolve by name")
    sub.add_parser("models", help="list the model specs")

    cv = sub.add_parser("convert", help="convert a dataset between ARFF, CSV, JSONL, Parquet and Arrow IPC")
    cv.add_argument("src", metavar="IN")
    cv.add_argument("dst", metavar="OUT")
    cv.add_argument("--labels", default=None, metavar="SPEC", help="label columns of the input when it does not say")
    cv.add_argument("--dialect", choices=["meka", "mulan"], default="meka", help="ARFF dialect of the output (default meka)")
    form = cv.add_mutually_exclusive_group()
    form.add_argument("--sparse", dest="sparse", action="store_const", const=True, default=None, help="write sparse rows")
    form.add_argument("--dense", dest="sparse", action="store_const", const=False, help="write dense rows")
    cv.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    # listed for --help; main() hands its arguments to connectors.kafka.devbroker
    sub.add_parser("kafka-dev-broker", help="start [--detach] | stop | status: a local single-node Kafka broker")
    return parser


def _evaluate(args: argparse.Namespace) -> int:
    from streamml import datasets, registry
    from streamml.evaluate import format_table, plot_curves, prequential, write_csv, write_json

    models = [(spec, registry.make(spec)) for spec in args.model]
    kwargs = {"on_error": args.on_error}
    if args.labels is not None:
        kwargs["labels"] = args.labels
    stream = datasets.load(args.data, **kwargs)
    results = prequential(
        stream,
        models,
        window=args.window,
        max_instances=args.max_instances,
        delay=args.delay,
        record_every=args.record_every,
        size_every=args.size_every,
        empty_score=args.empty_score,
        progress=args.progress,
    )
    name = stream.schema.name or args.data
    print(f"{name}: {results[0].n} instances, {stream.schema.n_features} features, {stream.schema.n_labels} labels, window {args.window}")
    print(format_table(results))
    skipped = results[0].skipped.get("skipped", 0)
    if skipped:
        print(f"skipped {skipped} bad instances; first reasons:", file=sys.stderr)
        for reason in results[0].skipped.get("first_reasons", [])[:5]:
            print(f"  {reason}", file=sys.stderr)
    if args.json:
        write_json(results, args.json)
    if args.csv:
        write_csv(results, args.csv)
    if args.plot:
        plot_curves(results, args.plot)
    return 0


def _datasets(_: argparse.Namespace) -> int:
    from streamml import datasets

    infos = datasets.available()
    width = max((len(i.name) for i in infos), default=4)
    for info in infos:
        print(f"{info.name.ljust(width)}  {info.format:8s}  {info.location}")
    return 0


def _models(_: argparse.Namespace) -> int:
    from streamml import registry

    specs = registry.available()
    width = max(len(s) for s in specs)
    for spec, description in specs.items():
        print(f"{spec.ljust(width)}  {description}")
    print(f"{'river:<path>'.ljust(width)}  binary relevance over any River classifier, e.g. river:tree.HoeffdingTreeClassifier")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from connectors.convert import convert

    n = convert(args.src, args.dst, labels=args.labels, dialect=args.dialect, sparse=args.sparse, on_error=args.on_error)
    print(f"wrote {n} instances to {args.dst}")
    return 0


COMMANDS = {
    "evaluate": _evaluate,
    "datasets": _datasets,
    "models": _models,
    "convert": _convert,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["kafka-dev-broker"]:  # its own parser handles every option, --help included
        from connectors.kafka.devbroker import main as broker_main

        return int(broker_main(argv[1:], prog="streamml kafka-dev-broker") or 0)
    args = build_parser().parse_args(argv)
    from streamml.stream import DataError

    try:
        return COMMANDS[args.command](args)
    except (DataError, FileNotFoundError, KeyError, ValueError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"streamml {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
