"""The ``engine:``, ``render:``, ``audio:``, ``live:``, ``record:`` and ``osc:`` sections of ``config.yaml``.

Each field is described once, by ``setting(...)`` (``instrument.spec``), and each section checks its
own values, so a wrong value fails with the same message wherever it comes from (file, command line,
OSC). ``model:`` is ``instrument.model.loader.ModelSettings``; ``dream:`` is
``instrument.dream.params.DreamParams``. Plain data: no audio, no network, no TensorFlow.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from instrument.dream.params import LAYERS, OBJECTIVES, DreamParams
from instrument.errors import DreamSoundError
from instrument.model.runtime import DEVICES
from instrument.spec import Spec, check_fields, check_number, check_value, coerce, setting, specs

LATENCIES = ("low", "high")
ON_STREAM_ERROR = ("exit", "retry")
STANDBY = ("dry", "silence")
GRAINS = ("hop", "window")
MAX_CHANNELS = 256


@dataclass(frozen=True)
class EngineSettings:
    """How TensorFlow runs."""

    threads: int = setting(1, kind="int", low=0, high=1024,
                           description="TensorFlow threads (0 = its default)",
                           comment="1 is fastest for YAMNet on a CPU and leaves a core to audio")
    device: str = setting("auto", kind="choice", choices=DEVICES, description="where TensorFlow runs",
                          comment="auto = GPU when TensorFlow sees one")

    def __post_init__(self) -> None:
        check_fields(self, "engine.")


@dataclass(frozen=True)
class RenderSettings:
    """Offline render and replay: the whole signal dreamed as one (see ``instrument.dream.render``)."""

    coverage: float = setting(2.0, kind="float", low=1.0, high=8.0,
                              description="windows over every sample per iteration",
                              comment="at offsets drawn afresh each iteration")
    chunk_seconds: float = setting(20.0, kind="float", low=2.0, high=120.0, unit="s",
                                   description="longest piece dreamed as one buffer",
                                   comment="pieces get one window of context each side")
    crossfade_seconds: float = setting(0.2, kind="float", low=0.01, high=1.0, unit="s",
                                       description="crossfade at chunk joins and replay region changes")
    seed: int = setting(0, kind="int", low=0, high=2**32 - 1,
                        description="random seed of the window offsets (same seed, same output)")
    objective: str = setting("windows", kind="choice", choices=OBJECTIVES,
                             description="how the windows' loss is computed: windows (each window through the "
                                         "network alone), early (layers 1-5 once over the buffer, then each "
                                         "window alone), shared (the whole network once over the buffer)",
                             comment="render and replay (live dreams with windows); shared is faster but dreams "
                                     "less on the output (measured: docs/speed.md)")

    def __post_init__(self) -> None:
        check_fields(self, "render.")

    def layout(self):  # -> instrument.dream.render.Layout (imports TensorFlow lazily)
        from instrument.dream.render import Layout

        return Layout(self.coverage, self.chunk_seconds, self.crossfade_seconds, objective=self.objective)


def _check_device(name: str, value: object) -> None:
    index = isinstance(value, int) and not isinstance(value, bool)
    if value is not None and not isinstance(value, str) and not index:
        raise DreamSoundError(f"{name} {value!r} must be a device name (or part of one), an index, or null")


@dataclass(frozen=True)
class AudioSettings:
    """Which devices, at which rate and block size, which channels, what input."""

    input_device: str | int | None = setting(None, kind="any", nullable=True,
                                             description="name (or part of one) or index; null = default input")
    output_device: str | int | None = setting(None, kind="any", nullable=True,
                                              description="name (or part of one) or index; null = default output")
    samplerate: int | None = setting(None, kind="int", low=8000, high=384000, nullable=True, unit="Hz",
                                     description="device sample rate; null = the output device's default rate")
    blocksize: int = setting(256, kind="int", low=16, high=8192, unit="frames",
                             description="frames per audio callback")
    latency: str | float = setting("low", kind="any", description="low | high | seconds (0 to 2)")
    input_channels: tuple[int, ...] | None = setting(
        None, kind="any", nullable=True,
        description="1-based list, mixed down, e.g. [1] or [1, 2]; null = all")
    output_channels: int | None = setting(None, kind="int", low=1, high=MAX_CHANNELS, nullable=True,
                                          description="output channels to open; null = all of the device's",
                                          comment="the same signal on each")
    input_file: str | None = setting(None, kind="text", nullable=True,
                                     description="play this audio file instead of the microphone")
    input_loop: bool = setting(False, kind="bool", description="loop input_file; otherwise the run ends after it")
    no_device: bool = setting(False, kind="bool",
                              description="no audio device: input_file plays on a software clock, nothing is heard"
                              " (--no-device)",
                              comment="also chosen when PortAudio has no output device and input_file is set")
    on_stream_error: str = setting("exit", kind="choice", choices=ON_STREAM_ERROR,
                                   description="a stream that dies mid-performance: exit (code 1) or retry")

    def __post_init__(self) -> None:
        _check_device("audio.input_device", self.input_device)
        _check_device("audio.output_device", self.output_device)
        check_fields(self, "audio.")
        if isinstance(self.latency, str):
            if self.latency not in LATENCIES:
                raise DreamSoundError(f"audio.latency {self.latency!r} is not allowed; allowed: low, high, or seconds")
        else:
            check_number("audio.latency", self.latency, 0.0, 2.0)
        if self.input_channels is not None:
            channels = self.input_channels
            if isinstance(channels, list):
                channels = tuple(channels)
                object.__setattr__(self, "input_channels", channels)
            if (
                not isinstance(channels, tuple)
                or not channels
                or not all(isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= MAX_CHANNELS
                           for c in channels)
                or len(set(channels)) != len(channels)
            ):
                raise DreamSoundError(
                    f"audio.input_channels {self.input_channels!r} must be a list of distinct channel numbers from 1"
                    " (e.g. [1] or [1, 2]) or null for all"
                )


@dataclass(frozen=True)
class LiveSettings:
    """How windows are scheduled and the performance controls' starting values."""

    # What each grain plays (docs/latency.md). "hop": the newest `hop` of the dream plus `crossfade` (the
    # latency is the dreaming time + hop + crossfade: 0.61 s + the device's at the defaults); "window": the
    # whole 0.975 s window, grains every window x (1 - overlap) (each sample dreamed on in two hops before it
    # plays, the latency a window longer: ~1.4 s at 50 % overlap). The dream continues across hops either way.
    grain: str = setting("hop", kind="choice", choices=GRAINS,
                         description="what each grain plays: the newest hop + crossfade, or the whole window",
                         comment="hop: latency ~ (1 + worker_budget) x hop + crossfade; window: ~1.4 s")
    hop: float = setting(0.05, kind="float", low=0.02, high=0.4875, unit="s",
                         description="seconds between grains (grain: hop)")
    crossfade: float = setting(0.01, kind="float", low=0.005, high=0.2, unit="s",
                               description="crossfade between grains (grain: hop; at most the hop)")
    overlap: float = setting(0.5, kind="float", low=0.05, high=0.5,
                             description="window overlap at the output (grain: window)")
    # The time between a window's capture and its grain start, as a share of the hop: the newest sample's
    # dreaming time (capped at 0.55 s). Above 1 the worker's buffer runs ahead of the grains (it always takes
    # the newest input), so every sample is dreamed on for that many hops before it plays.
    worker_budget: float = setting(11.0, kind="float", low=0.1, high=16.0,
                                   description="time from a window's capture to its grain start, in hops",
                                   comment="the newest sample's dreaming time = worker_budget x hop")
    # What holds the dream at any framing (README "What you hear"): each hop the worker continues a buffer
    # of `context` windows (the newest plus older, already dreamed context) and every iteration takes its
    # loss over windows at fresh random offsets, `coverage` of them over each sample. More of either holds
    # the dream better and costs time per iteration (fewer iterations per window).
    context: float = setting(1.5, kind="float", low=1.0, high=4.0, unit="windows",
                             description="length of the buffer the worker dreams on, in windows")
    coverage: float = setting(2.0, kind="float", low=1.0, high=8.0,
                              description="windows over each sample per iteration, at jittered offsets")
    mix: float = setting(1.0, kind="float", low=0.0, high=1.0, osc="mix", live=True,
                         description="dry/wet (1 = all dream)",
                         comment="0 = the input, no latency; 1 = the dream (full band: the input's upper band in it)",
                         label="mix (dry/wet)")
    gain: float = setting(0.0, kind="float", low=-60.0, high=24.0, unit="dB", osc="gain", live=True,
                          description="output gain in dB")
    ceiling: float = setting(-1.0, kind="float", low=-40.0, high=0.0, unit="dBFS", osc="ceiling", live=True,
                             description="limiter ceiling in dBFS")
    freeze: bool = setting(False, kind="bool", osc="freeze", live=True,
                           description="hold the input buffer and keep dreaming it")
    status_interval: float = setting(2.0, kind="float", low=0.1, high=3600.0, unit="s",
                                     description="seconds between headless status lines")
    headless: bool = setting(False, kind="bool",
                             description="log lines instead of the live status line (--headless)")
    duration: float | None = setting(None, kind="float", low=0.001, high=1e7, nullable=True, unit="s",
                                     description="stop after this many seconds (--duration); null: run until stopped")
    # Compile all modes (x flip) for the configured layer in the dream process, in the background once the
    # first dreams play; a layer, mode or STFT size not compiled yet is compiled when asked for, while the
    # dreams go on with the previous one (the audio never waits for either).
    precompile: bool = setting(True, kind="bool",
                               description="compile every mode x flip for the layer in the background (dream process)")
    precompile_layers: list[str] = setting(default_factory=list, kind="any",
                                                 description="more layers to compile ahead (~3 s each)")
    # What plays instead of the dream while there is none yet (model loading) or the dream engine restarts:
    # "dry" the input at the performer's gain, "silence" only the mix's dry share.
    standby: str = setting("dry", kind="choice", choices=STANDBY,
                           description="while no dream plays (model loading, engine restarting)")

    def __post_init__(self) -> None:
        check_fields(self, "live.")
        if self.crossfade > self.hop:
            raise DreamSoundError(
                f"live.crossfade {self.crossfade:g} is longer than live.hop {self.hop:g}; allowed: up to the hop"
                " (two grains overlap at most)"
            )
        layers = self.precompile_layers
        if not isinstance(layers, (list, tuple)) or any(layer not in LAYERS for layer in layers):
            raise DreamSoundError(
                f"live.precompile_layers {layers!r} must be a list of layers; allowed: {', '.join(LAYERS)}"
            )


