"""``dreamsound batch SOURCE OUT_DIR``: dream a whole corpus (instrument.batch), locally or on a Dask cluster."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from instrument.cli.common import config_from, note, option_help
from instrument.cli.render_command import RENDER_OPTIONS
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.settings import RenderSettings
from instrument.spec import check_integer, specs

MAX_SEEDS = 10000


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "batch", help="dream a whole corpus: a folder or a manifest, over a grid of variants, on local "
                      "workers or a Dask cluster",
        description="Dream every audio file of SOURCE (a folder, recursively; or a .csv/.jsonl manifest of jobs) "
                    "into OUT_DIR, over the grid of the options given (--mode deepdream,filter_add "
                    "--target-class Dog,Siren --seeds 3: 12 outputs per input). Results: "
                    "OUT_DIR/batch-results.jsonl, one line per job; the same command again resumes.",
    )
    p.add_argument("source", metavar="SOURCE", help="folder of audio files, a manifest (.csv, .jsonl), or one file")
    p.add_argument("out_dir", metavar="OUT_DIR", help="where the outputs and batch-results.jsonl go")
    declared = specs(DreamParams)
    for name, metavar in RENDER_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if declared[name].kind == "bool":
            p.add_argument(flag, dest=name, action="store_true", default=None,
                           help=option_help(declared[name], flag))
        else:
            p.add_argument(flag, dest=name, action="append", metavar=f"{metavar}[,{metavar}...]",
                           help=option_help(declared[name], flag) + "; several (commas, or the option again): a grid")
    p.add_argument("--seed", action="append", metavar="N[,N...]",
                   help=option_help(specs(RenderSettings)["seed"], "--seed") + "; several: a grid")
    p.add_argument("--seeds", type=int, metavar="K", help="K seeds, from --seed (or render.seed) on: a grid of K")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run on this Dask scheduler (tcp://HOST:PORT) instead of local workers")
    p.add_argument("--json", action="store_true", help="print a JSON summary of the batch on stdout")
    p.set_defaults(handler=batch)


def variants_from(args: argparse.Namespace, render: RenderSettings):  # -> (Variants, DreamParams changes)
    from instrument.batch.jobs import Variants, parse_list

    axes = {}
    for name in RENDER_OPTIONS:
        if name == "flip" or not getattr(args, name):
            continue
        values = parse_list(name, getattr(args, name))
        if name == "target_sound":
            values = tuple(str(Path(v).resolve()) for v in values)  # the command line's paths: from here
        axes[name] = values
    seeds = parse_list("seed", args.seed) or (render.seed,)
    if args.seeds is not None:
        check_integer("--seeds", args.seeds, 1, MAX_SEEDS)
        if len(seeds) > 1:
            raise DreamSoundError("--seeds K counts on from one --seed; give either a list of seeds or --seeds")
        seeds = tuple(seeds[0] + k for k in range(args.seeds))
    return Variants(axes, seeds)


def batch(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from instrument.batch.runner import check_address, run_batch

    config = config_from(args)
    base = config.dream.replace(flip=True) if args.flip else config.dream
    variants = variants_from(args, config.render)
    if args.workers is not None:
        if args.cluster:
            raise DreamSoundError("--workers is for local workers; a --cluster has its own workers")
        check_integer("--workers", args.workers, 1, 1024)
    if args.cluster:
        check_address(args.cluster)

    started = time.perf_counter()
    bar = Progress(
        TextColumn("dreaming"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]} clips/s"), TimeRemainingColumn(), console=Console(stderr=True),
    )
    task = None

    def progress(outcome, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("batch", total=total, failed=0, rate="-")
        ran = outcome.done + outcome.failed
        rate = f"{ran / outcome.run_seconds:.2f}" if outcome.run_seconds and ran else "-"
        bar.update(task, completed=ran, failed=outcome.failed, rate=rate)

    try:
        outcome = run_batch(
            args.source, args.out_dir, base, config.render, variants, config,
            workers=args.workers, cluster=args.cluster, progress=progress, note=note,
        )
    finally:
        bar.stop()
    report = outcome.as_dict()
    report["wall_seconds"] = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps(report))
    ran = outcome.done + outcome.failed
    left = outcome.jobs - outcome.skipped - ran
    print(
        f"dreamsound: {outcome.done} done, {outcome.failed} failed, {outcome.skipped} skipped (already done), "
        f"{len(outcome.invalid)} invalid row(s){f', {left} left' if left else ''}; results in {outcome.results}",
        file=sys.stderr,
    )
    if outcome.interrupted:
        note("interrupted: the results manifest is intact; run the same command again to resume")
        return 130
    return 1 if outcome.failed or outcome.invalid or left else 0
