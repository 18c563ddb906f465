"""The audio stream's life: which devices (or none), open, watch, reopen, close.

Two kinds of stream behind one interface (``start``, ``stop``, ``close``, ``active``, ``latency``),
both calling the same ``AudioCallback(indata, outdata, frames, time, status)``:

- ``PortAudioStream``: sounddevice's duplex ``Stream`` (or ``OutputStream`` when playing a file on
  a device without inputs); PortAudio's audio thread calls the callback.
- ``SoftwareClock``: no device at all (``audio.no_device``, ``--no-device``; chosen by itself when
  PortAudio has no output device and an input file plays). A thread calls the callback once per
  block at the block rate, sleeping to wall-clock deadlines counted in frames from its start, so
  the run is real time and sample-exact: the same engine, OSC, recording, status and takes as on
  stage, with nothing heard. A block due more than a block ago is an output underflow, as a device
  reports it: counted once, and the clock goes on from now (a device plays silence meanwhile), never
  catching up in a burst. Its thread asks for the real-time priority an audio server's thread has
  (``SCHED_FIFO``, where the system allows it; otherwise it runs at normal priority).

``LiveStream`` holds the plan and the open stream for the engine: ``prepare()`` (devices checked,
no stream yet), ``open(callback)``, ``lost()``, ``reopen(stop)`` and ``close()``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from instrument.errors import DreamSoundError
from instrument.live import devices
from instrument.settings import AudioSettings

SOFTWARE_RATE = 48000  # the software clock's rate when audio.samplerate is null (no device to ask)
SOFTWARE_CHANNELS = 2
SOFTWARE_NAME = "software clock (no audio device)"
CLOCK_PRIORITY = 70  # SCHED_FIFO priority asked for the software clock's thread (JACK's own default is 10 above)

Callback = Callable[[Any, np.ndarray, int, Any, Any], None]


class ClockStatus:
    """The flags sounddevice's ``CallbackFlags`` gives the callback; true when one is set."""

    __slots__ = ("input_overflow", "input_underflow", "output_overflow", "output_underflow", "priming_output")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, False)

    def __bool__(self) -> bool:
        return self.output_underflow


class SoftwareClock:
    """A stream without a device: ``callback`` every ``blocksize`` frames of wall-clock time, in a thread."""

    def __init__(self, callback: Callback, samplerate: int, blocksize: int, channels: int,
                 finished: Callable[[], None]) -> None:
        self.callback, self.samplerate, self.blocksize = callback, samplerate, blocksize
        self.finished = finished
        self.latency = blocksize / samplerate  # one block: what the callback's output waits before "playing"
        self._out = np.zeros((blocksize, channels), np.float32)  # written every block, heard by nobody
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="software-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def active(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)

    def close(self) -> None:
        self.stop()

    def _run(self) -> None:
        real_time_priority()
        period = self.blocksize / self.samplerate
        status = ClockStatus()
        start, blocks = time.monotonic(), 0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                status.output_underflow = now - (start + blocks * period) > period
                if status.output_underflow:  # the block's time has passed: go on from now, as a device would
                    start, blocks = now, 0
                self.callback(None, self._out, self.blocksize, None, status)
                blocks += 1
                # Always sleep a little: a real-time thread that never sleeps (a callback slower than its
                # block) would starve its core. Deadlines stay counted from the start, so this never drifts.
                self._stop.wait(max(start + blocks * period - time.monotonic(), period / 8))  # a stop wakes it
        finally:
            self.finished()


def real_time_priority() -> bool:
    """Ask for ``SCHED_FIFO`` for the calling thread (Linux); False where the system refuses it."""
    if not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(CLOCK_PRIORITY))
    except (OSError, ValueError):  # no rtprio allowance (not in the audio group): normal priority
        return False
    return True


class PortAudioStream:
    """sounddevice's stream on the planned devices; output-only when the plan has no input device."""

    def __init__(self, plan: devices.StreamPlan, audio: AudioSettings, callback: Callback,
                 finished: Callable[[], None]) -> None:
        sd = devices.sounddevice()
        kwargs = dict(samplerate=plan.samplerate, blocksize=audio.blocksize, dtype="float32",
                      latency=audio.latency, finished_callback=finished)
        try:
            if plan.input_device is not None:
                self._stream = sd.Stream(device=(plan.input_device, plan.output_device),
                                         channels=(plan.input_channels, plan.output_channels),
                                         callback=callback, **kwargs)
                in_latency, out_latency = self._stream.latency
            else:  # an OutputStream's callback has no indata
                self._stream = sd.OutputStream(
                    device=plan.output_device, channels=plan.output_channels,
                    callback=lambda outdata, frames, when, status: callback(None, outdata, frames, when, status),
                    **kwargs,
                )
                in_latency, out_latency = 0.0, self._stream.latency
            self._stream.start()
        except (sd.PortAudioError, ValueError) as err:
            raise DreamSoundError(
                f"cannot open the audio stream on {plan.output_name!r} ({err}); is the device busy?"
                f" {devices._available('output')}"
            ) from None
        live_input = plan.input_device is not None and audio.input_file is None
        self.latency = out_latency + (in_latency if live_input else 0.0)
        self._sd = sd

    @property
    def active(self) -> bool:
        return bool(self._stream.active)

    def start(self) -> None:
        self._stream.start()

    def stop(self) -> None:
        try:
            self._stream.stop()
        except self._sd.PortAudioError:  # its device is gone: there is nothing left to stop
            pass

    def close(self) -> None:
        try:
            self._stream.close()
        except self._sd.PortAudioError:  # already gone with its device: nothing left to release
            pass


