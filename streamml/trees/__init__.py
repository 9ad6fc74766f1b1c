"""Fast multi-label Hoeffding trees: a vectorised engine, MLHT, MLHT-PS and iSOUP-Tree.

* :class:`MLHT` -- multi-label entropy splits, majority-labelset leaves (Read et al. 2012).
* :class:`MLHTPrunedSets` -- the same tree with pruned-sets (frequent labelset) leaf classifiers.
* :class:`ISOUPTree` -- variance-reduction splits over 0/1 targets, adaptive logistic leaves
  (Osojnik et al. 2017).
* :class:`MLHAT` -- multi-label Hoeffding adaptive tree: kNN / bagged logistic leaves, Poisson
  weighting, ADWIN-driven alternate trees (Esteban et al. 2024).

The shared engine (:mod:`streamml.trees.tree`) keeps every leaf's statistics in NumPy arrays
indexed by label and updates them with a handful of array operations per instance; sparse rows
cost ``O((k + 1) nnz)`` for ``k`` positive labels.

>>> from streamml.trees import MLHT
>>> MLHT().grace_period, MLHT().delta, MLHT().tau
(200, 1e-07, 0.05)
"""

from streamml.trees.isoup import ISOUPTree
from streamml.trees.mlhat import MLHAT
from streamml.trees.mlht import MLHT, MLHTPrunedSets
from streamml.trees.tree import HoeffdingTreeEngine

__all__ = ["MLHT", "MLHTPrunedSets", "ISOUPTree", "MLHAT", "HoeffdingTreeEngine", "register_all"]


def register_all(register) -> None:
    """Register the spec names ``mlht``, ``mlht-ps``, ``isoup`` and ``mlhat`` with ``register(name, factory, description)``."""
    register("mlht", MLHT, "Multi-label Hoeffding tree (entropy splits, majority-labelset leaves; Read et al. 2012)")
    register(
        "mlht-ps",
        MLHTPrunedSets,
        "Multi-label Hoeffding tree with pruned-sets leaves (frequent labelsets as naive-Bayes classes)",
    )
    register(
        "isoup",
        ISOUPTree,
        "iSOUP-Tree: multi-target Hoeffding tree on 0/1 targets with adaptive logistic leaves (Osojnik et al. 2017)",
    )
    register(
        "mlhat",
        MLHAT,
        "MLHAT: multi-label Hoeffding adaptive tree (kNN / bagged-LR leaves, ADWIN alternates; Esteban et al. 2024)",
    )
