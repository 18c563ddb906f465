"""The dream engine in its own process: the audio process stays free of TensorFlow, and a dream process
that dies (SIGKILL) costs no sound: the audio and the recording go on, OSC clients hear about it, and a
new process dreams again."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys

import numpy as np
import soundfile as sf

from instrument.live.dreamproc import compile_order
from instrument.live.engine import Engine
from instrument.osc.service import OscService
from instrument.settings import OscSettings

from .livehelpers import (
    RATE,
    REPO,
    SPEECH_AND_CAT,
    WINDOW_SCHEDULE,
    fake,
    host_steal,
    live_config,
    need,
    sine,
    window_schedule,
    xrun_allowance,
)
from .test_engine_jack import READY_TIMEOUT, start_ready
from .test_osc_live import Client, free_udp_port

# Whole cycles per hop (23400 frames) and per capture-to-play delay (window + lead frames, lead from the
# default worker budget): grains, held replays and the dry input are all in phase, so a dip in level can
# only be a gap.
_HOP = 23400
_PERIOD = math.gcd(_HOP, 46800 + int(WINDOW_SCHEDULE["worker_budget"] * _HOP))
IN_PHASE_HZ = round(440 * _PERIOD / RATE) * RATE / _PERIOD


def test_compile_order_starts_with_what_is_used_and_compiles_each_part_once() -> None:
    from instrument.dream.params import MODES, DreamParams, FunctionKey

    params = DreamParams(mode="deepdream", layer="layer10", flip=True)
    shape = (23400, 4)
    order = compile_order(params, precompile=True, layers=("scores",), shape=shape)
    assert order[0] == FunctionKey.of(params)  # the current layer's gradient with the current mode, first
    gradients = [key.gradient_key(*shape) for key in order]
    assert gradients[: 2 * len(MODES)] == [("layer10", *shape)] * (2 * len(MODES))  # then the cheap modes
    assert gradients[2 * len(MODES) :] == [("scores", *shape)]  # then one gradient per further layer
    assert {(key.mode, key.flip) for key in order} == {(mode, flip) for mode in MODES for flip in (False, True)}
    assert len({key.mode_key(shape[0]) for key in order[: 2 * len(MODES)]}) == 2 * len(MODES)  # none twice
    assert compile_order(params, precompile=False) == [FunctionKey.of(params)]


def test_the_audio_process_never_imports_tensorflow(jack) -> None:
    """A real performance with the real model: the dream process dreams, the audio process has no TensorFlow."""
    need(SPEECH_AND_CAT)
    script = f"""
