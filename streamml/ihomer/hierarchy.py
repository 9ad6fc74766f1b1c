"""The HOMER-style hierarchy: learner units, positions in a hierarchy, routing and prediction.

A hierarchy is built from the clustering's tree of label clusters. Each position in it holds a
:class:`Unit`, a multi-label learner with the targets of that position:

* a **meta unit** (an internal position) predicts one *meta-label* per child, "some label of this
  child's cluster is relevant";
* a **leaf unit** predicts the individual labels of one leaf cluster.

The root trains on every instance; any other unit trains only on instances where its meta-label is
true (some label under it is relevant), so each learner sees the relevant instances and a small
label set. A prediction starts at the root and descends into every child whose meta-label the
parent predicts relevant; a label is predicted relevant only by the leaf unit that owns it, and only
when every meta-label on its path was predicted relevant. Its probability is the product of the
meta-label probabilities on the path and the leaf's probability; for a child that is not visited,
it is the parent's meta probability times the label's frequency among the instances that child has
trained on (so scores stay informative for AUC without running the child). With ``consistent``, a
unit reached through a predicted meta-label that predicts none of its children or labels predicts
its most probable one: the meta-label said some label below is relevant.

ODAC's cluster tree is binary; positions are made wider than that (up to ``branching`` children)
by replacing a child cluster with its own children, largest first, which keeps the hierarchy
shallow (fewer multiplied meta errors, fewer learners per instance).

In *flat* mode there is no meta level: one leaf unit per cluster, each trained on every instance,
and their predictions are joined.

Units are shared. A unit's training set and targets depend only on its label groups and on whether
it trains on every instance (the root and flat units) -- not on where else it sits -- so a unit is
identified by that *key*, and two hierarchies (the active one and a candidate being evaluated in the
background) that contain the same key share one learner, trained once per instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from river.drift import ADWIN

from streamml.base import MultiLabelLearner
from streamml.schema import Row

__all__ = ["Unit", "Position", "build_positions", "leaf_clusters", "predict_structure", "structure_key"]


class Unit:
    """One learner of the hierarchy, with its targets, label frequencies and local drift state.

    A meta unit's targets are its children's meta-labels; a leaf unit's, its cluster's labels. A unit
    below the root trains only where some label of its own is relevant:

    >>> y = np.array([False, True, False, False, True])
    >>> Unit("meta", [[0, 1], [2, 3]], True, None, 0, None).targets(y).tolist()
    [True, False]
    >>> leaf = Unit("leaf", [[2, 3]], False, None, 1, None)
    >>> leaf.targets(y).tolist(), leaf.trains_on(y)
    ([False, False], False)
    """

    def __init__(self, kind: str, groups: list[list[int]], always: bool, learner: MultiLabelLearner, uid: int,
                 adwin_delta: float | None) -> None:
        self.kind = kind  # "leaf" or "meta"
        self.groups = [list(g) for g in groups]
        self.always = always
        self.learner = learner
        self.uid = uid
        self.adwin_delta = adwin_delta
        self.adwin = ADWIN(delta=adwin_delta) if adwin_delta is not None else None
        self.alt: MultiLabelLearner | None = None
        self.alt_stats = [0.0, 0.0, 0.0, 0.0]  # n, sum d, sum d^2, max |d| (d = main error - alt error)
        self.n_trained = 0.0
        self._refresh()
        self.pos = np.zeros(self.domain.shape[0])

    def _refresh(self) -> None:
        self.domain = np.asarray([lab for g in self.groups for lab in g], dtype=np.intp)
        sizes = [len(g) for g in self.groups]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.n_targets = self.domain.shape[0] if self.kind == "leaf" else len(self.groups)

    @property
    def key(self) -> tuple:
        return unit_key(self.kind, self.groups, self.always)

    # ------------------------------------------------------------------ targets
    def trains_on(self, y: np.ndarray) -> bool:
        return self.always or bool(y[self.domain].any())

    def targets(self, y: np.ndarray) -> np.ndarray:
        yd = y[self.domain]
        if self.kind == "leaf":
            return yd
        return np.logical_or.reduceat(yd, self.offsets)

    # -------------------------------------------------------------- prediction
    def predict(self, x: Row, learner: MultiLabelLearner | None = None) -> tuple[np.ndarray, np.ndarray]:
        pred, proba = (learner or self.learner).predict_row_and_proba(x)
        n = self.n_targets
        if pred.shape[0] != n:
            p2, q2 = np.zeros(n, bool), np.zeros(n)
            m = min(n, pred.shape[0])
            p2[:m], q2[:m] = pred[:m], proba[:m]
            pred, proba = p2, q2
        return pred, proba

    # ---------------------------------------------------------------- learning
    def learn(self, x: Row, y: np.ndarray, t: np.ndarray, w: float) -> None:
        self.n_trained += w
        self.pos += w * y[self.domain]
        self.learner.learn_row(x, t, w)
        if self.alt is not None:
            self.alt.learn_row(x, t, w)

    def add_label(self, anchor: int, label: int) -> bool:
        """Put ``label`` in the group holding ``anchor`` (for a leaf unit: at the end). True if done.

        A unit that already holds ``label`` keeps it where it is (a label left out of a split because
        it had never been relevant is still held by the units built before that split).
        """
        if label in self.domain:
            return False
        for g in self.groups:
            if anchor in g:
                g.append(label)
                old_pos = dict(zip(self.domain.tolist(), self.pos.tolist()))
                self._refresh()
                self.pos = np.array([old_pos.get(lab, 0.0) for lab in self.domain.tolist()])
                return True
        return False

    # ------------------------------------------------------------- persistence
    def get_state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "groups": self.groups,
            "always": self.always,
            "uid": self.uid,
            "learner": self.learner,
            "alt": self.alt,
            "alt_stats": list(self.alt_stats),
            "adwin": self.adwin,
            "adwin_delta": self.adwin_delta,
            "n_trained": float(self.n_trained),
            "pos": self.pos,
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> Unit:
        u = cls.__new__(cls)
        u.kind = s["kind"]
        u.groups = [[int(v) for v in g] for g in s["groups"]]
        u.always = bool(s["always"])
        u.uid = int(s["uid"])
        u.learner = s["learner"]
        u.alt = s["alt"]
        u.alt_stats = [float(v) for v in s["alt_stats"]]
        u.adwin = s["adwin"]
        u.adwin_delta = s["adwin_delta"]
        u.n_trained = float(s["n_trained"])
        u._refresh()
        u.pos = np.asarray(s["pos"], dtype=np.float64)
        return u


def unit_key(kind: str, groups: list[list[int]], always: bool) -> tuple:
    return (kind, bool(always), tuple(sorted(tuple(sorted(g)) for g in groups)))


class Position:
    """A place in a hierarchy: a unit (``None`` for the virtual root of flat mode) and children."""

    __slots__ = ("unit", "children")

    def __init__(self, unit: Unit | None, children: list[Position]) -> None:
        self.unit = unit
        self.children = children

    def walk(self) -> Iterator[Position]:
        yield self
        for c in self.children:
            yield from c.walk()

    def units(self) -> list[Unit]:
        return [p.unit for p in self.walk() if p.unit is not None]

    def leaf_units(self) -> list[Unit]:
        return [p.unit for p in self.walk() if p.unit is not None and p.unit.kind == "leaf"]

    def to_tree(self) -> Any:
        """Nested ``{"unit", "kind", "labels", "children"}`` dicts (for views and tests)."""
        u = self.unit
        return {
            "unit": None if u is None else u.uid,
            "kind": "root" if u is None else u.kind,
            "labels": sorted(int(v) for v in (u.domain if u is not None else np.concatenate([c.unit.domain for c in self.children]))),
            "children": [c.to_tree() for c in self.children],
        }


def structure_key(pos: Position) -> tuple:
    return (None if pos.unit is None else pos.unit.key, tuple(structure_key(c) for c in pos.children))


def _frontier(tree: Any, branching: int) -> list[Any]:
    """Children of an ODAC node widened up to ``branching`` by expanding the largest internal ones."""
    frontier = list(tree[1])
    while len(frontier) < branching:
        internal = [(len(f[0]), i) for i, f in enumerate(frontier) if f[1]]
        if not internal:
            break
        _, i = max(internal)
        node = frontier[i]
        if len(frontier) - 1 + len(node[1]) > branching:
            break
        frontier[i : i + 1] = list(node[1])
    return frontier


def leaf_clusters(tree: Any) -> list[list[int]]:
    """The leaf clusters of a clustering tree (nested ``(labels, children)``), left to right.

    >>> leaf_clusters(([0, 1, 2, 3], [([0, 1], []), ([2, 3], [([2], []), ([3], [])])]))
    [[0, 1], [2], [3]]
    """
    if not tree[1]:
        return [tree[0]]
    return [c for child in tree[1] for c in leaf_clusters(child)]


def build_positions(tree: Any, flat: bool, branching: int, get_unit: Callable[[str, list[list[int]], bool], Unit]) -> Position:
    """The hierarchy for the clustering tree ``tree`` (nested ``(labels, children)``).

    ``get_unit(kind, groups, always)`` returns the unit of that key (reused or new). A unit's key
    is its kind, label groups and whether it trains on every instance, so two hierarchies that ask
    for the same key get the same unit (here no learner is attached: the units only hold targets):

    >>> pool = {}
    >>> def get_unit(kind, groups, always):
    ...     key = unit_key(kind, groups, always)
    ...     return pool.setdefault(key, Unit(kind, groups, always, None, len(pool), None))
    >>> tree = ([0, 1, 2, 3], [([0, 1], []), ([2, 3], [])])
    >>> root = build_positions(tree, flat=False, branching=64, get_unit=get_unit)
    >>> [(u.uid, u.kind, u.groups, u.always) for u in root.units()]
    [(0, 'meta', [[0, 1], [2, 3]], True), (1, 'leaf', [[0, 1]], False), (2, 'leaf', [[2, 3]], False)]
    >>> build_positions(tree, flat=False, branching=64, get_unit=get_unit).unit is root.unit  # shared
    True
    >>> [(u.kind, u.groups, u.always) for u in build_positions(tree, True, 64, get_unit).units()]
    [('leaf', [[0, 1]], True), ('leaf', [[2, 3]], True)]
    """
    if flat:
        clusters = [c for c in leaf_clusters(tree) if c]
        return Position(None, [Position(get_unit("leaf", [c], True), []) for c in clusters])

    def rec(node: Any, is_root: bool) -> Position:
        labels, children = node
        if not children:
            return Position(get_unit("leaf", [labels], is_root), [])
        frontier = [f for f in _frontier(node, max(branching, 2)) if f[0]]
        if len(frontier) == 1:
            return rec(frontier[0], is_root)
        unit = get_unit("meta", [f[0] for f in frontier], is_root)
        # a reused unit fixes the order of its meta-labels: follow it
        slot = {tuple(sorted(g)): i for i, g in enumerate(unit.groups)}
        frontier.sort(key=lambda f: slot[tuple(sorted(f[0]))])
        return Position(unit, [rec(f, False) for f in frontier])

    return rec(tree, True)


def predict_structure(root: Position, x: Row, n_labels: int, unit_pred: Callable[[Unit], tuple[np.ndarray, np.ndarray]],
                      consistent: bool = False, root_routed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and probabilities of a hierarchy over ``n_labels`` labels (see the module docstring).

    ``unit_pred(unit)`` gives a unit's ``(pred, proba)`` for ``x`` (the caller caches it). Here the
    root predicts its first child's meta-label (0.8) and not its second (0.3), and the first leaf
    predicts label 1 (0.9) and not label 0 (0.2): label 1's probability is 0.8 * 0.9 along its path,
    and labels 2 and 3, whose leaf is not visited, get 0.3 times their frequency among the instances
    that leaf trained on (none yet, so 0):

    >>> pool = {}
    >>> def get_unit(kind, groups, always):
    ...     return pool.setdefault(unit_key(kind, groups, always), Unit(kind, groups, always, None, len(pool), None))
    >>> root = build_positions(([0, 1, 2, 3], [([0, 1], []), ([2, 3], [])]), False, 64, get_unit)
    >>> outputs = {0: (np.array([True, False]), np.array([0.8, 0.3])),
    ...            1: (np.array([False, True]), np.array([0.2, 0.9]))}
    >>> pred, proba = predict_structure(root, None, 4, lambda unit: outputs[unit.uid])
    >>> pred.tolist(), proba.round(2).tolist()
    ([False, True, False, False], [0.16, 0.72, 0.0, 0.0])
    """
    pred = np.zeros(n_labels, dtype=bool)
    proba = np.zeros(n_labels)

    def rec(pos: Position, scale: float, routed: bool = False) -> None:
        unit = pos.unit
        if unit is None:  # flat: every child is visited
            for c in pos.children:
                rec(c, scale)
            return
        p, q = unit_pred(unit)
        if consistent and routed and p.shape[0] and not p.any():
            # a unit reached because some label under it is relevant predicts at least one
            p = p.copy()
            p[int(np.argmax(q))] = True
        if unit.kind == "leaf":
            pred[unit.domain] = p
            proba[unit.domain] = scale * q
            return
        # every child's labels first get their prior score -- the meta probability times the label's
        # frequency among the instances the child trained on (pos / n_trained) -- in one assignment
        # (a root may have dozens of children); the children visited below overwrite theirs
        units = [c.unit for c in pos.children]
        sizes = [u.domain.shape[0] for u in units]
        n = np.repeat(np.array([u.n_trained for u in units]), sizes)
        prior = np.divide(np.concatenate([u.pos for u in units]), n, out=np.zeros(n.shape[0]), where=n > 0)
        prior *= np.repeat(scale * q[: len(units)], sizes)
        proba[np.concatenate([u.domain for u in units])] = prior
        for i, c in enumerate(pos.children):
            if p[i]:
                rec(c, scale * float(q[i]), True)

    rec(root, 1.0, root_routed)
    return pred, proba
