"""OSC dispatch: an address and its arguments → the parameter or action it names.

- A parameter with a value is set through the controls (the server confirms the
  accepted value to every destination); with no value its current value is answered.
- An action runs (``get``, ``classes``, presets, capture, ``ping``) and answers its sender.
- A refused message answers ``/dream/error address reason`` to its sender and changes nothing.

It sends nothing itself: every answer goes through ``reply(sender, address, args)``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from instrument.errors import DreamSoundError
from instrument.osc import namespace as ns
from instrument.osc.presets import PresetStore

MAX_CLASS_MATCHES = 521

Sender = tuple[str, int]
Reply = Callable[[Sender, str, list[Any]], None]


class Instrument(Protocol):
    """What the server drives: the engine's thread-safe controls and a few actions."""

    controls: Any  # instrument.live.controls.Controls

    def class_name(self, target: int | str) -> tuple[int, str]: ...
    def search_classes(self, query: str) -> list[tuple[int, str]]: ...
    def capture_target(self, seconds: float) -> str: ...
    def captured_names(self) -> set[str]: ...
    def status(self) -> dict[str, Any]: ...


class Dispatcher:
    def __init__(
        self,
        instrument: Instrument,
        presets: PresetStore,
        sound_dir: Path,
        reply: Reply,
        status_messages: Callable[[], list[tuple[str, list[Any]]]],
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.instrument = instrument
        self.controls = instrument.controls
        self.presets = presets
        self.sound_dir = sound_dir
        self.reply = reply
        self.status_messages = status_messages
        self.on_event = on_event  # the terminal's log: accepted changes and refusals, one line each
        self.counts = {"accepted": 0, "refused": 0}

    def handle(self, address: str, args: list[Any], sender: Sender) -> None:
        try:
            if address in ns.BY_PATH:
                self._set(ns.BY_PATH[address], args, sender)
            elif address in ns.ACTION_PATHS:
                self._action(address, args, sender)
            else:
                raise DreamSoundError("unknown address; /dream/get lists the parameters, see patches/README.md")
        except DreamSoundError as err:
            self.refuse(sender, address, str(err), args)
            return
        except Exception as err:  # never let one message stop the server
            self.refuse(sender, address, f"internal error: {type(err).__name__}: {err}", args)
            return
        self.counts["accepted"] += 1

    def refuse(self, sender: Sender, address: str, reason: str, args: list[Any] = ()) -> None:
        """Answer /dream/error, cut short so the reply always fits one packet (< 8 KB)."""
        self.counts["refused"] += 1
        self.reply(sender, ns.ERROR_PATH, [address[:200], reason[:1000]])
        self._event(f"OSC refused {address[:80]} {_shown(args)} from {sender[0]}:{sender[1]}: {reason[:200]}")

    def _event(self, line: str) -> None:
        if self.on_event is not None:
            self.on_event(line)

    # --- parameters -------------------------------------------------------------------
    def _set(self, parameter: ns.Parameter, args: list[Any], sender: Sender) -> None:
        if not args:  # a bare address asks for the current value
            self.reply(sender, parameter.path, self.reply_args(parameter, self.controls.get(parameter.name)))
            return
        value = ns.parse(parameter, args)
        if parameter.name == "target_sound" and value is not None:
            value = self.target_sound_path(value)
        accepted = self.controls.set(parameter.name, value)  # confirmation goes out through the server's listener
        try:
            shown = _shown(self.reply_args(parameter, accepted))
        except DreamSoundError:
            shown = _shown(args)
        self._event(f"OSC {parameter.path} {shown}")

    def target_sound_path(self, name: str) -> str:
        if name in self.instrument.captured_names():
            return name
        root = self.sound_dir.resolve()
        candidate = (root / name).resolve()
        if candidate.parent != root and root not in candidate.parents:
            raise DreamSoundError(f"target sound {name!r} is outside the target-sound folder {root}")
        if not candidate.is_file():
            raise DreamSoundError(f"target sound {name!r} not found in {root}")
        return str(candidate)

    def reply_args(self, parameter: ns.Parameter, value: Any) -> list[Any]:
        if parameter.name == "target_sound" and isinstance(value, str):
            value = Path(value).name if value not in self.instrument.captured_names() else value
        return ns.reply(parameter, value, self.instrument.class_name)

    # --- actions ----------------------------------------------------------------------
    def _action(self, address: str, args: list[Any], sender: Sender) -> None:
        if address == "/dream/get":
            self.send_all_values(sender)
        elif address == "/dream/ping":
            pass  # being heard is the point: it keeps this sender's destinations (feedback.py)
        elif address == "/dream/classes":
            query = "" if not args else (str(int(args[0])) if isinstance(args[0], float) else str(args[0]))
            matches = self.instrument.search_classes(query)[:MAX_CLASS_MATCHES]
            self.reply(sender, "/dream/classes/count", [len(matches)])
            for index, name in matches:
                self.reply(sender, "/dream/classes/match", [index, name])
        elif address == "/dream/preset/save":
            number = ns.preset_number(args)
            self.presets.save(number, self.controls.snapshot().as_dict())
            self.reply(sender, address, [number])
            self._event(f"OSC preset {number} saved to {self.presets.path}")
        elif address == "/dream/preset/load":
            number = ns.preset_number(args)
            self.apply(self.presets.load(number))
            self.reply(sender, address, [number])
            self._event(f"OSC preset {number} loaded")
        elif address == "/dream/target_sound/capture":
            seconds = ns.capture_seconds(args)
            name = self.instrument.capture_target(seconds)  # the engine checks the length; the listener echoes it
            self._event(f"OSC captured {seconds:g} s of input as target sound {name}")

    def apply(self, values: dict[str, Any]) -> None:
        """Apply a preset: all its values, or (if one is refused) none of them."""
        values = dict(values)
        if values.get("target_sound"):  # a preset file is input too: only sounds from the folder
            values["target_sound"] = self.target_sound_path(Path(str(values["target_sound"])).name)
        self.controls.set_many(values)

    def send_all_values(self, destination: Sender) -> None:
        for parameter in ns.PARAMETERS:
            self.reply(destination, parameter.path, self.reply_args(parameter, self.controls.get(parameter.name)))
        for path, args in self.status_messages():
            self.reply(destination, path, args)


def _shown(args: Any) -> str:
    """Arguments as a performer would type them: ``3 filter_add``, ``0.5``."""
    return " ".join(f"{a:g}" if isinstance(a, float) else str(a) for a in args)[:120]
