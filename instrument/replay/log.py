"""The take's parameter log (``STEM.params.jsonl``), read leniently.

One JSON object per line: a ``start`` line (rate, every parameter's value), one
line per change (``t`` seconds, ``frame`` from the take's start, ``name``,
``value``), a ``stop`` line at a clean end. A line that is not JSON, lacks a
field, or names a parameter this version does not know is reported with its
line number and skipped, so a log written by an older (or newer) version, or
cut short by a crash, still replays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instrument.errors import DreamSoundError
from instrument.settings import CONTROLS, LIVE_CONTROLS

IGNORED_NAMES = ("record",)  # logged, but nothing to replay
LIVE_NAMES = tuple(name for name in LIVE_CONTROLS if name not in IGNORED_NAMES)  # mix, gain, ceiling, freeze
KNOWN_NAMES = tuple(CONTROLS)  # every control the live run can log


@dataclass(frozen=True)
class Change:
    line: int
    frame: int
    name: str
    value: Any


@dataclass
class TakeLog:
    path: Path | None
    samplerate: int | None = None
    start: dict[str, Any] = field(default_factory=dict)  # parameter values at the start (known names only)
    start_line: int = 0
    changes: list[Change] = field(default_factory=list)
    stop_frame: int | None = None
    problems: list[str] = field(default_factory=list)  # "LOG:LINE: what; skipped"

    def problem(self, line: int, message: str) -> None:
        name = self.path.name if self.path else "log"
        self.problems.append(f"{name}:{line}: {message}; skipped")


def read_log(path: str | Path, samplerate: int) -> TakeLog:
    """Parse ``path``; frames of lines that only carry ``t`` are computed at ``samplerate`` (the take's)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise DreamSoundError(f"cannot read parameter log {path}: {err.strerror or err}") from err
    log = TakeLog(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as err:
            log.problem(number, f"not a JSON object ({err.msg})")
            continue
        if not isinstance(entry, dict):
            log.problem(number, "not a JSON object")
            continue
        _read_entry(log, number, entry, samplerate)
    if not log.start_line:
        log.problems.append(f"{path.name}: no start line; the replay starts from the configured parameters")
    log.changes.sort(key=lambda c: (c.frame, c.line))
    return log


def _read_entry(log: TakeLog, number: int, entry: dict[str, Any], samplerate: int) -> None:
    event = entry.get("event")
    if event == "start":
        if log.start_line:
            log.problem(number, "a second start line")
            return
        log.start_line = number
        rate = entry.get("samplerate")
        log.samplerate = rate if isinstance(rate, int) and rate > 0 else None
        params = entry.get("params")
        if not isinstance(params, dict):
            log.problem(number, "start line without a params object")
            return
        for name, value in params.items():
            if name in KNOWN_NAMES:
                log.start[name] = value
            else:
                log.problem(number, f"unknown parameter {name!r} in the start line")
        return
    if event == "stop":
        frame = _frame(entry, samplerate)
        log.stop_frame = frame
        return
    if event is not None:
        log.problem(number, f"unknown event {event!r}")
        return
    name = entry.get("name")
    if not isinstance(name, str) or "value" not in entry:
        log.problem(number, "a change needs a name and a value")
        return
    if name not in KNOWN_NAMES:
        log.problem(number, f"unknown parameter {name!r}")
        return
    frame = _frame(entry, samplerate)
    if frame is None:
        log.problem(number, "a change needs a frame or a time t (seconds >= 0)")
        return
    log.changes.append(Change(number, frame, name, entry["value"]))


def _frame(entry: dict[str, Any], samplerate: int) -> int | None:
    frame, t = entry.get("frame"), entry.get("t")
    if isinstance(frame, int) and not isinstance(frame, bool) and frame >= 0:
        return frame
    if isinstance(t, (int, float)) and not isinstance(t, bool) and t >= 0:
        return round(t * samplerate)
    return None
