"""Rehearse anywhere: the engine on its software clock, with no audio device and no JACK server.

Nothing here uses the session's JACK fixture. In-process tests set ``audio.no_device`` (PortAudio is
then never asked); the command-line tests run ``dreamsound`` in a subprocess that cannot see any
JACK server (a name no server has, ``JACK_NO_START_SERVER``), on this machine without a sound card,
where the software clock is chosen by itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf

from instrument.replay.take import read_take

from .livehelpers import REPO, host_steal, live_config, stolen_xruns, xrun_allowance
from .test_osc_live import engine_with_osc

RATE = 48000


def noise_file(path: Path, seconds: float) -> np.ndarray:
    data = (0.2 * np.random.default_rng(7).standard_normal(int(seconds * RATE))).astype(np.float32)
    sf.write(path, data, RATE, subtype="FLOAT")  # float at the clock's rate: the take's dry channel is these samples
    return data


def no_jack_env() -> dict[str, str]:
    return dict(os.environ, JACK_DEFAULT_SERVER=f"dreamsound-none-{uuid.uuid4().hex[:8]}", JACK_NO_START_SERVER="1")


def test_the_software_clock_plays_records_and_takes_osc_in_real_time(tmp_path):
    source = noise_file(tmp_path / "in.wav", 3.0)
    settings = live_config(input_file=str(tmp_path / "in.wav"), input_loop=True, no_device=True, samplerate=None)
    settings = dataclasses.replace(settings, record=dataclasses.replace(settings.record, dir=str(tmp_path / "takes"),
                                                                        enabled=True))
    messages: list[str] = []
    reports: list[dict] = []
    host_steal()  # the host's thefts of a CPU, from now (its xruns are not the engine's)
    with engine_with_osc(settings, tmp_path, messages) as (engine, client):
        began, frames0 = time.monotonic(), engine.metrics.frames
        assert engine.wait(0.6) == 0
        client.send("/dream/mix", (0.5, "f"))
        assert client.expect("/dream/mix") == [0.5]
        assert engine.wait(1.2, reporter=reports.append, interval=0.5) == 0
        elapsed, frames = time.monotonic() - began, engine.metrics.frames - frames0
    assert any(m.startswith("running: ") and "-> software clock (no audio device)" in m for m in messages), messages
    block = settings.audio.blocksize
    assert engine.metrics.frames % block == 0  # whole blocks, counted exactly
    assert frames <= elapsed * RATE + 2 * block  # real time: never ahead of the wall clock
    assert frames >= 0.5 * elapsed * RATE, (frames, elapsed)
    m = engine.controls.metrics(reset_peaks=False)
    assert m["xruns"] - stolen_xruns(engine.metrics) <= xrun_allowance(elapsed) and m["callback_errors"] == 0, m
    assert reports and reports[-1]["frames"] > 0
    (take,) = engine.takes
    recorded = read_take(take.paths[0])
    dry = recorded.dry
    assert recorded.samplerate == RATE and dry.shape[0] >= 1.7 * RATE
    first = take.start_frame % source.size  # the take starts at the stream frame recording started
    looped = np.tile(source, 3)[first : first + dry.shape[0]]
    np.testing.assert_array_equal(dry, looped)  # sample-exact: the input file, as the callback played it
    log = [json.loads(line) for line in take.log_path.read_text().splitlines()]
    assert ("mix", 0.5) in [(e.get("name"), e.get("value")) for e in log]


def test_run_without_any_audio_device_chooses_the_software_clock_by_itself(tmp_path):
    noise_file(tmp_path / "in.wav", 1.0)
    env = no_jack_env()
    result = subprocess.run(
        [sys.executable, "-m", "instrument.cli.main", "run", "--input-file", str(tmp_path / "in.wav"), "--headless",
         "--no-osc", "--duration", "1.5", "--record", str(tmp_path / "takes")],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "no audio output device (PortAudio sees none): the software clock runs the performance" in result.stderr
    assert f"takes: {tmp_path / 'takes'}" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["frames"] >= 1.5 * RATE and summary["callback_errors"] == 0, summary
    (wav,) = (tmp_path / "takes").glob("take-*.wav")
    assert sf.info(str(wav)).frames >= RATE
    replayed = subprocess.run(  # the take replays as one recorded on stage
        [sys.executable, "-m", "instrument.cli.main", "replay", str(wav), str(tmp_path / "replayed.wav"),
         "--iterations", "1", "--json"],
        capture_output=True, text=True, timeout=240, cwd=REPO, env=env,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["audio_seconds"] >= 1.0
    assert sf.info(str(tmp_path / "replayed.wav")).frames == sf.info(str(wav)).frames
    check = subprocess.run(["jack_wait", "-c"], env=env, capture_output=True, text=True, timeout=30)
    assert "not running" in check.stdout  # and none was started for us


def test_no_device_needs_an_input_file(cli):
    code, _, err = cli("run", "--no-device", "--headless", "--no-osc")
    assert code == 2 and "--no-device) needs an input file (--input-file F)" in err, err


def test_weights_that_only_a_download_could_bring_fail_before_the_audio_and_are_said_once(tmp_path):
    """A TF Hub handle not in the hub cache: the dream process must load it before the stream opens.
    Here the handle is a local port nothing listens on, so the load fails at once, as offline."""
    noise_file(tmp_path / "in.wav", 1.0)
    env = dict(no_jack_env(), DREAMSOUND_YAMNET="http://127.0.0.1:9/yamnet/1", TFHUB_CACHE_DIR=str(tmp_path / "hub"))
    result = subprocess.run(
        [sys.executable, "-m", "instrument.cli.main", "run", "--input-file", str(tmp_path / "in.wav"), "--headless",
         "--no-osc", "--no-device", "--duration", "5"],
        capture_output=True, text=True, timeout=240, cwd=REPO, env=env,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("no YAMNet weights could be loaded") == 1, result.stderr
    assert "dreamsound: error: the dream engine cannot start: no YAMNet weights" in result.stderr
    assert "running:" not in result.stderr and not result.stdout  # the audio never started
