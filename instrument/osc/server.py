"""The OSC server: the transport, the dispatcher and the destinations joined, plus the status.

- ``transport.py`` reads one UDP socket in one thread, in arrival order.
- Here: senders outside ``osc.allow`` (when listening beyond loopback) and
  malformed packets are dropped and counted; bundles are unpacked and their
  messages run at once (a time tag in the future never makes the server wait).
- ``dispatch.py`` sets parameters and runs actions; a refusal answers
  ``/dream/error address reason`` to its sender.
- ``feedback.py`` says where things go: an answer to its sender's port and to
  ``osc.feedback_port`` on its host; an accepted change, the status
  (``osc.status_rate`` a second) and dream-engine trouble
  (``/dream/error /dream/status/engine reason``) to every current destination,
  each distinct ``(host, port)`` once.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pythonosc.osc_packet import OscPacket

from instrument.errors import DreamSoundError
from instrument.osc import namespace as ns
from instrument.osc.dispatch import Dispatcher, Instrument
from instrument.osc.feedback import Destination, Destinations
from instrument.osc.presets import PresetStore
from instrument.osc.transport import UdpTransport
from instrument.osc.wire import message
from instrument.settings import OscSettings

__all__ = ["Instrument", "OscServer"]


class OscServer:
    def __init__(self, instrument: Instrument, settings: OscSettings | None = None) -> None:
        self.instrument = instrument
        self.controls = instrument.controls
        self.activity = getattr(instrument, "activity", None)
        self.settings = settings or OscSettings()
        self.presets = PresetStore(self.settings.presets_file)
        self.destinations = Destinations(self.settings.feedback_port, self.settings.client_timeout)
        self.transport = UdpTransport(
            self.settings.host, self.settings.port, self.handle_packet, self._packet_failed, self.activity
        )
        self.dispatcher = Dispatcher(
            instrument, self.presets, Path(self.settings.target_sound_dir), self._reply, self.status_messages
        )
        self._counts = {"received": 0, "malformed": 0, "not_allowed": 0}
        self._allowed = {ipaddress.ip_address(a) for a in self.settings.allow}
        self._stop = threading.Event()
        self._status_thread: threading.Thread | None = None
        self._remove_listener: Callable[[], None] | None = None
        self.on_event: Callable[[str], None] | None = None  # the terminal's log

    @property
    def counts(self) -> dict[str, int]:
        return {**self._counts, **self.dispatcher.counts, "sent": self.transport.sent}

    @property
    def on_event(self) -> Callable[[str], None] | None:
        return self.dispatcher.on_event

    @on_event.setter
    def on_event(self, log: Callable[[str], None] | None) -> None:
        self.dispatcher.on_event = log

    # --- life cycle ------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        return self.transport.address

    def start(self) -> None:
        # The confirmations' listener before the socket: a change accepted the moment the socket opens (a
        # client already sending, as Pd does while the instrument starts) is confirmed like any other.
        self._remove_listener = self.controls.add_listener(self._confirm)
        self.transport.start()
        if self.settings.status_rate > 0:
            self._status_thread = threading.Thread(target=self._status_loop, name="osc-status", daemon=True)
            self._status_thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._status_thread is not None:
            self._status_thread.join(timeout=2)
        if self._remove_listener:
            self._remove_listener()
        self.transport.stop()

    # --- receiving -------------------------------------------------------------------
    def handle_packet(self, data: bytes, sender: tuple[str, int]) -> None:
        """Handle one datagram from ``sender`` (also called directly by tests)."""
        self._counts["received"] += 1
        if not self._is_allowed(sender[0]):
            self._counts["not_allowed"] += 1
            return
        try:
            packet = OscPacket(data)
        except Exception:  # python-osc raises ParseError and, on some garbage, others
            self._counts["malformed"] += 1
            return
        self.destinations.heard(sender)
        for timed in packet.messages:  # bundle contents too; time tags are not waited for
            self.dispatcher.handle(timed.message.address, list(timed.message.params), sender)

    def _packet_failed(self, reason: str) -> None:
        self._counts["malformed"] += 1
        if self.on_event:
            self.on_event(reason)

    def _is_allowed(self, host: str) -> bool:
        if not self._allowed or self.settings.loopback_only:
            return True
        try:
            return ipaddress.ip_address(host) in self._allowed
        except ValueError:
            return False

    # --- what the dispatcher offers, for the service and the tests ---------------------
    def apply(self, values: dict[str, Any]) -> None:
        """Apply a preset: all its values, or (if one is refused) none of them."""
        self.dispatcher.apply(values)

    def send_all_values(self, destination: Destination) -> None:
        self.dispatcher.send_all_values(destination)

    def _confirm(self, name: str, value: Any) -> None:
        """Controls listener: echo every accepted change to every destination, once each."""
        parameter = next((p for p in ns.PARAMETERS if p.name == name), None)
        if parameter is None:
            return
        try:
            args = self.dispatcher.reply_args(parameter, value)
        except DreamSoundError:
            return
        self._broadcast(parameter.path, args)

    # --- status -----------------------------------------------------------------------
    def status_messages(self) -> list[tuple[str, list[Any]]]:
        s = self.instrument.status()
        dropped = self._counts["malformed"] + self._counts["not_allowed"]
        return [
            ("/dream/status/input_class", [s["input_class"], s["input_score"], s["input_name"]]),
            ("/dream/status/output_class", [s["output_class"], s["output_score"], s["output_name"]]),
            ("/dream/status/levels", [s["input_db"], s["output_db"]]),
            ("/dream/status/rate", [float(s["iterations_per_second"])]),
            ("/dream/status/iterations", [float(s["iterations_per_window"])]),
            ("/dream/status/iterations_per_sample", [float(s.get("iterations_per_sample", 0.0))]),
            ("/dream/status/xruns", [int(s["xruns"])]),
            ("/dream/status/latency", [float(s["latency"])]),
            ("/dream/status/recording", [int(bool(s["recording"]))]),
            ("/dream/status/dropped", [dropped]),
            ("/dream/status/engine", [str(s.get("engine", "dreaming"))]),
        ]

    def _status_loop(self) -> None:
        period = 1.0 / self.settings.status_rate
        while not self._stop.wait(period):
            destinations = self.destinations.current()
            if not destinations:
                continue
            started = time.monotonic()
            try:
                messages = self.status_messages()
            except Exception as err:  # a status hiccup must not end the status thread
                if self.on_event:
                    self.on_event(f"status unavailable: {err}")
                continue
            for path, args in messages:
                self._send(destinations, path, args)
            if self.activity is not None:
                self.activity.add("osc_status", started, time.monotonic())

    def broadcast_error(self, reason: str) -> None:
        """Tell every destination about dream-engine trouble: ``/dream/error /dream/status/engine reason``."""
        self._broadcast(ns.ERROR_PATH, ["/dream/status/engine", reason[:1000]])

    # --- sending ----------------------------------------------------------------------
    def _reply(self, sender: Destination, address: str, args: list[Any]) -> None:
        self._send(self.destinations.replies_for(sender), address, args)

    def _broadcast(self, address: str, args: list[Any]) -> None:
        self._send(self.destinations.current(), address, args)

    def _send(self, destinations: list[Destination], address: str, args: list[Any]) -> None:
        data = message(address, args)
        for destination in destinations:
            self.transport.send(data, destination)
