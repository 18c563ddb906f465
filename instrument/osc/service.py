"""Starts and stops the OSC surface (server + OSCQuery discovery) beside a live engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from instrument.osc.bridge import LiveInstrument
from instrument.osc.discovery import Discovery
from instrument.osc.server import OscServer
from instrument.settings import OscSettings


class ChangeLog:
    """OSC changes as terminal lines, a slider sweep as one line: per address at most one line
    every ``interval`` seconds, and always its final value (printed ``interval`` after the last)."""

    def __init__(self, log: Callable[[str], None], interval: float = 0.5) -> None:
        self.log = log
        self.interval = interval
        self._printed: dict[str, float] = {}
        self._pending: dict[str, str] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        key = " ".join(line.split()[:2])  # "OSC /dream/threshold": a refusal ("OSC refused") keeps its own
        now = time.monotonic()
        with self._lock:
            if not line.startswith("OSC /") or now - self._printed.get(key, -1e9) >= self.interval:
                self._pending.pop(key, None)
                self._printed[key] = now
                print_now = True
            else:
                self._pending[key] = line
                print_now = False
                if self._timer is None:
                    self._timer = threading.Timer(self.interval, self._flush)
                    self._timer.daemon = True
                    self._timer.start()
        if print_now:
            self.log(line)

    def _flush(self) -> None:
        with self._lock:
            lines, self._pending, self._timer = list(self._pending.values()), {}, None
            now = time.monotonic()
            for line in lines:
                self._printed[" ".join(line.split()[:2])] = now
        for line in lines:
            self.log(line)

    def stop(self) -> None:
        with self._lock:
            timer = self._timer
        if timer is not None:
            timer.cancel()
            self._flush()


class OscService:
    def __init__(self, engine: Any, settings: OscSettings | None = None) -> None:
        self.settings = settings or OscSettings()
        self.instrument = LiveInstrument(engine)
        self.server = OscServer(self.instrument, self.settings)
        # Accepted changes and refusals as lines on the terminal, above the status line.
        log = getattr(engine, "log", None)
        self.changes = ChangeLog(log) if log is not None else None
        self.server.on_event = self.changes
        self.discovery: Discovery | None = None

    def start(self) -> str:
        """Start listening; returns a one-line description for the log."""
        self.server.start()
        if hasattr(self.instrument.engine, "add_error_listener"):
            self.instrument.engine.add_error_listener(self.server.broadcast_error)
        host, port = self.server.address
        line = (f"OSC on {host}:{port} (replies also to port {self.settings.feedback_port};"
                f" silent senders stop receiving after {self.settings.client_timeout:g} s)")
        if self.settings.oscquery:
            self.discovery = Discovery(self.settings, self.server.controls, port)
            try:
                self.discovery.start()
            except Exception:
                self.discovery.stop()
                self.server.stop()
                raise
            line += f", OSCQuery on http://{host}:{self.discovery.port}"
        return line

    def stop(self) -> None:
        if self.discovery is not None:
            self.discovery.stop()
        self.server.stop()
        if self.changes is not None:
            self.changes.stop()
