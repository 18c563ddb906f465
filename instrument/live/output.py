"""Dreamed windows to a continuous signal: a grain player (overlap-add with equal-sum crossfades) and a safety limiter.

Grains start every ``hop`` frames on a fixed schedule counted from the stream's
first frame; a grain is ``window`` frames long (``instrument.live.schedule``: the newest hop plus
its crossfade by default, or the whole 0.975 s window). Each start takes the newest published
window; when the worker has published nothing new since, the last window is replayed, so the output holds
(loops) smoothly instead of gapping. The envelope rises and falls over
``window - hop`` frames with sin^2/cos^2 ramps, so overlapping grains always sum
to unity gain (a Hann window at 50 % overlap). A grain that starts while no other
plays (the very first) starts at full level: there is nothing to crossfade with,
and the callback's dream level fades it in against the standby sound instead. All buffers are preallocated;
``render`` and ``Limiter.process`` allocate no arrays.
"""

from __future__ import annotations

import numpy as np

from instrument.live.ringbuffer import touched_zeros


def crossfade_envelope(window: int, hop: int) -> np.ndarray:
    """Envelope of one grain: ramps of ``window - hop`` frames, flat between; sums to 1 at ``hop`` spacing."""
    fade = window - hop
    if not 0 < fade <= hop:
        raise ValueError(f"need 0 < window - hop <= hop (overlap up to 50 %), got window {window}, hop {hop}")
    env = np.ones(window, np.float64)
    ramp = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade) ** 2
    env[:fade] = ramp
    env[window - fade :] = ramp[::-1]
    return env.astype(np.float32)


class GrainPlayer:
    """Slots of dreamed windows (written by the worker) played as overlapping grains (by the callback)."""

    def __init__(self, window: int, hop: int, max_block: int, slots: int = 4) -> None:
        self.window = int(window)
        self.hop = int(hop)
        self.envelope = crossfade_envelope(self.window, self.hop)
        self.flat_start = self.envelope.copy()
        self.flat_start[: self.window - self.hop] = 1.0  # no fade-in (the fade-out stays)
        self.buffers = touched_zeros((slots, self.window))
        self.capture_end = [0] * slots  # absolute input frame just after the window's newest sample
        self.dreamed = [False] * slots  # False for a window published undreamed (iterations 0)
        self.serial = [0] * slots
        self.newest = -1  # published slot (single int assignment: atomic for the callback)
        self._published = 0
        # Callback-owned playback state: two voices are enough for overlap <= 50 %.
        self._voice_slot = [-1, -1]
        self._voice_pos = [0, 0]
        self._voice_env = [self.envelope, self.envelope]
        self._last_serial = 0
        self._until_next = 0  # frames until the next grain start (a start at frame 0)
        self._tmp = touched_zeros(max_block)

    # --- worker side -------------------------------------------------------------------
    def free_slot(self) -> int:
        """A slot the callback is neither playing nor about to play."""
        busy = {self.newest, *self._voice_slot}
        for slot in range(len(self.buffers)):
            if slot not in busy:
                return slot
        raise RuntimeError("no free grain slot")  # impossible with 4 slots and 2 voices

    def publish(self, slot: int, capture_end: int, dreamed: bool = True) -> None:
        """Make ``buffers[slot]`` (already written) the window the next grain starts from."""
        self.capture_end[slot] = capture_end
        self.dreamed[slot] = dreamed
        self._published += 1
        self.serial[slot] = self._published
        self.newest = slot

    # --- callback side -----------------------------------------------------------------
    def render(self, out: np.ndarray, frame0: int, on_start=None) -> None:
        """Fill ``out`` with the grains for frames ``[frame0, frame0 + len(out))``.

        ``on_start(slot, frame, fresh)`` is called at each grain start (for metrics).
        """
        n = out.shape[0]
        pos = 0
        window = self.window
        while pos < n:
            if self._until_next == 0:
                slot = self.newest
                if slot >= 0:
                    voice = 0 if self._voice_slot[0] < 0 else 1
                    if self._voice_slot[voice] >= 0:  # both busy: replace the one further along
                        voice = 0 if self._voice_pos[0] >= self._voice_pos[1] else 1
                    alone = self._voice_slot[1 - voice] < 0
                    self._voice_slot[voice] = slot
                    self._voice_pos[voice] = 0
                    self._voice_env[voice] = self.flat_start if alone else self.envelope
                    fresh = self.serial[slot] != self._last_serial
                    self._last_serial = self.serial[slot]
                    if on_start is not None:
                        on_start(slot, frame0 + pos, fresh)
                self._until_next = self.hop
            seg = min(n - pos, self._until_next)
            for v in (0, 1):
                if self._voice_slot[v] >= 0:
                    seg = min(seg, window - self._voice_pos[v])
            target = out[pos : pos + seg]
            first = True
            for v in (0, 1):
                slot = self._voice_slot[v]
                if slot < 0:
                    continue
                p = self._voice_pos[v]
                env = self._voice_env[v]
                if first:
                    np.multiply(self.buffers[slot, p : p + seg], env[p : p + seg], out=target)
                    first = False
                else:
                    tmp = self._tmp[:seg]
                    np.multiply(self.buffers[slot, p : p + seg], env[p : p + seg], out=tmp)
                    np.add(target, tmp, out=target)
                p += seg
                self._voice_pos[v] = p
                if p >= window:
                    self._voice_slot[v] = -1
            if first:
                target.fill(0.0)
            pos += seg
            self._until_next -= seg


class Limiter:
    """Safety limiter: instant attack (gain ramps down within the block), slow release, hard ceiling backstop."""

    def __init__(self, samplerate: int, max_block: int, release_seconds: float = 0.25) -> None:
        self.gain = 1.0
        self._index = np.arange(1, max_block + 1, dtype=np.float32)  # 1..n: the ramp ends at the block's end
        self._tmp = touched_zeros(max_block)
        self._release_per_frame = 1.0 / (release_seconds * samplerate)

    def process(self, x: np.ndarray, ceiling: float) -> float:
        """Limit ``x`` in place to ``|x| <= ceiling``; returns the block's peak before limiting (inf/NaN if the
        block held non-finite samples, which are silenced)."""
        n = x.shape[0]
        tmp = self._tmp[:n]
        np.abs(x, out=tmp)
        peak = raw_peak = float(tmp.max()) if n else 0.0
        if not peak < 3.0e38:  # NaN or Inf somewhere: silence them (rare; allocation acceptable here)
            np.copyto(x, 0.0, where=~np.isfinite(x))
            np.abs(x, out=tmp)
            peak = float(tmp.max())
        wanted = 1.0 if peak <= ceiling else ceiling / peak
        start = self.gain
        end = wanted if wanted < start else min(wanted, start + self._release_per_frame * n)
        if start != 1.0 or end != 1.0:
            # The gain moves from start to end across this block (no step at the next block's start);
            # samples above the ceiling before it gets there are caught by the clip below.
            np.multiply(self._index[:n], (end - start) / n, out=tmp)
            tmp += start
            x *= tmp
        self.gain = end
        np.clip(x, -ceiling, ceiling, out=x)
        return raw_peak
