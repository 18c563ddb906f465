"""STFT helpers and the hard-cut filter of the DreamSound paper (ICAD 2021, "Filter-based function").

The paper's filter with inputs ``x`` (what is filtered) and ``y`` (what builds the mask)::

    X_mag, X_pha = MAGPHASE(STFT(x))          # X_mag = |X| ** power (the package's magphase)
    Y_mag = ABS(STFT(y))                       # linear magnitude
    hard_cut = (SIGN(NORMALIZE(Y_mag) - threshold) + 1) / 2
    x_new = ISTFT(hard_cut * X_mag * X_pha)    # rephased with x's own phase

``mask`` is ``hard_cut``: 1 where a bin of the *linear* magnitude is above
``threshold`` times the peak, 0 below, and (the paper's ``(sign + 1) / 2``) 0.5
exactly at it, so threshold 1 still passes each frame's loudest bin at half
weight. ``NORMALIZE`` divides by the peak of the frame (one STFT frame, 64 ms at
the default size), not of the whole buffer: a quiet passage is masked as a loud
one is, and the zero context beyond a file's ends (whose frames have no peak)
passes nothing. ``powered`` is ``X_mag``: the package's ``power`` on the
*filtered* magnitude, taken relative to the frame's peak (``peak * (|X| /
peak) ** power``) so that it compresses the spectrum's shape without changing
its level. ``mask_powered`` is the mask this project used before (on
``|S| ** power``, where threshold 0.3 at power 1/8 meant -84 dB): kept under its
own name for comparison, not used by any mode.

The STFT pads each signal by one frame on both sides and the inverse uses the
window that inverts the analysis (``inverse_stft_window_fn``), so an all-ones
mask at power 1 is the identity.
"""

from __future__ import annotations

import tensorflow as tf

_TINY = 1e-12


class Spectral:
    """A fixed STFT size and hop for signals of ``length`` samples."""

    def __init__(self, fft: int, hop: int, length: int) -> None:
        self.fft, self.hop, self.length = fft, hop, length

    def stft(self, x: tf.Tensor) -> tf.Tensor:
        padded = tf.pad(x, [[0, 0], [self.fft, self.fft]])
        return tf.signal.stft(padded, self.fft, self.hop, self.fft, pad_end=True)

    def istft(self, spectrum: tf.Tensor) -> tf.Tensor:
        y = tf.signal.inverse_stft(
            spectrum, self.fft, self.hop, self.fft,
            window_fn=tf.signal.inverse_stft_window_fn(self.hop),
        )
        return y[:, self.fft : self.fft + self.length]

    @staticmethod
    def frame_peak(magnitude: tf.Tensor) -> tf.Tensor:
        """Each frame's loudest bin, ``[batch, frames, 1]``."""
        return tf.reduce_max(magnitude, axis=2, keepdims=True)

    @staticmethod
    def mask(spectrum: tf.Tensor, threshold: tf.Tensor) -> tf.Tensor:
        """The paper's hard cut of a ``[batch, frames, bins]`` spectrum: ``(sign(|S| / peak - t) + 1) / 2``."""
        magnitude = tf.abs(spectrum)
        peak = Spectral.frame_peak(magnitude)
        normalized = magnitude / tf.maximum(peak, _TINY)
        cut = (tf.sign(normalized - threshold) + 1.0) * 0.5
        return tf.where(peak > _TINY, cut, tf.zeros_like(cut))

    @staticmethod
    def powered(spectrum: tf.Tensor, power: tf.Tensor) -> tf.Tensor:
        """``spectrum`` with its magnitude raised to ``power`` relative to each frame's peak, phase kept."""
        magnitude = tf.abs(spectrum)
        peak = tf.maximum(Spectral.frame_peak(magnitude), _TINY)
        shaped = peak * tf.pow(magnitude / peak, power)
        return tf.cast(shaped, spectrum.dtype) * Spectral.phase(spectrum)

    @staticmethod
    def mask_powered(spectrum: tf.Tensor, threshold: tf.Tensor, power: tf.Tensor) -> tf.Tensor:
        """The earlier mask, ``|S|^p / max|S|^p > t`` over the whole buffer (not the paper's; no mode uses it)."""
        magnitude = tf.abs(spectrum)
        peak = tf.reduce_max(magnitude, axis=[1, 2], keepdims=True)
        cut = tf.pow(tf.maximum(threshold, 0.0), 1.0 / power) * peak
        return tf.cast((magnitude > cut) & (peak > _TINY), tf.float32)

    @staticmethod
    def phase(spectrum: tf.Tensor) -> tf.Tensor:
        """Unit-magnitude phase factor (1 where the bin is silent)."""
        magnitude = tf.abs(spectrum)
        safe = tf.where(magnitude > _TINY, spectrum, tf.ones_like(spectrum))
        return safe / tf.cast(tf.maximum(tf.abs(safe), _TINY), spectrum.dtype)


def apply_mask(mask: tf.Tensor, spectrum: tf.Tensor) -> tf.Tensor:
    return spectrum * tf.cast(mask, spectrum.dtype)


def paper_filter(through: tf.Tensor, source: tf.Tensor, threshold: tf.Tensor, power: tf.Tensor) -> tf.Tensor:
    """The paper's ``hard_cut(source) * MAGPHASE(through)`` spectrum (before the inverse STFT)."""
    return apply_mask(Spectral.mask(source, threshold), Spectral.powered(through, power))
