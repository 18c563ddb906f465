"""Audio files in and out: read anything soundfile reads, resample with soxr, write atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from instrument.errors import DreamSoundError


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """``(frames x channels float32, sample rate)``; a clear error if unreadable or empty."""
    path = Path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as err:
        raise DreamSoundError(f"cannot read audio file {path}: {err}") from err
    if data.shape[0] == 0:
        raise DreamSoundError(f"audio file {path} is empty (0 samples)")
    if not np.all(np.isfinite(data)):
        data = np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0)
    return data, int(rate)


def to_mono(data: np.ndarray) -> np.ndarray:
    """Mix ``frames x channels`` down to one channel."""
    return data.mean(axis=1) if data.ndim == 2 else data


def resample(signal: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample along the first axis (soxr, high quality); a no-op when the rates match."""
    if rate_in == rate_out:
        return np.ascontiguousarray(signal, dtype=np.float32)
    return soxr.resample(signal, rate_in, rate_out, quality="HQ").astype(np.float32)


def fit_length(signal: np.ndarray, length: int) -> np.ndarray:
    """``signal`` trimmed or zero-padded along its first axis to ``length`` (returned as is when it fits)."""
    have = signal.shape[0]
    if have == length:
        return signal
    if have > length:
        return signal[:length]
    return np.concatenate([signal, np.zeros((length - have, *signal.shape[1:]), signal.dtype)])


def write_audio_atomic(path: str | Path, data: np.ndarray, rate: int, subtype: str | None = None) -> None:
    """Write a file so that a reader never sees it half-written and a failure leaves nothing."""
    path = Path(path)
    if path.suffix.lower().lstrip(".") not in {k.lower() for k in sf.available_formats()}:
        raise DreamSoundError(f"cannot write {path}: unknown audio file extension; use e.g. .wav, .flac, .ogg")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as err:
        raise DreamSoundError(f"cannot write {path}: {err}") from err
    os.close(fd)
    try:
        sf.write(tmp, data, rate, subtype=subtype)
        os.replace(tmp, path)
    except Exception as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, (sf.LibsndfileError, OSError, RuntimeError, ValueError)):
            raise DreamSoundError(f"cannot write {path}: {err}") from err
        raise
