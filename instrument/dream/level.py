"""Short-term level of a buffer over its real signal: what makes the dream independent of the input's level.

``envelope(s, valid)`` is the RMS of ``s`` over about 40 ms around each sample
(a Hann-weighted average of 10 ms block energies, linearly interpolated back to
samples), counted over the samples where ``valid`` is 1 only: the zero context a
render pads beyond a file's ends neither lowers the level near the ends nor has
a level of its own (it is 0 there). ``DreamStep`` scales the gradient to this
level before the mode and restores the signal's level after it, so a sound at
−40 dBFS is dreamed as the same sound at −10 dBFS is.

Computed on blocks, not with a running sum: a float32 cumulative sum over a
20 s buffer would bury a quiet passage's energy in the rounding of the loud one's.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

BLOCK = 160  # 10 ms at 16 kHz
RADIUS = 3  # blocks each side of the Hann kernel (70 ms, ~40 ms at half weight): short enough to follow a drum
# hit and its decay (at 0.1 s the gaps of a synthesized drum loop filled with dream: log-mel correlation 0.62)
TINY = 1e-9  # an envelope below this (about -180 dBFS) is silence


def valid_mask(length: int, span: tf.Tensor) -> tf.Tensor:
    """``[1, length]`` float: 1 on samples ``span[0] <= n < span[1]`` (the real signal), else 0."""
    n = tf.range(length, dtype=tf.int32)
    return tf.cast((n >= span[0]) & (n < span[1]), tf.float32)[None]


def _kernel() -> tf.Tensor:
    w = np.hanning(2 * RADIUS + 3)[1:-1]
    return tf.constant((w / w.sum()).astype(np.float32)[:, None, None])


def _interpolation(length: int, blocks: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Indices and weights that interpolate block centres linearly to every sample."""
    position = (np.arange(length) + 0.5) / BLOCK - 0.5
    low = np.clip(np.floor(position), 0, blocks - 1).astype(np.int32)
    high = np.clip(low + 1, 0, blocks - 1).astype(np.int32)
    frac = np.clip(position - np.floor(position), 0.0, 1.0).astype(np.float32)
    frac = np.where(position < 0, 0.0, frac).astype(np.float32)
    return tf.constant(low), tf.constant(high), tf.constant(frac)


class Envelope:
    """The short-term RMS of ``[B, length]`` signals (constants built once per length)."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.blocks = -(-length // BLOCK)
        self.pad = self.blocks * BLOCK - length
        self.kernel = _kernel()
        self.low, self.high, self.frac = _interpolation(length, self.blocks)

    def _smooth_blocks(self, values: tf.Tensor) -> tf.Tensor:
        """Per-block sums of ``values`` [B, length], smoothed over neighbouring blocks: [B, blocks]."""
        padded = tf.pad(values, [[0, 0], [0, self.pad]])
        sums = tf.reduce_sum(tf.reshape(padded, [-1, self.blocks, BLOCK]), axis=2)
        # `tf.nn.conv1d`'s own graph, by the operation's name (see network.py's `_bias` for why not `tf.nn`).
        smoothed = tf.raw_ops.Conv2D(
            input=sums[:, None, :, None], filter=self.kernel[None], strides=[1, 1, 1, 1], padding="SAME"
        )
        return smoothed[:, 0, :, 0]

    def __call__(self, s: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
        """``[B, length]`` envelope of ``s``, 0 outside ``valid``."""
        energy = self._smooth_blocks(tf.square(s) * valid)
        count = self._smooth_blocks(tf.broadcast_to(valid, tf.shape(s)))
        rms = tf.sqrt(tf.maximum(energy, 0.0) / tf.maximum(count, 1e-6))
        at_low = tf.gather(rms, self.low, axis=1)
        at_high = tf.gather(rms, self.high, axis=1)
        return (at_low + self.frac * (at_high - at_low)) * valid


def match(y: tf.Tensor, level: tf.Tensor, envelope_y: tf.Tensor) -> tf.Tensor:
    """``y`` scaled sample by sample so that its envelope becomes ``level`` (0 where either is silent)."""
    gain = tf.where(envelope_y > TINY, level / tf.maximum(envelope_y, TINY), tf.zeros_like(level))
    return y * gain
