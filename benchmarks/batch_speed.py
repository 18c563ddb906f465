"""``dreamsound batch`` against one ``dreamsound render`` command per clip, on the same 24 jobs, in one run.

The jobs: 24 short clips (``--clip-seconds``, 2 s by default) cut from the three recordings of ../shared
at different offsets, each dreamed once with the same settings (deepdream on scores towards Dog,
``--iterations`` 10, seed 0). Three ways, each timed from the shell's point of view (Python start,
model load and compiling included, as a user waits for them):

- ``per_command`` (baseline, as users did before): one ``dreamsound render IN OUT`` per clip, in turn;
- ``batch_1``: ``dreamsound batch CLIPS OUT --workers 1``;
- ``batch_2``: ``dreamsound batch CLIPS OUT --workers 2``.

The engine's own scaling: the 2-worker local Dask cluster against its 1-worker run, from the batch's
report, counted from the first result to the last (start-up and model loads left out), beside the
wall-clock ratio. Every output's SHA-256 is compared across the three ways (same bytes expected).
The host's load average is reported: on a shared machine others' work depresses the 2-worker figure.

``--ceiling`` also times the same render loop (model loaded and compiled) in one plain process and in two at
once, without Dask and without start-up: what two cores of this machine give this work at best.

``python -m benchmarks.batch_speed [--json] [--commands K] [--iterations N] [--clip-seconds S] [--ceiling]``
(``--commands K`` times the first K per-clip commands only; the rate is per clip either way.)
Weights: ``DREAMSOUND_YAMNET`` or ../shared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from benchmarks.dream_speed import host

SHARED = Path(os.environ.get("DREAMSOUND_SHARED", Path(__file__).resolve().parents[2] / "shared"))
RECORDINGS = ("whistle.wav", "speech-and-cat.wav", "pluck-melody.wav")
JOBS = 24
TARGETS = {"batch_1_over_per_command": 3.0, "batch_2_over_batch_1": 1.7}


def make_clips(folder: Path, seconds: float) -> list[Path]:
    """8 clips from each recording, at offsets spread over it (they overlap on the short ones)."""
    clips = []
    for name in RECORDINGS:
        data, rate = sf.read(str(SHARED / "audio" / name))
        length = int(seconds * rate)
        span = max(data.shape[0] - length, 1)
        for k in range(JOBS // len(RECORDINGS)):
            start = span * k // (JOBS // len(RECORDINGS))
            path = folder / f"{Path(name).stem}-{k}.wav"
            sf.write(str(path), data[start: start + length], rate)
            clips.append(path)
    return clips


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dreamsound(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "instrument.cli.main", *args], capture_output=True, text=True,
                          timeout=1800)


_CEILING_CHILD = """
import sys, time, numpy as np, soundfile as sf
from instrument.model.runtime import configure_tensorflow
configure_tensorflow(1, "cpu")
from instrument.dream.dreamer import Dreamer
from instrument.dream.params import DreamParams
from instrument.dream.render import render
from instrument.model.loader import ModelSettings
dreamer = Dreamer.load(ModelSettings(source="tflite", path=sys.argv[1]), 1, "cpu")
audio, rate = sf.read(sys.argv[2], dtype="float32", always_2d=True)
params = DreamParams(mode="deepdream", target_class="Dog", iterations=int(sys.argv[3]))
render(dreamer, audio, rate, params)  # compile
print("ready", flush=True)
sys.stdin.readline()  # every process starts timing together
count, started = 0, time.perf_counter()
while time.perf_counter() - started < float(sys.argv[4]):
    render(dreamer, audio, rate, params)
    count += 1