import json, sys
from instrument.live import devices
from tests.live.livehelpers import live_config
from instrument.live.engine import Engine
devices.refresh()
engine = Engine(live_config(input_file={str(SPEECH_AND_CAT)!r}, input_loop=True), log=lambda m: None)
engine.prepare()
engine.start()
ready = engine.supervisor.wait_ready({READY_TIMEOUT})
engine.wait(1.5)
engine.stop()
m = engine.controls.metrics()
print(json.dumps({{"ready": ready, "tensorflow": "tensorflow" in sys.modules, "windows": m["windows"],
                  "xruns": m["xruns"]}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=READY_TIMEOUT + 60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ready"] and report["windows"] >= 1, report
    assert report["tensorflow"] is False, report


def test_a_killed_dream_process_costs_no_sound_and_is_restarted(jack, tmp_path) -> None:
    tone = tmp_path / "tone.wav"
    sf.write(tone, sine(6.0, IN_PHASE_HZ, 0.5), RATE, subtype="FLOAT")
    settings = window_schedule(live_config(input_file=str(tone), input_loop=True))  # IN_PHASE_HZ's schedule
    settings = dataclasses.replace(
        settings, record=dataclasses.replace(settings.record, enabled=True, dir=str(tmp_path / "takes"))
    )
    messages: list[str] = []
    engine = Engine(settings, dreamer_factory=fake(), log=messages.append)
    service = OscService(engine, OscSettings(port=0, feedback_port=free_udp_port(), oscquery=False, status_rate=10))
    service.start()
    client = Client(service.server.address)
    try:
        start_ready(engine)
        client.send("/dream/get")  # now a client: it gets the status and the errors
        assert client.expect("/dream/status/engine", where=lambda p: p[0] == "dreaming")
        engine.wait(1.5)
        first_pid = engine.supervisor.pid
        frame_at_kill = engine.metrics.frames
        os.kill(first_pid, signal.SIGKILL)
        error = client.expect("/dream/error", timeout=10, where=lambda p: p[0] == "/dream/status/engine")
        assert "SIGKILL" in error[1] and "restarting" in error[1], error
        assert engine.supervisor.wait_ready(READY_TIMEOUT)
        assert engine.supervisor.pid != first_pid
        frame_at_restart = engine.metrics.frames
        windows_after_restart = engine.metrics.windows
        engine.wait(1.5)
        assert client.expect("/dream/status/engine", where=lambda p: p[0] == "dreaming")
    finally:
        client.close()
        engine.stop()
        service.stop()
    m = engine.controls.metrics()
    assert m["engine_restarts"] == 1 and m["windows"] > windows_after_restart, m
    assert any("SIGKILL" in line for line in messages), messages
    (wav,) = (tmp_path / "takes").glob("take-*.wav")
    take, _ = sf.read(wav, dtype="float32")
    assert engine.metrics.record_dropped_frames == 0 and abs(take.shape[0] - m["frames"]) < 0.2 * RATE, (take.shape, m)
    # The output channel around the kill and the restart: never a gap (level stays near the tone's 0.35 RMS).
    played = take[max(0, frame_at_kill - RATE) : -int(0.1 * RATE), 1]
    rms = np.sqrt(np.convolve(played**2, np.ones(480) / 480, mode="valid"))
    assert played.size > 2 * RATE and rms.min() > 0.25, f"a gap in the output: rms down to {rms.min():.3f}"
    # No xruns from the kill itself (until the restart begins after its 0.5 s back-off) nor once the new
    # process dreams, beyond what a shared host costs anyway (one in those 0.4 s: a fault here, such as the
    # audio process waiting on the dead pipe, is a run of them or a gap). The new interpreter's start-up
    # beside the audio is the soak's business, as at the start.
    # (Xruns that came as the host took a CPU from this guest are the host's: ``HostSteal``.)
    kept = min(m["xruns"], engine.metrics.xrun_frames.size)
    xrun_frames = engine.metrics.xrun_frames[:kept]
    ours = ~host_steal().explained(engine.metrics.xrun_times[:kept])
    at_kill = (xrun_frames >= frame_at_kill) & (xrun_frames < frame_at_kill + int(0.4 * RATE)) & ours
    after_restart = np.count_nonzero((xrun_frames >= frame_at_restart) & ours)
    allowed = xrun_allowance((m["frames"] - frame_at_restart) / RATE)
    assert np.count_nonzero(at_kill) <= 1 and after_restart <= allowed, (xrun_frames, frame_at_kill, m)
    assert m["callback_errors"] == 0, m


def test_a_model_that_cannot_load_ends_the_run_with_its_message(jack, tmp_path) -> None:
    """Weights that look right (a .tflite with its class map) but do not load: found in the audio process,
    refused in the dream process while the audio plays; the message is said once, as the run's end."""
    import shutil

    from .livehelpers import TFLITE, run_cli

    config = tmp_path / "quick.yaml"
    config.write_text("osc:\n  enabled: false\n", encoding="utf-8")
    (tmp_path / "broken.tflite").write_bytes(b"not a model" * 100)
    shutil.copy(need(TFLITE).parent / "yamnet_class_map.csv", tmp_path / "yamnet_class_map.csv")
    env = dict(os.environ, DREAMSOUND_YAMNET=str(tmp_path / "broken.tflite"))
    result = run_cli(
        "--config", str(config), "run", "--input-file", str(need(SPEECH_AND_CAT)), "--loop", "--headless",
        "--duration", "120", env=env, timeout=READY_TIMEOUT,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.count("the dream engine cannot start: no YAMNet weights could be loaded") == 1, (
        result.stderr[-3000:])
    assert "broken.tflite" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["first_sound"] is not None and summary["engine_state"] == "failed", summary


def test_the_real_dreamer_and_the_stand_ins_are_dreamers(live_dreamer) -> None:
    """The dream process drives whatever it is given through ``protocol.Dreamer`` alone (no probing)."""
    from benchmarks.live_soak import PassThrough
    from instrument.live.protocol import Dreamer

    from .livehelpers import FakeDreamer

    for dreamer in (live_dreamer, FakeDreamer(), PassThrough()):
        assert isinstance(dreamer, Dreamer), type(dreamer)
    assert live_dreamer.compiles and live_dreamer.classes is not None
    assert not FakeDreamer().compiles and FakeDreamer().classes is None
