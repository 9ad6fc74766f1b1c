"""Synthetic multi-label streams with planted label dependencies and concept drift.

:class:`MultiLabelDriftStream` draws instances whose labels come in *groups* that co-occur, and
whose feature-to-label mapping and label grouping can change at :class:`Drift` points, abruptly or
gradually. It is seeded and reproducible, infinite when asked, and generated in vectorised chunks so
that long benchmark streams (millions of instances) are cheap.

>>> stream = MultiLabelDriftStream(n_instances=5, n_features=4, n_labels=6, n_groups=2, seed=1)
>>> stream.schema.n_features, stream.schema.n_labels
(4, 6)
>>> x, y = next(iter(stream))
>>> x.shape, y.dtype
((4,), dtype('bool'))
>>> sum(1 for _ in stream)
5
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
from scipy.special import expit
from scipy.stats import binom

from streamml.schema import Row, Schema, SparseRow
from streamml.stream import Stream

__all__ = ["Concept", "Drift", "DriftKind", "MultiLabelDriftStream"]

DriftKind = Literal["mapping", "cooccurrence", "both"]
_DRIFT_KINDS = ("mapping", "cooccurrence", "both")

# Gauss-Hermite nodes for E[f(Z)], Z ~ N(0, 1): used to tune biases without sampling.
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(48)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


@dataclasses.dataclass(frozen=True)
class Drift:
    """A change of concept starting around instance ``position`` (0-based).

    ``width == 0`` makes it abrupt: every instance from ``position`` on follows the new concept.
    ``width > 0`` makes it gradual, as in MOA's ``ConceptDriftStream``: instance ``t`` follows the
    new concept with probability ``sigmoid(4 (t - position) / width)``, so that the mix is 50/50 at
    ``position`` and about 98% new at ``position + width``.

    ``kind`` says what changes:

    * ``"mapping"``: the feature-to-label weights (group and label weights, and their biases) are
      redrawn; the label groups stay, so the same labels keep co-occurring but ``P(y | x)`` changes.
    * ``"cooccurrence"``: labels are dealt into new groups, so that labels that co-occurred stop
      doing so; each label keeps its own weights.
    * ``"both"``: the two at once.

    ``seed``, when given, draws the new concept from the stream's seed combined with this number
    instead of with the drift's index, so that adding or removing other drifts does not change it.

    >>> Drift(5000, width=1000, kind="mapping")
    Drift(position=5000, width=1000, kind='mapping', seed=None)
    """

    position: int
    width: int = 0
    kind: DriftKind = "both"
    seed: int | None = None

    def __post_init__(self) -> None:
        if int(self.position) != self.position or self.position < 0:
            raise ValueError(f"Drift position must be a non-negative integer, not {self.position!r}")
        if int(self.width) != self.width or self.width < 0:
            raise ValueError(f"Drift width must be a non-negative integer, not {self.width!r}")
        if self.kind not in _DRIFT_KINDS:
            raise ValueError(f"Drift kind must be one of {_DRIFT_KINDS}, not {self.kind!r}")

    def probability(self, t: np.ndarray | int) -> np.ndarray:
        """The probability that instance ``t`` follows the concept after this drift."""
        t = np.asarray(t, dtype=np.float64)
        if self.width == 0:
            return (t >= self.position).astype(np.float64)
        return expit(4.0 * (t - self.position) / self.width)


@dataclasses.dataclass(frozen=True, eq=False)
class Concept:
    """One generative concept: label groups, group and label weights, and the noise rate.

    With ``r = sigmoid(group_weights @ x + group_bias)`` (one entry per group) and
    ``p = sigmoid(label_weights @ x + label_bias)`` (one entry per label), group ``g`` is active
    with probability ``r[g]``; label ``l`` is then positive with probability ``p[l]`` when its group
    ``group_of_label[l]`` is active, and with probability ``noise`` when it is not.
    """

    group_of_label: np.ndarray  # (L,) int64
    group_weights: np.ndarray  # (G, d)
    group_bias: np.ndarray  # (G,)
    label_weights: np.ndarray  # (L, d)
    label_bias: np.ndarray  # (L,)
    noise: float

    @property
    def n_groups(self) -> int:
        return int(self.group_weights.shape[0])

    @property
    def groups(self) -> list[np.ndarray]:
        """The label indices of each group (some may be empty after a co-occurrence drift)."""
        return [np.flatnonzero(self.group_of_label == g) for g in range(self.n_groups)]

    def proba(self, X: np.ndarray) -> np.ndarray:
        """``P(y_l = 1 | x)`` for each row of the dense ``(n, d)`` array ``X``: an ``(n, L)`` array."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        r = expit(X @ self.group_weights.T + self.group_bias)[:, self.group_of_label]
        p = expit(X @ self.label_weights.T + self.label_bias)
        return r * p + (1.0 - r) * self.noise

    def sample(self, X: np.ndarray, u_group: np.ndarray, u_label: np.ndarray) -> np.ndarray:
        """Labels for ``X`` from uniforms ``u_group`` ``(n, G)`` and ``u_label`` ``(n, L)``."""
        active = u_group < expit(X @ self.group_weights.T + self.group_bias)
        p = expit(X @ self.label_weights.T + self.label_bias)
        return np.where(active[:, self.group_of_label], u_label < p, u_label < self.noise)


