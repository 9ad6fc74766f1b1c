"""Save and load learners in a versioned format that cannot run code when loaded.

A file is::

    b"STREAMML" | format version (uint32 LE) | header length (uint64 LE) | header (UTF-8 JSON) | blobs

The header is a small structural description: the learner's class, its constructor parameters and
its state, where every NumPy array is replaced by a reference ``{"__array__": i}`` to a raw blob
(dtype, shape and offset are in the header; arrays are rebuilt with ``numpy.frombuffer``, never with
pickle). Learner classes are looked up in :data:`streamml.base.PERSISTABLE_CLASSES`, so a file can
only name classes of this library.

State that is not arrays or JSON (for example the River models inside a binary-relevance wrapper)
is pickled, and every pickle is signed with HMAC-SHA256. The key comes from the
``STREAMML_HMAC_KEY`` environment variable, or from a key file created on first use
(``$STREAMML_HOME/hmac.key``, default ``~/.config/streamml/hmac.key``, mode 0600). A pickle whose
signature does not match is refused with :class:`TamperedFileError` *before* it is unpickled, so a
tampered file cannot execute code. Files holding only arrays and JSON need no key and can move
between machines; files with signed pickles load only where the same key is configured.

A file written by a newer format version raises :class:`UnsupportedFormatError`.

The size of :func:`dumps`'s output is the model size that evaluations report.

>>> from streamml.learners import MajorityLabelset
>>> import numpy as np
>>> m = MajorityLabelset()
>>> m.learn_row(np.zeros(2), np.array([True, False]))
>>> m2 = loads(dumps(m))
>>> m2.predict_row(np.zeros(2)).tolist()
[True, False]
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import inspect
import io
import json
import math
import os
import pickle
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from river import base as river_base

from streamml.base import PERSISTABLE_CLASSES, MultiLabelLearner

__all__ = [
    "FORMAT_VERSION",
    "PersistenceError",
    "UnsupportedFormatError",
    "TamperedFileError",
    "dumps",
    "loads",
    "save",
    "load",
    "atomic_write",
    "model_size",
]

MAGIC = b"STREAMML"
#: Version of the file layout written by this release. Readers accept this version and older.
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")


class PersistenceError(ValueError):
    """A file that cannot be read as a streamml model."""


class UnsupportedFormatError(PersistenceError):
    """A file written by a newer format version than this release reads."""


class TamperedFileError(PersistenceError):
    """A signed blob whose HMAC does not match: the file was changed or signed with another key."""


# ----------------------------------------------------------------------------------------- keys
def _key_path() -> Path:
    home = os.environ.get("STREAMML_HOME")
    base = Path(home) if home else Path.home() / ".config" / "streamml"
    return base / "hmac.key"


def hmac_key(create: bool = True) -> bytes | None:
    """The signing key: ``STREAMML_HMAC_KEY`` if set, else the key file (created if asked)."""
    env = os.environ.get("STREAMML_HMAC_KEY")
    if env:
        return env.encode()
    path = _key_path()
    if path.exists():
        return path.read_bytes()
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32).hex().encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def _sign(data: bytes, key: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


# -------------------------------------------------------------------------------------- encoder
class _Encoder:
    def __init__(self) -> None:
        self.blobs: list[bytes] = []
        self.offset = 0
        self.key: bytes | None = None

    def _blob(self, data: bytes) -> tuple[int, int]:
        start = self.offset
        self.blobs.append(data)
        self.offset += len(data)
        return start, len(data)

    def encode(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, np.generic) and not isinstance(obj, np.object_):
            return self.encode(obj.item())
        if isinstance(obj, np.ndarray) and obj.dtype != object and not obj.dtype.hasobject:
            arr = np.ascontiguousarray(obj)
            start, length = self._blob(arr.tobytes())
            return {"__array__": [arr.dtype.str, list(arr.shape), start, length]}
        if isinstance(obj, MultiLabelLearner):
            return self.encode_learner(obj)
        if isinstance(obj, _Recipe):
            return {"__river__": [obj.name, self.encode(obj.params)]}
        if isinstance(obj, list):
            return [self.encode(v) for v in obj]
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v) for v in obj]}
        if isinstance(obj, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in obj):
                return {k: self.encode(v) for k, v in obj.items()}
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        return self.encode_pickle(obj)

    def encode_pickle(self, obj: Any) -> dict[str, Any]:
        if self.key is None:
            self.key = hmac_key(create=True)
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        start, length = self._blob(data)
        return {"__pickle__": [start, length, _sign(data, self.key)]}  # type: ignore[arg-type]

    def encode_learner(self, learner: MultiLabelLearner) -> dict[str, Any]:
        cls = type(learner)
        name = f"{cls.__module__}.{cls.__qualname__}"
        if PERSISTABLE_CLASSES.get(name) is not cls:
            raise PersistenceError(f"{name} is not a registered streamml learner class")
        return {
            "__learner__": name,
            "params": self.encode(_constructor_params(learner)),
            "space": self.encode(learner._space_state()),
            "state": self.encode(learner._get_state()),
        }


# -------------------------------------------------------------------------------------- decoder
class _Decoder:
    def __init__(self, payload: memoryview, source: str):
        self.payload = payload
        self.source = source
        self.key: bytes | None = None

    def _slice(self, start: int, length: int) -> memoryview:
        if start < 0 or length < 0 or start + length > len(self.payload):
            raise PersistenceError(f"{self.source}: blob [{start}, {start + length}) is outside the file")
        return self.payload[start : start + length]

    def decode(self, obj: Any) -> Any:
        if isinstance(obj, list):
            return [self.decode(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if len(obj) == 1:
            (tag, value), = obj.items()
            if tag == "__array__":
                dtype, shape, start, length = value
                dt = np.dtype(dtype)
                if dt.hasobject:
                    raise PersistenceError(f"{self.source}: object arrays are not allowed")
                arr = np.frombuffer(self._slice(start, length), dtype=dt)
                return arr.reshape(shape).copy()
            if tag == "__tuple__":
                return tuple(self.decode(v) for v in value)
            if tag == "__dict__":
                return {_hashable(self.decode(k)): self.decode(v) for k, v in value}
            if tag == "__float__":
                return float(value)
            if tag == "__pickle__":
                return self.decode_pickle(*value)
            if tag == "__river__":
                return _build_river(value[0], self.decode(value[1]), self.source)
        if "__learner__" in obj:
            return self.decode_learner(obj)
        return {k: self.decode(v) for k, v in obj.items()}

    def decode_pickle(self, start: int, length: int, signature: str) -> Any:
        if self.key is None:
            self.key = hmac_key(create=False)
            if self.key is None:
                raise TamperedFileError(
                    f"{self.source}: holds signed state but no HMAC key is configured "
                    "(set STREAMML_HMAC_KEY to the key that wrote it)"
                )
        data = bytes(self._slice(start, length))
        if not hmac.compare_digest(_sign(data, self.key), str(signature)):
            raise TamperedFileError(
                f"{self.source}: signature mismatch on a pickled blob; the file was modified or "
                "written with another key, and it was not unpickled"
            )
        return pickle.loads(data)

    def decode_learner(self, obj: dict[str, Any]) -> MultiLabelLearner:
        cls = _learner_class(obj["__learner__"], self.source)
        params = self.decode(obj.get("params", {}))
        learner = cls(**params)
        learner._set_space_state(self.decode(obj["space"]))
        learner._set_state(self.decode(obj["state"]))
        return learner


class _Recipe:
    """How to rebuild an unfitted River estimator: its class name and constructor parameters."""

    def __init__(self, name: str, params: dict[str, Any]):
        self.name, self.params = name, params


def _constructor_params(obj: Any) -> dict[str, Any]:
    """The constructor arguments of a River-style estimator, with nested River estimators as recipes.

    Nested streamml learners stay learners (their state is saved too); nested River estimators in a
    parameter are templates, so only their class and parameters are kept, and no pickle is needed.
    """
    params: dict[str, Any] = {}
    for name, param in inspect.signature(type(obj).__init__).parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        params[name] = _as_param(getattr(obj, name))
    return params


def _as_param(value: Any) -> Any:
    if isinstance(value, MultiLabelLearner):
        return value
    if isinstance(value, river_base.Base):
        cls = type(value)
        return _Recipe(f"{cls.__module__}.{cls.__qualname__}", _constructor_params(value))
    if isinstance(value, list):
        return [_as_param(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_as_param(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_param(v) for k, v in value.items()}
    return value


def _build_river(name: str, params: dict[str, Any], source: str) -> Any:
    module_name, _, cls_name = name.rpartition(".")
    if not module_name.startswith("river.") and module_name != "river":
        raise PersistenceError(f"{source}: estimator class {name!r} is not from River")
    module = importlib.import_module(module_name)
    cls = module
    for part in cls_name.split("."):
        cls = getattr(cls, part, None)  # type: ignore[assignment]
    if not (isinstance(cls, type) and issubclass(cls, river_base.Base)):
        raise PersistenceError(f"{source}: {name!r} is not a River estimator class")
    return cls(**params)


def _hashable(k: Any) -> Any:
    return tuple(_hashable(v) for v in k) if isinstance(k, list) else k


def _learner_class(name: str, source: str) -> type:
    cls = PERSISTABLE_CLASSES.get(name)
    if cls is None and name.startswith("streamml."):
        # The class may live in a module not imported yet; only this package's modules are tried.
        module = name.rsplit(".", 1)[0]
        while module.startswith("streamml"):
            try:
                importlib.import_module(module)
                break
            except ImportError:
                module = module.rsplit(".", 1)[0]
        cls = PERSISTABLE_CLASSES.get(name)
    if cls is None:
        raise PersistenceError(f"{source}: unknown learner class {name!r}")
    return cls


# ------------------------------------------------------------------------------------------ API
def dumps(model: MultiLabelLearner) -> bytes:
    """Serialise ``model`` to bytes (see the module docstring for the format)."""
    enc = _Encoder()
    root = enc.encode_learner(model)
    header = json.dumps({"format": "streamml", "version": FORMAT_VERSION, "model": root}, separators=(",", ":"))
    head = header.encode()
    out = io.BytesIO()
    out.write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(head)))
    out.write(head)
    for blob in enc.blobs:
        out.write(blob)
    return out.getvalue()


def loads(data: bytes | bytearray | memoryview, source: str = "<bytes>") -> MultiLabelLearner:
    """Rebuild a learner from :func:`dumps` output. ``source`` names it in error messages."""
    view = memoryview(data)
    if len(view) < _PREFIX.size:
        raise PersistenceError(f"{source}: too short to be a streamml model file")
    magic, version, head_len = _PREFIX.unpack_from(view)
    if magic != MAGIC:
        raise PersistenceError(f"{source}: not a streamml model file (bad magic bytes)")
    if version > FORMAT_VERSION:
        raise UnsupportedFormatError(
            f"{source}: written by streamml format version {version}, but this release reads up to "
            f"version {FORMAT_VERSION}; upgrade streamml to load it"
        )
    start = _PREFIX.size
    try:
        header = json.loads(bytes(view[start : start + head_len]))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PersistenceError(f"{source}: corrupt header ({e})") from None
    if not isinstance(header, dict) or header.get("format") != "streamml" or header.get("version") != version:
        raise PersistenceError(f"{source}: header does not match the file prefix")
    try:
        return _Decoder(view[start + head_len :], source).decode_learner(header["model"])
    except PersistenceError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
        # A header that parses as JSON but does not describe a valid learner (missing keys, bad
        # dtypes or shapes, parameters or state the class rejects).
        raise PersistenceError(f"{source}: invalid model description ({type(e).__name__}: {e})") from e


def atomic_write(path: str | os.PathLike, chunks: Iterable[bytes | memoryview]) -> int:
    """Write ``chunks`` to ``path`` so that a crash leaves the old file or the new one, never a mix.

    The bytes go to a temporary file in the same folder, which is flushed and fsynced, then
    renamed over ``path``; the folder is fsynced too, so the rename itself survives a power loss.
    Returns the byte count.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    size = 0
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                size += f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return size


def save(model: MultiLabelLearner, path: str | os.PathLike) -> int:
    """Write ``model`` to ``path`` atomically (see :func:`atomic_write`). Returns the byte count."""
    return atomic_write(path, [dumps(model)])


def load(path: str | os.PathLike) -> MultiLabelLearner:
    """Read a model written by :func:`save`."""
    return loads(Path(path).read_bytes(), source=str(path))


def model_size(model: MultiLabelLearner) -> int:
    """Bytes of the serialised state: the model size that evaluations report."""
    return len(dumps(model))
