"""The real-time audio callback: input to the ring buffer, grains + dry mix + gain + limiter to every output channel.

It never waits on the dream engine, never calls TensorFlow, never touches the disk
and never allocates arrays: every buffer is preallocated, numpy writes with ``out=``.
Exceptions are caught (the block is silenced and counted) so the stream survives.

The mix: ``(1 - mix) * dry + mix * wet``. ``dry`` is the input as it comes in (no
latency); ``wet`` the grains of the published windows, which are full band
(``dream.band: full``, docs/full-band.md): the input a latency later plus the dream's
change below 8 kHz. So ``mix 1`` plays the whole dream with the input's upper band,
``mix 0`` the input with no latency.

The dream level: the performer's ``mix`` applies once dreams arrive. Before the first
dreamed grain, and after the dream engine stops (it died, it restarts), the level
ramps to 0 over ``fade_seconds``: the output is then the *standby* sound, by default
the dry input at the performer's gain (``live.standby: dry``; ``silence`` mutes the
dream's share instead), so the instrument sounds at once and never goes silent
because the model is loading or restarting.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from instrument.live.controls import Controls
from instrument.live.metrics import Metrics
from instrument.live.output import GrainPlayer, Limiter
from instrument.live.ringbuffer import RingBuffer, touched_zeros


class AudioCallback:
    def __init__(
        self,
        *,
        samplerate: int,
        max_block: int,
        input_channels: tuple[int, ...] | None,
        ring: RingBuffer,
        player: GrainPlayer,
        controls: Controls,
        metrics: Metrics,
        record_ring: RingBuffer | None = None,
        input_file: np.ndarray | None = None,
        input_loop: bool = False,
        device_latency: float = 0.0,
        started: float | None = None,
        output_ring: RingBuffer | None = None,
        standby: str = "dry",
        fade_seconds: float = 0.3,
    ) -> None:
        self.samplerate = samplerate
        self.input_channels = None if input_channels is None else tuple(c - 1 for c in input_channels)
        self.ring = ring
        self.player = player
        self.controls = controls
        self.metrics = metrics
        self.record_ring = record_ring
        self.output_ring = output_ring  # what went to the speakers, for the dream engine's status classification
        self.standby_dry = standby == "dry"
        # Set by the dream engine's supervisor: True while a dream process is up and dreaming.
        self.dream_gate = False
        self._level = 0.0  # 0: standby sound, 1: the performer's mix
        self._level_target = 0.0
        self.fade_frames = max(1, round(fade_seconds * samplerate))  # the standby sound <-> the dream
        self._level_per_frame = 1.0 / self.fade_frames
        self._index = np.arange(1, max_block + 1, dtype=np.float32)
        self._ramp = touched_zeros(max_block)
        self.input_file = input_file
        self.input_loop = input_loop
        self.file_pos = 0
        self.file_done = input_file is None
        self.device_latency = device_latency
        self.started = time.monotonic() if started is None else started
        self.limiter = Limiter(samplerate, max_block)
        self._dry = touched_zeros(max_block)
        self._wet = touched_zeros(max_block)
        self._out = touched_zeros(max_block)
        self._tmp = touched_zeros(max_block)
        self._rec = touched_zeros((max_block, 2))
        self._frame = 0
        self.max_block = max_block

    # --- pieces ------------------------------------------------------------------------
    def _read_input(self, indata: np.ndarray | None, dry: np.ndarray) -> None:
        n = dry.shape[0]
        if self.input_file is not None:
            data = self.input_file
            pos = self.file_pos
            total = data.shape[0]
            done = 0
            while done < n:
                if pos >= total:
                    if not self.input_loop:
                        dry[done:] = 0.0
                        self.file_done = True
                        break
                    pos = 0
                take = min(n - done, total - pos)
                dry[done : done + take] = data[pos : pos + take]
                pos += take
                done += take
            self.file_pos = pos
            return
        if indata is None or indata.shape[1] == 0:
            dry.fill(0.0)
            return
        channels = self.input_channels or range(indata.shape[1])
        first = True
        for c in channels:
            if first:
                np.copyto(dry, indata[:n, c])
                first = False
            else:
                np.add(dry, indata[:n, c], out=dry)
        count = len(channels)
        if count > 1:
            dry *= 1.0 / count

    def _on_grain(self, slot: int, frame: int, fresh: bool) -> None:
        metrics = self.metrics
        metrics.grains += 1
        if not fresh:
            metrics.held_frames[metrics.held_grains % metrics.held_frames.shape[0]] = frame
            metrics.held_grains += 1
            return
        if self.player.dreamed[slot]:
            if self.dream_gate:
                self._level_target = 1.0
            # Every sample of a grain plays this long after it came in: the grain's start less its first sample's
            # capture.
            metrics.latency = (
                frame - self.player.capture_end[slot] + self.player.window
            ) / self.samplerate + self.device_latency
            if metrics.first_dream != metrics.first_dream:  # NaN: first dreamed grain
                metrics.first_dream = time.monotonic() - self.started + self.device_latency
                metrics.first_dream_frame = frame

    def _mix(self, dry: np.ndarray, wet: np.ndarray, out: np.ndarray, tmp: np.ndarray, mix: float, gain: float) -> None:
        """out = dry and wet at the performer's mix, scaled by the dream level (ramped within the block)."""
        n = out.shape[0]
        start, target = self._level, self._level_target
        if start == target:
            wet_share = mix * start
            dry_share = 1.0 - wet_share if self.standby_dry else 1.0 - mix
            np.multiply(dry, dry_share * gain, out=out)
            np.multiply(wet, wet_share * gain, out=tmp)
            out += tmp
            return
        step = self._level_per_frame * n
        end = min(target, start + step) if target > start else max(target, start - step)
        level = self._ramp[:n]
        np.multiply(self._index[:n], (end - start) / n, out=level)
        level += start
        np.multiply(wet, level, out=tmp)
        tmp *= mix * gain
        if self.standby_dry:
            level *= -mix
            level += 1.0
            np.multiply(dry, level, out=out)
            out *= gain
        else:
            np.multiply(dry, (1.0 - mix) * gain, out=out)
        out += tmp
        self._level = end

    # --- the callback ------------------------------------------------------------------
    def process(self, indata: np.ndarray | None, outdata: np.ndarray, frames: int) -> None:
        """One block, without the stream: used by the callback and by tests."""
        n = frames
        dry = self._dry[:n]
        wet = self._wet[:n]
        out = self._out[:n]
        tmp = self._tmp[:n]
        self._read_input(indata, dry)
        self.ring.write(dry)
        np.abs(dry, out=tmp)
        input_peak = float(tmp.max()) if n else 0.0
        self.player.render(wet, self._frame, self._on_grain)
        fast = self.controls.fast
        if not self.dream_gate:
            self._level_target = 0.0
        self._mix(dry, wet, out, tmp, fast.mix, fast.gain)
        pre = self.limiter.process(out, fast.ceiling)
        if not pre < 3.0e38:
            self.metrics.nonfinite_blocks += 1
        self.metrics.limiter_gain = self.limiter.gain
        np.abs(out, out=tmp)
        self.metrics.note_peaks(input_peak, float(tmp.max()) if n else 0.0)
        outdata[:n] = out[:, None]
        if self.output_ring is not None:
            self.output_ring.write(out)
        if self.record_ring is not None:
            rec = self._rec[:n]
            rec[:, 0] = dry
            rec[:, 1] = out
            self.record_ring.write(rec)
        self._frame += n
        self.metrics.frames = self._frame

    def __call__(self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        t0 = time.perf_counter()
        metrics = self.metrics
        if metrics.callbacks == 0:
            metrics.first_sound = time.monotonic() - self.started + self.device_latency
        metrics.callbacks += 1
        if status:
            if status.input_underflow or status.input_overflow or status.output_underflow or status.output_overflow:
                metrics.last_xrun_frame = self._frame
                if metrics.xrun_blocks < metrics.xrun_frames.shape[0]:
                    metrics.xrun_frames[metrics.xrun_blocks] = self._frame
                    metrics.xrun_times[metrics.xrun_blocks] = time.monotonic()
                metrics.xrun_blocks += 1
            if status.input_underflow:
                metrics.input_underflows += 1
            if status.input_overflow:
                metrics.input_overflows += 1
            if status.output_underflow:
                metrics.output_underflows += 1
            if status.output_overflow:
                metrics.output_overflows += 1
            if status.priming_output:
                metrics.priming += 1
        try:
            if frames > self.max_block:
                raise ValueError(f"block of {frames} frames exceeds the preallocated {self.max_block}")
            self.process(indata, outdata, frames)
        except Exception as err:  # the stream must survive anything; report it
            outdata.fill(0)
            metrics.callback_errors += 1
            metrics.last_callback_error = repr(err)
        spent = time.perf_counter() - t0
        metrics.callback_seconds = spent
        if spent > metrics.callback_seconds_max:
            metrics.callback_seconds_max = spent
