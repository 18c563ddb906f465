"""Dream parameters, their defaults and allowed values, validated in one place.

The offline render, ``config.yaml``, the live engine and the OSC surface all
build a ``DreamParams`` and so share these checks and messages.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from instrument.errors import DreamSoundError
from instrument.model.layout import TAP_NAMES, check_tap

MODES = ("gradients", "deepdream", "filter", "filter_add", "target")
# Layers a performer can dream on: every tap but the log-mel input itself.
LAYERS = tuple(t for t in TAP_NAMES if t != "log_mel")
MAX_ITERATIONS = 10000


@dataclass(frozen=True)
class DreamParams:
    mode: str = "filter_add"
    layer: str = "scores"
    threshold: float = 0.3
    step: float = 0.01
    target_class: int | str | None = None  # index, name, or None for the window's own top class
    target_sound: str | None = None
    flip: bool = False
    iterations: int = 20
    filter_fft: int = 1024
    filter_hop: int = 256
    power: float = 0.125

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DreamSoundError(f"mode {self.mode!r} is not allowed; allowed: {', '.join(MODES)}")
        if self.layer not in LAYERS:
            check_tap(self.layer)  # names the taps
            raise DreamSoundError(f"layer {self.layer!r} is not allowed; allowed: {', '.join(LAYERS)}")
        _number("threshold", self.threshold, 0.0, 1.0)
        _number("step", self.step, 0.0, 100.0)
        _number("power", self.power, 1e-3, 4.0)
        _integer("iterations", self.iterations, 0, MAX_ITERATIONS)
        _integer("filter_fft", self.filter_fft, 64, 8192)
        if self.filter_fft & (self.filter_fft - 1):
            raise DreamSoundError(f"filter_fft {self.filter_fft} must be a power of two (64..8192)")
        _integer("filter_hop", self.filter_hop, 1, self.filter_fft // 2)
        if not isinstance(self.flip, bool):
            raise DreamSoundError(f"flip {self.flip!r} must be true or false")
        object.__setattr__(self, "target_class", class_target(self.target_class))
        if self.mode == "target" and not self.target_sound:
            raise DreamSoundError("mode 'target' needs a target sound (target_sound / --target-sound FILE)")

    def replace(self, **changes: Any) -> DreamParams:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


AUTO_CLASS_WORDS = ("", "auto", "none", "-1")


def class_target(value: object) -> int | str | None:
    """The one reading of a target class: ``None`` (auto: each window's own top class), an index, or a name.

    ``auto``, ``none``, ``-1``, ``"-1"`` and an empty name are auto; a whole number (``3``, ``3.0``, ``"3"``) is
    an index; any other text is a name or part of one, resolved against the class map by ``Dreamer``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise DreamSoundError(f"target_class {value!r}: expected a class index, a name, or auto")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if value == -1:
            return None
        if value < 0:
            raise DreamSoundError(f"target_class {value} is out of range; allowed: -1 (auto), 0 or more, or a name")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in AUTO_CLASS_WORDS:
            return None
        if text.isdigit():
            return int(text)
        return text
    raise DreamSoundError(f"target_class {value!r}: expected a class index, a name, or auto")


def _number(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise DreamSoundError(f"{name} {value!r} must be a number from {low:g} to {high:g}")
    if not low <= value <= high:
        raise DreamSoundError(f"{name} {value:g} is out of range; allowed: {low:g} to {high:g}")


def _integer(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DreamSoundError(f"{name} {value!r} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise DreamSoundError(f"{name} {value} is out of range; allowed: {low} to {high}")
