"""When grains start, what each plays, how long the worker dreams for it: the live schedule, in device frames.

One place for the arithmetic that the engine, the worker, the tests and the benchmarks share
(docs/latency.md). Every ``hop`` frames a grain starts at the output; it plays the newest ``grain``
frames of a window the worker captured ``lead`` frames before the grain's start, so every sample of the
dream reaches the output ``lead + grain`` frames after it came in (plus the device's latency):

- ``grain: hop`` (the default): a grain is the hop plus its crossfade (``live.hop``, ``live.crossfade``);
  the latency is ``lead + hop + crossfade``, 0.61 s at the defaults (0.55 s of it the dreaming time);
- ``grain: window``: a grain is the whole 0.975 s window, grains every ``window x (1 - overlap)`` frames
  (the engine before issue 20): the latency is a window longer.

Two grains overlap at most (the crossfade is at most the hop), so two voices play them.
"""

from __future__ import annotations

from dataclasses import dataclass

from instrument.model.layout import WINDOW_SECONDS

MAX_LEAD_SECONDS = 0.55  # the dreaming time never makes the latency exceed a window + 0.6 s (small overlaps)


@dataclass(frozen=True)
class Schedule:
    samplerate: int
    grain: int  # frames each grain plays (and each published window holds)
    hop: int  # frames between grain starts
    lead: int  # frames between a window's capture end and its grain start: the worker's dreaming time

    @property
    def fade(self) -> int:
        """Frames over which one grain fades into the next."""
        return self.grain - self.hop

    @property
    def latency(self) -> float:
        """Seconds from a sample at the input to that sample's dream at the output (the device's not included)."""
        return (self.lead + self.grain) / self.samplerate

    @property
    def delay(self) -> int:
        """The same in frames: output frame = input frame + delay."""
        return self.lead + self.grain


def schedule_for(live, samplerate: int) -> Schedule:
    """The schedule of ``live`` (``LiveSettings``) at ``samplerate``."""
    window = round(WINDOW_SECONDS * samplerate)
    if live.grain == "window":
        hop = max(round(window * (1.0 - live.overlap)), (window + 1) // 2)  # fade <= hop at any rate
        grain = window
    else:
        hop = max(2, round(live.hop * samplerate))
        grain = hop + max(1, min(hop, round(live.crossfade * samplerate)))
    return Schedule(samplerate, grain, hop, lead_frames(live.worker_budget, hop, samplerate))


def lead_frames(budget: float, hop: int, samplerate: int) -> int:
    """The worker's dreaming time in frames: ``budget`` x ``hop``, at most ``MAX_LEAD_SECONDS``."""
    return max(1, min(int(budget * hop), round(MAX_LEAD_SECONDS * samplerate)))
