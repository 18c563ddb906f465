"""Replay a take: its dry channel re-dreamed as one signal, region by region, following the log.

dry (take rate) -> 16 kHz -> regions dreamed by ``instrument.dream.render.dream_regions``
(crossfaded at every change) -> freeze spans: the window held when freeze was
switched on keeps deepening, one grain per half window, for as long as it was
held -> take rate -> mix, gain, limiter at the logged ceiling (``mixdown``).

At the take rate the wet signal is assembled as a render's (``render.assemble``):
with ``band: full`` the dry channel plus the dream's change resampled, so the take's
content above 8 kHz is kept. In a frozen span the held window's upper band is held
too: it is looped with the same grains and crossfades as the dreamed band
(``_hold_upper_band``), as the live freeze loops the whole published window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from instrument.audiofile import resample
from instrument.dream.dreamer import Dreamer
from instrument.dream.listen import ClassTrack, class_track
from instrument.dream.params import DreamParams
from instrument.dream.render import Layout, Region, assemble, back_to_rate, count_steps, dream_regions
from instrument.errors import DreamSoundError
from instrument.model.frontend import SAMPLE_RATE, WINDOW_SAMPLES
from instrument.replay import timeline as tl
from instrument.replay.log import TakeLog
from instrument.replay.mixdown import mix_down
from instrument.replay.take import Take, captured_target

FREEZE_FADE = 800  # samples at 16 kHz (50 ms) into and out of a frozen span


@dataclass
class ReplayOptions:
    iterations: int = tl.STUDIO_ITERATIONS
    start_s: float | None = None
    end_s: float | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    layout: Layout = field(default_factory=Layout)
    sound_dir: Path | None = None  # osc.target_sound_dir: where the live run looked for target sounds


@dataclass
class ReplayResult:
    audio: np.ndarray  # frames, the take's rate
    samplerate: int
    summary: dict
    before: ClassTrack
    after: ClassTrack
    marks: list[tuple[float, str]]


def plan(
    dreamer: Dreamer, take: Take, log: TakeLog, options: ReplayOptions, base: DreamParams
) -> tuple[tl.Timeline, int, int]:
    """The timeline of the part replayed (``base``: the parameters before the log's start line), and
    that part's first and end frame in the take."""
    frames = take.audio.shape[0]
    first, end = _span(options, take.samplerate, frames)
    full = tl.build(
        log, base, frames, options.iterations, options.overrides,
        check=lambda p: dreamer.class_index(p.target_class),
    )
    segments = []
    for s in full.segments:
        a, b = max(s.start, first), min(s.end, end)
        if b > a:
            params = _with_sound(s.params, take, options, s.line, s.start)
            segments.append(tl.Segment(a - first, b - first, params, s.line, s.changed))
    automation = {name: _shift(points, first) for name, points in full.automation.items()}
    shortest = round(options.layout.crossfade_seconds / 2 * take.samplerate)
    return tl.Timeline(_merge_short(segments, shortest), automation, full.problems), first, end


def _merge_short(segments: list[tl.Segment], shortest: int) -> list[tl.Segment]:
    """A region shorter than half a crossfade (two OSC messages a block apart) joins the next one:
    the later parameters start at the earlier change, as a listener would hear it. Neighbours
    that dream alike (after target sounds are resolved) are one region."""
    merged: list[tl.Segment] = []
    pending: tl.Segment | None = None
    for i, s in enumerate(segments):
        if pending is not None:
            s = tl.Segment(pending.start, s.end, s.params, pending.line or s.line, {**pending.changed, **s.changed})
            pending = None
        if s.end - s.start < shortest and i < len(segments) - 1:
            pending = s
            continue
        if merged and merged[-1].params == s.params:  # e.g. a target sound set while the mode ignores it
            last = merged[-1]
            merged[-1] = tl.Segment(last.start, s.end, last.params, last.line, last.changed)
            continue
        merged.append(s)
    return merged


def replay(
    dreamer: Dreamer,
    take: Take,
    log: TakeLog,
    options: ReplayOptions,
    base: DreamParams | None = None,
    progress: Callable[[int], None] | None = None,
    progress_total: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay ``take`` following ``log``; ``progress_total(n)`` once, then ``progress(1)`` per iteration."""
    started = time.perf_counter()
    rate = take.samplerate
    timeline, first, end = plan(dreamer, take, log, options, base or DreamParams())
    dry = take.dry[first:end].astype(np.float32)
    dry16 = resample(dry, rate, SAMPLE_RATE)
    n16 = dry16.shape[0]
    to16 = lambda frame: min(n16, round(frame * SAMPLE_RATE / rate))  # noqa: E731
    regions = []
    for s in timeline.segments:
        a, b = to16(s.start), to16(s.end)
        if b > a:
            regions.append(Region(a, b, s.params))
    if regions:
        regions[-1] = Region(regions[-1].start, n16, regions[-1].params)
    spans = _freeze_spans(timeline.automation["freeze"], end - first)
    spans16 = [(to16(a), to16(b)) for a, b in spans if to16(b) > to16(a)]
    if progress_total:
        progress_total(count_steps(regions, n16, options.layout) + _freeze_steps(spans16, regions))
    dreamed = dream_regions(dreamer, dry16[None], regions, seed=options.seed, layout=options.layout,
                            progress=progress).signal
    for a, b in spans16:
        _freeze(dreamer, dreamed, a, b, _params_at(regions, a), progress)
    band = regions[0].params.band if regions else (base or DreamParams()).band  # one band for the take
    wet = assemble(dry, dry16[None], dreamed, rate, band)[:, 0]
    if band == "full" and spans16:
        upper = dry - back_to_rate(dry16[None], rate, dry.shape[0], clip=False)[:, 0]  # what 16 kHz cannot hold
        for (a, b), (a16, b16) in zip(spans, [(to16(a), to16(b)) for a, b in spans], strict=True):
            if b16 > a16:
                _hold_upper_band(wet, upper, a, b, a16, b16, n16, rate)
        np.clip(wet, -1.0, 1.0, out=wet)
    out = mix_down(dry, wet, timeline.automation, rate)
    seconds = time.perf_counter() - started
    before, after = class_track(dreamer, dry16), class_track(dreamer, resample(out, rate, SAMPLE_RATE))
    marks = [(s.start / rate, _describe(dreamer, s.changed)) for s in timeline.segments[1:] if s.line is not None]
    marks += [(a / rate, "freeze on") for a, _ in spans]
    marks += [(b / rate, "freeze off") for _, b in spans if b < end - first]
    summary = {
        "take": str(take.parts[0]), "parts": len(take.parts), "samplerate": rate,
        "from_s": round(first / rate, 3), "to_s": round(end / rate, 3),
        "recovered_frames": take.recovered_frames, "seed": options.seed,
        "regions": [_region_summary(dreamer, s, rate, before, after) for s in timeline.segments],
        "freeze": [{"start_s": round(a / rate, 3), "end_s": round(b / rate, 3)} for a, b in spans],
        "problems": timeline.problems,
        "seconds": round(seconds, 3),
        "audio_seconds": round((end - first) / rate, 3),
        "realtime_factor": round((end - first) / rate / max(seconds, 1e-9), 2),
    }
    return ReplayResult(out, rate, summary, before, after, marks)


def _span(options: ReplayOptions, rate: int, frames: int) -> tuple[int, int]:
    start = 0.0 if options.start_s is None else options.start_s
    end = frames / rate if options.end_s is None else min(options.end_s, frames / rate)
    if start < 0:
        raise DreamSoundError(f"--from {start:g} must be >= 0")
    if end <= start:
        raise DreamSoundError(f"nothing to replay between --from {start:g} s and --to {end:g} s "
                              f"(the take lasts {frames / rate:.3f} s)")
    return round(start * rate), min(frames, round(end * rate))


def _shift(points: list[tuple[int, Any]], first: int) -> list[tuple[int, Any]]:
    """Automation points seen from frame ``first`` on: the value then, at 0, and the later points."""
    value = points[0][1]
    later = []
    for frame, v in points:
        if frame <= first:
            value = v
        else:
            later.append((frame - first, v))
    return [(0, value), *later]


def _with_sound(params: DreamParams, take: Take, options: ReplayOptions, line: int | None, frame: int) -> DreamParams:
    """Resolve a logged target sound where the live run found it: a path, a capture saved beside
    the take, or the target-sound folder. A missing one is an error only where a region needs it."""
    name = params.target_sound
    if not name:
        return params
    candidates = [Path(name)]
    captured = captured_target(take.directory, take.stem, name, frame)
    if captured is not None:
        candidates.insert(0, captured)
    if options.sound_dir is not None:
        candidates.append(Path(options.sound_dir) / Path(name).name)
    for path in candidates:
        if path.is_file():
            return params.replace(target_sound=str(path))
    if params.mode != "target":
        return params.replace(target_sound=None)
    where = f"region from line {line} of {take.log_path.name}" if line else f"start of {take.log_path.name}"
    looked = ", ".join(str(p) for p in candidates) + f", {take.directory}/{take.stem}.target.*"
    raise DreamSoundError(f"target sound {name!r} ({where}) not found; looked in: {looked}")


def _freeze_spans(points: list[tuple[int, Any]], frames: int) -> list[tuple[int, int]]:
    spans, on = [], None
    for frame, value in points:
        if value and on is None:
            on = frame
        elif not value and on is not None:
            if frame > on:
                spans.append((on, frame))
            on = None
    if on is not None and frames > on:
        spans.append((on, frames))
    return spans


def _params_at(regions: list[Region], sample: int) -> DreamParams:
    for r in regions:
        if r.start <= sample < r.end:
            return r.params
    return regions[-1].params


def _freeze_steps(spans16: list[tuple[int, int]], regions: list[Region]) -> int:
    hop = WINDOW_SAMPLES // 2
    return sum((int(np.ceil((b - a) / hop)) + 1) * _params_at(regions, a).iterations for a, b in spans16)


def _freeze(dreamer: Dreamer, signal: np.ndarray, a: int, b: int, params: DreamParams, progress) -> None:
    """In place on ``signal`` [channels, n] (16 kHz): from ``a`` to ``b`` the window that ended at ``a``
    keeps deepening, ``params.iterations`` per half window, its grains overlap-added with a Hann window."""
    hop = WINDOW_SAMPLES // 2
    held = np.zeros((signal.shape[0], WINDOW_SAMPLES), np.float32)
    source = signal[:, max(0, a - WINDOW_SAMPLES) : a]
    held[:, WINDOW_SAMPLES - source.shape[1] :] = source
    count = int(np.ceil((b - a) / hop)) + 1
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW_SAMPLES) / WINDOW_SAMPLES)
    ola = np.zeros((signal.shape[0], (count + 1) * hop + WINDOW_SAMPLES), np.float64)
    x = held
    offsets = np.zeros(1, np.int32)  # one window: the buffer is the held window itself
    for k in range(count):
        for _ in range(params.iterations):
            x = dreamer.iterate_buffer(x, params, offsets).audio
            if progress:
                progress(1)
        ola[:, k * hop : k * hop + WINDOW_SAMPLES] += np.asarray(x) * hann
    frozen = ola[:, hop : hop + (b - a)]  # grain k starts at a - hop + k * hop
    fade = np.ones(b - a)
    n = min(FREEZE_FADE, (b - a) // 2)
    if n:
        ramp = np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2
        fade[:n] = ramp
        if b < signal.shape[1]:
            fade[-n:] = ramp[::-1]
    signal[:, a:b] = (signal[:, a:b] * (1 - fade) + frozen * fade).astype(np.float32)


def _hold_upper_band(
    wet: np.ndarray, upper: np.ndarray, a: int, b: int, a16: int, b16: int, n16: int, rate: int
) -> None:
    """In place on ``wet`` (frames at ``rate``): over the frozen span ``[a, b)`` (``[a16, b16)`` at 16 kHz) the
    take's upper band (``upper``: dry minus its 16 kHz version) is held as ``_freeze`` holds the dreamed band:
    the window ending at the freeze is looped in grains at the same times (rounded to frames, normalized by
    the grains' summed envelopes), faded in and out over the same 50 ms."""
    ratio = rate / SAMPLE_RATE
    window, hop = round(WINDOW_SAMPLES * ratio), WINDOW_SAMPLES // 2
    held = np.zeros(window, np.float64)
    source = upper[max(0, a - window) : a]
    held[window - source.shape[0] :] = source
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)
    ola, weight = np.zeros(b - a, np.float64), np.zeros(b - a, np.float64)
    count = int(np.ceil((b16 - a16) / hop)) + 1
    for k in range(count):  # grain k starts at a16 - hop + k * hop, as in _freeze
        start = round((a16 - hop + k * hop) * ratio) - a
        lo, hi = max(start, 0), min(start + window, b - a)
        if hi > lo:
            ola[lo:hi] += held[lo - start : hi - start] * hann[lo - start : hi - start]
            weight[lo:hi] += hann[lo - start : hi - start]
    frozen = np.divide(ola, weight, out=np.zeros_like(ola), where=weight > 1e-3)
    n = min(FREEZE_FADE, (b16 - a16) // 2)
    fade16 = np.ones(b16 - a16)
    if n:
        ramp = np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2
        fade16[:n] = ramp
        if b16 < n16:
            fade16[-n:] = ramp[::-1]
    fade = np.interp((np.arange(a, b) / ratio), np.arange(a16, b16), fade16)
    wet[a:b] += (fade * (frozen - upper[a:b])).astype(np.float32)


def _describe(dreamer: Dreamer, changed: dict[str, Any]) -> str:
    """``mode=deepdream, target_class=Dog``: a change as a performer reads it (class names, not indices)."""
    parts = []
    for name, value in changed.items():
        if name == "target_class" and value is not None:
            value = dreamer.classes[dreamer.class_index(value)].name
        parts.append(f"{name}={value}")
    return ", ".join(parts)


def _region_summary(dreamer: Dreamer, s: tl.Segment, rate: int, before: ClassTrack, after: ClassTrack) -> dict:
    start, end = s.start / rate, s.end / rate
    centre = after.times + WINDOW_SAMPLES / SAMPLE_RATE / 2
    inside = (centre >= start) & (centre < end)
    row = {
        "start_s": round(start, 3), "end_s": round(end, 3), "log_line": s.line, "changed": s.changed,
        "params": {k: getattr(s.params, k) for k in DreamParams.field_names()},
    }
    if inside.any():
        row["top_before"] = dreamer.top(before.scores[inside].mean(axis=0), 1)[0]
        row["top_after"] = dreamer.top(after.scores[inside].mean(axis=0), 1)[0]
    return row
