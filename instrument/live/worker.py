"""The dream worker thread: newest window -> 16 kHz -> successive iterations -> published window at the device rate.

It aims each window at a grain start (every ``hop`` frames): the window ends
``budget`` x hop frames before that start (on the hop grid, so windows overlap
on the same input and join seamlessly), and it iterates with the parameters
current at each iteration until ``iterations`` are done or the start is near,
then publishes. What it cannot keep up with is dropped; the output holds meanwhile.
With ``freeze`` it keeps iterating on its own last result instead of new input.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import numpy as np

from instrument.audiofile import resample
from instrument.dream.params import DreamParams
from instrument.live.controls import Controls
from instrument.live.metrics import Metrics
from instrument.live.output import GrainPlayer
from instrument.live.ringbuffer import RingBuffer
from instrument.model.frontend import SAMPLE_RATE, WINDOW_SAMPLES


class Iterator(Protocol):
    def iterate(self, x: np.ndarray, params: DreamParams) -> Any: ...  # a result with .audio


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad ``x`` to ``n`` samples."""
    if x.shape[0] == n:
        return x
    if x.shape[0] > n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - x.shape[0], x.dtype)])


class DreamWorker(threading.Thread):
    def __init__(
        self,
        *,
        dreamer: Iterator,
        controls: Controls,
        ring: RingBuffer,
        player: GrainPlayer,
        metrics: Metrics,
        samplerate: int,
        budget: float = 0.9,
        margin_seconds: float | None = None,
    ) -> None:
        super().__init__(name="dream-worker", daemon=True)
        self.dreamer = dreamer
        self.controls = controls
        self.ring = ring
        self.player = player
        self.metrics = metrics
        self.samplerate = samplerate
        self.window = player.window
        self.hop = player.hop
        self.lead = int(budget * self.hop)  # capture this long before the grain start: the dreaming time
        # Publish this long before the grain start: two blocks of slack plus resampling.
        self.margin = margin_seconds if margin_seconds is not None else 0.015
        self._halt = threading.Event()
        self._capture = np.zeros(self.window, np.float32)
        self._frozen: np.ndarray | None = None
        self._last_boundary = 0
        self.error: BaseException | None = None

    def stop(self, timeout: float = 5.0) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(timeout)

    # --- timing ------------------------------------------------------------------------
    def _wait_for_frame(self, frame: int) -> bool:
        """Wait until the callback has processed ``frame``; False if stopped."""
        while not self._halt.is_set():
            remaining = frame - self.ring.written
            if remaining <= 0:
                return True
            self._halt.wait(min(remaining / self.samplerate, 0.05))
        return False

    def _next_boundary(self) -> int:
        """The grain start to dream for: the newest whose capture point has passed, or the next one.

        Windows end ``lead`` frames before their grain start, on the hop grid, so successive windows
        overlap on the same input samples and the overlap-add joins them seamlessly.
        """
        newest = (self.ring.written + self.lead) // self.hop * self.hop
        return max(newest, self._last_boundary + self.hop)

    # --- one window --------------------------------------------------------------------
    def dream_once(self, boundary: int) -> None:
        self._last_boundary = boundary
        capture_end = boundary - self.lead
        if not self._wait_for_frame(capture_end):
            return
        t0 = time.perf_counter()
        frame_now = self.ring.written
        deadline = t0 + (boundary - frame_now) / self.samplerate - self.margin
        freeze = self.controls.fast.freeze
        if freeze and self._frozen is not None:
            x16 = self._frozen  # keep deepening the same sound
            capture_end = frame_now
        else:
            start = capture_end - self.window
            if start < 0:  # the first window: silence before the stream's first frame
                self._capture[:-start] = 0.0
                self.ring.read(0, self._capture[-start:])
            elif not self.ring.read(start, self._capture):
                capture_end = self.ring.read_latest(self._capture)  # fell a whole ring behind: take the newest
            x16 = fit_length(resample(self._capture, self.samplerate, SAMPLE_RATE), WINDOW_SAMPLES)
        x = x16[None, :].astype(np.float32, copy=False)
        count = 0
        while not self._halt.is_set():
            params = self.controls.params  # current at each iteration
            if count >= params.iterations:
                break
            t_iter = time.perf_counter()
            if count and t_iter + self.metrics.iteration_seconds() > deadline:
                break
            x = self.dreamer.iterate(x, params).audio
            count += 1
            self.metrics.add_iteration(time.perf_counter() - t_iter)
            if t_iter > deadline:
                break
        y16 = np.asarray(x.numpy() if hasattr(x, "numpy") else x, np.float32)[0]
        if not np.all(np.isfinite(y16)):
            y16 = np.nan_to_num(y16, nan=0.0, posinf=0.0, neginf=0.0)
        self._frozen = y16.copy() if freeze else None
        if count or freeze:
            out = fit_length(resample(y16, SAMPLE_RATE, self.samplerate), self.window)
            np.clip(out, -1.0, 1.0, out=out)
        else:
            out = self._capture  # nothing to dream: pass the window through
        slot = self.player.free_slot()
        self.player.buffers[slot] = out
        self.player.publish(slot, capture_end, dreamed=count > 0)
        if self.ring.written > boundary:
            self.metrics.late_windows += 1
        self.metrics.add_cycle(time.perf_counter() - t0, count)
        self._classify(x16, y16)

    def _classify(self, dry: np.ndarray, dreamed: np.ndarray) -> None:
        """Top class of the input and of its dream, for the status (after publishing: off the output's clock)."""
        scores_of = getattr(self.dreamer, "scores", None)
        if scores_of is None:
            return
        scores = scores_of(np.stack([dry, dreamed]))
        top = scores.argmax(axis=1)
        m = self.metrics
        m.input_class, m.input_score = int(top[0]), float(scores[0, top[0]])
        m.output_class, m.output_score = int(top[1]), float(scores[1, top[1]])

    def run(self) -> None:
        self.metrics.worker_started = time.monotonic()
        while not self._halt.is_set():
            try:
                self.dream_once(self._next_boundary())
            except Exception as err:  # keep performing: report, wait a hop, go on
                self.metrics.worker_errors += 1
                self.metrics.last_worker_error = f"{type(err).__name__}: {err}"
                self.error = err
                self._halt.wait(self.hop / self.samplerate)
