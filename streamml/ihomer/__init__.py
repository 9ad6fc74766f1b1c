"""iHOMER: an online hierarchy of multi-label learners over online Jaccard label clusters.

* :mod:`streamml.ihomer.clustering` -- ODAC over label indicator streams with a Jaccard distance.
* :mod:`streamml.ihomer.hierarchy` -- the HOMER-style hierarchy of learner units.
* :mod:`streamml.ihomer.model` -- :class:`IHOMER`, the learner (drift, restructuring, persistence).
* :mod:`streamml.ihomer.view` -- text and PNG views of the hierarchy and of its events.
"""

from streamml.ihomer.clustering import JaccardODAC, PairStats
from streamml.ihomer.model import IHOMER

__all__ = ["IHOMER", "JaccardODAC", "PairStats", "register_all"]


def _ihomer(**params):
    return IHOMER(**params)


def _ihomer_flat(**params):
    # A comparison baseline for the clusters' learners: it adopts its first partition at once (the
    # bootstrap switch, with the single root kept on trial) instead of starting from the single root,
    # which it would otherwise be on every stream where no flat partition earns a switch.
    params.setdefault("flat", True)
    params.setdefault("bootstrap", True)
    params.setdefault("switch_criterion", "auto")
    return IHOMER(**params)


def register_all(register) -> None:
    """Register the spec names ``ihomer`` and ``ihomer-flat`` with ``register(name, factory, description)``."""
    register(
        "ihomer",
        _ihomer,
        "iHOMER: online Jaccard-ODAC label clusters, HOMER hierarchy of MLHAT units, global and local drift (Neves et al. 2025)",
    )
    register(
        "ihomer-flat",
        _ihomer_flat,
        "iHOMER's flat mode: one MLHAT per online label cluster, predictions joined (comparison baseline; "
        "adopts its first partition at once: bootstrap=True, switch_criterion='auto')",
    )
