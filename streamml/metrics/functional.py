"""Batch definitions of the multi-label metrics, over ``(n, L)`` matrices.

These functions are the reference that :class:`streamml.metrics.MultiLabelMetrics` reproduces
incrementally. ``Y_true`` and ``Y_pred`` are boolean ``(n, L)`` matrices (row ``i`` is the label set
of instance ``i``); ``Y_score`` holds scores ``P(relevant)`` of the same shape. Write
:math:`T_i` and :math:`P_i` for the true and predicted label sets of instance ``i``.

=====================  ==========================================================================
name                   definition
=====================  ==========================================================================
``subset_accuracy``    fraction of instances with :math:`P_i = T_i` (River's ``ExactMatch``)
``hamming_loss``       fraction of the ``n * L`` instance-label cells that are wrong
``example_precision``  mean over instances of :math:`|T_i \\cap P_i| / |P_i|`
``example_recall``     mean over instances of :math:`|T_i \\cap P_i| / |T_i|`
``example_f1``         mean over instances of :math:`2 |T_i \\cap P_i| / (|T_i| + |P_i|)`
``example_accuracy``   mean over instances of :math:`|T_i \\cap P_i| / |T_i \\cup P_i|` (Jaccard)
``micro_*``            precision, recall, F1 of the TP/FP/FN counts pooled over all labels
``macro_*``            unweighted mean over the ``L`` labels of each label's precision, recall, F1
``macro_auc``          mean over labels with both classes present of the label's ROC AUC
=====================  ==========================================================================

Edge-case conventions
---------------------
A ratio whose denominator is zero is 0 (River's rule), with one exception that is a parameter:

* **Empty true and empty predicted set** (a perfect prediction of "no label"): the instance counts
  as an exact match for ``subset_accuracy`` and contributes no error to ``hamming_loss``; its
  example precision, recall, F1 and accuracy (Jaccard) are ``empty_score``. The default,
  ``empty_score=1.0``, scores it as perfect, as MEKA and most published tables (including the
  MLHAT experiments) do. ``empty_score=0.0`` gives River's convention
  (``river.metrics.multioutput.SampleAverage`` of ``Precision``/``Recall``/``F1``/``Jaccard``
  scores such an instance 0), and with it every example-based metric agrees with River on any
  data. Results name the convention they used.
* **Empty predicted set, non-empty true set**: example precision of that instance is 0.
* **Empty true set, non-empty predicted set**: example recall of that instance is 0.
* **Micro averages**: precision with no predicted positive at all, recall with no true positive at
  all, and F1 with no true positive predicted, are 0 (River ``MicroAverage``).
* **Macro averages**: every one of the ``L`` labels is averaged, including labels with no positive
  instance, whose precision, recall and F1 are all 0 (precision is ``0/FP = 0`` when they are
  predicted and ``0/0 -> 0`` when they are not). This is what River's ``MacroAverage`` does: it
  keeps one metric per label it has seen and averages them all. A label that never occurs thus
  pulls the macro averages towards 0 even when it is never predicted either. With ``L = 0`` the
  macro averages and ``hamming_loss`` are NaN.
* **Macro AUC**: averaged over the labels that have at least one positive and one negative
  instance (AUC is undefined otherwise); NaN when there is no such label. Ties between a positive
  and a negative score count one half (the Mann-Whitney statistic).
* **No instance** (``n = 0``): every metric is NaN.

Examples
--------
Three instances and three labels. Instance 0 is predicted exactly; instance 1 has
:math:`T = \\{0, 1\\}, P = \\{0\\}`; instance 2 has :math:`T = \\emptyset, P = \\emptyset`.

>>> import numpy as np
>>> Y_true = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=bool)
>>> Y_pred = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 0]], dtype=bool)
>>> subset_accuracy(Y_true, Y_pred)   # instances 0 and 2 are exact
0.6666666666666666
>>> hamming_loss(Y_true, Y_pred)      # 1 wrong cell out of 9
0.1111111111111111
>>> example_recall(Y_true, Y_pred)    # (1 + 1/2 + 1) / 3: the empty instance is a perfect prediction
0.8333333333333334
>>> example_recall(Y_true, Y_pred, empty_score=0.0)  # River's convention
0.5
>>> micro_recall(Y_true, Y_pred)      # 3 of the 4 true labels are found
0.75
>>> round(macro_f1(Y_true, Y_pred), 4)  # per label F1: 1, 0, 1
0.6667
>>> Y_score = np.array([[0.9, 0.2, 0.8], [0.7, 0.3, 0.1], [0.1, 0.3, 0.3]])
>>> label_auc(Y_true, Y_score)        # label 1: its positive beats one negative, ties the other
array([1.  , 0.75, 1.  ])
>>> macro_auc(Y_true, Y_score)
0.9166666666666666
>>> sorted(all_metrics(Y_true, Y_pred)) == sorted(METRIC_NAMES)
True
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "METRIC_NAMES",
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
    "all_metrics",
    "safe_ratio",
]

#: The keys of :func:`all_metrics` and of :meth:`MultiLabelMetrics.get`, in this order.
METRIC_NAMES: tuple[str, ...] = (
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
)


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Element-wise ``num / den``, with 0 where ``den == 0`` (River's convention)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _check(Y_true: np.ndarray, Y_other: np.ndarray, other_is_bool: bool = True) -> tuple[np.ndarray, np.ndarray]:
    T = np.asarray(Y_true, dtype=bool)
    X = np.asarray(Y_other, dtype=bool if other_is_bool else np.float64)
    if T.ndim != 2 or X.shape != T.shape:
        raise ValueError(f"expected two (n, L) matrices of the same shape, got {T.shape} and {X.shape}")
    return T, X


def _example_counts(Y_true: np.ndarray, Y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per instance: ``|T & P|``, ``|T|``, ``|P|``."""
    T, P = _check(Y_true, Y_pred)
    return (T & P).sum(axis=1), T.sum(axis=1), P.sum(axis=1)