@dataclass(frozen=True)
class RecordSettings:
    """Rehearsal recording (also switchable at run time)."""

    enabled: bool = setting(False, kind="bool", osc="record", live=True, control="record",
                            description="rehearsal recording on/off",
                            comment="record from the start (--record DIR)")
    dir: str = setting("recordings", kind="text", description="where takes are written",
                       comment="take-YYYYmmdd-HHMMSS.wav + .params.jsonl")
    flush_interval: float = setting(0.5, kind="float", low=0.05, high=1.0, unit="s",
                                    description="header update period = most audio lost on kill -9")
    buffer_seconds: float = setting(20.0, kind="float", low=2.0, high=600.0, unit="s",
                                    description="audio buffered for the writer thread")
    min_free_mb: float = setting(256.0, kind="float", low=0.0, high=1e9, unit="MiB",
                                 description="free space a take's folder needs before recording starts",
                                 comment="256 MiB ~ 11 min at 48 kHz")

    def __post_init__(self) -> None:
        check_fields(self, "record.")


def _check_ip(name: str, value: object, example: str) -> None:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        raise DreamSoundError(f"{name} {value!r} must be an IP address{example}") from None


@dataclass(frozen=True)
class OscSettings:
    """Where the OSC server listens, who may talk to it, where its files live."""

    enabled: bool = setting(True, kind="bool", description="the OSC control surface (--no-osc turns it off)")
    host: str = setting("127.0.0.1", kind="any", description="listen here",
                        comment="0.0.0.0 or a LAN address only when you mean it")
    port: int = setting(9000, kind="int", low=0, high=65535,
                       description="the UDP port OSC messages are sent to (--osc-port)")
    feedback_port: int = setting(9001, kind="int", low=1, high=65535,
                                 description="replies also go to this port on the sender's host",
                                 comment="Max: [udpreceive 9001]")
    status_rate: float = setting(10.0, kind="float", low=0.0, high=100.0, unit="per second",
                                 description="/dream/status/... messages per second (0 = off)")
    client_timeout: float = setting(60.0, kind="float", low=1.0, high=86400.0, unit="seconds",
                                    description="a sender that sends nothing for this long stops receiving replies"
                                    " and status",
                                    comment="the panels send /dream/ping every third of it")
    allow: tuple[str, ...] = setting(default_factory=tuple, kind="any",
                                     description="when listening beyond loopback: sender IPs allowed (empty = anyone)")
    presets_file: str = setting("presets.yaml", kind="text",
                                description="/dream/preset/save|load N, dreamsound run --preset N")
    target_sound_dir: str = setting("sounds", kind="text",
                                    description="/dream/target_sound NAME loads only files from here")
    oscquery: bool = setting(True, kind="bool",
                             description="serve the namespace over OSCQuery (HTTP) for Max/ossia, TouchOSC, Chataigne")
    oscquery_port: int = setting(9002, kind="int", low=0, high=65535, description="the OSCQuery HTTP port")
    zeroconf: bool = setting(False, kind="bool", description="also advertise with mDNS on the network")

    def __post_init__(self) -> None:
        check_fields(self, "osc.")
        _check_ip("osc.host", self.host, " (e.g. 127.0.0.1 or 0.0.0.0)")
        if not isinstance(self.allow, (list, tuple)):
            raise DreamSoundError(f"osc.allow {self.allow!r} must be a list of IP addresses")
        for address in self.allow:
            _check_ip("osc.allow:", address, "")
        object.__setattr__(self, "allow", tuple(str(a) for a in self.allow))

    @property
    def loopback_only(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback


# What a performer changes while playing, by the controls' name: the dream's fields, then the live
# switches (mix, gain, ceiling, freeze) and recording. The OSC namespace, the controls, presets and
# the replay of a take's log all read this table.
DREAM_CONTROLS: dict[str, Spec] = {name: spec for name, spec in specs(DreamParams).items() if spec.live}
LIVE_CONTROLS: dict[str, Spec] = {
    spec.control or name: spec for cls in (LiveSettings, RecordSettings) for name, spec in specs(cls).items()
    if spec.live
}
CONTROLS: dict[str, Spec] = {**DREAM_CONTROLS, **LIVE_CONTROLS}


def control_value(name: str, value: Any) -> Any:
    """A performer's value for control ``name`` in its type; live controls range-checked here, dream fields by
    ``DreamParams`` (which also checks how they combine)."""
    spec = CONTROLS.get(name)
    if spec is None:
        raise DreamSoundError(f"unknown parameter {name!r}; parameters: {', '.join(CONTROLS)}")
    value = coerce(name, spec, value)
    if name in LIVE_CONTROLS:
        check_value(name, spec, value)
    return value


def control_default(name: str) -> Any:
    """The starting value of control ``name`` (its field's default)."""
    if name in DREAM_CONTROLS:
        return getattr(DreamParams(), name)
    for cls in (LiveSettings, RecordSettings):
        for field_name, spec in specs(cls).items():
            if (spec.control or field_name) == name:
                return getattr(cls(), field_name)
    raise KeyError(name)
