"""A JACK client that records one port into a .npy file, run as its own process by ``livehelpers.JackCapture``.

Its own interpreter, so its process callback never waits for the test process's GIL: in the test
process it competed with the engine's callback, and a late capture client is an xrun of the whole
JACK graph, counted by the engine as if the engine had been late.

    python -m tests.live.jack_capture SOURCE_PORT SECONDS OUT.npy

Prints ``ready`` once connected; records until its standard input closes, then writes OUT.npy.
"""

from __future__ import annotations

import sys
import uuid

import jack
import numpy as np


def main(source: str, seconds: float, out: str) -> None:
    client = jack.Client(f"capture-{uuid.uuid4().hex[:6]}", no_start_server=True)
    buffer = np.empty(int(seconds * client.samplerate), np.float32)
    buffer.fill(0.0)  # touch the pages now, not in JACK's thread
    pos = 0
    port = client.inports.register("in")

    @client.set_process_callback
    def process(frames: int) -> None:
        nonlocal pos
        n = min(frames, buffer.size - pos)
        if n > 0:
            buffer[pos : pos + n] = port.get_array()[:n]
            pos += n

    client.activate()
    client.connect(source, port)
    print("ready", flush=True)
    sys.stdin.read()  # until the test closes our standard input
    client.deactivate()
    client.close()
    np.save(out, buffer[:pos])


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), sys.argv[3])