def _label_counts(Y_true: np.ndarray, Y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label: true positives, true count (support), predicted count."""
    T, P = _check(Y_true, Y_pred)
    return (T & P).sum(axis=0), T.sum(axis=0), P.sum(axis=0)


def _per_instance(values: np.ndarray, ntrue: np.ndarray, npred: np.ndarray, empty_score: float) -> np.ndarray:
    """Per-instance ratios, with ``empty_score`` where both label sets are empty."""
    if empty_score:
        values = np.where((ntrue == 0) & (npred == 0), empty_score, values)
    return values


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def subset_accuracy(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Fraction of instances whose predicted label set equals the true one."""
    T, P = _check(Y_true, Y_pred)
    return _mean(~np.any(T ^ P, axis=1))


def hamming_loss(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Fraction of wrong instance-label cells (NaN if there are none)."""
    T, P = _check(Y_true, Y_pred)
    return _mean(T ^ P)


def example_precision(Y_true: np.ndarray, Y_pred: np.ndarray, empty_score: float = 1.0) -> float:
    """Mean over instances of ``|T & P| / |P|`` (0 for an empty ``P``, unless ``T`` is empty too)."""
    tp, ntrue, npred = _example_counts(Y_true, Y_pred)
    return _mean(_per_instance(safe_ratio(tp, npred), ntrue, npred, empty_score))


def example_recall(Y_true: np.ndarray, Y_pred: np.ndarray, empty_score: float = 1.0) -> float:
    """Mean over instances of ``|T & P| / |T|`` (0 for an empty ``T``, unless ``P`` is empty too)."""
    tp, ntrue, npred = _example_counts(Y_true, Y_pred)
    return _mean(_per_instance(safe_ratio(tp, ntrue), ntrue, npred, empty_score))


def example_f1(Y_true: np.ndarray, Y_pred: np.ndarray, empty_score: float = 1.0) -> float:
    """Mean over instances of ``2 |T & P| / (|T| + |P|)`` (``empty_score`` when both sets are empty)."""
    tp, ntrue, npred = _example_counts(Y_true, Y_pred)
    return _mean(_per_instance(safe_ratio(2 * tp, ntrue + npred), ntrue, npred, empty_score))


def example_accuracy(Y_true: np.ndarray, Y_pred: np.ndarray, empty_score: float = 1.0) -> float:
    """Mean over instances of the Jaccard index ``|T & P| / |T | P|`` (``empty_score`` when both are empty)."""
    tp, ntrue, npred = _example_counts(Y_true, Y_pred)
    return _mean(_per_instance(safe_ratio(tp, ntrue + npred - tp), ntrue, npred, empty_score))


def _micro(Y_true: np.ndarray, Y_pred: np.ndarray, kind: str) -> float:
    T, _ = _check(Y_true, Y_pred)
    if T.shape[0] == 0:
        return float("nan")
    tp, ntrue, npred = (int(c.sum()) for c in _label_counts(Y_true, Y_pred))
    den = {"precision": npred, "recall": ntrue, "f1": ntrue + npred}[kind]
    num = 2 * tp if kind == "f1" else tp
    return num / den if den else 0.0


def micro_precision(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Pooled ``TP / (TP + FP)`` over all labels (0 if nothing is predicted)."""
    return _micro(Y_true, Y_pred, "precision")


def micro_recall(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Pooled ``TP / (TP + FN)`` over all labels (0 if no label is relevant)."""
    return _micro(Y_true, Y_pred, "recall")


def micro_f1(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Pooled ``2 TP / (2 TP + FP + FN)`` over all labels (0 when ``TP = 0``)."""
    return _micro(Y_true, Y_pred, "f1")


def _macro(Y_true: np.ndarray, Y_pred: np.ndarray, kind: str) -> float:
    T, _ = _check(Y_true, Y_pred)
    if T.shape[0] == 0:
        return float("nan")
    tp, ntrue, npred = _label_counts(Y_true, Y_pred)
    if kind == "precision":
        per_label = safe_ratio(tp, npred)
    elif kind == "recall":
        per_label = safe_ratio(tp, ntrue)
    else:
        per_label = safe_ratio(2 * tp, ntrue + npred)
    return _mean(per_label)


def macro_precision(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Mean over all labels of the label's precision (0 for a label never predicted)."""
    return _macro(Y_true, Y_pred, "precision")


def macro_recall(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Mean over all labels of the label's recall (0 for a label with no positive)."""
    return _macro(Y_true, Y_pred, "recall")


def macro_f1(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """Mean over all labels of the label's F1 (0 for a label with no true positive)."""
    return _macro(Y_true, Y_pred, "f1")


def label_auc(Y_true: np.ndarray, Y_score: np.ndarray) -> np.ndarray:
    """Exact ROC AUC of each label (NaN for a label lacking positives or negatives).

    Computed from mid-ranks (the Mann-Whitney U statistic), so a tie between a positive and a
    negative score counts one half.
    """
    T, S = _check(Y_true, Y_score, other_is_bool=False)
    n_pos = T.sum(axis=0).astype(np.float64)
    n_neg = T.shape[0] - n_pos
    if T.shape[0] == 0:
        return np.full(T.shape[1], np.nan)
    ranks = rankdata(S, axis=0)  # average ranks, 1-based
    u = np.where(T, ranks, 0.0).sum(axis=0) - n_pos * (n_pos + 1) / 2
    den = n_pos * n_neg
    return np.divide(u, den, out=np.full(T.shape[1], np.nan), where=den > 0)


def macro_auc(Y_true: np.ndarray, Y_score: np.ndarray) -> float:
    """Exact macro-averaged ROC AUC over the labels having both classes (NaN if none has)."""
    auc = label_auc(Y_true, Y_score)
    auc = auc[~np.isnan(auc)]
    return _mean(auc)


def all_metrics(
    Y_true: np.ndarray, Y_pred: np.ndarray, Y_score: np.ndarray | None = None, empty_score: float = 1.0
) -> dict[str, float]:
    """Every metric of :data:`METRIC_NAMES`; ``Y_pred`` serves as the score if ``Y_score`` is None."""
    T, P = _check(Y_true, Y_pred)
    S = P.astype(np.float64) if Y_score is None else Y_score
    tp, ntrue, npred = _example_counts(T, P)
    n = T.shape[0]
    out = {
        "subset_accuracy": subset_accuracy(T, P),
        "hamming_loss": hamming_loss(T, P),
        "example_precision": _mean(_per_instance(safe_ratio(tp, npred), ntrue, npred, empty_score)),
        "example_recall": _mean(_per_instance(safe_ratio(tp, ntrue), ntrue, npred, empty_score)),
        "example_f1": _mean(_per_instance(safe_ratio(2 * tp, ntrue + npred), ntrue, npred, empty_score)),
        "example_accuracy": _mean(_per_instance(safe_ratio(tp, ntrue + npred - tp), ntrue, npred, empty_score)),
    }
    for kind in ("precision", "recall", "f1"):
        out[f"micro_{kind}"] = _micro(T, P, kind)
    for kind in ("precision", "recall", "f1"):
        out[f"macro_{kind}"] = _macro(T, P, kind)
    out["macro_auc"] = macro_auc(T, S) if n else float("nan")
    return {name: out[name] for name in METRIC_NAMES}
