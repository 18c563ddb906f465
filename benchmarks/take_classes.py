"""What a live take sounded like to a classifier: the class track of its recorded input and output channels.

``python -m benchmarks.take_classes TAKE.wav [--target Dog] [--after 10] [--plot PNG] [--json]``

The take's channel 1 is the dry input, channel 2 what went to the speakers (``dreamsound run --record``).
Both are scored by the project's YAMNet on windows every 0.1 s from 0.05 s (``instrument.dream.listen``:
offsets the live dream never chose). With ``--target`` the figures are the share of output windows at
>= 0.5 for that class from ``--after`` seconds after the parameter change that set it, and the same for
the input (the plain baseline of the same run). ``--plot`` writes the class track with the changes marked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from instrument.audiofile import resample
from instrument.dream.listen import class_track
from instrument.errors import DreamSoundError
from instrument.model.layout import SAMPLE_RATE

SHARED = Path(os.environ.get("DREAMSOUND_SHARED", Path(__file__).resolve().parents[2] / "shared"))
if (SHARED / "models" / "yamnet.tflite").is_file():
    os.environ.setdefault("DREAMSOUND_YAMNET", str(SHARED / "models" / "yamnet.tflite"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("take", help="take-….wav (2 channels: dry input, output)")
    parser.add_argument("--params", help="its parameter log (default: beside the take, .params.jsonl)")
    parser.add_argument("--target", help="a class name: figures for it from --after seconds after it was set")
    parser.add_argument("--after", type=float, default=10.0, help="seconds after the change (default 10)")
    parser.add_argument("--plot", help="write the class track here (PNG)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    from instrument.cli.common import load_dreamer
    from instrument.config import load_config
    from instrument.replay.log import read_log

    try:
        audio, rate = sf.read(args.take, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, OSError) as err:
        print(f"cannot read take {args.take}: {err}", file=sys.stderr)
        return 2
    if audio.shape[1] != 2:
        print(f"{args.take}: {audio.shape[1]} channels; a take has 2 (dry input, output)", file=sys.stderr)
        return 2
    log_path = Path(args.params or Path(args.take).with_suffix(".params.jsonl"))
    log = read_log(log_path, rate) if log_path.is_file() else None
    try:
        dreamer = load_dreamer(load_config(None))
    except DreamSoundError as err:
        print(str(err), file=sys.stderr)
        return 2
    dry, wet = (class_track(dreamer, resample(np.ascontiguousarray(audio[:, c]), rate, SAMPLE_RATE)) for c in (0, 1))
    marks = [(c.frame / rate, f"{c.name} {c.value}") for c in (log.changes if log else [])]
    summary: dict = {"take": args.take, "seconds": round(audio.shape[0] / rate, 2), "changes": marks}
    extra: tuple[int, ...] = ()
    if args.target:
        index = dreamer.class_index(args.target)
        extra = (index,)
        set_at = max([t for t, label in marks if label.startswith(("target_class", "mode"))], default=0.0)
        since = dry.times >= set_at + args.after
        out_scores, in_scores = wet.scores[since, index], dry.scores[since, index]
        summary.update(
            target=args.target,
            from_seconds=round(set_at + args.after, 2),
            windows=int(since.sum()),
            output_share=round(float(np.mean(out_scores >= 0.5)), 3) if since.any() else None,
            output_mean=round(float(out_scores.mean()), 3) if since.any() else None,
            input_share=round(float(np.mean(in_scores >= 0.5)), 3) if since.any() else None,
            input_mean=round(float(in_scores.mean()), 3) if since.any() else None,
        )
    if args.plot:
        from instrument.dream.plots import plot_class_track

        summary["plot"] = str(plot_class_track(
            args.plot, dry, wet, dreamer.classes.names, f"live take {Path(args.take).name}: input dashed, output solid",
            extra_classes=extra, marks=marks,
        ))
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
