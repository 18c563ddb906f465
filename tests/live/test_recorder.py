"""Rehearsal recording: WAV readable while written, complete after stop, parameter log, full disk."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import soundfile as sf

from instrument.live.controls import Controls
from instrument.live.recorder import Recorder, WavWriter
from instrument.live.ringbuffer import RingBuffer


def test_wav_is_readable_after_every_sync_and_complete_after_close(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    writer = WavWriter(path, 48000, 2)
    data = np.random.default_rng(0).uniform(-1, 1, (4800, 2)).astype(np.float32)
    writer.write(data)
    writer.sync()
    read, rate = sf.read(path, dtype="float32")  # while still open, as after kill -9
    assert rate == 48000 and read.shape == (4800, 2)
    np.testing.assert_array_equal(read, data)
    writer.write(data)
    writer.write(data)  # not synced yet: the header still says 4800 frames, the file stays valid
    assert sf.info(str(path)).frames == 4800
    writer.close()
    info = sf.info(str(path))
    assert info.frames == 14400 and info.subtype == "FLOAT" and info.channels == 2


class FakeCallback(threading.Thread):
    """Writes blocks into the record ring at a steady pace, like the audio callback."""

    def __init__(self, ring: RingBuffer, blocks: int) -> None:
        super().__init__(daemon=True)
        self.ring, self.blocks = ring, blocks
        self.done = threading.Event()

    def run(self) -> None:
        block = np.zeros((480, 2), np.float32)
        for i in range(self.blocks):
            block[:, 0] = i
            block[:, 1] = -i
            self.ring.write(block)
            self.done.wait(0.001)
        self.done.set()


def test_recorder_writes_every_frame_in_order_and_logs_parameter_changes(tmp_path: Path) -> None:
    ring = RingBuffer(48000, channels=2)
    controls = Controls()
    rec = Recorder(tmp_path / "takes", ring, 48000, controls, controls.metrics_source, flush_interval=0.05, stem="t")
    rec.start()
    feeder = FakeCallback(ring, 300)
    feeder.start()
    controls.set("mix", 0.5)
    controls.set("mode", "deepdream")
    assert feeder.done.wait(30)
    rec.stop()
    data, _ = sf.read(rec.paths[0], dtype="float32")
    assert data.shape == (300 * 480, 2)
    blocks = data[::480, 0]
    np.testing.assert_array_equal(blocks, np.arange(300))  # nothing lost, nothing repeated
    np.testing.assert_array_equal(data[:, 1], -data[:, 0])
    lines = [json.loads(line) for line in rec.log_path.read_text().splitlines()]
    assert lines[0]["event"] == "start" and lines[0]["params"]["mode"] == "filter_add"
    assert [(e["name"], e["value"]) for e in lines[1:-1]] == [("mix", 0.5), ("mode", "deepdream")]
    assert lines[-1]["event"] == "stop" and lines[-1]["frame"] == 300 * 480
    assert all(e["frame"] >= 0 for e in lines)


def test_recorder_parts_roll_over_before_the_wav_size_limit(tmp_path: Path) -> None:
    ring = RingBuffer(96000, channels=2)
    controls = Controls()
    rec = Recorder(
        tmp_path,
        ring,
        48000,
        controls,
        controls.metrics_source,
        flush_interval=0.05,
        stem="t",
        max_data_bytes=480 * 8 * 50,
    )
    rec.start()
    feeder = FakeCallback(ring, 120)
    feeder.start()
    assert feeder.done.wait(30)
    rec.stop()
    assert [p.name for p in rec.paths] == ["t.wav", "t-2.wav", "t-3.wav"]
    total = np.concatenate([sf.read(p, dtype="float32")[0] for p in rec.paths])
    np.testing.assert_array_equal(total[::480, 0], np.arange(120))


def test_full_disk_stops_the_recording_with_a_clear_message(tiny_disk: Path) -> None:
    ring = RingBuffer(48000, channels=2)
    controls = Controls()
    messages = []
    got_error = threading.Event()

    def on_error(message: str) -> None:
        messages.append(message)
        got_error.set()

    rec = Recorder(tiny_disk, ring, 48000, controls, controls.metrics_source, flush_interval=0.05, on_error=on_error)
    rec.start()
    feeder = FakeCallback(ring, 2000)  # 2000 * 480 * 8 bytes = 7.7 MB > 256 KiB
    feeder.start()
    assert got_error.wait(30), "the recorder never noticed the full disk"
    assert "No space left on device" in messages[0] or "File too large" in messages[0]
    assert "the performance goes on" in messages[0]
    assert controls.metrics_source.record_error == messages[0] and not controls.metrics_source.recording
    assert feeder.is_alive() or feeder.done.is_set()  # the writer of audio was never blocked
    assert feeder.done.wait(30)
    rec.stop()
    assert sf.info(str(rec.paths[0])).frames > 0  # what fitted is still a valid file
