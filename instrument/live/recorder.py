"""Rehearsal recording: a writer thread moves audio from the callback's ring buffer to disk, with a parameter log.

Layout of one take in the record directory (``STEM`` = ``take-YYYYmmdd-HHMMSS``):

- ``STEM.wav``: 2 channels, 32-bit float WAV at the device rate, sample-aligned:
  channel 1 = the dry input (after channel selection / mix-down, or the input
  file), channel 2 = the output sent to the speakers (after mix, gain, limiter).
  Takes longer than ~3 hours at 48 kHz continue in ``STEM-2.wav``, ``STEM-3.wav``…
  (a plain WAV stays under 4 GiB).
- ``STEM.params.jsonl``: one JSON object per line: first
  ``{"t": 0.0, "frame": 0, "event": "start", "samplerate": …, "params": {…}}``,
  then ``{"t": seconds, "frame": n, "name": …, "value": …}`` for every change, and
  ``{"event": "stop", …}`` at a clean stop. ``frame`` counts from the take's start.
- ``STEM.target.NAME.FRAME.wav``: a target sound captured live (16 kHz mono float) at take
  frame ``FRAME``, so ``dreamsound replay`` finds it (``save_target``).

Every ``flush_interval`` (0.5 s) the new audio is written, the WAV header's sizes
are rewritten and both files are flushed to the OS, so after ``kill -9`` the WAV
is complete up to at most that long before the kill. A write error (full disk)
stops the recording with one clear message; the performance goes on.
"""

from __future__ import annotations

import datetime
import json
import os
import queue
import re
import shutil
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from instrument.errors import DreamSoundError
from instrument.live.controls import Controls
from instrument.live.metrics import Metrics
from instrument.live.ringbuffer import RingBuffer
from instrument.settings import RecordSettings

MAX_DATA_BYTES = 0xFFFFFFFF - 1024 * 1024  # keep RIFF sizes representable
TAKE_BYTES_PER_MINUTE = 48000 * 2 * 4 * 60  # 2 channels of 32-bit float at 48 kHz: 22 MiB a minute


def check_record_dir(directory: str | Path, min_free_mb: float = 0) -> Path:
    """The folder a take goes into, made if missing; one clear error unless a file can be created there
    and ``min_free_mb`` MiB are free. Called before the audio starts (``--record``) and by every start."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DreamSoundError(f"cannot record into {path}: cannot create the folder ({err.strerror or err})") from None
    try:  # the one honest test of writability (permissions, read-only mounts, ACLs, root on NFS)
        with tempfile.TemporaryFile(dir=path, prefix=".dreamsound-probe-"):
            pass
    except OSError as err:
        raise DreamSoundError(f"cannot record into {path}: cannot write there ({err.strerror or err})") from None
    free = shutil.disk_usage(path).free / 2**20
    if free < min_free_mb:
        minutes = min_free_mb * 2**20 / TAKE_BYTES_PER_MINUTE
        raise DreamSoundError(
            f"cannot record into {path}: {free:.0f} MiB free, a take needs at least {min_free_mb:g} MiB"
            f" (record.min_free_mb; about {minutes:.0f} min at 48 kHz)"
        )
    return path


def target_file_name(name: str) -> str:
    """A target-sound name as it appears in a file name (``instrument.replay.take`` uses the same rule)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


class WavWriter:
    """An IEEE-float WAV whose header is rewritten on ``sync()``, so a reader always finds a valid file."""

    HEADER_BYTES = 58  # RIFF(12) + fmt(8+18) + fact(8+4) + data(8)

    def __init__(self, path: Path, samplerate: int, channels: int) -> None:
        self.path = path
        self.samplerate = samplerate
        self.channels = channels
        self.frames = 0
        self._file: BinaryIO = open(path, "wb")
        self._file.write(self._header())
        self._file.flush()

    @property
    def data_bytes(self) -> int:
        return self.frames * self.channels * 4

    def _header(self) -> bytes:
        block_align = self.channels * 4
        rate = self.samplerate
        fmt = struct.pack("<HHIIHHH", 3, self.channels, rate, rate * block_align, block_align, 32, 0)
        return b"".join(
            [
                b"RIFF",
                struct.pack("<I", self.HEADER_BYTES - 8 + self.data_bytes),
                b"WAVE",
                b"fmt ",
                struct.pack("<I", len(fmt)),
                fmt,
                b"fact",
                struct.pack("<II", 4, self.frames),
                b"data",
                struct.pack("<I", self.data_bytes),
            ]
        )

    def write(self, frames: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(frames, "<f4").tobytes())
        self.frames += frames.shape[0]

    def sync(self) -> None:
        """Rewrite the sizes in the header and hand everything to the OS."""
        f = self._file
        f.flush()
        end = f.tell()
        f.seek(0)
        f.write(self._header())
        f.seek(end)
        f.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self.sync()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()


