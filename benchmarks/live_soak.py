"""Soak benchmark of the live engine on a JACK dummy server with a real recording looping as input.

    python benchmarks/live_soak.py [--minutes M] [--json] [--iterations N] [--input FILE]

Starts ``jackd -d dummy -r 48000 -p 256`` under a unique name (or uses ``--server NAME``),
runs ``dreamsound``'s engine with the real model at default settings and reports: xruns,
iterations per window, worker cycle time (median, p99), end-to-end latency, time from
start to the first dreamed sound, and RSS over time, against the targets of issue 4.
Needs ``DREAMSOUND_YAMNET`` (or cached weights) and ``../shared/audio`` (or ``--input``).
"""

from __future__ import annotations

import time

T0 = time.monotonic()  # "start": before TensorFlow is imported

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_INPUT = REPO.parent / "shared" / "audio" / "speech-and-cat.wav"
TARGETS = {
    "xruns": "0 over 10 minutes",
    "iterations_per_window": ">= 16 at scores, 50 % overlap",
    "latency_s": "<= 0.6",
    "first_dream_s": "<= 15",
    "rss_growth_mb": "< 20 over 10 minutes",
}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def start_jack(name: str, rate: int, period: int) -> subprocess.Popen:
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_AUDIO_RESERVATION="1")
    proc = subprocess.Popen(
        ["jackd", "-n", name, "-d", "dummy", "-r", str(rate), "-p", str(period)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ready = subprocess.run(["jack_wait", "-w", "-t", "15"], env=env, capture_output=True)
    if ready.returncode != 0:
        proc.terminate()
        raise SystemExit(f"jackd did not start (server {name})")
    return proc


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--input", default=str(DEFAULT_INPUT), help="recording to loop (default speech-and-cat.wav)")
    parser.add_argument("--iterations", type=int, help="iterations per window (default: config/defaults)")
    parser.add_argument("--server", help="use this running JACK server instead of starting one")
    parser.add_argument("--config", help="dreamsound config file")
    parser.add_argument(
        "--baseline-seconds", type=float, default=30.0,
        help="first run the same engine without dreaming (pass-through, no TensorFlow) this long, for comparison",
    )
    args = parser.parse_args()
    if not Path(args.input).is_file():
        raise SystemExit(f"input recording {args.input} not found (needs ../shared/audio or --input)")
    rate, period = 48000, 256
    jack = None
    if args.server:
        os.environ["JACK_DEFAULT_SERVER"] = args.server
    else:
        name = f"dreamsound-soak-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        jack = start_jack(name, rate, period)
        os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return soak(args, rate, period)
    finally:
        if jack is not None:
            import sounddevice as sd

            sd._terminate()  # before the server goes: PortAudio's JACK host API asserts otherwise
            jack.terminate()
            jack.wait(10)
            sd._initialize()


class PassThrough:
    """The plain baseline: the same engine, callback and worker timing, but no model."""

    class Result:
        def __init__(self, audio):
            self.audio = audio

    def iterate(self, x, params):
        return self.Result(x)


def passthrough_baseline(settings, seconds: float) -> dict:
    """xruns and the slowest callback of the engine when it does not dream (same server, same input)."""
    from instrument.live.engine import Engine

    engine = Engine(settings, dreamer=PassThrough(), log=lambda m: None)
    engine.prepare()
    engine.start()
    try:
        engine.wait(seconds)
    finally:
        engine.stop()
    m = engine.controls.metrics(reset_peaks=False)
    return {"seconds": seconds, "xruns": m["xruns"], "callback_ms_max": m["callback_ms_max"]}


def soak(args: argparse.Namespace, rate: int, period: int) -> int:
    from instrument.live.engine import Engine, LiveConfig

    settings = LiveConfig.load(args.config)
    audio = dataclasses.replace(
        settings.audio, samplerate=rate, blocksize=period, input_file=args.input, input_loop=True
    )
    settings = dataclasses.replace(settings, audio=audio)
    log = [] if args.json else None
    engine = Engine(settings, log=(log.append if log is not None else lambda m: print(f"  {m}", file=sys.stderr)))
    if args.iterations is not None:
        engine.controls.set("iterations", args.iterations)
    cycles: list[float] = []
    per_window: list[int] = []
    add_cycle = engine.metrics.add_cycle

    def record_cycle(seconds: float, iterations: int) -> None:
        cycles.append(seconds)
        per_window.append(iterations)
        add_cycle(seconds, iterations)

    engine.metrics.add_cycle = record_cycle  # type: ignore[method-assign]
    import gc

    slow_gc: list[tuple[float, int, float]] = []  # (time, generation, ms) of collections over 1 ms while audio runs
    gc_start = [0.0]

    def watch_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_start[0] = time.perf_counter()
        elif (spent := time.perf_counter() - gc_start[0]) > 0.001 and engine.stream is not None:
            slow_gc.append((round(time.monotonic() - T0, 2), info["generation"], round(spent * 1000, 2)))

    gc.callbacks.append(watch_gc)
    engine.prepare()
    engine.start()
    started = time.monotonic()
    latencies: list[float] = []
    rss: list[tuple[float, float]] = [(0.0, round(rss_mb(), 1))]
    duration = args.minutes * 60
    next_rss = 10.0
    try:
        while True:
            code = engine.wait(min(5.0, duration - (time.monotonic() - started)))
            elapsed = time.monotonic() - started
            if engine.metrics.latency == engine.metrics.latency:
                latencies.append(engine.metrics.latency)
            if elapsed >= next_rss:
                rss.append((round(elapsed, 1), round(rss_mb(), 1)))
                next_rss += 10.0 if args.minutes <= 2 else 30.0
            if not args.json:
                m = engine.controls.metrics()
                print(
                    f"  {elapsed:6.1f}s xruns {m['xruns']} it/win {m['iterations_per_window']:.1f}"
                    f" cycle {m['cycle_ms_median']} ms latency {m['latency']} s rss {rss[-1][1]} MB",
                    file=sys.stderr,
                )
            if code != 0 or elapsed >= duration - 0.05:
                break
    finally:
        engine.stop()
    rss.append((round(time.monotonic() - started, 1), round(rss_mb(), 1)))
    m = engine.controls.metrics(reset_peaks=False)
    # After the soak, so "time to first dreamed sound" counts from this script's start.
    baseline_run = passthrough_baseline(settings, args.baseline_seconds) if args.baseline_seconds > 0 else None
    iteration_s = m["iteration_ms"] / 1000
    lead_s = engine.worker.lead / rate if engine.worker else float("nan")
    baseline = rss[1][1] if len(rss) > 2 else rss[0][1]  # after the first 10 s (buffers, caches warm)
    report = {
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "samplerate": rate,
            "blocksize": period,
            "overlap": settings.live.overlap,
            "worker_budget": settings.live.worker_budget,
            "layer": engine.controls.get("layer"),
            "mode": engine.controls.get("mode"),
            "iterations": engine.controls.get("iterations"),
            "input": Path(args.input).name,
        },
        "minutes": round((time.monotonic() - started) / 60, 2),
        "exit_reason": "completed" if engine.exit_reason.startswith("played") else engine.exit_reason,
        "xruns": m["xruns"],
        "xrun_times_s": [
            round(f / rate, 2) for f in engine.metrics.xrun_frames[: min(engine.metrics.xrun_blocks, 64)].tolist()
        ],
        "slow_gc_during_run": slow_gc[-20:],
        "slow_gc_count": len(slow_gc),
        "callback_ms_max": m["callback_ms_max"],
        "baseline_passthrough": baseline_run,
        "windows": len(cycles),
        "late_windows": m["late_windows"],
        "held_grains": m["held_grains"],
        "iterations_per_window": round(statistics.mean(per_window), 2) if per_window else 0,
        "iterations_per_window_min": min(per_window) if per_window else 0,
        "iteration_ms_median": m["iteration_ms"],
        "iterations_per_window_capacity": round(lead_s / iteration_s, 1) if iteration_s else None,
        "cycle_ms_median": round(1000 * statistics.median(cycles), 2) if cycles else None,
        "cycle_ms_p99": round(1000 * percentile(cycles, 99), 2) if cycles else None,
        "latency_s": round(statistics.median(latencies), 4) if latencies else None,
        "latency_s_max": round(max(latencies), 4) if latencies else None,
        "first_dream_s": round(engine._started - T0 + m["first_dream"], 3) if m["first_dream"] else None,
        "rss_mb": rss,
        "rss_growth_mb": round(rss[-1][1] - baseline, 1),
        "targets": TARGETS,
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            if key != "targets":
                print(f"{key}: {value}")
    return 0 if engine.exit_reason.startswith("played") else 1


if __name__ == "__main__":
    sys.exit(main())
