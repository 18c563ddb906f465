"""The yardstick: YAMNet's dream iteration written the obvious way in TensorFlow.

What a competent newcomer would write: the official features with ``tf.signal.stft``,
MobileNet with ``tf.nn.conv2d`` (1x1 convolutions as convolutions), one
``@tf.function`` computing forward pass, input gradient and std normalization,
then the ``filter_add`` or ``deepdream`` update. Same weights, same loss, same
outputs (to rounding) as the project's iteration, none of its speed work.
It lives in ``benchmarks/`` only: nothing in the instrument imports it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from instrument.model.frontend import (
    FFT_LENGTH,
    FRAME_LENGTH,
    FRAME_STEP,
    LOG_OFFSET,
    MEL_BANDS,
    MEL_MAX_HZ,
    MEL_MIN_HZ,
    PATCH_BANDS,
    PATCH_FRAMES,
    SAMPLE_RATE,
    WINDOW_SAMPLES,
)
from instrument.model.layout import SEPARABLE_LAYERS, tap_depth


class PlainYamNet:
    """YAMNet with ``tf.nn.conv2d`` everywhere and ``tf.signal`` features."""

    def __init__(self, weights: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.w = {k: (tf.constant(kernel), tf.constant(bias)) for k, (kernel, bias) in weights.items()}
        self.mel = tf.signal.linear_to_mel_weight_matrix(
            MEL_BANDS, FFT_LENGTH // 2 + 1, SAMPLE_RATE, MEL_MIN_HZ, MEL_MAX_HZ
        )

    def __call__(self, waveform: tf.Tensor, layer: str) -> tf.Tensor:
        stft = tf.signal.stft(waveform, FRAME_LENGTH, FRAME_STEP, FFT_LENGTH)
        magnitude = tf.sqrt(tf.maximum(tf.square(tf.math.real(stft)) + tf.square(tf.math.imag(stft)), 1e-20))
        x = tf.math.log(tf.linalg.matmul(magnitude, self.mel) + LOG_OFFSET)
        x = tf.reshape(x, [-1, PATCH_FRAMES, PATCH_BANDS, 1])
        deepest = tap_depth(layer)
        kernel, bias = self.w["layer1/conv"]
        x = tf.nn.relu(tf.nn.conv2d(x, kernel, 2, "SAME") + bias)
        depth = 1
        for block in SEPARABLE_LAYERS:
            if depth >= deepest:
                return x
            kernel, bias = self.w[f"{block.name}/depthwise"]
            x = tf.nn.relu(tf.nn.depthwise_conv2d(x, kernel, [1, block.stride, block.stride, 1], "SAME") + bias)
            if depth + 1 >= deepest:
                return x
            kernel, bias = self.w[f"{block.name}/pointwise"]
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME") + bias)
            depth += 2
        embeddings = tf.reduce_mean(x, axis=[1, 2])
        if layer == "embeddings":
            return embeddings
        kernel, bias = self.w["logits"]
        logits = tf.linalg.matmul(embeddings, kernel) + bias
        return logits if layer == "logits" else tf.sigmoid(logits)


def plain_iteration(model: PlainYamNet, layer: str, mode: str, fft: int = 1024, hop: int = 256):
    """One compiled iteration ``(x, threshold, step, power, class_index) -> x'``, written plainly."""

    def stft(x: tf.Tensor) -> tf.Tensor:
        return tf.signal.stft(tf.pad(x, [[0, 0], [fft, fft]]), fft, hop, fft, pad_end=True)

    def istft(s: tf.Tensor) -> tf.Tensor:
        y = tf.signal.inverse_stft(s, fft, hop, fft, window_fn=tf.signal.inverse_stft_window_fn(hop))
        return y[:, fft : fft + WINDOW_SAMPLES]

    @tf.function
    def iteration(x, threshold, step, power, class_index):
        with tf.GradientTape() as tape:
            tape.watch(x)
            a = model(x, layer)
            if layer in ("logits", "scores"):
                loss = tf.gather(a, tf.fill([tf.shape(a)[0]], class_index), axis=1, batch_dims=1)
            else:
                loss = tf.reduce_mean(a, axis=list(range(1, a.shape.rank)))
            total = tf.reduce_sum(loss)
        g = tape.gradient(total, x)
        g = g / tf.maximum(tf.math.reduce_std(g, axis=1, keepdims=True), 1e-12)
        if mode == "deepdream":
            y = x + step * g
        else:
            spectrum = stft(x)
            magnitude = tf.pow(tf.abs(spectrum), power)
            normalized = magnitude / tf.maximum(tf.reduce_max(magnitude, axis=[1, 2], keepdims=True), 1e-12)
            mask = tf.cast(normalized > threshold, tf.complex64)
            y = x + step * istft(mask * stft(g))
        y = tf.where(tf.math.is_finite(y), y, tf.zeros_like(y))
        return y / tf.maximum(tf.reduce_max(tf.abs(y), axis=1, keepdims=True), 1.0)

    return iteration
