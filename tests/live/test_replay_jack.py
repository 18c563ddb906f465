"""A take recorded by the real engine (``dreamsound run`` on the JACK dummy server, driven over OSC in the
middle of the take) replays so that the new target class is heard after the change and not before."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from pythonosc.osc_message_builder import OscMessageBuilder

from .livehelpers import REPO, WHISTLE, need, popen_cli
from .test_cli_jack import lines_of, take_files, wait_for_frames, wait_for_line

DOG = 69  # YAMNet's "Dog"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def osc(address: str, value, tag: str) -> bytes:
    builder = OscMessageBuilder(address=address)
    builder.add_arg(value, tag)
    return builder.build().dgram


def test_a_rehearsal_with_a_change_of_mode_and_class_replays_with_the_class_after_the_change(
    jack, live_dreamer, tmp_path: Path
) -> None:
    port = free_udp_port()
    config = tmp_path / "live.yaml"
    config.write_text(
        f"live: {{precompile: false}}\nosc: {{port: {port}, feedback_port: {free_udp_port()}, oscquery_port: 0,"
        f" presets_file: {tmp_path / 'presets.yaml'}}}\n"
        "dream: {mode: filter_add, layer: scores, target_class: null}\n",
        encoding="utf-8",
    )
    takes = tmp_path / "takes"
    proc = popen_cli("--config", str(config), "run", "--input-file", str(need(WHISTLE)), "--loop",
                     "--record", str(takes), "--headless", "--duration", "9")
    try:
        err = lines_of(proc.stderr)
        wait_for_line(err, "recording to")
        wav, log = take_files(takes)
        wait_for_frames(wav, 4 * 48000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(osc("/dream/mode", "deepdream", "s"), ("127.0.0.1", port))
            sock.sendto(osc("/dream/target", DOG, "i"), ("127.0.0.1", port))
            # A target sound captured during the take is kept beside it for the replay.
            sock.sendto(osc("/dream/target_sound/capture", 0.5, "f"), ("127.0.0.1", port))
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    assert proc.returncode == 0
    events = [json.loads(line) for line in log.read_text().splitlines()]
    change = next(e for e in events if e.get("name") == "target_class")
    mode_change = next(e for e in events if e.get("name") == "mode" and e["value"] == "deepdream")
    rate = events[0]["samplerate"]
    captured = next(e for e in events if e.get("name") == "target_sound")
    from instrument.replay.take import captured_target

    saved = captured_target(wav.parent, wav.stem, captured["value"], captured["frame"])
    assert saved is not None, sorted(p.name for p in wav.parent.iterdir())
    assert abs(sf.info(str(saved)).duration - 0.5) < 0.01

    replayed = tmp_path / "replayed.wav"
    result = subprocess.run(
        [sys.executable, "-m", "instrument.cli.main", "replay", str(wav), str(replayed), "--iterations", "20",
         "--json"],
        capture_output=True, text=True, timeout=240, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["problems"] == []
    # Two OSC messages: one region after both, or two if a block of audio passed between them.
    modes = [r["params"]["mode"] for r in summary["regions"]]
    assert modes[0] == "filter_add" and modes[-1] == "deepdream" and len(modes) in (2, 3), modes
    assert summary["regions"][-1]["params"]["target_class"] == DOG
    assert summary["regions"][-1]["top_after"]["name"] in ("Dog", "Animal", "Domestic animals, pets")

    # What a listener's classifier hears in the replayed file, window centres on a 0.1 s grid.
    from instrument.audiofile import resample

    audio, file_rate = sf.read(replayed, dtype="float32")
    assert file_rate == rate and audio.shape == (sf.info(str(wav)).frames,)
    x = resample(audio, rate, 16000)
    starts = np.arange(800, x.size - 15600 + 1, 1600)
    dog = live_dreamer.scores(np.stack([x[s : s + 15600] for s in starts]))[:, DOG]
    centres = (starts + 7800) / 16000
    first, last = sorted((mode_change["frame"] / rate, change["frame"] / rate))
    before, after = dog[centres < first - 1.0], dog[centres > last + 1.0]
    assert before.size >= 10 and after.size >= 10
    assert before.max() < 0.5, before.round(2)
    assert np.mean(after >= 0.5) >= 0.9, after.round(2)
