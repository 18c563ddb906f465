"""YAMNet's layout as plain data (no TensorFlow): layers, tap names, weight shapes.

Kept apart from ``network`` so configuration and parameter checks can name the
layers without starting TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

from instrument.errors import DreamSoundError

NUM_CLASSES = 521
EMBEDDING_SIZE = 1024
# The input window (``frontend`` computes the same from its framing): known here so that the live engine's
# audio process can size its buffers without importing TensorFlow.
SAMPLE_RATE = 16000
WINDOW_SAMPLES = 15600
WINDOW_SECONDS = WINDOW_SAMPLES / SAMPLE_RATE


@dataclass(frozen=True)
class SeparableLayer:
    """One depthwise-separable block: 3x3 depthwise (stride) then 1x1 pointwise."""

    name: str
    stride: int
    filters: int


# layer1 is a plain 3x3 conv, stride 2, 32 filters; then YAMNet's 13 separable blocks.
FIRST_CONV_FILTERS = 32
SEPARABLE_LAYERS: tuple[SeparableLayer, ...] = tuple(
    SeparableLayer(f"layer{i + 2}", stride, filters)
    for i, (stride, filters) in enumerate(
        [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)]
        + [(1, 512)] * 5
        + [(2, 1024), (1, 1024)]
    )
)


def _tap_names() -> tuple[str, ...]:
    names = ["log_mel", "layer1"]
    for layer in SEPARABLE_LAYERS:
        names += [f"{layer.name}/depthwise", layer.name]
    return tuple([*names, "embeddings", "logits", "scores"])


TAP_NAMES: tuple[str, ...] = _tap_names()
_TAP_DEPTH = {name: depth for depth, name in enumerate(TAP_NAMES)}


def weight_shapes() -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Kernel and bias shape of every weighted op, keyed like ``Weights``."""
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
        "layer1/conv": ((3, 3, 1, FIRST_CONV_FILTERS), (FIRST_CONV_FILTERS,))
    }
    channels = FIRST_CONV_FILTERS
    for layer in SEPARABLE_LAYERS:
        shapes[f"{layer.name}/depthwise"] = ((3, 3, channels, 1), (channels,))
        shapes[f"{layer.name}/pointwise"] = ((1, 1, channels, layer.filters), (layer.filters,))
        channels = layer.filters
    shapes["logits"] = ((EMBEDDING_SIZE, NUM_CLASSES), (NUM_CLASSES,))
    return shapes


def check_tap(name: str) -> str:
    """Return ``name`` if it is a tap, else raise a clear error listing the taps."""
    if name not in _TAP_DEPTH:
        raise DreamSoundError(
            f"unknown layer {name!r}; allowed: {', '.join(TAP_NAMES)}"
        )
    return name


def tap_depth(name: str) -> int:
    """Position of a tap in the forward pass (deeper taps have larger numbers)."""
    return _TAP_DEPTH[check_tap(name)]


def tap_stride(name: str) -> int:
    """How many log-mel frames (10 ms) one step along time of a tap's feature map spans.

    ``log_mel`` 1, ``layer1`` 2 (its 3x3 conv has stride 2), then each stride-2 block doubles it: 32 from
    ``layer13/depthwise`` on (one window's 96 frames are 3 steps there). ``embeddings``, ``logits`` and
    ``scores`` pool ``layer14``: 32."""
    check_tap(name)
    if name == "log_mel":
        return 1
    if name == "layer1":
        return 2
    if name in ("embeddings", "logits", "scores"):
        return 32
    stride = 2
    for layer in SEPARABLE_LAYERS:
        if name in (layer.name, f"{layer.name}/depthwise"):
            return stride * layer.stride
        stride *= layer.stride
    return stride
