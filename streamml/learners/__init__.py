"""streamml's multi-label learners.

Every learner here is a :class:`streamml.base.MultiLabelLearner`: it speaks River's multi-label
dict API and streamml's NumPy row API, grows its feature and label spaces as the stream reveals
them, and can be saved with :mod:`streamml.persistence`. :func:`streamml.registry.make` builds them
from short spec strings such as ``"br-lr(lr=0.2)"``.

- :class:`MajorityLabelset`: the most frequent labelset so far (a baseline).
- :class:`BinaryRelevance`: one River binary classifier per label.
- :class:`BRLogisticRegression`: binary-relevance logistic regression as one vectorised SGD step.
- :class:`RiverMultiLabel`: any River multi-label classifier, run through the row API.
"""

from streamml.learners.binary_relevance import BinaryRelevance, RiverMultiLabel, row_to_dict
from streamml.learners.logistic import BRLogisticRegression
from streamml.learners.majority import MajorityLabelset

__all__ = ["BRLogisticRegression", "BinaryRelevance", "MajorityLabelset", "RiverMultiLabel", "row_to_dict"]
