"""The real callback path at real time on a JACK dummy server: the engine in this process.

Each test runs the stream for a few seconds; the model is loaded once per session.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf

from instrument.errors import DreamSoundError
from instrument.live.engine import Engine

from .livehelpers import RATE, SPEECH_AND_CAT, WHISTLE, FakeDreamer, JackCapture, live_config, need, sine

CEILING = 10 ** (-1 / 20)


def run_engine(engine: Engine, seconds: float, capture_seconds: float | None = None) -> np.ndarray:
    engine.prepare()
    engine.start()
    capture = JackCapture(capture_seconds or seconds + 1)
    try:
        code = engine.wait(seconds)
    finally:
        out = capture.close()
        engine.stop()
    assert code == 0, engine.exit_reason
    return out


def test_portaudio_sees_the_jack_server(jack) -> None:
    import sounddevice as sd

    names = [api["name"] for api in sd.query_hostapis()]
    assert "JACK Audio Connection Kit" in names, names
    from instrument.live.devices import describe_devices

    assert "system (JACK Audio Connection Kit): 2 in, 2 out, 48000 Hz" in describe_devices()


def test_engine_dreams_a_real_recording_in_real_time(jack, live_dreamer) -> None:
    engine = Engine(live_config(input_file=str(need(SPEECH_AND_CAT)), input_loop=True), dreamer=live_dreamer)
    out = run_engine(engine, 4.0)
    m = engine.controls.metrics()
    assert m["xruns"] == 0 and m["callback_errors"] == 0 and m["worker_errors"] == 0, str(m)
    assert m["frames"] >= 4.0 * RATE
    assert m["windows"] >= 5 and m["iterations"] >= 5 * 20, m  # default: 20 iterations per window
    assert m["iterations_per_window"] == pytest.approx(20.0), m  # >= 16 at scores: the target
    assert m["first_dream"] is not None and m["first_dream"] < 15.0, m  # target: 15 s from start
    assert m["latency"] is not None and 0 < m["latency"] <= 0.6, m
    assert m["late_windows"] == 0, m
    assert out.size >= 3.5 * RATE
    assert np.all(np.isfinite(out)) and np.abs(out).max() <= CEILING + 1e-6
    dreamed = out[int(1.5 * RATE) :]
    assert np.sqrt(np.mean(dreamed**2)) > 0.01  # it sounds


def test_dry_mix_passes_the_input_through_sample_exact(jack) -> None:
    """mix 0: what reaches JACK is the input file itself (proves the callback path end to end)."""
    from instrument.live.inputfile import load_input_file

    path = str(need(WHISTLE))
    engine = Engine(live_config(input_file=path), dreamer=FakeDreamer())
    engine.controls.set("mix", 0.0)
    engine.controls.set("ceiling", 0.0)
    out = run_engine(engine, 2.0)
    source = load_input_file(path, RATE)
    # The capture client connects after the stream started: find where in the file it came in.
    piece = out[int(0.5 * RATE) : int(0.75 * RATE)]
    spectrum = np.fft.rfft(source, 2 * source.size) * np.conj(np.fft.rfft(piece, 2 * source.size))
    offset = int(np.argmax(np.fft.irfft(spectrum)[: source.size])) - int(0.5 * RATE)
    n = int(RATE)
    begin = max(0, -offset)
    np.testing.assert_allclose(out[begin : begin + n], source[begin + offset : begin + offset + n], atol=1e-6)


def test_late_worker_output_holds_smoothly_without_gaps_or_clicks(jack, tmp_path) -> None:
    """A worker slower than a hop: the last window is replayed, crossfaded with itself.

    The tone has whole cycles per hop (23400 frames), so every crossfade joins material in phase:
    a dip can only come from a missing grain (a gap), a jump only from a discontinuity (a click).
    """
    freq = 107 * RATE / 23400  # 219.49 Hz
    tone = sine(7.0, freq, 0.5)
    path = tmp_path / "tone.wav"
    sf.write(path, tone, RATE, subtype="FLOAT")
    engine = Engine(live_config(input_file=str(path)), dreamer=FakeDreamer(seconds=1.0))
    out = run_engine(engine, 5.0)
    m = engine.controls.metrics()
    assert m["xruns"] == 0, str(m)
    assert m["held_grains"] >= 2 and m["late_windows"] >= 2, str(m)
    steady = out[-int(1.5 * RATE) :]  # grains of windows captured once the tone filled the buffer (after 3.5 s)
    rms = np.sqrt(np.convolve(steady**2, np.ones(480) / 480, mode="valid"))
    assert rms.min() > 0.3, "a gap in the output"
    slope = 2 * np.pi * freq * 0.5 / RATE
    assert np.abs(np.diff(steady)).max() < 1.5 * slope, "a click in the output"


def test_limiter_and_gain_never_let_the_output_exceed_the_ceiling(jack) -> None:
    engine = Engine(live_config(input_file=str(need(WHISTLE)), input_loop=True), dreamer=FakeDreamer(scale=40.0))
    engine.controls.set("gain", 24.0)
    engine.controls.set("ceiling", -6.0)
    out = run_engine(engine, 2.5)
    assert np.all(np.isfinite(out))
    assert np.abs(out).max() <= 10 ** (-6 / 20) + 1e-6
    assert np.abs(out).max() > 0.4  # it is loud, just limited
    assert engine.controls.metrics()["xruns"] == 0


def test_freeze_keeps_deepening_the_same_buffer(jack) -> None:
    dreamer = FakeDreamer(add=0.001)  # every iteration adds 0.001: the mean counts iterations on one buffer
    engine = Engine(live_config(input_file=str(need(WHISTLE)), input_loop=True), dreamer=dreamer)
    engine.controls.set("iterations", 5)
    engine.prepare()
    engine.start()
    try:
        engine.wait(1.2)
        before = len(dreamer.means)
        engine.controls.set("freeze", True)
        engine.wait(2.0)
    finally:
        engine.stop()
    unfrozen, frozen = dreamer.means[: before - 5], dreamer.means[before + 5 :]
    assert max(unfrozen) < 0.0055 + 0.002  # each window starts again from the input (mean about 0)
    assert len(frozen) >= 15
    assert all(b > a for a, b in itertools.pairwise(frozen))  # one buffer, deeper and deeper
    assert frozen[-1] > 0.001 * (len(frozen) - 5)


def test_each_iteration_uses_the_parameters_current_at_that_iteration(jack) -> None:
    import dataclasses

    dreamer = FakeDreamer(seconds=0.02)
    settings = live_config(input_file=str(need(WHISTLE)), input_loop=True)
    settings = dataclasses.replace(settings, live=dataclasses.replace(settings.live, worker_budget=1.0))
    engine = Engine(settings, dreamer=dreamer)
    dreamer.metrics = engine.metrics
    engine.controls.set("iterations", 1000)  # as many as fit: the worker dreams almost all the time
    engine.prepare()
    engine.start()
    try:
        engine.wait(1.0)
        engine.controls.set("step", 0.5)
        engine.wait(0.6)
    finally:
        engine.stop()
    windows_old = {w for w, step in dreamer.steps if step == 0.01}
    windows_new = {w for w, step in dreamer.steps if step == 0.5}
    assert windows_old & windows_new, "the change waited for the next window"


def test_missing_device_and_unsupported_rate_and_channels_are_clear_errors(jack) -> None:
    with pytest.raises(DreamSoundError, match=r"no output device 'Nope'.*available output devices:\n.*system"):
        Engine(live_config(output_device="Nope"), dreamer=FakeDreamer()).open_devices()
    with pytest.raises(DreamSoundError, match=r"refuse 44100 Hz.*default rate is 48000 Hz"):
        Engine(live_config(samplerate=44100), dreamer=FakeDreamer()).open_devices()
    with pytest.raises(DreamSoundError, match=r"has 2 input channel\(s\); channel 3 asked for"):
        Engine(live_config(input_channels=(3,)), dreamer=FakeDreamer()).open_devices()
    with pytest.raises(DreamSoundError, match=r"has 2 output channel\(s\), 4 asked for"):
        Engine(live_config(output_channels=4), dreamer=FakeDreamer()).open_devices()


def test_full_disk_stops_recording_while_the_performance_goes_on(jack, tiny_disk) -> None:
    import dataclasses

    settings = live_config(input_file=str(need(WHISTLE)), input_loop=True)
    settings = dataclasses.replace(
        settings, record=dataclasses.replace(settings.record, enabled=True, dir=str(tiny_disk), flush_interval=0.1)
    )
    messages = []
    engine = Engine(settings, dreamer=FakeDreamer(), log=messages.append)
    engine.prepare()
    engine.start()
    try:
        # 256 KiB hold 0.68 s of the take (2 x float32 at 48 kHz): the disk is full after about a second.
        engine.wait(2.5)
        frames_at_error = engine.metrics.frames
        assert engine.stream is not None and engine.stream.active
        engine.wait(0.5)
    finally:
        engine.stop()
    m = engine.controls.metrics()
    errors = [msg for msg in messages if "recording stopped" in msg]
    assert errors and ("No space left on device" in errors[0] or "File too large" in errors[0]), messages
    assert m["record_error"] == errors[0] and not m["recording"] and engine.controls.get("record") is False
    assert m["xruns"] == 0 and m["frames"] >= frames_at_error + 0.4 * RATE, m


def test_recording_switches_on_and_off_at_run_time(jack, tmp_path) -> None:
    import dataclasses
    import json

    settings = live_config(input_file=str(need(WHISTLE)), input_loop=True)
    settings = dataclasses.replace(settings, record=dataclasses.replace(settings.record, dir=str(tmp_path)))
    engine = Engine(settings, dreamer=FakeDreamer())
    engine.prepare()
    engine.start()
    try:
        engine.wait(0.3)
        assert not list(tmp_path.iterdir())
        assert engine.controls.set("record", True) is True
        engine.wait(1.0)
        engine.controls.set("mix", 0.5)
        engine.wait(0.2)
        engine.controls.set("record", False)
        engine.wait(0.3)
    finally:
        engine.stop()
    (wav,) = tmp_path.glob("take-*.wav")
    (log,) = tmp_path.glob("take-*.params.jsonl")
    data, rate = sf.read(wav, dtype="float32")
    assert rate == RATE and abs(data.shape[0] - 1.2 * RATE) < 0.15 * RATE
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "stop"
    assert [(e["name"], e["value"]) for e in events[1:-1]] == [("mix", 0.5)]
    assert abs(events[1]["frame"] - RATE) < 0.1 * RATE


def test_a_finished_input_file_ends_the_run_after_the_last_dream(jack, tmp_path) -> None:
    path = tmp_path / "short.wav"
    sf.write(path, sine(0.5, 330.0, 0.3), RATE, subtype="FLOAT")
    engine = Engine(live_config(input_file=str(path)), dreamer=FakeDreamer())
    engine.prepare()
    engine.start()
    try:
        code = engine.wait(None)
    finally:
        engine.stop()
    seconds = engine.metrics.frames / RATE
    assert code == 0 and 0.5 + 1.4 < seconds < 0.5 + 1.8, seconds  # the file, then one window + hop of tail


def test_a_target_sound_captured_live_drives_target_mode(jack, live_dreamer) -> None:
    engine = Engine(live_config(input_file=str(need(WHISTLE)), input_loop=True), dreamer=live_dreamer)
    engine.prepare()
    engine.start()
    try:
        engine.wait(1.2)
        name = engine.capture_target("whistle-now", 0.8)
        assert engine.controls.set("target_sound", name) == name
        assert engine.controls.set("mode", "target") == "target"
        windows = engine.metrics.windows
        engine.wait(1.2)
    finally:
        engine.stop()
    m = engine.controls.metrics()
    assert m["worker_errors"] == 0 and m["windows"] >= windows + 2 and m["xruns"] == 0, str(m)
    with pytest.raises(DreamSoundError, match="target"):
        engine.controls.set("target_sound", None)  # target mode cannot lose its target
