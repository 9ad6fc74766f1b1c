"""Multi-label ARFF files, in the MEKA and the Mulan dialect: streaming reader and writer.

ARFF alone does not say which attributes are labels; the two multi-label dialects say it in two ways:

* **MEKA** puts ``-C n`` in the ``@relation`` name (``@relation 'Music: -C 6'``): the labels are the
  first ``n`` attributes when ``n > 0`` and the last ``|n|`` when ``n < 0``.
* **Mulan** lists the label names in an XML file, by default the ARFF path with its compression
  suffix and ``.arff`` replaced by ``.xml`` (``yeast.xml`` for ``yeast.arff.xz``). Labels nested in a
  hierarchy all count. As in Mulan, the labels keep the order of the ARFF attributes (yeast's XML
  lists them in another order).

:class:`ArffStream` asks, in this order: an explicit ``labels=`` (an ``int`` with MEKA's sign
convention, or a list of attribute names), an explicit ``xml=``, ``-C n`` in the relation, the
default XML file. When none of them answers it raises an error naming the file.

Reading
-------
The header is read when the stream is made (and the first data line peeked at, to learn whether the
file is dense or sparse); each iteration re-opens the file and streams its lines, so memory does not
grow with the file, and ``.gz``, ``.bz2`` and ``.xz`` files are read transparently.

* ``x`` is a dense ``float64`` vector for dense lines and a :class:`~streamml.schema.SparseRow` for
  sparse lines (``{i v, j w}``), over the feature space: the attributes left after removing the
  labels and the dropped attributes, in file order. ``dense=True`` densifies sparse lines and
  ``dense=False`` sparsifies dense ones; by default the form of the file's first data line is kept
  (and lines of the other form are converted to it). ``schema.sparse`` tells the form produced.
  Explicit zeros of sparse lines are not stored in the ``SparseRow``.
* ``y`` is a boolean vector in the order of ``schema.labels``. Labels are nominal ``{0,1}`` or
  numeric attributes holding 0 or 1 (also accepted: two-valued nominal labels such as ``{f,t}``,
  ``{no,yes}``, ``{false,true}``). A nominal label with more values, one of them ``1`` (MEKA's
  solar_flare declares ``{0,1,2,3,4}``), is read as MEKA reads it: relevant when the value is
  ``1``, irrelevant otherwise, with a warning. Any other label domain (multi-target data such as
  MEKA's thyroid-L7, ``{A,B,C,D,NEG}``) is refused at construction: it does not fit a boolean vector.

Nominal features
    ``nominal="ordinal"`` (the default) keeps one feature per nominal attribute, of kind
    :attr:`~streamml.schema.FeatureKind.NOMINAL`, whose value is the index of the category in the
    declared order (:attr:`~streamml.schema.Feature.values`). It keeps the feature space as declared
    and suits tree learners. ``nominal="onehot"`` replaces each nominal attribute with one numeric
    0/1 feature per category, named ``attr=value``, which suits linear models; a missing nominal
    value is then ``NaN`` in all of its features. In sparse lines an omitted nominal attribute has
    its first declared value, as in Weka.

Missing values
    ``?`` is a missing value: ``NaN`` in the row (in a ``SparseRow``, an explicit ``NaN`` entry). A
    missing *label* value counts as irrelevant (``False``): a stream has no way to say "unknown" in
    a boolean label vector, and the usual multi-label evaluation treats it so.

NaN and infinity
    ARFF writes a missing value as ``?``; the numeric tokens ``nan``, ``inf`` and ``-inf`` (and
    numbers too large for a float) are therefore bad input, raised as :class:`DataError` like any
    other malformed value, rather than passed on as values no learner expects.
    :func:`write_arff` likewise writes ``NaN`` as ``?`` and refuses infinite values.

Dropped attributes
    ``string`` and ``date`` attributes, and ID-like attributes (nominal with more than
    :data:`ID_LIKE_MIN_VALUES` declared values, such as the protein accession of genbase, which
    takes a new value on every line) are left out of the features with a warning naming the
    attribute and the file. Names are not used as a guide: ``id`` is a word feature of 20ng.
    ``relational`` attributes are not supported.

Bad input
    A malformed line (an unterminated quote, a bad sparse pair), a wrong number of values, an
    unknown nominal value, a non-numeric value or a sparse index out of range raises
    :class:`~streamml.stream.DataError` naming the file and the 1-based line number. With
    ``on_error="skip"`` the instance is skipped and recorded in :attr:`ArffStream.errors`, which
    each new iteration starts afresh.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "toy.arff").write_text(
...     "@relation 'toy: -C 2'\\n"
...     "@attribute sport {0,1}\\n@attribute music {0,1}\\n"
...     "@attribute 'word count' numeric\\n@attribute colour {red,green}\\n"
...     "@data\\n"
...     "1,0,12,green\\n"
...     "0,1,?,red\\n")
>>> stream = ArffStream(folder / "toy.arff")
>>> stream.schema.labels, stream.schema.feature_names
(['sport', 'music'], ['word count', 'colour'])
>>> [(x.tolist(), y.tolist()) for x, y in stream]
[([12.0, 1.0], [True, False]), ([nan, 0.0], [False, True])]
>>> onehot = ArffStream(folder / "toy.arff", nominal="onehot", dense=False)
>>> onehot.schema.feature_names
['word count', 'colour=red', 'colour=green']
>>> next(iter(onehot))[0]
SparseRow(indices=array([0, 2], dtype=int32), values=array([12.,  1.]), size=3)

Writing the Mulan dialect puts the labels last and their names in an XML file beside the ARFF file:

>>> write_arff(stream, folder / "toy-mulan.arff.gz", dialect="mulan", sparse=True)
>>> sorted(p.name for p in folder.iterdir())
['toy-mulan.arff.gz', 'toy-mulan.xml', 'toy.arff']
>>> back = ArffStream(folder / "toy-mulan.arff.gz", dense=True)
>>> [(x.tolist(), y.tolist()) for x, y in back]
[([12.0, 1.0], [True, False]), ([nan, 0.0], [False, True])]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Union
from xml.sax.saxutils import quoteattr

import numpy as np

from connectors._io import open_binary, open_text, strip_compression
from streamml.schema import Feature, FeatureKind, Row, Schema, SparseRow
from streamml.stream import DataError, OnError, Stream, check_on_error

__all__ = [
    "ID_LIKE_MIN_VALUES",
    "ArffAttribute",
    "ArffHeader",
    "ArffStream",
    "default_xml_path",
    "meka_label_count",
    "read_header",
    "read_mulan_labels",
    "write_arff",
]

#: A nominal attribute with more declared values than this is taken for an identifier and dropped.
ID_LIKE_MIN_VALUES = 256

PathLike = Union[str, os.PathLike]

_NUMERIC_TYPES = {"numeric", "real", "integer"}
_TRUE_TOKENS = {"1", "t", "true", "y", "yes"}
_FALSE_TOKENS = {"0", "f", "false", "n", "no"}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_MEKA_C = re.compile(r"(?:^|[\s:'\"])-C\s+(-?\d+)(?![\w.])")
_UNQUOTED_ANY = re.compile(r"[^,]*")
_UNQUOTED_LIST = re.compile(r"[^,}]*")
_SPARSE_INDEX = re.compile(r"[ \t]*(\d+)[ \t]+")
_WEIGHT = re.compile(r",?[ \t]*\{[^{}]*\}")
# A sparse line that the vectorized parser may take: bare "index value" pairs, nothing quoted.
_PAIR = r"[ \t]*\d+[ \t]+[^\s,{}'\"]+[ \t]*"
_SPARSE_LINE = re.compile(rf"\{{(?:{_PAIR}(?:,{_PAIR})*|[ \t]*)\}}")
_SPARSE_TO_SPACES = str.maketrans("{},", "   ")


def _has_pair(s: str) -> bool:
    return not (len(s) == 2 or s[1:-1].isspace())


class _Malformed(Exception):
    """A parse failure, turned into a located :class:`DataError` by the caller."""


class _Quoted(str):
    """A value that was quoted in the file (so ``'?'`` is the text ``?``, not a missing value)."""

    __slots__ = ()


# --------------------------------------------------------------------------------------------------
# Lexing
# --------------------------------------------------------------------------------------------------


def _scan_value(s: str, i: int, unquoted: re.Pattern[str], stops: str) -> tuple[str, int]:
    """Read one value of ``s`` from ``i``: quoted (with backslash escapes) or bare up to a stop."""
    n = len(s)
    while i < n and s[i] in " \t":
        i += 1
    if i < n and s[i] in "'\"":
        quote = s[i]
        i += 1
        buf = []
        while True:
            if i >= n:
                raise _Malformed(f"unterminated quote ({quote}) in {_clip(s)!r}")
            c = s[i]
            if c == "\\" and i + 1 < n:
                buf.append(_ESCAPES.get(s[i + 1], s[i + 1]))
                i += 2
            elif c == quote:
                i += 1
                break
            else:
                buf.append(c)
                i += 1
        if i < n and s[i] in stops:
            return _Quoted("".join(buf)), i
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] not in stops:
            raise _Malformed(f"unexpected text after a quoted value at column {i + 1} of {_clip(s)!r}")
        return _Quoted("".join(buf)), i
    m = unquoted.match(s, i)
    token = m.group().strip()  # type: ignore[union-attr]
    if "'" in token or '"' in token:
        raise _Malformed(f"stray or unterminated quote in value {_clip(token)!r}")
    return token, m.end()  # type: ignore[union-attr]


def _split_dense(s: str) -> list[str]:
    """Split a dense data line into its values (quote-aware, values stripped)."""
    if "'" not in s and '"' not in s:
        return [t.strip() for t in s.split(",")]
    out = []
    i, n = 0, len(s)
    while True:
        token, i = _scan_value(s, i, _UNQUOTED_ANY, ",")
        out.append(token)
        if i >= n:
            return out
        i += 1  # the comma


def _split_sparse(s: str) -> list[tuple[int, str]]:
    """Split a sparse data line ``{i v, j w}`` into ``(attribute index, value)`` pairs."""
    n = len(s)
    i = 1
    pairs: list[tuple[int, str]] = []
    while i < n and s[i] in " \t":
        i += 1
    if i < n and s[i] == "}":
        i += 1
    else:
        while True:
            m = _SPARSE_INDEX.match(s, i)
            if m is None:
                raise _Malformed(f"bad sparse pair at column {i + 1}: expected 'index value' in {_clip(s)!r}")
            i = m.end()
            token, i = _scan_value(s, i, _UNQUOTED_LIST, ",}")
            if token == "" and not isinstance(token, _Quoted):
                raise _Malformed(f"sparse pair with index {m.group(1)} has no value")
            pairs.append((int(m.group(1)), token))
            if i >= n:
                raise _Malformed("unterminated sparse line: no closing '}'")
            i += 1
            if s[i - 1] == "}":
                break
    rest = s[i:].strip()
    if rest and _WEIGHT.fullmatch(rest) is None:
        raise _Malformed(f"unexpected text after the closing '}}': {_clip(rest)!r}")
    return pairs


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


# --------------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArffAttribute:
    """One ``@attribute`` declaration: ``kind`` is ``numeric``, ``nominal``, ``string`` or ``date``."""

    name: str
    kind: str
    values: tuple[str, ...] = ()
    line: int = 0


@dataclasses.dataclass(frozen=True)
class ArffHeader:
    """What an ARFF header declares.

    ``data_line`` is the line number of ``@data``; ``sparse`` is whether the first data line is
    sparse (``None`` when there are no data lines).
    """

    relation: str
    attributes: list[ArffAttribute]
    data_line: int
    sparse: bool | None

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attributes]


def read_header(path: PathLike) -> ArffHeader:
    """Parse the header of an ARFF file (plain or compressed), and peek at its first data line.

    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "h.arff"
    >>> _ = p.write_text("% a comment\\n@RELATION 'r: -C -1'\\n@attribute 'a b' REAL\\n"
    ...                  "@attribute c {x, 'y z'}\\n@data\\n{0 1.5}\\n")
    >>> h = read_header(p)
    >>> h.relation, h.data_line, h.sparse
    ('r: -C -1', 5, True)
    >>> h.attributes[1]
    ArffAttribute(name='c', kind='nominal', values=('x', 'y z'), line=4)
    """
    source = str(path)
    relation = ""
    attributes: list[ArffAttribute] = []
    with open_text(path) as f:
        lineno = 0
        for lineno, raw in enumerate(f, 1):
            s = raw.strip().lstrip("\ufeff") if lineno == 1 else raw.strip()
            if not s or s[0] == "%":
                continue
            keyword = s.split(None, 1)[0].lower()
            try:
                if keyword == "@relation":
                    rest = s[len(keyword):].strip()
                    if rest[:1] in ("'", '"'):
                        relation, _ = _scan_value(rest, 0, re.compile(r"\S*"), " \t")
                    else:
                        relation = rest
                elif keyword == "@attribute":
                    attributes.append(_parse_attribute(s[len(keyword):], lineno))
                elif keyword == "@data":
                    break
                elif keyword == "@end":
                    raise _Malformed("relational attributes are not supported")
                else:
                    raise _Malformed(f"expected @relation, @attribute or @data, got {_clip(s)!r}")
            except _Malformed as e:
                raise DataError(str(e), source=source, line=lineno) from None
        else:
            raise DataError("no @data line: not an ARFF file, or a truncated one", source=source)
        data_line = lineno
        sparse = None
        for raw in f:
            s = raw.strip()
            if s and s[0] != "%":
                sparse = s[0] == "{"
                break
    if not attributes:
        raise DataError("the header declares no @attribute", source=source)
    return ArffHeader(relation, attributes, data_line, sparse)


def _parse_attribute(rest: str, lineno: int) -> ArffAttribute:
    rest = rest.strip()
    if not rest:
        raise _Malformed("@attribute without a name")
    if rest[0] in "'\"":
        name, i = _scan_value(rest, 0, re.compile(r"\S*"), " \t{")
    else:
        m = re.match(r"[^\s{]+", rest)
        name, i = m.group(), m.end()  # type: ignore[union-attr]
    spec = rest[i:].strip()
    if not spec:
        raise _Malformed(f"attribute {name!r} has no type")
    if spec[0] == "{":
        values: list[str] = []
        j, n = 1, len(spec)
        while j < n and spec[j] in " \t":
            j += 1
        if j < n and spec[j] == "}":
            j += 1
        else:
            while True:
                value, j = _scan_value(spec, j, _UNQUOTED_LIST, ",}")
                values.append(str(value))
                if j >= n:
                    raise _Malformed(f"nominal attribute {name!r}: no closing '}}' in its values")
                j += 1
                if spec[j - 1] == "}":
                    break
        tail = spec[j:].strip()
        if tail and tail[0] != "%":
            raise _Malformed(f"unexpected text after the values of attribute {name!r}: {_clip(tail)!r}")
        return ArffAttribute(name, "nominal", tuple(values), lineno)
    kind = spec.split(None, 1)[0].lower()
    if kind in _NUMERIC_TYPES:
        return ArffAttribute(name, "numeric", (), lineno)
    if kind in ("string", "date"):
        return ArffAttribute(name, kind, (), lineno)
    if kind == "relational":
        raise _Malformed(f"attribute {name!r}: relational attributes are not supported")
    raise _Malformed(f"attribute {name!r} has an unknown type {_clip(spec)!r}")


def meka_label_count(relation: str) -> int | None:
    """The ``n`` of a MEKA ``-C n`` option in a relation name, or ``None``.

    >>> meka_label_count("Music: -C 6"), meka_label_count("enron -C -14 -split 50"), meka_label_count("yeast")
    (6, -14, None)
    """
    m = _MEKA_C.search(relation)
    return int(m.group(1)) if m else None


def default_xml_path(path: PathLike) -> Path:
    """Where Mulan keeps the label names of ``path``: ``data/yeast.arff.xz`` -> ``data/yeast.xml``."""
    p = strip_compression(path)
    if p.suffix.lower() == ".arff":
        p = p.with_suffix("")
    return p.with_name(p.name + ".xml")


def read_mulan_labels(xml_path: PathLike) -> list[str]:
    """The label names of a Mulan XML file, in document order (nested labels included).

    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "h.xml"
    >>> _ = p.write_text('<labels xmlns="http://mulan.sourceforge.net/labels">'
    ...                  '<label name="a"><label name="a.1"/></label><label name="b"/></labels>')
    >>> read_mulan_labels(p)
    ['a', 'a.1', 'b']
    """
    source = str(xml_path)
    try:
        with open_binary(xml_path) as f:
            root = ET.parse(f).getroot()
    except ET.ParseError as e:
        raise DataError(f"not a valid Mulan label file: {e}", source=source) from None
    names: list[str] = []
    seen: set[str] = set()
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] != "label":
            continue
        name = el.get("name")
        if name is None:
            raise DataError("a <label> element has no name attribute", source=source)
        if name not in seen:
            seen.add(name)
            names.append(name)
    if not names:
        raise DataError("no <label name=...> element", source=source)
    return names


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------

# Roles of attributes.
_NUM, _ORD, _HOT, _LAB01, _LABTOK, _DROP = range(6)


def _id_like(attr: ArffAttribute) -> bool:
    # Names are no guide: "id" and "video_id" are words (features) of 20ng and delicious.
    return attr.kind == "nominal" and len(attr.values) > ID_LIKE_MIN_VALUES


class ArffStream(Stream):
    """A multi-label stream over a MEKA or Mulan ARFF file (plain, ``.gz``, ``.bz2`` or ``.xz``).

    Parameters
    ----------
    path
        The ARFF file.
    xml
        The Mulan XML file naming the labels (default: beside ``path``, see :func:`default_xml_path`).
    labels
        Overrides the file: an ``int`` ``n`` (the first ``n`` attributes are labels when ``n > 0``,
        the last ``|n|`` when ``n < 0``) or a list of label attribute names (``y`` then follows the
        order of the list).
    nominal
        ``"ordinal"`` (a nominal feature is the index of its value) or ``"onehot"`` (one 0/1
        feature per value, named ``attr=value``).
    dense
        ``True``: dense rows; ``False``: sparse rows; ``None``: the form of the file.
    on_error
        ``"raise"``: bad input raises :class:`DataError`; ``"skip"``: skip it and count it in
        :attr:`errors`.
    name
        The schema's name (default: the file name without ``.arff`` and compression suffix).

    See the module documentation for the label, nominal, missing-value and NaN policies.
    ``n_instances`` is ``None`` until a full pass has counted the instances (counting them up
    front would mean reading the whole file).

    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "s.arff"
    >>> _ = p.write_text("@relation s\\n@attribute f1 numeric\\n@attribute f2 numeric\\n"
    ...                  "@attribute L {0,1}\\n@data\\n{1 3,2 1}\\n{0 ?}\\n{0 x}\\n")
    >>> stream = ArffStream(p, labels=["L"], on_error="skip")
    >>> rows = list(stream)
    >>> rows[0]
    (SparseRow(indices=array([1], dtype=int32), values=array([3.]), size=2), array([ True]))
    >>> rows[1][0].values, rows[1][1]
    (array([nan]), array([False]))
    >>> stream.errors.count, stream.errors.first[0].endswith("s.arff:8: non-numeric value 'x' for attribute 'f1'")
    (1, True)
    """

    def __init__(
        self,
        path: PathLike,
        *,
        xml: PathLike | None = None,
        labels: int | Sequence[str] | None = None,
        nominal: Literal["ordinal", "onehot"] = "ordinal",
        dense: bool | None = None,
        on_error: OnError = "raise",
        name: str | None = None,
    ):
        super().__init__()
        if nominal not in ("ordinal", "onehot"):
            raise ValueError(f"nominal must be 'ordinal' or 'onehot', not {nominal!r}")
        self.path = Path(path)
        self.on_error = check_on_error(on_error)
        self.nominal = nominal
        self.n_instances = None
        source = str(self.path)
        self.header = header = read_header(self.path)
        attrs = header.attributes
        label_attrs = _resolve_labels(header, self.path, xml, labels)
        label_of = {a: l for l, a in enumerate(label_attrs)}

        specs: list[tuple] = []
        features: list[Feature] = []
        label_default = np.zeros(len(label_attrs), dtype=bool)
        multi_valued: list[str] = []
        for a, attr in enumerate(attrs):
            if a in label_of:
                l = label_of[a]
                specs.append(_label_spec(attr, l, source, label_default, multi_valued))
                continue
            if attr.kind in ("string", "date") or _id_like(attr):
                what = attr.kind if attr.kind in ("string", "date") else "ID-like"
                warnings.warn(f"{source}: dropping {what} attribute {attr.name!r}", UserWarning, stacklevel=2)
                specs.append((_DROP, attr.name, -1, None))
            elif attr.kind == "numeric":
                specs.append((_NUM, attr.name, len(features), None))
                features.append(Feature(attr.name))
            else:
                mapping = {v: float(k) for k, v in enumerate(attr.values)}
                if nominal == "ordinal":
                    # "Identity-coded" values ("0", "1", ..., "k-1"): the code is the number itself.
                    ident = all(v == str(k) for k, v in enumerate(attr.values))
                    specs.append((_ORD, attr.name, len(features), (mapping, len(attr.values) if ident else 0)))
                    features.append(Feature(attr.name, FeatureKind.NOMINAL, attr.values))
                else:
                    specs.append((_HOT, attr.name, len(features), (mapping, len(attr.values))))
                    features.extend(Feature(f"{attr.name}={v}") for v in attr.values)
        if multi_valued:
            shown = ", ".join(repr(m) for m in multi_valued[:5]) + (", ..." if len(multi_valued) > 5 else "")
            warnings.warn(f"{source}: the labels {shown} take values other than 0 and 1; "
                          "only the value 1 counts as relevant", UserWarning, stacklevel=2)
        self._specs = specs
        self._n_attrs = len(attrs)
        self._n_features = len(features)
        self._n_labels = len(label_attrs)
        self._label_default = label_default
        self.sparse = bool(header.sparse) if dense is None else not dense
        self.schema = Schema(
            features,
            [attrs[a].name for a in label_attrs],
            name if name is not None else default_xml_path(self.path).stem,
            self.sparse,
        )

        # Fast path: every attribute is a numeric feature, an identity-coded nominal one, or a 0/1 label.
        self._fast = all(s[0] in (_NUM, _LAB01) or (s[0] == _ORD and s[3][1]) for s in specs)
        feat_attrs = np.array([a for a, s in enumerate(specs) if s[0] in (_NUM, _ORD)], dtype=np.intp)
        # Identity-coded nominal features: their values must be integer codes below k.
        self._ident_pos = np.array([s[2] for s in specs if s[0] == _ORD and s[3][1]], dtype=np.intp)
        self._ident_k = np.array([s[3][1] for s in specs if s[0] == _ORD and s[3][1]], dtype=np.float64)
        self._feat_hi = np.full(len(features), np.inf)
        self._feat_hi[self._ident_pos] = self._ident_k
        self._feat_nominal = np.zeros(len(features), dtype=bool)
        self._feat_nominal[self._ident_pos] = True
        self._feat_sel: slice | np.ndarray = _as_slice(feat_attrs)
        self._label_sel: slice | np.ndarray = _as_slice(np.asarray(label_attrs, dtype=np.intp))
        self._attr_to_feat = np.full(len(attrs), -1, dtype=np.int64)
        self._attr_to_label = np.full(len(attrs), -1, dtype=np.int64)
        for a, s in enumerate(specs):
            if s[0] in (_NUM, _ORD):
                self._attr_to_feat[a] = s[2]
            elif s[0] in (_LAB01, _LABTOK):
                self._attr_to_label[a] = s[2]
        # In sparse lines an omitted nominal attribute has its first value: one-hot features need it.
        base = np.zeros(self._n_features)
        for s in specs:
            if s[0] == _HOT and s[3][1]:
                base[s[2]] = 1.0
        self._sparse_base = base

    def __repr__(self) -> str:
        return (f"ArffStream({str(self.path)!r}, n_features={self._n_features}, n_labels={self._n_labels}, "
                f"sparse={self.sparse})")

    def __iter__(self) -> Iterator[tuple[Row, np.ndarray]]:
        errors = self.errors
        errors.count = 0
        errors.first.clear()
        skip = self.on_error == "skip"
        source = str(self.path)
        fast = self._fast
        dense_row = self._fast_dense if fast else self._careful_dense
        sparse_row = self._fast_sparse if fast else self._careful_sparse
        # Lines are parsed in chunks of a bounded size (one NumPy call per chunk); a chunk that the
        # vectorized parser cannot take whole (quotes, '?', bad input) is parsed line by line.
        width = max(self._n_attrs, self._n_features if not self.sparse else 0, 1)
        chunk = max(16, min(512, (1 << 20) // width)) if fast else 1
        lines: list[str] = []
        numbers: list[int] = []
        n = 0
        with open_text(self.path) as f:
            numbered = enumerate(itertools.islice(f, self.header.data_line, None), self.header.data_line + 1)
            while True:
                lines.clear()
                numbers.clear()
                for lineno, line in numbered:
                    s = line.strip()
                    if s and s[0] != "%":
                        lines.append(s)
                        numbers.append(lineno)
                        if len(lines) >= chunk:
                            break
                if not lines:
                    break
                rows = self._batch(lines) if fast and len(lines) > 1 else None
                if rows is not None:
                    n += len(rows)
                    yield from rows
                    continue
                for s, lineno in zip(lines, numbers):
                    try:
                        xy = sparse_row(s) if s[0] == "{" else dense_row(s)
                    except _Malformed as e:
                        err = DataError(str(e), source=source, line=lineno)
                        if not skip:
                            raise err from None
                        errors.add(err)
                        continue
                    n += 1
                    yield xy
        self.n_instances = n

    # -- vectorized chunks: numeric features and 0/1 labels only ---------------------------------

    def _batch(self, lines: list[str]) -> list[tuple[Row, np.ndarray]] | None:
        """Parse well-formed lines of one form all at once; ``None`` when any line needs more care."""
        first = lines[0][0] == "{"
        if any((s[0] == "{") != first for s in lines):
            return None
        try:
            return self._batch_sparse(lines) if first else self._batch_dense(lines)
        except ValueError:  # a token that is not a number
            return None

    def _batch_dense(self, lines: list[str]) -> list[tuple[Row, np.ndarray]] | None:
        commas = self._n_attrs - 1
        if any(s.count(",") != commas for s in lines):
            return None
        a = np.array(",".join(lines).split(","), dtype=np.float64).reshape(len(lines), self._n_attrs)
        lab = a[:, self._label_sel]
        if not np.isfinite(a).all() or not ((lab == 0.0) | (lab == 1.0)).all():
            return None
        X = a[:, self._feat_sel]
        if self._ident_pos.size:
            v = X[:, self._ident_pos]
            if not ((v >= 0.0) & (v < self._ident_k) & (v == np.floor(v))).all():
                return None
        Y = lab == 1.0
        if not self.sparse:
            return list(zip(X, Y))
        r, c = np.nonzero(X)
        return self._sparse_rows(r, c.astype(np.int32), X[r, c], Y)

    def _batch_sparse(self, lines: list[str]) -> list[tuple[Row, np.ndarray]] | None:
        well_formed = _SPARSE_LINE.fullmatch
        if any(well_formed(s) is None for s in lines):
            return None
        counts = [s.count(",") + 1 if _has_pair(s) else 0 for s in lines]
        tokens = " ".join(lines).translate(_SPARSE_TO_SPACES).split()
        a = np.array(tokens, dtype=np.float64)
        fidx = a[0::2]
        if fidx.size and fidx.max() >= self._n_attrs:  # indices are digit strings: >= 0, integral
            return None
        idx = fidx.astype(np.int64)
        vals = a[1::2]
        nrows = len(lines)
        row = np.repeat(np.arange(nrows), counts)
        if ((idx[1:] <= idx[:-1]) & (row[1:] == row[:-1])).any() or not np.isfinite(vals).all():
            return None  # indices must increase along a line
        lab = self._attr_to_label[idx]
        is_lab = lab >= 0
        lv = vals[is_lab]
        if not ((lv == 0.0) | (lv == 1.0)).all():
            return None
        Y = np.tile(self._label_default, (nrows, 1))
        Y[row[is_lab], lab[is_lab]] = lv == 1.0
        feat = self._attr_to_feat[idx]
        keep = (feat >= 0) & (vals != 0.0)
        fi = feat[keep]
        fv = vals[keep]
        if self._ident_pos.size:
            nom = self._feat_nominal[fi]
            if not ((fv > 0.0) & (fv < self._feat_hi[fi]) & (fv == np.floor(fv)) | ~nom).all():  # fv != 0 here
                return None
        krow = row[keep]
        if not self.sparse:
            X = np.zeros((nrows, self._n_features))
            X[krow, fi] = fv
            return list(zip(X, Y))
        return self._sparse_rows(krow, fi.astype(np.int32), fv, Y)

    def _sparse_rows(self, row: np.ndarray, idx: np.ndarray, vals: np.ndarray, Y: np.ndarray) -> list[tuple[Row, np.ndarray]]:
        """Split entries sorted by ``row`` into one ``SparseRow`` per row of ``Y``."""
        ends = np.cumsum(np.bincount(row, minlength=Y.shape[0])).tolist()
        d = self._n_features
        out = []
        start = 0
        for r, end in enumerate(ends):
            out.append((SparseRow(idx[start:end], vals[start:end], d), Y[r]))
            start = end
        return out

    # -- single lines: the vectorized parser on one line, else the careful one -------------------

    def _fast_dense(self, s: str) -> tuple[Row, np.ndarray]:
        try:
            rows = self._batch_dense([s])
        except ValueError:
            rows = None
        return rows[0] if rows else self._careful_dense(s)

    def _fast_sparse(self, s: str) -> tuple[Row, np.ndarray]:
        try:
            rows = self._batch_sparse([s])
        except ValueError:
            rows = None
        return rows[0] if rows else self._careful_sparse(s)

    # -- careful paths: quotes, nominal values, '?', and precise errors ---------------------------

    def _careful_dense(self, s: str) -> tuple[Row, np.ndarray]:
        tokens = _split_dense(s)
        if len(tokens) == self._n_attrs + 1 and not isinstance(tokens[-1], _Quoted) and _WEIGHT.fullmatch(tokens[-1]):
            tokens.pop()  # an instance weight {w}: ignored
        if len(tokens) != self._n_attrs:
            raise _Malformed(f"expected {self._n_attrs} values, got {len(tokens)}")
        x = np.zeros(self._n_features)
        y = np.zeros(self._n_labels, dtype=bool)
        put = self._put
        for spec, token in zip(self._specs, tokens):
            put(spec, token, x, y)
        return (SparseRow.from_dense(x) if self.sparse else x), y

    def _careful_sparse(self, s: str) -> tuple[Row, np.ndarray]:
        pairs = _split_sparse(s)
        x = self._sparse_base.copy()
        y = self._label_default.copy()
        seen: set[int] = set()
        put = self._put
        for a, token in pairs:
            if a >= self._n_attrs:
                raise _Malformed(f"sparse index {a} out of range: the file has {self._n_attrs} attributes (0..{self._n_attrs - 1})")
            if a in seen:
                raise _Malformed(f"sparse index {a} appears twice")
            seen.add(a)
            put(self._specs[a], token, x, y)
        return (SparseRow.from_dense(x) if self.sparse else x), y

    @staticmethod
    def _put(spec: tuple, token: str, x: np.ndarray, y: np.ndarray) -> None:
        role, name, j, extra = spec
        missing = token == "?" and not isinstance(token, _Quoted)
        if role == _NUM:
            x[j] = math.nan if missing else _number(token, name)
        elif role == _ORD:
            x[j] = math.nan if missing else _nominal(token, name, extra[0], extra[1])
        elif role == _HOT:
            mapping, k = extra
            if missing:
                x[j:j + k] = math.nan
            else:
                x[j:j + k] = 0.0
                x[j + int(_nominal(token, name, mapping))] = 1.0
        elif role == _LAB01:
            if missing:
                y[j] = False
            else:
                v = _number(token, name)
                if v != 0.0 and v != 1.0:
                    raise _Malformed(f"label {name!r} must be 0 or 1, got {token!r}")
                y[j] = v == 1.0
        elif role == _LABTOK:
            if missing:
                y[j] = False
            else:
                truth = extra.get(token)
                if truth is None:
                    raise _Malformed(f"unknown value {_clip(token)!r} for label {name!r} (declared: {', '.join(extra)})")
                y[j] = truth
        # _DROP: ignored


def _number(token: str, name: str) -> float:
    if token == "":
        raise _Malformed(f"empty value for attribute {name!r}")
    try:
        v = float(token)
    except ValueError:
        raise _Malformed(f"non-numeric value {_clip(token)!r} for attribute {name!r}") from None
    if not math.isfinite(v):
        raise _Malformed(f"value {_clip(token)!r} for attribute {name!r} is not finite; ARFF writes a missing value as '?'")
    return v


def _nominal(token: str, name: str, mapping: dict[str, float], ident: int = 0) -> float:
    v = mapping.get(token)
    if v is None and ident:
        # An identity-coded nominal value may be spelt as a number ("1.0" for "1"), as the fast path reads it.
        try:
            f = float(token)
        except ValueError:
            f = -1.0
        if 0.0 <= f < ident and f == int(f):
            return float(int(f))
    if v is None:
        declared = ", ".join(itertools.islice(mapping, 10)) + (", ..." if len(mapping) > 10 else "")
        raise _Malformed(f"unknown nominal value {_clip(token)!r} for attribute {name!r} (declared: {declared})")
    return v


def _as_slice(idx: np.ndarray) -> slice | np.ndarray:
    """A contiguous run of indices as a slice (a view, faster than fancy indexing)."""
    if idx.size == 0:
        return slice(0, 0)
    if idx[-1] - idx[0] + 1 == idx.size and (idx.size == 1 or (np.diff(idx) == 1).all()):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _label_spec(attr: ArffAttribute, l: int, source: str, default: np.ndarray, multi_valued: list[str]) -> tuple:
    if attr.kind == "numeric":
        return (_LAB01, attr.name, l, None)
    if attr.kind == "nominal":
        values = attr.values
        if values and set(values) <= {"0", "1"}:
            default[l] = values[0] == "1"
            return (_LAB01, attr.name, l, None)
        if len(values) == 2:
            low = [v.lower() for v in values]
            truth = [v in _TRUE_TOKENS for v in low]
            falsity = [v in _FALSE_TOKENS for v in low]
            if sorted(truth) == [False, True] and sorted(falsity) == [False, True] and truth != falsity:
                default[l] = truth[0]
                return (_LABTOK, attr.name, l, dict(zip(values, truth)))
        shown = ", ".join(values[:10]) + (", ..." if len(values) > 10 else "")
        if "1" in values:
            multi_valued.append(attr.name)
            default[l] = values[0] == "1"
            return (_LABTOK, attr.name, l, {v: v == "1" for v in values})
        raise DataError(
            f"label attribute {attr.name!r} is not binary (values {{{shown}}}): labels must be 0/1; "
            "multi-target data are not supported",
            source=source, line=attr.line,
        )
    raise DataError(f"label attribute {attr.name!r} is a {attr.kind} attribute; labels must be 0/1",
                    source=source, line=attr.line)


def _resolve_labels(header: ArffHeader, path: Path, xml: PathLike | None, labels: int | Sequence[str] | None) -> list[int]:
    """Attribute indices of the labels, in label order."""
    source = str(path)
    n = len(header.attributes)
    if labels is None and xml is None:
        count = meka_label_count(header.relation)
        if count is not None:
            return _count_to_indices(count, n, source, "the @relation option -C")
        default = default_xml_path(path)
        if not default.exists():
            raise DataError(
                "cannot tell which attributes are labels: the @relation has no MEKA '-C n' option and "
                f"there is no Mulan label file {default}; pass labels= (a count or names) or xml=",
                source=source,
            )
        xml = default
    if labels is None:
        names: Sequence[str] = read_mulan_labels(xml)  # type: ignore[arg-type]
        where = f"the label file {xml}"
    elif isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        return _count_to_indices(int(labels), n, source, "labels=")
    elif isinstance(labels, str) or not isinstance(labels, Iterable):
        raise TypeError(f"labels must be an int (MEKA's -C convention) or a list of attribute names, not {labels!r}")
    else:
        names = [str(v) for v in labels]
        where = "labels="
    positions: dict[str, list[int]] = {}
    for a, attr in enumerate(header.attributes):
        positions.setdefault(attr.name, []).append(a)
    missing = [nm for nm in names if nm not in positions]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DataError(f"{len(missing)} label(s) named in {where} are not attributes of the file: {shown}", source=source)
    twice = [nm for nm in names if len(positions[nm]) > 1]
    if twice:
        raise DataError(f"label name {twice[0]!r} matches several attributes", source=source)
    if len(set(names)) != len(names):
        raise DataError(f"a label is named twice in {where}", source=source)
    if not names:
        raise DataError(f"no labels named in {where}", source=source)
    found = [positions[nm][0] for nm in names]
    # Mulan's XML names a set of labels: they keep the file's order, as in Mulan. An explicit list
    # keeps the caller's order.
    return found if labels is not None else sorted(found)


def _count_to_indices(count: int, n: int, source: str, where: str) -> list[int]:
    if count == 0 or abs(count) > n:
        raise DataError(f"{where} says {count} labels but the file has {n} attributes; need 1..{n} or -{n}..-1",
                        source=source)
    return list(range(count)) if count > 0 else list(range(n + count, n))


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------

_NEEDS_QUOTES = re.compile(r"[\s,{}'\"%\\?]|^$|^@")


def _quote(s: str) -> str:
    if _NEEDS_QUOTES.search(s) is None:
        return s
    escaped = s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f"'{escaped}'"


def _fmt(v: float) -> str:
    if v != v:
        return "?"
    if v.is_integer() and -1e15 < v < 1e15:
        return str(int(v))
    return repr(v)


def _format_values(v: np.ndarray) -> list[str]:
    """ARFF tokens of finite-or-NaN values: integers without ``.0``, NaN as ``?``."""
    if v.size == 0:
        return []
    if np.isnan(v).any():
        return [_fmt(t) for t in v.tolist()]
    small = np.abs(v) < 1e15
    r = np.where(small, v, 0.0).astype(np.int64)
    integral = small & (r == v)
    if integral.all():
        return list(map(str, r.tolist()))
    out = list(map(repr, v.tolist()))
    ints = r.tolist()
    for p in np.flatnonzero(integral).tolist():
        out[p] = str(ints[p])
    return out


def write_arff(
    data: Stream | tuple[Schema, Iterable[tuple[Row, np.ndarray]]],
    path: PathLike,
    *,
    dialect: Literal["meka", "mulan"] = "meka",
    sparse: bool | None = None,
) -> None:
    """Write a stream as a multi-label ARFF file, compressed by suffix (``.gz``, ``.bz2``, ``.xz``).

    ``data`` is a :class:`Stream` or a ``(schema, rows)`` pair, ``rows`` yielding ``(x, y)``.
    ``dialect="meka"`` writes the labels first and ``-C n`` in the relation; ``dialect="mulan"``
    writes them last and their names to the XML file at :func:`default_xml_path`. ``sparse``
    chooses ``{i v}`` lines (default: ``schema.sparse``). Rows are written as they come, so a
    stream of any length can be written. ``NaN`` is written as ``?``; infinite values are refused.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from streamml.stream import ArrayStream
    >>> p = Path(tempfile.mkdtemp()) / "out.arff"
    >>> write_arff(ArrayStream(np.array([[0.5, 0.0]]), np.array([[1, 0]])), p, sparse=True)
    >>> print(p.read_text())
    @relation 'out: -C 2'
    <BLANKLINE>
    @attribute y0 {0,1}
    @attribute y1 {0,1}
    @attribute x0 numeric
    @attribute x1 numeric
    <BLANKLINE>
    @data
    {0 1,2 0.5}
    <BLANKLINE>
    """
    if dialect not in ("meka", "mulan"):
        raise ValueError(f"dialect must be 'meka' or 'mulan', not {dialect!r}")
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], Schema):
        schema, rows = data
    elif isinstance(getattr(data, "schema", None), Schema):
        schema, rows = data.schema, data  # type: ignore[union-attr]
    else:
        raise TypeError("write_arff needs a Stream or a (Schema, rows) pair")
    if sparse is None:
        sparse = schema.sparse
    d, n_labels = schema.n_features, schema.n_labels
    if n_labels == 0:
        raise ValueError("the schema has no labels; a multi-label ARFF file needs at least one")
    for feat in schema.features:
        if feat.kind == FeatureKind.NOMINAL and not feat.values:
            raise ValueError(f"nominal feature {feat.name!r} has no declared values to write")
    if dialect == "mulan":
        taken = set(schema.feature_names)
        clash = [lab for lab in schema.labels if lab in taken]
        if clash or len(set(schema.labels)) != n_labels:
            raise ValueError(f"Mulan names labels by attribute name, but {clash[:1] or 'a label'} is not unique")

    meka = dialect == "meka"
    feat_offset = n_labels if meka else 0
    label_offset = 0 if meka else d
    relation = schema.name or default_xml_path(path).stem

    lines = [f"@relation {_quote(f'{relation}: -C {n_labels}' if meka else relation)}", ""]
    label_lines = [f"@attribute {_quote(lab)} {{0,1}}" for lab in schema.labels]
    feat_lines = [
        f"@attribute {_quote(f.name)} "
        + ("{" + ",".join(_quote(v) for v in f.values) + "}" if f.kind == FeatureKind.NOMINAL else "numeric")
        for f in schema.features
    ]
    lines += (label_lines + feat_lines) if meka else (feat_lines + label_lines)
    lines += ["", "@data", ""]

    # Nominal features are written by their declared value; identity-coded ones ("0", "1", ...)
    # are their own codes, so only the others need a token looked up.
    is_nominal = np.zeros(d, dtype=bool)
    n_values = np.full(d, np.inf)
    named: dict[int, list[str]] = {}
    for j, f in enumerate(schema.features):
        if f.kind == FeatureKind.NOMINAL:
            is_nominal[j] = True
            n_values[j] = len(f.values)
            if any(v != str(k) for k, v in enumerate(f.values)):
                named[j] = [_quote(v) for v in f.values]
    any_nominal = bool(is_nominal.any())

    with open_text(path, "w") as out:
        out.write("\n".join(lines))
        for i, (x, y) in enumerate(rows):
            y = np.asarray(y, dtype=bool)
            if y.shape != (n_labels,):
                raise ValueError(f"row {i}: y has shape {y.shape}, the schema has {n_labels} labels")
            if isinstance(x, SparseRow):
                if x.size != d:
                    raise ValueError(f"row {i}: x has {x.size} features, the schema has {d}")
                fidx, fval = np.asarray(x.indices, dtype=np.int64), np.asarray(x.values, dtype=np.float64)
                if fidx.size and (fidx.min() < 0 or fidx.max() >= d):
                    raise ValueError(f"row {i}: sparse index out of range 0..{d - 1}")
                if sparse:
                    nz = fval != 0.0
                    fidx, fval = fidx[nz], fval[nz]
                    if fidx.size > 1 and (np.diff(fidx) <= 0).any():
                        order = np.argsort(fidx, kind="stable")
                        fidx, fval = fidx[order], fval[order]
                else:
                    dense = np.zeros(d)
                    dense[fidx] = fval
                    fidx, fval = None, dense
            else:
                x = np.asarray(x, dtype=np.float64)
                if x.shape != (d,):
                    raise ValueError(f"row {i}: x has shape {x.shape}, the schema has {d} features")
                fidx, fval = None, x
                if sparse:
                    fidx = np.flatnonzero(fval)
                    fval = fval[fidx]
            if np.isinf(fval).any():
                raise ValueError(f"row {i}: infinite value; ARFF has no infinity (and NaN is written '?')")
            if any_nominal:
                where = is_nominal if fidx is None else is_nominal[fidx]
                codes = fval[where]
                hi = n_values if fidx is None else n_values[fidx]
                bad = ~np.isnan(codes) & ((codes < 0) | (codes >= hi[where]) | (codes != np.floor(codes)))
                if bad.any():
                    j = (np.flatnonzero(where) if fidx is None else fidx[where])[np.flatnonzero(bad)[0]]
                    raise ValueError(f"row {i}: nominal feature {schema.features[j].name!r} has "
                                     f"{codes[bad][0]!r}, not the code of a declared value")
            ftok = _format_values(fval)
            if sparse:
                fi = fidx.tolist()  # type: ignore[union-attr]
                if named:
                    for p, j in enumerate(fi):
                        if j in named:
                            v = fval[p]
                            ftok[p] = "?" if v != v else named[j][int(v)]
                fpairs = [f"{j + feat_offset} {t}" for j, t in zip(fi, ftok)]
                lpairs = [f"{l + label_offset} 1" for l in np.flatnonzero(y).tolist()]
                out.write("{" + ",".join(lpairs + fpairs if meka else fpairs + lpairs) + "}\n")
            else:
                for j, values in named.items():
                    v = fval[j]
                    ftok[j] = "?" if v != v else values[int(v)]
                ltok = ["1" if b else "0" for b in y.tolist()]
                out.write(",".join(ltok + ftok if meka else ftok + ltok) + "\n")

    if not meka:
        xml_lines = ['<?xml version="1.0" encoding="utf-8"?>', '<labels xmlns="http://mulan.sourceforge.net/labels">']
        xml_lines += [f"<label name={quoteattr(lab)}></label>" for lab in schema.labels]
        xml_lines.append("</labels>\n")
        with open(default_xml_path(path), "w", encoding="utf-8") as out:
            out.write("\n".join(xml_lines))
