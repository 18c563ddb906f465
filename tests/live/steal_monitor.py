"""Notes when the hypervisor takes a CPU from this virtual machine, run as its own process by ``livehelpers.HostSteal``.

Linux counts, per CPU, the time the host ran something else while this guest wanted to run: the
eighth number of each ``cpuN`` line of ``/proc/stat`` ("steal", in 10 ms units). This process reads it
every 10 ms (the unit: finer sampling says nothing more, and costs about 1.5 % of a core at this rate)
and writes the ``time.monotonic()`` of each read where it grew, one line each, to OUT.

    python -m tests.live.steal_monitor OUT

Prints ``ready`` after the first read; runs until its standard input closes. Where the kernel has no
steal column (not a VM, or not Linux), OUT stays empty.
"""

from __future__ import annotations

import os
import sys
import threading
import time

INTERVAL = 0.01


def steal_ticks(fd: int) -> int:
    """The sum over CPUs of their steal counters (0 where there is no such column)."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 65536).decode("ascii", "replace")
    total = 0
    for line in text.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        fields = line.split()
        if len(fields) > 8:
            total += int(fields[8])
    return total


def main(out: str) -> None:
    closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    try:
        fd = os.open("/proc/stat", os.O_RDONLY)
    except OSError:
        fd = -1
    with open(out, "w", encoding="ascii") as log:
        last = steal_ticks(fd) if fd >= 0 else 0
        print("ready", flush=True)
        while fd >= 0 and not closed.wait(INTERVAL):
            ticks = steal_ticks(fd)
            if ticks > last:
                log.write(f"{time.monotonic():.4f} {ticks - last}\n")
                log.flush()
                last = ticks
        closed.wait()


if __name__ == "__main__":
    main(sys.argv[1])
