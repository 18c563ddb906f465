"""Read TF Hub's ``yamnet.tflite`` (int8 weights, per-channel scales, batch norm folded).

The file is opened with the LiteRT interpreter only to read its constant
tensors; every int8 tensor is dequantized as ``(q - zero_point) * scale`` along
its quantized dimension, and the layouts are moved to TensorFlow's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from instrument.errors import DreamSoundError
from instrument.model.layout import SEPARABLE_LAYERS
from instrument.model.weights import Weights, check_shapes

_PREFIX = "yamnet_frames/"


def open_interpreter(path: str | Path) -> Any:
    """A LiteRT interpreter for ``path`` (``ai_edge_litert``, else ``tf.lite``)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # older installs ship it inside TensorFlow
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806
    try:
        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise DreamSoundError(f"cannot read YAMNet weights {path}: not a valid .tflite model ({err})") from err
    return interpreter


def _dequantize(value: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    if value.dtype == np.float32:
        return value
    scales = np.asarray(params["scales"], np.float32)
    zero_points = np.asarray(params["zero_points"], np.float32)
    if scales.size > 1:
        shape = [1] * value.ndim
        shape[params["quantized_dimension"]] = -1
        scales, zero_points = scales.reshape(shape), zero_points.reshape(shape)
    return (value.astype(np.float32) - zero_points) * scales


def read_tflite(path: str | Path) -> Weights:
    path = Path(path)
    if not path.is_file():
        raise DreamSoundError(f"cannot read YAMNet weights {path}: no such file")
    interpreter = open_interpreter(path)
    tensors: dict[str, list[dict[str, Any]]] = {}
    for detail in interpreter.get_tensor_details():
        tensors.setdefault(detail["name"], []).append(detail)

    def constant(name: str) -> np.ndarray:
        if name not in tensors:
            raise DreamSoundError(f"{path}: tensor {name!r} not found (not TF Hub's YAMNet lite model?)")
        detail = tensors[name][0]
        return _dequantize(interpreter.get_tensor(detail["index"]), detail["quantization_parameters"])

    def depthwise_kernel(layer: str) -> np.ndarray:
        # Named after the fused batch norm; several layers also hold a float32
        # copy that a DEQUANTIZE op fills at run time, so prefer the int8 constant.
        stem = f"{_PREFIX}{layer}/depthwise_conv/bn/FusedBatchNormV3;"
        found = [
            d for group in tensors.values() for d in group
            if d["name"].startswith(stem) and len(d["shape"]) == 4
        ]
        if not found:
            raise DreamSoundError(f"{path}: no depthwise kernel for {layer}")
        found.sort(key=lambda d: d["dtype"] != np.int8)
        detail = found[0]
        return _dequantize(interpreter.get_tensor(detail["index"]), detail["quantization_parameters"])

    weights: Weights = {
        "layer1/conv": (
            constant(f"{_PREFIX}layer1/conv/Conv2D").transpose(1, 2, 3, 0),
            constant(f"{_PREFIX}layer1/conv/bn/FusedBatchNormV3"),
        )
    }
    for layer in SEPARABLE_LAYERS:
        weights[f"{layer.name}/depthwise"] = (
            depthwise_kernel(layer.name).transpose(1, 2, 3, 0),
            constant(f"{_PREFIX}{layer.name}/depthwise_conv/bn/FusedBatchNormV3"),
        )
        weights[f"{layer.name}/pointwise"] = (
            constant(f"{_PREFIX}{layer.name}/pointwise_conv/Conv2D").transpose(1, 2, 3, 0),
            constant(f"{_PREFIX}{layer.name}/pointwise_conv/bn/FusedBatchNormV3"),
        )
    weights["logits"] = (
        constant(f"{_PREFIX}dense/MatMul").T.copy(),
        constant(f"{_PREFIX}dense/BiasAdd/ReadVariableOp/resource"),
    )
    weights = {
        key: (np.ascontiguousarray(kernel, np.float32), np.ascontiguousarray(bias, np.float32))
        for key, (kernel, bias) in weights.items()
    }
    return check_shapes(weights, str(path))
