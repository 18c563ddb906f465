"""Read the official Keras ``yamnet.h5`` (``model.save_weights`` layout) with h5py."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from instrument.errors import DreamSoundError
from instrument.model.weights import Weights, check_shapes, from_official_layout


def read_h5(path: str | Path) -> Weights:
    path = Path(path)
    named: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:

            def collect(name: str, obj: object) -> None:
                if isinstance(obj, h5py.Dataset):
                    named[name] = obj[()]

            f.visititems(collect)
    except (OSError, ValueError) as err:
        raise DreamSoundError(f"cannot read YAMNet weights {path}: not a readable HDF5 file ({err})") from err
    return check_shapes(from_official_layout(named, str(path)), str(path))
