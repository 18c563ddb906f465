"""What ran when, outside the audio callback (recording flushes, OSC replies, dream windows, classification,
compiling), kept so that an xrun can be matched with what was going on at that moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

KINDS = ("record_flush", "osc_message", "osc_status", "window_copy", "dream_window", "classify", "compile", "gc")


class ActivityLog:
    """The latest ``size`` intervals ``(kind, start, end)`` in ``time.monotonic()`` seconds (all processes share
    that clock on one machine). Written by ordinary threads only, never by the callback."""

    def __init__(self, size: int = 8192) -> None:
        self._rows = np.zeros((size, 3), np.float64)
        self._count = 0
        self._lock = threading.Lock()

    def add(self, kind: str, start: float, end: float) -> None:
        code = KINDS.index(kind)
        with self._lock:
            self._rows[self._count % self._rows.shape[0]] = (code, start, end)
            self._count += 1

    @contextmanager
    def span(self, kind: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.add(kind, start, time.monotonic())

    def around(self, when: float, before: float, after: float = 0.0) -> dict[str, float]:
        """Kinds of the intervals that overlap ``[when - before, when + after]``, with their longest duration."""
        with self._lock:
            n = min(self._count, self._rows.shape[0])
            rows = self._rows[:n].copy()
        hits: dict[str, float] = {}
        for code, start, end in rows:
            if end >= when - before and start <= when + after:
                kind = KINDS[int(code)]
                hits[kind] = max(hits.get(kind, 0.0), round(end - start, 4))
        return hits
