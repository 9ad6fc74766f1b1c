"""Live demo: a Kafka broker, Yeast replayed into it, a tree learner attached, live metrics.

One command (needs Java 17+ and Maven for the dev broker; the first run fetches the Kafka jars)::

    python demos/kafka_live/run.py            # or: bash demos/kafka_live/run.sh
    python demos/kafka_live/run.py --rate 300 --labels-delay 20 --model mlht

It starts a single-node broker (:class:`connectors.kafka.DevBroker`), replays Yeast into topic
``yeast`` at ``--rate`` instances per second in a background thread (optionally with the labels on
their own topic, ``--labels-delay`` instances late), and attaches the learner with
:class:`connectors.kafka.worker.KafkaWorker`: predictions go to ``yeast-predictions``, bad messages
to ``yeast-dlq``, checkpoints to a temporary folder. The live metrics refresh on one line in a
terminal (log lines otherwise). It stops when the stream has been idle for 3 s, prints the results
and stops the broker. ``--short`` replays 300 instances as fast as possible (the test mode);
``--bootstrap HOST:PORT`` uses a running broker instead of starting one.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from connectors.kafka.live import LiveDisplay  # noqa: E402
from connectors.kafka.replay import ensure_topic, replay  # noqa: E402
from connectors.kafka.worker import KafkaWorker, WorkerConfig  # noqa: E402
from streamml import datasets, registry  # noqa: E402
from streamml.evaluate import format_table  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_model = "mlhat" if "mlhat" in registry.available() else "mlht"
    parser.add_argument("--model", default=default_model, help=f"learner spec (default {default_model})")
    parser.add_argument("--rate", type=float, default=500.0, help="instances per second replayed (default 500)")
    parser.add_argument("--labels-delay", type=int, default=None, metavar="K",
                        help="send labels on their own topic, K instances late")
    parser.add_argument("--max-instances", type=int, default=None)
    parser.add_argument("--short", action="store_true", help="300 instances, no rate limit (for tests)")
    parser.add_argument("--bootstrap", default=None, help="use this broker instead of starting one")
    parser.add_argument("--json", default=None, help="write the results JSON here")
    args = parser.parse_args(argv)
    if args.short:
        args.rate, args.max_instances = None, args.max_instances or 300

    with contextlib.ExitStack() as stack:
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            from connectors.kafka.devbroker import DevBroker

            print("starting a Kafka dev broker (the first run fetches its jars with Maven)...", flush=True)
            broker = stack.enter_context(DevBroker())
            bootstrap = broker.bootstrap
        suffix = next(tempfile._get_candidate_names())  # fresh topics on a reused broker
        topic = f"yeast-{suffix}"
        labels_topic = f"{topic}-labels" if args.labels_delay is not None else None
        for t in [topic] + ([labels_topic] if labels_topic else []):
            ensure_topic(bootstrap, t, 1)
        stream = datasets.load("yeast")
        print(f"broker {bootstrap}: replaying Yeast into {topic!r} at "
              f"{'full speed' if not args.rate else f'{args.rate:g} inst/s'}; model {args.model}", flush=True)
        feeder = threading.Thread(
            target=replay, daemon=True,
            args=(stream, bootstrap, topic),
            kwargs=dict(rate=args.rate, labels_topic=labels_topic, labels_delay=args.labels_delay or 0,
                        max_instances=args.max_instances),
        )
        feeder.start()
        ckdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="streamml-demo-"))
        worker = KafkaWorker(
            WorkerConfig(bootstrap=bootstrap, topic=topic, model=args.model, group=f"demo-{suffix}",
                         checkpoint_dir=ckdir, predictions_topic=f"{topic}-predictions", dlq_topic=f"{topic}-dlq",
                         labels_topic=labels_topic, idle_timeout=3.0, checkpoint_every=500, checkpoint_seconds=5),
            display=LiveDisplay(sys.stderr, log_every=1.0),
        )
        stats = worker.run()
        feeder.join(timeout=30)
        result = worker.result()
        print(format_table([result]))
        print(f"messages {stats['messages']}, scored {stats['scored']}, dead letters {stats['dead_letters']}, "
              f"checkpoints {stats['checkpoints']} (last {stats['checkpoint_bytes_last'] / 1024:,.1f} KB, "
              f"mean {stats['checkpoint_ms_mean']:.1f} ms)")
        if args.json:
            from streamml.evaluate import write_json

            write_json([result], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
