"""OSC packets that Pd's ``[oscparse]`` and Max's ``[udpreceive]`` accept.

Only ``i`` (32-bit int), ``f`` (32-bit float) and ``s`` (string) are ever sent:
no OSC booleans (``T``/``F``) and no 64-bit ints (``h``), which both reject.
Python bools become ``i`` 0/1; numbers outside int32 become floats. Every
packet stays under ``MAX_PACKET`` bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder

MAX_PACKET = 8192
_INT32 = (-(2**31), 2**31 - 1)


def _typed(value: Any) -> tuple[Any, str]:
    if isinstance(value, bool):
        return int(value), "i"
    if isinstance(value, int):
        if _INT32[0] <= value <= _INT32[1]:
            return value, "i"
        return float(value), "f"
    if isinstance(value, float):
        return (value if math.isfinite(value) else 0.0), "f"
    return str(value), "s"


def message(address: str, args: Iterable[Any] = ()) -> bytes:
    """One OSC message as bytes, typed for Pd and Max."""
    builder = OscMessageBuilder(address=address)
    for value in args:
        typed, tag = _typed(value)
        builder.add_arg(typed, tag)
    data = builder.build().dgram
    if len(data) > MAX_PACKET:
        raise ValueError(f"OSC message for {address} is {len(data)} bytes (limit {MAX_PACKET})")
    return data
