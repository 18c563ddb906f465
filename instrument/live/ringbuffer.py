"""A preallocated single-writer ring buffer of audio frames, addressed by absolute frame counts.

One thread (the audio callback) writes; any number of readers copy frames out by
absolute position. No locks: the writer publishes ``written`` after copying, and
a reader checks afterwards that the frames it copied were not overwritten.
"""

from __future__ import annotations

import numpy as np


def touched_zeros(shape: int | tuple[int, ...]) -> np.ndarray:
    """A float32 zero array whose pages are already mapped (``np.zeros`` maps them lazily, on first write).

    A first-touch page fault inside the audio callback can cost milliseconds (in a VM especially)."""
    array = np.empty(shape, np.float32)
    array.fill(0.0)
    return array


class RingBuffer:
    def __init__(self, capacity: int, channels: int = 1) -> None:
        if capacity < 1 or channels < 1:
            raise ValueError("capacity and channels must be >= 1")
        self.capacity = int(capacity)
        self.channels = int(channels)
        shape = (self.capacity,) if channels == 1 else (self.capacity, self.channels)
        self.data = touched_zeros(shape)
        self.written = 0  # absolute number of frames written so far

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (frames, or frames x channels); called by the one writer. No allocation."""
        n = block.shape[0]
        if n > self.capacity:
            block = block[n - self.capacity :]
            self.written += n - self.capacity
            n = self.capacity
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        self.data[start : start + first] = block[:first]
        if first < n:
            self.data[: n - first] = block[first:]
        self.written += n

    def read(self, start: int, out: np.ndarray) -> bool:
        """Copy frames ``[start, start + len(out))`` into ``out``; False if they are not (or no longer) there."""
        n = out.shape[0]
        if n > self.capacity or start < 0 or start + n > self.written or start < self.written - self.capacity:
            return False
        begin = start % self.capacity
        first = min(n, self.capacity - begin)
        out[:first] = self.data[begin : begin + first]
        if first < n:
            out[first:] = self.data[: n - first]
        # The writer may have lapped us while we copied: then the copy is torn.
        return start >= self.written - self.capacity

    def read_latest(self, out: np.ndarray) -> int:
        """Copy the newest ``len(out)`` frames (zeros before the start); returns the end frame (exclusive)."""
        n = out.shape[0]
        for _ in range(8):
            end = self.written
            if end >= n:
                if self.read(end - n, out):
                    return end
            else:
                out[: n - end] = 0
                if end == 0 or self.read(0, out[n - end :]):
                    return end
        raise RuntimeError("ring buffer overwritten while reading (capacity too small)")
