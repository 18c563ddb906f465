"""The dream loop (run by the dream process): a context buffer dreamed on hop after hop, its newest window published.

Every ``hop`` frames a grain starts at the output. For each grain start the worker
takes the buffer that ends ``lead`` (``budget`` x hop) frames before it: at 16 kHz,
``context`` x 0.975 s long (the newest window plus older context). The part of it
that the previous buffer covered starts from the previous buffer's *dreamed* result,
moved by exactly the samples the input advanced (positions are counted at 16 kHz
from absolute input frames, so nothing drifts at any device rate); fresh input
enters only where it is new, with a short crossfade where the dream fades into it.
Then it runs iterations with the parameters current at each one, each with its
windows at offsets drawn afresh (``instrument.dream.buffer``: the jitter that makes
the dream hold at any framing), until ``iterations`` are done or the grain start
is near, and publishes the newest ``window`` frames at the device rate: the grain the
audio process plays (``instrument.live.schedule``: with ``live.grain: hop`` the newest hop
plus its crossfade, so the dream is heard a hop and a lead after the input; with
``window`` the whole 0.975 s window).

What it publishes is full band (``dream.band: full``, docs/full-band.md): the input's
own device-rate frames of the window plus the dream's *change* (the dreamed buffer
minus the undreamed 16 kHz input of the same span, which the buffer carries beside
the dream) resampled to the device rate. So the change is band-limited to 8 kHz and
the input above it reaches the output at its own level, sample-aligned with the
dreamed band (soxr is linear phase, its delay compensated); where nothing is dreamed
the window *is* the input. With ``band: 16k`` it is the dream resampled (the paper's
sound). The audio process plays either the same way: grains, then the dry/wet mix.

So a sample is dreamed on in every hop while it lies in the buffer and the dream
deepens across hops instead of restarting at every window; consecutive published
windows share their overlap's history, so the overlap-add plays one continuing
dream. What it cannot keep up with is dropped (the output holds meanwhile); after
a gap longer than the buffer it starts again from the input. With ``freeze`` the
buffer stops moving and keeps being dreamed on; its newest 0.975 s window plays as a loop
(grains step through it hop by hop, crossfaded where the loop wraps; with ``grain: window``
the same window every hop).

Each sample of the buffer carries its *depth*: the iterations it has been through (carried with
it from hop to hop). A report gives the depth of what the published grain will play,
weighted by the grain's envelope (``per_sample``): the iterations per sample that are heard.

The loop knows nothing about processes: it reads an input ring, asks ``current()``
for the parameters, and hands results to ``publish`` and ``report``. Its clock is
injectable, so its scheduling is tested without audio hardware.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from math import gcd
from typing import Any, Protocol

import numpy as np

from instrument.audiofile import fit_length, resample
from instrument.dream.buffer import draw_offsets, window_count
from instrument.dream.params import DreamParams
from instrument.live.output import crossfade_envelope
from instrument.live.ringbuffer import RingBuffer
from instrument.live.schedule import lead_frames
from instrument.live.shm import WindowInfo
from instrument.model.layout import SAMPLE_RATE, WINDOW_SAMPLES, WINDOW_SECONDS
from instrument.settings import LiveSettings

CONTEXT = LiveSettings.context  # buffer length in windows (live.context; 1.5: the newest plus half a window)
COVERAGE = LiveSettings.coverage  # windows over every sample per iteration (live.coverage; K = 4 at 1.5 windows)
SEAM_SECONDS = 0.01  # crossfade from the carried dream into fresh input (short: it pulls the dream back to it)
RESAMPLE_PAD = 64  # 16 kHz samples resampled beyond both ends of what is kept (soxr's edges stay outside)
HANDOFF_SECONDS = 0.005  # pipe message + copy into a grain slot in the audio process


def buffer_shape(samplerate: int, context: float = CONTEXT, coverage: float = COVERAGE) -> tuple[int, int]:
    """(N, K): 16 kHz samples per buffer (``context`` windows, on the rate grid) and windows per iteration."""
    samples = SAMPLE_RATE // gcd(samplerate, SAMPLE_RATE)
    wanted = max(WINDOW_SAMPLES, round(context * WINDOW_SAMPLES))
    length = -(-wanted // samples) * samples
    return length, window_count(length, coverage)


class Iterator(Protocol):
    def iterate_buffer(self, buffer: Any, params: DreamParams, offsets: np.ndarray) -> Any: ...  # .audio [1, N]


@dataclass
class WindowReport:
    """One window's figures, sent to the audio process's metrics."""

    started: float  # time.monotonic() when the window was taken
    seconds: float  # the whole cycle: read, resample, iterations, publish
    iterations: int
    wanted: int  # params.iterations
    available: float  # seconds from the first iteration to the deadline
    iteration_seconds: list[float] = field(default_factory=list)
    late: bool = False  # published after the grain start it aimed at
    carried: int = 0  # 16 kHz samples of the buffer that continued the previous dream
    per_sample: float = 0.0  # iterations in what the grain plays, per sample (envelope-weighted depth)
    overhead: float = 0.0  # seconds of the cycle outside the iterations: read, resample, assemble, publish

    @property
    def allowed(self) -> int:
        """How many iterations the deadline allowed at this window's own iteration speed (capped by ``wanted``)."""
        if not self.iteration_seconds:
            return 0
        mean = sum(self.iteration_seconds) / len(self.iteration_seconds)
        return min(self.wanted, max(1, math.floor(self.available / mean))) if mean > 0 else self.wanted


