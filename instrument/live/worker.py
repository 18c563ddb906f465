"""The dream loop (run by the dream process): newest window -> 16 kHz -> successive iterations -> published.

It aims each window at a grain start (every ``hop`` frames): the window ends
``budget`` x hop frames before that start (on the hop grid, so windows overlap
on the same input and join seamlessly), and it iterates with the parameters
current at each iteration until ``iterations`` are done or the start is near,
then publishes the window at the device rate. What it cannot keep up with is
dropped; the output holds meanwhile. With ``freeze`` it keeps iterating on its
own last result instead of new input.

The loop knows nothing about processes: it reads an input ring, asks ``current()``
for the parameters, and hands results to ``publish`` and ``report``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from instrument.audiofile import resample
from instrument.dream.params import DreamParams
from instrument.live.ringbuffer import RingBuffer
from instrument.live.shm import WindowInfo
from instrument.model.layout import SAMPLE_RATE, WINDOW_SAMPLES


class Iterator(Protocol):
    def iterate(self, x: np.ndarray, params: DreamParams) -> Any: ...  # a result with .audio


@dataclass
class WindowReport:
    """One window's figures, sent to the audio process's metrics."""

    started: float  # time.monotonic() when the window was taken
    seconds: float  # the whole cycle: read, resample, iterations, publish
    iterations: int
    wanted: int  # params.iterations
    available: float  # seconds from the first iteration to the deadline
    iteration_seconds: list[float] = field(default_factory=list)
    late: bool = False  # published after the grain start it aimed at

    @property
    def allowed(self) -> int:
        """How many iterations the deadline allowed at this window's own iteration speed (capped by ``wanted``)."""
        if not self.iteration_seconds:
            return 0
        mean = sum(self.iteration_seconds) / len(self.iteration_seconds)
        return min(self.wanted, max(1, math.floor(self.available / mean))) if mean > 0 else self.wanted


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad ``x`` to ``n`` samples."""
    if x.shape[0] == n:
        return x
    if x.shape[0] > n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - x.shape[0], x.dtype)])


class DreamWorker:
    def __init__(
        self,
        *,
        dreamer: Iterator,
        current: Callable[[], tuple[DreamParams, bool]],
        ring: RingBuffer,
        publish: Callable[[np.ndarray, WindowInfo], None],
        report: Callable[[WindowReport], None],
        samplerate: int,
        window: int,
        hop: int,
        budget: float = 0.5,
        margin_seconds: float = 0.015,
        halt: threading.Event | None = None,
    ) -> None:
        self.dreamer = dreamer
        self.current = current  # (params, freeze), current at each call
        self.ring = ring
        self.publish = publish
        self.report = report
        self.samplerate = samplerate
        self.window = window
        self.hop = hop
        self.lead = int(budget * hop)  # capture this long before the grain start: the dreaming time
        self.margin = margin_seconds  # publish this long before the grain start: two blocks of slack
        self.halt = halt or threading.Event()
        self._capture = np.zeros(window, np.float32)
        self._frozen: np.ndarray | None = None
        self._last_boundary = 0

    # --- timing ------------------------------------------------------------------------
    def _wait_for_frame(self, frame: int) -> bool:
        """Wait until the callback has written ``frame``; False if stopped."""
        while not self.halt.is_set():
            remaining = frame - self.ring.written
            if remaining <= 0:
                return True
            self.halt.wait(min(remaining / self.samplerate, 0.05))
        return False

    def next_boundary(self) -> int:
        """The grain start to dream for: the newest whose capture point has passed, or the next one.

        Windows end ``lead`` frames before their grain start, on the hop grid, so successive windows
        overlap on the same input samples and the overlap-add joins them seamlessly.
        """
        newest = (self.ring.written + self.lead) // self.hop * self.hop
        # The first window is a whole one: a window reaching back before the stream's first frame would
        # play that silence as a dip right when the dreams fade in.
        first_whole = -(-(self.window + self.lead) // self.hop) * self.hop
        return max(newest, self._last_boundary + self.hop, first_whole)

    # --- one window --------------------------------------------------------------------
    def dream_once(self, boundary: int) -> None:
        self._last_boundary = boundary
        capture_end = boundary - self.lead
        if not self._wait_for_frame(capture_end):
            return
        started = time.monotonic()
        t0 = time.perf_counter()
        frame_now = self.ring.written
        deadline = t0 + (boundary - frame_now) / self.samplerate - self.margin
        params, freeze = self.current()
        if freeze and self._frozen is not None:
            x16 = self._frozen  # keep deepening the same sound
            capture_end = frame_now
        else:
            start = capture_end - self.window
            if not self.ring.read(start, self._capture):
                capture_end = self.ring.read_latest(self._capture)  # fell a whole ring behind: take the newest
            x16 = fit_length(resample(self._capture, self.samplerate, SAMPLE_RATE), WINDOW_SAMPLES)
        x = x16[None, :].astype(np.float32, copy=False)
        times: list[float] = []
        first = time.perf_counter()
        spent = 0.0
        while not self.halt.is_set():
            params, freeze = self.current()  # current at each iteration
            if len(times) >= params.iterations:
                break
            t_iter = time.perf_counter()
            # Stop when one more iteration, at this window's own pace, would miss the deadline.
            if times and t_iter + spent / len(times) > deadline:
                break
            x = self.dreamer.iterate(x, params).audio
            times.append(time.perf_counter() - t_iter)
            spent += times[-1]
            if t_iter > deadline:
                break
        count = len(times)
        y16 = np.asarray(x.numpy() if hasattr(x, "numpy") else x, np.float32)[0]
        if not np.all(np.isfinite(y16)):
            y16 = np.nan_to_num(y16, nan=0.0, posinf=0.0, neginf=0.0)
        self._frozen = y16.copy() if freeze else None
        if count or freeze:
            out = fit_length(resample(y16, SAMPLE_RATE, self.samplerate), self.window)
            np.clip(out, -1.0, 1.0, out=out)
        else:
            out = self._capture  # nothing to dream: pass the window through
        self.publish(out, WindowInfo(capture_end, count > 0, count))
        self.report(
            WindowReport(
                started=started,
                seconds=time.perf_counter() - t0,
                iterations=count,
                wanted=params.iterations,
                available=deadline - first,
                iteration_seconds=times,
                late=self.ring.written > boundary,
            )
        )

    def run(self, between: Callable[[], None] | None = None) -> None:
        """Dream window after window until ``halt``; ``between()`` runs after each (e.g. classification)."""
        while not self.halt.is_set():
            self.dream_once(self.next_boundary())
            if between is not None and not self.halt.is_set():
                between()
