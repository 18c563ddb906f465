"""YAMNet's network (MobileNet v1 on a log-mel patch) with every layer reachable by name.

Taps, in the order they are computed:

``log_mel`` [96, 64] -> ``layer1`` (3x3 conv, stride 2, 32 ch) ->
``layer2/depthwise``, ``layer2`` ... ``layer14/depthwise``, ``layer14`` ->
``embeddings`` (global average pool, 1024) -> ``logits`` (521) -> ``scores`` (sigmoid).

Batch norm is folded into each convolution's kernel and bias when weights are
loaded (see ``instrument.model.weights``), so a layer is conv + bias + ReLU.
A call computes only as deep as the deepest tap asked for, and returns every
requested tap from that one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import tensorflow as tf

from instrument.errors import DreamSoundError
from instrument.model.frontend import PATCH_BANDS, PATCH_FRAMES, LogMelFrontEnd
from instrument.model.layout import (
    EMBEDDING_SIZE,
    FIRST_CONV_FILTERS,
    NUM_CLASSES,
    SEPARABLE_LAYERS,
    TAP_NAMES,
    check_tap,
    tap_depth,
    weight_shapes,
)
from instrument.model.runtime import onednn_enabled

__all__ = [
    "EMBEDDING_SIZE",
    "FIRST_CONV_FILTERS",
    "NUM_CLASSES",
    "SEPARABLE_LAYERS",
    "TAP_NAMES",
    "YamNet",
    "check_tap",
    "tap_depth",
    "tap_shapes",
    "weight_shapes",
]

class YamNet(tf.Module):
    """YAMNet with named taps, differentiable from the raw 16 kHz waveform.

    ``weights`` maps ``layer1/conv``, ``layerN/depthwise``, ``layerN/pointwise``
    and ``logits`` to ``(kernel, bias)`` float32 arrays with batch norm folded in
    (TensorFlow layouts: conv HWIO, depthwise ``[3, 3, C, 1]``, dense ``[1024, 521]``).
    """

    def __init__(
        self, weights: dict[str, tuple[np.ndarray, np.ndarray]], pretransposed_gradients: bool | None = None
    ) -> None:
        super().__init__(name="yamnet")
        self.front_end = LogMelFrontEnd()
        self._kernels: dict[str, tf.Variable] = {}
        self._biases: dict[str, tf.Variable] = {}
        for key, (kernel_shape, bias_shape) in weight_shapes().items():
            if key not in weights:
                raise DreamSoundError(f"weights are missing {key!r}")
            kernel, bias = weights[key]
            if tuple(kernel.shape) != kernel_shape or tuple(bias.shape) != bias_shape:
                raise DreamSoundError(
                    f"weights for {key!r} have shapes {tuple(kernel.shape)}/{tuple(bias.shape)};"
                    f" expected {kernel_shape}/{bias_shape}"
                )
            safe = key.replace("/", "_")
            self._kernels[key] = tf.Variable(
                np.asarray(kernel, np.float32), trainable=False, name=f"{safe}_kernel"
            )
            self._biases[key] = tf.Variable(
                np.asarray(bias, np.float32), trainable=False, name=f"{safe}_bias"
            )
        # Each matrix product's input gradient is a product with the transposed kernel. Written as
        # matmul(dy, W, transpose_b=True), TensorFlow's Eigen kernels (its path when oneDNN is off)
        # take 8.6 ms for [6,1024]x[1024,1024]^T against 0.5 ms for the same product with W stored
        # transposed, so on that path a custom gradient multiplies by stored transposed copies.
        # oneDNN's kernels handle the transposed product well, and there the custom gradient was
        # slower (scores forward+backward 11.6 -> 14.3 ms, measured): it is used only without oneDNN.
        self._transposed: dict[str, tf.Variable] = {}
        if pretransposed_gradients is None:  # chosen from the kernels this process runs
            pretransposed_gradients = not onednn_enabled()
        self.pretransposed_gradients = pretransposed_gradients
        if self.pretransposed_gradients:
            for key, kernel in self._kernels.items():
                if key.endswith("/pointwise") or key == "logits":
                    matrix = kernel.numpy().reshape(kernel.shape[-2], kernel.shape[-1])
                    self._transposed[key] = tf.Variable(
                        np.ascontiguousarray(matrix.T), trainable=False, name=f"{key.replace('/', '_')}_kernel_t"
                    )

    def numpy_weights(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The folded weights as numpy arrays (to build another model from them)."""
        return {k: (self._kernels[k].numpy(), self._biases[k].numpy()) for k in self._kernels}

    def forward(self, waveform: tf.Tensor, taps: Sequence[str]) -> dict[str, tf.Tensor]:
        """Run ``[batch, 15600]`` waveforms and return the requested taps."""
        return self.forward_patch(self.front_end(waveform), taps)

    def forward_patch(self, log_mel: tf.Tensor, taps: Sequence[str]) -> dict[str, tf.Tensor]:
        """Run ``[batch, 96, 64]`` log-mel patches and return the requested taps."""
        wanted = set(taps)
        deepest = max(tap_depth(t) for t in wanted)
        out: dict[str, tf.Tensor] = {}
        for name, value in self._layers(log_mel, deepest):
            if name in wanted:
                out[name] = value
        return out

    def feature_map(self, log_mel: tf.Tensor, tap: str) -> tf.Tensor:
        """The feature map of ``tap`` (``layer1`` .. ``layer14``, ``layerN/depthwise``) over log-mel frames of any
        length, ``[batch, frames, 64]`` -> ``[batch, time, freq, channels]``: the network is convolutional up to
        its global pool, so one pass over a long signal holds every window's map (``instrument.dream.objective``).
        Step ``i`` along time starts at frame ``i * tap_stride(tap)`` (TensorFlow's SAME padding of a stride-2
        layer on an even size pads only after the end, so a window that starts on a multiple of 32 frames has
        its maps on the same grid)."""
        deepest = tap_depth(tap)
        if not 1 <= deepest <= tap_depth("layer14"):
            raise DreamSoundError(f"no feature map for {tap!r}: layer1 .. layer14 have one")
        for name, value in self._layers(log_mel, deepest, frames=None):
            if name == tap:
                return value
        raise AssertionError(tap)

    def forward_from(self, maps: tf.Tensor, tap: str, taps: Sequence[str]) -> dict[str, tf.Tensor]:
        """Continue the pass from ``tap``'s feature maps of whole windows ``[batch, time, freq, channels]``
        (a separable layer's output, ``layer1`` .. ``layer14``) and return the requested deeper taps."""
        start = tap_depth(tap)
        if tap != "layer1" and not (tap.startswith("layer") and "/" not in tap and start <= tap_depth("layer14")):
            raise DreamSoundError(f"cannot continue from {tap!r}: layer1 .. layer14 only")
        wanted = set(taps)
        deepest = max(tap_depth(t) for t in wanted)
        out: dict[str, tf.Tensor] = {}
        for name, value in self._layers(maps, deepest, after=start):
            if name in wanted:
                out[name] = value
        return out

    def classify(self, embeddings: tf.Tensor) -> tf.Tensor:
        """Logits ``[batch, 521]`` of pooled ``layer14`` features ``[batch, 1024]``."""
        return self._dense(embeddings, "logits", self._kernels["logits"], relu=False)

    def _layers(
        self, log_mel: tf.Tensor, deepest: int, frames: int | None = PATCH_FRAMES, after: int = 0
    ) -> Iterable[tuple[str, tf.Tensor]]:
        """Every tap to ``deepest``; ``frames=None``: any number of frames, no pool; ``after``: ``log_mel`` is
        already the map of the tap at that depth (a separable layer's output), continue from there."""
        if after:
            x = log_mel
        else:
            yield "log_mel", log_mel
            if deepest < 1:
                return
            x = tf.reshape(log_mel, [-1, PATCH_FRAMES if frames else tf.shape(log_mel)[1], PATCH_BANDS, 1])
            x = self._conv(x, "layer1/conv", 2)
            yield "layer1", x
        depth = 1
        for layer in SEPARABLE_LAYERS:
            if depth >= deepest:
                return
            if depth < after:
                depth += 2
                continue
            x = self._depthwise(x, f"{layer.name}/depthwise", layer.stride)
            yield f"{layer.name}/depthwise", x
            x = self._pointwise(x, f"{layer.name}/pointwise")
            yield layer.name, x
            depth += 2
        if depth >= deepest or frames is None:
            return
        embeddings = tf.reduce_mean(x, axis=[1, 2])
        yield "embeddings", embeddings
        logits = self.classify(embeddings)
        yield "logits", logits
        yield "scores", tf.sigmoid(logits)

    def _conv(self, x: tf.Tensor, key: str, stride: int) -> tf.Tensor:
        y = tf.raw_ops.Conv2D(input=x, filter=self._kernels[key], strides=[1, stride, stride, 1], padding="SAME")
        return _bias_relu(y, self._biases[key])

    def _pointwise(self, x: tf.Tensor, key: str) -> tf.Tensor:
        # A 1x1 convolution written as a matrix product: same numbers, and on a
        # CPU its gradient is several times faster than Conv2DBackpropInput.
        kernel = self._kernels[key]
        channels_in, channels_out = kernel.shape[2], kernel.shape[3]
        flat = tf.reshape(x, [-1, channels_in])
        matrix = tf.reshape(kernel, [channels_in, channels_out])
        y = self._dense(flat, key, matrix, relu=True)
        return tf.reshape(y, tf.concat([tf.shape(x)[:-1], [channels_out]], axis=0))

    def _dense(self, x: tf.Tensor, key: str, matrix: tf.Tensor, relu: bool) -> tf.Tensor:
        """``relu?(x @ matrix + bias)``; Grappler fuses product, bias and ReLU into one op."""
        if self.pretransposed_gradients:
            fn = _dense_relu if relu else _dense_linear
            transposed, bias = self._transposed[key].read_value(), self._biases[key].read_value()
            return fn(x, tf.convert_to_tensor(matrix), transposed, bias)
        y = tf.linalg.matmul(x, matrix)
        return _bias_relu(y, self._biases[key]) if relu else _bias(y, self._biases[key])

    def _depthwise(self, x: tf.Tensor, key: str, stride: int) -> tf.Tensor:
        y = tf.raw_ops.DepthwiseConv2dNative(
            input=x, filter=self._kernels[key], strides=[1, stride, stride, 1], padding="SAME"
        )
        return _bias_relu(y, self._biases[key])


