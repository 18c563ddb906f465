"""From a take's log to what the replay does: regions of dream parameters and output automation.

Every change of a dream parameter (mode, layer, threshold, step, target class,
target sound, flip, power, iterations, filter size) starts a new region at its
frame; ``mix``, ``gain``, ``ceiling`` and ``freeze`` become automation of the
output. A value the instrument would have refused is reported with its line and
skipped, as the live run would have refused it. ``--set`` values hold for the
whole take (logged changes of that parameter are then ignored).

Iterations: the replay's count (``--iterations``, a studio value) replaces the
take's starting count; a logged change of iterations scales it (20 -> 40 live
doubles it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from instrument.dream.params import MAX_ITERATIONS, DreamParams
from instrument.errors import DreamSoundError
from instrument.replay.log import IGNORED_NAMES, LIVE_NAMES, Change, TakeLog
from instrument.settings import control_default, control_value

STUDIO_ITERATIONS = 40  # the replay's default iterations per region: more than a live CPU affords
LIVE_DEFAULTS: dict[str, Any] = {name: control_default(name) for name in LIVE_NAMES}


@dataclass(frozen=True)
class Segment:
    """Take frames ``[start, end)`` dreamed with ``params``; ``line`` is the log line that began it."""

    start: int
    end: int
    params: DreamParams
    line: int | None
    changed: dict[str, Any]


@dataclass
class Timeline:
    segments: list[Segment]
    automation: dict[str, list[tuple[int, Any]]]  # name -> [(frame, value)], the first at frame 0
    problems: list[str] = field(default_factory=list)


def build(
    log: TakeLog,
    base: DreamParams,
    frames: int,
    iterations: int,
    overrides: dict[str, Any] | None = None,
    check=None,
) -> Timeline:
    """Segments covering ``[0, frames)`` and the automation; ``check(params)`` may refuse parameters
    (e.g. an unknown class name) as the live run did."""
    overrides = dict(overrides or {})
    problems = list(log.problems)
    params, live = base, dict(LIVE_DEFAULTS)
    for name, value in log.start.items():
        if name in IGNORED_NAMES or name in overrides:
            continue
        try:
            params = _with_value(params, live, name, value, check)
        except (DreamSoundError, TypeError, ValueError) as err:
            problems.append(f"{_where(log, log.start_line)}: start value of {name}: {err}; skipped")
    for name, value in overrides.items():
        params = _with_value(params, live, name, value, check)
    live_start_iterations = params.iterations
    automation: dict[str, list[tuple[int, Any]]] = {name: [(0, value)] for name, value in live.items()}
    bounds: list[tuple[int, DreamParams, int | None, dict[str, Any]]] = [(0, params, None, {})]
    changes = [c for c in log.changes
               if c.name not in IGNORED_NAMES and c.name not in overrides and c.frame < frames]
    for group in _by_frame(changes):
        dream: list[tuple[Change, Any]] = []
        for change in group:
            try:
                value = control_value(change.name, change.value)
            except (DreamSoundError, TypeError, ValueError) as err:
                problems.append(f"{_where(log, change.line)}: {change.name} = {change.value!r}: {err}; skipped")
                continue
            if change.name in LIVE_NAMES:
                automation[change.name].append((change.frame, value))
            else:
                dream.append((change, value))
        candidate = _apply(params, dream, check, log, problems)
        if candidate == params:
            continue
        params = candidate
        frame = group[0].frame
        changed = {c.name: v for c, v in dream if getattr(params, c.name) == v}
        if bounds[-1][0] == frame:  # a change at the take's first frame
            bounds[-1] = (frame, params, bounds[-1][2] or dream[0][0].line, {**bounds[-1][3], **changed})
        else:
            bounds.append((frame, params, dream[0][0].line, changed))
    segments = []
    for i, (start, p, line, changed) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else frames
        if "iterations" not in overrides:
            p = p.replace(iterations=_scaled(p.iterations, live_start_iterations, iterations))
        segments.append(Segment(start, end, p, line, changed))
    return Timeline(segments, automation, problems)


def _with_value(params: DreamParams, live: dict[str, Any], name: str, value: Any, check) -> DreamParams:
    """``value`` for ``name``: into ``live`` for a live control, else a checked new ``params`` (raises if refused)."""
    if name in LIVE_NAMES:
        live[name] = control_value(name, value)
        return params
    candidate = params.replace(**{name: control_value(name, value)})
    if check:
        check(candidate)
    return candidate


def _by_frame(changes: list[Change]) -> list[list[Change]]:
    """Changes logged at the same frame (a preset, or mode and target sound together) go as one."""
    groups: list[list[Change]] = []
    for change in changes:
        if groups and groups[-1][0].frame == change.frame:
            groups[-1].append(change)
        else:
            groups.append([change])
    return groups


def _apply(params: DreamParams, dream: list[tuple[Change, Any]], check, log: TakeLog, problems: list[str]):
    """All of a frame's dream changes at once, as the live run accepted them; if that is refused,
    each on its own, reporting the ones refused."""
    if not dream:
        return params
    try:
        candidate = params.replace(**{c.name: v for c, v in dream})
        if check:
            check(candidate)
        return candidate
    except (DreamSoundError, TypeError, ValueError):
        pass
    for change, value in dream:
        try:
            candidate = params.replace(**{change.name: value})
            if check:
                check(candidate)
            params = candidate
        except (DreamSoundError, TypeError, ValueError) as err:
            problems.append(f"{_where(log, change.line)}: {change.name} = {change.value!r}: {err}; skipped")
    return params


def _scaled(live_count: int, live_start: int, studio: int) -> int:
    if live_start <= 0:
        return studio if live_count > 0 else 0
    return int(min(MAX_ITERATIONS, round(studio * live_count / live_start)))


def _where(log: TakeLog, line: int) -> str:
    return f"{log.path.name if log.path else 'log'}:{line}"