print(count / (time.perf_counter() - started), flush=True)
"""


def parallel_ceiling(clip: Path, iterations: int, seconds: float = 15.0) -> dict:
    """The machine's own limit for 2 workers: the same render loop (model loaded, compiled) in 1 process,
    then in 2 processes at once, no Dask and no start-up in the timing. What two cores give this work."""
    weights = os.environ["DREAMSOUND_YAMNET"]
    rates = {}
    for n in (1, 2):
        children = [subprocess.Popen([sys.executable, "-c", _CEILING_CHILD, weights, str(clip), str(iterations),
                                      str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True) for _ in range(n)]
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        rates[n] = sum(float(child.communicate(timeout=600)[0].strip()) for child in children)
    return {"clips_per_s_1": round(rates[1], 4), "clips_per_s_2": round(rates[2], 4),
            "two_over_one": round(rates[2] / rates[1], 2), "seconds_each": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON report")
    parser.add_argument("--commands", type=int, default=JOBS, help="per-clip commands timed (default: all 24)")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--clip-seconds", type=float, default=2.0)
    parser.add_argument("--ceiling", action="store_true",
                        help="also time the same render loop in 1 and in 2 plain processes (the machine's limit)")
    args = parser.parse_args()
    os.environ.setdefault("DREAMSOUND_YAMNET", str(SHARED / "models" / "yamnet.tflite"))  # the commands' weights
    settings = ["--mode", "deepdream", "--target-class", "Dog", "--iterations", str(args.iterations), "--seed", "0"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="batch-speed-") as tmp:
        root = Path(tmp)
        (root / "clips").mkdir()
        clips = make_clips(root / "clips", args.clip_seconds)
        report: dict = {"machine": {**host(), "load_average_before": [round(v, 2) for v in load_before]},
                        "jobs": len(clips), "clip_seconds": args.clip_seconds, "iterations": args.iterations,
                        "command": "python -m benchmarks.batch_speed " + " ".join(sys.argv[1:])}

        (root / "per-command").mkdir()
        timed = clips[: max(1, min(args.commands, len(clips)))]
        started = time.perf_counter()
        per_clip = {}
        for clip in timed:
            out = root / "per-command" / clip.name
            done = dreamsound("render", str(clip), str(out), *settings)
            if done.returncode:
                raise SystemExit(f"render {clip.name} failed: {done.stderr[-2000:]}")
            per_clip[str(clip.resolve())] = sha(out)
        seconds = time.perf_counter() - started
        report["per_command"] = {"clips": len(timed), "seconds": round(seconds, 2),
                                 "clips_per_s": round(len(timed) / seconds, 4)}

        batches = {}
        for workers in (1, 2):
            out = root / f"batch-{workers}"
            started = time.perf_counter()
            done = dreamsound("batch", str(root / "clips"), str(out), *settings, "--workers", str(workers), "--json")
            seconds = time.perf_counter() - started
            if done.returncode:
                raise SystemExit(f"batch --workers {workers} failed: {done.stderr[-2000:]}")
            got = json.loads(done.stdout.strip().splitlines()[-1])
            records = [json.loads(line) for line in (out / "batch-results.jsonl").read_text().splitlines()]
            batches[workers] = {r["input"]: r["sha256"] for r in records}
            steady = (got["done"] - 1) / max(got["run_seconds"] - got["first_result_s"], 1e-9)
            report[f"batch_{workers}"] = {
                "clips": got["done"], "seconds": round(seconds, 2), "clips_per_s": round(got["done"] / seconds, 4),
                "first_result_s": got["first_result_s"], "run_seconds": got["run_seconds"],
                "steady_clips_per_s": round(steady, 4), "workers": got["workers"],
            }

        if args.ceiling:
            report["ceiling"] = parallel_ceiling(clips[0], args.iterations)
    report["machine"]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    per_command, b1, b2 = report["per_command"], report["batch_1"], report["batch_2"]
    report["ratios"] = {
        "batch_1_over_per_command": round(b1["clips_per_s"] / per_command["clips_per_s"], 2),
        "batch_2_over_batch_1": round(b2["clips_per_s"] / b1["clips_per_s"], 2),
        "local_cluster_2_over_1_steady": round(b2["steady_clips_per_s"] / b1["steady_clips_per_s"], 2),
    }
    report["targets"] = TARGETS
    report["targets_met"] = {k: report["ratios"][k] >= v for k, v in TARGETS.items()}
    report["identical_outputs"] = (
        batches[1] == batches[2] and all(batches[1].get(k) == v for k, v in per_clip.items())
    )
    if args.json:
        print(json.dumps(report, indent=2))
        return
    m = report["machine"]
    print(f"host: {m['cpu']}, {m['cores']} cores; load average {m['load_average_before']} -> {m['load_average_after']}")
    for way in ("per_command", "batch_1", "batch_2"):
        print(f"{way:12s} {report[way]['clips']:3d} clips in {report[way]['seconds']:7.2f} s:"
              f" {report[way]['clips_per_s']:.3f} clips/s")
    print(f"ratios: {report['ratios']}  targets met: {report['targets_met']}")
    print(f"same bytes all three ways: {report['identical_outputs']}")


if __name__ == "__main__":
    main()
