"""A real single-node Apache Kafka broker (KRaft mode) for development, tests and CI.

The broker is Apache Kafka itself, taken from Maven Central: :func:`fetch_jars` resolves
``org.apache.kafka:kafka_2.13`` and its runtime dependencies with Maven into a per-machine cache, once.
:class:`DevBroker` then runs one process that is both controller and broker, on two free loopback ports,
with its data in a temporary folder::

    with DevBroker() as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)

From a shell (``--detach`` leaves it running and records it, so that ``stop`` and ``status`` find it)::

    python -m connectors.kafka.devbroker start [--detach] | stop | status

Needs Java 17 or newer and Maven on ``PATH`` (see :func:`java_and_maven_available`). The jar cache is
``$STREAMML_CACHE/kafka/<version>`` when that variable is set, else ``~/.cache/streamml/kafka/<version>``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Iterator, Sequence

__all__ = [
    "DEFAULT_VERSION",
    "DevBroker",
    "KafkaDevBrokerError",
    "cache_root",
    "fetch_jars",
    "java_and_maven_available",
    "main",
]

#: The Kafka release used when none is named (published on Maven Central as ``kafka_2.13``).
DEFAULT_VERSION = "4.1.1"
#: Kafka 4.x still logs through slf4j 1.7, so a 1.7 backend is what it binds to.
SLF4J_SIMPLE_VERSION = "1.7.36"
MIN_JAVA = 17

_STAMP = "libs.complete.json"
_STATE_FILE = "devbroker-state.json"
_MAIN_CLASS = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
_JVM_OPTS = ("-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true")
_LOG_OPTS = (
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS",
    # The state-change and request loggers are chatty at INFO and say nothing a developer needs.
    "-Dorg.slf4j.simpleLogger.log.state.change.logger=warn",
    "-Dorg.slf4j.simpleLogger.log.kafka.request.logger=warn",
)


class KafkaDevBrokerError(RuntimeError):
    """The jars could not be fetched, or the broker did not start or stop as asked."""


# --------------------------------------------------------------------------------------------------
# Prerequisites


def _java_major(java: str) -> int | None:
    """The major version of ``java`` (``17`` for 17.0.15, ``8`` for 1.8.0_x), or None if unreadable."""
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_392" style
        major = int(match.group(2))
    return major


def java_and_maven_available() -> str | None:
    """None when ``java`` (17 or newer) and ``mvn`` are both on ``PATH``; otherwise why not."""
    problems = []
    java = shutil.which("java")
    if java is None:
        problems.append(f"java was not found on PATH (Kafka 4.x needs Java {MIN_JAVA} or newer)")
    else:
        major = _java_major(java)
        if major is None:
            problems.append(f"could not read the version of {java} (Kafka 4.x needs Java {MIN_JAVA}+)")
        elif major < MIN_JAVA:
            problems.append(f"{java} is Java {major}, but Kafka 4.x needs Java {MIN_JAVA} or newer")
    if shutil.which("mvn") is None:
        problems.append("mvn (Apache Maven) was not found on PATH; it fetches the Kafka jars")
    return "; ".join(problems) or None


# --------------------------------------------------------------------------------------------------
# Jars


def cache_root() -> Path:
    """Folder of the Kafka jar caches and of the detached broker's state file."""
    env = os.environ.get("STREAMML_CACHE")
    if env:
        return Path(env).expanduser() / "kafka"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "streamml" / "kafka"


_POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by connectors.kafka.devbroker.fetch_jars: gathers the runtime classpath of a Kafka broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>streamml.devbroker</groupId>
  <artifactId>kafka-dev-broker-classpath</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>{slf4j}</version>
    </dependency>
  </dependencies>
