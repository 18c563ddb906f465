"""What an iteration maximizes.

On a feature layer (``layer1``..``layer14``, ``layerN/depthwise``, ``embeddings``)
the loss of a window is the mean activation of that layer (DeepDream). On
``logits`` it is the logit of the target class, or, with no target class (index
-1), of the window's own current top class. On ``scores`` it is that class's
log-score, ``log(sigmoid(logit))``: the same direction as the score for each
window, but a window far from the class (score 1e-5, where the sigmoid is flat)
pulls as hard as one half-way there, and a window already there (score near 1)
stops pulling, so the class is reached on every window rather than made surer on
the few that have it. (The score itself, summed over windows, climbed only where
it had started: a tone or music toward *Dog* stayed below 0.05 on every window
after 20 iterations; its log climbs there.) The window loss reported is still
the score.
"""

from __future__ import annotations

import tensorflow as tf

CLASS_LAYERS = ("logits", "scores")


def tap_for(layer: str) -> str:
    """The network tap an objective on ``layer`` reads (``scores`` is computed from the logits)."""
    return "logits" if layer == "scores" else layer


def _chosen(activation: tf.Tensor, class_index: tf.Tensor) -> tf.Tensor:
    top = tf.argmax(activation, axis=-1, output_type=tf.int32)
    chosen = tf.where(class_index >= 0, tf.fill(tf.shape(top), class_index), top)
    return tf.gather(activation, chosen, axis=1, batch_dims=1)


def window_loss(activation: tf.Tensor, layer: str, class_index: tf.Tensor) -> tf.Tensor:
    """Loss per window, ``[batch]`` (what is reported: the class's score on ``scores``)."""
    if layer == "scores":
        return tf.sigmoid(_chosen(activation, class_index))
    if layer in CLASS_LAYERS:
        return _chosen(activation, class_index)
    axes = list(range(1, activation.shape.rank))
    return tf.reduce_mean(activation, axis=axes)


def window_objective(activation: tf.Tensor, layer: str, class_index: tf.Tensor) -> tf.Tensor:
    """What the gradient climbs, per window ``[batch]``: the log-score on ``scores``, else ``window_loss``."""
    if layer == "scores":
        return tf.math.log_sigmoid(_chosen(activation, class_index))
    return window_loss(activation, layer, class_index)
