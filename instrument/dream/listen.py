"""What a listener's classifier hears in a signal: class scores of its windows on a fixed grid.

The grid (default every 0.1 s, starting at 0.05 s) is independent of where the
dream put its windows, so a summary or a test built on it measures the sound
that is played, not the framing that was optimized.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from instrument.model.frontend import SAMPLE_RATE, WINDOW_SAMPLES

HOP_SECONDS = 0.1
FIRST_SECONDS = 0.05
_BATCH = 64


@dataclass
class ClassTrack:
    times: np.ndarray  # window starts, seconds
    scores: np.ndarray  # [windows, classes]

    def top(self, n: int = 3) -> np.ndarray:
        """The ``n`` classes with the highest mean score over the track."""
        return np.argsort(-self.scores.mean(axis=0), kind="stable")[:n]


def grid(length: int, hop_s: float = HOP_SECONDS, first_s: float = FIRST_SECONDS) -> np.ndarray:
    """Window starts (samples) on the grid that fit in ``length`` samples (at least one, at 0)."""
    starts = np.arange(round(first_s * SAMPLE_RATE), length - WINDOW_SAMPLES + 1, round(hop_s * SAMPLE_RATE))
    return starts if starts.size else np.zeros(1, int)


def class_track(
    dreamer, signal_16k: np.ndarray, hop_s: float = HOP_SECONDS, first_s: float = FIRST_SECONDS,
    stop: threading.Event | None = None,
) -> ClassTrack:
    """Scores of mono 16 kHz ``signal_16k`` on the grid (a signal shorter than a window is zero-padded).

    ``stop`` set: the windows scored so far, no more (within one batch of 64)."""
    x = np.asarray(signal_16k, np.float32)
    if x.size < WINDOW_SAMPLES:
        x = np.pad(x, (0, WINDOW_SAMPLES - x.size))
    starts = grid(x.size, hop_s, first_s)
    batches = []
    for b in range(0, starts.size, _BATCH):
        if stop is not None and stop.is_set():
            break
        batches.append(dreamer.scores(np.stack([x[s : s + WINDOW_SAMPLES] for s in starts[b : b + _BATCH]])))
    scores = np.concatenate(batches) if batches else np.zeros((0, 0), np.float32)
    return ClassTrack(starts[: len(scores)] / SAMPLE_RATE, scores)
