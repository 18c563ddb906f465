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

Three ways to compute it over a buffer (``render.objective``, ``OBJECTIVES``; live dreams with ``windows``):

- ``windows``: each window cut from the buffer and pushed through the network alone, as YAMNet
  classifies a window (zero padding at its edges, in every layer).
- ``early``: the front end and layers 1-5 (``EARLY_CUT``) run once over the buffer, each window's
  ``layer5`` map cut from it (the windows moved to the nearest start on that map's 8-frame, 1280-sample
  grid through the middle window drawn) and run on alone to ``layer``, with its own zero padding. Only
  the window's edge steps of ``layer5`` differ from the window pushed through alone (there they see the
  signal around the window, not padding).
- ``shared``: the network run once over the whole buffer (it is convolutional up to its global pool),
  and each window's loss read from the feature maps: the mean over the window's steps of its layer's
  map (on ``embeddings``/``logits``/``scores``: ``layer14``'s map pooled over the window's 3 x 2 steps,
  then the logits layer). The windows lie on the maps' grid, 32 frames (5120 samples) apart; per
  iteration the grid's phase is that of the middle window drawn (``instrument.dream.buffer``), so the
  jitter is kept at sample resolution. A window's map then sees the signal around it instead of zero
  padding (its receptive field is about 3 s): the layers agree with the per-window pass inside the
  window, away from its edges, and the scores differ as the context does (``tests/test_dream.py``).
"""

from __future__ import annotations

import tensorflow as tf

from instrument.dream.params import OBJECTIVES
from instrument.model.frontend import FRAME_STEP, PATCH_FRAMES, WINDOW_SAMPLES
from instrument.model.layout import tap_stride

CLASS_LAYERS = ("logits", "scores")
__all__ = ["CLASS_LAYERS", "EARLY_CUT", "GRID_SAMPLES", "OBJECTIVES", "shared_activation", "shared_window_count",
           "tap_for", "window_loss", "window_objective"]
EARLY_CUT = "layer5"  # where ``early`` stops sharing: cut deeper, the scores drift from the windows' alone
GRID_FRAMES = 32  # the time stride of layer14 (5 stride-2 layers): windows of the shared pass lie on it
GRID_SAMPLES = GRID_FRAMES * FRAME_STEP  # 5120


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


def shared_window_count(length: int) -> int:
    """How many grid windows the shared pass of a ``length``-sample buffer computes (the most that fit
    between offsets 0 and ``length - 15600``)."""
    return (length - WINDOW_SAMPLES) // GRID_SAMPLES + 1


def shared_activation(model, segment: tf.Tensor, layer: str, count: int) -> tf.Tensor:
    """Per-window activations of ``count`` windows 5120 samples apart from one pass over ``segment``
    ``[B, L]`` (window ``j`` = samples ``[5120 j, 5120 j + 15600)``): ``[B * count, 521]`` on class layers
    (logits), ``[B * count]`` (the window's mean activation) on a feature layer, ordered buffer-major."""
    log_mel = model.front_end(segment)
    tap = "layer14" if layer in (*CLASS_LAYERS, "embeddings") else layer
    if tap == "log_mel":
        maps = log_mel[..., None, None]
    else:
        maps = model.feature_map(log_mel, tap)  # [B, T, F, C]
    stride = tap_stride(tap)
    span, step = PATCH_FRAMES // stride, GRID_FRAMES // stride  # one window's steps; steps between windows
    if layer in CLASS_LAYERS:
        per_step = tf.reduce_mean(maps, axis=2)  # [B, T, C]
    else:
        per_step = tf.reduce_mean(maps, axis=[2, 3])[..., None]  # [B, T, 1]
    # Window means from a running sum: sum(steps[s : s + span]) = total[s + span] - total[s].
    total = tf.pad(tf.cumsum(per_step, axis=1), [[0, 0], [1, 0], [0, 0]])
    starts = tf.range(count) * step
    limit = tf.shape(total)[1] - 1 - span
    starts = tf.minimum(starts, limit)  # windows past the pass's end are never scored; keep indices in range
    pooled = (tf.gather(total, starts + span, axis=1) - tf.gather(total, starts, axis=1)) / span  # [B, count, C]
    if layer in CLASS_LAYERS:
        return model.classify(tf.reshape(pooled, [-1, pooled.shape[-1]]))
    return tf.reshape(pooled, [-1])
