"""The dream worker's scheduling and continuation, without audio hardware: a ring buffer advanced by hand,
a clock that moves only when the stand-in dreamer says an iteration took time, and a stand-in dreamer
(mechanics only: these tests are about where samples go and when, not about what the model does)."""

from __future__ import annotations

import inspect
import itertools
import threading

import numpy as np
import pytest

from instrument.dream.buffer import window_count
from instrument.dream.params import DreamParams
from instrument.live.output import crossfade_envelope
from instrument.live.ringbuffer import RingBuffer
from instrument.live.schedule import schedule_for
from instrument.live.worker import DreamWorker, publish_margin
from instrument.model.layout import SAMPLE_RATE, WINDOW_SAMPLES, WINDOW_SECONDS
from instrument.settings import LiveSettings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ClockHalt(threading.Event):
    """The worker's halt event whose waits pass on a ``Clock`` (nothing else runs meanwhile)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def wait(self, timeout: float | None = None) -> bool:
        self.clock.now += timeout or 0.0
        return self.is_set()


class Result:
    def __init__(self, audio: np.ndarray) -> None:
        self.audio = audio


class StandIn:
    """Scales the buffer by ``scale`` and adds ``add`` per iteration and moves the clock by ``seconds``; keeps
    what it saw."""

    def __init__(self, clock: Clock, seconds: float = 0.03, add: float = 0.0, scale: float = 1.0) -> None:
        self.clock, self.seconds, self.add, self.scale = clock, seconds, add, scale
        self.inputs: list[np.ndarray] = []
        self.outputs: list[np.ndarray] = []
        self.offsets: list[np.ndarray] = []

    def iterate_buffer(self, buffer, params, offsets):
        x = np.array(buffer, np.float32)
        self.inputs.append(x[0].copy())
        self.offsets.append(np.array(offsets))
        self.clock.now += self.seconds
        out = x * self.scale + self.add if self.scale != 1.0 else x + self.add
        self.outputs.append(out[0].copy())
        return Result(out)


class Rig:
    """A worker on a hand-filled ring: ``write_until(frame)`` plays the input up to ``frame``."""

    def __init__(
        self, rate: int = 48000, iterations: int = 2, seconds: float = 0.03, add: float = 0.0,
        budget: float = 0.5, block: int = 256, freq: float = 3000.0, context: float = 1.5, coverage: float = 2.0,
        scale: float = 1.0, upper: float = 0.0, band: str = "full", schedule: str = "window",
        share: float = 1.0,
    ) -> None:
        self.rate = rate
        self.clock = Clock()
        self.dreamer = StandIn(self.clock, seconds, add, scale)
        self.params = DreamParams(mode="deepdream", iterations=iterations, band=band)
        self.freeze = False
        self.ring = RingBuffer(12 * rate)
        t = np.arange(12 * rate) / rate
        self.input = (0.4 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 1.3 * t))).astype(np.float32)
        # ``upper``: a partial at 11 kHz, above all that the 16 kHz dream can hold
        self.input += (upper * np.sin(2 * np.pi * 11000 * t)).astype(np.float32)
        self.published: list[tuple[np.ndarray, object]] = []
        self.reports: list = []
        window = round(WINDOW_SECONDS * rate)
        hop = max(round(window * 0.5), (window + 1) // 2)
        if schedule == "hop":  # the default schedule: short grains, the buffer hops ahead of them
            plan = schedule_for(LiveSettings(), rate)
            window, hop, budget = plan.grain, plan.hop, LiveSettings().worker_budget
        self.worker = DreamWorker(
            dreamer=self.dreamer,
            current=lambda: (self.params, self.freeze),
            ring=self.ring,
            publish=lambda out, info: self.published.append((out.copy(), info)),
            report=self.reports.append,
            samplerate=rate,
            window=window,
            hop=hop,
            budget=budget,
            block=block,
            context=context,
            coverage=coverage,
            seed=0,
            clock=self.clock,
            share=lambda: share,
        )

    def write_until(self, frame: int) -> None:
        written = self.ring.written
        if frame > written:
            self.ring.write(self.input[written:frame])

    def hop(self) -> int:
        """Dream the next grain start with the input written up to just past its capture point."""
        worker = self.worker
        boundary = worker.next_boundary()
        # As live: the input has come in up to a hop before the grain start (when the worker finished the
        # previous one) or, with a lead under a hop, to just past the capture point.
        self.write_until(max(boundary - worker.lead + 2000, boundary - worker.hop + worker.block))
        worker.dream_once(boundary)
        return boundary


def test_budget_and_margin_come_from_the_caller_and_the_block_size() -> None:
    assert inspect.signature(DreamWorker).parameters["budget"].default is inspect.Parameter.empty
    assert publish_margin(256, 48000) < 0.016  # what a fixed 15 ms allowed at the default block
    assert publish_margin(1024, 48000) > 2 * 1024 / 48000  # a fixed 15 ms is under one 1024-frame block


def test_the_dreaming_time_never_makes_the_latency_exceed_0_6_s() -> None:
    rig = Rig(budget=0.8)
    assert rig.worker.lead == int(0.8 * rig.worker.hop)  # 0.39 s at 50 % overlap
    long_hop = DreamWorker(
        dreamer=rig.dreamer, current=lambda: (rig.params, False), ring=rig.ring, publish=print, report=print,
        samplerate=48000, window=46800, hop=44460, budget=0.8, block=256,
    )  # 5 % overlap: 0.8 of the hop would be 0.74 s
    assert long_hop.lead / 48000 <= 0.55


@pytest.mark.parametrize("block", [256, 1024])
def test_iterations_stop_before_the_deadline_at_their_own_pace(block: int) -> None:
    rig = Rig(iterations=1000, seconds=0.02, block=block)
    rig.hop()
    report = rig.reports[-1]
    worker = rig.worker
    available = (worker.lead - 2000) / rig.rate - publish_margin(block, rig.rate)
    assert report.iterations == int(available / 0.02)  # the clock moves only by the stand-in's 20 ms
    assert report.available == pytest.approx(available)
    assert not report.late


def test_iterations_stop_at_the_wanted_count() -> None:
    rig = Rig(iterations=3, seconds=0.001)
    rig.hop()
    assert rig.reports[-1].iterations == 3


@pytest.mark.parametrize("rate", [48000, 44100])
def test_each_buffer_continues_the_previous_dream_moved_sample_exactly(rate: int) -> None:
    rig = Rig(rate=rate, iterations=2, add=0.01)
    for _ in range(4):
        rig.hop()
    worker, seen, made = rig.worker, rig.dreamer.inputs, rig.dreamer.outputs
    seam = worker.buffer.seam
    hop16 = worker.hop * SAMPLE_RATE / rate
    for k in (1, 2, 3):
        first, previous = seen[2 * k], made[2 * k - 1]  # two iterations per hop
        carried = rig.reports[k].carried
        shift = worker.length - carried
        assert abs(shift - hop16) <= worker.grid.samples  # the input's advance, on the rate grid
        # The carried part is the previous hop's dream, moved by the input's advance (not re-resampled).
        np.testing.assert_array_equal(first[: carried - seam], previous[shift : shift + carried - seam])
    # Each iteration has its windows at offsets drawn afresh.
    assert not np.array_equal(rig.dreamer.offsets[0], rig.dreamer.offsets[1])


def overlap_add(rig: Rig, starts: list[int]) -> tuple[np.ndarray, int, int]:
    """What the grain player plays from the published windows: (output, first full frame, last)."""
    worker = rig.worker
    envelope = crossfade_envelope(worker.window, worker.hop)
    out = np.zeros(starts[-1] + worker.window, np.float64)
    for start, (window, _) in zip(starts, rig.published, strict=True):
        out[start : start + worker.window] += envelope * window
    return out, starts[1], starts[-1]


@pytest.mark.parametrize("rate", [48000, 44100])
def test_overlap_add_of_the_published_windows_is_the_input_when_nothing_is_dreamed(rate: int) -> None:
    rig = Rig(rate=rate, iterations=1)
    starts = [rig.hop() for _ in range(5)]
    out, a, b = overlap_add(rig, starts)
    delay = rig.worker.lead + rig.worker.window  # a grain plays the window that ends lead frames before it
    played, heard = out[a:b], rig.input[a - delay : b - delay]
    # A frame's misalignment would leave an error of the order of the 3 kHz sine itself (0.4).
    assert np.max(np.abs(played - heard)) < 0.01


def test_the_continuing_dream_plays_without_clicks_or_gaps() -> None:
    rig = Rig(iterations=2, add=0.005)  # every hop adds 0.01 to what is in the buffer: the dream deepens
    starts = [rig.hop() for _ in range(6)]
    out, a, b = overlap_add(rig, starts)
    delay = rig.worker.lead + rig.worker.window
    dream = out[a:b] - rig.input[a - delay : b - delay]  # what the dreaming added to the played sound
    # Every sample is played from the last two windows that held it: dreamed one hop (0.01) in the newer
    # part of one and two hops (0.02) in the older part of the next, crossfaded. Restarting each window
    # from the input would play 0.01 throughout.
    assert dream.min() > 0.0099 and dream.mean() > 0.014
    # A seam without its crossfade would step by 0.01 from one sample to the next.
    assert np.max(np.abs(np.diff(dream))) < 0.0005
    blocks = out[a:b][: (b - a) // 480 * 480].reshape(-1, 480)
    heard = rig.input[a - delay : b - delay][: (b - a) // 480 * 480].reshape(-1, 480)
    assert np.all(np.sqrt((blocks**2).mean(1)) > 0.5 * np.sqrt((heard**2).mean(1)))  # no gap in any 10 ms


def test_freeze_keeps_deepening_the_held_buffer() -> None:
    rig = Rig(iterations=1, add=0.01)
    rig.hop()
    rig.freeze = True
    rig.hop()
    rig.hop()
    inputs, outputs = rig.dreamer.inputs, rig.dreamer.outputs
    np.testing.assert_array_equal(inputs[1], outputs[0])
    np.testing.assert_array_equal(inputs[2], outputs[1])
    rig.freeze = False
    rig.hop()
    assert rig.reports[-1].carried < rig.worker.length  # moving again: fresh input enters


def test_no_iterations_pass_the_input_through_and_dreaming_restarts_from_it() -> None:
    rig = Rig(iterations=0)
    boundary = rig.hop()
    window, info = rig.published[-1]
    end = boundary - rig.worker.lead
    np.testing.assert_array_equal(window, rig.input[end - rig.worker.window : end])
    assert not info.dreamed
    rig.params = rig.params.replace(iterations=1)
    rig.hop()
    assert rig.reports[-1].carried == 0


def test_a_worker_that_fell_behind_dreams_the_newest_input_afresh() -> None:
    rig = Rig(iterations=1)
    rig.hop()
    now = rig.ring.written + 3 * rig.rate
    rig.write_until(now)  # three seconds passed while it was busy
    boundary = rig.hop()
    assert now - rig.worker.hop < boundary - rig.worker.lead <= now  # the newest grain start, not the next one
    assert rig.reports[-1].carried == 0


@pytest.mark.parametrize(("context", "coverage"), [(1.5, 2.0), (2.5, 3.0), (1.0, 1.0)])
def test_the_buffer_and_its_windows_follow_live_context_and_coverage(context: float, coverage: float) -> None:
    rig = Rig(context=context, coverage=coverage)
    rig.hop()
    length = rig.dreamer.inputs[0].size
    assert abs(length - context * WINDOW_SAMPLES) < 3, length  # on the 16 kHz / 48 kHz grid
    for offsets in rig.dreamer.offsets:
        assert offsets.size == window_count(length, coverage)
        assert offsets.min() >= 0 and offsets.max() <= length - WINDOW_SAMPLES
    assert window_count(length, coverage) >= coverage * length / WINDOW_SAMPLES - 1e-9


@pytest.mark.parametrize("rate", [48000, 44100])
def test_a_dream_that_changes_nothing_plays_the_input_sample_exactly_above_8_khz_too(rate: int) -> None:
    """Full band: the published windows are the input's own frames plus the change (zero here), so their
    overlap-add is the delayed input to float precision, its 11 kHz partial included."""
    rig = Rig(rate=rate, iterations=2, upper=0.2)
    starts = [rig.hop() for _ in range(5)]
    out, a, b = overlap_add(rig, starts)
    delay = rig.worker.lead + rig.worker.window
    np.testing.assert_allclose(out[a:b], rig.input[a - delay : b - delay], atol=1e-6)


def upper_and_lower(x: np.ndarray, rate: int) -> tuple[float, float]:
    """RMS amplitude of ``x``'s content above 8.5 kHz and below 7 kHz."""
    spectrum = np.fft.rfft(x * np.hanning(x.size))
    f = np.fft.rfftfreq(x.size, 1 / rate)
    energy = np.abs(spectrum) ** 2
    return float(np.sqrt(energy[f > 8500].sum())), float(np.sqrt(energy[f < 7000].sum()))


