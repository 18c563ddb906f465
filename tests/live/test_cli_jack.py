"""``dreamsound run`` / ``devices`` as real subprocesses on the JACK dummy server: recording, signals, errors."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import threading
import time
import uuid
from pathlib import Path

import soundfile as sf

from instrument.model.native_log import is_noise

from .livehelpers import RATE, WHISTLE, JackServer, need, popen_cli, run_cli, xrun_allowance

HEADER_BYTES = 58  # our WAV header: RIFF + fmt (18) + fact + data


def quick(tmp_path: Path) -> list[str]:
    """``--config`` for runs that keep one mode: skip compiling the others (3 s) to keep the tests short;
    no OSC surface (its own test is in test_osc_live), so no fixed port is needed."""
    path = tmp_path / "quick.yaml"
    path.write_text("live:\n  precompile: false\nosc:\n  enabled: false\n", encoding="utf-8")
    return ["--config", str(path)]


def lines_of(stream) -> queue.Queue:
    """Lines of a subprocess pipe, as they come, with their arrival time."""
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put((time.monotonic(), line))
        q.put((time.monotonic(), None))

    threading.Thread(target=pump, daemon=True).start()
    return q


def wait_for_line(q: queue.Queue, text: str, timeout: float = 60) -> tuple[float, list[str]]:
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        t, line = q.get(timeout=max(0.1, deadline - time.monotonic()))
        if line is None:
            raise AssertionError(f"process ended before {text!r}:\n{''.join(seen)}")
        seen.append(line)
        if text in line:
            return t, seen


def wait_for_frames(path: Path, frames: int, timeout: float = 30) -> None:
    """Poll the growing take (its header is rewritten every 0.5 s) until it holds ``frames``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and sf.info(str(path)).frames >= frames:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {frames} frames")


def take_files(directory: Path) -> tuple[Path, Path]:
    wavs = sorted(directory.glob("take-*.wav"))
    logs = sorted(directory.glob("take-*.params.jsonl"))
    assert len(wavs) == 1 and len(logs) == 1, list(directory.iterdir())
    return wavs[0], logs[0]


def test_devices_command_lists_the_jack_server(jack) -> None:
    result = run_cli("devices")
    assert result.returncode == 0, result.stderr
    assert "system (JACK Audio Connection Kit): 2 in, 2 out, 48000 Hz" in result.stdout


