"""Where YAMNet's weights come from: TF Hub, the official ``yamnet.h5``, or ``yamnet.tflite``.

Every reader returns the same thing: ``Weights``, a dict from ``layer1/conv``,
``layerN/depthwise``, ``layerN/pointwise`` and ``logits`` to ``(kernel, bias)``
float32 arrays in TensorFlow layout with batch norm folded in, which is what
``instrument.model.network.YamNet`` takes. ``instrument.model.loader.load_yamnet`` picks the source (in the
order the README gives) and reads it with ``h5``, ``hub`` or ``tflite`` here.
"""

from __future__ import annotations

import re

import numpy as np

from instrument.errors import DreamSoundError
from instrument.model.layout import SEPARABLE_LAYERS, weight_shapes

Weights = dict[str, tuple[np.ndarray, np.ndarray]]

DEFAULT_HANDLE = "https://tfhub.dev/google/yamnet/1"  # the TF Hub model

# Official YAMNet: batch norm with center, no scale, epsilon 1e-4 (params.py).
OFFICIAL_BN_EPSILON = 1e-4

# ``layer3/depthwise_conv/bn/moving_mean:0``, also with any prefix before it
# (h5 groups repeat the layer name; a SavedModel may add a scope).
_OFFICIAL_NAME = re.compile(
    r"(?:^|/)(layer\d+)/(conv|depthwise_conv|pointwise_conv)(/bn)?/"
    r"(kernel|depthwise_kernel|bias|beta|gamma|moving_mean|moving_variance)(?::\d+)?$"
)
# The classifier: ``logits`` in the naming, ``dense`` in the official
# yamnet.py (an unnamed Dense layer), ``dense_1`` when Keras numbered it.
_CLASSIFIER_NAME = re.compile(r"(?:^|/)(logits|dense(?:_\d+)?)/(kernel|bias)(?::\d+)?$")

_OFFICIAL_TO_OURS = {"conv": "conv", "depthwise_conv": "depthwise", "pointwise_conv": "pointwise"}


def fold_batch_norm(
    kernel: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    variance: np.ndarray,
    *,
    channel_axis: int,
    gamma: np.ndarray | None = None,
    conv_bias: np.ndarray | None = None,
    epsilon: float = OFFICIAL_BN_EPSILON,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold ``gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta`` into one conv."""
    scale = (1.0 if gamma is None else gamma) / np.sqrt(variance + epsilon)
    shape = [1] * kernel.ndim
    shape[channel_axis] = -1
    folded_kernel = kernel * scale.reshape(shape)
    bias = beta - mean * scale
    if conv_bias is not None:
        bias = bias + conv_bias * scale
    return folded_kernel.astype(np.float32), bias.astype(np.float32)


def from_official_layout(named: dict[str, np.ndarray], origin: str) -> Weights:
    """Map arrays named as in the official Keras YAMNet onto ``Weights``.

    ``named`` maps variable or dataset names (``layer1/conv/kernel:0``,
    ``layer1/conv/bn/beta:0``, ``dense/kernel:0``, ...) to arrays; ``origin``
    names the file or model in error messages.
    """
    parts: dict[str, dict[str, np.ndarray]] = {}
    classifier: dict[str, np.ndarray] = {}
    for name, value in named.items():
        match = _OFFICIAL_NAME.search(name)
        if match:
            layer, op, bn, what = match.groups()
            key = f"{layer}/{_OFFICIAL_TO_OURS[op]}"
            parts.setdefault(key, {})[("bn_" if bn else "") + what] = np.asarray(value, np.float32)
            continue
        match = _CLASSIFIER_NAME.search(name)
        if match:
            classifier[match.group(2)] = np.asarray(value, np.float32)
    weights: Weights = {}
    for key in weight_shapes():
        if key == "logits":
            if set(classifier) != {"kernel", "bias"}:
                raise DreamSoundError(f"{origin}: no classifier weights (logits/dense kernel and bias)")
            weights[key] = (classifier["kernel"], classifier["bias"])
            continue
        found = parts.get(key)
        if not found:
            raise DreamSoundError(f"{origin}: no weights for {key} (not an official YAMNet layout?)")
        try:
            kernel = found.get("kernel", found.get("depthwise_kernel"))
            if kernel is None:
                raise KeyError("kernel")
            axis = 2 if key.endswith("/depthwise") else 3
            weights[key] = fold_batch_norm(
                kernel,
                found["bn_beta"],
                found["bn_moving_mean"],
                found["bn_moving_variance"],
                channel_axis=axis,
                gamma=found.get("bn_gamma"),
                conv_bias=found.get("bias"),
            )
        except KeyError as err:
            raise DreamSoundError(f"{origin}: {key} lacks {err.args[0]}") from err
    return weights


def check_shapes(weights: Weights, origin: str) -> Weights:
    """Raise a clear error if any array has the wrong shape."""
    for key, (kernel_shape, bias_shape) in weight_shapes().items():
        kernel, bias = weights[key]
        if kernel.shape != kernel_shape or bias.shape != bias_shape:
            raise DreamSoundError(
                f"{origin}: {key} has shapes {kernel.shape}/{bias.shape},"
                f" expected {kernel_shape}/{bias_shape}"
            )
    return weights


__all__ = [
    "DEFAULT_HANDLE",
    "SEPARABLE_LAYERS",
    "Weights",
    "check_shapes",
    "fold_batch_norm",
    "from_official_layout",
]
