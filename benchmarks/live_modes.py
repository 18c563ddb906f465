"""Every mode live at the default settings, as heard on the recorded output: a take on a JACK dummy server.

    python -m benchmarks.live_modes [--parts A,B,…] [--seconds S] [--skip S] [--plot PNG] [--json]

Starts ``jackd -d dummy -r 48000 -p 256`` under a unique name, runs the engine (audio process + dream
process, the real model, ``config.yaml`` defaults) with speech looping as input and a take recording,
and changes the mode every ``--seconds`` (``--parts``, by default all in this order): ``filter_add`` (the
default), ``filter``, ``gradients``, ``target`` (toward the whistle), ``deepdream`` (no target class), then
``dog`` (``deepdream`` toward *Dog*).
Both channels of the take are scored on windows every 0.1 s from 0.05 s (offsets the dream never chose).
Per part, from ``--skip`` seconds after its change: the loss the dream climbs (on ``scores`` with no
target class, a window's top score; toward Dog, Dog's score) on the input and on the output, the share of
output windows heard as Dog (>= 0.5), and iterations per window. The input in the same run is the baseline.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("DREAMSOUND_SHARED", REPO.parent / "shared"))
SPEECH = SHARED / "audio" / "speech-and-cat.wav"
WHISTLE = SHARED / "audio" / "whistle.wav"
os.environ.setdefault("DREAMSOUND_YAMNET", str(SHARED / "models" / "yamnet.tflite"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PARTS = {  # key: (label, changes)
    "filter_add": ("filter_add", {"mode": "filter_add"}),
    "filter": ("filter", {"mode": "filter"}),
    "gradients": ("gradients", {"mode": "gradients"}),
    "target": ("target (whistle)", {"target_sound": str(WHISTLE), "mode": "target"}),
    "deepdream": ("deepdream", {"mode": "deepdream"}),
    "dog": ("deepdream toward Dog", {"mode": "deepdream", "target_class": "Dog"}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which, in order (default {','.join(PARTS)})")
    parser.add_argument("--seconds", type=float, default=12.0, help="seconds per mode (default 12)")
    parser.add_argument("--skip", type=float, default=4.0, help="seconds after each change not scored (default 4)")
    parser.add_argument("--plot", help="write the take's class track here (PNG)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    chosen = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in PARTS]
    if unknown or not chosen:
        parser.error(f"--parts {args.parts!r}: allowed: {', '.join(PARTS)}")
    for path in (SPEECH, WHISTLE):
        if not path.is_file():
            raise SystemExit(f"{path} is missing: the benchmark needs ../shared beside the checkout")

    from benchmarks.live_soak import cpu_info, start_jack

    name = f"dreamsound-modes-{uuid.uuid4().hex[:6]}"
    jack = start_jack(name, 48000, 256)
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    folder = Path(tempfile.mkdtemp(prefix="dreamsound-modes-"))
    try:
        from instrument.config import load_config
        from instrument.live import devices
        from instrument.live.engine import Engine

        devices.refresh()
        settings = load_config()
        settings = dataclasses.replace(
            settings,
            audio=dataclasses.replace(settings.audio, input_file=str(SPEECH), input_loop=True, samplerate=48000),
            record=dataclasses.replace(settings.record, enabled=True, dir=str(folder)),
        )
        engine = Engine(settings, log=lambda message: None)
        engine.prepare()
        engine.start()
        if not engine.supervisor.wait_ready(300):
            raise SystemExit(f"the dream process did not start: {engine.metrics.engine_error}")
        parts = []
        try:
            for label, changes in (PARTS[part] for part in chosen):
                for key, value in changes.items():
                    engine.controls.set(key, value)
                start, iterations, windows = engine.metrics.frames, engine.metrics.iterations, engine.metrics.windows
                engine.wait(args.seconds)
                done = max(1, engine.metrics.windows - windows)
                parts.append([label, start, engine.metrics.frames, (engine.metrics.iterations - iterations) / done])
            recorder = engine.recorder
            offset, take = recorder.start_frame, recorder.paths[0]
            metrics = engine.controls.metrics()
        finally:
            engine.stop()
    finally:
        import sounddevice as sd

        sd._terminate()  # PortAudio aborts if it closes its JACK client after the server is gone
        jack.terminate()
        jack.wait(10)

    from instrument.audiofile import resample
    from instrument.cli.common import load_dreamer
    from instrument.config import load_config
    from instrument.dream.listen import class_track
    from instrument.model.layout import SAMPLE_RATE

    audio, rate = sf.read(take, dtype="float32")
    dreamer = load_dreamer(load_config(None))
    dry, wet = (class_track(dreamer, resample(np.ascontiguousarray(audio[:, c]), rate, SAMPLE_RATE)) for c in (0, 1))
    dog = dreamer.class_index("Dog")
    rows = []
    for label, start, stop, per_window in parts:
        a, b = (start - offset) / rate + args.skip, (stop - offset) / rate - 1.0
        keep = (dry.times >= a) & (dry.times <= b)
        toward_dog = "Dog" in label

        def climbed(scores: np.ndarray, keep: np.ndarray = keep, toward_dog: bool = toward_dog) -> np.ndarray:
            return scores[keep, dog] if toward_dog else scores[keep].max(axis=1)

        rows.append({
            "part": label,
            "windows": int(keep.sum()),
            "loss_input": round(float(climbed(dry.scores).mean()), 3),
            "loss_output": round(float(climbed(wet.scores).mean()), 3),
            "output_windows_loss_up": round(float(np.mean(climbed(wet.scores) > climbed(dry.scores))), 3),
            "dog_share_output": round(float(np.mean(wet.scores[keep, dog] >= 0.5)), 3),
            "dog_share_input": round(float(np.mean(dry.scores[keep, dog] >= 0.5)), 3),
            "iterations_per_window": round(per_window, 2),
        })
    summary = {
        "host": cpu_info(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "take": str(take),
        "latency_s": metrics["latency"],
        "iteration_ms": metrics["iteration_ms"],
        "parts": rows,
    }
    if args.plot:
        from instrument.dream.plots import plot_class_track

        isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
        title = ", ".join([*(["ONEDNN_MAX_CPU_ISA=" + isa] if isa else []), f"{len(os.sched_getaffinity(0))} core(s)"])
        marks = [((start - offset) / rate, label) for label, start, _, _ in parts]
        summary["plot"] = str(plot_class_track(
            args.plot, dry, wet, dreamer.classes.names, f"live take, speech in ({title}): input dashed, output solid",
            extra_classes=(dog, dreamer.class_index("Speech")), marks=marks,
        ))
    if args.json:
        print(json.dumps(summary))
    else:
        for row in rows:
            print(row)
        print({k: v for k, v in summary.items() if k != "parts"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
