"""Wires the live instrument together and runs one performance.

Two processes: this one (the audio process) holds the devices, the callback, the
rings, the grain player, the limiter, the recorder, the OSC surface and the
controls, and only moves samples; it never imports TensorFlow. The dream process
(``dreamproc``, started and restarted by ``supervisor``) loads the model, compiles,
dreams and classifies. The audio starts as soon as the devices are open (the
standby sound, see ``callback``) and the dreams come in when the model is ready.
"""

from __future__ import annotations

import gc
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from instrument.config import Config
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.live import devices
from instrument.live.activity import ActivityLog
from instrument.live.callback import AudioCallback
from instrument.live.controls import Controls
from instrument.live.dreamproc import DreamSpec
from instrument.live.inputfile import load_input_file
from instrument.live.metrics import Metrics
from instrument.live.output import GrainPlayer
from instrument.live.recorder import Recorder
from instrument.live.ringbuffer import RingBuffer
from instrument.live.shm import SegmentLayout, SharedState
from instrument.live.supervisor import DreamSupervisor
from instrument.model.layout import NUM_CLASSES, SAMPLE_RATE, WINDOW_SECONDS

Reporter = Callable[[dict[str, Any]], None]


CAPTURE_SECONDS = (0.05, 10.0)  # a target sound captured from the live input: shortest, longest


def input_ring_frames(rate: int, window: int) -> int:
    """The input ring: four windows, and room for the longest capture plus a second the writer may claim."""
    return max(4 * window, 2 * rate, math.ceil((CAPTURE_SECONDS[1] + 1.0) * rate))


def log_line(message: str) -> None:
    print(f"dreamsound: {message}", file=sys.stderr, flush=True)


def capture_frames(seconds: float, rate: int, ring_frames: int) -> int:
    """Frames a capture of ``seconds`` takes from a ring of ``ring_frames``: all of them, or a clear error."""
    frames = int(seconds * rate)
    if frames > ring_frames - rate:  # input_ring_frames leaves a second for the writer's claim
        raise DreamSoundError(f"target capture of {seconds:g} s does not fit the input ring ({ring_frames} frames)")
    return frames


