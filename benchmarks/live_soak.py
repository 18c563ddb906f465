"""Soak benchmark of the live engine on a JACK dummy server with a real recording looping as input.

    python benchmarks/live_soak.py [--minutes M] [--blocksize N] [--record [DIR]] [--osc-client] [--json]

Starts ``jackd -d dummy -r 48000 -p N`` under a unique name (or uses ``--server NAME``),
runs ``dreamsound``'s engine (audio process + dream process) with the real model at
default settings, optionally recording a take (``--record``) and with an OSC client in
its own process polling ``/dream/get`` at 10 Hz (``--osc-client``), then runs the same
engine, with the same recording and OSC load, as a plain pass-through (a dream process
that does not dream: no model) for comparison. Reports: xruns with their times and what
was running then (recording flush, OSC message or status, window copy, a dream window,
classification, compiling, garbage collection), the slowest callback, iterations per
window, worker cycle, latency, first sound and first dream, RSS of the audio process.
Weights: ``DREAMSOUND_YAMNET`` or ../shared/models (``DREAMSOUND_SHARED``); input: ../shared/audio.
"""

from __future__ import annotations

import time

T0 = time.monotonic()  # "start": before anything is imported

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from instrument.live.protocol import IterateOnly  # noqa: E402  (the pass-through's base)

