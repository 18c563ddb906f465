"""Wires the live instrument together and runs one performance.

Two processes: this one (the audio process) holds the stream, the callback, the
rings, the grain player, the limiter, the recorder, the OSC surface and the
controls, and only moves samples; it never imports TensorFlow. The dream process
(``dreamproc``, started and restarted by ``supervisor``) loads the model, compiles,
dreams and classifies. The audio starts as soon as the stream is open (the
standby sound, see ``callback``) and the dreams come in when the model is ready.

The pieces with a job of their own live beside this module: the stream's life
(devices or the software clock, open, reopen, close) in ``stream``, the record
switch in ``recorder``, captured target sounds and the checks of a parameter set
in ``targets``. The engine builds them, checks what can fail before any audio
(weights, input file, record folder, devices), runs the loop and takes the signals.
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

from instrument.audiofile import audio_info
from instrument.config import Config
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.live.activity import ActivityLog
from instrument.live.callback import AudioCallback
from instrument.live.controls import Controls
from instrument.live.dreamproc import DreamSpec, Prelude
from instrument.live.inputfile import load_input_file
from instrument.live.metrics import Metrics
from instrument.live.output import GrainPlayer
from instrument.live.recorder import Recorder, RecordSwitch, check_record_dir
from instrument.live.ringbuffer import RingBuffer
from instrument.live.schedule import schedule_for
from instrument.live.shm import SegmentLayout, SharedState
from instrument.live.stream import LiveStream
from instrument.live.supervisor import DreamSupervisor, Spawned, spawn_early
from instrument.live.targets import TargetSounds, input_ring_frames
from instrument.model.layout import SAMPLE_RATE, WINDOW_SECONDS
from instrument.model.loader import find_weights
from instrument.model.runtime import settle_heap

Reporter = Callable[[dict[str, Any]], None]


def log_line(message: str) -> None:
    print(f"dreamsound: {message}", file=sys.stderr, flush=True)


class Engine:
    """One performance: ``prepare()`` (checks, devices), ``start()``, ``wait()``, ``stop()``; or ``run()``.

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
        self.targets = TargetSounds()
        self.controls.set_validator(lambda params: self.targets.check(params, self.classes))
        self.dreamer_factory = dreamer_factory
        self.stream = LiveStream(settings.audio, log)
        self.callback: AudioCallback | None = None
        self.supervisor: DreamSupervisor | None = None
        self.shared: SharedState | None = None
        self.recording: RecordSwitch | None = None
        self.exit_reason = ""
        self._file_data: np.ndarray | None = None
        self._error_listeners: list[Callable[[str], None]] = []
        self._stop = threading.Event()
        self._weights_on_disk = True  # find_weights in prepare() says otherwise
        self._prespawned: Spawned | None = None  # the dream process, started before the devices (run())
        self._started = time.monotonic()
        self.controls.add_listener(self._on_change)

    @property
    def started(self) -> float:
        """time.monotonic() when this engine was made: what first_sound, dream_ready and first_dream count from."""
        return self._started

    @property
    def plan(self) -> Any:  # devices.StreamPlan once prepared
        return self.stream.plan

    @property
    def recorder(self) -> Recorder | None:
        """The take being recorded, if any."""
        return self.recording.recorder if self.recording is not None else None

    @property
    def takes(self) -> list[Recorder]:
        return self.recording.takes if self.recording is not None else []

    # --- the model's names, without the model -------------------------------------------
    @property
    def classes(self) -> Any:
        """The model's ClassMap once the dream process has loaded it (None before)."""
        return self.supervisor.classes if self.supervisor is not None else None

    def add_error_listener(self, listener: Callable[[str], None]) -> None:
        """``listener(message)`` on every dream-engine error (OSC sends it as /dream/error)."""
        self._error_listeners.append(listener)

    def _engine_event(self, message: str, error: bool) -> None:
        if self.supervisor is None or message != self.supervisor.fatal:  # the fatal one is the exit's reason
            self.log(message)
        if error:
            for listener in list(self._error_listeners):
                try:
                    listener(message)
                except Exception as err:  # one listener's failure (an OSC send) must not keep it from the others
                    self.metrics.listener_errors += 1
                    self.metrics.last_listener_error = f"error listener: {type(err).__name__}: {err}"

    # --- preparation -------------------------------------------------------------------
    def open_devices(self) -> None:
        self.stream.prepare()

    def prepare(self) -> None:
        """What can fail, before any audio: the weights, the input file, the record folder, the devices.

        The model itself loads in the dream process; here its files are found and checked.
        """
        if self.dreamer_factory is None:
            source, self._weights_on_disk = find_weights(self.settings.model)
            if not self._weights_on_disk:
                self.log(f"model: {source} (not on disk: the audio starts once it has loaded)")
        audio = self.settings.audio
        if audio.input_file is not None:
            audio_info(audio.input_file, "input file")
        if self.controls.get("record"):  # --record DIR
            check_record_dir(self.settings.record.dir, self.settings.record.min_free_mb)
        plan = self.stream.prepare()
        if audio.input_file is not None and self._file_data is None:
            self._file_data = load_input_file(audio.input_file, plan.samplerate, audio.input_channels)

    # --- start/stop --------------------------------------------------------------------
    def _build(self) -> None:
        plan = self.plan
        audio, live = self.settings.audio, self.settings.live
        rate = plan.samplerate
        window = round(WINDOW_SECONDS * rate)  # what the status classifies
        self.schedule = schedule = schedule_for(live, rate)  # what each grain plays, when (docs/latency.md)
        max_block = max(8192, audio.blocksize * 4)
        layout = SegmentLayout(
            input_frames=input_ring_frames(rate, window), output_frames=2 * window, window=schedule.grain
        )
        self.shared = SharedState(layout)
        self.ring = self.shared.input_ring
        record_ring = RingBuffer(int(self.settings.record.buffer_seconds * rate), channels=2)
        self.player = GrainPlayer(schedule.grain, schedule.hop, max_block)
        self._hop = schedule.hop
        self.callback = AudioCallback(
            samplerate=rate,
            max_block=max_block,
            input_channels=audio.input_channels if audio.input_file is None else None,
            ring=self.ring,
            player=self.player,
            controls=self.controls,
            metrics=self.metrics,
            record_ring=record_ring,
            input_file=self._file_data,
            input_loop=audio.input_loop,
            started=self._started,  # first_sound / first_dream count from the engine's creation
            output_ring=self.shared.output_ring,
            standby=live.standby,
        )
        self.recording = RecordSwitch(
            self.settings.record, record_ring, rate, self.controls, self.metrics, self.log,
            on_refused=lambda message: self._engine_event(message, error=True), activity=self.activity,
        )
        self.supervisor = DreamSupervisor(
            spec_for=self._dream_spec,
            shared=self.shared,
            player=self.player,
            callback=self.callback,
            metrics=self.metrics,
            on_event=self._engine_event,
            activity=self.activity,
            params_now=self._params_now,
            prespawned=self._prespawned,
        )
        self._prespawned = None  # the supervisor's now

    def _params_now(self) -> tuple[DreamParams, bool]:
        snap = self.controls.snapshot()
        return snap.params, snap.freeze

    def start_dream_process_early(self) -> None:
        """Start the dream process now (TensorFlow's import and the model take seconds): before the devices
        are opened, so that the first dream comes sooner; ``start()`` hands it its spec."""
        if self._prespawned is None and self.supervisor is None:
            cfg = self.settings
            self._prespawned = spawn_early(
                Prelude(self.dreamer_factory, cfg.model, cfg.engine.threads, cfg.engine.device)
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
            targets=dict(self.targets.captured),
        )

    def start(self) -> None:
        """Start the dream process, open the stream (sound at once), and the recorder when enabled."""
        if self.plan is None:
            self.prepare()
        self._build()
        # Move everything that exists now out of the garbage collector's reach: a full collection
        # over many objects holds the GIL for milliseconds the callback may need.
        settle_heap(collect=True)
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)  # the callback needs the GIL within a fraction of a block
        assert self.callback is not None and self.supervisor is not None and self.recording is not None
        self.supervisor.start()
        if not self._weights_on_disk:  # a TF Hub download: only loading it proves it, before any audio
            while self.supervisor.classes is None and not self.supervisor.settled.wait(0.1) and not self._stop.is_set():
                pass
            if self.supervisor.fatal:
                raise DreamSoundError(self.supervisor.fatal)
        self.callback.device_latency = self.stream.open(self.callback)
        if self.controls.get("record"):
            self.recording.start()
        plan = self.plan
        source = self.settings.audio.input_file or plan.input_name or "(no input)"
        self.log(
            f"running: {source} -> {plan.output_name}, {plan.samplerate} Hz, block {self.settings.audio.blocksize},"
            f" latency {self.callback.device_latency * 1000:.1f} ms; dreams start when the model is ready"
        )

    def stop(self) -> None:
        """Stop audio, the dream process and finalize the recording. Safe to call twice."""
        self._stop.set()
        self.stream.close()
        if self._prespawned is not None:  # started early, never handed a spec
            self._prespawned.end()
            self._prespawned = None
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.recording is not None:
            self.recording.close()
        if self.shared is not None:
            self.shared.close()
            self.shared = None
        if hasattr(self, "_switch_interval"):
            sys.setswitchinterval(self._switch_interval)
            gc.unfreeze()

    def _on_change(self, name: str, value: Any) -> None:
        if name == "record" and self.recording is not None and not self._stop.is_set():
            self.recording.set(bool(value))
        elif (name == "freeze" or name in DreamParams.field_names()) and self.supervisor is not None:
            snap = self.controls.snapshot()
            self.supervisor.send_params(snap.params, snap.freeze)

    # --- target sound ----------------------------------------------------------------
    def capture_target(self, name: str = "live", seconds: float = WINDOW_SECONDS) -> str:
        """Take the newest ``seconds`` of input as the target sound ``name`` (then ``set("target_sound", name)``)."""
        if self.callback is None or self.supervisor is None:
            raise DreamSoundError("capturing a target sound needs a running engine")
        rate = self.callback.samplerate
        audio = self.targets.capture(name, seconds, self.ring, rate)
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
        return [
            {
                "t": round(float(m.xrun_times[i]) - self._started, 3),
                "frame": int(m.xrun_frames[i]),
                "during": self.activity.around(float(m.xrun_times[i]), before=3 * block),
            }
            for i in range(min(m.xrun_blocks, m.xrun_times.shape[0], limit))
        ]

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
        assert self.plan is not None and self.callback is not None and self.recording is not None
        rate = self.plan.samplerate
        audio = self.settings.audio
        interval = interval or self.settings.live.status_interval
        stop_frame = math.inf if duration is None else self.metrics.frames + duration * rate
        tail = (self.schedule.delay + self.schedule.hop) / rate  # the dream of the file's last sample, played
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
            if audio.input_file is not None and not audio.input_loop and self.callback.file_done and duration is None:
                stop_frame = min(stop_frame, frames + tail * rate)
            if self.recording.poll():  # a take refused or stopped by a write error: the switch reads off
                self.controls.set("record", False)
            if self.supervisor is not None and self.supervisor.fatal:
                self.exit_reason = self.supervisor.fatal
                code = 2
                break
            if self.stream.lost():
                self.metrics.stream_error = "the audio stream stopped (device gone or server down)"
                self.log(self.metrics.stream_error)
                if audio.on_stream_error == "retry":
                    latency = self.stream.reopen(self._stop)
                    if latency is not None:
                        self.callback.device_latency = latency
                        self.metrics.stream_error = ""
                        continue
                self.exit_reason = self.metrics.stream_error
                self.stream.dead = True
                code = 1
                break
            if reporter is not None and time.monotonic() >= next_report:
                next_report += interval
                reporter(self.controls.metrics())
        if self._stop.is_set() and not self.exit_reason:
            self.exit_reason = "stopped"
        return code

    def run(
        self,
        duration: float | None = None,
        reporter: Reporter | None = None,
        on_ready: Callable[[Engine], None] | None = None,
        services: Sequence[Any] = (),
    ) -> int:
        """prepare, start, wait (SIGINT/SIGTERM stop cleanly), stop; returns an exit code.

        ``on_ready(engine)`` runs once the checks have passed and the devices are found, before
        audio starts (a preset from the command line); ``services`` (``start() -> str`` and
        ``stop()``, e.g. the OSC surface) run while the audio runs.
        """
        if self.dreamer_factory is None:  # YAMNet: its import and loading overlap the checks and devices
            self.start_dream_process_early()
        try:
            self.prepare()
        except BaseException:
            self.stop()
            raise
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