class Engine:
    """One performance: ``prepare()`` (devices), ``start()``, ``wait()``, ``stop()``; or ``run()``.

    ``dreamer_factory`` (picklable, called in the dream process) builds what dreams; by
    default YAMNet from the config's ``model:`` section. Tests give a stand-in for timing.
    """

    def __init__(
        self,
        settings: Config,
        dreamer_factory: Callable[[], Any] | None = None,
        log: Callable[[str], None] = log_line,
    ) -> None:
        self.settings = settings
        self.log = log
        self.metrics = Metrics()
        self.activity = ActivityLog()
        self.controls = Controls(
            settings.dream, settings.live, record=settings.record.enabled, metrics=self.metrics
        )
        self.controls.set_validator(self.check_params)
        self.dreamer_factory = dreamer_factory
        self.stream = None
        self.callback: AudioCallback | None = None
        self.supervisor: DreamSupervisor | None = None
        self.shared: SharedState | None = None
        self.recorder: Recorder | None = None
        self.takes: list[Recorder] = []
        self.plan: devices.StreamPlan | None = None
        self.exit_reason = ""
        self.stream_died = False
        self._file_data: np.ndarray | None = None
        self._captured: dict[str, tuple[np.ndarray, int]] = {}  # target sounds taken live (resent on restart)
        self._sound_checked: str | None = None  # the target sound file check_params last found readable
        self._error_listeners: list[Callable[[str], None]] = []
        self._stop = threading.Event()
        self._stream_died = threading.Event()
        self._record_lock = threading.Lock()
        self._started = time.monotonic()
        self.controls.add_listener(self._on_change)

    # --- the model's names, without the model -------------------------------------------
    @property
    def classes(self) -> Any:
        """The model's ClassMap once the dream process has loaded it (None before)."""
        return self.supervisor.classes if self.supervisor is not None else None

    def check_params(self, params: DreamParams) -> None:
        """Refuse now what the dream process would trip on (no TensorFlow here).

        A class name can only be checked once the dream process has sent the class names;
        before that it is accepted and the dream process reports it if it is unknown.
        """
        target = params.target_class
        if target is not None:  # DreamParams has already read auto, -1 and index strings
            if self.classes is not None:
                self.classes.lookup(target)
            elif isinstance(target, int) or str(target).strip().isdigit():
                if not 0 <= int(target) < NUM_CLASSES:
                    raise DreamSoundError(f"class index {target} is out of range; allowed: 0..{NUM_CLASSES - 1}")
        sound = params.target_sound
        if params.mode == "target" and sound and sound not in self._captured and sound != self._sound_checked:
            import soundfile as sf

            try:  # once per target sound, not on every change (a threshold slider sends dozens a second)
                sf.info(str(sound))
            except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as err:
                raise DreamSoundError(f"cannot read audio file {sound}: {err}") from None
            self._sound_checked = sound

    def add_error_listener(self, listener: Callable[[str], None]) -> None:
        """``listener(message)`` on every dream-engine error (OSC sends it as /dream/error)."""
        self._error_listeners.append(listener)

    def _engine_event(self, message: str, error: bool) -> None:
        self.log(message)
        if error:
            for listener in list(self._error_listeners):
                try:
                    listener(message)
                except Exception:
                    pass

    # --- preparation -------------------------------------------------------------------
    def open_devices(self) -> None:
        audio = self.settings.audio
        devices.refresh()
        use_input = audio.input_file is None
        if not use_input:
            try:  # same duplex path as with a microphone when an input exists
                devices.plan_stream(audio.input_device, audio.output_device, audio.samplerate, None, None, True)
                use_input = True
            except DreamSoundError:
                use_input = False
        self.plan = devices.plan_stream(
            audio.input_device,
            audio.output_device,
            audio.samplerate,
            audio.input_channels if audio.input_file is None else None,
            audio.output_channels,
            use_input,
        )

    def prepare(self) -> None:
        """Devices and input file (their errors come fast); the model loads in the dream process."""
        self.open_devices()
        self._load_input_file()

    def _load_input_file(self) -> None:
        assert self.plan is not None
        audio = self.settings.audio
        if audio.input_file is not None and self._file_data is None:
            self._file_data = load_input_file(audio.input_file, self.plan.samplerate, audio.input_channels)

    # --- start/stop --------------------------------------------------------------------
    def _build(self) -> None:
        assert self.plan is not None
        audio, live = self.settings.audio, self.settings.live
        rate = self.plan.samplerate
        window = round(WINDOW_SECONDS * rate)
        hop = max(round(window * (1.0 - live.overlap)), (window + 1) // 2)  # fade <= hop at any rate
        max_block = max(8192, audio.blocksize * 4)
        layout = SegmentLayout(input_frames=input_ring_frames(rate, window), output_frames=2 * window, window=window)
        self.shared = SharedState(layout)
        self.ring = self.shared.input_ring
        self.record_ring = RingBuffer(int(self.settings.record.buffer_seconds * rate), channels=2)
        self.player = GrainPlayer(window, hop, max_block)
        self._hop = hop
        self._load_input_file()
        self.callback = AudioCallback(
            samplerate=rate,
            max_block=max_block,
            input_channels=audio.input_channels if audio.input_file is None else None,
            ring=self.ring,
            player=self.player,
            controls=self.controls,
            metrics=self.metrics,
            record_ring=self.record_ring,
            input_file=self._file_data,
            input_loop=audio.input_loop,
            started=self._started,
            output_ring=self.shared.output_ring,
            standby=live.standby,
        )
        self.supervisor = DreamSupervisor(
            spec_for=self._dream_spec,
            shared=self.shared,
            player=self.player,
            callback=self.callback,
            metrics=self.metrics,
            on_event=self._engine_event,
            activity=self.activity,
        )

    def _dream_spec(self) -> DreamSpec:
        """What a (new) dream process starts from: the current parameters and captured sounds."""
        assert self.plan is not None and self.shared is not None
        snap = self.controls.snapshot()
        cfg, live = self.settings, self.settings.live
        return DreamSpec(
            shm_name=self.shared.name,
            layout=self.shared.layout,
            samplerate=self.plan.samplerate,
            hop=self._hop,
            budget=live.worker_budget,
            context=live.context,
            coverage=live.coverage,
            block=self.settings.audio.blocksize,
            params=snap.params,
            freeze=snap.freeze,
            factory=self.dreamer_factory,
            model=cfg.model,
            threads=cfg.engine.threads,
            device=cfg.engine.device,
            precompile=live.precompile,
            precompile_layers=tuple(live.precompile_layers),
            targets=dict(self._captured),
        )

    def _open_stream(self) -> None:
        assert self.plan is not None and self.callback is not None
        sd = devices.sounddevice()
        plan, audio = self.plan, self.settings.audio
        kwargs = dict(
            samplerate=plan.samplerate,
            blocksize=audio.blocksize,
            dtype="float32",
            latency=audio.latency,
            callback=self.callback,
            finished_callback=self._stream_died.set,
        )
        try:
            if plan.input_device is not None:
                stream = sd.Stream(
                    device=(plan.input_device, plan.output_device),
                    channels=(plan.input_channels, plan.output_channels),
                    **kwargs,
                )
                in_latency, out_latency = stream.latency
            else:
                stream = sd.OutputStream(device=plan.output_device, channels=plan.output_channels, **kwargs)
                in_latency, out_latency = 0.0, stream.latency
            self._stream_died.clear()
            stream.start()
        except (sd.PortAudioError, ValueError) as err:
            raise DreamSoundError(
                f"cannot open the audio stream on {plan.output_name!r} ({err}); is the device busy?"
                f" {devices._available('output')}"
            ) from None
        live_input = plan.input_device is not None and audio.input_file is None
        self.callback.device_latency = out_latency + (in_latency if live_input else 0.0)
        self.stream = stream

    def start(self) -> None:
        """Start the dream process, open the stream (sound at once), and the recorder when enabled."""
        if self.plan is None:
            self.prepare()
        self._build()
        # Move everything that exists now out of the garbage collector's reach: a full collection
        # over many objects holds the GIL for milliseconds the callback may need.
        gc.collect()
        gc.freeze()
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)  # the callback needs the GIL within a fraction of a block
        assert self.callback is not None and self.supervisor is not None
        self.callback.started = self._started  # first_sound / first_dream count from the engine's creation
        self.supervisor.start()
        self._open_stream()
        if self.controls.get("record"):
            self._start_recording()
        plan = self.plan
        assert plan is not None
        source = self.settings.audio.input_file or plan.input_name or "(no input)"
        self.log(
            f"running: {source} -> {plan.output_name}, {plan.samplerate} Hz, block {self.settings.audio.blocksize},"
            f" latency {self.callback.device_latency * 1000:.1f} ms; dreams start when the model is ready"
        )

    def stop(self) -> None:
        """Stop audio, the dream process and finalize the recording. Safe to call twice."""
        self._stop.set()
        if self.stream_died:
            devices.abandon()  # PortAudio's JACK host API aborts the process when terminated without its server
        if self.stream is not None:
            if not self.stream_died:  # a dead JACK stream never acknowledges a stop: leave it
                try:
                    self.stream.stop()
                    self.stream.close()
                except Exception:
                    pass
            self.stream = None
        if self.supervisor is not None:
            self.supervisor.stop()
        self._stop_recording()
        if self.shared is not None:
            self.shared.close()
            self.shared = None
        if hasattr(self, "_switch_interval"):
            sys.setswitchinterval(self._switch_interval)
            gc.unfreeze()

    # --- recording ---------------------------------------------------------------------
    def _on_change(self, name: str, value: Any) -> None:
        if name == "record" and self.callback is not None and not self._stop.is_set():
            if value:
                self._start_recording()
            else:
                self._stop_recording()
        elif (name == "freeze" or name in DreamParams.field_names()) and self.supervisor is not None:
            snap = self.controls.snapshot()
            self.supervisor.send_params(snap.params, snap.freeze)

    def _start_recording(self) -> None:
        with self._record_lock:
            if self._stop.is_set() or (self.recorder is not None and self.recorder.active):
                return  # stopping: a late /dream/record 1 must not start a take nobody closes
            assert self.plan is not None
            recorder = Recorder(
                self.settings.record.dir,
                self.record_ring,
                self.plan.samplerate,
                self.controls,
                self.metrics,
                flush_interval=self.settings.record.flush_interval,
                on_error=self.log,
                activity=self.activity,
            )
            try:
                recorder.start()
            except DreamSoundError as err:
                self.log(str(err))
                self.metrics.record_error = str(err)
                return
            self.recorder = recorder
            self.takes.append(recorder)
            self.log(f"recording to {recorder.paths[0]}")

    def _stop_recording(self) -> None:
        with self._record_lock:
            if self.recorder is not None:
                self.recorder.stop()
                self.recorder = None

    # --- target sound ----------------------------------------------------------------
    def capture_target(self, name: str = "live", seconds: float = WINDOW_SECONDS) -> str:
        """Take the newest ``seconds`` of input as the target sound ``name`` (then ``set("target_sound", name)``)."""
        if self.callback is None or self.supervisor is None:
            raise DreamSoundError("capturing a target sound needs a running engine")
        low, high = CAPTURE_SECONDS
        if not low <= seconds <= high:
            raise DreamSoundError(f"target capture of {seconds:g} s is out of range; allowed: {low:g} to {high:g}")
        rate = self.callback.samplerate
        frames = capture_frames(seconds, rate, self.ring.capacity)
        audio = np.zeros(frames, np.float32)
        self.ring.read_latest(audio)
        self._captured[name] = (audio, rate)  # resampled to the model's rate in the dream process
        self.supervisor.send_target(name, audio, rate)
        recorder = self.recorder
        if recorder is not None and recorder.active:
            from instrument.audiofile import resample  # soxr, no TensorFlow; not the audio thread

            try:  # kept beside the take so `dreamsound replay` has it; a failed write costs only that
                recorder.save_target(name, resample(audio, rate, SAMPLE_RATE), SAMPLE_RATE)
            except OSError as err:
                self.log(f"could not save the captured target sound beside the take: {err}")
        return name

    def xrun_report(self, limit: int = 64) -> list[dict[str, Any]]:
        """Each xrun (the first 64): its time from the engine's start and what else was running then."""
        m = self.metrics
        block = self.settings.audio.blocksize / (self.plan.samplerate if self.plan else 48000)
        report = []
        for i in range(min(m.xrun_blocks, m.xrun_times.shape[0], limit)):
            when = float(m.xrun_times[i])
            report.append(
                {
                    "t": round(when - self._started, 3),
                    "frame": int(m.xrun_frames[i]),
                    "during": self.activity.around(when, before=3 * block),
                }
            )
        return report

    # --- running -----------------------------------------------------------------------
    def request_stop(self, reason: str = "stopped") -> None:
        self.exit_reason = self.exit_reason or reason
        self._stop.set()

    def wait(
        self,
        duration: float | None = None,
        reporter: Reporter | None = None,
        interval: float | None = None,
        poll: float = 0.05,
    ) -> int:
        """Run ``duration`` more seconds of audio, or until the input file's end, a stop request or a dead stream."""
        assert self.plan is not None and self.callback is not None
        rate = self.plan.samplerate
        interval = interval or self.settings.live.status_interval
        stop_frame = math.inf if duration is None else self.metrics.frames + duration * rate
        tail = (self.player.window + self.player.hop) / rate
        wall_limit = math.inf if duration is None else time.monotonic() + duration + 10.0
        next_report = time.monotonic() + interval
        code = 0
        while not self._stop.wait(poll):
            frames = self.metrics.frames
            if frames >= stop_frame:
                self.exit_reason = "the input file has played" if duration is None else f"played {duration:g} s"
                break
            if time.monotonic() > wall_limit:
                self.exit_reason = "the stream stalled"
                code = 1
                break
            audio = self.settings.audio
            if audio.input_file is not None and not audio.input_loop and self.callback.file_done and duration is None:
                stop_frame = min(stop_frame, frames + tail * rate)
            if self.recorder is not None and self.recorder.error:
                self.controls.set("record", False)
            if self.supervisor is not None and self.supervisor.fatal:
                self.exit_reason = self.supervisor.fatal
                code = 2
                break
            if self._stream_died.is_set() or (self.stream is not None and not self.stream.active):
                self.metrics.stream_error = "the audio stream stopped (device gone or server down)"
                self.log(self.metrics.stream_error)
                if audio.on_stream_error == "retry" and self._retry():
                    continue
                self.exit_reason = self.metrics.stream_error
                self.stream_died = True
                code = 1
                break
            if reporter is not None and time.monotonic() >= next_report:
                next_report += interval
                reporter(self.controls.metrics())
        if self._stop.is_set() and not self.exit_reason:
            self.exit_reason = "stopped"
        return code

    def _retry(self) -> bool:
        """Reopen the stream (same devices) until it works or a stop is requested."""
        while not self._stop.is_set():
            try:
                if self.stream is not None:
                    try:
                        self.stream.close()
                    except Exception:
                        pass
                if "JACK" not in self.plan.output_hostapi:  # re-scanning without the JACK server would abort
                    devices.refresh()
                self._open_stream()
                self.metrics.stream_error = ""
                self.log("audio stream reopened")
                return True
            except DreamSoundError as err:
                self.log(f"retrying: {err}")
                self._stop.wait(1.0)
        return False

    def run(
        self,
        duration: float | None = None,
        reporter: Reporter | None = None,
        on_ready: Callable[[Engine], None] | None = None,
        services: Sequence[Any] = (),
    ) -> int:
        """prepare, start, wait (SIGINT/SIGTERM stop cleanly), stop; returns an exit code.

        ``on_ready(engine)`` runs once the devices are open, before audio starts (a
        preset from the command line); ``services`` (``start() -> str`` and ``stop()``,
        e.g. the OSC surface) run while the audio runs.
        """
        self.prepare()
        if on_ready is not None:
            on_ready(self)
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, lambda num, frame: self.request_stop(signal.Signals(num).name))
        started: list[Any] = []
        try:
            for service in services:  # before the audio: a busy OSC port is an error, not a hiccup
                self.log(service.start())
                started.append(service)
            self.start()
            return self.wait(duration, reporter)
        finally:
            self.stop()
            for service in reversed(started):
                service.stop()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


def output_peak_db(value: float) -> str:
    return "-inf" if value <= 0 else f"{20 * np.log10(value):.1f}"
