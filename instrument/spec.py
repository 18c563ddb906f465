"""Each setting described once: ``setting(...)`` on a dataclass field, and the one set of checks that reads it.

A field's ``Spec`` says its kind, range or choices, unit, description, OSC address
and whether a performer may change it while playing. Everything else is derived
from it: the checks and messages of ``config.yaml`` (``check_fields``), the live
controls' coercion (``coerce``), the OSC namespace and OSCQuery, the command-line
options that mirror it, the OSC reference, the Pd and Max panels' ranges and the
commented ``config.yaml``.

Imports only ``instrument.errors``, so every layer may use it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from instrument.errors import DreamSoundError

# Kinds: "float", "int" (numbers in [low, high]); "bool"; "choice" (one of choices); "class" (a class target,
# see instrument.dream.params.class_target); "text" (a non-empty string); "any" (checked by the dataclass itself).
KINDS = ("float", "int", "bool", "choice", "class", "text", "any")
TRUE_WORDS = ("true", "on", "yes", "1")
FALSE_WORDS = ("false", "off", "no", "0")


@dataclass(frozen=True)
class Spec:
    kind: str
    description: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    nullable: bool = False  # None (YAML null) is allowed and means the described default behaviour
    osc: str | None = None  # address after /dream/ when a performer sets it over OSC
    live: bool = False  # settable while playing (through the controls)
    control: str | None = None  # the controls' name when it is not the field's (record.enabled -> record)
    log: bool = False  # panels draw a logarithmic slider
    label: str = ""  # the panels' label, when the name and unit do not say it
    comment: str = ""  # config.yaml's comment, when it says more than the description

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}; allowed: {', '.join(KINDS)}")

    @property
    def allowed(self) -> str:
        """What the value may be, in words (for messages and documentation)."""
        if self.kind in ("float", "int"):
            fmt = "d" if self.kind == "int" else "g"
            low, high = (int(self.low), int(self.high)) if self.kind == "int" else (self.low, self.high)
            text = f"{low:{fmt}} to {high:{fmt}}" + (f" {self.unit}" if self.unit else "")
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = " | ".join(self.choices)
        else:
            text = ""
        return f"{text} or null" if self.nullable and text else text


def setting(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING, kind: str,
            description: str = "", **spec: Any) -> Any:
    """A dataclass field carrying its ``Spec``."""
    metadata = {"spec": Spec(kind, description, **spec)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def specs(cls_or_obj: Any) -> dict[str, Spec]:
    """Field name -> ``Spec`` of a dataclass, in field order (fields without one are left out)."""
    return {f.name: f.metadata["spec"] for f in dataclasses.fields(cls_or_obj) if "spec" in f.metadata}


# --- the checks (one message per kind, wherever the value comes from) -------------------------------------

def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def check_number(name: str, value: object, low: float, high: float) -> None:
    if not is_number(value):
        raise DreamSoundError(f"{name} {value!r} must be a number from {low:g} to {high:g}")
    if not low <= value <= high:  # type: ignore[operator]
        raise DreamSoundError(f"{name} {value:g} is out of range; allowed: {low:g} to {high:g}")


def check_integer(name: str, value: object, low: float, high: float) -> None:
    low, high = int(low), int(high)  # whole numbers in full: a seed's 4294967295, not 4.29497e+09
    if isinstance(value, bool) or not isinstance(value, int):
        raise DreamSoundError(f"{name} {value!r} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise DreamSoundError(f"{name} {value} is out of range; allowed: {low} to {high}")


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise DreamSoundError(f"{name} {value!r} must be true or false")


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise DreamSoundError(f"{name} {value!r} is not allowed; allowed: {', '.join(choices)}")


def check_value(name: str, spec: Spec, value: Any) -> None:
    """Refuse ``value`` for the setting ``name`` unless its ``Spec`` allows it."""
    if value is None and spec.nullable:
        return
    if spec.kind == "float":
        check_number(name, value, spec.low, spec.high)  # type: ignore[arg-type]
    elif spec.kind == "int":
        check_integer(name, value, spec.low, spec.high)  # type: ignore[arg-type]
    elif spec.kind == "bool":
        check_bool(name, value)
    elif spec.kind == "choice":
        check_choice(name, value, spec.choices)
    elif spec.kind == "text" and (not isinstance(value, str) or not value):
        raise DreamSoundError(f"{name} {value!r} must be {spec.description or 'a name'}")


def check_fields(obj: Any, prefix: str = "") -> None:
    """Check every field of a dataclass instance against its ``Spec`` (``prefix``: ``"live."`` in messages)."""
    for name, spec in specs(obj).items():
        check_value(prefix + name, spec, getattr(obj, name))


# --- loose values from a performer (OSC, presets, logs, --set) ---------------------------------------------

def coerce(name: str, spec: Spec, value: Any) -> Any:
    """A value as a performer sends it ("0.5", 1, "on") turned into the field's type; the range is not checked."""
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        if is_number(value) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise DreamSoundError(f"{name} {value!r} must be true or false (or 1/0)")
    if spec.kind == "float":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise DreamSoundError(f"{name} {value!r} must be a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DreamSoundError(f"{name} {value!r} must be a finite number")
        return float(value)
    if spec.kind == "int":
        number = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if isinstance(number, float) and number.is_integer():
            return int(number)
        if isinstance(number, bool) or not isinstance(number, int):
            raise DreamSoundError(f"{name} {value!r} must be a whole number")
        return number
    if spec.kind == "text" and value is not None:
        if not isinstance(value, str):
            raise DreamSoundError(f"{name} {value!r} must be a name (text)")
        if spec.nullable and value.strip().lower() in ("", "none"):
            return None
    return value
