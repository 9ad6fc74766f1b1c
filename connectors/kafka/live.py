"""The terminal display of a Kafka worker's live prequential metrics."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO



__all__ = ["LiveDisplay"]


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
