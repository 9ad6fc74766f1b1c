"""Multi-label metrics, incremental and batch.

* :class:`MultiLabelMetrics` (:mod:`~streamml.metrics.multilabel`) scores a stream one instance at
  a time, over the whole stream or over a sliding window, in ``O(L)`` per update.
* :mod:`~streamml.metrics.functional` defines every metric on ``(n, L)`` matrices; it is the
  reference the incremental version is tested against, and documents the edge-case conventions
  (a ratio with a zero denominator is 0; an instance whose true and predicted label sets are both
  empty scores ``empty_score`` on the example-based metrics: 1 by default, 0 for River's rule).
* :mod:`~streamml.metrics.auc` computes the macro AUC from per-label score histograms, with a
  bound on its error (:meth:`MultiLabelMetrics.auc_error_bound`).

The metrics, the keys of :meth:`MultiLabelMetrics.get` and :func:`all_metrics`, are
:data:`METRIC_NAMES`:

>>> METRIC_NAMES[:3]
('subset_accuracy', 'hamming_loss', 'example_precision')
>>> import numpy as np
>>> m = MultiLabelMetrics(window=100)
>>> m.update(np.array([True, False]), np.array([True, True]), np.array([0.8, 0.6]))
>>> m.get()["example_precision"], m.get()["micro_f1"]
(0.5, 0.6666666666666666)
>>> Y = np.array([[True, False]])
>>> all_metrics(Y, np.array([[True, True]]))["example_precision"]
0.5
"""

from streamml.metrics.functional import (
    METRIC_NAMES,
    all_metrics,
    example_accuracy,
    example_f1,
    example_precision,
    example_recall,
    hamming_loss,
    label_auc,
    macro_auc,
    macro_f1,
    macro_precision,
    macro_recall,
    micro_f1,
    micro_precision,
    micro_recall,
    subset_accuracy,
)
from streamml.metrics.multilabel import MultiLabelMetrics

__all__ = [
    "METRIC_NAMES",
    "MultiLabelMetrics",
    "all_metrics",
    "subset_accuracy",
    "hamming_loss",
    "example_precision",
    "example_recall",
    "example_f1",
    "example_accuracy",
    "micro_precision",
    "micro_recall",
    "micro_f1",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "macro_auc",
    "label_auc",
]
