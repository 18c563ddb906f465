"""``dreamsound run`` (the live instrument) and ``dreamsound devices`` (what PortAudio sees)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from instrument.cli.common import add_setting_options, config_from
from instrument.config import Config
from instrument.errors import DreamSoundError
from instrument.settings import AudioSettings


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run",
        help="play the live instrument (microphone or --input-file -> dream -> speakers)",
        description="Play DreamSound live: input -> YAMNet dream worker -> output. Every option can also be set in"
        " config.yaml (sections audio:, live:, record:).",
    )
    run.add_argument("--input-device", metavar="D", help="input device name (or part of one) or index")
    run.add_argument("--output-device", metavar="D", help="output device name (or part of one) or index")
    add_setting_options(run, AudioSettings, {"samplerate": "SR", "blocksize": "N"})
    run.add_argument(
        "--channels",
        metavar="LIST",
        help="input channels to use, 1-based, comma-separated, mixed down (default: all); output goes to every"
        " output channel",
    )
    add_setting_options(run, AudioSettings, {"output_channels": "N", "input_file": "F"})
    run.add_argument("--loop", action="store_true", default=None, help="loop --input-file")
    run.add_argument("--record", metavar="DIR", help="record the dry input, the output and a parameter log into DIR")
    run.add_argument("--headless", action="store_true", help="no live status line: periodic log lines instead")
    run.add_argument("--duration", metavar="S", type=float, help="stop cleanly after S seconds")
    run.add_argument("--preset", metavar="N", type=int, help="start with preset N (osc.presets_file)")
    run.add_argument("--osc-port", metavar="PORT", type=int, help="OSC port (default osc.port, 9000)")
    run.add_argument("--no-osc", action="store_true", help="no OSC control surface")
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
    settings = config_from(args)
    audio_changes = {
        "input_device": _device(args.input_device),
        "output_device": _device(args.output_device),
        "samplerate": args.samplerate,
        "blocksize": args.blocksize,
        "input_channels": _channels(args.channels),
        "output_channels": args.output_channels,
        "input_file": args.input_file,
        "input_loop": args.loop,
    }
    audio = dataclasses.replace(settings.audio, **{k: v for k, v in audio_changes.items() if v is not None})
    record = settings.record
    if args.record:
        record = dataclasses.replace(record, dir=args.record, enabled=True)
    if args.duration is not None and not args.duration > 0:
        raise DreamSoundError(f"--duration {args.duration:g} must be more than 0 seconds")
    live = settings.live
    if args.duration is not None:
        live = dataclasses.replace(live, duration=args.duration)
    if args.headless:
        live = dataclasses.replace(live, headless=True)
    return dataclasses.replace(settings, audio=audio, record=record, live=live)


def _device(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


def status_text(m: dict[str, Any]) -> str:
    """One compact line (fits 100 columns): time, xruns, dreaming speed, latency, levels, recording."""
    from instrument.live.engine import output_peak_db

    latency = "-" if m["latency"] is None else f"{m['latency']:.2f}s"
    cycle = "-" if m["cycle_ms_median"] is None else f"{m['cycle_ms_median']:.0f}ms"
    rec = f"rec {m['recorded_seconds']:.0f}s" if m["recording"] else "rec off"
    state = m.get("engine_state", "dreaming")
    dreaming = f"{m['iterations_per_second']:.0f} it/s" if state == "dreaming" else f"dreams {state}"
    return (
        f"{m['uptime']:.0f}s xruns {m['xruns']} | {dreaming}"
        f" {m['iterations_per_window']:.0f}/win {cycle} | lat {latency}"
        f" | in {output_peak_db(m['input_peak'])} out {output_peak_db(m['output_peak'])} dB | {rec}"
    )


def _osc(args: argparse.Namespace, settings: Config, engine: Any) -> tuple[list[Any], Any]:
    """The OSC surface to run beside the engine (none with --no-osc or osc.enabled: false)."""
    osc = settings.osc
    if args.osc_port is not None:
        osc = dataclasses.replace(osc, port=args.osc_port)
    if args.no_osc or not osc.enabled:
        return [], osc
    from instrument.osc.service import OscService

    return [OscService(engine, osc)], osc


def _preset_loader(number: int | None, osc: Any):
    if number is None:
        return None
    from instrument.osc.namespace import preset_number
    from instrument.osc.presets import PresetStore

    store = PresetStore(osc.presets_file)
    values = store.load(preset_number([number]))  # a clear error now, before any audio

    def apply(engine: Any) -> None:
        engine.controls.set_many(values)
        engine.log(f"preset {number} loaded from {store.path}")

    return apply


def run_command(args: argparse.Namespace) -> int:
    from instrument.live.engine import Engine

    settings = build_settings(args)
    engine = Engine(settings)
    services, osc = _osc(args, settings, engine)
    on_ready = _preset_loader(args.preset, osc)
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
                live.update(Text(status_text(m)))

            engine.settings = dataclasses.replace(
                settings, live=dataclasses.replace(settings.live, status_interval=0.25)
            )
            code = engine.run(duration, reporter, on_ready, services)
    else:

        def reporter(m: dict[str, Any]) -> None:
            print(f"dreamsound: {status_text(m)}", file=sys.stderr, flush=True)

        code = engine.run(duration, reporter, on_ready, services)
    summary = engine.controls.metrics(reset_peaks=False)
    summary["exit_reason"] = engine.exit_reason
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
