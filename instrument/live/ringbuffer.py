"""A preallocated single-writer ring buffer of audio frames, addressed by absolute frame counts.

One writer (the audio callback) appends; any number of readers, in this process
or another one (over shared memory, see ``shm``), copy frames out by absolute
position. No locks: the writer announces the end of the block it is about to
store (``claimed``), stores the frames, then publishes the frame counter; a reader
copies only published frames and checks afterwards, against ``claimed``, that the
writer did not start overwriting them meanwhile (a torn read is reported, never
returned as good).
"""

from __future__ import annotations

import numpy as np


def touched_zeros(shape: int | tuple[int, ...]) -> np.ndarray:
    """A float32 zero array whose pages are already mapped (``np.zeros`` maps them lazily, on first write).

    A first-touch page fault inside the audio callback can cost milliseconds (in a VM especially)."""
    array = np.empty(shape, np.float32)
    array.fill(0.0)
    return array


COUNTER_SLOTS = 2  # published frame count, claimed frame count


class RingBuffer:
    def __init__(
        self,
        capacity: int,
        channels: int = 1,
        *,
        data: np.ndarray | None = None,
        counter: np.ndarray | None = None,
    ) -> None:
        """``data`` and ``counter`` (two int64: published, claimed) may be views of shared memory."""
        if capacity < 1 or channels < 1:
            raise ValueError("capacity and channels must be >= 1")
        self.capacity = int(capacity)
        self.channels = int(channels)
        shape = (self.capacity,) if channels == 1 else (self.capacity, self.channels)
        self.data = touched_zeros(shape) if data is None else data
        if self.data.shape != shape or self.data.dtype != np.float32:
            raise ValueError(f"ring data must be float32 {shape}, got {self.data.dtype} {self.data.shape}")
        # [0]: frames written so far (published after the frames); [1]: frames claimed by the write under way
        # (published before its frames). Aligned int64s, so a reader in another process sees either the old or
        # the new count, never a mix.
        self._count = np.zeros(COUNTER_SLOTS, np.int64) if counter is None else counter
        if self._count.shape != (COUNTER_SLOTS,) or self._count.dtype != np.int64:
            shape = self._count.shape
            raise ValueError(f"ring counter must be int64 ({COUNTER_SLOTS},), got {self._count.dtype} {shape}")

    @property
    def written(self) -> int:
        return int(self._count[0])

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (frames, or frames x channels); called by the one writer. No allocation."""
        n = block.shape[0]
        written = int(self._count[0])
        if n > self.capacity:
            block = block[n - self.capacity :]
            written += n - self.capacity
            n = self.capacity
        self._count[1] = written + n  # before the frames: a reader of the frames about to go sees it
        start = written % self.capacity
        first = min(n, self.capacity - start)
        self.data[start : start + first] = block[:first]
        if first < n:
            self.data[: n - first] = block[first:]
        self._count[0] = written + n  # after the frames: a reader never counts frames not yet stored

    def read(self, start: int, out: np.ndarray) -> bool:
        """Copy frames ``[start, start + len(out))`` into ``out``; False if they are not (or no longer) there."""
        n = out.shape[0]
        written = int(self._count[0])
        if n > self.capacity or start < 0 or start + n > written or start < written - self.capacity:
            return False
        begin = start % self.capacity
        first = min(n, self.capacity - begin)
        out[:first] = self.data[begin : begin + first]
        if first < n:
            out[first:] = self.data[: n - first]
        # The writer may have started overwriting what we copied (it claims before it stores): then it is torn.
        return start >= int(self._count[1]) - self.capacity

    def read_latest(self, out: np.ndarray) -> int:
        """Copy the newest ``len(out)`` frames (zeros before the start); returns the end frame (exclusive)."""
        n = out.shape[0]
        for _ in range(8):
            end = int(self._count[0])
            if end >= n:
                if self.read(end - n, out):
                    return end
            else:
                out[: n - end] = 0
                if end == 0 or self.read(0, out[n - end :]):
                    return end
        raise RuntimeError("ring buffer overwritten while reading (capacity too small)")
