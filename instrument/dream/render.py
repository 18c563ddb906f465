"""Offline render: the DreamSound process on the whole signal.

The input (any rate, any channel count) is resampled to 16 kHz. Each region of
the signal (the whole file for ``render``; one per parameter change for a
replay) is dreamed as one signal by the buffer step (``instrument.dream.buffer``):
every iteration takes its loss over windows at offsets drawn afresh so that
every sample lies under >= ``coverage`` windows, its gradient with respect to
the whole buffer, and applies the mode's filter on the whole buffer's STFT.
Long regions are cut into chunks of at most ``chunk_seconds`` with one window of
context on each side, crossfaded (``instrument.dream.chunks``). All channels of a
chunk are dreamed together in one call.

The output (``assemble``) has the input's rate, channels and length. With
``band: full`` (the default) it is the input itself plus the dream's *change*
(dreamed - input, at 16 kHz) resampled to the input's rate: the change is
band-limited to 8 kHz (what YAMNet hears is all the dream may change), and the
input's content above it passes untouched, at its own level. soxr's resamplers
are linear phase and their delay is compensated, so the dreamed band and the
input's upper band are sample-aligned and meet without a notch or a bump (the
crossover, ~7.4-7.8 kHz, is soxr's own: docs/full-band.md). With ``band: 16k``
the output is the 16 kHz dream resampled, as in the paper: nothing above ~7.6 kHz.

The randomness (window offsets) comes from ``seed``, one generator per chunk, so
a render is repeatable bit for bit and independent of the order chunks run in.

The summary's classes are measured on the output as written, on a 0.1 s grid
starting at 0.05 s (``instrument.dream.listen``), not on the dreamed windows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from instrument.audiofile import fit_length, resample, to_mono
from instrument.dream import chunks as chunking
from instrument.dream.buffer import draw_offsets, window_count
from instrument.dream.dreamer import Dreamer
from instrument.dream.listen import ClassTrack, class_track
from instrument.dream.params import DreamParams
from instrument.model.frontend import SAMPLE_RATE, WINDOW_SAMPLES


@dataclass(frozen=True)
class Region:
    """Samples ``[start, end)`` of the 16 kHz signal, dreamed with ``params``."""

    start: int
    end: int
    params: DreamParams


@dataclass(frozen=True)
class Layout:
    """How the whole signal is dreamed (``render:`` in config.yaml)."""

    coverage: float = 2.0  # windows over every sample per iteration
    chunk_seconds: float = 20.0
    crossfade_seconds: float = 0.2
    offsets: str = "grid"  # how window offsets are drawn (instrument.dream.buffer.OFFSET_STRATEGIES)
    objective: str = "windows"  # how the windows' loss is computed (instrument.dream.objective)


@dataclass
class Dreamed:
    signal: np.ndarray  # [channels, samples] at 16 kHz
    chunks: list[dict]  # per chunk: span, windows per iteration, mean loss per iteration
    first_window: dict = field(default_factory=dict)  # arrays for the paper figure


@dataclass
class RenderResult:
    audio: np.ndarray  # frames x channels, input rate
    summary: dict
    first_window: dict = field(default_factory=dict)  # arrays for the plots
    before: ClassTrack | None = None
    after: ClassTrack | None = None


def plan_for(regions: list[Region], total: int, layout: Layout) -> list[chunking.Chunk]:
    return chunking.plan(
        [(r.start, r.end) for r in regions], total,
        chunk=round(layout.chunk_seconds * SAMPLE_RATE), crossfade=round(layout.crossfade_seconds * SAMPLE_RATE),
    )


def count_steps(regions: list[Region], total: int, layout: Layout) -> int:
    """How many times ``dream_regions`` calls ``progress`` (one per chunk iteration)."""
    return sum(regions[c.region].params.iterations for c in plan_for(regions, total, layout))


def dream_regions(
    dreamer: Dreamer,
    signal: np.ndarray,
    regions: list[Region],
    *,
    seed: int = 0,
    layout: Layout = Layout(),
    progress: Callable[[int], None] | None = None,
) -> Dreamed:
    """Dream ``signal`` (``[channels, samples]`` at 16 kHz), each region with its parameters."""
    signal = np.asarray(signal, np.float32)
    total = signal.shape[1]
    out = np.zeros_like(signal, dtype=np.float64)
    reports, first = [], {}
    for chunk in plan_for(regions, total, layout):
        params = regions[chunk.region].params
        rng = np.random.default_rng([seed, chunk.region, chunk.index])
        count = window_count(chunk.length - WINDOW_SAMPLES, layout.coverage)
        x = chunking.cut(signal, chunk)
        span = chunking.signal_span(chunk, total)  # levels and peaks over the signal, not the zero context
        losses, gradient = [], None
        for _ in range(params.iterations):
            offsets = draw_offsets(rng, chunk.length, count, layout.offsets, (chunk.first_offset, chunk.last_offset))
            result = dreamer.iterate_buffer(x, params, offsets, span, objective=layout.objective)
            x, gradient = result.audio, result.gradient
            losses.append(round(float(np.mean(result.loss.numpy())), 6))
            if progress:
                progress(1)
        dreamed = np.asarray(x)
        chunking.add_into(out, dreamed, chunk)
        if not first and chunk.lo <= 0:
            at = -chunk.buffer_start
            first = {"gradient": None if gradient is None else np.asarray(gradient)[0, at : at + WINDOW_SAMPLES]}
        reports.append({
            "region": chunk.region, "start_s": round(max(chunk.lo, 0) / SAMPLE_RATE, 3),
            "end_s": round(min(chunk.hi, total) / SAMPLE_RATE, 3), "windows_per_iteration": count,
            "buffer_s": round(chunk.length / SAMPLE_RATE, 3), "loss": losses,
        })
    return Dreamed(out.astype(np.float32), reports, first)


def render(
    dreamer: Dreamer,
    audio: np.ndarray,
    rate: int,
    params: DreamParams,
    *,
    seed: int = 0,
    layout: Layout = Layout(),
    progress: Callable[[int], None] | None = None,
) -> RenderResult:
    """Dream ``audio`` (frames x channels at ``rate``) as one signal; ``progress(n)`` after n chunk iterations."""
    dreamer.check(params)
    started = time.perf_counter()
    frames, channels = audio.shape
    signal = to_channels_first(resample(audio, rate, SAMPLE_RATE))
    # The input's classes beside the dream, from its first iteration on: the iterations run in TensorFlow's
    # C++ without the GIL, so the classifier's first trace (0.3-0.4 s of Python) and the input's windows cost
    # the command next to nothing. (Started before the first iteration, the trace took turns on the GIL with
    # the iteration's own tracing: the dream's time went up by more than the command's time went down.)
    with ThreadPoolExecutor(1, thread_name_prefix="render-classify") as pool:
        heard: list[Future[ClassTrack]] = []
        stop = threading.Event()  # the dream failed or was interrupted: the classes are not waited for

        def on_progress(n: int) -> None:
            if not heard:
                heard.append(pool.submit(listen_to, dreamer, audio, rate, stop))
            if progress:
                progress(n)

        try:
            dreamed = dream_regions(
                dreamer, signal, [Region(0, signal.shape[1], params)], seed=seed, layout=layout, progress=on_progress
            )
        except BaseException:
            stop.set()
            raise
        out = assemble(audio, signal, dreamed.signal, rate, params.band)
        seconds = time.perf_counter() - started
        before = heard[0].result() if heard else listen_to(dreamer, audio, rate)
    summary, before, after = summarize(dreamer, before, out, rate, params.target_class)
    summary.update({
        "channels": channels, "iterations": params.iterations, "seed": seed,
        "seconds": round(seconds, 3), "audio_seconds": round(frames / rate, 3),
        "realtime_factor": round(frames / rate / max(seconds, 1e-9), 2),
        "params": {k: getattr(params, k) for k in DreamParams.field_names()},
        "layout": {"coverage": layout.coverage, "chunk_seconds": layout.chunk_seconds,
                   "crossfade_seconds": layout.crossfade_seconds, "objective": layout.objective},
        "chunks": dreamed.chunks,
    })
    first = dict(dreamed.first_window)
    first.update(input=signal[0, :WINDOW_SAMPLES], output=dreamed.signal[0, :WINDOW_SAMPLES])
    return RenderResult(out, summary, first, before, after)


def to_channels_first(signal: np.ndarray) -> np.ndarray:
    """``frames x channels`` (or mono ``frames``) -> ``[channels, frames]`` float32."""
    signal = np.asarray(signal, np.float32)
    return (signal[:, None] if signal.ndim == 1 else signal).T.copy()


def assemble(audio: np.ndarray, input_16k: np.ndarray, dreamed_16k: np.ndarray, rate: int, band: str) -> np.ndarray:
    """The output at ``rate`` (frames x channels, clipped to +-1) from the input ``audio`` (frames x channels at
    ``rate``), the same input at 16 kHz and its dream (both ``[channels, samples]``).

    ``full``: ``audio + resample(dreamed - input)``; where the dream changed nothing the output *is* the
    input, bit for bit, at every frequency. ``16k``: the dream alone, resampled (``back_to_rate``)."""
    audio = np.asarray(audio, np.float32)
    audio = audio[:, None] if audio.ndim == 1 else audio
    frames = audio.shape[0]
    if band == "16k":
        return back_to_rate(dreamed_16k, rate, frames)
    change = np.asarray(dreamed_16k, np.float32) - np.asarray(input_16k, np.float32)
    return np.clip(audio + back_to_rate(change, rate, frames, clip=False), -1.0, 1.0).astype(np.float32)


def back_to_rate(signal_16k: np.ndarray, rate: int, frames: int, clip: bool = True) -> np.ndarray:
    """``[channels, samples]`` at 16 kHz -> ``frames x channels`` at ``rate`` (clipped to +-1 unless ``clip`` is
    False). soxr's one-shot resampling compensates its filter's delay: sample 0 stays at time 0."""
    out = resample(np.ascontiguousarray(signal_16k.T), SAMPLE_RATE, rate)
    out = fit_length(out if out.ndim == 2 else out[:, None], frames)
    return (np.clip(out, -1.0, 1.0) if clip else out).astype(np.float32)


def listen_to(dreamer: Dreamer, audio: np.ndarray, rate: int, stop: threading.Event | None = None) -> ClassTrack:
    """The model's scores of ``audio`` (frames x channels at ``rate``, mixed to mono) on the listening grid
    (``stop``: see ``class_track``)."""
    return class_track(dreamer, resample(to_mono(audio), rate, SAMPLE_RATE), stop=stop)


def summarize(
    dreamer: Dreamer, before: ClassTrack, after_audio: np.ndarray, rate: int, target_class: int | str | None
) -> tuple[dict, ClassTrack, ClassTrack]:
    """Top classes per window of the input (``before``: ``listen_to`` it) and of the output as written, on the
    listening grid."""
    after = listen_to(dreamer, after_audio, rate)
    target = dreamer.class_index(target_class)
    windows = []
    for i, start in enumerate(after.times):
        row = {
            "start_s": round(float(start), 3),
            "top_before": dreamer.top(before.scores[i], 1)[0],
            "top_after": dreamer.top(after.scores[i], 1)[0],
        }
        if target >= 0:
            row["target_before"] = round(float(before.scores[i, target]), 6)
            row["target_after"] = round(float(after.scores[i, target]), 6)
        windows.append(row)
    summary = {
        "windows": len(windows),
        "listening_grid": {"first_s": float(after.times[0]), "hop_s": 0.1},
        "overall_before": dreamer.top(before.scores.mean(axis=0), 3),
        "overall_after": dreamer.top(after.scores.mean(axis=0), 3),
        "per_window": windows,
    }
    if target >= 0:
        summary["target"] = {
            "index": target, "name": dreamer.classes[target].name,
            "mean_before": round(float(before.scores[:, target].mean()), 6),
            "mean_after": round(float(after.scores[:, target].mean()), 6),
            "share_after_at_least_0.5": round(float((after.scores[:, target] >= 0.5).mean()), 4),
        }
    return summary, before, after
