"""End-to-end Kafka throughput: consume, predict, produce the prediction, learn; and checkpoint cost.

::

    python benchmarks/kafka_throughput.py                  # starts a dev broker, appends to RESULTS.md
    python benchmarks/kafka_throughput.py --bootstrap 127.0.0.1:9092 --repeat 5 --no-append

Yeast is replayed ``--repeat`` times into two topics, one JSON message per instance and Arrow IPC
batches of ``--batch-size`` instances. Then, in this one process and run:

* a plain kafka-python consume loop over each topic (no decoding, no model): the ceiling;
* the worker (:class:`connectors.kafka.worker.KafkaWorker`, one global model, predictions published to
  a topic, metrics on, checkpoints every 10,000 messages or 30 s) with ``majority`` and ``mlht`` (and
  ``mlhat`` when registered) on both formats, with and without micro-batching (a micro-batch of
  ``k`` is predicted by the model of its start, then learned in order);
* the checkpoint size and write time of the tree models after one pass over Yeast.

Rates are instances per second over the span from the poll call that brought the first records to
the last record processed (``busy_seconds``); for JSON a message is an instance. The ratio column is the worker's
rate over the plain consume loop's on the same topic.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

from connectors.kafka.checkpoint import write_checkpoint  # noqa: E402
from connectors.kafka.replay import ensure_topic, replay  # noqa: E402
from connectors.kafka.worker import KafkaWorker, WorkerConfig  # noqa: E402
from results_md import update_section  # noqa: E402
from streamml import datasets, registry  # noqa: E402


class _Repeat:
    def __init__(self, stream, times):
        self.stream, self.times, self.schema = stream, times, stream.schema

    def __iter__(self):
        for _ in range(self.times):
            yield from self.stream


def plain_consume(bootstrap: str, topic: str, expected: int) -> tuple[int, float]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", max_poll_records=1000, fetch_max_wait_ms=100,
                             max_partition_fetch_bytes=8 << 20)
    n, first, last = 0, None, None
    deadline = time.monotonic() + 300
    while n < expected and time.monotonic() < deadline:
        polled_at = time.perf_counter()
        records = consumer.poll(timeout_ms=500)
        for recs in records.values():
            if first is None:  # timed from the poll call that brought the first records, as the worker is
                first = polled_at
            for r in recs:
                n += 1
                _ = r.value
            last = time.perf_counter()
    consumer.close()
    return n, (last - first) if first is not None else float("nan")


def run_worker(bootstrap: str, topic: str, model: str, micro_batch: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix="kbench-") as ck:
        worker = KafkaWorker(WorkerConfig(
            bootstrap=bootstrap, topic=topic, model=model, group=f"bench-{uuid.uuid4().hex[:8]}", checkpoint_dir=ck,
            predictions_topic=f"{topic}-pred-{uuid.uuid4().hex[:6]}", until_end=True, micro_batch=micro_batch,
            checkpoint_every=10_000, checkpoint_seconds=30, max_poll_records=1000,
        ), log=lambda m: None)
        stats = worker.run()
    return stats


def checkpoint_cost(spec: str) -> tuple[int, float, float]:
    stream = datasets.load("yeast")
    model = registry.make(spec)
    model.bind(stream.schema)
    for x, y in stream:
        model.learn_row(x, y)
    times = []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(10):
            info = write_checkpoint(Path(d) / "m.ckpt", model, offsets={"yeast:0": 2417})
            times.append(info.seconds)
    return info.bytes, 1000 * float(np.mean(times)), 1000 * float(np.max(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default=None, help="a running broker (default: start a dev broker)")
    parser.add_argument("--repeat", type=int, default=10, help="passes over Yeast (default 10: 24,170 instances)")
    parser.add_argument("--batch-size", type=int, default=500, help="instances per Arrow message (default 500)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--no-append", action="store_true", help="print only, do not write RESULTS.md")
    args = parser.parse_args(argv)
    command = "python benchmarks/kafka_throughput.py" + (f" --repeat {args.repeat}" if args.repeat != 10 else "") + (
        " --bootstrap HOST:PORT" if args.bootstrap else "")

    with contextlib.ExitStack() as stack:
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            from connectors.kafka.devbroker import DevBroker

            bootstrap = stack.enter_context(DevBroker()).bootstrap
        stream = datasets.load("yeast")
        n = stream.n_instances * args.repeat
        suffix = uuid.uuid4().hex[:6]
        json_topic, arrow_topic = f"bench-json-{suffix}", f"bench-arrow-{suffix}"
        for t in (json_topic, arrow_topic):
            ensure_topic(bootstrap, t, 1)
        sent_json = replay(_Repeat(stream, args.repeat), bootstrap, json_topic, fmt="json")
        sent_arrow = replay(_Repeat(stream, args.repeat), bootstrap, arrow_topic, fmt="arrow", batch_size=args.batch_size)
        print(f"replayed {n} instances: {sent_json['messages']} JSON messages, {sent_arrow['messages']} Arrow messages",
              flush=True)

        rows = []
        plain = {}
        for fmt, topic, msgs in (("json", json_topic, sent_json["messages"]), ("arrow", arrow_topic, sent_arrow["messages"])):
            got, secs = plain_consume(bootstrap, topic, msgs)
            inst = got if fmt == "json" else got * args.batch_size
            plain[fmt] = min(inst, n) / secs
            rows.append((f"plain kafka-python consume loop ({fmt})", "-", fmt, got / secs, plain[fmt], 1.0))
            print(rows[-1], flush=True)

        models = ["majority", "mlht"] + (["mlhat"] if "mlhat" in registry.available() else [])
        b = args.batch_size
        runs = [("majority", "arrow", arrow_topic, b), ("majority", "arrow", arrow_topic, 1),
                ("majority", "json", json_topic, 100), ("majority", "json", json_topic, 1)]
        for model in models[1:]:
            runs += [(model, "arrow", arrow_topic, 1), (model, "json", json_topic, 100), (model, "json", json_topic, 1)]
        for model, fmt, topic, mb in runs:
            stats = run_worker(bootstrap, topic, model, mb)
            assert stats["instances"] == n, stats
            secs = stats["busy_seconds"]
            rate = stats["instances"] / secs
            label = f"worker, {fmt}" + (f" batches of {b}" if fmt == "arrow" else "") + (
                f", micro-batch {mb}" if mb > 1 else (", one instance at a time" if fmt == "arrow" else ", per message"))
            rows.append((label, model, fmt, stats["messages"] / secs, rate, rate / plain[fmt]))
            print(rows[-1], flush=True)

        ck_rows = [(spec, *checkpoint_cost(spec)) for spec in models if spec != "majority"]

    import kafka

    try:
        import crc32c  # noqa: F401

        crc = "crc32c (C) installed"
    except ImportError:
        crc = "no crc32c: kafka-python checksums in pure Python"
    lines = [
        "## Kafka throughput (`benchmarks/kafka_throughput.py`)",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {platform.machine()}, {__import__('os').cpu_count()} CPUs shared with the broker (one local "
        f"Kafka 4.1.1 dev broker), Python {platform.python_version()}, kafka-python {kafka.__version__}, {crc}",
        "",
        f"Yeast replayed {args.repeat} times ({n:,} instances) into one partition. Worker: consume, decode, "
        "predict, produce the prediction to a topic, learn, live prequential metrics (cumulative and windowed), "
        "checkpoints every 10,000 messages or 30 s. Rates are over the span from the poll call that brought the "
        "first records to the last record processed; for JSON one message is one instance. Ratio: the worker's instances/s over the plain "
        "consume loop's on the same topic.",
        "",
        "| run | model | format | messages/s | instances/s | ratio to plain consume |",
        "|---|---|---|---:|---:|---:|",
    ]
    for label, model, fmt, mps, ips, ratio in rows:
        lines.append(f"| {label} | `{model}` | {fmt} | {mps:,.0f} | {ips:,.0f} | {ratio:.2f} |")
    lines += ["", "Checkpoint of the model after one pass over Yeast (2,417 instances; mean and max of 10 writes, "
              "each serialise + write + fsync + rename + fsync of the folder):", "",
              "| model | checkpoint KB | mean ms | max ms |", "|---|---:|---:|---:|"]
    for spec, size, mean, worst in ck_rows:
        lines.append(f"| `{spec}` | {size / 1024:,.1f} | {mean:.1f} | {worst:.1f} |")
    lines += ["", "Against the targets (instances per second, measured above):", ""]
    best = {}
    for label, model, fmt, mps, ips, ratio in rows:
        key = (model, "batched" if fmt == "arrow" or "micro-batch" in label else "per message")
        best[key] = max(best.get(key, 0.0), ips)
    # the targets: majority in batched mode; mlht in any mode (both shown)
    for model, target, modes in (("majority", 20_000, ("batched",)), ("mlht", 5_000, ("batched", "per message"))):
        for mode in modes:
            if (model, mode) in best:
                got = best[model, mode]
                verdict = "met" if got >= target else "**not met**"
                lines.append(f"- `{model}`, {mode}: {got:,.0f} (target {target:,}: {verdict})")
    for spec, size, mean, worst in ck_rows:
        verdict = "met" if worst < 100 else "**not met**"
        lines.append(f"- checkpoint of `{spec}`: worst {worst:.1f} ms (target under 100 ms: {verdict})")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_append:
        update_section("kafka", text, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
