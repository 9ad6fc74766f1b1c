"""The benchmark suites: which datasets, and which of our models against which peer.

Later work adds its models here (a new suite or new pairs), so one command keeps measuring
everything against River in the same run.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Pair:
    """One of our model specs and the spec of the peer it is compared with (None: no peer)."""

    ours: str
    peer: str | None = None
    #: Datasets this pair is not run on (for example where the peer would take hours).
    skip: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Suite:
    description: str
    datasets: tuple[str, ...]
    pairs: tuple[Pair, ...]


SUITES: dict[str, Suite] = {
    "foundation": Suite(
        description=(
            "The foundation's learners. `br-lr` (vectorised binary-relevance logistic regression, one "
            "weight matrix) against River's `PerOutputClassifier(LogisticRegression)` with the same step size (`river-br-lr(lr=0.1)`), so both make the same predictions and only speed differs; "
            "`br-ht` (our binary-relevance wrapper over River's Hoeffding tree) against River's own "
            "`PerOutputClassifier(HoeffdingTreeClassifier)` (`river-br-ht`), which measures the wrapper's "
            "overhead; and the majority-labelset baseline."
        ),
        datasets=("yeast", "flags", "emotions", "scene", "birds", "bibtex"),
        pairs=(Pair("br-lr", "river-br-lr(lr=0.1)"), Pair("br-ht", "river-br-ht", skip=("bibtex",)), Pair("majority")),
    ),
}
