"""Datasets by name: Yeast from River's wheel, files from a data folder, and synthetic streams.

:func:`load` turns a name or a path into a :class:`~streamml.stream.Stream`, in this order:

1. An existing file path is opened by :func:`connectors.convert.open_stream`, which picks the
   reader by suffix (``.arff``, ``.csv``, ``.jsonl``, ``.parquet``, ``.arrow``; ``.gz``, ``.bz2``
   and ``.xz`` compression is undone on the fly).
2. ``synthetic`` or ``synthetic:SPEC`` builds a :class:`~streamml.generators.MultiLabelDriftStream`
   (see :func:`parse_synthetic` for the grammar).
3. ``yeast`` is the Mulan Yeast dataset shipped inside River's wheel (2417 instances, 103 numeric
   features ``Att1..Att103``, 14 labels ``Class1..Class14``); nothing is downloaded.
4. Any other name is looked up in the *data folders*: those listed in the ``STREAMML_DATA``
   environment variable (several joined with ``os.pathsep``, ``:`` on POSIX), or else
   ``~/.local/share/streamml/datasets``. A file matches name ``N`` (case-insensitively) when it
   is ``N.arff`` (optionally ``.xz``, ``.gz`` or ``.bz2``), ``meka-N.arff`` (likewise), or
   ``N.parquet``, ``N.arrow``, ``N.csv`` or ``N.jsonl``; its full file name matches too. Folders
   are searched in order; within one, ``N.*`` wins over ``meka-N.*``, then ARFF over Parquet,
   Arrow, CSV and JSONL. A Mulan ARFF's label XML is found beside it by the ARFF reader.

Names are matched before data folders for ``yeast`` and ``synthetic``: a ``yeast.arff`` in a data
folder is still reachable by its path.

>>> stream = load("yeast")
>>> stream.schema.name, stream.n_instances, stream.schema.n_features, stream.schema.n_labels
('yeast', 2417, 103, 14)
>>> stream = load("synthetic:n=500,labels=6,groups=2,drift=cooccurrence@250")
>>> stream.n_instances, stream.schema.n_labels, [d.kind for d in stream.drifts]
(500, 6, ['cooccurrence'])
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from streamml.generators import Drift, MultiLabelDriftStream
from streamml.schema import Schema
from streamml.stream import ArrayStream, Stream, check_on_error

__all__ = [
    "DatasetInfo",
    "DatasetNotFoundError",
    "DEFAULT_DATA_DIR",
    "available",
    "data_dirs",
    "find",
    "load",
    "parse_synthetic",
    "yeast",
]

#: Where datasets are looked up by name when ``STREAMML_DATA`` is not set.
DEFAULT_DATA_DIR = Path("~/.local/share/streamml/datasets")

#: The environment variable listing data folders.
ENV_VAR = "STREAMML_DATA"

_COMPRESSION = (".xz", ".gz", ".bz2")
#: Formats found by name, in order of preference.
_FORMATS = ("arff", "parquet", "arrow", "csv", "jsonl")
_MEKA_PREFIX = "meka-"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset name that resolves nowhere; the message says where it looked."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """A dataset that :func:`load` resolves by ``name``.

    ``location`` is the file's path, ``"river wheel"`` for Yeast or ``"generated"`` for synthetic
    streams; ``format`` is the file format (``arff``, ``csv``, ...) or ``synthetic``.
    """

    name: str
    format: str
    location: str

    @property
    def path(self) -> Path | None:
        """The file, when the dataset is one."""
        return Path(self.location) if self.format != "synthetic" and self.location != "river wheel" else None


# ----------------------------------------------------------------------------------------- Yeast

_YEAST_FEATURES = [f"Att{i}" for i in range(1, 104)]
_YEAST_LABELS = [f"Class{i}" for i in range(1, 15)]


def _yeast_path() -> Path | None:
    spec = importlib.util.find_spec("river")
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            path = Path(root) / "datasets" / "yeast.csv.gz"
            if path.is_file():
                return path
    try:  # a River whose layout changed: ask it
        from river.datasets import Yeast

        path = Path(Yeast().path)
        return path if path.is_file() else None
    except Exception:  # pragma: no cover - River is a dependency
        return None


def yeast() -> ArrayStream:
    """The Mulan Yeast dataset from River's wheel, offline, in file order.

    >>> stream = yeast()
    >>> x, y = next(iter(stream))
    >>> float(x[0]), [stream.schema.labels[j] for j in np.flatnonzero(y)]
    (0.004168, ['Class7', 'Class8', 'Class12', 'Class13'])
    """
    path = _yeast_path()
    if path is None:
        raise DatasetNotFoundError("yeast: River's wheel does not contain datasets/yeast.csv.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        data = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    if header != _YEAST_FEATURES + _YEAST_LABELS:
        raise DatasetNotFoundError(f"yeast: unexpected columns in {path}")
    n_features = len(_YEAST_FEATURES)
    X = np.ascontiguousarray(data[:, :n_features])
    Y = data[:, n_features:] == 1.0
    return ArrayStream(X, Y, Schema.numeric(_YEAST_FEATURES, _YEAST_LABELS, name="yeast"))


# ------------------------------------------------------------------------------ data folders


def data_dirs() -> list[Path]:
    """The data folders, in search order: ``STREAMML_DATA`` if set, else the default folder."""
    env = os.environ.get(ENV_VAR, "")
    dirs = [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    return dirs or [DEFAULT_DATA_DIR.expanduser()]


def _describe(path: Path) -> tuple[str, str, bool] | None:
    """``(name, format, meka_prefixed)`` of a data file, or ``None`` if it is not one."""
    name = path.name
    lower = name.lower()
    for comp in _COMPRESSION:
        if lower.endswith(comp):
            name, lower = name[: -len(comp)], lower[: -len(comp)]
            break
    for fmt in _FORMATS:
        if lower.endswith("." + fmt):
            stem = name[: -len(fmt) - 1]
            if not stem:
                return None
            meka = stem.lower().startswith(_MEKA_PREFIX) and len(stem) > len(_MEKA_PREFIX)
            return (stem[len(_MEKA_PREFIX) :] if meka else stem), fmt, meka
    return None


class _Entry(NamedTuple):
    name: str  # the dataset name: the file stem without "meka-"
    format: str
    meka: bool  # the file is named meka-NAME...
    path: Path


def _scan(folder: Path) -> list[_Entry]:
    """The data files of ``folder``, best first for each name."""
    found = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for path in entries:
        described = _describe(path)
        if described is not None and path.is_file():
            found.append(_Entry(*described, path))
    found.sort(key=lambda e: (e.meka, _FORMATS.index(e.format), e.path.name))
    return found


def find(name: str) -> Path | None:
    """The file that ``name`` resolves to in the data folders, or ``None``."""
    key = name.lower()
    for folder in data_dirs():
        for entry in _scan(folder):
            stem = entry.name.lower()
            if key in (stem, entry.path.name.lower()) or (entry.meka and key == _MEKA_PREFIX + stem):
                return entry.path
    return None


def available() -> list[DatasetInfo]:
    """The datasets that :func:`load` resolves by name: built-ins first, then the data folders.

    A name shadowed by an earlier one (a built-in or a file in an earlier folder) is not listed.

    >>> [(i.name, i.format, i.location) for i in available()[:2]]
    [('yeast', 'csv', 'river wheel'), ('synthetic', 'synthetic', 'generated')]
    """
    infos = []
    if _yeast_path() is not None:
        infos.append(DatasetInfo("yeast", "csv", "river wheel"))
    infos.append(DatasetInfo("synthetic", "synthetic", "generated"))
    seen = {i.name for i in infos}
    for folder in data_dirs():
        found = []
        for entry in _scan(folder):
            if entry.name.lower() not in seen:
                seen.add(entry.name.lower())
                found.append(DatasetInfo(entry.name, entry.format, str(entry.path)))
        infos.extend(sorted(found, key=lambda i: i.name.lower()))
    return infos


def _not_found(name: str) -> DatasetNotFoundError:
    lines = [f"unknown dataset {name!r}: it is not a file, not a built-in (yeast, synthetic[:SPEC]),"]
    source = f"${ENV_VAR}" if os.environ.get(ENV_VAR, "").strip() else f"the default folder (${ENV_VAR} is not set)"
    lines.append(f"and no data folder holds it. Searched {source}:")
    for folder in data_dirs():
        if not folder.is_dir():
            lines.append(f"  {folder} (missing)")
            continue
        names = sorted({e.name for e in _scan(folder)}, key=str.lower)
        shown = ", ".join(names) if names else "no datasets"
        lines.append(f"  {folder}: {shown}")
    lines.append(
        f"A folder matches NAME with NAME.arff[.xz|.gz|.bz2], meka-NAME.arff[...], NAME.parquet, NAME.arrow, "
        f"NAME.csv or NAME.jsonl; set {ENV_VAR} to folders joined with {os.pathsep!r}."
    )
    return DatasetNotFoundError("\n".join(lines))


# -------------------------------------------------------------------------------- synthetic

_SYNTHETIC_KEYS = {
    "n": "n_instances",
    "n_instances": "n_instances",
    "instances": "n_instances",
    "features": "n_features",
    "n_features": "n_features",
    "d": "n_features",
    "labels": "n_labels",
    "n_labels": "n_labels",
    "groups": "n_groups",
    "n_groups": "n_groups",
    "cardinality": "label_cardinality",
    "label_cardinality": "label_cardinality",
    "noise": "noise",
    "strength": "strength",
    "density": "sparse_density",
    "sparse_density": "sparse_density",
    "seed": "seed",
    "chunk": "chunk_size",
    "chunk_size": "chunk_size",
    "q": "group_label_rate",
    "group_label_rate": "group_label_rate",
}
_INT_PARAMS = {"n_instances", "n_features", "n_labels", "n_groups", "seed", "chunk_size"}
_DRIFT = re.compile(r"^(?:(?P<kind>[a-z-]+)@)?(?P<position>[^/]+)(?:/(?P<width>.+))?$")
_SUFFIX = {"k": 1_000, "m": 1_000_000}

SYNTHETIC_GRAMMAR = """\
synthetic[:ITEM,ITEM,...] with ITEM one of
  n=INT|inf  features=INT  labels=INT  groups=INT  cardinality=FLOAT  noise=FLOAT
  strength=FLOAT  density=FLOAT  q=FLOAT (a label's rate in its active group)  seed=INT  chunk=INT
  drift=[KIND@]POSITION[/WIDTH]   (KIND: mapping, cooccurrence or both; default both;
                                   repeat the item or join drifts with '+')
integers accept 10_000, 1e6, 10k and 2M"""


def _number(text: str, what: str, integer: bool) -> int | float:
    t = text.strip().lower().replace("_", "")
    scale = 1
    if t and t[-1] in _SUFFIX:
        t, scale = t[:-1], _SUFFIX[t[-1]]
    try:
        value = float(t) * scale
    except ValueError:
        raise ValueError(f"synthetic: {what}={text!r} is not a number") from None
    if integer:
        if not value.is_integer():
            raise ValueError(f"synthetic: {what}={text!r} is not an integer")
        return int(value)
    return value


def _drift(text: str) -> Drift:
    m = _DRIFT.match(text.strip().lower())
    if not m:
        raise ValueError(f"synthetic: bad drift {text!r}; expected [KIND@]POSITION[/WIDTH], e.g. mapping@5000/1000")
    kind = (m.group("kind") or "both").replace("-", "")
    if kind not in ("mapping", "cooccurrence", "both"):
        raise ValueError(f"synthetic: drift kind {kind!r} is not mapping, cooccurrence or both")
    position = _number(m.group("position"), "drift position", integer=True)
    width = _number(m.group("width"), "drift width", integer=True) if m.group("width") else 0
    return Drift(int(position), int(width), kind)  # type: ignore[arg-type]


def parse_synthetic(spec: str) -> dict[str, Any]:
    """The :class:`~streamml.generators.MultiLabelDriftStream` parameters of a synthetic spec.

    The grammar is ``synthetic[:ITEM,ITEM,...]``, each ``ITEM`` being ``KEY=VALUE``:

    * ``n`` (instances; ``inf`` for an infinite stream; default 10000), ``features``, ``labels``,
      ``groups``, ``seed`` (default 0) and ``chunk``: integers, written ``10000``, ``10_000``,
      ``1e4`` or ``10k`` (``M`` for millions);
    * ``cardinality``, ``noise``, ``strength``, ``density`` (sparse rows) and ``q`` (the rate at
      which a label fires when its group is active: ``group_label_rate``): numbers;
    * ``drift=[KIND@]POSITION[/WIDTH]``: a drift of ``KIND`` ``mapping``, ``cooccurrence`` or
      ``both`` (the default) at ``POSITION``, gradual over ``WIDTH`` instances when given. Repeat
      the item, or join drifts with ``+``, for several.

    Keys are case-insensitive and also accepted under the parameter's full name (``n_labels``...).

    >>> parse_synthetic("synthetic:n=20k,labels=20,drift=cooccurrence@5000+mapping@12k/2000")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'n_instances': 20000, 'seed': 0, 'n_labels': 20,
     'drifts': [Drift(position=5000, width=0, kind='cooccurrence', seed=None),
                Drift(position=12000, width=2000, kind='mapping', seed=None)]}
    >>> parse_synthetic("synthetic:n=inf,cardinality=2.5")["n_instances"] is None
    True
    """
    head, sep, body = spec.strip().partition(":")
    if head.strip().lower() != "synthetic":
        raise ValueError(f"not a synthetic spec: {spec!r}\n{SYNTHETIC_GRAMMAR}")
    params: dict[str, Any] = {"n_instances": 10_000, "seed": 0}
    drifts: list[Drift] = []
    for item in body.split(",") if body.strip() else []:
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or not value.strip():
            raise ValueError(f"synthetic: item {item.strip()!r} is not KEY=VALUE\n{SYNTHETIC_GRAMMAR}")
        if key in ("drift", "drifts"):
            drifts.extend(_drift(part) for part in value.split("+"))
            continue
        param = _SYNTHETIC_KEYS.get(key)
        if param is None:
            raise ValueError(f"synthetic: unknown key {key!r}\n{SYNTHETIC_GRAMMAR}")
        if param == "n_instances" and value.strip().lower() in ("inf", "infinite", "none"):
            params[param] = None
        else:
            params[param] = _number(value, key, integer=param in _INT_PARAMS)
    if drifts:
        params["drifts"] = sorted(drifts, key=lambda d: d.position)
    return params


def _is_synthetic(name: str) -> bool:
    return name.strip().lower().partition(":")[0].strip() == "synthetic"


# ------------------------------------------------------------------------------------- load


def load(name_or_path: str | os.PathLike, *, on_error: str = "raise", **kw: Any) -> Stream:
    """A stream for a dataset name or a file path (see the module docstring for the resolution).

    ``on_error`` is passed to file readers (``"raise"`` or ``"skip"``); ``kw`` goes to the reader
    (for instance ``labels=`` for a CSV file) or, for ``synthetic``, overrides the spec's
    parameters of :class:`~streamml.generators.MultiLabelDriftStream`. Keyword arguments set to
    ``None`` are ignored for the built-in ``yeast``, which takes no others.

    Raises :class:`DatasetNotFoundError` (a ``FileNotFoundError``) naming the folders searched and
    the datasets found there when nothing matches.

    >>> load("synthetic:n=100", seed=5).seed
    5
    """
    on_error = check_on_error(on_error)
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_file():
        return _open_file(path, on_error, kw)
    if path.is_dir():
        raise IsADirectoryError(f"{text} is a folder, not a dataset file (point {ENV_VAR} at it to load by name)")
    if _is_synthetic(text):
        params = parse_synthetic(text)
        params.update(kw)
        params.setdefault("name", text.strip())
        return MultiLabelDriftStream(**params)
    if text.strip().lower() == "yeast" and _yeast_path() is not None:
        extra = sorted(k for k, v in kw.items() if v is not None)
        if extra:
            raise ValueError(f"yeast from River's wheel takes no reader options (got {', '.join(extra)})")
        return yeast()
    if os.sep in text or (os.altsep and os.altsep in text):
        raise DatasetNotFoundError(f"no such file: {text}")
    found = find(text.strip())
    if found is None:
        raise _not_found(text)
    return _open_file(found, on_error, kw)


def _open_file(path: Path, on_error: str, kw: dict[str, Any]) -> Stream:
    from connectors.convert import open_stream

    return open_stream(path, on_error=on_error, **kw)
