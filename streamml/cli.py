"""The ``streamml`` command.

::

    streamml evaluate --data yeast --model br-lr --model majority --plot curves.png --json out.json
    streamml datasets
    streamml models
    streamml convert in.arff out.parquet
    streamml kafka-dev-broker start --detach        # a local Kafka broker for development
    streamml replay --data yeast --to kafka://127.0.0.1:9092/yeast
    streamml run --source kafka://127.0.0.1:9092/yeast --model mlht --group g1 --checkpoint-dir ckpt \
        --predictions-topic yeast-pred --dlq-topic yeast-dlq --json run.json

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
    rp = sub.add_parser("replay", help="publish a dataset to a Kafka topic as instance messages")
    rp.add_argument("--data", required=True, metavar="NAME_OR_PATH", help="dataset name or file path")
    rp.add_argument("--to", required=True, metavar="kafka://HOST:PORT/TOPIC", help="where to publish")
    rp.add_argument("--rate", type=float, default=None, metavar="N", help="at most N instances per second (default: as fast as possible)")
    rp.add_argument("--labels-topic", default=None, metavar="T", help="send labels separately to this topic (instance messages then carry none)")
    rp.add_argument("--labels-delay", type=int, default=0, metavar="K", help="send each instance's labels K instances later")
    rp.add_argument("--format", choices=["json", "arrow"], default="json", help="one JSON message per instance, or Arrow IPC batches")
    rp.add_argument("--batch-size", type=int, default=500, metavar="N", help="instances per Arrow message (default 500)")
    rp.add_argument("--max-instances", type=int, default=None, metavar="N", help="stop after N instances")
    rp.add_argument("--partitions", type=int, default=None, metavar="N", help="create the topic(s) with N partitions if missing")
    rp.add_argument("--labels", default=None, metavar="SPEC", help="label columns of the input when it does not say")
    rp.add_argument("--client-config", action="append", default=[], metavar="KEY=VALUE", help="kafka-python setting (SSL, SASL...); repeat")

    rn = sub.add_parser("run", help="attach a learner to a Kafka topic: predict, publish, learn, checkpoint")
    rn.add_argument("--source", required=True, metavar="kafka://HOST:PORT/TOPIC", help="the topic of instance messages")
    rn.add_argument("--model", required=True, metavar="SPEC", help="model spec (see `streamml models`)")
    rn.add_argument("--group", required=True, metavar="G", help="consumer group id (offsets are committed there)")
    rn.add_argument("--checkpoint-dir", required=True, metavar="D", help="checkpoint folder (shared by the workers of a group)")
    rn.add_argument("--predictions-topic", default=None, metavar="T", help="publish each prediction here, keyed by id")
    rn.add_argument("--predictions-format", choices=["auto", "json", "arrow"], default="auto", help="prediction messages (default: as the input)")
    rn.add_argument("--labels-topic", default=None, metavar="T", help="labels arrive later on this topic, joined by id")
    rn.add_argument("--dlq-topic", default=None, metavar="T", help="dead-letter topic for bad messages")
    rn.add_argument("--checkpoint-every", type=int, default=1000, metavar="N", help="checkpoint every N messages (default 1000)")
    rn.add_argument("--checkpoint-seconds", type=float, default=30.0, metavar="T", help="... or every T seconds (default 30)")
    rn.add_argument("--per-partition", action="store_true", help="one model per partition, moved with it between the group's workers")
    rn.add_argument("--max-messages", type=int, default=None, metavar="N", help="stop after N messages")
    rn.add_argument("--idle-timeout", type=float, default=None, metavar="S", help="stop after S seconds without messages")
    rn.add_argument("--until-end", action="store_true", help="stop once caught up with the end of the topic")
    rn.add_argument("--micro-batch", type=int, default=1, metavar="K", help="predict K instances together before learning them (default 1)")
    rn.add_argument("--max-poll-records", type=int, default=1000, metavar="N", help="records fetched per poll (default 1000)")
    rn.add_argument("--labels", default=None, metavar="NAMES", help="comma-separated label names declared up front")
    rn.add_argument("--strict-labels", action="store_true", help="fixed label space: an unknown label is a bad message (default: the space grows)")
    rn.add_argument("--strict-features", action="store_true", help="an unknown feature name or index is a bad message")
    rn.add_argument("--max-message-bytes", type=int, default=1 << 20, metavar="N", help="larger messages go to the dead-letter topic")
    rn.add_argument("--join-capacity", type=int, default=100_000, metavar="N", help="late-label buffer size per side")
    rn.add_argument("--join-ttl", type=float, default=3600.0, metavar="S", help="late-label time-to-live, event-time seconds")
    rn.add_argument("--window", type=int, default=1000, help="window of the windowed metrics (default 1000)")
    rn.add_argument("--log-every", type=float, default=5.0, metavar="S", help="seconds between log lines when not on a terminal")
    rn.add_argument("--client-config", action="append", default=[], metavar="KEY=VALUE",
                    help="kafka-python setting passed through (security_protocol, ssl_cafile, sasl_mechanism, ...); "
                         "prefix consumer. or producer. for one client; repeat")
    rn.add_argument("--json", metavar="OUT", help="write the results as `streamml evaluate --json` does")
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


def _replay(args: argparse.Namespace) -> int:
    from connectors.kafka.replay import ensure_topic, replay
    from connectors.kafka.worker import parse_client_config, parse_kafka_url
    from streamml import datasets

    bootstrap, topic = parse_kafka_url(args.to)
    config = parse_client_config(args.client_config)
    kwargs = {"labels": args.labels} if args.labels is not None else {}
    stream = datasets.load(args.data, **kwargs)
    if args.partitions:
        for t in [topic] + ([args.labels_topic] if args.labels_topic else []):
            ensure_topic(bootstrap, t, args.partitions, config)
    out = replay(stream, bootstrap, topic, rate=args.rate, labels_topic=args.labels_topic,
                 labels_delay=args.labels_delay, fmt=args.format, batch_size=args.batch_size,
                 max_instances=args.max_instances, client_config=config)
    extra = f" and {out['labels_messages']} labels messages to {args.labels_topic}" if args.labels_topic else ""
    print(f"sent {out['instances']} instances in {out['messages']} messages to {topic}{extra} "
          f"in {out['seconds']:.2f} s ({out['instances'] / max(out['seconds'], 1e-9):,.0f} inst/s)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from connectors.kafka.live import LiveDisplay
    from connectors.kafka.worker import KafkaWorker, WorkerConfig, parse_client_config, parse_kafka_url
    from streamml import registry
    from streamml.evaluate import format_table, write_json

    bootstrap, topic = parse_kafka_url(args.source)
    registry.make(args.model)  # a bad spec fails here, before any connection
    config = WorkerConfig(
        bootstrap=bootstrap, topic=topic, model=args.model, group=args.group, checkpoint_dir=args.checkpoint_dir,
        predictions_topic=args.predictions_topic, labels_topic=args.labels_topic, dlq_topic=args.dlq_topic,
        checkpoint_every=args.checkpoint_every, checkpoint_seconds=args.checkpoint_seconds,
        per_partition=args.per_partition, max_messages=args.max_messages, idle_timeout=args.idle_timeout,
        until_end=args.until_end, micro_batch=args.micro_batch, max_poll_records=args.max_poll_records,
        predictions_format=args.predictions_format,
        labels=[s.strip() for s in args.labels.split(",") if s.strip()] if args.labels else None,
        strict_labels=args.strict_labels, strict_features=args.strict_features,
        max_message_bytes=args.max_message_bytes, join_capacity=args.join_capacity, join_ttl_s=args.join_ttl,
        window=args.window, client_config=parse_client_config(args.client_config),
    )
    worker = KafkaWorker(config, display=LiveDisplay(sys.stderr, log_every=args.log_every))
    try:
        stats = worker.run()
    except RuntimeError as e:
        print(f"streamml run: error: {e}", file=sys.stderr)
        return 1
    result = worker.result()
    print(format_table([result]))
    print(f"messages {stats['messages']}, instances {stats['instances']}, scored {stats['scored']}, "
          f"dead letters {stats['dead_letters']} {stats['dead_letters_by_kind'] or ''}, evicted {stats['evicted']}, "
          f"pending {stats['pending']}, checkpoints {stats['checkpoints']} "
          f"(last {stats['checkpoint_bytes_last'] / 1024:,.1f} KB, mean {stats['checkpoint_ms_mean']:.1f} ms)")
    if args.json:
        write_json([result], args.json)
    return 0


COMMANDS = {
    "evaluate": _evaluate,
    "replay": _replay,
    "run": _run,
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
