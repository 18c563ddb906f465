"""Dream parameters, each described once (default, range, unit, OSC address) beside its field.

The offline render, ``config.yaml``, the live engine and the OSC surface all
build a ``DreamParams`` and so share these checks and messages; ``class_target``
is the one reading of a target class.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

from instrument.errors import DreamSoundError
from instrument.model.layout import NUM_CLASSES, TAP_NAMES
from instrument.spec import check_fields, check_integer, setting

MODES = ("gradients", "deepdream", "filter", "filter_add", "target")
# What reaches the output: "full" = the input at its own rate plus the dream's change (band-limited to 8 kHz:
# what YAMNet hears is all the dream changes); "16k" = the 16 kHz dream resampled, as in the paper.
BANDS = ("full", "16k")
# Layers a performer can dream on: every tap but the log-mel input itself.
LAYERS = tuple(t for t in TAP_NAMES if t != "log_mel")
MAX_ITERATIONS = 10000
# How the loss over a buffer's windows is computed (instrument.dream.objective; render.objective): each window
# through the network alone; the first layers (to layer5) once over the buffer, then each window alone; or the
# whole network once over the buffer with the windows read from its feature maps.
OBJECTIVES = ("windows", "early", "shared")


@dataclass(frozen=True)
class DreamParams:
    """What each dream iteration does: mode, layer, filter and target (each field described once, here)."""

    mode: str = setting("filter_add", kind="choice", choices=MODES, osc="mode", live=True,
                        description="dream function")
    layer: str = setting("scores", kind="choice", choices=LAYERS, osc="layer", live=True,
                         description="layer whose activation is maximized",
                         comment="layer1..layer14, layerN/depthwise, embeddings, logits, scores")
    threshold: float = setting(0.1, kind="float", low=0.0, high=1.0, osc="threshold", live=True,
                               description="hard-cut filter threshold",
                               comment="a bin passes where its linear magnitude is above this fraction of its "
                                       "frame's loudest bin (0.1: within 20 dB; 1: the loudest alone, at half)")
    step: float = setting(0.15, kind="float", low=0.0, high=100.0, osc="step", live=True, log=True,
                          description="gradient step per iteration, relative to the sound's level",
                          comment="the gradient is added at this fraction of the sound's short-term RMS "
                                  "(before the filter's mask); the sound's level is kept")
    # index, name, or None for the window's own top class (auto, none, -1 are read as None: class_target)
    target_class: int | str | None = setting(None, kind="class", low=-1, high=NUM_CLASSES - 1, nullable=True,
                                             osc="target", live=True, description="target class (scores/logits)",
                                             comment="class index or name; null = each window's own top class")
    target_sound: str | None = setting(None, kind="text", nullable=True, osc="target_sound", live=True,
                                       description="a file in the target-sound folder, or none",
                                       comment="audio file whose spectrum shapes the gradient in `target` mode")
    flip: bool = setting(False, kind="bool", osc="flip", live=True, description="swap the filter's roles",
                         comment="see the README's modes table")
    iterations: int = setting(20, kind="int", low=0, high=MAX_ITERATIONS, osc="iterations", live=True,
                              description="max iterations per window",
                              comment="live: at most this many while time allows")
    filter_fft: int = setting(1024, kind="int", low=64, high=8192, live=True,
                              description="filter STFT size (power of two)")
    filter_hop: int = setting(256, kind="int", low=1, high=4096, live=True,
                              description="filter STFT hop (at most filter_fft/2)")
    power: float = setting(0.125, kind="float", low=1e-3, high=4.0, osc="power", live=True, log=True,
                           description="magnitude power of what the filter passes",
                           comment="on the filtered magnitude, relative to its frame's peak (<1 flattens, "
                                   "1 keeps it; the original package's 1/8); the mask is on the linear magnitude")
    band: str = setting("full", kind="choice", choices=BANDS, live=True,
                        description="output band: full (the input above 8 kHz kept) or 16k (the paper's sound)",
                        comment="full: the input + the dream's change, which stays below 8 kHz; "
                                "16k: the dream resampled, nothing above 7.6 kHz")
    def __post_init__(self) -> None:
        object.__setattr__(self, "target_class", class_target(self.target_class))
        check_fields(self)
        if self.filter_fft & (self.filter_fft - 1):
            raise DreamSoundError(f"filter_fft {self.filter_fft} must be a power of two (64..8192)")
        check_integer("filter_hop", self.filter_hop, 1, self.filter_fft // 2)
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


class FunctionKey(NamedTuple):
    """What the compiled functions depend on: one key, one (gradient, mode) pair of functions per shape.

    ``DreamStep`` caches its two functions under ``gradient_key``/``mode_key``; the dream process tracks
    what is compiled with the same two (``parts``)."""

    layer: str
    mode: str
    flip: bool
    filter_fft: int
    filter_hop: int

    @classmethod
    def of(cls, params: Any) -> FunctionKey:
        """The key of ``DreamParams`` (or of anything with its five fields)."""
        if isinstance(params, FunctionKey):
            return params
        return cls(params.layer, params.mode, bool(params.flip), params.filter_fft, params.filter_hop)

    def gradient_key(self, length: int, count: int) -> tuple[str, int, int]:
        """The gradient's own key: the layer, for ``[., length]`` buffers of ``count`` windows."""
        return self.layer, length, count

    def mode_key(self, length: int) -> tuple[str, bool, int, int, int]:
        """The mode function's own key (``step.mode_function``'s arguments): mode, flip, STFT, buffer length."""
        return self.mode, self.flip, self.filter_fft, self.filter_hop, length

    def parts(self, length: int, count: int) -> tuple[tuple, tuple]:
        """Both keys: what an iteration with these parameters at this shape needs compiled."""
        return self.gradient_key(length, count), self.mode_key(length)