@pytest.mark.parametrize("rate", [48000, 44100])
def test_the_upper_band_passes_untouched_whatever_the_dream_does_below_8_khz(rate: int) -> None:
    """A stand-in that silences its whole buffer (mechanics only): with band full only the 16 kHz part goes
    (the 3 kHz tone); the 11 kHz partial plays on at its own level and phase, sample-aligned with the input.
    With band 16k nothing is left."""
    rig = Rig(rate=rate, iterations=1, scale=0.0, upper=0.2)
    starts = [rig.hop() for _ in range(5)]
    out, a, b = overlap_add(rig, starts)
    delay = rig.worker.lead + rig.worker.window
    t = np.arange(a - delay, b - delay) / rate
    partial = 0.2 * np.sin(2 * np.pi * 11000 * t)
    assert np.max(np.abs(out[a:b] - partial)) < 0.002  # a frame late would be an error of 0.2
    upper, lower = upper_and_lower(out[a:b], rate)
    upper_in, lower_in = upper_and_lower(rig.input[a - delay : b - delay], rate)
    assert abs(20 * np.log10(upper / upper_in)) < 0.05 and 20 * np.log10(lower / lower_in) < -60
    rig16 = Rig(rate=rate, iterations=1, scale=0.0, upper=0.2, band="16k")
    starts = [rig16.hop() for _ in range(5)]
    out16, a, b = overlap_add(rig16, starts)
    assert np.max(np.abs(out16[a:b])) < 1e-6


