"""Read YAMNet from TF Hub (``https://tfhub.dev/google/yamnet/1``) through ``tensorflow_hub``.

``tensorflow_hub.load`` downloads into the usual TF Hub cache
(``TFHUB_CACHE_DIR``) or opens a local SavedModel directory. The model's Keras
variables carry the official layer names, which are mapped onto ours; the class
names come from the model's own ``class_map_path()`` asset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from instrument.errors import DreamSoundError
from instrument.model.weights import DEFAULT_HANDLE, Weights, check_shapes, from_official_layout


def _all_variables(root: object) -> list[tf.Variable]:
    """Every variable reachable from a restored SavedModel object."""
    found = getattr(root, "variables", None)
    if found:
        return list(found)
    view = tf.train.TrackableView(root)
    return [obj for obj in view.descendants() if isinstance(obj, tf.Variable)]


def read_hub(handle: str = DEFAULT_HANDLE) -> tuple[Weights, Path]:
    """Weights and the class-map CSV path of the hub model at ``handle``."""
    from instrument.model.runtime import collector_paused

    with collector_paused():  # its import loads much of TensorFlow's deferred API: no garbage to look for
        import tensorflow_hub as hub

    try:
        model = hub.load(handle)
    except Exception as err:  # tensorflow_hub raises many types (network, IO, parse)
        raise DreamSoundError(f"cannot load TF Hub model {handle}: {err}") from err
    named = {v.name: v.numpy() for v in _all_variables(model)}
    if not named:
        raise DreamSoundError(f"TF Hub model {handle} has no variables (not YAMNet?)")
    try:
        class_map = Path(model.class_map_path().numpy().decode("utf-8"))
    except AttributeError as err:
        raise DreamSoundError(f"TF Hub model {handle} has no class_map_path() (not YAMNet?)") from err
    weights = check_shapes(from_official_layout(named, handle), handle)
    return {k: (np.asarray(a), np.asarray(b)) for k, (a, b) in weights.items()}, class_map
