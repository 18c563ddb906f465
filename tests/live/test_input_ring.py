"""The input ring, driven by hand as the callback (writer) and the dream process (reader) drive it: a read that
the writer overwrote under way is reported torn, and the longest capture a performer may ask for fits whole."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.errors import DreamSoundError
from instrument.live.ringbuffer import RingBuffer
from instrument.live.targets import CAPTURE_SECONDS, capture_frames, input_ring_frames
from instrument.model.layout import WINDOW_SECONDS


class _ReadDuringWrite(np.ndarray):
    """Ring storage that lets a reader in right after the writer stored part of a block (before it publishes)."""

    reader = None

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        if type(self).reader is not None:
            type(self).reader()


def test_a_read_of_the_oldest_frames_while_the_writer_overwrites_them_is_reported_torn() -> None:
    capacity, block = 64, 16
    storage = np.zeros(capacity, np.float32).view(_ReadDuringWrite)
    ring = RingBuffer(capacity, data=storage)
    for i in range(capacity // block):
        ring.write(np.full(block, i, np.float32))
    results: list[tuple[bool, np.ndarray]] = []

    def read_oldest() -> None:
        out = np.empty(block, np.float32)
        results.append((ring.read(ring.written - capacity, out), out.copy()))

    _ReadDuringWrite.reader = read_oldest
    try:
        ring.write(np.full(block, 99, np.float32))  # overwrites exactly the oldest block
    finally:
        _ReadDuringWrite.reader = None
    ok, copied = results[0]
    assert np.all(copied == 99)  # the reader did copy overwritten frames ...
    assert not ok  # ... and is told so


def test_reads_not_overlapping_the_write_under_way_stay_good() -> None:
    ring = RingBuffer(64)
    for i in range(8):
        ring.write(np.full(16, i, np.float32))
    out = np.empty(16, np.float32)
    assert ring.read(ring.written - 16, out) and np.all(out == 7)
    assert ring.read(ring.written - 48, out) and np.all(out == 5)


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_the_longest_capture_the_osc_range_allows_fits_the_input_ring_whole(rate: int) -> None:
    window = round(WINDOW_SECONDS * rate)
    ring = RingBuffer(input_ring_frames(rate, window))
    seconds = CAPTURE_SECONDS[1]
    block = 256
    total = int((seconds + 3) * rate) // block * block
    signal = np.arange(total, dtype=np.float32)
    for start in range(0, total, block):
        ring.write(signal[start : start + block])
    audio = np.zeros(capture_frames(seconds, rate, ring.capacity), np.float32)
    ring.read_latest(audio)
    assert audio.shape[0] == int(seconds * rate)
    np.testing.assert_array_equal(audio, signal[-audio.shape[0] :])


def test_a_capture_longer_than_the_ring_is_refused_not_cut() -> None:
    with pytest.raises(DreamSoundError, match="does not fit"):
        capture_frames(10.0, 48000, 48000 * 5)
