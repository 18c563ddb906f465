"""Where a long signal is cut into buffers, and how the dreamed buffers are joined.

A signal of ``total`` samples is split at boundaries (region changes in a
replay, and at most every ``chunk`` samples) into pieces. Each piece is dreamed
in a buffer that reaches one window (``context``) beyond it on both sides, so
the samples at its edges lie under as many windows as any other and are dreamed
equally. The pieces are joined with complementary ``sin^2``/``cos^2`` crossfades
centred on the boundaries: the weights sum to exactly one at every sample, so
with nothing dreamed the join gives back the input.

Buffer lengths are rounded up to ``quantum`` samples (silence after the signal),
so pieces of nearly equal length share one compiled function.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from instrument.model.frontend import WINDOW_SAMPLES

QUANTUM = 8000  # 0.5 s at 16 kHz


@dataclass(frozen=True)
class Chunk:
    """One buffer to dream: signal samples ``[buffer_start, buffer_start + length)`` (zeros outside the signal)."""

    region: int  # which region (parameter set) it belongs to
    index: int  # its number within the region
    lo: int  # the samples it contributes to the output: [lo, hi) of the signal
    hi: int
    fade_in: int  # crossfade half-widths at lo and hi (0 at the signal's ends)
    fade_out: int
    buffer_start: int
    length: int
    first_offset: int  # window offsets allowed, in buffer coordinates
    last_offset: int


def split_region(start: int, end: int, chunk: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut into equal parts of at most ``chunk`` samples."""
    count = max(1, int(np.ceil((end - start) / chunk)))
    edges = np.linspace(start, end, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def plan(
    regions: list[tuple[int, int]],
    total: int,
    chunk: int,
    crossfade: int,
    context: int = WINDOW_SAMPLES,
    quantum: int = QUANTUM,
) -> list[Chunk]:
    """Chunks for contiguous ``regions`` covering ``[0, total)``."""
    parts = [(r, a, b) for r, (start, end) in enumerate(regions) for a, b in split_region(start, end, chunk)]
    halves = [0]
    for (_, a, b), (_, c, d) in itertools.pairwise(parts):
        # Half a crossfade on each side of the boundary, never more than half of either part.
        halves.append(int(min(crossfade // 2, (b - a) // 2, (d - c) // 2)))
    halves.append(0)
    chunks, counters = [], {}
    half_window = WINDOW_SAMPLES // 2
    for i, (region, a, b) in enumerate(parts):
        lo, hi = a - halves[i], b + halves[i + 1]
        buffer_start = lo - context
        needed = (hi + context) - buffer_start
        length = int(np.ceil(needed / quantum) * quantum)
        # Windows reach half a window beyond the contributed span (and beyond the signal's ends, so
        # its first and last samples lie under as many windows as the rest), never past the buffer.
        first = max(lo - half_window, -half_window) - buffer_start
        last = min(hi - half_window, total - half_window) - buffer_start
        first = int(np.clip(first, 0, length - WINDOW_SAMPLES))
        last = int(np.clip(max(last, first), first, length - WINDOW_SAMPLES))
        counters[region] = counters.get(region, -1) + 1
        chunks.append(Chunk(region, counters[region], lo, hi, halves[i], halves[i + 1], buffer_start, length,
                            first, last))
    return chunks


def cut(signal: np.ndarray, chunk: Chunk) -> np.ndarray:
    """The chunk's buffer from ``signal`` ``[channels, total]``: ``[channels, length]``, zeros outside."""
    channels, total = signal.shape
    out = np.zeros((channels, chunk.length), np.float32)
    a, b = max(chunk.buffer_start, 0), min(chunk.buffer_start + chunk.length, total)
    if b > a:
        out[:, a - chunk.buffer_start : b - chunk.buffer_start] = signal[:, a:b]
    return out


def signal_span(chunk: Chunk, total: int) -> tuple[int, int]:
    """``[first, end)`` of the chunk's buffer that holds the signal (the rest is zero context or padding):
    the dream's levels, std and peak are taken there only."""
    first = max(0, -chunk.buffer_start)
    end = min(chunk.length, total - chunk.buffer_start)
    return first, max(end, first + 1)


def weights(chunk: Chunk) -> np.ndarray:
    """Crossfade weights over ``[lo, hi)``: 1 inside, sin^2 up over ``2 * fade_in``,
    cos^2 down over ``2 * fade_out``."""
    w = np.ones(chunk.hi - chunk.lo, np.float64)
    if chunk.fade_in:
        n = 2 * chunk.fade_in
        w[:n] = np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2
    if chunk.fade_out:
        n = 2 * chunk.fade_out
        w[-n:] *= np.cos(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2
    return w


def add_into(out: np.ndarray, dreamed: np.ndarray, chunk: Chunk) -> None:
    """Add the chunk's weighted contribution (``dreamed`` ``[channels, length]``) into ``out`` ``[channels, total]``."""
    start = chunk.lo - chunk.buffer_start
    out[:, chunk.lo : chunk.hi] += dreamed[:, start : start + chunk.hi - chunk.lo] * weights(chunk)