# The operations `tf.nn.conv2d`, `depthwise_conv2d`, `bias_add` and `relu` build, called by their names: TensorFlow's
# `tf.nn` API module is loaded on first use (`runtime._DeferredAPI`), and it would bring the legacy Keras and SciPy
# with it, 0.3 s of every start. The operations and the numbers are the same (`tf.nn.depthwise_conv2d` also made
# two constants that nothing used).
def _bias(y: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    return tf.raw_ops.BiasAdd(value=y, bias=bias)


def _bias_relu(y: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    return tf.raw_ops.Relu(features=tf.raw_ops.BiasAdd(value=y, bias=bias))


# The custom gradients below return only the input's gradient: the weights are constants of the dream.
@tf.custom_gradient
def _dense_relu(x: tf.Tensor, kernel: tf.Tensor, kernel_t: tf.Tensor, bias: tf.Tensor):
    y = _bias_relu(tf.linalg.matmul(x, kernel), bias)

    def grad(dy: tf.Tensor):
        return tf.linalg.matmul(tf.raw_ops.ReluGrad(gradients=dy, features=y), kernel_t), None, None, None

    return y, grad


@tf.custom_gradient
def _dense_linear(x: tf.Tensor, kernel: tf.Tensor, kernel_t: tf.Tensor, bias: tf.Tensor):
    y = _bias(tf.linalg.matmul(x, kernel), bias)

    def grad(dy: tf.Tensor):
        return tf.linalg.matmul(dy, kernel_t), None, None, None

    return y, grad


def tap_shapes(model: YamNet) -> dict[str, tuple[int, ...]]:
    """Output shape of every tap for one window (batch dimension left out)."""
    from instrument.model.frontend import WINDOW_SAMPLES

    outs = model.forward(tf.zeros([1, WINDOW_SAMPLES]), TAP_NAMES)
    return {name: tuple(outs[name].shape[1:]) for name in TAP_NAMES}
