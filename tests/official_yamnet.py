"""The official YAMNet Keras layout (tensorflow/models research/audioset/yamnet, 2020-21),
rebuilt here under tf_keras only to produce test material: an ``h5``/SavedModel with
exactly the official variable names, filled from the shared lite weights.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
import tf_keras as keras

_LAYERS = [("conv", 2, 32)] + [
    ("separable", s, f)
    for s, f in [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)]
    + [(1, 512)] * 5
    + [(2, 1024), (1, 1024)]
]


def official_body() -> keras.Model:
    """Log-mel patch [96, 64] -> scores, with the official layer names."""
    bn = {"center": True, "scale": False, "epsilon": 1e-4}
    patch = keras.Input(shape=(96, 64))
    x = keras.layers.Reshape((96, 64, 1))(patch)
    for i, (kind, stride, filters) in enumerate(_LAYERS, start=1):
        name = f"layer{i}"
        if kind == "conv":
            x = keras.layers.Conv2D(filters, 3, stride, padding="same", use_bias=False, name=f"{name}/conv")(x)
            x = keras.layers.BatchNormalization(name=f"{name}/conv/bn", **bn)(x)
            x = keras.layers.ReLU(name=f"{name}/relu")(x)
            continue
        x = keras.layers.DepthwiseConv2D(3, stride, padding="same", use_bias=False, name=f"{name}/depthwise_conv")(x)
        x = keras.layers.BatchNormalization(name=f"{name}/depthwise_conv/bn", **bn)(x)
        x = keras.layers.ReLU(name=f"{name}/depthwise_conv/relu")(x)
        x = keras.layers.Conv2D(filters, 1, 1, padding="same", use_bias=False, name=f"{name}/pointwise_conv")(x)
        x = keras.layers.BatchNormalization(name=f"{name}/pointwise_conv/bn", **bn)(x)
        x = keras.layers.ReLU(name=f"{name}/pointwise_conv/relu")(x)
    embeddings = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(521, use_bias=True)(embeddings)  # unnamed, as upstream: "dense"
    scores = keras.layers.Activation("sigmoid")(logits)
    return keras.Model(inputs=patch, outputs=scores)


class HubYamnet(tf.Module):
    """The exported TF Hub module's shape: ``__call__`` and ``class_map_path``."""

    def __init__(self, weights_h5: Path, class_map: Path) -> None:
        super().__init__()
        self._yamnet = official_body()
        self._yamnet.load_weights(str(weights_h5))
        self._class_map_asset = tf.saved_model.Asset(str(class_map))

    @tf.function(input_signature=[])
    def class_map_path(self):
        return self._class_map_asset.asset_path

    @tf.function(input_signature=[tf.TensorSpec([None, 96, 64], tf.float32)])
    def __call__(self, patches):
        return self._yamnet(patches)


def save_hub_model(directory: Path, weights_h5: Path, class_map: Path) -> Path:
    module = HubYamnet(weights_h5, class_map)
    tf.saved_model.save(module, str(directory))
    return directory
