"""Checkpoint files: a model, the offsets it has learned up to, and the join buffer, in one file.

Layout::

    b"SMLCKPT\\0" | format version (uint32 LE) | header length (uint64 LE) | header (UTF-8 JSON) | sections

The header holds the offsets (``{"topic:partition": next offset to read}``), the counters, facts about
the run (model spec, mode, group, writer) and, per section, its ``[start, length, sha256]`` relative to
the end of the header. The sections are

* ``model``: the learner as :func:`streamml.persistence.dumps` writes it (versioned; arrays as raw
  blobs; any pickled state signed with HMAC and refused *before* unpickling when the signature does
  not match, so a tampered checkpoint cannot run code);
* ``join``: the late-label join buffer as an ``.npz`` of plain arrays (read with
  ``allow_pickle=False``).

The SHA-256 digests catch a truncated or corrupted file; the HMAC of the persistence layer is what
makes loading safe.

**Commit protocol** (:class:`connectors.kafka.worker.KafkaWorker`): (1) flush the producer, so every
prediction and dead letter of the messages covered is acknowledged by the broker; (2) write the
checkpoint to a temporary file in the same folder, ``fsync`` it, ``rename`` it over the old one and
``fsync`` the folder, so a crash leaves either the old or the new checkpoint, never a mix; (3) only
then commit the same offsets to Kafka. On a restart the checkpoint's offsets win (the committed ones
can only lag behind them), so every message is learned exactly once relative to the model state.

>>> import tempfile, pathlib
>>> from streamml.learners import MajorityLabelset
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.ckpt"
>>> info = write_checkpoint(path, MajorityLabelset(), offsets={"t:0": 42})
>>> ckpt = read_checkpoint(path)
>>> ckpt.offsets, type(ckpt.model).__name__, info.bytes == path.stat().st_size
({'t:0': 42}, 'MajorityLabelset', True)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import time
from pathlib import Path
from typing import Any

from streamml import persistence
from streamml.base import MultiLabelLearner

__all__ = [
    "CHECKPOINT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "CheckpointInfo",
    "read_checkpoint",
    "read_header",
    "write_checkpoint",
    "tp_key",
]

MAGIC = b"SMLCKPT\x00"
#: The checkpoint layout written by this release (readers accept it and older).
CHECKPOINT_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")


class CheckpointError(persistence.PersistenceError):
    """A file that is not a readable checkpoint (wrong magic, newer version, corrupt section)."""


@dataclasses.dataclass
class CheckpointInfo:
    """What writing one checkpoint cost."""

    path: str
    bytes: int
    seconds: float
    serialize_seconds: float


@dataclasses.dataclass
class Checkpoint:
    """A checkpoint read back: the model, the offsets, the join buffer bytes and the whole header."""

    model: MultiLabelLearner
    offsets: dict[str, int]
    join: bytes | None
    header: dict[str, Any]


def tp_key(topic: str, partition: int) -> str:
    """The offsets key of a topic partition: ``"topic:partition"``."""
    return f"{topic}:{partition}"


def write_checkpoint(
    path: str | os.PathLike,
    model: MultiLabelLearner,
    *,
    offsets: dict[str, int] | None = None,
    join: bytes | None = None,
    **fields: Any,
) -> CheckpointInfo:
    """Write a checkpoint atomically (temp file, fsync, rename, fsync of the folder).

    ``fields`` are stored in the header as they are (they must be JSON values).
    """
    started = time.perf_counter()
    model_bytes = persistence.dumps(model)
    sections: dict[str, list] = {}
    blobs = []
    pos = 0
    for name, blob in (("model", model_bytes), ("join", join)):
        if blob is None:
            continue
        sections[name] = [pos, len(blob), hashlib.sha256(blob).hexdigest()]
        blobs.append(blob)
        pos += len(blob)
    header = {
        "format": "streamml-checkpoint",
        "version": CHECKPOINT_VERSION,
        "created": time.time(),
        "offsets": dict(offsets or {}),
        "sections": sections,
        **fields,
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    serialized = time.perf_counter()
    persistence.atomic_write(path, [_PREFIX.pack(MAGIC, CHECKPOINT_VERSION, len(head)), head, *blobs])
    size = _PREFIX.size + len(head) + pos
    done = time.perf_counter()
    return CheckpointInfo(str(path), size, done - started, serialized - started)


def _parse_prefix(data: bytes, source: str) -> tuple[dict[str, Any], int]:
    if len(data) < _PREFIX.size:
        raise CheckpointError(f"{source}: too short to be a checkpoint")
    magic, version, head_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise CheckpointError(f"{source}: not a streamml checkpoint (bad magic bytes)")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{source}: checkpoint format version {version}, but this release reads up to {CHECKPOINT_VERSION}"
        )
    start = _PREFIX.size
    if len(data) < start + head_len:
        raise CheckpointError(f"{source}: truncated header")
    try:
        header = json.loads(data[start : start + head_len])
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{source}: corrupt header ({e})") from None
    if not isinstance(header, dict) or header.get("format") != "streamml-checkpoint":
        raise CheckpointError(f"{source}: the header is not a streamml checkpoint's")
    return header, start + head_len


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """Only the header (offsets, counters, facts): cheap, for monitoring and tests."""
    with open(path, "rb") as f:
        prefix = f.read(_PREFIX.size)
        if len(prefix) == _PREFIX.size:
            head_len = _PREFIX.unpack(prefix)[2]
            prefix += f.read(min(head_len, 1 << 26))
    return _parse_prefix(prefix, str(path))[0]


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint; the model is rebuilt by :func:`streamml.persistence.loads` (no code runs)."""
    source = str(path)
    data = Path(path).read_bytes()
    header, body = _parse_prefix(data, source)
    blobs: dict[str, bytes] = {}
    for name, (start, length, digest) in header.get("sections", {}).items():
        blob = data[body + start : body + start + length]
        if len(blob) != length or hashlib.sha256(blob).hexdigest() != digest:
            raise CheckpointError(f"{source}: section {name!r} is truncated or corrupt (SHA-256 mismatch)")
        blobs[name] = blob
    if "model" not in blobs:
        raise CheckpointError(f"{source}: no model section")
    model = persistence.loads(blobs["model"], source=f"{source}[model]")
    offsets = {str(k): int(v) for k, v in header.get("offsets", {}).items()}
    return Checkpoint(model, offsets, blobs.get("join"), header)