SHARED = Path(os.environ.get("DREAMSOUND_SHARED", REPO.parent / "shared"))
DEFAULT_INPUT = SHARED / "audio" / "speech-and-cat.wav"
TARGETS = {
    "xruns": "0 over 10 minutes (with --record and --osc-client), block 256; block 128 where the baseline has 0",
    "latency_s": "<= 0.6",
    "first_dream_s": "<= 10 on a 2-core AVX2 host",
    "first_sound_s": "<= 3 after the model is loaded (here: before it)",
    "rss_growth_mb": "< 20 over 10 minutes",
}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_info() -> dict:
    name, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": name, "isa": isa, "cores": os.cpu_count(), "load_average_at_start": load}


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


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PassThrough(IterateOnly):
    """The plain baseline's dreamer (in the dream process): the buffer comes back as it went in."""

    class Result:
        def __init__(self, audio):
            self.audio = audio

    def iterate_buffer(self, buffer, params, offsets):
        return self.Result(buffer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--input", default=str(DEFAULT_INPUT), help="recording to loop (default speech-and-cat.wav)")
    parser.add_argument("--iterations", type=int, help="iterations per window (default: config/defaults)")
    parser.add_argument("--blocksize", type=int, default=256, help="frames per callback (and JACK period)")
    parser.add_argument("--record", nargs="?", const="", metavar="DIR", help="record takes (default: a temp dir)")
    parser.add_argument("--osc-client", action="store_true", help="an OSC client process polls /dream/get at 10 Hz")
    parser.add_argument("--server", help="use this running JACK server instead of starting one")
    parser.add_argument("--config", help="dreamsound config file")
    parser.add_argument(
        "--baseline-seconds", type=float, default=30.0,
        help="then run the same engine as a pass-through (no model) this long, with the same load (0: skip)",
    )
    args = parser.parse_args()
    if not Path(args.input).is_file():
        raise SystemExit(f"input recording {args.input} not found (needs ../shared/audio or --input)")
    os.environ.setdefault("DREAMSOUND_YAMNET", str(SHARED / "models" / "yamnet.tflite"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rate = 48000
    jack = None
    if args.server:
        os.environ["JACK_DEFAULT_SERVER"] = args.server
    else:
        name = f"dreamsound-soak-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        jack = start_jack(name, rate, args.blocksize)
        os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    try:
        with tempfile.TemporaryDirectory(prefix="dreamsound-soak-") as tmp:
            if args.record == "":
                args.record = tmp
            return soak(args, rate)
    finally:
        if jack is not None:
            import sounddevice as sd

            sd._terminate()  # before the server goes: PortAudio's JACK host API asserts otherwise
            jack.terminate()
            jack.wait(10)
            sd._initialize()


def watch_gc(engine) -> None:
    """Garbage collections over 1 ms go into the engine's activity log (an xrun during one is then named)."""
    started = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.monotonic()
        elif time.monotonic() - started[0] > 0.001:
            engine.activity.add("gc", started[0], time.monotonic())

    gc.callbacks.append(callback)


class Load:
    """The optional recording and OSC client around one engine run."""

    def __init__(self, engine, args) -> None:
        self.engine, self.args = engine, args
        self.service = self.poller = None
        self.poller_result: dict | None = None

    def __enter__(self) -> Load:
        if self.args.osc_client:
            from instrument.osc.service import OscService
            from instrument.settings import OscSettings

            self.service = OscService(self.engine, OscSettings(port=0, feedback_port=free_udp_port(), oscquery=False))
            self.service.start()
            port = self.service.server.address[1]
            self.poller = subprocess.Popen(
                [sys.executable, str(REPO / "benchmarks" / "osc_poller.py"), str(port), "--rate", "10"],
                stdout=subprocess.PIPE,
                text=True,
            )
        return self

    def __exit__(self, *exc) -> None:
        if self.poller is not None:
            self.poller.send_signal(signal.SIGTERM)
            out, _ = self.poller.communicate(timeout=10)
            lines = out.strip().splitlines()
            self.poller_result = json.loads(lines[-1]) if lines else None
        if self.service is not None:
            self.service.stop()


def settings_for(args, rate: int):
    from instrument.config import load_config

    settings = load_config(args.config)
    audio = dataclasses.replace(
        settings.audio, samplerate=rate, blocksize=args.blocksize, input_file=args.input, input_loop=True
    )
    record = settings.record
    if args.record:
        record = dataclasses.replace(record, enabled=True, dir=args.record)
    return dataclasses.replace(settings, audio=audio, record=record)


def passthrough_baseline(args, settings, seconds: float) -> dict:
    """xruns and the slowest callback of the same engine and load when it does not dream."""
    from instrument.live.engine import Engine

    engine = Engine(settings, dreamer_factory=PassThrough, log=lambda m: None)
    with Load(engine, args) as load:
        engine.prepare()
        engine.start()
        try:
            engine.supervisor.wait_ready(60)
            engine.wait(seconds)
        finally:
            engine.stop()
    m = engine.controls.metrics(reset_peaks=False)
    return {
        "seconds": seconds,
        "xruns": m["xruns"],
        "xrun_report": engine.xrun_report(16),
        "callback_ms_max": m["callback_ms_max"],
        "osc_client": load.poller_result,
    }


def soak(args: argparse.Namespace, rate: int) -> int:
    from instrument.live.engine import Engine

    settings = settings_for(args, rate)
    log: list[str] = []
    engine = Engine(settings, log=(log.append if args.json else lambda m: print(f"  {m}", file=sys.stderr)))
    if args.iterations is not None:
        engine.controls.set("iterations", args.iterations)
    cycles: list[float] = []
    per_window: list[int] = []
    add_window = engine.metrics.add_window

    def record_window(report) -> None:
        cycles.append(report.seconds)
        per_window.append(report.iterations)
        add_window(report)

    engine.metrics.add_window = record_window  # type: ignore[method-assign]
    watch_gc(engine)
    latencies: list[float] = []
    rss: list[tuple[float, float]] = []
    duration = args.minutes * 60
    with Load(engine, args) as load:
        engine.prepare()
        engine.start()
        started = time.monotonic()
        rss.append((0.0, round(rss_mb(), 1)))
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
                        f"  {elapsed:6.1f}s {m['engine_state']} xruns {m['xruns']} it/win"
                        f" {m['iterations_per_window']:.1f} cycle {m['cycle_ms_median']} ms latency {m['latency']} s"
                        f" rss {rss[-1][1]} MB",
                        file=sys.stderr,
                    )
                if code != 0 or elapsed >= duration - 0.05:
                    break
        finally:
            engine.stop()
    ended = time.monotonic()
    rss.append((round(ended - started, 1), round(rss_mb(), 1)))
    m = engine.controls.metrics(reset_peaks=False)
    baseline_run = passthrough_baseline(args, settings, args.baseline_seconds) if args.baseline_seconds > 0 else None
    iteration_s = m["iteration_ms"] / 1000
    lead_s = settings.live.worker_budget * engine.player.hop / rate
    steady = rss[1][1] if len(rss) > 2 else rss[0][1]  # after the first 10 s (buffers, caches warm)
    offset = engine._started - T0  # engine times count from its creation; report from this script's start
    report = {
        "machine": {**cpu_info(), "python": platform.python_version()},
        "settings": {
            "samplerate": rate,
            "blocksize": args.blocksize,
            "overlap": settings.live.overlap,
            "worker_budget": settings.live.worker_budget,
            "layer": engine.controls.get("layer"),
            "mode": engine.controls.get("mode"),
            "iterations": engine.controls.get("iterations"),
            "input": Path(args.input).name,
            "record": bool(args.record),
            "osc_client": args.osc_client,
        },
        "minutes": round((ended - started) / 60, 2),
        "exit_reason": "completed" if engine.exit_reason.startswith("played") else engine.exit_reason,
        "xruns": m["xruns"],
        "xrun_report": engine.xrun_report(),
        "callback_ms_max": m["callback_ms_max"],
        "baseline_passthrough": baseline_run,
        "osc_client": load.poller_result,
        "engine_restarts": m["engine_restarts"],
        "windows": len(cycles),
        "late_windows": m["late_windows"],
        "held_grains": m["held_grains"],
        "torn_windows": m["torn_windows"],
        "iterations_per_window": round(statistics.mean(per_window), 2) if per_window else 0,
        "iterations_per_window_min": min(per_window) if per_window else 0,
        "iteration_shortfall_max": m["iteration_shortfall_max"],
        "iteration_ms_median": m["iteration_ms"],
        "iterations_per_window_capacity": round(lead_s / iteration_s, 1) if iteration_s else None,
        "cycle_ms_median": round(1000 * statistics.median(cycles), 2) if cycles else None,
        "cycle_ms_p99": round(1000 * percentile(cycles, 99), 2) if cycles else None,
        "latency_s": round(statistics.median(latencies), 4) if latencies else None,
        "latency_s_max": round(max(latencies), 4) if latencies else None,
        "first_sound_s": round(offset + m["first_sound"], 3) if m["first_sound"] is not None else None,
        "dream_ready_s": round(offset + m["dream_ready"], 3) if m["dream_ready"] is not None else None,
        "first_dream_s": round(offset + m["first_dream"], 3) if m["first_dream"] is not None else None,
        "recorded_seconds": m["recorded_seconds"],
        "record_dropped_frames": engine.metrics.record_dropped_frames,
        "rss_mb_audio_process": rss,
        "rss_growth_mb": round(rss[-1][1] - steady, 1),
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