</project>
"""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (created if needed), held for the ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cache_complete(libs: Path, stamp: Path, version: str) -> bool:
    """True when the stamp is there, names ``version``, and every jar it lists is present."""
    try:
        data = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    jars = data.get("jars") or []
    return (
        data.get("version") == version
        and f"kafka_2.13-{version}.jar" in jars
        and all((libs / name).is_file() for name in jars)
    )


def fetch_jars(version: str = DEFAULT_VERSION, cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding the broker's classpath (every runtime jar of Kafka ``version``).

    Runs Maven the first time only: a stamp file written after a successful download marks the folder
    complete, so a download that was interrupted is redone on the next call. A file lock keeps two
    processes that fetch at once from writing the same folder.
    """
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / version
    libs, stamp = cache / "libs", cache / _STAMP
    if _cache_complete(libs, stamp, version):
        return libs
    with _locked(cache / ".fetch.lock"):
        if _cache_complete(libs, stamp, version):  # another process finished it while we waited
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaDevBrokerError(
                f"the Kafka {version} jars are not cached in {libs} and mvn is not on PATH to fetch them"
            )
        stamp.unlink(missing_ok=True)
        if libs.exists():
            shutil.rmtree(libs)
        pom = cache / "pom.xml"
        pom.write_text(_POM.format(version=version, slf4j=SLF4J_SIMPLE_VERSION))
        cmd = [
            mvn, "-B", "-q", "-f", str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
        except subprocess.TimeoutExpired as exc:
            raise KafkaDevBrokerError(f"mvn did not finish fetching Kafka {version} in 30 min") from exc
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
            raise KafkaDevBrokerError(
                f"mvn failed (exit {proc.returncode}) fetching Kafka {version}:\n{tail}"
            )
        jars = sorted(p.name for p in libs.glob("*.jar")) if libs.is_dir() else []
        if f"kafka_2.13-{version}.jar" not in jars:
            raise KafkaDevBrokerError(f"mvn ran but kafka_2.13-{version}.jar is not in {libs}")
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": version, "jars": jars, "fetched": time.time()}, indent=1))
        os.replace(tmp, stamp)
    return libs


# --------------------------------------------------------------------------------------------------
# The broker


def _free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _port_free(port: int) -> bool:
    """True when nothing listens on ``127.0.0.1:port`` (connections in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _accepts(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 40, since: int = 0) -> str:
    """The last ``lines`` lines of ``path`` after byte ``since``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(since, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no broker log)"
    return "\n".join(text.splitlines()[-lines:])


def _log_excerpt(path: Path, since: int = 0) -> str:
    """What a failed start's log says: its first errors (the cause) and then its last lines."""
    try:
        with open(path, "rb") as handle:
            handle.seek(since)
            text = handle.read(8 * 1024 * 1024).decode("utf-8", "replace")
    except OSError:
        return f"(no broker log at {path})"
    lines = text.splitlines()
    errors = [line for line in lines if re.search(r"\b(ERROR|FATAL)\b|Exception:", line)][:8]
    parts = []
    if errors:
        parts.append("first errors:\n" + "\n".join(errors))
    parts.append(f"last lines of {path}:\n" + "\n".join(lines[-20:]))
    return "\n".join(parts)


_LIVE: "weakref.WeakSet[DevBroker]" = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:  # pragma: no cover - runs at interpreter exit
    for broker in list(_LIVE):
        with contextlib.suppress(Exception):
            broker.stop()


class DevBroker:
    """One Kafka process, controller and broker at once, on loopback.

    ``workdir`` holds ``server.properties``, the data (``data/``) and the log (``broker.log``); by default
    it is a new temporary folder, removed by :meth:`stop` unless ``keep`` is true. ``port`` and
    ``controller_port`` are picked free when not given, and kept across :meth:`restart`.
    """

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        *,
        workdir: str | os.PathLike | None = None,
        port: int | None = None,
        controller_port: int | None = None,
        keep: bool = False,
        cache_dir: str | os.PathLike | None = None,
        api_version: tuple[int, ...] | None = None,
        java: str = "java",
    ) -> None:
        self.version = version
        self.keep = keep
        self.cache_dir = cache_dir
        #: Passed to kafka-python's clients made here; None lets them ask the broker.
        self.api_version = api_version
        self.java = java
        self.port = port
        self.controller_port = controller_port
        self._ports_pinned = port is not None or controller_port is not None
        self.workdir: Path | None = Path(workdir) if workdir is not None else None
        self._own_workdir = workdir is None
        self._proc: subprocess.Popen | None = None
        self._log_handle = None
        self._log_start = 0

    # ---- properties

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT``, for ``bootstrap_servers``."""
        if self.port is None:
            raise KafkaDevBrokerError("the broker has not been started")
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path:
        return self._dir / "broker.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def _dir(self) -> Path:
        if self.workdir is None:
            raise KafkaDevBrokerError("the broker has no folder yet: start() it first")
        return self.workdir

    def client_config(self) -> dict:
        """``bootstrap_servers`` (and ``api_version`` when pinned) for kafka-python's clients."""
        config: dict = {"bootstrap_servers": self.bootstrap}
        if self.api_version is not None:
            config["api_version"] = self.api_version
        return config

    # ---- lifecycle

    def __enter__(self) -> "DevBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 90) -> "DevBroker":
        """Format the storage the first time, launch the broker, and wait until it serves clients."""
        if self.running:
            return self
        libs = fetch_jars(self.version, self.cache_dir)
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="streamml-kafka-"))
        self._dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._ports_pinned else 3
        for attempt in range(attempts):
            if self.port is None or self.controller_port is None:
                free = _free_ports(2)
                self.port = self.port or free[0]
                self.controller_port = self.controller_port or free[1]
            busy = [p for p in (self.port, self.controller_port) if not _port_free(p)]
            if busy and not self._ports_pinned and attempt + 1 < attempts:
                self.port = self.controller_port = None
                continue
            if busy:
                raise KafkaDevBrokerError(
                    f"port {busy[0]} on 127.0.0.1 is already in use (another broker still running?)"
                )
            try:
                self._launch(libs, timeout)
                break
            except KafkaDevBrokerError:
                # A port taken between picking and binding: pick others, unless they were asked for.
                log = _log_excerpt(self.log_path, self._log_start)
                if attempt + 1 < attempts and "Address already in use" in log:
                    self.port = self.controller_port = None
                    continue
                raise
        # Once a broker has run here its ports are part of its identity (restart() reuses them).
        self._ports_pinned = True
        _LIVE.add(self)
        return self

    def _write_properties(self) -> Path:
        data = self._dir / "data"
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "auto.create.topics.enable": "true",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "background.threads": "2",
            "log.cleaner.threads": "1",
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
        }
        path = self._dir / "server.properties"
        path.write_text(
            "# Written by connectors.kafka.devbroker: one KRaft node, broker and controller.\n"
            + "".join(f"{key}={value}\n" for key, value in props.items())
        )
        return path

    def _java_cmd(self, libs: Path, main_class: str, *args: str) -> list[str]:
        return [self.java, *_JVM_OPTS, *_LOG_OPTS, "-cp", f"{libs}/*", main_class, *args]

    def _format(self, libs: Path, props: Path) -> None:
        if (self._dir / "data" / "meta.properties").exists():
            return  # formatted by an earlier start: keep the data and the cluster id
        uuid = subprocess.run(
            self._java_cmd(libs, _STORAGE_TOOL, "random-uuid"),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        cluster_id = uuid.stdout.strip().splitlines()[-1] if uuid.stdout.strip() else ""
        if uuid.returncode != 0 or not cluster_id:
            raise KafkaDevBrokerError(f"StorageTool random-uuid failed:\n{uuid.stdout}{uuid.stderr}")
        fmt = subprocess.run(
            self._java_cmd(libs, _STORAGE_TOOL, "format", "-t", cluster_id, "-c", str(props),
                           "--ignore-formatted"),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if fmt.returncode != 0:
            raise KafkaDevBrokerError(f"StorageTool format failed:\n{fmt.stdout}{fmt.stderr}")

    def _launch(self, libs: Path, timeout: float) -> None:
        props = self._write_properties()
        self._format(libs, props)
        self._log_handle = open(self.log_path, "ab")
        self._log_start = self._log_handle.tell()
        self._log_handle.write(f"\n==== streamml dev broker starting {time.ctime()} ====\n".encode())
        self._log_handle.flush()
        self._proc = subprocess.Popen(
            self._java_cmd(libs, _MAIN_CLASS, str(props)),
            cwd=self._dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not the JVM's
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self._terminate()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise KafkaDevBrokerError(
                    f"the Kafka broker exited (code {code}) while starting; "
                    + _log_excerpt(self.log_path, self._log_start)
                )
            if _accepts(self.port):
                try:
                    served = self._served_cluster_id(timeout_ms=5000)
                except Exception as exc:  # noqa: BLE001 - not ready yet, any client error
                    last_error = exc
                else:
                    if served == self.cluster_id:
                        return
                    last_error = KafkaDevBrokerError(
                        f"{self.bootstrap} serves cluster {served!r}, not this broker's {self.cluster_id!r}"
                    )
            time.sleep(0.3)
        raise KafkaDevBrokerError(
            f"the Kafka broker did not serve clients on {self.bootstrap} within {timeout:.0f} s "
            f"(last client error: {last_error!r}); " + _log_excerpt(self.log_path, self._log_start)
        )

    def _terminate(self, timeout: float = 30) -> None:
        """SIGTERM the broker (a clean shutdown), SIGKILL it if it lingers past ``timeout``."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def stop(self, timeout: float = 30) -> None:
        """Stop the broker; remove its temporary folder unless ``keep`` (or it was given)."""
        self._terminate(timeout)
        _LIVE.discard(self)
        if self._own_workdir and not self.keep and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def restart(self, timeout: float = 90) -> "DevBroker":
        """Stop and start again on the same ports, with the same data (topics, offsets) kept."""
        self._terminate()
        return self.start(timeout)

    def detach(self) -> None:
        """Forget the process, leaving it running (the CLI's ``--detach``); nothing stops it on exit."""
        self._proc = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        _LIVE.discard(self)

    # ---- helpers

    def admin(self, **config):
        """A kafka-python ``KafkaAdminClient`` for this broker (close it when done)."""
        from kafka.admin import KafkaAdminClient

        return KafkaAdminClient(**{**self.client_config(), "client_id": "streamml-devbroker", **config})

    @property
    def cluster_id(self) -> str | None:
        """The id the storage was formatted with (None before the first start)."""
        try:
            text = (self._dir / "data" / "meta.properties").read_text()
        except (OSError, KafkaDevBrokerError):
            return None
        match = re.search(r"^cluster\.id=(\S+)", text, re.MULTILINE)
        return match.group(1) if match else None

    def _served_cluster_id(self, timeout_ms: int) -> str | None:
        """The cluster id reported by whatever answers on our port (after listing its topics)."""
        admin = self.admin(request_timeout_ms=timeout_ms)
        try:
            admin.list_topics()
            return admin.describe_cluster().get("cluster_id")
        finally:
            admin.close()

    def list_topics(self, timeout_ms: int = 10000) -> list[str]:
        admin = self.admin(request_timeout_ms=timeout_ms)
        try:
            return list(admin.list_topics())
        finally:
            admin.close()

    def create_topic(self, name: str, partitions: int = 1, timeout: float = 30) -> str:
        """Create ``name`` and wait until its metadata is visible; returns the name."""
        from kafka.admin import NewTopic

        admin = self.admin()
        try:
            admin.create_topics(
                [NewTopic(name, num_partitions=partitions, replication_factor=1)],
                timeout_ms=int(timeout * 1000),
            )
            deadline = time.monotonic() + timeout
            while name not in admin.list_topics():
                if time.monotonic() > deadline:
                    raise KafkaDevBrokerError(f"topic {name!r} did not appear within {timeout} s")
                time.sleep(0.1)
        finally:
            admin.close()
        return name

    def __repr__(self) -> str:
        state = f"running at {self.bootstrap}" if self.running else "stopped"
        return f"<DevBroker kafka {self.version} {state}>"


# --------------------------------------------------------------------------------------------------
# Command line


def _state_path() -> Path:
    """Where ``start --detach`` records the broker (``$STREAMML_KAFKA_STATE`` overrides it)."""
    env = os.environ.get("STREAMML_KAFKA_STATE")
    return Path(env).expanduser() if env else cache_root() / _STATE_FILE


def _read_state() -> dict | None:
    try:
        return json.loads(_state_path().read_text())
    except (OSError, ValueError):
        return None


def _is_our_broker(pid: int) -> bool:
    """True when ``pid`` is alive and is a Kafka broker (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): trust the signal check
    return _MAIN_CLASS.encode() in cmdline


def _stop_pid(pid: int, timeout: float = 30) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_our_broker(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _cmd_start(args: argparse.Namespace) -> int:
    state = _read_state() if args.detach else None
    if state and _is_our_broker(state["pid"]):
        print(state["bootstrap"] if args.quiet else
              f"a dev broker is already running: {state['bootstrap']} (pid {state['pid']})")  # fmt: skip
        return 0
    broker = DevBroker(
        args.version,
        workdir=args.dir,
        port=args.port,
        keep=args.keep or args.dir is not None,
    )
    print(f"starting Kafka {args.version} (the first run fetches its jars with Maven)...",
          file=sys.stderr, flush=True)  # fmt: skip
    try:
        broker.start(timeout=args.timeout)
    except KafkaDevBrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        broker.stop()
        return 1
    if args.detach:
        state = {
            "pid": broker.pid,
            "bootstrap": broker.bootstrap,
            "port": broker.port,
            "controller_port": broker.controller_port,
            "dir": str(broker.workdir),
            "remove_dir": broker._own_workdir and not broker.keep,
            "log": str(broker.log_path),
            "version": broker.version,
        }
        path = _state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=1))
        broker.detach()
        print(broker.bootstrap if args.quiet else f"Kafka dev broker running: {state['bootstrap']} "
              f"(pid {state['pid']}, log {state['log']}); stop it with 'stop'")  # fmt: skip
        return 0

    print(f"Kafka dev broker running: {broker.bootstrap} (log {broker.log_path}); Ctrl-C stops it",
          flush=True)  # fmt: skip

    def _on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _on_term)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)  # even if inherited ignored
    try:
        while broker.running:
            time.sleep(0.5)
        print(f"error: the broker exited; last lines of its log:\n{_tail(broker.log_path)}",
              file=sys.stderr)  # fmt: skip
        return 1
    except KeyboardInterrupt:
        print("stopping...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        broker.stop()


def _cmd_stop(args: argparse.Namespace) -> int:
    state = _read_state()
    if not state:
        print("no dev broker is recorded as running")
        return 0
    if _is_our_broker(state["pid"]):
        _stop_pid(state["pid"])
        print(f"stopped the dev broker at {state['bootstrap']} (pid {state['pid']})")
    else:
        print(f"the dev broker recorded at {state['bootstrap']} was not running")
    if state.get("remove_dir"):
        shutil.rmtree(state["dir"], ignore_errors=True)
    _state_path().unlink(missing_ok=True)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    state = _read_state()
    if state and _is_our_broker(state["pid"]):
        serving = "accepting connections" if _accepts(state["port"]) else "not accepting connections"
        print(f"running: {state['bootstrap']} (pid {state['pid']}, Kafka {state['version']}, {serving})")
        return 0 if serving.startswith("accepting") else 1
    print("not running")
    return 1


def _parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="A single-node Kafka broker for development.")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a broker (in the foreground unless --detach)")
    start.add_argument("--detach", action="store_true", help="leave it running in the background")
    start.add_argument("--version", default=DEFAULT_VERSION, help="Kafka version (default %(default)s)")
    start.add_argument("--port", type=int, default=None, help="client port (default: a free one)")
    start.add_argument("--dir", default=None, help="data folder, kept (default: a temporary one)")
    start.add_argument("--keep", action="store_true", help="keep the temporary data folder on stop")
    start.add_argument("--timeout", type=float, default=90, help="seconds to wait for it to serve")
    start.add_argument("-q", "--quiet", action="store_true", help="with --detach print only host:port")
    start.set_defaults(func=_cmd_start)
    sub.add_parser("stop", help="stop the detached broker").set_defaults(func=_cmd_stop)
    sub.add_parser("status", help="is the detached broker running?").set_defaults(func=_cmd_status)
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """``start [--detach]`` | ``stop`` | ``status``; returns the exit code."""
    args = _parser(prog).parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(prog="python -m connectors.kafka.devbroker"))
