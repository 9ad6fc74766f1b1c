"""Build learners from short spec strings.

A spec is a registered name, optionally followed by keyword parameters in parentheses, whose values
are Python literals (read with :func:`ast.literal_eval`; nothing is evaluated)::

    majority
    br-lr(lr=0.2, l2=1e-4)
    br-ht(grace_period=100)

``river:<module.Class>`` uses any River binary classifier as the base learner of
:class:`~streamml.learners.BinaryRelevance`; the parameters go to that classifier, and only modules
under the ``river`` package are imported. The leading ``river.`` of the path is optional::

    river:tree.HoeffdingTreeClassifier(grace_period=50)
    river:river.linear_model.LogisticRegression

Other modules add their learners with :func:`register`.

>>> from streamml import registry
>>> registry.make("br-lr(lr=0.2)")
BRLogisticRegression (
  lr=0.2
  intercept_lr=0.01
  l2=0.
  clip_gradient=None
  standardize=False
)
>>> model = registry.make("river:linear_model.LogisticRegression(l2=0.001)")
>>> type(model).__name__, type(model.model).__name__, model.model.l2
('BinaryRelevance', 'LogisticRegression', 0.001)
>>> "majority" in registry.available()
True
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Callable
from typing import Any

from river import base as river_base

from streamml.base import MultiLabelLearner

__all__ = ["make", "register", "available", "SpecError", "RIVER_PREFIX"]

#: Specs starting with this prefix name a River classifier class.
RIVER_PREFIX = "river:"

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_SPEC = re.compile(r"\s*([^()\s]+)\s*(?:\((.*)\))?\s*\Z", re.DOTALL)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_REGISTRY: dict[str, tuple[Callable[..., MultiLabelLearner], str]] = {}


class SpecError(ValueError):
    """A spec string that does not name a learner or whose parameters are invalid."""


def register(
    name: str, factory: Callable[..., MultiLabelLearner], description: str, *, replace: bool = False
) -> None:
    """Make ``name`` a spec: ``factory(**params)`` builds the learner, ``description`` is one line.

    Registering a taken name raises ``ValueError`` unless ``replace=True``.

    >>> from streamml.learners import BRLogisticRegression
    >>> register("br-lr-std", lambda **kw: BRLogisticRegression(standardize=True, lr=0.005, **kw),
    ...          "BRLogisticRegression with running standardisation")
    >>> make("br-lr-std(l2=0.01)").l2
    0.01
    >>> _ = _REGISTRY.pop("br-lr-std")
    """
    if not isinstance(name, str) or not _NAME.match(name) or name.startswith(RIVER_PREFIX):
        raise ValueError(f"invalid learner name {name!r}: use letters, digits, '_', '-' and '.'")
    if not callable(factory):
        raise TypeError("factory must be callable")
    if name in _REGISTRY and not replace:
        raise ValueError(f"learner {name!r} is already registered")
    _REGISTRY[name] = (factory, " ".join(str(description).split()))


def available() -> dict[str, str]:
    """Registered spec names and their one-line descriptions (``river:<module.Class>`` aside)."""
    return {name: desc for name, (_, desc) in sorted(_REGISTRY.items())}


def _parse_params(text: str | None, spec: str) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError as e:
        raise SpecError(f"cannot parse the parameters of {spec!r}: {e.msg}") from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "f":
        raise SpecError(f"cannot parse the parameters of {spec!r}")
    if call.args:
        raise SpecError(f"{spec!r}: parameters must be given as name=value")
    params: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise SpecError(f"{spec!r}: '**' is not allowed in a spec")
        try:
            params[kw.arg] = ast.literal_eval(kw.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise SpecError(
                f"{spec!r}: the value of {kw.arg!r} must be a Python literal "
                f"(number, string, bool, None, tuple, list or dict), got {ast.unparse(kw.value)!r}"
            ) from None
    return params


def _unknown(name: str) -> SpecError:
    names = ", ".join(available())
    return SpecError(f"unknown learner {name!r}; available: {names}, or {RIVER_PREFIX}<module.Class>")


def river_class(path: str) -> type:
    """The River classifier class at dotted ``path`` (``tree.HoeffdingTreeClassifier``).

    Only modules under the ``river`` package are imported, and the class must be defined in River.

    >>> river_class("river.tree.HoeffdingTreeClassifier").__name__
    'HoeffdingTreeClassifier'
    """
    parts = path.split(".")
    if parts and parts[0] == "river":
        parts = parts[1:]
    if not parts or not all(_IDENT.match(p) for p in parts):
        raise SpecError(f"{RIVER_PREFIX}{path}: expected a dotted path such as tree.HoeffdingTreeClassifier")
    obj: Any = None
    # The longest prefix that is a River module, then attributes.
    for split in range(len(parts) - 1, -1, -1):
        module_name = ".".join(["river", *parts[:split]])
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        break
    if not isinstance(obj, type):
        raise SpecError(f"{RIVER_PREFIX}{path}: no such class in River")
    if not obj.__module__.split(".")[0] == "river":
        raise SpecError(f"{RIVER_PREFIX}{path}: {obj.__module__}.{obj.__qualname__} is not a River class")
    if not issubclass(obj, river_base.Classifier) or issubclass(obj, river_base.MultiLabelClassifier):
        raise SpecError(f"{RIVER_PREFIX}{path}: not a River binary classifier, so it cannot be used per label")
    return obj


def make(spec: str) -> MultiLabelLearner:
    """Build the learner that ``spec`` describes (see the module docstring for the syntax).

    Unknown names and bad parameters raise :class:`SpecError`; the message for an unknown name
    lists the available ones.
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string, got {type(spec).__name__}")
    match = _SPEC.match(spec)
    if not match:
        raise SpecError(f"cannot parse learner spec {spec!r}")
    name, args = match.group(1), match.group(2)
    params = _parse_params(args, spec)
    if name.startswith(RIVER_PREFIX):
        from streamml.learners import BinaryRelevance

        cls = river_class(name[len(RIVER_PREFIX) :])
        try:
            return BinaryRelevance(cls(**params))
        except TypeError as e:
            raise SpecError(f"{spec!r}: {e}") from None
    entry = _REGISTRY.get(name)
    if entry is None:
        raise _unknown(name)
    factory = entry[0]
    try:
        learner = factory(**params)
    except TypeError as e:
        raise SpecError(f"{spec!r}: {e}") from None
    if not isinstance(learner, MultiLabelLearner):
        raise TypeError(f"the factory of {name!r} returned {type(learner).__name__}, not a MultiLabelLearner")
    return learner


