"""Offline render: any file, windows with overlap, N iterations each, joined by overlap-add.

The input (any rate, any channel count) is resampled to 16 kHz per channel and
cut into 15600-sample windows every ``hop = 15600 * (1 - overlap)`` samples.
Each window is dreamed for N successive iterations (windows run together in
batches). Dreamed windows are weighted by a periodic Hann window normalized so
the weights sum to exactly one at every sample, added, and resampled back: the
output has the input's rate, channels and length, and no joins can click.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from instrument.audiofile import resample
from instrument.dream.dreamer import Dreamer
from instrument.dream.params import DreamParams
from instrument.model.frontend import SAMPLE_RATE, WINDOW_SAMPLES


@dataclass
class RenderResult:
    audio: np.ndarray  # frames x channels, input rate
    summary: dict
    first_window: dict = field(default_factory=dict)  # arrays for the plots


def _window_starts(length: int, hop: int) -> np.ndarray:
    """Starts (in the padded signal) so every real sample lies under full weight."""
    pad = WINDOW_SAMPLES - hop
    count = int(np.ceil((length + pad) / hop))
    return np.arange(count) * hop


def count_steps(frames: int, rate: int, channels: int, overlap: float, batch: int, iterations: int) -> int:
    """How many times ``render`` will call ``progress`` (batches x iterations)."""
    hop = max(1, round(WINDOW_SAMPLES * (1.0 - overlap)))
    length = int(np.ceil(frames * SAMPLE_RATE / rate))
    windows = channels * len(_window_starts(length, hop))
    return -(-windows // batch) * iterations


def _synthesis_weights(hop: int) -> np.ndarray:
    if hop >= WINDOW_SAMPLES:
        return np.ones(WINDOW_SAMPLES, np.float32)
    n = np.arange(WINDOW_SAMPLES)
    return (0.5 - 0.5 * np.cos(2 * np.pi * (n + 0.5) / WINDOW_SAMPLES)).astype(np.float32)


def render(
    dreamer: Dreamer,
    audio: np.ndarray,
    rate: int,
    params: DreamParams,
    *,
    overlap: float = 0.5,
    batch: int = 8,
    progress: Callable[[int], None] | None = None,
) -> RenderResult:
    """Dream ``audio`` (frames x channels at ``rate``); ``progress(n)`` after n iterations of a batch."""
    dreamer.check(params)
    started = time.perf_counter()
    frames, channels = audio.shape
    hop = max(1, round(WINDOW_SAMPLES * (1.0 - overlap)))
    signal = resample(audio, rate, SAMPLE_RATE)
    if signal.ndim == 1:
        signal = signal[:, None]
    length = signal.shape[0]
    pad = WINDOW_SAMPLES - hop
    starts = _window_starts(length, hop)
    total = int(starts[-1]) + WINDOW_SAMPLES
    padded = np.zeros((total, channels), np.float32)
    padded[pad : pad + length] = signal
    windows = np.stack([padded[s : s + WINDOW_SAMPLES, c] for c in range(channels) for s in starts])

    weights = _synthesis_weights(hop)
    coverage = np.zeros(total, np.float32)
    for s in starts:
        coverage[s : s + WINDOW_SAMPLES] += weights
    before = dreamer.scores(windows)
    dreamed = np.empty_like(windows)
    losses = np.zeros((len(windows), params.iterations), np.float32)
    first: dict = {}
    for b in range(0, len(windows), batch):
        x = windows[b : b + batch]
        for i in range(params.iterations):
            result = dreamer.iterate(x, params)
            losses[b : b + len(x), i] = result.loss.numpy()
            if b == 0 and i == params.iterations - 1:
                first = {"gradient": result.gradient.numpy()[0]}
            x = result.audio
            if progress:
                progress(1)
        dreamed[b : b + len(x)] = np.asarray(x)
    after = dreamer.scores(dreamed)

    out = np.zeros((total, channels), np.float32)
    for index, window in enumerate(dreamed):
        channel, position = divmod(index, len(starts))
        s = starts[position]
        out[s : s + WINDOW_SAMPLES, channel] += window * weights
    out /= np.maximum(coverage, 1e-6)[:, None]
    out = resample(out[pad : pad + length], SAMPLE_RATE, rate)
    out = _fit_length(out if out.ndim == 2 else out[:, None], frames)
    first.update(input=windows[0], output=dreamed[0])
    summary = {
        "windows": len(windows),
        "channels": channels,
        "iterations": params.iterations,
        "seconds": round(time.perf_counter() - started, 3),
        "audio_seconds": round(frames / rate, 3),
        "params": {k: getattr(params, k) for k in DreamParams.field_names()},
        "per_window": [
            {
                "channel": index // len(starts),
                "start_s": round(float(starts[index % len(starts)] - pad) / SAMPLE_RATE, 3),
                "top_before": dreamer.top(before[index], 1)[0],
                "top_after": dreamer.top(after[index], 1)[0],
                "loss": [round(float(v), 6) for v in losses[index]],
            }
            for index in range(len(windows))
        ],
    }
    summary["realtime_factor"] = round(summary["audio_seconds"] / max(summary["seconds"], 1e-9), 2)
    return RenderResult(np.clip(out, -1.0, 1.0), summary, first)


def _fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    if audio.shape[0] >= frames:
        return audio[:frames]
    return np.pad(audio, ((0, frames - audio.shape[0]), (0, 0)))