def _solve_bias(scales: np.ndarray, target: float, mixture: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Biases ``a`` with ``E[sigmoid(scale * S * Z + a)] = target`` for each scale.

    ``Z ~ N(0, 1)`` and ``S`` is drawn from ``mixture = (multipliers, weights)``; the expectation is
    computed by Gauss-Hermite quadrature and the bias found by bisection (the mean is increasing in
    ``a``), all scales at once.
    """
    mult, w = mixture
    # (m, J, nodes) logit scales
    s = scales[:, None, None] * mult[None, :, None] * _GH_NODES[None, None, :]
    weight = w[:, None] * _GH_WEIGHTS[None, :]
    lo = np.full(scales.shape, -60.0)
    hi = np.full(scales.shape, 60.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        mean = (expit(s + mid[:, None, None]) * weight).sum(axis=(1, 2))
        below = mean < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


class MultiLabelDriftStream(Stream):
    """A seeded multi-label stream with planted label groups and concept drift.

    **Generative model.** Features are ``x ~ N(0, I_d)`` (with ``sparse_density``, each feature is
    non-zero with that probability and the rows are :class:`~streamml.schema.SparseRow`). The
    ``n_labels`` labels are dealt evenly into ``n_groups`` groups. Each group ``g`` has a weight
    vector ``V_g`` and bias ``a_g``, each label ``l`` a weight vector ``W_l`` and bias ``b_l``;
    weights are Gaussian and scaled so that each logit has standard deviation about ``strength``.
    For each instance, group ``g`` is *active* with probability ``sigmoid(V_g . x + a_g)``; label
    ``l`` is then positive with probability ``sigmoid(W_l . x + b_l)`` when its group is active, and
    with the small base rate ``noise`` when it is not. Labels of one group thus co-occur strongly,
    labels of different groups nearly independently, and both depend on ``x``. The biases are
    tuned (by quadrature, not sampling) so that every label is positive with rate
    ``label_cardinality / n_labels``: given an active group a label fires with mean probability
    ``q`` (``group_label_rate``, by default ``max(0.8, sqrt(rate))``) and groups are active with the
    mean rate that makes up the rest. With the default ``q`` an active group fires most of its
    labels, so a labelset is about a union of whole groups; a small ``q`` makes groups larger than
    the labelsets drawn from them, as in real label spaces where a labelset touches a few labels of
    a few correlated clusters.
    See :class:`Concept` for the formulas and :meth:`Concept.proba` for ``P(y | x)``.

    **Drift.** ``drifts`` lists :class:`Drift` points in increasing ``position``; drift ``i`` turns
    concept ``i`` into concept ``i + 1`` (:attr:`concepts` has one more entry than ``drifts``). A
    ``"mapping"`` drift redraws all weights and keeps the groups; a ``"cooccurrence"`` drift keeps
    every weight and deals the labels into new groups: the members of each old group are spread
    over as many new groups as possible (two labels that shared a group share one afterwards only
    when an old group had more members than there are groups), with the new group sizes still
    even. Drifts compose as in MOA: instance ``t`` follows concept ``i + 1`` or later with
    probability ``Drift.probability(t)`` of drift ``i``, nested from the last drift down.

    **Reproducibility.** Instances are generated in chunks of ``chunk_size``, chunk ``k`` from its
    own generator seeded by ``(seed, k)``; iterating twice yields the same data, the same seed (and
    chunk size) gives the same data, and a shorter stream is a prefix of a longer one. With
    ``seed=None`` a random seed is drawn once, at construction.

    Parameters
    ----------
    n_instances
        Number of instances; ``None`` for an infinite stream (slice it with
        ``itertools.islice``).
    n_features
        Number of features ``d``.
    n_labels
        Number of labels ``L``.
    n_groups
        Number of label groups ``G``, between 1 and ``n_labels``.
    label_cardinality
        Target mean number of positive labels per instance; defaults to
        ``min(3, n_labels / 3)``. Must lie strictly between ``noise * n_labels`` and ``n_labels``.
    noise
        Probability that a label of an inactive group is positive, in ``[0, 0.5)``.
    strength
        Standard deviation of each logit: larger makes labels more predictable from ``x``.
    group_label_rate
        Mean probability ``q`` that a label fires when its group is active, in
        ``[label_cardinality / n_labels, 1)``; ``None`` for ``max(0.8, sqrt(rate))``.
    drifts
        The concept drifts, in increasing position.
    sparse_density
        If given, the probability that a feature is non-zero; rows are then ``SparseRow``.
    seed
        Seed for ``numpy.random`` (an int), or ``None``.
    chunk_size
        Number of instances generated at a time.
    name
        The schema's name.

    Examples
    --------
    >>> import itertools
    >>> stream = MultiLabelDriftStream(
    ...     n_instances=None, n_labels=6, n_groups=2, label_cardinality=2.0,
    ...     drifts=[Drift(1000, kind="cooccurrence")], seed=42)
    >>> stream.n_instances is None
    True
    >>> len(list(itertools.islice(stream, 2500)))
    2500
    >>> stream.group_of_label.tolist()
    [0, 1, 1, 0, 1, 0]
    >>> stream.concept_at(1000).group_of_label.tolist()
    [0, 0, 1, 1, 0, 1]
    >>> X, Y, concept = stream.arrays(0, 20_000)
    >>> round(float(Y.sum(axis=1).mean()), 1)
    2.0
    >>> concept[998:1002].tolist()
    [0, 0, 1, 1]
    """

    def __init__(
        self,
        n_instances: int | None = 10_000,
        n_features: int = 20,
        n_labels: int = 10,
        n_groups: int = 3,
        label_cardinality: float | None = None,
        noise: float = 0.02,
        strength: float = 2.0,
        drifts: Sequence[Drift] = (),
        sparse_density: float | None = None,
        seed: int | None = None,
        chunk_size: int = 1000,
        name: str = "MultiLabelDriftStream",
        group_label_rate: float | None = None,
    ):
        super().__init__()
        if n_instances is not None and (int(n_instances) != n_instances or n_instances < 0):
            raise ValueError(f"n_instances must be a non-negative integer or None, not {n_instances!r}")
        if n_features < 1 or n_labels < 1:
            raise ValueError("n_features and n_labels must be at least 1")
        if not 1 <= n_groups <= n_labels:
            raise ValueError(f"n_groups must be between 1 and n_labels={n_labels}, not {n_groups}")
        if not 0.0 <= noise < 0.5:
            raise ValueError(f"noise must be in [0, 0.5), not {noise}")
        if strength <= 0:
            raise ValueError(f"strength must be positive, not {strength}")
        if sparse_density is not None and not 0.0 < sparse_density <= 1.0:
            raise ValueError(f"sparse_density must be in (0, 1], not {sparse_density}")
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if label_cardinality is None:
            label_cardinality = min(3.0, n_labels / 3)
        rate = label_cardinality / n_labels
        if not noise < rate < 1.0:
            raise ValueError(
                f"label_cardinality must lie strictly between noise * n_labels = {noise * n_labels:g} "
                f"and n_labels = {n_labels}, not {label_cardinality}"
            )
        if group_label_rate is not None and not rate <= group_label_rate < 1.0:  # (so above noise too)
            raise ValueError(
                f"group_label_rate must lie in [label_cardinality / n_labels = {rate:g}, 1), not {group_label_rate}"
            )
        drifts = [d if isinstance(d, Drift) else Drift(*d) for d in drifts]
        positions = [d.position for d in drifts]
        if positions != sorted(positions):
            raise ValueError(f"drifts must be in increasing position, got positions {positions}")
        if n_groups < 2 and any(d.kind != "mapping" for d in drifts):
            raise ValueError("a 'cooccurrence' or 'both' drift needs n_groups >= 2 to regroup labels")

        self.n_instances = None if n_instances is None else int(n_instances)
        self.n_features = int(n_features)
        self.n_labels = int(n_labels)
        self.n_groups = int(n_groups)
        self.label_cardinality = float(label_cardinality)
        self.noise = float(noise)
        self.strength = float(strength)
        self.drifts: list[Drift] = drifts
        self.sparse_density = None if sparse_density is None else float(sparse_density)
        self.seed = seed
        self.chunk_size = int(chunk_size)
        self._entropy = np.random.SeedSequence(seed).entropy
        self.schema = Schema.numeric(
            [f"x{i}" for i in range(self.n_features)],
            [f"y{j}" for j in range(self.n_labels)],
            name=name,
            sparse=self.sparse_density is not None,
        )

        # Rates: label fires w.p. q given its active group; groups are active at rate r.
        self.group_label_rate = group_label_rate
        self._label_rate = float(group_label_rate) if group_label_rate is not None else max(0.8, float(np.sqrt(rate)))
        self._group_rate = (rate - self.noise) / (self._label_rate - self.noise)
        self._mixture = self._logit_mixture()

        self.concepts: list[Concept] = [self._first_concept()]
        for i, drift in enumerate(drifts):
            self.concepts.append(self._next_concept(self.concepts[-1], drift, i))

    # --- concepts ---------------------------------------------------------------------------

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=key))

    def _logit_mixture(self) -> tuple[np.ndarray, np.ndarray]:
        """Multipliers of ``||w||`` giving the std of ``w . x``, with their probabilities."""
        d = self.n_features
        if self.sparse_density is None or self.sparse_density == 1.0:
            return np.ones(1), np.ones(1)
        k = np.arange(d + 1)
        pmf = binom.pmf(k, d, self.sparse_density)
        keep = pmf > 1e-12
        return np.sqrt(k[keep] / d), pmf[keep] / pmf[keep].sum()

    def _draw_weights(self, rng: np.random.Generator, rows: int) -> np.ndarray:
        density = self.sparse_density or 1.0
        return rng.standard_normal((rows, self.n_features)) * (self.strength / np.sqrt(self.n_features * density))

    def _draw_mapping(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        V = self._draw_weights(rng, self.n_groups)
        W = self._draw_weights(rng, self.n_labels)
        return {
            "group_weights": V,
            "group_bias": _solve_bias(np.linalg.norm(V, axis=1), self._group_rate, self._mixture),
            "label_weights": W,
            "label_bias": _solve_bias(np.linalg.norm(W, axis=1), self._label_rate, self._mixture),
        }

    def _first_concept(self) -> Concept:
        rng = self._rng(1, 0)
        groups = rng.permutation(np.arange(self.n_labels) % self.n_groups).astype(np.int64)
        return Concept(group_of_label=groups, noise=self.noise, **self._draw_mapping(rng))

    def _regroup(self, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Deal the labels into new groups, spreading the members of each old group."""
        G = self.n_groups
        order = np.concatenate([rng.permutation(np.flatnonzero(groups == g)) for g in rng.permutation(G)])
        new = np.empty_like(groups)
        new[order] = rng.permutation(G)[np.arange(order.size) % G]
        return new

    def _next_concept(self, old: Concept, drift: Drift, index: int) -> Concept:
        rng = self._rng(1, index + 1) if drift.seed is None else self._rng(2, int(drift.seed))
        groups = old.group_of_label
        if drift.kind in ("cooccurrence", "both"):
            groups = self._regroup(groups, rng)
        if drift.kind in ("mapping", "both"):
            mapping = self._draw_mapping(rng)
        else:
            mapping = {
                "group_weights": old.group_weights,
                "group_bias": old.group_bias,
                "label_weights": old.label_weights,
                "label_bias": old.label_bias,
            }
        return Concept(group_of_label=groups, noise=self.noise, **mapping)

    def concept_index_at(self, t: int) -> int:
        """The index in :attr:`concepts` of the concept that dominates at instance ``t``.

        That is the number of drifts whose ``position`` is at most ``t``; during a gradual drift
        single instances may still follow the neighbouring concepts (see :meth:`arrays`).
        """
        return int(sum(d.position <= t for d in self.drifts))

    def concept_at(self, t: int) -> Concept:
        """The concept that dominates at instance ``t`` (see :meth:`concept_index_at`)."""
        return self.concepts[self.concept_index_at(t)]

    @property
    def group_of_label(self) -> np.ndarray:
        """The group of each label under the first concept (``concept_at(t)`` for later ones)."""
        return self.concepts[0].group_of_label

    # --- generation -------------------------------------------------------------------------

    def _chunk(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Chunk ``k`` in full (``chunk_size`` rows): dense X, boolean Y, concept indices."""
        n = self.chunk_size
        rng = self._rng(0, k)
        X = rng.standard_normal((n, self.n_features))
        if self.sparse_density is not None:
            X = np.where(rng.random((n, self.n_features)) < self.sparse_density, X, 0.0)
        u_group = rng.random((n, self.n_groups))
        u_label = rng.random((n, self.n_labels))
        concept = np.zeros(n, dtype=np.int64)
        if self.drifts:
            t = np.arange(k * n, (k + 1) * n)
            p = np.stack([d.probability(t) for d in self.drifts], axis=1)
            chosen = rng.random(p.shape) < p
            last = chosen.shape[1] - np.argmax(chosen[:, ::-1], axis=1)
            concept = np.where(chosen.any(axis=1), last, 0)
        present = np.unique(concept)
        if present.size == 1:
            Y = self.concepts[int(present[0])].sample(X, u_group, u_label)
        else:
            Y = np.empty((n, self.n_labels), dtype=bool)
            for c in present:
                rows = concept == c
                Y[rows] = self.concepts[int(c)].sample(X[rows], u_group[rows], u_label[rows])
        return X, Y, concept

    def arrays(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Instances ``start`` to ``stop`` as arrays ``(X, Y, concept)``.

        ``X`` is dense ``(n, d)`` float64 (zeros included for a sparse stream), ``Y`` boolean
        ``(n, L)``, and ``concept`` gives, for each instance, the index in :attr:`concepts` of the
        concept that generated it. These are exactly the instances that iteration yields.
        ``stop`` defaults to ``n_instances`` and is required for an infinite stream.
        """
        if stop is None:
            if self.n_instances is None:
                raise ValueError("an infinite stream needs an explicit stop")
            stop = self.n_instances
        if self.n_instances is not None:
            stop = min(stop, self.n_instances)
        if start < 0 or stop < start:
            raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
        cs = self.chunk_size
        parts = [self._chunk(k) for k in range(start // cs, -(-stop // cs))]
        if not parts:
            return (np.empty((0, self.n_features)), np.empty((0, self.n_labels), dtype=bool), np.empty(0, np.int64))
        offset = start - (start // cs) * cs
        X, Y, c = (np.concatenate(a)[offset : offset + stop - start] for a in zip(*parts))
        return X, Y, c

    def __iter__(self) -> Iterator[tuple[Row, np.ndarray]]:
        cs = self.chunk_size
        chunks = itertools.count() if self.n_instances is None else range(-(-self.n_instances // cs))
        for k in chunks:
            X, Y, _ = self._chunk(k)
            if self.n_instances is not None:
                n = min(cs, self.n_instances - k * cs)
                X, Y = X[:n], Y[:n]
            if self.sparse_density is None:
                yield from zip(X, Y)
                continue
            rows, cols = np.nonzero(X)
            indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=X.shape[0]))))
            cols = cols.astype(np.int32)
            vals = X[rows, cols]
            d = self.n_features
            for i in range(X.shape[0]):
                a, b = indptr[i], indptr[i + 1]
                yield SparseRow(cols[a:b], vals[a:b], d), Y[i]

    def __repr__(self) -> str:
        n = "inf" if self.n_instances is None else self.n_instances
        return (
            f"MultiLabelDriftStream(n_instances={n}, n_features={self.n_features}, "
            f"n_labels={self.n_labels}, n_groups={self.n_groups}, drifts={len(self.drifts)}, seed={self.seed})"
        )