# ------------------------------------------------------------------------------------ built-ins
def _majority() -> MultiLabelLearner:
    from streamml.learners import MajorityLabelset

    return MajorityLabelset()


def _br_ht(**params: Any) -> MultiLabelLearner:
    from river import tree

    from streamml.learners import BinaryRelevance

    return BinaryRelevance(tree.HoeffdingTreeClassifier(**params))


def _br_lr(**params: Any) -> MultiLabelLearner:
    from streamml.learners import BRLogisticRegression

    return BRLogisticRegression(**params)


def river_br_logistic(lr: float = 0.01, l2: float = 0.0) -> MultiLabelLearner:
    """River's own binary-relevance logistic regression, the peer of ``br-lr`` in benchmarks.

    ``river.multioutput.PerOutputClassifier(river.linear_model.LogisticRegression(...))`` with
    River's SGD optimiser at step ``lr`` (River's default 0.01) and penalty ``l2``, run through
    :class:`~streamml.learners.RiverMultiLabel`.
    """
    from river import linear_model, multioutput, optim

    from streamml.learners import RiverMultiLabel

    clf = linear_model.LogisticRegression(optimizer=optim.SGD(lr), l2=l2)
    return RiverMultiLabel(multioutput.PerOutputClassifier(clf))


def river_br_hoeffding(**params: Any) -> MultiLabelLearner:
    """River's ``PerOutputClassifier(HoeffdingTreeClassifier(**params))``, the peer of ``br-ht``."""
    from river import multioutput, tree

    from streamml.learners import RiverMultiLabel

    return RiverMultiLabel(multioutput.PerOutputClassifier(tree.HoeffdingTreeClassifier(**params)))


register("majority", _majority, "MajorityLabelset: predicts the most frequent labelset seen so far (baseline)")
register("br-ht", _br_ht, "BinaryRelevance over river.tree.HoeffdingTreeClassifier, one tree per label")
register("br-lr", _br_lr, "BRLogisticRegression: vectorised per-label online logistic regression")
register(
    "river-br-lr",
    river_br_logistic,
    "River peer: multioutput.PerOutputClassifier(linear_model.LogisticRegression) via RiverMultiLabel",
)
register(
    "river-br-ht",
    river_br_hoeffding,
    "River peer: multioutput.PerOutputClassifier(tree.HoeffdingTreeClassifier) via RiverMultiLabel",
)

# The native trees register their own specs (mlht, mlht-ps, isoup).
from streamml.trees import register_all as _register_trees  # noqa: E402

_register_trees(register)

# iHOMER registers ihomer and ihomer-flat.
from streamml.ihomer import register_all as _register_ihomer  # noqa: E402

_register_ihomer(register)
