"""The metrics have one writer per field: the callback resets its own peaks when asked, and a failing
change listener is counted as a listener's error, not the dream engine's."""

from __future__ import annotations

from instrument.live.controls import Controls
from instrument.live.metrics import Metrics


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
