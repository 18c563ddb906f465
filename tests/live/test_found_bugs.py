"""Bugs found reading the whole package (issue 11), each pinned by the guarantee it broke.

No audio hardware: the ring, the metrics and the controls are driven by hand, as the callback and the
OSC thread would drive them.
"""

from __future__ import annotations

import numpy as np
import pytest

from instrument.dream.params import DreamParams, class_target
from instrument.errors import DreamSoundError
from instrument.live.controls import Controls
from instrument.live.metrics import Metrics
from instrument.live.ringbuffer import RingBuffer
from instrument.live.targets import CAPTURE_SECONDS, capture_frames, input_ring_frames
from instrument.model.layout import WINDOW_SECONDS
from instrument.osc import namespace as ns


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


def test_peaks_are_reset_by_the_callback_not_by_the_reader() -> None:
    m = Metrics()
    m.note_peaks(0.5, 0.25)  # the callback's block
    snap = m.snapshot(reset_peaks=True)  # the status reader
    assert snap["input_peak"] == 0.5 and snap["output_peak"] == 0.25
    assert m.input_peak == 0.5 and m.output_peak == 0.25  # the reader wrote nothing the callback owns
    m.note_peaks(0.1, 0.05)  # the next block: the callback does the reset asked for, then holds its maxima
    assert m.input_peak == 0.1 and m.output_peak == 0.05
    m.note_peaks(0.2, 0.01)
    assert m.snapshot(reset_peaks=False)["input_peak"] == 0.2


def test_a_failing_listener_is_reported_as_a_listener_error_not_a_worker_error() -> None:
    controls = Controls()

    def broken(name: str, value: object) -> None:
        raise RuntimeError("gone")

    controls.add_listener(broken)
    assert controls.set("mix", 0.5) == 0.5
    m = controls.metrics(reset_peaks=False)
    assert m["listener_errors"] == 1 and m["worker_errors"] == 0
    assert controls.metrics_source.last_worker_error == ""
    assert "listener for mix: RuntimeError: gone" in controls.metrics_source.last_listener_error


@pytest.mark.parametrize("value", [None, "auto", "none", "AUTO", "", -1, "-1", -1.0, " -1 "])
def test_every_spelling_of_auto_is_auto(value: object) -> None:
    assert class_target(value) is None
    assert DreamParams(target_class=value).target_class is None
    assert Controls().set("target_class", value) is None


@pytest.mark.parametrize(("value", "expected"), [(3, 3), (3.0, 3), ("3", 3), (" 7 ", 7), ("Dog", "Dog"),
                                                  ("dog bark", "dog bark")])
def test_indices_and_names_are_read_the_same_everywhere(value: object, expected: object) -> None:
    assert class_target(value) == expected
    assert Controls().set("target_class", value) == expected


def test_nonsense_class_targets_are_refused_with_what_is_allowed() -> None:
    for value in (True, -2, [1]):
        with pytest.raises(DreamSoundError, match="target_class"):
            DreamParams(target_class=value)


def test_a_starting_target_of_minus_one_is_reported_as_auto_on_osc() -> None:
    controls = Controls(params=DreamParams(target_class=-1))
    parameter = ns.BY_PATH["/dream/target"]

    def resolve(target: object) -> tuple[int, str]:
        raise AssertionError(f"auto must not be resolved as a class: {target!r}")

    assert ns.reply(parameter, controls.get("target_class"), resolve) == [-1, "auto"]
    for args in (["-1"], [-1.0], ["auto"]):
        assert controls.set("target_class", ns.parse(parameter, args)) is None
