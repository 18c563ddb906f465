"""How punctual the software clock (``--no-device``) is: the gaps between its blocks, and its xruns.

    python benchmarks/software_clock.py [--seconds 5] [--block 256] [--rate 48000] [--json]

Runs ``instrument.live.stream.SoftwareClock`` with a callback that only notes the time, twice in the
same run: with the real-time priority it asks for (where the system grants it) and, as the baseline,
at normal priority (what a user without an rtprio allowance gets). Prints per run the blocks, the
median / 99th percentile / largest gap between two blocks in ms (one block is 5.33 ms at 256 / 48 kHz)
and the xruns the clock reported (a block more than one block late).
"""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time

import numpy as np

from instrument.live import stream


def measure(seconds: float, block: int, rate: int, real_time: bool) -> dict:
    times: list[float] = []
    xruns = [0]

    def callback(indata, outdata, frames, when, status) -> None:
        times.append(time.monotonic())
        xruns[0] += bool(status)

    asked = stream.real_time_priority
    stream.real_time_priority = asked if real_time else (lambda: False)
    try:
        done = threading.Event()
        clock = stream.SoftwareClock(callback, rate, block, 2, done.set)
        clock.start()
        time.sleep(seconds)
        clock.stop()
    finally:
        stream.real_time_priority = asked
    gaps = np.diff(np.asarray(times)) * 1000
    return {
        "priority": "SCHED_FIFO asked" if real_time else "normal", "blocks": len(times),
        "gap_median_ms": round(float(np.median(gaps)), 3), "gap_p99_ms": round(float(np.percentile(gaps, 99)), 3),
        "gap_max_ms": round(float(gaps.max()), 3), "xruns": xruns[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--block", type=int, default=256)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = [measure(args.seconds, args.block, args.rate, real_time) for real_time in (True, False)]
    report = {"machine": platform.processor() or platform.machine(), "block": args.block, "rate": args.rate,
              "runs": runs}
    if args.json:
        print(json.dumps(report))
    else:
        for r in runs:
            print(f"{r['priority']:>16}: {r['blocks']} blocks, gap median {r['gap_median_ms']} ms,"
                  f" p99 {r['gap_p99_ms']} ms, max {r['gap_max_ms']} ms, {r['xruns']} xruns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