def software_plan(audio: AudioSettings) -> devices.StreamPlan:
    return devices.StreamPlan(
        input_device=None, output_device=-1, input_channels=0,
        output_channels=audio.output_channels or SOFTWARE_CHANNELS, samplerate=audio.samplerate or SOFTWARE_RATE,
        input_name="", output_name=SOFTWARE_NAME, output_hostapi="",
    )


def has_output_device() -> bool:
    """Whether PortAudio sees any device with an output channel."""
    return any(d["max_output_channels"] > 0 for d in devices.DeviceTable.query().devices)


class LiveStream:
    """The performance's stream, from the device plan to the close."""

    def __init__(self, audio: AudioSettings, log: Callable[[str], None]) -> None:
        self.audio = audio
        self.log = log
        self.plan: devices.StreamPlan | None = None
        self.software = False
        self.stream: SoftwareClock | PortAudioStream | None = None
        self.dead = False  # the stream died (server down): PortAudio must not be terminated
        self._died = threading.Event()
        self._callback: Callback | None = None

    def prepare(self) -> devices.StreamPlan:
        """Check the devices (no stream yet), or choose the software clock; the plan."""
        audio = self.audio
        if audio.no_device:
            if audio.input_file is None:
                raise DreamSoundError("audio.no_device (--no-device) needs an input file (--input-file F)")
            self.software = True
        else:
            devices.refresh()
            if audio.input_file is not None and audio.output_device is None and not has_output_device():
                self.software = True
                self.log("no audio output device (PortAudio sees none): the software clock runs the performance,"
                         " nothing is heard (--no-device says so)")
        if self.software:
            self.plan = software_plan(audio)
            return self.plan
        use_input = audio.input_file is None
        if not use_input:
            try:  # same duplex path as with a microphone when an input exists
                devices.plan_stream(audio.input_device, audio.output_device, audio.samplerate, None, None, True)
                use_input = True
            except DreamSoundError:
                use_input = False
        self.plan = devices.plan_stream(
            audio.input_device, audio.output_device, audio.samplerate,
            audio.input_channels if audio.input_file is None else None, audio.output_channels, use_input,
        )
        return self.plan

    def open(self, callback: Callback) -> float:
        """Open and start the stream (sound at once); its latency in seconds."""
        assert self.plan is not None
        self._callback = callback
        self._died.clear()
        if self.software:
            clock = SoftwareClock(callback, self.plan.samplerate, self.audio.blocksize, self.plan.output_channels,
                                  self._died.set)
            clock.start()
            self.stream = clock
        else:
            self.stream = PortAudioStream(self.plan, self.audio, callback, self._died.set)
        return self.stream.latency

    @property
    def active(self) -> bool:
        return self.stream is not None and self.stream.active

    def lost(self) -> bool:
        """The stream stopped by itself (device gone, server down)."""
        return self._died.is_set() or (self.stream is not None and not self.stream.active)

    def reopen(self, stop: threading.Event) -> float | None:
        """Reopen on the same devices until it works (its latency) or ``stop`` is set (None)."""
        assert self.plan is not None and self._callback is not None
        while not stop.is_set():
            try:
                if self.stream is not None:
                    self.stream.close()
                if "JACK" not in self.plan.output_hostapi:  # re-scanning without the JACK server would abort
                    devices.refresh()
                latency = self.open(self._callback)
                self.log("audio stream reopened")
                return latency
            except DreamSoundError as err:
                self.log(f"retrying: {err}")
                stop.wait(1.0)
        return None

    def close(self) -> None:
        """Stop and close; safe to call twice. A dead JACK stream never acknowledges a stop: left alone."""
        if self.dead and not self.software:
            devices.abandon()  # PortAudio's JACK host API aborts the process when terminated without its server
        if self.stream is not None and not self.dead:
            self.stream.stop()
            self.stream.close()
        self.stream = None
