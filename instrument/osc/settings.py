"""The ``osc:`` section of ``config.yaml``: where the server listens, who may talk, where its files live."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from instrument.config import register_section
from instrument.errors import DreamSoundError


def _port(name: str, value: object, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        raise DreamSoundError(f"osc.{name} {value!r} must be a port number from {low} to 65535")


@dataclass(frozen=True)
class OscSettings:
    enabled: bool = True
    host: str = "127.0.0.1"  # listen here; another interface (or 0.0.0.0) only when set so
    port: int = 9000
    feedback_port: int = 9001  # replies also go to this port on the sender's host (Max's [udpreceive])
    status_rate: float = 10.0  # status messages per second (0 = off)
    allow: tuple[str, ...] = ()  # sender addresses allowed when listening beyond loopback; empty = anyone
    presets_file: str = "presets.yaml"
    target_sound_dir: str = "sounds"  # /dream/target_sound NAME loads only files from here
    oscquery: bool = True  # serve the namespace over OSCQuery (HTTP)
    oscquery_port: int = 9002
    zeroconf: bool = False  # also advertise on the network with mDNS (Max/ossia, TouchOSC, Chataigne)

    def __post_init__(self) -> None:
        for flag in ("enabled", "oscquery", "zeroconf"):
            if not isinstance(getattr(self, flag), bool):
                raise DreamSoundError(f"osc.{flag} {getattr(self, flag)!r} must be true or false")
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            raise DreamSoundError(f"osc.host {self.host!r} must be an IP address (e.g. 127.0.0.1 or 0.0.0.0)") from None
        _port("port", self.port, allow_zero=True)
        _port("feedback_port", self.feedback_port)
        _port("oscquery_port", self.oscquery_port, allow_zero=True)
        rate = self.status_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 100:
            raise DreamSoundError(f"osc.status_rate {rate!r} is out of range; allowed: 0 to 100 (per second)")
        allow = tuple(self.allow) if isinstance(self.allow, (list, tuple)) else None
        if allow is None:
            raise DreamSoundError(f"osc.allow {self.allow!r} must be a list of IP addresses")
        for address in allow:
            try:
                ipaddress.ip_address(str(address))
            except ValueError:
                raise DreamSoundError(f"osc.allow: {address!r} is not an IP address") from None
        object.__setattr__(self, "allow", tuple(str(a) for a in allow))
        for name in ("presets_file", "target_sound_dir"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise DreamSoundError(f"osc.{name} must be a path")

    @property
    def loopback_only(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback


register_section("osc", OscSettings)
