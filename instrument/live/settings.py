"""The ``audio:``, ``live:`` and ``record:`` sections of ``config.yaml``, each validating its own values."""

from __future__ import annotations

from dataclasses import dataclass, field

from instrument.config import register_section
from instrument.errors import DreamSoundError

LATENCIES = ("low", "high")
ON_STREAM_ERROR = ("exit", "retry")
STANDBY = ("dry", "silence")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _check_range(name: str, value: object, low: float, high: float) -> None:
    if not _is_number(value):
        raise DreamSoundError(f"{name} {value!r} must be a number from {low:g} to {high:g}")
    if not low <= float(value) <= high:  # type: ignore[arg-type]
        raise DreamSoundError(f"{name} {value!r} is out of range; allowed: {low:g} to {high:g}")


def _check_device(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str) and not _is_int(value):
        raise DreamSoundError(f"{name} {value!r} must be a device name (or part of one), an index, or null")


@dataclass(frozen=True)
class AudioSettings:
    """The ``audio:`` section: which devices, at which rate and block size, which channels, what input."""

    input_device: str | int | None = None  # null: the default input device
    output_device: str | int | None = None  # null: the default output device
    samplerate: int | None = None  # null: the output device's default rate
    blocksize: int = 256  # frames per callback
    latency: str | float = "low"  # "low", "high" or seconds
    input_channels: tuple[int, ...] | None = None  # 1-based; mixed down; null: all of the device's channels
    output_channels: int | None = None  # null: all of the output device's channels (the same signal on each)
    input_file: str | None = None  # play this file into the engine instead of the microphone
    input_loop: bool = False  # loop input_file (otherwise the run ends when it has played out)
    on_stream_error: str = "exit"  # a stream that dies mid-performance: "exit" or "retry"

    def __post_init__(self) -> None:
        _check_device("audio.input_device", self.input_device)
        _check_device("audio.output_device", self.output_device)
        if self.samplerate is not None and (not _is_int(self.samplerate) or not 8000 <= self.samplerate <= 384000):
            raise DreamSoundError(
                f"audio.samplerate {self.samplerate!r} must be a whole number from 8000 to 384000 or null"
            )
        if not _is_int(self.blocksize) or not 16 <= self.blocksize <= 8192:
            raise DreamSoundError(f"audio.blocksize {self.blocksize!r} must be a whole number from 16 to 8192")
        if isinstance(self.latency, str):
            if self.latency not in LATENCIES:
                raise DreamSoundError(f"audio.latency {self.latency!r} is not allowed; allowed: low, high, or seconds")
        else:
            _check_range("audio.latency", self.latency, 0.0, 2.0)
        if self.input_channels is not None:
            channels = self.input_channels
            if isinstance(channels, list):
                object.__setattr__(self, "input_channels", tuple(channels))
                channels = self.input_channels
            if (
                not isinstance(channels, tuple)
                or not channels
                or not all(_is_int(c) and 1 <= c <= 256 for c in channels)
                or len(set(channels)) != len(channels)
            ):
                raise DreamSoundError(
                    f"audio.input_channels {self.input_channels!r} must be a list of distinct channel numbers from 1"
                    " (e.g. [1] or [1, 2]) or null for all"
                )
        out = self.output_channels
        if out is not None and (not _is_int(out) or not 1 <= out <= 256):
            raise DreamSoundError(f"audio.output_channels {self.output_channels!r} must be a whole number >= 1 or null")
        if self.input_file is not None and (not isinstance(self.input_file, str) or not self.input_file):
            raise DreamSoundError(f"audio.input_file {self.input_file!r} must be a file path or null")
        if not isinstance(self.input_loop, bool):
            raise DreamSoundError(f"audio.input_loop {self.input_loop!r} must be true or false")
        if self.on_stream_error not in ON_STREAM_ERROR:
            raise DreamSoundError(
                f"audio.on_stream_error {self.on_stream_error!r} is not allowed; allowed: {', '.join(ON_STREAM_ERROR)}"
            )


