"""The terminal's status line and the OSC change lines above it (no engine: formatting and timing only)."""

from __future__ import annotations

import threading

from instrument.dream.params import DreamParams
from instrument.live.controls import Controls
from instrument.live.metrics import status_line
from instrument.osc.service import ChangeLog

NAMES = {0: "Speech", 74: "Dog", 72: "Animal"}


def _metrics(**changes):
    m = Controls().metrics(reset_peaks=False)
    m.update(uptime=12.0, input_peak=0.1, output_peak=0.5, iterations_per_second=32.0, iterations_per_window=14.0,
             iterations_per_sample=21.5,
             latency=0.4, xruns=3, engine_state="dreaming", output_class=72, output_score=0.99)
    m.update(changes)
    return m


def test_the_status_line_labels_every_figure():
    line = status_line(_metrics(), DreamParams(mode="filter", layer="scores", target_class=74), NAMES.__getitem__)
    assert line == ("12s | mode filter | layer scores | target Dog - | out Animal 0.99 | in -20.0 out -6.0 dB"
                    " | it 32/s 14.0/hop 21.5/sample | lat 0.40s | xruns 3 | rec off")


def test_the_target_score_shows_once_the_dream_process_reports_it():
    line = status_line(_metrics(target_score=0.42, recording=True, recorded_seconds=61.2),
                       DreamParams(target_class=74), NAMES.__getitem__)
    assert "| target Dog 0.42 |" in line and line.endswith("| rec 61s")
    assert "| target auto - |" in status_line(_metrics(), DreamParams(), NAMES.__getitem__)


def test_before_the_model_is_loaded_and_in_target_mode():
    m = _metrics(engine_state="loading", output_class=-1, latency=None, input_peak=0.0)
    line = status_line(m, DreamParams(mode="target", target_sound="/x/sounds/bell.wav"))
    assert "| target sound bell.wav |" in line and "| out - |" in line and "| dreams loading |" in line
    assert "| lat - |" in line and "in -inf out" in line


def test_a_slider_sweep_prints_its_first_and_final_value_and_every_refusal_prints():
    lines: list[str] = []
    done = threading.Event()

    def log(line: str) -> None:
        lines.append(line)
        if line == "OSC /dream/threshold 0.99":
            done.set()

    changes = ChangeLog(log, interval=0.2)
    for i in range(100):
        changes(f"OSC /dream/threshold {i / 100:g}")
    changes("OSC refused /dream/threshold 1.5 from 127.0.0.1:5000: out of range")
    changes("OSC refused /dream/threshold 1.5 from 127.0.0.1:5000: out of range")
    changes("OSC /dream/mode 1 deepdream")
    assert done.wait(2.0), lines
    assert lines[0] == "OSC /dream/threshold 0"
    assert lines.count("OSC refused /dream/threshold 1.5 from 127.0.0.1:5000: out of range") == 2
    assert "OSC /dream/mode 1 deepdream" in lines
    assert len(lines) == 5, lines