def upper_spectrum(x: np.ndarray, rate: int) -> np.ndarray:
    spectrum = np.fft.rfft(x * np.hanning(x.size))
    return spectrum[np.fft.rfftfreq(x.size, 1 / rate) > 8500]


def test_a_frozen_window_keeps_its_upper_band() -> None:
    """Freeze holds the whole window: while the dream below 8 kHz deepens (the stand-in halves it at each
    iteration), the input's frames above it stay those of the held window, even once the ring has moved on
    far past them."""
    rig = Rig(iterations=1, scale=0.5, upper=0.2)
    rig.hop()
    rig.freeze = True
    boundary = rig.hop()
    held = rig.published[-1][0]
    end = rig.worker.grid.to_device(rig.worker.buffer.end)
    frames = rig.input[end - rig.worker.window : end]
    rig.write_until(rig.ring.written + 11 * rig.rate)  # the ring (12 s) no longer holds the held frames
    rig.hop()
    later = rig.published[-1][0]
    assert boundary and not np.allclose(later, held, atol=1e-3)  # deeper below 8 kHz
    reference = upper_spectrum(frames, rig.rate)
    for window in (held, later):
        error = np.abs(upper_spectrum(window, rig.rate) - reference)
        assert np.sqrt((error**2).sum() / (np.abs(reference) ** 2).sum()) < 1e-3


