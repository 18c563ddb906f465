"""An OSC client like a Pd/Max panel that polls: ``/dream/get`` ``--rate`` times a second, counting what comes back.

    python benchmarks/osc_poller.py PORT [--rate 10]

Runs until SIGTERM/SIGINT, then prints one JSON line: requests sent, messages and status messages
received, the longest silence between status messages. Its own process, as a patch would be.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import threading
import time

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--rate", type=float, default=10.0)
    args = parser.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    request = OscMessageBuilder("/dream/get").build().dgram
    counts = {"requests": 0, "received": 0, "status": 0, "errors": 0}
    last_status = None
    longest_gap = 0.0
    next_send = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_send:
            sock.sendto(request, (args.host, args.port))
            counts["requests"] += 1
            next_send += 1.0 / args.rate
        try:
            data = sock.recv(65536)
        except (TimeoutError, OSError):
            continue
        counts["received"] += 1
        try:
            for timed in OscPacket(data).messages:
                address = timed.message.address
                if address.startswith("/dream/status/"):
                    counts["status"] += 1
                    now = time.monotonic()
                    if last_status is not None:
                        longest_gap = max(longest_gap, now - last_status)
                    last_status = now
                elif address == "/dream/error":
                    counts["errors"] += 1
        except Exception:
            pass
    counts["longest_status_gap_s"] = round(longest_gap, 3)
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
