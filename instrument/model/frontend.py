"""YAMNet's front end: 16 kHz waveform -> log-mel patch, differentiable.

Matches the official YAMNet features: 25 ms periodic Hann window, 10 ms hop,
512-point FFT magnitude, 64 mel bands from 125 to 7500 Hz, ``log(mel + 0.001)``.
One window of 15600 samples gives exactly one 96 x 64 patch (0.96 s).
"""

from __future__ import annotations

import tensorflow as tf

SAMPLE_RATE = 16000
FRAME_LENGTH = 400  # 25 ms
FRAME_STEP = 160  # 10 ms
FFT_LENGTH = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96
PATCH_BANDS = MEL_BANDS
WINDOW_SAMPLES = FRAME_LENGTH + (PATCH_FRAMES - 1) * FRAME_STEP  # 15600
WINDOW_SECONDS = WINDOW_SAMPLES / SAMPLE_RATE

# A floor under the squared magnitude: it keeps the gradient of sqrt finite on
# digital silence; at 1e-20 it moves log-mel values by less than 1e-7.
_POWER_FLOOR = 1e-20


class LogMelFrontEnd:
    """Waveform ``[batch, 15600]`` -> log-mel patch ``[batch, 96, 64]``."""

    def __init__(self) -> None:
        self._mel = tf.signal.linear_to_mel_weight_matrix(
            num_mel_bins=MEL_BANDS,
            num_spectrogram_bins=FFT_LENGTH // 2 + 1,
            sample_rate=SAMPLE_RATE,
            lower_edge_hertz=MEL_MIN_HZ,
            upper_edge_hertz=MEL_MAX_HZ,
        )

    def magnitude(self, waveform: tf.Tensor) -> tf.Tensor:
        """|STFT| ``[batch, frames, 257]`` with YAMNet's framing (periodic Hann, 512-point FFT)."""
        stft = tf.signal.stft(waveform, FRAME_LENGTH, FRAME_STEP, FFT_LENGTH)
        # |z| written as sqrt(re^2 + im^2) with a floor: tf.abs of a complex zero
        # has a NaN gradient, and a performer's input can be digital silence.
        power = tf.square(tf.math.real(stft)) + tf.square(tf.math.imag(stft))
        return tf.sqrt(tf.maximum(power, _POWER_FLOOR))

    def __call__(self, waveform: tf.Tensor) -> tf.Tensor:
        mel = tf.linalg.matmul(self.magnitude(waveform), self._mel)
        return tf.math.log(mel + LOG_OFFSET)


def reference_log_mel(waveform: tf.Tensor) -> tf.Tensor:
    """The same features written with ``tf.signal.stft``, as the official code does.

    Kept as the yardstick the differentiable front end is tested against.
    """
    stft = tf.signal.stft(waveform, FRAME_LENGTH, FRAME_STEP, FFT_LENGTH)
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        MEL_BANDS, FFT_LENGTH // 2 + 1, SAMPLE_RATE, MEL_MIN_HZ, MEL_MAX_HZ
    )
    return tf.math.log(tf.linalg.matmul(tf.abs(stft), mel_matrix) + LOG_OFFSET)
