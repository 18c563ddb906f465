"""A recorded take loaded as mono at the device rate, to play into the engine as if it were the microphone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from instrument.audiofile import read_audio, resample
from instrument.errors import DreamSoundError


def load_input_file(path: str | Path, samplerate: int, channels: tuple[int, ...] | None = None) -> np.ndarray:
    """The file's selected channels (1-based; default all) mixed to mono and resampled to ``samplerate``."""
    data, rate = read_audio(path)
    if channels:
        missing = [c for c in channels if c > data.shape[1]]
        if missing:
            raise DreamSoundError(
                f"input file {path} has {data.shape[1]} channel(s);"
                f" cannot use channel(s) {', '.join(map(str, missing))}"
            )
        data = data[:, [c - 1 for c in channels]]
    mono = data.mean(axis=1).astype(np.float32)
    out = resample(mono, rate, samplerate)
    return np.ascontiguousarray(np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0), np.float32)
