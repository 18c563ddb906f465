"""The OSC transport: one UDP socket and the one thread that reads it, in arrival order.

It knows nothing of addresses: each datagram goes to ``on_packet(data, sender)``;
``send`` writes from the same socket, because Pd's ``[netsend -u -b]`` only reads
datagrams that come back from the address and port it sends to.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from instrument.errors import DreamSoundError


class UdpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        on_packet: Callable[[bytes, tuple[str, int]], None],
        on_error: Callable[[str], None] | None = None,
        activity: Any = None,
    ) -> None:
        self.host, self.port = host, port
        self.on_packet = on_packet
        self.on_error = on_error
        self.activity = activity  # what ran when, for the soak's xrun report
        self.sent = 0
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._sock is not None
        return self._sock.getsockname()[:2]

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            raise DreamSoundError(
                f"cannot listen for OSC on {self.host}:{self.port} ({err.strerror}); "
                "another program may use that port: set osc.port in the config"
            ) from err
        # Room for a burst (a patch's slider sweep, a fuzzer) while a message is handled.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.settimeout(0.1)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="osc-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()

    def send(self, data: bytes, destination: tuple[str, int]) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(data, destination)
            self.sent += 1
        except OSError:
            pass  # a destination that went away must not disturb the others

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            started = time.monotonic()
            try:
                self.on_packet(data, sender[:2])
            except Exception as err:  # nothing a sender does may end this thread
                if self.on_error:
                    self.on_error(f"OSC packet from {sender[0]} dropped: {err}")
            if self.activity is not None:
                self.activity.add("osc_message", started, time.monotonic())
