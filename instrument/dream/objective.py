"""What an iteration maximizes.

On a feature layer (``layer1``..``layer14``, ``layerN/depthwise``, ``embeddings``)
the loss of a window is the mean activation of that layer (DeepDream). On
``logits`` or ``scores`` it is the activation of the target class, or, with no
target class (index -1), of the window's own current top class.
"""

from __future__ import annotations

import tensorflow as tf

CLASS_LAYERS = ("logits", "scores")


def window_loss(activation: tf.Tensor, layer: str, class_index: tf.Tensor) -> tf.Tensor:
    """Loss per window, ``[batch]``."""
    if layer in CLASS_LAYERS:
        top = tf.argmax(activation, axis=-1, output_type=tf.int32)
        chosen = tf.where(class_index >= 0, tf.fill(tf.shape(top), class_index), top)
        return tf.gather(activation, chosen, axis=1, batch_dims=1)
    axes = list(range(1, activation.shape.rank))
    return tf.reduce_mean(activation, axis=axes)
