"""Which columns of a table are labels: the label-column spec shared by the tabular readers.

CSV, flat JSONL, Parquet and Arrow files carry features and labels side by side, so a reader must be
told which columns are labels. A *label spec* is one of:

* a list of column names, e.g. ``["happy", "sad"]`` (the labels keep the list's order);
* a string of comma-separated names, e.g. ``"happy,sad"``;
* ``"first:N"`` or ``"last:N"``: the first or last ``N`` columns;
* ``"prefix:P"``: every column whose name starts with ``P``, in file order;
* a MEKA-style integer ``N`` (or its string form ``"N"``): the first ``N`` columns when ``N > 0``, the
  last ``|N|`` when ``N < 0``.

A string that is exactly the name of a column always means that column, so a column called
``"first:2"`` can still be named.

>>> cols = ["a", "b", "c", "l1", "l2"]
>>> resolve_label_columns("last:2", cols, "data.csv")
['l1', 'l2']
>>> resolve_label_columns(-2, cols, "data.csv")
['l1', 'l2']
>>> resolve_label_columns("prefix:l", cols, "data.csv")
['l1', 'l2']
>>> resolve_label_columns(["l2", "l1"], cols, "data.csv")
['l2', 'l1']
>>> resolve_label_columns("l1,zz", cols, "data.csv")
Traceback (most recent call last):
...
streamml.stream.DataError: data.csv: label column 'zz' is not in the file (columns: 'a', 'b', 'c', 'l1', 'l2')

Label *values* in text formats are read by :func:`parse_label_value`: ``0``/``1``,
``true``/``false`` and ``yes``/``no``, case-insensitive.

>>> parse_label_value("Yes"), parse_label_value(0)
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Union

from streamml.stream import DataError

__all__ = ["LabelSpec", "resolve_label_columns", "parse_label_value"]

#: What a reader's ``labels`` argument accepts.
LabelSpec = Union[str, int, Sequence[str]]

_INT = re.compile(r"^[+-]?\d+$")
_LABEL_TOKENS = {"1": True, "0": False, "true": True, "false": False, "yes": True, "no": False}


def _show(columns: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    if len(columns) > limit:
        shown += f", ... ({len(columns)} in all)"
    return shown


def _count(n: int, columns: Sequence[str], source: str, what: str) -> int:
    if n == 0 or abs(n) > len(columns):
        raise DataError(f"label spec {what} asks for {abs(n)} label columns but the file has {len(columns)} columns", source)
    return n


def resolve_label_columns(spec: LabelSpec, columns: Sequence[str], source: str) -> list[str]:
    """Resolve a label spec against a file's ``columns`` and return the label column names.

    Parameters
    ----------
    spec
        The label spec (see the module documentation).
    columns
        The column names of the file, in file order.
    source
        The file name, used in error messages.

    Raises
    ------
    DataError
        When a named column is missing, a count is zero or larger than the number of columns, a
        prefix matches nothing, a name is repeated or the spec is empty.
    TypeError
        When ``spec`` is neither a string, an integer nor a sequence of strings.

    Examples
    --------
    >>> resolve_label_columns("first:1", ["y", "x1", "x2"], "f.csv")
    ['y']
    >>> resolve_label_columns("2", ["y1", "y2", "x"], "f.csv")
    ['y1', 'y2']
    >>> resolve_label_columns("prefix:lab", ["x", "y"], "f.csv")
    Traceback (most recent call last):
    ...
    streamml.stream.DataError: f.csv: label spec 'prefix:lab' matches no column (columns: 'x', 'y')

    """
    columns = list(columns)
    if isinstance(spec, bool):
        raise TypeError(f"label spec must be a string, an int or a list of names, not {spec!r}")
    if isinstance(spec, int):
        n = _count(spec, columns, source, repr(spec))
        return columns[:n] if n > 0 else columns[n:]
    if isinstance(spec, str):
        text = spec.strip()
        if text in columns:
            return [text]
        kind, sep, arg = text.partition(":")
        if sep and kind in ("first", "last"):
            if not _INT.match(arg.strip()) or int(arg) <= 0:
                raise DataError(f"label spec {spec!r}: {kind}:N needs a positive integer N", source)
            n = _count(int(arg), columns, source, repr(spec))
            return columns[:n] if kind == "first" else columns[len(columns) - n :]
        if sep and kind == "prefix":
            if not arg:
                raise DataError(f"label spec {spec!r}: prefix:P needs a non-empty prefix", source)
            found = [c for c in columns if c.startswith(arg)]
            if not found:
                raise DataError(f"label spec {spec!r} matches no column (columns: {_show(columns)})", source)
            return found
        if _INT.match(text):
            n = _count(int(text), columns, source, repr(spec))
            return columns[:n] if n > 0 else columns[n:]
        names = [part.strip() for part in text.split(",")]
        if not text or any(not n for n in names):
            raise DataError(f"label spec {spec!r} has an empty column name", source)
    elif isinstance(spec, Sequence):
        names = list(spec)
        if not all(isinstance(n, str) for n in names):
            raise TypeError(f"label column names must be strings, got {spec!r}")
        if not names:
            raise DataError("label spec is an empty list", source)
    else:
        raise TypeError(f"label spec must be a string, an int or a list of names, not {type(spec).__name__}")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"label column {name!r} is named twice in the label spec", source)
        seen.add(name)
        if name not in columns:
            raise DataError(f"label column {name!r} is not in the file (columns: {_show(columns)})", source)
    return names


def parse_label_value(value: object) -> bool:
    """Read one label value: ``0``/``1``, ``true``/``false``, ``yes``/``no`` (any case), or a bool.

    Raises :class:`ValueError` for anything else, including missing values: labels cannot be missing.

    >>> parse_label_value(" TRUE "), parse_label_value(1), parse_label_value("no")
    (True, True, False)
    >>> parse_label_value("2")
    Traceback (most recent call last):
    ...
    ValueError: bad label value '2' (expected 0/1, true/false or yes/no)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        out = _LABEL_TOKENS.get(value.strip().lower())
        if out is not None:
            return out
    raise ValueError(f"bad label value {value!r} (expected 0/1, true/false or yes/no)")
