"""``dreamsound run`` (the live instrument) and ``dreamsound devices`` (what PortAudio sees)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from instrument.cli.common import add_setting_options, config_from, given
from instrument.config import Config
from instrument.errors import DreamSoundError
from instrument.settings import AudioSettings, LiveSettings, OscSettings

# The run options that mirror config settings (field -> metavar); help and type come from the settings.
AUDIO_OPTIONS = {
    "input_device": "D", "output_device": "D", "samplerate": "SR", "blocksize": "N",
    "output_channels": "N", "input_file": "F", "input_loop": "", "no_device": "",
}
LIVE_OPTIONS = {"headless": "", "duration": "S"}


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run",
        help="play the live instrument (microphone or --input-file -> dream -> speakers)",
        description="Play DreamSound live: input -> YAMNet dream worker -> output. Every option can also be set in"
        " config.yaml (sections audio:, live:, record:, osc:).",
    )
    add_setting_options(run, AudioSettings, AUDIO_OPTIONS, {"input_loop": "--loop"})
    run.add_argument(
        "--channels",
        metavar="LIST",
        help="input channels to use, 1-based, comma-separated, mixed down (default: all); output goes to every"
        " output channel",
    )
    run.add_argument("--record", metavar="DIR", help="record the dry input, the output and a parameter log into DIR")
    add_setting_options(run, LiveSettings, LIVE_OPTIONS)
    run.add_argument("--preset", metavar="N", type=int, help="start with preset N (osc.presets_file)")
    add_setting_options(run, OscSettings, {"port": "PORT"}, {"port": "--osc-port"})
    run.add_argument("--no-osc", action="store_true", help="no OSC control surface (osc.enabled: false)")
    run.set_defaults(handler=run_command)

    devices = subparsers.add_parser("devices", help="list the audio devices PortAudio sees")
    devices.add_argument("--json", action="store_true", help="print JSON")
    devices.set_defaults(handler=devices_command)


def _channels(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise DreamSoundError(f"--channels {text!r} must be channel numbers like 1 or 1,2") from None
    return values


def build_settings(args: argparse.Namespace) -> Config:
    """The config file's settings with what the command line gave on top (checked as the file's are)."""
    settings = config_from(args)
    audio_changes = given(args, AUDIO_OPTIONS)
    for name in ("input_device", "output_device"):
        if name in audio_changes:
            audio_changes[name] = _device(audio_changes[name])
    channels = _channels(args.channels)
    if channels is not None:
        audio_changes["input_channels"] = channels
    record = settings.record
    if args.record:
        record = dataclasses.replace(record, dir=args.record, enabled=True)
    osc = dataclasses.replace(settings.osc, **given(args, ["port"]))
    if args.no_osc:
        osc = dataclasses.replace(osc, enabled=False)
    return dataclasses.replace(
        settings,
        audio=dataclasses.replace(settings.audio, **audio_changes),
        live=dataclasses.replace(settings.live, **given(args, LIVE_OPTIONS)),
        record=record,
        osc=osc,
    )


def _device(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


def status_text(m: dict[str, Any], params: Any = None, class_name: Any = None) -> str:
    """The status line: mode, layer, target, output class, levels, iterations, latency, xruns, recording."""
    from instrument.live.metrics import status_line

    return status_line(m, params, class_name)


def _status(engine: Any, m: dict[str, Any]) -> str:
    classes = engine.classes  # None until the dream process has loaded the model

    def class_name(index: int) -> str:
        return classes[index].name if classes is not None else f"class {index}"

    return status_text(m, engine.controls.params, class_name)


def _osc(settings: Config, engine: Any) -> list[Any]:
    """The OSC surface to run beside the engine (none with --no-osc or osc.enabled: false)."""
    if not settings.osc.enabled:
        return []
    from instrument.osc.service import OscService

    return [OscService(engine, settings.osc)]


def file_locations(settings: Config) -> list[str]:
    """Where this run writes and looks for files, one line each (docs/files.md)."""
    return [
        f"takes: {settings.record.dir}",
        f"presets: {settings.osc.presets_file}",
        f"target sounds: {settings.osc.target_sound_dir}",
    ]


def _on_ready(number: int | None, settings: Config):
    """Once the checks have passed (before the audio): the file locations, then preset ``number``."""
    values = None
    if number is not None:
        from instrument.osc.namespace import preset_number
        from instrument.osc.presets import PresetStore

        store = PresetStore(settings.osc.presets_file)
        values = store.load(preset_number([number]))  # a clear error now, before any audio

    def ready(engine: Any) -> None:
        for line in file_locations(settings):
            engine.log(line)
        if values is not None:
            engine.controls.set_many(values)
            engine.log(f"preset {number} loaded from {store.path}")

    return ready


def run_command(args: argparse.Namespace) -> int:
    from instrument.live.engine import Engine

    settings = build_settings(args)
    engine = Engine(settings)
    services = _osc(settings, engine)
    on_ready = _on_ready(args.preset, settings)
    headless = settings.live.headless
    duration = settings.live.duration
    tty = sys.stderr.isatty() and not headless
    if tty:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        console = Console(stderr=True)
        with Live("starting…", console=console, refresh_per_second=4, transient=False) as live:

            def reporter(m: dict[str, Any]) -> None:
                live.update(Text(_status(engine, m)))

            engine.settings = dataclasses.replace(
                settings, live=dataclasses.replace(settings.live, status_interval=0.25)
            )
            code = engine.run(duration, reporter, on_ready, services)
    else:

        def reporter(m: dict[str, Any]) -> None:
            print(f"dreamsound: {_status(engine, m)}", file=sys.stderr, flush=True)

        code = engine.run(duration, reporter, on_ready, services)
    summary = engine.controls.metrics(reset_peaks=False)
    summary["exit_reason"] = engine.exit_reason
    # first_sound / dream_ready / first_dream count from here: time.monotonic() (the system's monotonic clock,
    # so a launcher can add the interpreter's own start-up, as benchmarks/live_latency.py does)
    summary["engine_started_at"] = engine.started
    summary["takes"] = [str(p) for take in engine.takes for p in [*take.paths, take.log_path]]
    print(f"dreamsound: {engine.exit_reason}; xruns {summary['xruns']}", file=sys.stderr, flush=True)
    if headless:
        print(json.dumps(summary), flush=True)
    return code


def devices_command(args: argparse.Namespace) -> int:
    from instrument.live import devices

    devices.refresh()
    listing = devices.list_devices()
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    sd = devices.sounddevice()
    print(f"PortAudio: {sd.get_portaudio_version()[1]}")
    print(devices.describe_devices(headers=True))
    if listing:
        print("A device name picks from the first host API above that has it; add a host API's name")
        print("('Headset MME') or give the index to choose another.")
    return 0
