"""A recorded take on disk: ``STEM.wav`` (+ ``STEM-2.wav``…), ``STEM.params.jsonl``, captured target sounds.

The recorder rewrites the WAV header every 0.5 s, so after ``kill -9`` the header
may count fewer frames than the file holds. For the recorder's own layout
(58-byte header, 32-bit float) the frames are counted from the file's size, so a
cut-short take is read up to its last whole frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from instrument.errors import DreamSoundError

if TYPE_CHECKING:
    from instrument.replay.log import TakeLog

HEADER_BYTES = 58  # the recorder's WavWriter: RIFF + fmt (18) + fact + data
DRY, OUTPUT = 0, 1  # channels of a take


@dataclass
class Take:
    stem: str
    directory: Path
    parts: list[Path]
    audio: np.ndarray  # frames x channels (channel 0 = dry, 1 = what was played)
    samplerate: int
    recovered_frames: int  # frames read beyond what the headers counted (a cut-short take)

    @property
    def dry(self) -> np.ndarray:
        return self.audio[:, DRY]

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.stem}.params.jsonl"


def stem_of(path: Path) -> str:
    """``take-X.wav`` and its later parts ``take-X-2.wav``… -> ``take-X``."""
    match = re.fullmatch(r"(.+)-(\d+)", path.stem)
    if match and (path.parent / f"{match.group(1)}.wav").is_file():
        return match.group(1)
    return path.stem


def read_take(path: str | Path) -> Take:
    """The take whose first (or any) part is ``path``; its parts are read as one signal."""
    path = Path(path)
    if not path.is_file():
        raise DreamSoundError(f"take {path}: no such file")
    stem = stem_of(path)
    parts = [path.parent / f"{stem}.wav"]
    while (path.parent / f"{stem}-{len(parts) + 1}.wav").is_file():
        parts.append(path.parent / f"{stem}-{len(parts) + 1}.wav")
    chunks, rates, recovered = [], set(), 0
    for part in parts:
        audio, rate, extra = read_part(part)
        chunks.append(audio)
        rates.add(rate)
        recovered += extra
    if len(rates) != 1 or len({c.shape[1] for c in chunks}) != 1:
        raise DreamSoundError(f"take {stem}: its parts differ in rate or channels")
    audio = np.concatenate(chunks)
    if audio.shape[1] < 1 or audio.shape[0] == 0:
        raise DreamSoundError(f"take {path} holds no audio")
    return Take(stem, path.parent, parts, audio, rates.pop(), recovered)


def read_part(path: Path) -> tuple[np.ndarray, int, int]:
    """(frames x channels float32, rate, frames recovered beyond the header's count)."""
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as err:
        raise DreamSoundError(f"cannot read take {path}: {err}") from err
    with open(path, "rb") as f:
        head = f.read(HEADER_BYTES)
    ours = info.subtype == "FLOAT" and head[:4] == b"RIFF" and head[50:54] == b"data"
    if not ours:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        return audio, rate, 0
    frame_bytes = 4 * info.channels
    frames = (path.stat().st_size - HEADER_BYTES) // frame_bytes
    audio = np.fromfile(path, dtype="<f4", count=frames * info.channels, offset=HEADER_BYTES)
    audio = audio.reshape(frames, info.channels).astype(np.float32)
    return audio, info.samplerate, max(0, frames - info.frames)


def safe_name(name: str) -> str:
    """A target-sound name as it appears in a file name (the recorder uses the same rule)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def captured_target(directory: Path, stem: str, name: str, frame: int) -> Path | None:
    """The captured target sound ``name`` saved beside the take: the latest capture at or before ``frame``
    (``STEM.target.NAME.FRAME.wav``, written by the recorder when the sound was captured)."""
    found = []
    for candidate in directory.glob(f"{stem}.target.{safe_name(name)}.*.wav"):
        at = candidate.name.removesuffix(".wav").rsplit(".", 1)[-1]
        if at.isdigit() and int(at) <= frame:
            found.append((int(at), candidate))
    return max(found)[1] if found else None


def files_read(take: Take, log: TakeLog, sound_dir: Path | None) -> list[Path]:
    """Every file a replay of ``take`` may read: its parts, its log, the target sounds captured beside
    it and each place a logged target sound is looked for (as ``replay._with_sound`` does). The output
    is checked against these before anything is dreamed (``instrument.audiofile.check_output``)."""
    files = [*take.parts, *take.directory.glob(f"{take.stem}.target.*.wav")]
    if log.path is not None:
        files.append(log.path)
    names = {log.start.get("target_sound")} | {c.value for c in log.changes if c.name == "target_sound"}
    for name in filter(None, names):
        files.append(Path(str(name)))
        if sound_dir is not None:
            files.append(Path(sound_dir) / Path(str(name)).name)
    return files
