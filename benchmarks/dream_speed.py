"""Dream iterations per second, compiled vs plain eager TensorFlow, and the render's real-time factor.

    python -m benchmarks.dream_speed [--json] [--seconds S]

For one window at layer4, layer10 and scores, in deepdream and filter_add, it
times this project's compiled iteration and, in the same run, the very same
iteration run eagerly (plain TensorFlow), and prints the ratio. Then it renders
the shared recordings at 10 iterations per window and reports how many times
faster than real time that was. Weights: ``DREAMSOUND_YAMNET`` or ../shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DREAMSOUND_SHARED", REPO.parent / "shared"))


def _rate(call, seconds: float) -> float:
    for _ in range(3):
        call()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        count += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    os.environ.setdefault("DREAMSOUND_YAMNET", str(SHARED / "models" / "yamnet.tflite"))

    from instrument.model.runtime import configure_tensorflow

    device = configure_tensorflow(1)
    import tensorflow as tf

    from instrument.audiofile import read_audio, resample, to_mono
    from instrument.dream.dreamer import Dreamer
    from instrument.dream.params import DreamParams
    from instrument.dream.render import render
    from instrument.model.loader import load_yamnet

    dreamer = Dreamer(load_yamnet(), device)
    data, rate = read_audio(SHARED / "audio" / "speech-and-cat.wav")
    window = resample(to_mono(data), rate, 16000)[16000:31600][None]
    x = tf.constant(window)
    results = []
    for layer in ("layer4", "layer10", "scores"):
        for mode in ("deepdream", "filter_add"):
            params = DreamParams(mode=mode, layer=layer, target_class="Dog" if layer == "scores" else None)
            dreamer.iterate(x, params)
            compiled = _rate(lambda p=params: dreamer.iterate(x, p).audio.numpy(), args.seconds)
            eager_fn = dreamer.step.iteration_function(layer, mode, False, params.filter_fft, params.filter_hop)
            args_eager = (
                x, tf.constant(params.threshold), tf.constant(params.step), tf.constant(params.power, tf.float32),
                tf.constant(dreamer.class_index(params.target_class)), dreamer.step._silent_target(params),
            )
            eager = _rate(lambda f=eager_fn, a=args_eager: f(*a)[0].numpy(), args.seconds)
            results.append({
                "layer": layer, "mode": mode, "iterations_per_s": round(compiled, 1),
                "eager_iterations_per_s": round(eager, 1), "speedup_vs_eager": round(compiled / eager, 2),
            })
            if not args.json:
                print(f"{layer:8s} {mode:10s} {compiled:7.1f} it/s   eager {eager:6.1f} it/s   x{compiled / eager:.2f}")

    renders = []
    for name in ("whistle.wav", "speech-and-cat.wav"):
        audio, sr = read_audio(SHARED / "audio" / name)
        params = DreamParams(mode="filter_add", layer="scores", iterations=10)
        render(dreamer, audio[: sr // 2], sr, params)  # compile the batch shapes
        started = time.perf_counter()
        result = render(dreamer, audio, sr, params)
        elapsed = time.perf_counter() - started
        renders.append({
            "file": name, "audio_s": round(audio.shape[0] / sr, 2), "render_s": round(elapsed, 2),
            "realtime_factor": round(audio.shape[0] / sr / elapsed, 2), "windows": result.summary["windows"],
        })
        if not args.json:
            print(f"render {name}: {renders[-1]['realtime_factor']}x real time at 10 iterations/window")
    report = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "device": device,
                    "tensorflow": tf.__version__},
        "iterations": results,
        "render": renders,
        "targets": {"scores_filter_add_iterations_per_s": 150, "render_realtime_factor": 5},
        "met": {
            "scores_filter_add": next(r for r in results if r["layer"] == "scores" and r["mode"] == "filter_add")[
                "iterations_per_s"] >= 150,
            "render": min(r["realtime_factor"] for r in renders) >= 5,
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