class Recorder:
    """One take: started and stopped by the engine (``record`` switch); writes from its own thread."""

    def __init__(
        self,
        directory: str | Path,
        ring: RingBuffer,
        samplerate: int,
        controls: Controls,
        metrics: Metrics,
        flush_interval: float = 0.5,
        stem: str | None = None,
        max_data_bytes: int = MAX_DATA_BYTES,
        on_error=None,
        activity=None,
        min_free_mb: float = 0,
    ) -> None:
        self.directory = Path(directory)
        self.ring = ring
        self.samplerate = samplerate
        self.controls = controls
        self.metrics = metrics
        self.flush_interval = flush_interval
        self.stem = stem or datetime.datetime.now().strftime("take-%Y%m%d-%H%M%S")
        self.max_data_bytes = max_data_bytes
        self.on_error = on_error
        self.activity = activity  # an ActivityLog: flushes are logged so an xrun can be matched with them
        self.min_free_mb = min_free_mb
        self.paths: list[Path] = []
        self.log_path = self.directory / f"{self.stem}.params.jsonl"
        self.error = ""
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer: WavWriter | None = None
        self._log = None
        self._start_frame = 0
        self._pos = 0
        self._remove_listener = None
        self._chunk = np.zeros((max(1, samplerate // 4), ring.channels), np.float32)

    # --- control -----------------------------------------------------------------------
    @property
    def start_frame(self) -> int:
        """The stream frame the take's first frame is (the record ring counts the callback's frames)."""
        return self._start_frame

    def start(self) -> None:
        check_record_dir(self.directory, self.min_free_mb)
        try:
            self._writer = self._open_part()
            self._log = open(self.log_path, "w", encoding="utf-8")
        except OSError as err:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            raise DreamSoundError(f"cannot record into {self.directory}: {err.strerror or err}") from err
        self._start_frame = self._pos = self.ring.written
        self._write_log(
            {
                "t": 0.0,
                "frame": 0,
                "event": "start",
                "samplerate": self.samplerate,
                "wav": self.paths[0].name,
                "channels": ["dry", "output"],
                "params": self.controls.snapshot().as_dict(),
            }
        )
        self._t0 = time.monotonic()
        self._remove_listener = self.controls.add_listener(self._on_change)
        self.metrics.recording = True
        self.metrics.record_error = ""
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is left and close the files (complete WAV, final log line)."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        self.metrics.recording = False

    def save_target(self, name: str, audio: np.ndarray, rate: int) -> Path:
        """Keep a target sound captured during the take beside it (``STEM.target.NAME.FRAME.wav``)."""
        import soundfile as sf

        frame = max(0, self.ring.written - self._start_frame)
        path = self.directory / f"{self.stem}.target.{target_file_name(name)}.{frame}.wav"
        sf.write(str(path), np.asarray(audio, np.float32), rate, subtype="FLOAT")
        return path

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- writer thread -----------------------------------------------------------------
    def _on_change(self, name: str, value: Any) -> None:
        self._events.put((time.monotonic(), self.ring.written, name, value))

    def _open_part(self) -> WavWriter:
        index = len(self.paths) + 1
        path = self.directory / (f"{self.stem}.wav" if index == 1 else f"{self.stem}-{index}.wav")
        self.paths.append(path)
        return WavWriter(path, self.samplerate, self.ring.channels)

    def _write_log(self, entry: dict[str, Any]) -> None:
        assert self._log is not None
        self._log.write(json.dumps(entry, default=str) + "\n")

    def _drain(self) -> None:
        """Move every frame the callback has written since last time to the file."""
        assert self._writer is not None
        end = self.ring.written
        if end - self._pos > self.ring.capacity - self._chunk.shape[0]:  # fell behind: skip, write silence
            skipped = end - self.ring.capacity + self._chunk.shape[0] - self._pos
            self.metrics.record_dropped_frames += skipped
            while skipped > 0:
                n = min(skipped, self._chunk.shape[0])
                self._chunk[:n] = 0.0
                self._write_frames(self._chunk[:n])
                skipped -= n
                self._pos += n
        while self._pos < end:
            n = min(end - self._pos, self._chunk.shape[0])
            chunk = self._chunk[:n]
            if not self.ring.read(self._pos, chunk):
                chunk[:] = 0.0
                self.metrics.record_dropped_frames += n
            self._write_frames(chunk)
            self._pos += n
        while not self._events.empty():
            t, frame, name, value = self._events.get_nowait()
            frame = max(0, frame - self._start_frame)
            entry = {"t": round(t - self._t0, 4), "frame": frame, "name": name, "value": value}
            self._write_log(entry)
        self.metrics.recorded_seconds = (self._pos - self._start_frame) / self.samplerate

    def _write_frames(self, frames: np.ndarray) -> None:
        assert self._writer is not None
        if self._writer.data_bytes + frames.nbytes > self.max_data_bytes:
            self._writer.close()
            self._writer = self._open_part()
        self._writer.write(frames)

    def _sync(self) -> None:
        assert self._writer is not None and self._log is not None
        self._writer.sync()
        self._log.flush()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.flush_interval):
                started = time.monotonic()
                self._drain()
                self._sync()
                if self.activity is not None:
                    self.activity.add("record_flush", started, time.monotonic())
            self._drain()
            self._write_log(
                {"t": round(time.monotonic() - self._t0, 4), "frame": self._pos - self._start_frame, "event": "stop"}
            )
            self._close()
        except OSError as err:
            reason = err.strerror or str(err)
            self.error = f"recording stopped: cannot write to {self.directory} ({reason}); the performance goes on"
            self.metrics.record_error = self.error
            self.metrics.recording = False
            self._close(quiet=True)
            if self._remove_listener is not None:
                self._remove_listener()
                self._remove_listener = None
            if self.on_error is not None:
                self.on_error(self.error)

    def _close(self, quiet: bool = False) -> None:
        for closer in (self._writer, self._log):
            if closer is None:
                continue
            try:
                closer.close()
            except OSError:
                if not quiet:
                    raise


class RecordSwitch:
    """What the ``record`` control does: on starts a take, off closes it (``takes``: every one started).

    A take that cannot start (a folder gone read-only, a full disk) is one message (``on_refused``,
    which OSC answers as /dream/error); ``poll()`` then tells the engine to put the switch back off,
    outside the change that asked for it. After ``close()`` a late /dream/record 1 starts nothing.
    """

    def __init__(self, settings: RecordSettings, ring: RingBuffer, samplerate: int, controls: Controls,
                 metrics: Metrics, log, on_refused, activity=None) -> None:
        self.settings, self.ring, self.samplerate = settings, ring, samplerate
        self.controls, self.metrics, self.log, self.on_refused, self.activity = (
            controls, metrics, log, on_refused, activity)
        self.recorder: Recorder | None = None
        self.takes: list[Recorder] = []
        self._refused = False
        self._closed = False
        self._lock = threading.Lock()

    def set(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        with self._lock:
            if self._closed or (self.recorder is not None and self.recorder.active):
                return
            s = self.settings
            recorder = Recorder(s.dir, self.ring, self.samplerate, self.controls, self.metrics,
                                flush_interval=s.flush_interval, on_error=self.log, activity=self.activity,
                                min_free_mb=s.min_free_mb)
            try:
                recorder.start()
            except DreamSoundError as err:  # the performance goes on without a take
                self.metrics.record_error = str(err)
                self._refused = True
                self.on_refused(str(err))
                return
            self.recorder = recorder
            self.takes.append(recorder)
            self.log(f"recording to {recorder.paths[0]}")

    def stop(self) -> None:
        with self._lock:
            if self.recorder is not None:
                self.recorder.stop()
                self.recorder = None

    def poll(self) -> bool:
        """True once after a refused start or a write error: the switch should go back off."""
        off = self._refused or (self.recorder is not None and bool(self.recorder.error))
        self._refused = False
        return off

    def close(self) -> None:
        self._closed = True
        self.stop()
