"""Feedback once per destination, and senders that fall silent stop receiving.

The server runs for real on 127.0.0.1 UDP with the real controls; the status it
reports comes from a stand-in instrument (no engine, no model: these tests check
where messages go, not what they say). liblo's ``oscsend`` is the independent
client: one process per message, so every message comes from a fresh port, as
when a performer types ``oscsend`` commands.
"""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Any

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from instrument.live.controls import Controls
from instrument.osc.feedback import Destinations
from instrument.osc.server import OscServer
from instrument.settings import OscSettings


class StandInInstrument:
    """Real controls; status figures fixed (the server's routing is what is tested)."""

    def __init__(self) -> None:
        self.controls = Controls()

    def class_name(self, target: int | str) -> tuple[int, str]:
        return int(target), f"class {int(target)}"

    def search_classes(self, query: str) -> list[tuple[int, str]]:
        return []

    def capture_target(self, seconds: float) -> str:
        raise AssertionError("not used")

    def captured_names(self) -> set[str]:
        return set()

    def status(self) -> dict[str, Any]:
        return {
            "input_class": 0, "input_score": 0.5, "input_name": "Speech",
            "output_class": 137, "output_score": 0.9, "output_name": "Music",
            "input_db": -20.0, "output_db": -18.0, "iterations_per_second": 30.0,
            "iterations_per_window": 12.0, "iterations_per_sample": 30.0, "xruns": 0, "latency": 0.4,
            "recording": False,
            "engine": "dreaming",
        }


class Listener:
    """A UDP port that collects OSC messages, like Max's [udpreceive 9001] or oscdump."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def collect(self, seconds: float) -> list[tuple[str, list[Any]]]:
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            got += [(t.message.address, list(t.message.params)) for t in OscPacket(data).messages]
        return got

    def wait_for(self, address: str, timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            for path, args in self.collect(min(left, 0.2)):
                if path == address:
                    return args
        raise AssertionError(f"no {address} within {timeout} s")

    def drain(self) -> None:
        self.collect(0.05)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def feedback():
    listener = Listener()
    yield listener
    listener.close()


def serve(feedback_port: int, **changes: Any) -> OscServer:
    settings = OscSettings(port=0, feedback_port=feedback_port, oscquery=False, **changes)
    server = OscServer(StandInInstrument(), settings)
    server.start()
    return server


def oscsend(port: int, address: str, types: str = "", *values: str) -> None:
    subprocess.run(["oscsend", "127.0.0.1", str(port), address, types, *values], check=True, timeout=10)


def test_many_oscsend_ports_get_one_status_stream_and_one_confirmation_at_the_feedback_port(feedback):
    server = serve(feedback.port, status_rate=10.0)
    port = server.address[1]
    try:
        for _ in range(14):  # fourteen processes, fourteen source ports, one host
            oscsend(port, "/dream/get")
        # oscsend returns once its packet is sent; the server's thread may still be reading the last one
        deadline = time.monotonic() + 5.0
        while len(server.destinations.current()) < 15 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.destinations.current()) == 15  # 14 source ports + the host's feedback port
        feedback.wait_for("/dream/status/output_class")
        seconds = 2.0
        heard = feedback.collect(seconds)
        rate = sum(path == "/dream/status/output_class" for path, _ in heard) / seconds
        # The fault is a copy per sender (140 a second here); a busy host may only slow the 10 Hz tick.
        assert 4 <= rate <= 13, f"{rate} /dream/status/output_class a second at the feedback port, expected 10"

        oscsend(port, "/dream/target", "i", "74")
        assert feedback.wait_for("/dream/target") == [74, "class 74"]
        later = feedback.collect(0.5)
        assert [args for path, args in later if path == "/dream/target"] == [], "confirmed more than once"
        assert server.controls.params.target_class == 74
    finally:
        server.stop()


def _send(sock: socket.socket, port: int, address: str) -> None:
    sock.sendto(OscMessageBuilder(address=address).build().dgram, ("127.0.0.1", port))


def test_a_silent_sender_stops_receiving_and_a_pinging_one_does_not(feedback):
    server = serve(feedback.port, status_rate=20.0, client_timeout=1.0)
    port = server.address[1]
    silent, pinging = Listener(), Listener()
    try:
        _send(silent.sock, port, "/dream/ping")
        _send(pinging.sock, port, "/dream/ping")
        silent.wait_for("/dream/status/rate")
        deadline = time.monotonic() + 1.6  # past the timeout, pinging every 0.3 s
        while time.monotonic() < deadline:
            _send(pinging.sock, port, "/dream/ping")
            pinging.collect(0.3)
        silent.drain()
        assert not [p for p, _ in silent.collect(0.5) if p.startswith("/dream/status/")], "still sent to"
        assert pinging.wait_for("/dream/status/rate", timeout=1.0)
        # The loopback host's feedback port stays: a Max panel listening there keeps its status.
        assert feedback.wait_for("/dream/status/rate", timeout=1.0)
        # A silent sender that speaks again is heard again.
        _send(silent.sock, port, "/dream/ping")
        assert silent.wait_for("/dream/status/rate", timeout=1.0)
    finally:
        silent.close()
        pinging.close()
        server.stop()


def test_destinations_are_distinct_expire_and_keep_the_loopback_feedback_port():
    now = [0.0]
    d = Destinations(feedback_port=9001, timeout=60.0, clock=lambda: now[0])
    for port in range(50000, 50014):
        d.heard(("127.0.0.1", port))
    d.heard(("192.168.1.31", 40000))
    current = d.current()
    assert len(current) == len(set(current)) == 14 + 1 + 2
    assert current.count(("127.0.0.1", 9001)) == 1
    assert d.replies_for(("127.0.0.1", 9001)) == [("127.0.0.1", 9001)]
    now[0] = 30.0
    d.heard(("192.168.1.31", 40000))
    now[0] = 61.0
    assert d.current() == [("192.168.1.31", 40000), ("192.168.1.31", 9001), ("127.0.0.1", 9001)]
    now[0] = 91.0
    assert d.current() == [("127.0.0.1", 9001)]