def test_run_records_a_take_and_reports_in_headless_mode(jack, tmp_path: Path) -> None:
    result = run_cli(
        *quick(tmp_path),
        "run",
        "--input-file",
        str(need(WHISTLE)),
        "--record",
        str(tmp_path / "takes"),
        "--headless",
        "--duration",
        "3",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    # Xruns while the dream process starts (TensorFlow's import beside the audio) are the soak's business.
    assert summary["xruns_after_ready"] <= xrun_allowance(3.0) and summary["exit_reason"] == "played 3 s", summary
    # Sound at once: the first block went out before the model was ready (if it got ready in 3 s at all).
    assert summary["first_sound"] is not None, summary
    assert summary["dream_ready"] is None or summary["dream_ready"] > summary["first_sound"], summary
    status = r"\d+s \| mode \w+ \| layer \w+ \| .* \| (it \d+/s [\d.]+/hop [\d.]+/sample|dreams loading) \| .*xruns \d+"
    assert re.search(status, result.stderr), result.stderr  # status lines
    # TensorFlow's start-up notices (oneDNN, CUDA, XNNPACK) stay off the performer's terminal.
    assert not any(is_noise(line.encode()) for line in result.stderr.splitlines()), result.stderr
    wav, log = take_files(tmp_path / "takes")
    data, rate = sf.read(wav, dtype="float32")
    assert rate == RATE and data.shape[1] == 2
    assert abs(data.shape[0] - 3 * RATE) < 0.2 * RATE
    assert wav.stat().st_size == HEADER_BYTES + data.size * 4  # header and data agree: complete
    assert abs(data[:, 0]).max() > 0.1 and abs(data[:, 1]).max() > 0.01  # dry and output both there
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "stop"


def test_sigterm_finishes_the_recording(jack, tmp_path: Path) -> None:
    takes = tmp_path / "takes"
    proc = popen_cli(
        *quick(tmp_path), "run", "--input-file", str(need(WHISTLE)), "--loop", "--record", str(takes), "--headless"
    )
    try:
        err = lines_of(proc.stderr)
        wait_for_line(err, "recording to")
        wav, log = take_files(takes)
        wait_for_frames(wav, RATE)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    info = sf.info(str(wav))
    assert info.frames >= RATE and wav.stat().st_size == HEADER_BYTES + info.frames * 8
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["event"] == "stop" and last["frame"] == info.frames


def test_kill_9_leaves_a_readable_take_up_to_a_second_before(jack, tmp_path: Path) -> None:
    takes = tmp_path / "takes"
    proc = popen_cli(
        *quick(tmp_path), "run", "--input-file", str(need(WHISTLE)), "--loop", "--record", str(takes), "--headless"
    )
    try:
        err = lines_of(proc.stderr)
        started, _ = wait_for_line(err, "recording to")
        wav, log = take_files(takes)
        wait_for_frames(wav, 2 * RATE)
        killed = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    data, rate = sf.read(wav, dtype="float32")  # a reader accepts it as it is
    assert rate == RATE and data.shape[1] == 2
    # The take began before the "recording to" line was read, so this is a lower bound on what was played.
    assert data.shape[0] >= (killed - started - 1.0) * RATE, (data.shape[0] / RATE, killed - started)
    assert json.loads(log.read_text().splitlines()[0])["event"] == "start"


def test_device_errors_exit_non_zero_with_what_is_available(jack) -> None:
    result = run_cli("run", "--output-device", "Nope", "--duration", "1", "--headless")
    assert result.returncode == 2
    assert "no output device 'Nope'" in result.stderr and "system (JACK Audio Connection Kit)" in result.stderr
    result = run_cli("run", "--samplerate", "44100", "--duration", "1", "--headless")
    assert result.returncode == 2 and "refuse 44100 Hz" in result.stderr and "48000 Hz" in result.stderr
    result = run_cli("run", "--input-file", "/nonexistent/take.wav", "--duration", "1", "--headless")
    assert result.returncode == 2 and "input file /nonexistent/take.wav: no such file" in result.stderr
    assert "model:" not in result.stderr  # refused before the model was loaded


def test_a_dying_server_is_reported_and_the_take_finalized(tmp_path: Path) -> None:
    server = JackServer(f"dreamsound-die-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        takes = tmp_path / "takes"
        proc = popen_cli(
            *quick(tmp_path),
            "run",
            "--input-file",
            str(need(WHISTLE)),
            "--loop",
            "--record",
            str(takes),
            "--headless",
            env=server.env,
        )
        try:
            err = lines_of(proc.stderr)
            wait_for_line(err, "recording to")
            wav, log = take_files(takes)
            wait_for_frames(wav, RATE // 2)
            server.stop()
            wait_for_line(err, "the audio stream stopped", timeout=30)
            assert proc.wait(30) == 1
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        server.stop()
    info = sf.info(str(wav))
    assert wav.stat().st_size == HEADER_BYTES + info.frames * 8
    assert json.loads(log.read_text().splitlines()[-1])["event"] == "stop"


def test_every_run_option_can_come_from_the_config_file(jack, tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(
        f"audio:\n  input_file: {need(WHISTLE)}\n  samplerate: 48000\n  blocksize: 256\n  output_channels: 1\n"
        f"live:\n  headless: true\n  duration: 1.5\n  mix: 0.5\n  precompile: false\n"
        f"record:\n  enabled: true\n  dir: {tmp_path / 'takes'}\n"
        f"osc:\n  enabled: false\n",  # no fixed port needed here
        encoding="utf-8",
    )
    result = run_cli("--config", str(config), "run")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])  # headless: the summary on stdout
    assert summary["exit_reason"] == "played 1.5 s" and abs(summary["frames"] - 1.5 * RATE) < 0.1 * RATE
    wav, _ = take_files(tmp_path / "takes")
    assert sf.info(str(wav)).frames > RATE


def test_engine_device_gpu_without_a_gpu_ends_the_run_with_one_message_after_the_sound_started(
    jack, tmp_path: Path
) -> None:
    """``engine.device: gpu`` reaches the dream process (started before the devices, with TensorFlow's
    settings): on this CPU-only host it refuses with the one clear message, once the sound has started."""
    config = tmp_path / "gpu.yaml"
    config.write_text(
        f"engine:\n  device: gpu\naudio:\n  input_file: {need(WHISTLE)}\n  samplerate: 48000\n  blocksize: 256\n"
        "live:\n  headless: true\n  duration: 30\nosc:\n  enabled: false\n",
        encoding="utf-8",
    )
    result = run_cli("--config", str(config), "run")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "engine.device is 'gpu' but TensorFlow sees no GPU" in result.stderr, result.stderr[-3000:]
    assert result.stderr.count("sees no GPU") == 1, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["first_sound"] is not None and summary["first_dream"] is None, summary
