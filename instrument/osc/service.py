"""Starts and stops the OSC surface (server + OSCQuery discovery) beside a live engine."""

from __future__ import annotations

from typing import Any

from instrument.osc.bridge import LiveInstrument
from instrument.osc.discovery import Discovery
from instrument.osc.server import OscServer
from instrument.settings import OscSettings


class OscService:
    def __init__(self, engine: Any, settings: OscSettings | None = None) -> None:
        self.settings = settings or OscSettings()
        self.instrument = LiveInstrument(engine)
        self.server = OscServer(self.instrument, self.settings)
        self.discovery: Discovery | None = None

    def start(self) -> str:
        """Start listening; returns a one-line description for the log."""
        self.server.start()
        if hasattr(self.instrument.engine, "add_error_listener"):
            self.instrument.engine.add_error_listener(self.server.broadcast_error)
        host, port = self.server.address
        line = f"OSC on {host}:{port} (replies also to port {self.settings.feedback_port})"
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
