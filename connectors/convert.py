"""Open any supported file as a stream, and convert between formats.

The format is chosen by the file suffix, after stripping a compression suffix (``.gz``, ``.bz2``,
``.xz``):

==========================  ===========================================  =========================
suffix                      reader                                       writer
==========================  ===========================================  =========================
``.arff``                   :class:`connectors.arff.ArffStream`          ``write_arff``
``.csv``                    :class:`connectors.tabular.CsvStream`        :func:`~connectors.tabular.write_csv`
``.jsonl``, ``.ndjson``     :class:`connectors.tabular.JsonlStream`      :func:`~connectors.tabular.write_jsonl`
``.parquet``                :class:`connectors.arrow.ParquetStream`      :func:`~connectors.arrow.write_parquet`
``.arrow``, ``.feather``,   :class:`connectors.arrow.ArrowStream`        :func:`~connectors.arrow.write_arrow`
``.ipc``
==========================  ===========================================  =========================

:func:`convert` writes to a temporary file beside the destination and renames it when done, so a
failed conversion leaves no half-written file. The policies on missing and non-finite values are
those of the readers: missing values stay missing (``NaN``), infinities are refused.

>>> import tempfile, pathlib
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "d.csv").write_text("a,b,l1,l2\\n0.5,,1,0\\n1,2,0,1\\n")
>>> convert(tmp / "d.csv", tmp / "d.parquet", labels="last:2")
2
>>> convert(tmp / "d.parquet", tmp / "d.jsonl.gz")
2
>>> stream = open_stream(tmp / "d.jsonl.gz")
>>> stream.schema.labels, [(x.tolist(), y.tolist()) for x, y in stream]
(['l1', 'l2'], [([0.5, nan], [True, False]), ([1.0, 2.0], [False, True])])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from connectors._io import strip_compression
from connectors.arrow import ArrowStream, ParquetStream, write_arrow, write_parquet
from connectors.labels import LabelSpec, resolve_label_columns
from connectors.tabular import CsvStream, JsonlStream, SchemaChangedError, _Writing, write_csv, write_jsonl
from streamml.schema import Row
from streamml.stream import Stream

__all__ = ["FORMATS", "format_of", "open_stream", "convert"]

#: Format name by (lower-case) suffix.
FORMATS = {
    ".arff": "arff",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}


def format_of(path: str | os.PathLike) -> str:
    """The format of ``path`` by suffix, ignoring a compression suffix.

    >>> format_of("data/emotions.arff.xz"), format_of("out.NDJSON"), format_of("t.feather")
    ('arff', 'jsonl', 'arrow')
    >>> format_of("x.txt")
    Traceback (most recent call last):
    ...
    ValueError: x.txt: unknown format '.txt' (known: .arff, .csv, .jsonl, .ndjson, .parquet, .arrow, .feather, .ipc; optionally compressed with .gz, .bz2 or .xz)
    """
    suffix = strip_compression(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise ValueError(
            f"{path}: unknown format {suffix!r} (known: {', '.join(FORMATS)}; optionally compressed with "
            ".gz, .bz2 or .xz)"
        ) from None


def open_stream(
    path: str | os.PathLike, *, labels: LabelSpec | None = None, on_error: str = "raise", **kw: Any
) -> Stream:
    """Open ``path`` with the reader for its suffix.

    ``labels`` is the label spec (:mod:`connectors.labels`) for CSV, flat JSONL and Parquet/Arrow
    files without streamml metadata. For ARFF, without it the file says (MEKA ``-C n`` or the Mulan XML
    file); a given spec is resolved against the attribute names and passed to ``ArffStream``.
    Other keyword arguments go to the reader (``delimiter`` for CSV, ``batch_size`` for
    Parquet/Arrow, ``name`` for all).
    """
    fmt = format_of(path)
    if fmt == "arff":
        from connectors.arff import ArffStream, read_header

        if isinstance(labels, str) or (labels is not None and not isinstance(labels, int)):
            labels = resolve_label_columns(labels, read_header(path).names, str(path))
        if labels is not None:
            kw["labels"] = labels
        return ArffStream(path, on_error=on_error, **kw)
    reader: type[Stream] = {"csv": CsvStream, "jsonl": JsonlStream, "parquet": ParquetStream, "arrow": ArrowStream}[fmt]
    return reader(path, labels, on_error=on_error, **kw)  # type: ignore[call-arg]


class _Counted(Stream):
    """Passes a source through to a writer that returns nothing, counting and checking its rows."""

    def __init__(self, source: Stream, path: Path):
        super().__init__()
        self.source, self.path = source, path
        self.schema = source.schema
        self.n = 0

    def __iter__(self) -> Iterator[tuple[Row, np.ndarray]]:
        watch = _Writing(self.source, self.path)
        self.n = 0
        for x, y in self.source:
            watch.check(self.n, x, y)
            self.n += 1
            yield x, y


def _write_arff(stream: Stream, path: Path, dialect: str, sparse: bool | None) -> int:
    from connectors.arff import write_arff

    counted = _Counted(stream, path)
    write_arff(counted, path, dialect=dialect, sparse=sparse)  # type: ignore[arg-type]
    return counted.n


def _writer(dst: Path, dialect: str, sparse: bool | None) -> Callable[[Stream, Path], int]:
    fmt = format_of(dst)
    if fmt == "arff":
        if dialect not in ("meka", "mulan"):
            raise ValueError(f"dialect must be 'meka' or 'mulan', not {dialect!r}")
        return lambda s, p: _write_arff(s, p, dialect, sparse)
    if fmt == "csv":
        return write_csv
    if fmt == "jsonl":
        return write_jsonl
    if fmt == "parquet":
        return lambda s, p: write_parquet(s, p, sparse=sparse)
    return lambda s, p: write_arrow(s, p, sparse=sparse)


def convert(
    src: str | os.PathLike | Stream,
    dst: str | os.PathLike,
    *,
    labels: LabelSpec | None = None,
    dialect: str = "meka",
    sparse: bool | None = None,
    on_error: str = "raise",
) -> int:
    """Read ``src`` (a path, opened with :func:`open_stream`, or a stream) and write it to ``dst``.

    Parameters
    ----------
    src
        The source file or stream.
    dst
        The destination; its suffix picks the writer and a compression suffix compresses it.
    labels
        The label spec of the source (see :func:`open_stream`).
    dialect
        ``"meka"`` or ``"mulan"``, for ARFF destinations.
    sparse
        Write the sparse layout (ARFF, Parquet, Arrow); ``None`` follows the source's schema hint.
        CSV and JSONL ignore it (JSONL writes rows as they come).
    on_error
        The source's policy for bad input: ``"raise"`` or ``"skip"`` (when ``src`` is a path).

    Returns
    -------
    int
        The number of instances written.

    When the source's schema grows while it is written (structured JSONL with new labels), the
    source is read to the end once and written again with the final schema; earlier instances are
    then negative for the late labels.
    """
    dst = Path(dst)
    write = _writer(dst, dialect, sparse)
    if not isinstance(src, Stream):
        if Path(src).resolve() == dst.resolve():
            raise ValueError(f"{dst}: source and destination are the same file")
        src = open_stream(src, labels=labels, on_error=on_error)
    tmp = dst.with_name(f".tmp-{os.getpid()}-{dst.name}")
    moves = [(tmp, dst)]
    if format_of(dst) == "arff" and dialect == "mulan":  # the label names go to an XML file beside it
        from connectors.arff import default_xml_path

        moves.append((default_xml_path(tmp), default_xml_path(dst)))
    try:
        try:
            n = write(src, tmp)
        except SchemaChangedError:
            for _ in src:  # let the source learn its whole schema, then write again
                pass
            n = write(src, tmp)
        for a, b in moves:
            os.replace(a, b)
    except BaseException:
        for a, _ in moves:
            a.unlink(missing_ok=True)
        raise
    return n
