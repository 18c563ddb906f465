"""The OSC namespace: each address, what it accepts, its range, and what it answers.

Values from Pd arrive as floats (``[oscformat]`` sends every number as ``f``),
from Max as ints or floats; names arrive as symbols or as an index. ``parse``
turns the arguments of one message into the value ``Controls.set`` takes: what
is OSC's own (one argument; a choice given by its index) here, the rest by the
setting's own coercion (``instrument.spec.coerce``); ``reply`` turns an
accepted value back into the arguments confirmed on the same address. Numbers
come first in a reply (``index name``), so a Pd patch can ``[unpack f s]`` it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from instrument.errors import DreamSoundError
from instrument.settings import CONTROLS
from instrument.spec import Spec, coerce, is_number

PREFIX = "/dream"


@dataclass(frozen=True)
class Parameter:
    """One settable parameter at ``/dream/<address>``: a control (``instrument.settings.CONTROLS``) and its ``Spec``."""

    name: str  # the Controls parameter
    spec: Spec

    @property
    def address(self) -> str:
        """After the prefix."""
        return self.spec.osc or self.name

    @property
    def path(self) -> str:
        return f"{PREFIX}/{self.address}"

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def range(self) -> tuple[float, float] | None:
        """(low, high) of a number, (0, 1) of a switch, else None."""
        return (0, 1) if self.kind == "bool" else None if self.spec.low is None else (self.spec.low, self.spec.high)

    @property
    def accepts(self) -> str:
        return {
            "float": "f or i",
            "int": "i or f (whole)",
            "bool": "i or f (0/1)",
            "choice": "s (name) or i/f (index)",
            "class": "i/f (index, -1 = auto) or s (name, part of a name, auto)",
            "text": "s",
        }[self.kind]

    @property
    def replies(self) -> str:
        return {
            "float": "f",
            "int": "i",
            "bool": "i (0/1)",
            "choice": "i index, s name",
            "class": "i index (-1 = auto), s name",
            "text": "s",
        }[self.kind]


# Every control with an OSC address, in the order of the table they are declared in (instrument.settings).
PARAMETERS: tuple[Parameter, ...] = tuple(Parameter(name, spec) for name, spec in CONTROLS.items() if spec.osc)
BY_PATH = {p.path: p for p in PARAMETERS}


@dataclass(frozen=True)
class Action:
    address: str
    accepts: str
    replies: str
    description: str

    @property
    def path(self) -> str:
        return f"{PREFIX}/{self.address}"


ACTIONS: tuple[Action, ...] = (
    Action("target_sound/capture", "[f seconds, default 2]", "/dream/target_sound s name",
           "capture the live input as the target sound"),
    Action("preset/save", "i/f N (0..127)", "/dream/preset/save i N", "save every current value as preset N"),
    Action("preset/load", "i/f N (0..127)", "/dream/preset/load i N, then every changed value",
           "load preset N"),
    Action("get", "-", "every parameter on its own address, then the status",
           "send back every current value"),
    Action("ping", "-", "-",
           "keep receiving replies and status (a sender silent for osc.client_timeout stops receiving)"),
    Action("classes", "[s or f QUERY]", "/dream/classes/count i n, then /dream/classes/match i index s name each",
           "find classes by part of a name"),
)
ACTION_PATHS = {a.path: a for a in ACTIONS}

# Sent at the status rate (and after /dream/get) to every client that has talked to us.
STATUS: tuple[tuple[str, str, str], ...] = (
    ("/dream/status/input_class", "i index, f score, s name", "top class of the last 0.975 s of input"),
    ("/dream/status/output_class", "i index, f score, s name", "top class of the last 0.975 s played"),
    ("/dream/status/levels", "f input dBFS, f output dBFS", "peak levels since the last status"),
    ("/dream/status/rate", "f", "dream iterations per second"),
    ("/dream/status/iterations", "f", "iterations per hop (per dreamed window), recent mean"),
    ("/dream/status/iterations_per_sample", "f",
     "iterations in what you hear: per played sample, all those whose windows covered it before it played"),
    ("/dream/status/xruns", "i", "audio over/underruns since start"),
    ("/dream/status/latency", "f seconds", "an input sample to its dream at the output (device included)"),
    ("/dream/status/recording", "i (0/1)", "rehearsal recording running"),
    ("/dream/status/dropped", "i", "OSC packets dropped (malformed or from senders not allowed)"),
    ("/dream/status/engine", "s state", "dream engine: loading, dreaming, restarting, failed"),
)
ERROR_PATH = "/dream/error"  # s address, s reason

PRESET_RANGE = (0, 127)


def _one(args: Sequence[Any]) -> Any:
    if len(args) != 1:
        raise DreamSoundError(f"expects one value, got {len(args)}")
    return args[0]


def _number(value: Any) -> float:
    if not is_number(value):
        raise DreamSoundError(f"expects a number, got {value!r}")
    return float(value)


def parse(parameter: Parameter, args: Sequence[Any]) -> Any:
    """The value for ``Controls.set`` from one message's arguments (range checks stay with Controls)."""
    value = _one(args)
    choices = parameter.spec.choices
    if parameter.kind == "choice" and not isinstance(value, str):  # Pd's [hradio], Max's [umenu]: an index
        index = _number(value)
        if not index.is_integer() or not 0 <= index < len(choices):
            raise DreamSoundError(f"{parameter.name} index {value!r} is out of range; allowed: 0 to {len(choices) - 1}")
        return choices[int(index)]
    return coerce(parameter.name, parameter.spec, value)


def capture_seconds(args: Sequence[Any]) -> float:
    """The length of ``/dream/target_sound/capture [f seconds]`` (2 s without one); the engine checks its range."""
    return 2.0 if not args else _number(_one(args))


def preset_number(args: Sequence[Any]) -> int:
    value = _number(_one(args))
    low, high = PRESET_RANGE
    if not value.is_integer() or not low <= value <= high:
        raise DreamSoundError(f"preset number {value:g} is out of range; allowed: {low} to {high}")
    return int(value)


def reply(parameter: Parameter, value: Any, resolve_class: Callable[[Any], tuple[int, str]]) -> list[Any]:
    """The arguments confirming ``value`` on the parameter's own address.

    ``resolve_class`` turns a class index or name into ``(index, display name)``.
    """
    if parameter.kind == "float":
        return [float(value)]
    if parameter.kind in ("int", "bool"):
        return [int(value)]
    if parameter.kind == "choice":
        return [parameter.spec.choices.index(value), value]
    if parameter.kind == "class":
        if value is None:
            return [-1, "auto"]
        index, name = resolve_class(value)
        return [index, name]
    if parameter.kind == "text":
        return [value or "none"]
    raise AssertionError(parameter.kind)
