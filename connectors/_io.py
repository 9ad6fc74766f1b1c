"""Opening files with transparent decompression, chosen by suffix."""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import os
from pathlib import Path
from typing import IO

# gzip's default level 9 makes writing several times slower for a few percent of size.
COMPRESSED_SUFFIXES = {".gz": functools.partial(gzip.open, compresslevel=6), ".bz2": bz2.open, ".xz": lzma.open}


def strip_compression(path: str | os.PathLike) -> Path:
    """``data/yeast.arff.xz`` -> ``data/yeast.arff``."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in COMPRESSED_SUFFIXES else p


def open_text(path: str | os.PathLike, mode: str = "r", encoding: str = "utf-8") -> IO[str]:
    """Open ``path`` as text, decompressing or compressing ``.gz``, ``.bz2`` and ``.xz``.

    Reading streams: memory does not grow with the file size. Undecodable bytes are replaced rather
    than raised, so one bad byte cannot stop a long stream (the replaced line then fails to parse
    and is reported by the reader with its line number).
    """
    p = Path(path)
    opener = COMPRESSED_SUFFIXES.get(p.suffix)
    if "b" in mode:
        raise ValueError("open_text opens text; use open_binary for bytes")
    if opener is None:
        return open(p, mode, encoding=encoding, errors="replace", newline="" if "w" in mode else None)
    return io.TextIOWrapper(opener(p, mode.replace("t", "") + "b"), encoding=encoding, errors="replace")


def open_binary(path: str | os.PathLike, mode: str = "rb") -> IO[bytes]:
    """Open ``path`` as bytes, with the same transparent (de)compression as :func:`open_text`."""
    p = Path(path)
    opener = COMPRESSED_SUFFIXES.get(p.suffix)
    return open(p, mode) if opener is None else opener(p, mode)
