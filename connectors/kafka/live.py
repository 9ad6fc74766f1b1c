"""Live prequential metrics for a Kafka worker: batched metric updates and the terminal display.

:class:`BatchMetrics` is :class:`streamml.metrics.MultiLabelMetrics` with :meth:`~BatchMetrics.update_many`,
which counts a block of instances with a few NumPy operations instead of one call per instance (the
per-instance update costs about 20 µs, as much as a fast learner). The result is that of calling
``update`` on each row in order (up to float rounding in the windowed running sums).

>>> import numpy as np
>>> T = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=bool)
>>> P = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 0]], dtype=bool)
>>> a, b = BatchMetrics(window=2), MultiLabelMetrics(window=2)
>>> a.update_many(T, P, P.astype(float))
>>> for t, p in zip(T, P):
...     b.update(t, p, p.astype(float))
>>> a.get() == b.get()
True
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

import numpy as np

from streamml.metrics import MultiLabelMetrics
from streamml.metrics.auc import score_bins
from streamml.metrics.multilabel import _N_SCALARS

__all__ = ["BatchMetrics", "LiveDisplay"]


class BatchMetrics(MultiLabelMetrics):
    """:class:`MultiLabelMetrics` that can also count a whole block of instances at once."""

    def update_many(self, Y_true: np.ndarray, Y_pred: np.ndarray, Y_score: np.ndarray | None = None) -> None:
        """Count the rows of ``(n, L)`` matrices, as ``update`` on each row in order would."""
        T = np.asarray(Y_true, dtype=bool)
        P = np.asarray(Y_pred, dtype=bool)
        n = T.shape[0]
        if n == 0:
            return
        S = P.astype(np.float64) if Y_score is None else np.asarray(Y_score, dtype=np.float64)
        if self.window is not None and n > self.window:
            for start in range(0, n, self.window):
                self.update_many(T[start : start + self.window], P[start : start + self.window],
                                 S[start : start + self.window])
            return
        L = max(T.shape[1], P.shape[1], S.shape[1], self._L)
        if L > self._L:
            self._grow(L)
        T, P, S = _widen(T, L), _widen(P, L), _widen(S, L)
        bins = score_bins(S, self.auc_bins)

        hits = T & P
        tp = hits.sum(axis=1)
        nt = T.sum(axis=1)
        npred = P.sum(axis=1)
        wrong = nt + npred - 2 * tp
        union = nt + npred - tp
        rows = np.empty((n, _N_SCALARS))
        with np.errstate(invalid="ignore", divide="ignore"):
            rows[:, 0] = wrong == 0
            rows[:, 1] = wrong
            rows[:, 2] = np.where(npred > 0, tp / np.maximum(npred, 1), 0.0)
            rows[:, 3] = np.where(nt > 0, tp / np.maximum(nt, 1), 0.0)
            rows[:, 4] = 2 * tp / np.maximum(nt + npred, 1)
            rows[:, 5] = tp / np.maximum(union, 1)
        empty = union == 0
        if empty.any():
            e = self.empty_score
            rows[empty] = (1.0, 0.0, e, e, e, e)

        hist = self._auc._hist.reshape(-1)
        offsets = self._auc._offsets[:L]

        if self.window is not None:
            W = self.window
            slots = (self._n_seen + np.arange(n)) % W
            evict = slots[self._n_seen + np.arange(n) >= W]
            if evict.size:
                ot, op = self._ring_true[evict, :L], self._ring_pred[evict, :L]
                self._tp[:L] -= (ot & op).sum(axis=0)
                self._n_true[:L] -= ot.sum(axis=0)
                self._n_pred[:L] -= op.sum(axis=0)
                self._sums -= self._ring_scalars[evict].sum(axis=0)
                flat = offsets + ot * self.auc_bins + self._ring_bins[evict, :L]
                np.subtract.at(hist, flat.reshape(-1), 1)
            self._ring_true[slots, :L] = T
            self._ring_pred[slots, :L] = P
            self._ring_bins[slots, :L] = bins
            self._ring_scalars[slots] = rows
        self._tp[:L] += hits.sum(axis=0)
        self._n_true[:L] += T.sum(axis=0)
        self._n_pred[:L] += P.sum(axis=0)
        self._sums += rows.sum(axis=0)
        flat = offsets + T * self.auc_bins + bins
        np.add.at(hist, flat.reshape(-1), 1)
        self._n_seen += n
        if self.window is not None and (self._n_seen >= self.window):
            # as ``update`` does on each wrap-around: drop the rounding error of the subtractions
            if (self._n_seen - n) // self.window != self._n_seen // self.window or self._n_seen % self.window == 0:
                self._sums = self._ring_scalars.sum(axis=0)


def _widen(M: np.ndarray, L: int) -> np.ndarray:
    if M.shape[1] == L:
        return M
    out = np.zeros((M.shape[0], L), dtype=M.dtype)
    out[:, : M.shape[1]] = M
    return out


_SHOWN = (("subset_accuracy", "acc"), ("hamming_loss", "ham"), ("example_f1", "exF1"),
          ("micro_f1", "miF1"), ("macro_f1", "maF1"))


def _f(v: float | None) -> str:
    return "  nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


class LiveDisplay:
    """A refreshing status line on a terminal, or a log line every ``log_every`` seconds otherwise."""

    def __init__(self, out: TextIO | None = None, *, tty: bool | None = None, refresh: float = 0.5,
                 log_every: float = 5.0):
        self.out = out or sys.stderr
        self.tty = self.out.isatty() if tty is None else tty
        self.interval = refresh if self.tty else log_every
        self._last = 0.0
        self._width = 0

    def line(self, stats: dict, cumulative: dict, windowed: dict) -> str:
        parts = [f"msgs {stats.get('messages', 0):,}", f"inst {stats.get('instances', 0):,}",
                 f"{stats.get('rate', 0.0):,.0f}/s"]
        parts.append("cum " + " ".join(f"{short} {_f(cumulative.get(name))}" for name, short in _SHOWN))
        parts.append("win " + " ".join(f"{short} {_f(windowed.get(name))}" for name, short in _SHOWN[:3]))
        parts.append(f"dlq {stats.get('dead_letters', 0)}")
        if stats.get("evicted"):
            parts.append(f"evicted {stats['evicted']}")
        if stats.get("pending"):
            parts.append(f"pending {stats['pending']}")
        parts.append(f"ckpt {stats.get('checkpoints', 0)}")
        return " | ".join(parts)

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.interval

    def show(self, stats: dict, cumulative: dict, windowed: dict, *, force: bool = False) -> None:
        if not force and not self.due():
            return
        self._last = time.monotonic()
        text = self.line(stats, cumulative, windowed)
        if self.tty:
            pad = max(0, self._width - len(text))
            self.out.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.out.write(f"[streamml run] {text}\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty and self._width:
            self.out.write("\n")
            self.out.flush()

    def log(self, message: str) -> None:
        """A message on a line of its own (does not break the refreshing line)."""
        if self.tty and self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.out.write(f"[streamml run] {message}\n")
        self.out.flush()