def publish_margin(block: int, samplerate: int) -> float:
    """Seconds before a grain start by which its window must be published.

    The callback that plays the grain start has already written up to a block past it
    (it writes the input before it renders), and the window must reach a grain slot
    before that callback runs: two blocks plus the hand-off. A fixed 15 ms falls short
    above ~360-frame blocks at 48 kHz.
    """
    return 2 * block / samplerate + HANDOFF_SECONDS


class RateGrid:
    """Exact conversion between absolute device frames and 16 kHz sample positions.

    Device frames that are multiples of ``frames`` map to whole 16 kHz positions
    (multiples of ``samples``); the worker only cuts the input there, so buffers
    dreamed hops apart line up sample-exactly at any rate (48 kHz: every 3 frames;
    44.1 kHz: every 441 frames = 160 samples).
    """

    def __init__(self, samplerate: int) -> None:
        g = gcd(samplerate, SAMPLE_RATE)
        self.rate = samplerate
        self.frames = samplerate // g
        self.samples = SAMPLE_RATE // g

    def ceil_frame(self, frame: int) -> int:
        return -(-frame // self.frames) * self.frames

    def to_16k(self, frame: int) -> int:
        """16 kHz position of a grid frame."""
        return frame // self.frames * self.samples

    def to_device(self, position: int) -> int:
        """Device frame of a grid position (a multiple of ``samples``)."""
        return position // self.samples * self.frames

    def floor_position(self, position: int) -> int:
        return position // self.samples * self.samples


def fade_in(length: int) -> np.ndarray:
    """A sin^2 ramp from 0 to 1 over ``length`` samples (its mirror sums with it to 1)."""
    return (np.sin(0.5 * np.pi * (np.arange(length) + 0.5) / max(length, 1)) ** 2).astype(np.float32)


class ContinuedBuffer:
    """The 16 kHz buffer carried from hop to hop: ``samples`` ending at absolute position ``end``, and
    ``input``, the undreamed input of the same span (what the dream's change is taken against)."""

    def __init__(self, length: int, seam: int) -> None:
        self.length = length
        self.seam = seam
        self.samples: np.ndarray | None = None  # the dreamed result, [length]
        self.input: np.ndarray | None = None  # the input at 16 kHz, [length], the same samples undreamed
        self.depth = np.zeros(length, np.float32)  # iterations each sample has been through
        self._depth = np.zeros(length, np.float32)
        self.end = 0
        self._fade_in = fade_in(seam)  # weight of the fresh input across the seam

    def carried(self, end: int) -> int:
        """Samples of a buffer ending at ``end`` that the current one already holds (0: start afresh)."""
        if self.samples is None:
            return 0
        shift = end - self.end
        return self.length - shift if 0 <= shift < self.length else 0

    def fresh_needed(self, end: int) -> int:
        """How many samples before ``end`` must come from the input (the new part plus the seam)."""
        carried = self.carried(end)
        return self.length if carried == 0 else min(self.length, self.length - carried + self.seam)

    def advance(self, end: int, fresh: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """The buffer ending at ``end``: the carried dream, then ``fresh`` input (its last ``len(fresh)`` samples
        end at ``end``) crossfaded in over the seam. Returns ``(buffer, its undreamed input, carried samples)``."""
        carried = self.carried(end)
        if carried == 0:
            out = fit_length(fresh[-self.length :], self.length).astype(np.float32, copy=True)
            self.depth.fill(0.0)
            return out, out.copy(), 0
        assert self.samples is not None and self.input is not None
        out = np.empty(self.length, np.float32)
        out[:carried] = self.samples[self.length - carried :]
        new = self.length - carried
        out[carried:] = fresh[-new:]
        undreamed = np.empty(self.length, np.float32)
        undreamed[:carried] = self.input[self.length - carried :]
        undreamed[carried:] = fresh[-new:]
        depth = self._depth  # the carried samples keep their depth, the new ones start at 0
        depth[:carried] = self.depth[self.length - carried :]
        depth[carried:] = 0.0
        self._depth, self.depth = self.depth, depth
        seam = min(self.seam, carried, fresh.shape[0] - new)
        if seam > 0:
            a = carried - seam
            fade = self._fade_in if seam == self.seam else fade_in(seam)
            dream, raw = out[a:carried], fresh[-new - seam : -new]
            out[a:carried] = dream + fade * (raw - dream)
            # The undreamed input crossfades the same way (the newer read is the more exact near the older
            # read's edge): where the dream changed nothing, buffer and input stay equal, the change zero.
            old = undreamed[a:carried]
            undreamed[a:carried] = old + fade * (raw - old)
            depth[a:carried] *= 1.0 - fade  # the dream's share across the seam
        return out, undreamed, carried

    def keep(self, end: int, dreamed: np.ndarray, undreamed: np.ndarray) -> None:
        self.samples = dreamed
        self.input = undreamed
        self.end = end

    def forget(self) -> None:
        self.samples = self.input = None
        self.depth.fill(0.0)


class DreamWorker:
    def __init__(
        self,
        *,
        dreamer: Iterator,
        current: Callable[[], tuple[DreamParams, bool]],
        ring: RingBuffer,
        publish: Callable[[np.ndarray, WindowInfo], None],
        report: Callable[[WindowReport], None],
        samplerate: int,
        window: int,
        hop: int,
        budget: float,
        block: int,
        context: float = CONTEXT,
        coverage: float = COVERAGE,
        seed: int | None = None,
        halt: threading.Event | None = None,
        clock: Callable[[], float] = time.perf_counter,
        share: Callable[[], float] = lambda: 1.0,
    ) -> None:
        self.dreamer = dreamer
        self.current = current  # (params, freeze), current at each call
        self.ring = ring
        self.publish = publish
        self.report = report
        self.samplerate = samplerate
        self.window = window
        self.hop = hop
        self.grid = RateGrid(samplerate)
        # The dreaming time: capture this long before the grain start (the latency less the grain and the device's).
        self.lead = lead_frames(budget, hop, samplerate)
        self.margin = publish_margin(block, samplerate)
        self.block = block
        self.halt = halt or threading.Event()
        self.clock = clock
        # The share of the time the iterations may take (1: all of it). The dream process lowers it while a
        # compile waits: with a lead over a hop the worker never idles, and a compiling thread at a lower
        # priority would otherwise get no CPU at all (a mode change would never arrive).
        self.share = share
        self.length, self.count = buffer_shape(samplerate, context, coverage)
        self.buffer = ContinuedBuffer(self.length, round(SEAM_SECONDS * SAMPLE_RATE))
        self.rng = np.random.default_rng(seed)
        self._last_boundary = 0
        self._pace: float | None = None  # seconds per iteration (rests included) in the last window that had one
        self._raw = np.zeros(window, np.float32)
        self._raw_in = np.zeros(window, np.float32)
        # Freeze: the held buffer's newest 0.975 s window is played as a loop, a grain per hop stepping through it.
        self._loop = max(window, round(WINDOW_SECONDS * samplerate))
        self._held_raw = np.zeros(self._loop, np.float32)  # the input's frames of the held loop (for full band)
        self._held_end: int | None = None  # the frame they end at (None: not held)
        self._loop_step = 0  # frames into the loop of the next frozen grain
        self._loop_of: int | None = None  # the held buffer's end frame the loop is of
        # The grain's envelope on the 16 kHz buffer (for the depth of what it plays) and each frame's sample.
        g = self.grid
        self._envelope = crossfade_envelope(window, hop).astype(np.float64) / hop
        self._grain16 = (np.arange(window) - window) * g.samples // g.frames  # 16 kHz offsets from the grain's end

    # --- timing ------------------------------------------------------------------------
    def _wait_for_frame(self, frame: int) -> bool:
        """Wait until the callback has written ``frame``; False if stopped."""
        while not self.halt.is_set():
            remaining = frame - self.ring.written
            if remaining <= 0:
                return True
            self.halt.wait(min(remaining / self.samplerate, 0.05))
        return False

    def next_boundary(self) -> int:
        """The grain start to dream for: the next one, or when that is too close (the worker fell behind),
        the first whose publish deadline is still ahead (lead <= hop: the newest whose capture point passed)."""
        written = self.ring.written
        # A deadline closer than twice the hand-off margin is as good as missed: the read, the assembly and
        # the publication take some of it (more on a loaded host).
        soonest = written + math.ceil(2 * self.margin * self.samplerate) + 1
        if self.lead > self.hop:
            newest = -(-soonest // self.hop) * self.hop
        else:
            newest = (written + self.lead) // self.hop * self.hop
        # The first grain plays only input: one reaching back before the stream's first frame would play
        # that silence as a dip right when the dreams fade in. (The buffer's older context may still reach
        # back before it, as silence: with short grains the first dream comes a buffer's length sooner.)
        first_whole = -(-(self.window + self.lead) // self.hop) * self.hop
        return max(newest, self._last_boundary + self.hop, first_whole)

    # --- input -------------------------------------------------------------------------
    def _newest_16k(self, written: int) -> int:
        """The newest 16 kHz position, on the rate grid, that the input written up to ``written`` can be cut at
        (with the resampler's margin after it)."""
        grid = self.grid
        pad = grid.to_device(grid.floor_position(RESAMPLE_PAD) + grid.samples)
        return grid.to_16k((written - pad) // grid.frames * grid.frames)

    def _read_16k(self, end16: int, samples: int) -> np.ndarray | None:
        """The input's ``samples`` 16 kHz samples ending at ``end16``, resampled with margins on both sides."""
        grid = self.grid
        pad = grid.floor_position(RESAMPLE_PAD) + grid.samples
        first = grid.floor_position(end16 - samples) - pad
        last = end16 + pad
        start_frame, stop_frame = grid.to_device(first), grid.to_device(last)
        if not self._wait_for_frame(stop_frame):
            return None
        frames = np.zeros(stop_frame - start_frame, np.float32)
        lead_in = max(0, -start_frame)  # before the stream's first frame: silence
        if not self.ring.read(start_frame + lead_in, frames[lead_in:]):
            return None
        x16 = fit_length(resample(frames, self.samplerate, SAMPLE_RATE), last - first)
        return x16[end16 - samples - first : end16 - first]

    # --- one hop -----------------------------------------------------------------------
    def dream_once(self, boundary: int) -> None:
        self._last_boundary = boundary
        started = time.monotonic()
        capture_end = boundary - self.lead
        end_frame = self.grid.ceil_frame(capture_end)  # cut on the rate grid; publish up to capture_end
        end16 = self.grid.to_16k(end_frame)
        params, freeze = self.current()
        if not self._wait_for_frame(capture_end):
            return
        t0 = self.clock()
        frame_now = self.ring.written
        deadline = t0 + (boundary - frame_now) / self.samplerate - self.margin
        # The buffer reaches as far as the input does: with a lead longer than the hop it runs past the grain,
        # so the newest samples are dreamed on for hops before they play (docs/latency.md).
        end16 = max(end16, self._newest_16k(frame_now))
        carried = 0
        publish_end = capture_end
        undreamed: np.ndarray | None = None
        if not freeze:
            self._held_end = self._loop_of = None
        if params.iterations == 0 and not freeze:
            self.buffer.forget()  # nothing to dream: pass the input through; dreaming restarts from it
            x = None
        elif freeze and self.buffer.samples is not None:
            x, undreamed = self.buffer.samples, self.buffer.input  # keep deepening the held buffer
            end16, carried = self.buffer.end, self.length
            publish_end = self._loop_end(self.grid.to_device(end16))
            capture_end = frame_now  # held: the latency of what is played is not the input's
        elif self.buffer.samples is not None and end16 == self.buffer.end:  # no new input since: dream on
            x, undreamed, carried = self.buffer.samples, self.buffer.input, self.length
        else:
            fresh = self._read_16k(end16, self.buffer.fresh_needed(end16))
            if fresh is None:
                if self.halt.is_set():
                    return
                self.buffer.forget()  # fell a whole ring behind: start again from the newest input
                self._last_boundary = 0
                return
            x, undreamed, carried = self.buffer.advance(end16, fresh)
        times: list[float] = []
        rested = 0.0  # seconds left to a compile (``share``)
        first = self.clock()
        if x is not None:
            y = x[None, :]
            spent = 0.0
            while not self.halt.is_set():
                params, freeze = self.current()  # current at each iteration
                if len(times) >= params.iterations:
                    break
                t_iter = self.clock()
                # Stop when one more iteration, at this window's own pace (before its first: the last
                # window's), would miss the deadline. With short hops a window may get none: its samples
                # were dreamed on in the hops before, and the time left goes to the next one.
                pace = spent / len(times) if times else self._pace
                if pace is not None and t_iter + pace > deadline:
                    break
                offsets = draw_offsets(self.rng, self.length, self.count, "grid")
                y = self.dreamer.iterate_buffer(y, params, offsets).audio
                times.append(self.clock() - t_iter)
                spent += times[-1]
                if t_iter > deadline:
                    break
                share = self.share()
                if share < 1.0:  # leave the core to a compile (the same process, lower priority) for a while
                    rest = min(times[-1] * (1.0 - share) / max(share, 0.05), deadline - self.clock())
                    if rest > 0:
                        self.halt.wait(rest)
                        spent += rest
                        rested += rest
            if times:
                self._pace = spent / len(times)
            elif self._pace is not None:  # none fitted at that pace: one slow iteration (a stall) must not
                self._pace *= 0.7  # keep every later window from trying; in a few hops one is tried again
            y16 = np.asarray(y.numpy() if hasattr(y, "numpy") else y, np.float32).reshape(-1)
            if not np.all(np.isfinite(y16)):
                y16 = np.nan_to_num(y16, nan=0.0, posinf=0.0, neginf=0.0)
            assert undreamed is not None
            self.buffer.depth += len(times)
            self.buffer.keep(end16, y16, undreamed)
            out = self._assemble(y16, undreamed, end16, publish_end, params.band)
            per_sample = self.depth_played(end16, publish_end)
        else:
            out = self._pass_through(end16, capture_end, params.band)
            per_sample = 0.0
        count = len(times)
        late = self.ring.written > boundary
        # A grain more than a hop late would play its hop of the past after the one the output holds now
        # (the output would step back in time): dropped; the output holds until the next one, on time.
        if not self.ring.written > boundary + self.hop:
            # Not before the previous grain has started (its callback done): the player takes the newest
            # window at each start, so one published earlier would play a hop early (a hop with no time for
            # an iteration gets here at once).
            if not self._wait_for_frame(boundary - self.hop + self.block):
                return
            self.publish(out, WindowInfo(capture_end, count > 0 or carried > 0, count))
        seconds = self.clock() - t0
        self.report(
            WindowReport(
                started=started,
                seconds=seconds,
                iterations=count,
                wanted=params.iterations,
                available=deadline - first - rested,  # left to a compile: not the deadline's doing
                iteration_seconds=times,
                late=late,
                carried=carried,
                per_sample=per_sample,
                overhead=max(0.0, seconds - sum(times) - rested),
            )
        )

    def depth_played(self, end16: int, end_frame: int) -> float:
        """Iterations per sample in the grain ending at ``end_frame``: the depth of the samples it plays,
        weighted by its envelope (over the hop it adds to the output)."""
        depth = self.buffer.depth
        base = (end_frame // self.grid.frames * self.grid.samples) - (end16 - self.length)
        index = np.clip(base + self._grain16, 0, self.length - 1)
        return float(np.dot(depth[index], self._envelope))

    def _loop_end(self, held_end: int) -> int:
        """Where the next frozen grain ends: stepping a hop at a time through the held loop, back to its start
        after its end (the crossfade joins them). The first frozen grain starts the loop."""
        if self._loop_of != held_end:
            self._loop_of = held_end
            self._loop_step = 0
            # the input's frames of the loop, or (gone from the ring) none: the dream as computed (16 kHz)
            self._held_end = held_end if self.ring.read(held_end - self._loop, self._held_raw) else None
        span = self._loop - self.window  # 0 with grain: window (the same window every hop)
        step = self._loop_step
        self._loop_step = step + self.hop if step + self.hop <= span else 0
        return held_end - span + step

    def _tail16(self) -> int:
        """16 kHz samples resampled for one window: the window plus a margin for the resampler's edge."""
        grid = self.grid
        window16 = -(-self.window * grid.samples // grid.frames)
        return min(self.length, -(-(window16 + 2 * RESAMPLE_PAD) // grid.samples) * grid.samples)

    def _input_window(self, end_frame: int) -> np.ndarray | None:
        """The input's device frames ``[end_frame - window, end_frame)``: from the held loop while frozen (a long
        freeze outlives the ring), else from the ring (None: no longer there)."""
        held = self._held_end
        if held is not None and held - self._loop + self.window <= end_frame <= held:
            stop = self._loop - (held - end_frame)
            return self._held_raw[stop - self.window : stop]
        if self.ring.read(end_frame - self.window, self._raw_in):
            return self._raw_in
        return None

    def _assemble(self, y16: np.ndarray, undreamed: np.ndarray, end16: int, end_frame: int, band: str) -> np.ndarray:
        """The window to publish: full band (the input's frames + the change resampled) or the 16 kHz dream."""
        raw = None if band == "16k" else self._input_window(end_frame)
        if raw is None:  # 16k, or the input's frames are no longer in the ring: the dream as computed
            return self._to_device(y16, end16, end_frame)
        out = self._to_device(y16 - undreamed, end16, end_frame, clip=False)
        out += raw
        return np.clip(out, -1.0, 1.0, out=out)

    def _pass_through(self, end16: int, end_frame: int, band: str) -> np.ndarray:
        """Nothing to dream: the input's window as it is (``16k``: as the 16 kHz path hears it)."""
        if band == "16k":
            x16 = self._read_16k(end16, self._tail16())
            if x16 is not None:
                return self._to_device(x16, end16, end_frame)
        out = self._raw
        if not self.ring.read(end_frame - self.window, out):
            self.ring.read_latest(out)
        return out

    def _to_device(self, y16: np.ndarray, end16: int, end_frame: int, clip: bool = True) -> np.ndarray:
        """Device frames ``[end_frame - window, end_frame)`` of a 16 kHz signal whose last sample is position
        ``end16 - 1`` (``end_frame`` at most the device frame of ``end16``).

        Only the part that holds the window, plus a margin each side for the resampler's edges (within the
        signal), is resampled: with short grains that is a small fraction of the buffer."""
        grid = self.grid
        start16 = end16 - y16.shape[0]
        pad = grid.floor_position(RESAMPLE_PAD) + grid.samples
        lo = max(start16, grid.to_16k((end_frame - self.window) // grid.frames * grid.frames) - pad)
        hi = min(end16, grid.to_16k(grid.ceil_frame(end_frame)) + pad)
        lo = start16 + grid.floor_position(lo - start16)  # on the grid, so its device frame is exact
        up = fit_length(
            resample(np.ascontiguousarray(y16[lo - start16 : hi - start16]), SAMPLE_RATE, self.samplerate),
            grid.to_device(hi - lo),
        )
        origin = grid.to_device(lo)  # the device frame of up[0]
        first, stop = end_frame - self.window - origin, end_frame - origin
        if first >= 0:
            out = up[first:stop].copy()
        else:  # a buffer shorter than window + margin: silence before it
            out = np.concatenate([np.zeros(-first, np.float32), up[:stop]])
        return np.clip(out, -1.0, 1.0, out=out) if clip else out