def test_no_iterations_with_band_16k_pass_the_input_as_the_16_khz_path_hears_it() -> None:
    rig = Rig(iterations=0, upper=0.2, band="16k")
    boundary = rig.hop()
    window, info = rig.published[-1]
    end = boundary - rig.worker.lead
    heard = rig.input[end - rig.worker.window : end]
    upper, lower = upper_and_lower(window, rig.rate)
    upper_in, lower_in = upper_and_lower(heard, rig.rate)
    assert upper < 1e-3 * upper_in and abs(20 * np.log10(lower / lower_in)) < 0.1
    assert not info.dreamed


# --- the default schedule: grains of the newest hop + crossfade, the buffer running hops ahead of them ------


@pytest.mark.parametrize("rate", [48000, 44100])
def test_short_grains_overlap_add_to_the_input_a_lead_and_a_grain_later(rate: int) -> None:
    rig = Rig(rate=rate, iterations=1, schedule="hop", upper=0.2)
    worker = rig.worker
    assert worker.lead > worker.hop and worker.window - worker.hop <= worker.hop
    starts = [rig.hop() for _ in range(30)]
    assert np.all(np.diff(starts) == worker.hop)  # every grain start dreamed, none skipped
    out, a, b = overlap_add(rig, starts)
    delay = worker.lead + worker.window  # = schedule_for(...).delay: the latency, less the device's
    assert delay == schedule_for(LiveSettings(), rate).delay
    np.testing.assert_allclose(out[a:b], rig.input[a - delay : b - delay], atol=1e-6)  # 11 kHz partial too
    assert worker.buffer.end > worker.grid.to_16k(worker.grid.ceil_frame(starts[-1] - worker.lead))  # ahead


