"""``dreamsound render IN OUT``: dream a whole file offline."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from instrument.cli.common import add_setting_options, config_file, config_from, given, load_dreamer
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.settings import RenderSettings

# The dream settings a render takes on the command line (field -> metavar); the rest come from dream: in the config.
RENDER_OPTIONS = {"mode": "MODE", "layer": "LAYER", "iterations": "N", "threshold": "T", "step": "S",
                  "target_class": "C", "target_sound": "FILE", "flip": "", "band": "BAND"}


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("render", help="dream an audio file offline (any length, rate, channels)")
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT", help="output audio file (same rate, channels and length as IN)")
    add_setting_options(p, DreamParams, RENDER_OPTIONS)
    add_setting_options(p, RenderSettings, {"seed": "N", "objective": "OBJ"})
    p.add_argument(
        "--plot", metavar="DIR",
        help="write into DIR the paper-style spectrograms (OUT-MODE-LAYER.png) and the class track (OUT-classes.png)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(handler=render_file)


def _params(args: argparse.Namespace, base: DreamParams) -> DreamParams:
    changes = {name: getattr(args, name) for name in RENDER_OPTIONS}
    return base.replace(**{k: v for k, v in changes.items() if v is not None})


def render_file(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from instrument.audiofile import check_output, read_audio

    config = config_from(args)
    params = _params(args, config.dream)
    render_settings = dataclasses.replace(config.render, **given(args, ["seed", "objective"]))  # checked as in the file
    seed = render_settings.seed
    if args.target_sound and not Path(args.target_sound).is_file():
        raise DreamSoundError(f"--target-sound {args.target_sound}: no such file")
    out_path = Path(args.output)
    check_output(out_path, [args.input, params.target_sound, config_file(args)])
    if not out_path.parent.is_dir():
        raise DreamSoundError(f"cannot write {out_path}: directory {out_path.parent} does not exist")
    audio, rate = read_audio(args.input)
    dreamer = load_dreamer(config)
    dreamer.check(params)

    from instrument.dream.plots import plot_class_track, plot_render
    from instrument.dream.render import Region, count_steps
    from instrument.dream.renderfile import render_file as render_to
    from instrument.model.frontend import SAMPLE_RATE

    layout = render_settings.layout()
    samples = round(audio.shape[0] * SAMPLE_RATE / rate)
    total = count_steps([Region(0, samples, params)], samples, layout)
    with Progress(
        TextColumn("dreaming"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as progress:
        task = progress.add_task("render", total=max(total, 1))
        result = render_to(
            dreamer, args.input, out_path, params, seed=seed, layout=layout,
            progress=lambda n: progress.advance(task, n), audio=(audio, rate),
        )
    if args.plot:
        target = dreamer.class_index(params.target_class)
        label = dreamer.classes[target].name if target >= 0 else "auto (top class)"
        figure = plot_render(
            args.plot, out_path.stem, audio.mean(axis=1), result.audio.mean(axis=1),
            result.first_window, params, label,
        )
        result.summary["plot"] = str(figure)
        names = dreamer.classes.names
        track = plot_class_track(
            Path(args.plot) / f"{out_path.stem}-classes.png", result.before, result.after, names,
            f"{Path(args.input).name} -> {out_path.name}: {params.mode} on {params.layer}, class {label}, "
            f"{params.iterations} iterations, step {params.step:g}, seed {seed}",
            extra_classes=(target,) if target >= 0 else (),
        )
        result.summary["class_plot"] = str(track)
    if args.json:
        print(json.dumps(result.summary))
    else:
        s = result.summary
        heard = ", ".join(f"{c['name']} {c['score']:.2f}" for c in s["overall_after"])
        print(
            f"{out_path}: {s['audio_seconds']} s x {s['iterations']} iterations in {s['seconds']} s "
            f"(speed {s['realtime_factor']}x real time, > 1 = faster); output heard as {heard}",
            file=sys.stderr,
        )
    return 0

