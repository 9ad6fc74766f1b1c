"""streamml: online multi-label learning on streams.

Learners follow River's multi-label API and add a NumPy fast path (:mod:`streamml.base`);
:func:`streamml.evaluate.prequential` scores them test-then-train; :mod:`connectors` reads files
(and, later, Kafka) into streams; :mod:`streamml.persistence` saves and loads learners safely.
"""

from streamml.persistence import load, save
from streamml.schema import Feature, FeatureKind, Schema, SparseRow, labels_from_indices

__version__ = "0.1.0"

__all__ = ["Feature", "FeatureKind", "Schema", "SparseRow", "labels_from_indices", "load", "save", "__version__"]
