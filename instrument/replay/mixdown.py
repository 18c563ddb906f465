"""The output stage of a replay, as live: ``gain * ((1 - mix) * dry + mix * wet)`` -> limiter at ``ceiling``.

Automation values change in short linear ramps (one live block, 256 frames at
48 kHz) so a logged jump cannot click. The limiter does, offline, what the live
one does per block: instant attack (its gain ramps down across the block),
release to unity over 0.25 s, and a hard clip at the ceiling as a backstop.
"""

from __future__ import annotations

import numpy as np

RAMP_SECONDS = 256 / 48000
BLOCK_SECONDS = 256 / 48000
RELEASE_SECONDS = 0.25


def curve(points: list[tuple[int, float]], frames: int, rate: int) -> np.ndarray:
    """A step function through ``points`` (frame, value), ramped over ``RAMP_SECONDS`` at each step."""
    out = np.empty(frames, np.float64)
    ramp = max(1, round(RAMP_SECONDS * rate))
    value = float(points[0][1])
    out[:] = value
    for frame, new in points[1:]:
        frame = int(np.clip(frame, 0, frames))
        new = float(new)
        end = min(frames, frame + ramp)
        out[frame:end] = value + (new - value) * (np.arange(1, end - frame + 1) / ramp)
        out[end:] = new
        value = new
    return out


def db_to_linear(db: np.ndarray | float) -> np.ndarray | float:
    return 10.0 ** (np.asarray(db, np.float64) / 20.0)


def limit(x: np.ndarray, ceiling: np.ndarray, rate: int) -> np.ndarray:
    """Limit ``x`` (frames) to ``|x| <= ceiling`` (linear, per frame), block by block as live."""
    block = max(1, round(BLOCK_SECONDS * rate))
    release = block / (RELEASE_SECONDS * rate)
    y = np.nan_to_num(np.asarray(x, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    gain = 1.0
    for start in range(0, y.size, block):
        seg = y[start : start + block]
        top = ceiling[start : start + block]
        n = seg.size
        peak = float(np.abs(seg).max()) if n else 0.0
        ceil = float(top.min())
        wanted = 1.0 if peak <= ceil else ceil / peak
        end = wanted if wanted < gain else min(wanted, gain + release * n / block)
        if gain != 1.0 or end != 1.0:
            seg *= gain + (end - gain) * np.arange(1, n + 1) / n
        gain = end
        np.clip(seg, -top, top, out=seg)
    return y.astype(np.float32)


def mix_down(dry: np.ndarray, wet: np.ndarray, automation: dict, rate: int) -> np.ndarray:
    """The replayed output (frames) from the dry and dreamed signals and the mix/gain/ceiling automation."""
    frames = dry.shape[0]
    mix = curve(automation["mix"], frames, rate)
    gain = db_to_linear(curve(automation["gain"], frames, rate))
    ceiling = db_to_linear(curve(automation["ceiling"], frames, rate))
    return limit(gain * ((1.0 - mix) * dry + mix * wet), ceiling, rate)
