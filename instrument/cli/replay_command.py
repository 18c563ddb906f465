"""``dreamsound replay TAKE.wav OUT.wav``: re-dream a rehearsal take offline, following its parameter log."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from instrument.cli.common import add_setting_options, config_file, config_from, given, load_dreamer, note
from instrument.errors import DreamSoundError
from instrument.replay.timeline import STUDIO_ITERATIONS
from instrument.settings import RenderSettings


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "replay",
        help="re-dream a recorded take offline, following its parameter log (studio quality)",
        description=(
            "Re-dream the dry channel of a rehearsal take with the whole-signal render, applying every "
            "logged change at its time (dream parameters per region, crossfaded; mix, gain, ceiling and "
            "freeze as automation), then the limiter. Writes a mono file at the take's rate."
        ),
    )
    p.add_argument("take", metavar="TAKE.wav", help="the take (its later parts TAKE-2.wav… are read with it)")
    p.add_argument("output", metavar="OUT.wav")
    p.add_argument("--params", metavar="LOG", help="parameter log (default: TAKE.params.jsonl beside the take)")
    p.add_argument(
        "--iterations", type=int, metavar="N", default=STUDIO_ITERATIONS,
        help=f"iterations per region, replacing the take's live count (default {STUDIO_ITERATIONS}); "
             "a logged change of iterations scales it",
    )
    p.add_argument("--from", dest="start", type=float, metavar="S", help="replay from S seconds into the take")
    p.add_argument("--to", dest="end", type=float, metavar="S", help="replay up to S seconds into the take")
    p.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="hold a parameter at VALUE for the whole take (repeatable), e.g. --set step=0.02 --set mix=1",
    )
    add_setting_options(p, RenderSettings, {"seed": "N"})
    p.add_argument("--json", action="store_true", help="print the regions, classes and time taken as JSON")
    p.add_argument("--plot", metavar="DIR", help="write DIR/OUT-classes.png: the class track with the changes marked")
    p.set_defaults(handler=replay_take)


def parse_sets(items: list[str]) -> dict[str, Any]:
    from instrument.replay.log import IGNORED_NAMES, KNOWN_NAMES
    from instrument.settings import control_value

    settable = [n for n in KNOWN_NAMES if n not in IGNORED_NAMES]
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise DreamSoundError(f"--set {item!r}: expected NAME=VALUE")
        if name not in settable:
            raise DreamSoundError(f"--set {name!r}: unknown parameter; allowed: {', '.join(settable)}")
        out[name] = control_value(name, value.strip())
    return out


def replay_take(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from instrument.audiofile import check_output, write_audio_atomic
    from instrument.replay.log import read_log
    from instrument.replay.take import files_read, read_take

    config = config_from(args)
    overrides = parse_sets(args.set)
    if args.iterations < 0:
        raise DreamSoundError(f"--iterations {args.iterations} must be a whole number >= 0")
    seed = dataclasses.replace(config.render, **given(args, ["seed"])).seed  # checked as in the file
    out_path = Path(args.output)
    check_output(out_path, [args.take, args.params, overrides.get("target_sound"), config_file(args)])
    if not out_path.parent.is_dir():
        raise DreamSoundError(f"cannot write {out_path}: directory {out_path.parent} does not exist")
    take = read_take(args.take)
    log_path = Path(args.params) if args.params else take.log_path
    if not log_path.is_file():
        raise DreamSoundError(f"parameter log {log_path}: no such file (give it with --params)")
    log = read_log(log_path, take.samplerate)
    sound_dir = Path(config.osc.target_sound_dir)

    check_output(out_path, files_read(take, log, sound_dir))  # the later parts, the log, the target sounds

    dreamer = load_dreamer(config)
    from instrument.dream.plots import plot_class_track
    from instrument.replay.replay import ReplayOptions, replay

    options = ReplayOptions(
        iterations=args.iterations, start_s=args.start, end_s=args.end, overrides=overrides, seed=seed,
        layout=config.render.layout(), sound_dir=sound_dir,
    )
    with Progress(
        TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as progress:
        task = progress.add_task("replay", total=1)
        result = replay(
            dreamer, take, log, options, base=config.dream,
            progress=lambda n: progress.advance(task, n),
            progress_total=lambda n: progress.update(task, total=max(n, 1)),
        )
    for problem in result.summary["problems"]:
        note(problem)
    if take.recovered_frames:
        note(f"{take.parts[-1].name} was cut short; replaying all {take.audio.shape[0]} frames it holds")
    write_audio_atomic(out_path, result.audio, result.samplerate, subtype=_float_subtype(out_path))
    if args.plot:
        names = dreamer.classes.names
        targets = {dreamer.class_index(r["params"]["target_class"]) for r in result.summary["regions"]}
        figure = plot_class_track(
            Path(args.plot) / f"{out_path.stem}-classes.png", result.before, result.after, names,
            f"replay of {take.parts[0].name} -> {out_path.name}: {args.iterations} iterations, seed {seed}",
            extra_classes=tuple(sorted(t for t in targets if t >= 0)), marks=result.marks,
        )
        result.summary["class_plot"] = str(figure)
    s = result.summary
    if args.json:
        print(json.dumps(s, default=str))
    else:
        print(
            f"{out_path}: {len(s['regions'])} regions, {s['audio_seconds']} s in {s['seconds']} s "
            f"(speed {s['realtime_factor']}x real time, > 1 = faster)",
            file=sys.stderr,
        )
    return 0


def _float_subtype(path: Path) -> str | None:
    """32-bit float where the format has it (a take is float; a replay keeps its resolution)."""
    import soundfile as sf

    kind = path.suffix.lstrip(".").upper()
    return "FLOAT" if kind in sf.available_formats() and sf.check_format(kind, "FLOAT") else None
