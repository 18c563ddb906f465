"""Live latency against dreaming per sample: today's schedule (the baseline) and the new ones, in the same run.

    python -m benchmarks.live_latency [--seconds S] [--configs today,default,low] [--json]

Starts ``jackd -d dummy -r 48000 -p 256`` under a unique name, then for each configuration runs the
real command, ``dreamsound run --headless`` (its own interpreter: the audio process, and the dream
process with the real model), on ``../shared/audio/speech-and-cat.wav`` in a loop for ``S`` seconds,
and reads its JSON summary. Configurations:

- ``today``: the schedule before issue 20 (``live.grain: window``, ``overlap: 0.5``, ``worker_budget:
  0.8``): a 0.975 s window every 0.4875 s;
- ``default``: this checkout's defaults (``grain: hop``: the newest 0.05 s hop + 0.01 s crossfade, the
  buffer running ``worker_budget`` hops ahead of the grains);
- ``low``: the same with ``worker_budget: 2.4`` (0.19 s);

and ``--set live.NAME=VALUE,...`` adds one of your own (``custom``).

Reported per configuration: ``latency`` (an input sample to its dream at the output, the device's
included), ``iterations_per_window`` (per hop), ``iterations_per_sample`` (in what is heard: all the
iterations whose windows covered a sample before the grain that plays it was published), the time
of one iteration, ``hop_overhead_ms`` (the dream process's cycle outside the iterations: reading and
resampling the input, assembling, publishing; median), hops per second and the overhead's share of
the time, ``first_sound`` and ``first_dream`` from the command's start (the interpreter's own start-up
included), ``dream_ready``, xruns. A third of the run is spent before the figures count
(``--seconds`` is the dreamed part). Weights: ``DREAMSOUND_YAMNET`` or ../shared/models/yamnet.tflite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.dream_speed import host
from benchmarks.live_soak import start_jack

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DREAMSOUND_SHARED", REPO.parent / "shared"))
INPUT = SHARED / "audio" / "speech-and-cat.wav"
WEIGHTS = SHARED / "models" / "yamnet.tflite"

CONFIGS = {
    "today": {"grain": "window", "overlap": 0.5, "worker_budget": 0.8},
    "default": {},
    "low": {"worker_budget": 2.4},
}


def cpu_info() -> dict:
    """The host (``benchmarks.dream_speed.host``), its load and the ISA cap in force."""
    return {**host(), "load_average_at_start": os.getloadavg(),
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA")}


def yaml_value(value: object) -> str:
    return json.dumps(value)  # JSON scalars are YAML


def run_one(name: str, live: dict, seconds: float, folder: Path, env: dict) -> dict:
    """One ``dreamsound run --headless``: its summary, with the times counted from the command's start."""
    config = folder / f"{name}.yaml"
    lines = ["audio:", f"  input_file: {json.dumps(str(INPUT))}", "  input_loop: true", "  samplerate: 48000",
             "  blocksize: 256", "  output_channels: 1", "live:", "  headless: true", f"  duration: {seconds}",
             "  status_interval: 3600"]
    lines += [f"  {key}: {yaml_value(value)}" for key, value in live.items()]
    lines += ["osc:", "  enabled: false"]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    launched = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "instrument.cli.main", "--config", str(config), "run"],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=seconds + 120)
    if result.returncode != 0:
        raise SystemExit(f"{name}: dreamsound run failed ({result.returncode}): {result.stderr[-2000:]}")
    s = json.loads(result.stdout.strip().splitlines()[-1])
    before = s["engine_started_at"] - launched  # the interpreter's start and imports, before the engine exists

    def since_command(key: str) -> float | None:
        return None if s.get(key) is None else round(s[key] + before, 3)

    hops_per_second = s["windows"] / max(1e-9, s["uptime"] - (s["dream_ready"] or 0.0))
    overhead = s["hop_overhead_ms"]
    return {
        "live": live,
        "latency_s": s["latency"],
        "iterations_per_hop": s["iterations_per_window"],
        "iterations_per_sample": s["iterations_per_sample"],
        "iteration_ms": s["iteration_ms"],
        "iterations_per_second": s["iterations_per_second"],
        "hop_overhead_ms": overhead,
        "classify_ms": s.get("classify_ms"),
        "classify_share": None if s.get("classify_ms") is None else round(
            s["classify_ms"] / 1000 * s["classifications"] / max(1e-9, s["uptime"] - (s["dream_ready"] or 0.0)), 4),
        "hops_per_second": round(hops_per_second, 2),
        "overhead_share": None if overhead is None else round(overhead / 1000 * hops_per_second, 4),
        "first_sound_s": since_command("first_sound"),
        "dream_ready_s": since_command("dream_ready"),
        "first_dream_s": since_command("first_dream"),
        "before_engine_s": round(before, 3),
        "late_windows": s["late_windows"],
        "held_grains": s["held_grains"],
        "grains": s["grains"],
        "xruns_after_ready": s["xruns_after_ready"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of each run (default 20)")
    parser.add_argument("--configs", default="today,default,low", help="which configurations, in order")
    parser.add_argument("--set", default="", help="a custom configuration: live.NAME=VALUE,... (YAML values)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    configs = {name: CONFIGS[name] for name in args.configs.split(",") if name}
    if args.set:
        import yaml

        pairs = (item.partition("=") for item in args.set.split(","))
        configs["custom"] = {key.strip().removeprefix("live."): yaml.safe_load(value) for key, _, value in pairs}
    for path in (INPUT, WEIGHTS):
        if not path.is_file() and not (path == WEIGHTS and os.environ.get("DREAMSOUND_YAMNET")):
            raise SystemExit(f"{path} is missing: the benchmark needs ../shared (make test-material)")
    server = f"dreamsound-latency-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=server, JACK_NO_AUDIO_RESERVATION="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("DREAMSOUND_YAMNET", str(WEIGHTS))
    machine = cpu_info()
    jack = start_jack(server, 48000, 256)
    figures: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, live in configs.items():
                figures[name] = run_one(name, live, args.seconds, Path(tmp), env)
                if not args.json:
                    print(name, json.dumps(figures[name]), file=sys.stderr, flush=True)
    finally:
        jack.terminate()
        jack.wait(10)
    report = {
        "machine": machine,
        "command": "python -m benchmarks.live_latency " + " ".join(sys.argv[1:]),
        "seconds": args.seconds,
        "configs": figures,
    }
    if "today" in figures:
        base = figures["today"]
        report["against_today"] = {
            name: {
                "latency": f"{f['latency_s']} s against {base['latency_s']} s",
                "iterations_per_sample": f"{f['iterations_per_sample']} against {base['iterations_per_sample']}",
                "first_dream": f"{f['first_dream_s']} s against {base['first_dream_s']} s",
            }
            for name, f in figures.items() if name != "today"
        }
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
