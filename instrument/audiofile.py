"""Audio files in and out: read anything soundfile reads, resample with soxr, write atomically.

``check_output`` is the one guard every command that writes a file calls first: no command
writes over a file it reads (``render``, ``replay``; a future ``batch`` the same way).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from instrument.errors import DreamSoundError


def check_readable(path: str | Path, what: str = "audio file") -> Path:
    """``path`` if it is a file; otherwise "``what`` PATH: no such file" (soundfile would say "System error")."""
    path = Path(path)
    if path.is_dir():
        raise DreamSoundError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        raise DreamSoundError(f"{what} {path}: no such file")
    return path


def audio_info(path: str | Path, what: str = "audio file") -> Any:
    """soundfile's ``info`` with the errors a user can act on: no such file, not audio."""
    path = check_readable(path, what)
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as err:
        raise DreamSoundError(f"cannot read {what} {path}: {err}") from err


def check_output(output: str | Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse to write ``output`` when it is, or resolves to, any of ``inputs`` (the files the command reads).

    The same file by its name, a relative path, a symlink (either way) or a hard link: compared by
    resolved path and, where both exist, by device and inode (which also catches a case-insensitive
    file system's other spelling). None among ``inputs`` is skipped (an option not given).
    """
    out = Path(output)
    resolved = os.path.realpath(out)
    for source in inputs:
        if source is None:
            continue
        src = Path(source)
        same = os.path.realpath(src) == resolved
        if not same and out.exists() and src.exists():
            same = os.path.samefile(out, src)
        if same:
            shown = f"{src}" if str(src) == str(out) else f"{src} (the same file as {out})"
            raise DreamSoundError(f"refusing to write {out}: this command reads {shown}; choose another output file")


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """``(frames x channels float32, sample rate)``; a clear error if missing, unreadable or empty."""
    path = check_readable(path)
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
    tmp = _create_beside(path)
    try:
        sf.write(str(tmp), data, rate, subtype=subtype)
        os.replace(tmp, path)
    except Exception as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, (sf.LibsndfileError, OSError, RuntimeError, ValueError)):
            raise DreamSoundError(f"cannot write {path}: {err}") from err
        raise


def _create_beside(path: Path) -> Path:
    """A new empty file next to ``path``, created with mode 0666 so the umask decides its permissions
    (``tempfile.mkstemp`` makes it 0600, and ``os.replace`` would give the output that mode)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{path.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
        except OSError as err:
            raise DreamSoundError(f"cannot write {path}: {err.strerror or err}") from err
    raise DreamSoundError(f"cannot write {path}: no free temporary name beside it")