def test_short_grains_play_every_sample_as_deep_as_reported_without_clicks() -> None:
    rig = Rig(iterations=20, add=0.001, seconds=0.01, schedule="hop")  # 0.001 per iteration: depth shows
    worker = rig.worker
    starts = [rig.hop() for _ in range(40)]
    out, a, b = overlap_add(rig, starts)
    a = starts[20]  # once the first grains' samples have been through all their hops
    delay = worker.lead + worker.window
    dream = out[a:b] - rig.input[a - delay : b - delay]
    per_hop = np.mean([r.iterations for r in rig.reports[20:]])
    per_sample = np.mean([r.per_sample for r in rig.reports[20:]])
    # Each sample was dreamed on in the ~lead/hop hops between entering the buffer and its grain's
    # publication: many more iterations than one hop has, and exactly what the reports say.
    assert per_sample > 5 * per_hop > 0
    assert dream.mean() == pytest.approx(0.001 * per_sample, rel=0.03)
    assert np.max(np.abs(np.diff(dream))) < 0.0002  # no step where parts that came in hops apart meet


def test_share_under_one_leaves_that_much_of_the_time_to_a_compile() -> None:
    full = Rig(iterations=1000, seconds=0.002, schedule="hop")
    half = Rig(iterations=1000, seconds=0.002, schedule="hop", share=0.5)
    for rig in (full, half):
        rig.worker.halt = ClockHalt(rig.clock)  # the worker's rests pass on the rig's clock
        rig.hop()
        rig.hop()
    assert half.reports[-1].iterations == pytest.approx(full.reports[-1].iterations / 2, abs=1)


def test_a_frozen_short_grain_loops_through_the_held_window() -> None:
    """With short grains, freeze plays the held buffer's newest 0.975 s as a loop, a grain per hop
    stepping through it (crossfaded where it wraps), not one 60 ms grain over and over."""
    rig = Rig(iterations=1, schedule="hop")
    worker = rig.worker
    for _ in range(12):
        rig.hop()
    rig.freeze = True
    for _ in range(40):
        rig.hop()
    grains = [w for w, _ in rig.published[-40:]]
    loop = round(WINDOW_SECONDS * rig.rate)
    # The grains step a hop at a time through the loop: consecutive ones hold the same frames where they
    # overlap (nothing is dreamed deeper by the stand-in without ``add``), except where the loop wraps.
    fade = worker.window - worker.hop
    same = [np.allclose(g[-fade:], h[:fade], atol=1e-6) for g, h in itertools.pairwise(grains)]
    wraps = (loop - worker.window) // worker.hop + 1
    assert sum(not x for x in same) == pytest.approx(len(same) / wraps, abs=1)
    # What the loop plays is the held input (band full, nothing dreamed): its frames, in order.
    end = worker.grid.to_device(worker.buffer.end)
    held = rig.input[end - loop : end]
    first = grains[0]
    np.testing.assert_allclose(first, held[: worker.window], atol=1e-6)
    rig.freeze = False
    rig.hop()
    assert rig.reports[-1].carried < worker.length  # moving again: fresh input enters


def test_one_stalled_iteration_does_not_keep_the_next_windows_from_dreaming() -> None:
    rig = Rig(iterations=1000, seconds=0.01, schedule="hop")
    rig.hop()
    rig.dreamer.seconds = 0.5  # one iteration stalls (a compile beside it, the host)
    rig.hop()
    rig.dreamer.seconds = 0.01
    for _ in range(12):
        rig.hop()
    assert rig.reports[-1].iterations >= 2, [r.iterations for r in rig.reports]
