"""Whole-signal render: shift-robustness and speed, against the old per-window render in the same run.

For each shared recording and a target class it is not (Dog), three renders at the same settings
(deepdream on scores, the default step):

- ``per_window`` (baseline): each 0.975 s window dreamed alone (``DreamStep``), 50 % overlap-add;
  the process before the buffer step.
- ``buffer_grid`` / ``buffer_random``: the whole signal dreamed as one (``instrument.dream.render``),
  window offsets on a jittered grid / uniformly random, the same K windows per iteration.
- ``grid_early`` / ``grid_shared`` (``--objectives``): the grid render with ``render.objective`` ``early``
  / ``shared`` (``instrument.dream.objective``), the candidates for fewer operations per dreamed second;
  with each render's loss rise (mean window loss at the first and the last iteration, as the objective
  computes it).

Each output is scored on windows on a 0.1 s grid from 0.05 s (offsets no render chose), over
several seeds: share of windows with Dog >= 0.5, mean and minimum Dog score. Speed: real-time
factor of the render, seconds of audio per second of rendering (> 1 = faster than real time;
compiling excluded: every function is warmed up first).

``python -m benchmarks.render_shift [--json] [--iterations N] [--seeds S] [--objectives early,shared]
[--files a.wav,b.wav] [--no-random]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import partial
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("DREAMSOUND_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def per_window_render(dreamer, signal: np.ndarray, params) -> np.ndarray:
    """The old render: windows every half window, each dreamed alone, Hann overlap-add (weights sum to 1)."""
    w, hop = 15600, 7800
    padded = np.pad(signal, (hop, w))
    starts = np.arange(0, signal.size + hop, hop)
    windows = np.stack([padded[s : s + w] for s in starts])
    x = windows
    for _ in range(params.iterations):
        x = dreamer.iterate(x, params).audio
    x = np.asarray(x)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(w) + 0.5) / w)
    out, weight = np.zeros(padded.size), np.zeros(padded.size)
    for s, y in zip(starts, x, strict=True):
        out[s : s + w] += y * hann
        weight[s : s + w] += hann
    return (out / np.maximum(weight, 1e-9))[hop : hop + signal.size].astype(np.float32)


def whole_render(dreamer, signal: np.ndarray, params, layout, losses: list, seed: int) -> np.ndarray:
    """The whole-signal render of ``signal`` (``instrument.dream.render``); its chunks' losses go to ``losses``."""
    from instrument.dream.render import Region, dream_regions

    dreamed = dream_regions(dreamer, signal[None], [Region(0, signal.size, params)], seed=seed, layout=layout)
    losses.append([c["loss"] for c in dreamed.chunks])
    return dreamed.signal[0]


def heard(dreamer, signal: np.ndarray, index: int) -> np.ndarray:
    from instrument.dream.listen import class_track

    return class_track(dreamer, signal).scores[:, index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--objectives", default="", help="also render with these dream.objective values")
    parser.add_argument("--files", default="whistle.wav,speech-and-cat.wav", help="shared recordings")
    parser.add_argument("--no-random", action="store_true", help="skip the random-offsets render")
    args = parser.parse_args()

    from instrument.model.runtime import configure_tensorflow

    configure_tensorflow(1)
    import tensorflow as tf

    from benchmarks.dream_speed import host
    from instrument.audiofile import read_audio, resample, to_mono
    from instrument.dream.dreamer import Dreamer
    from instrument.dream.params import DreamParams
    from instrument.dream.render import Layout
    from instrument.model.loader import ModelSettings, load_yamnet

    dreamer = Dreamer(load_yamnet(ModelSettings(source="tflite", path=str(SHARED / "models" / "yamnet.tflite"))))
    params = DreamParams(mode="deepdream", layer="scores", target_class="Dog", iterations=args.iterations)
    dog = dreamer.class_index("Dog")
    results = []
    objectives = [o for o in args.objectives.split(",") if o]
    for name in args.files.split(","):
        audio, rate = read_audio(SHARED / "audio" / name)
        signal = resample(to_mono(audio), rate, 16000)
        seconds = signal.size / 16000
        before = heard(dreamer, signal, dog)
        row = {"file": name, "audio_s": round(seconds, 2), "dog_before_mean": round(float(before.mean()), 3)}
        renders = {
            "per_window": lambda seed, s=signal: per_window_render(dreamer, s, params),
        }
        losses: dict[str, list] = {}
        variants = {f"buffer_{strategy}": (params, Layout(offsets=strategy))
                    for strategy in (("grid",) if args.no_random else ("grid", "random"))}
        variants.update({f"grid_{o}": (params, Layout(objective=o)) for o in objectives})
        for label, (p, layout) in variants.items():
            renders[label] = partial(whole_render, dreamer, signal, p, layout, losses.setdefault(label, []))
        for label, fn in renders.items():
            fn(0)  # compile
            losses.get(label, []).clear()
            scores, times = [], []
            for seed in range(args.seeds):
                started = time.perf_counter()
                out = fn(seed)
                times.append(time.perf_counter() - started)
                scores.append(heard(dreamer, np.clip(out, -1, 1), dog))
            scores = np.concatenate(scores)
            row[label] = {
                "dog_share_at_least_0.5": round(float(np.mean(scores >= 0.5)), 3),
                "dog_mean": round(float(scores.mean()), 3), "dog_min": round(float(scores.min()), 3),
                "realtime_factor": round(seconds / float(np.median(times)), 2),
            }
            if losses.get(label):  # the loss per iteration, averaged over chunks and seeds
                curves = np.array([np.mean(np.array(run), axis=0) for run in losses[label]])
                row[label]["loss_first"] = round(float(curves[:, 0].mean()), 3)
                row[label]["loss_last"] = round(float(curves[:, -1].mean()), 3)
        base = row["per_window"]["dog_share_at_least_0.5"]
        grid = row["buffer_grid"]["dog_share_at_least_0.5"]
        row["share_ratio_grid_vs_per_window"] = round(grid / max(base, 1e-3), 2)
        results.append(row)
        if not args.json:
            print(name, json.dumps({k: v for k, v in row.items() if k != "file"}))
    report = {
        "machine": {**host(), "tensorflow": tf.__version__,
                    "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "")},
        "settings": {"mode": "deepdream", "layer": "scores", "class": "Dog", "step": params.step,
                     "objectives": ["windows", *objectives],
                     "iterations": params.iterations, "seeds": args.seeds, "listening grid": "0.05 s + k * 0.1 s"},
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