@dataclass(frozen=True)
class LiveSettings:
    """The ``live:`` section: how windows are scheduled and the performance controls' starting values."""

    overlap: float = 0.5  # overlap of successive dreamed windows at the output (0.05 to 0.5)
    # Share of the hop (window x (1 - overlap)) between a window's capture and its grain start: the time the
    # worker has to dream it. Latency is about worker_budget x hop: 0.8 at 48 kHz is 0.39 s.
    worker_budget: float = 0.8
    mix: float = 1.0  # dry/wet: 0 = dry input only, 1 = dreamed sound only
    gain: float = 0.0  # output gain in dB
    ceiling: float = -1.0  # safety limiter ceiling in dBFS
    freeze: bool = False  # hold the input buffer so iterations keep deepening the same sound
    status_interval: float = 2.0  # seconds between status log lines with --headless
    headless: bool = False  # periodic log lines instead of the live status line (also --headless)
    duration: float | None = None  # stop cleanly after this many seconds (also --duration); null: run until stopped
    # Compile all modes (x flip) for the configured layer in the dream process, in the background once the
    # first dreams play; a layer, mode or STFT size not compiled yet is compiled when asked for, while the
    # dreams go on with the previous one (the audio never waits for either).
    precompile: bool = True
    precompile_layers: list[str] = field(default_factory=list)  # more layers to compile ahead (~3 s each)
    # What plays instead of the dream while there is none yet (model loading) or the dream engine restarts:
    # "dry" the input at the performer's gain, "silence" only the mix's dry share.
    standby: str = "dry"

    def __post_init__(self) -> None:
        _check_range("live.overlap", self.overlap, 0.05, 0.5)
        _check_range("live.worker_budget", self.worker_budget, 0.1, 1.0)
        _check_range("live.mix", self.mix, 0.0, 1.0)
        _check_range("live.gain", self.gain, -60.0, 24.0)
        _check_range("live.ceiling", self.ceiling, -40.0, 0.0)
        if not isinstance(self.freeze, bool):
            raise DreamSoundError(f"live.freeze {self.freeze!r} must be true or false")
        _check_range("live.status_interval", self.status_interval, 0.1, 3600.0)
        if not isinstance(self.headless, bool):
            raise DreamSoundError(f"live.headless {self.headless!r} must be true or false")
        if self.duration is not None:
            _check_range("live.duration", self.duration, 0.001, 1e7)
        if not isinstance(self.precompile, bool):
            raise DreamSoundError(f"live.precompile {self.precompile!r} must be true or false")
        if self.standby not in STANDBY:
            raise DreamSoundError(f"live.standby {self.standby!r} is not allowed; allowed: {', '.join(STANDBY)}")
        from instrument.dream.params import LAYERS

        layers = self.precompile_layers
        if not isinstance(layers, (list, tuple)) or any(layer not in LAYERS for layer in layers):
            raise DreamSoundError(
                f"live.precompile_layers {layers!r} must be a list of layers; allowed: {', '.join(LAYERS)}"
            )


@dataclass(frozen=True)
class RecordSettings:
    """The ``record:`` section: rehearsal recording (also switchable at run time)."""

    enabled: bool = False  # start recording when the performance starts (--record DIR sets this)
    dir: str = "recordings"  # where takes are written
    flush_interval: float = 0.5  # seconds between header updates: at most this much is lost on kill -9
    buffer_seconds: float = 20.0  # audio the callback can hand over before the writer must catch up

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise DreamSoundError(f"record.enabled {self.enabled!r} must be true or false")
        if not isinstance(self.dir, str) or not self.dir:
            raise DreamSoundError(f"record.dir {self.dir!r} must be a directory path")
        _check_range("record.flush_interval", self.flush_interval, 0.05, 1.0)
        _check_range("record.buffer_seconds", self.buffer_seconds, 2.0, 600.0)


register_section("audio", AudioSettings)
register_section("live", LiveSettings)
register_section("record", RecordSettings)
