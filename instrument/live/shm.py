"""Shared memory between the audio process and the dream process: the input ring, the played-output ring
and the dreamed windows coming back, as numpy views of one ``multiprocessing.shared_memory`` segment.

The audio process creates (and finally unlinks) the segment; the dream process attaches by name. Nothing
here locks: each array has one writer. Rings publish a frame counter after their frames (``RingBuffer``);
window slots use a sequence number (a seqlock): odd while the slot is written, a new even number once it
is complete, checked again after a copy so that a torn read is detected and dropped. Stores reach the
other process in program order on x86 (TSO); on weaker memory models the pipe message that announces a
window (a system call) orders its data before the reader's copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

from instrument.live.ringbuffer import COUNTER_SLOTS, RingBuffer

ALIGN = 64  # a cache line: counters never share one with samples


@dataclass(frozen=True)
class SegmentLayout:
    """Sizes of everything in the segment (sent to the dream process, which rebuilds the same views)."""

    input_frames: int
    output_frames: int
    window: int
    slots: int = 3

    def arrays(self) -> list[tuple[str, tuple[int, ...], type]]:
        return [
            ("input_count", (COUNTER_SLOTS,), np.int64),
            ("output_count", (COUNTER_SLOTS,), np.int64),
            ("window_seq", (self.slots,), np.int64),
            ("window_meta", (self.slots, 3), np.int64),  # capture_end, dreamed, iterations
            ("input", (self.input_frames,), np.float32),
            ("output", (self.output_frames,), np.float32),
            ("windows", (self.slots, self.window), np.float32),
        ]

    def offsets(self) -> tuple[dict[str, int], int]:
        offsets, size = {}, 0
        for name, shape, dtype in self.arrays():
            offsets[name] = size
            size += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // ALIGN) * ALIGN
        return offsets, size


class SharedState:
    """The segment and its views: ``input_ring``, ``output_ring`` and ``windows`` (``WindowSlots``)."""

    def __init__(self, layout: SegmentLayout, name: str | None = None) -> None:
        self.layout = layout
        offsets, size = layout.offsets()
        self.owner = name is None
        self._shm = shared_memory.SharedMemory(name=name, create=self.owner, size=size if self.owner else 0)
        # Python 3.11 registers an attached segment with the resource tracker too; a "spawn" child shares
        # its parent's tracker, whose set already holds the name, so the creator's unlink settles it.
        self.name = self._shm.name
        views = {}
        for key, shape, dtype in layout.arrays():
            count = int(np.prod(shape))
            views[key] = np.ndarray(shape, dtype, buffer=self._shm.buf, offset=offsets[key])
            if self.owner:
                views[key].reshape(count)[:] = 0  # touched now: no page fault later in the callback
        self._views = views
        self.input_ring = RingBuffer(layout.input_frames, data=views["input"], counter=views["input_count"])
        self.output_ring = RingBuffer(layout.output_frames, data=views["output"], counter=views["output_count"])
        self.windows = WindowSlots(views["windows"], views["window_seq"], views["window_meta"])

    def close(self) -> None:
        """Drop the views, detach, and (creator) remove the segment. Only once nothing reads or writes."""
        self.input_ring = self.output_ring = self.windows = None  # type: ignore[assignment]
        self._views.clear()
        try:
            self._shm.close()
        except BufferError:  # a view still referenced somewhere: leave the mapping to the process's end
            pass
        if self.owner:
            try:
                self._shm.unlink()
            except FileNotFoundError:
                pass


@dataclass(frozen=True)
class WindowInfo:
    capture_end: int  # absolute input frame just after the window's newest sample
    dreamed: bool  # False: published undreamed (iterations 0 / pass-through)
    iterations: int


class WindowSlots:
    """Dreamed windows at the device rate, written by the dream process, copied out by the audio process.

    A window is what the grain player plays as it is: with ``dream.band: full`` the input's own frames plus
    the dream's change resampled (``instrument.live.worker``), with ``16k`` the 16 kHz dream resampled."""

    def __init__(self, data: np.ndarray, seq: np.ndarray, meta: np.ndarray) -> None:
        self.data, self.seq, self.meta = data, seq, meta
        self._next = 0  # writer side: the slot written next (round robin)
        self._count = 0

    # --- dream process -----------------------------------------------------------------
    def publish(self, window: np.ndarray, info: WindowInfo) -> tuple[int, int]:
        """Write one window; returns ``(slot, seq)`` to announce to the reader."""
        slot = self._next
        self._next = (slot + 1) % self.seq.shape[0]
        self._count += 1
        seq = 2 * self._count
        self.seq[slot] = seq - 1  # odd: being written
        self.data[slot, :] = window
        self.meta[slot, 0] = info.capture_end
        self.meta[slot, 1] = int(info.dreamed)
        self.meta[slot, 2] = info.iterations
        self.seq[slot] = seq  # complete
        return slot, seq

    # --- audio process -----------------------------------------------------------------
    def read_into(self, slot: int, seq: int, out: np.ndarray) -> WindowInfo | None:
        """Copy the window announced as ``(slot, seq)`` into ``out``; None if it was overwritten (torn/stale)."""
        if seq % 2 or not 0 <= slot < self.seq.shape[0] or int(self.seq[slot]) != seq:  # odd: mid-write
            return None
        np.copyto(out, self.data[slot])
        capture_end, dreamed, iterations = (int(v) for v in self.meta[slot])
        if int(self.seq[slot]) != seq:
            return None
        return WindowInfo(capture_end, bool(dreamed), iterations)
