"""The majority-labelset baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

from streamml.base import MultiLabelLearner
from streamml.schema import Row

__all__ = ["MajorityLabelset"]


def _key(y: np.ndarray) -> bytes:
    """A labelset's dictionary key: its packed bits, without trailing zero bytes.

    Dropping the trailing zero bytes makes the key independent of how many labels are known, so a
    labelset keeps its key when new labels (absent from it) are appended to the label space.
    """
    return np.packbits(y).tobytes().rstrip(b"\x00")


def _unkey(key: bytes, n_labels: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(key, dtype=np.uint8), count=n_labels)
    return bits.astype(bool)


class MajorityLabelset(MultiLabelLearner):
    """Predict the labelset seen most often so far.

    The learner counts every distinct labelset of the stream (the key of a labelset is its packed
    bit vector, so an update costs O(L/8) for L labels) and predicts the most frequent one, the
    joint mode. When two labelsets are tied, the one that reached the shared count first is kept.
    Features are ignored.

    The probabilities have a different meaning from the prediction: `predict_proba_row` returns
    each label's marginal relevance frequency, which ranking metrics such as AUC can use, while
    `predict_row` returns the majority labelset exactly. The two need not agree: a label can be
    relevant in most instances but absent from the most frequent labelset.

    Before anything is learned, every known label is predicted irrelevant with probability 0.

    **New labels.** A label seen for the first time is taken to have been absent from every earlier
    instance: the labelsets counted so far do not contain it and its marginal frequency starts from
    zero over all the weight seen before.

    Row weights (``learn_row(x, y, w)``) scale the counts.

    The state is held in NumPy arrays, so a saved model needs no signing key.

    Examples
    --------

    >>> import numpy as np
    >>> from streamml.learners import MajorityLabelset

    >>> model = MajorityLabelset()
    >>> x = np.zeros(3)
    >>> for y in ([1, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 0]):
    ...     model.learn_row(x, np.array(y, dtype=bool))
    >>> model.predict_row(x).tolist()
    [True, False, True]
    >>> model.predict_proba_row(x).tolist()
    [0.75, 0.5, 0.5]

    A longer label vector adds a label, absent from the earlier labelsets:

    >>> model.learn_row(x, np.array([0, 0, 0, 1], dtype=bool))
    >>> model.predict_proba_row(x).tolist()
    [0.6, 0.4, 0.4, 0.2]

    River's dict API works too:

    >>> model = MajorityLabelset()
    >>> model.learn_one({"a": 1.0}, {"sport": True, "news": False})
    >>> model.predict_one({"a": 0.0})
    {'sport': True, 'news': False}

    """

    def __init__(self) -> None:
        super().__init__()
        self._counts: dict[bytes, float] = {}
        self._best: bytes | None = None
        self._best_count = 0.0
        self._mode = np.zeros(0, dtype=bool)
        self._label_weight = np.zeros(0)
        self._total = 0.0

    @property
    def n_labelsets(self) -> int:
        """How many distinct labelsets have been seen."""
        return len(self._counts)

    # ------------------------------------------------------------------ learner
    def _on_new_labels(self, old: int, new: int) -> None:
        self._label_weight = np.concatenate([self._label_weight, np.zeros(new - old)])
        self._mode = np.concatenate([self._mode, np.zeros(new - old, dtype=bool)])

    def _learn_row(self, x: Row, y: np.ndarray, w: float) -> None:
        key = _key(y)
        count = self._counts.get(key, 0.0) + w
        self._counts[key] = count
        if count > self._best_count:
            self._best_count = count
            if key != self._best:
                self._best = key
                self._mode = y.copy()
        self._label_weight[y] += w
        self._total += w

    def _predict_proba_row(self, x: Row) -> np.ndarray:
        if self._total <= 0:
            return np.zeros(len(self.labels_))
        return self._label_weight / self._total

    def _predict_row(self, x: Row) -> np.ndarray:
        return self._mode.copy()

    # -------------------------------------------------------------- persistence
    def _get_state(self) -> dict[str, Any]:
        keys = list(self._counts)
        width = max((len(k) for k in keys), default=0)
        labelsets = np.zeros((len(keys), width), dtype=np.uint8)
        for i, k in enumerate(keys):
            labelsets[i, : len(k)] = np.frombuffer(k, dtype=np.uint8)
        best = keys.index(self._best) if self._best is not None else -1
        return {
            "labelsets": labelsets,
            "counts": np.array([self._counts[k] for k in keys], dtype=np.float64),
            "best": best,
            "label_weight": self._label_weight.copy(),
            "total": float(self._total),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        labelsets = np.asarray(state["labelsets"], dtype=np.uint8)
        counts = np.asarray(state["counts"], dtype=np.float64)
        if labelsets.ndim != 2 or labelsets.shape[0] != counts.shape[0]:
            raise ValueError("labelsets and counts do not match")
        keys = [row.tobytes().rstrip(b"\x00") for row in labelsets]
        self._counts = dict(zip(keys, counts.tolist()))
        best = int(state["best"])
        n = len(self.labels_)
        if best >= 0:
            self._best = keys[best]
            self._best_count = float(counts[best])
            self._mode = _unkey(self._best, n)
        else:
            self._best, self._best_count, self._mode = None, 0.0, np.zeros(n, dtype=bool)
        self._label_weight = np.asarray(state["label_weight"], dtype=np.float64).copy()
        if self._label_weight.shape != (n,):
            raise ValueError("label_weight does not match the label count")
        self._total = float(state["total"])
