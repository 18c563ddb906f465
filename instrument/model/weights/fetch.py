"""``dreamsound model fetch``: download the official YAMNet weights and class map.

Writes are resume-safe: each file downloads into ``NAME.part`` (continued with
an HTTP Range request when the server allows it), is checked (SHA-256, and the
weights must load as YAMNet), and only then renamed into place. A failed or
interrupted download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from instrument.errors import DreamSoundError

WEIGHTS_FILE = "yamnet.h5"
CLASS_MAP_FILE = "yamnet_class_map.csv"


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    sha256: str | None  # None: no published checksum; the computed one is recorded


OFFICIAL_FILES = (
    RemoteFile(WEIGHTS_FILE, "https://storage.googleapis.com/audioset/yamnet.h5", None),
    RemoteFile(
        CLASS_MAP_FILE,
        "https://raw.githubusercontent.com/tensorflow/models/master/research/audioset/yamnet/yamnet_class_map.csv",
        "cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2",
    ),
)

_CHUNK = 1 << 16


def default_cache_dir() -> Path:
    """``$DREAMSOUND_CACHE``, else ``$XDG_CACHE_HOME/dreamsound``, else ``~/.cache/dreamsound``."""
    if os.environ.get("DREAMSOUND_CACHE"):
        return Path(os.environ["DREAMSOUND_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dreamsound"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _published_sums(base_url: str, timeout: float) -> dict[str, str]:
    """``SHA256SUMS`` next to the files, if the server has one (``HASH  NAME`` lines)."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/SHA256SUMS", timeout=timeout) as r:
            text = r.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return {}
    sums = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def _download(url: str, part: Path, progress: Progress, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the part file is already whole
            return
        raise DreamSoundError(f"cannot download {url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DreamSoundError(f"cannot download {url}: {reason}") from err
    with response:
        resumed = response.status == 206
        length = response.headers.get("Content-Length")
        total = (int(length) + (have if resumed else 0)) if length else None
        task = progress.add_task(part.name.removesuffix(".part"), total=total, completed=have if resumed else 0)
        with part.open("ab" if resumed else "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                progress.advance(task, len(chunk))
            out.flush()
            os.fsync(out.fileno())


def fetch(
    dest: Path | None = None,
    base_url: str | None = None,
    checksums: dict[str, str] | None = None,
    *,
    timeout: float = 30.0,
    console: Console | None = None,
    validate: Callable[[str, Path], None] | None = None,
) -> list[Path]:
    """Download the official files into ``dest``; return their final paths.

    ``base_url`` replaces the official locations with ``BASE/NAME`` (a mirror,
    or a local server in tests); its ``SHA256SUMS``, if present, is used.
    ``checksums`` (name -> sha256) overrides every other source of checksums.
    ``validate(name, path)`` checks a downloaded file before it is moved into place.
    """
    dest = dest or default_cache_dir()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DreamSoundError(f"cannot create the weights cache {dest}: {err}") from err
    console = console or Console(stderr=True)
    published = _published_sums(base_url, timeout) if base_url else {}
    done: list[Path] = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=console, transient=False,
    ) as progress:
        for remote in OFFICIAL_FILES:
            url = f"{base_url.rstrip('/')}/{remote.name}" if base_url else remote.url
            expected = (checksums or {}).get(remote.name) or published.get(remote.name) or remote.sha256
            final, part = dest / remote.name, dest / f"{remote.name}.part"
            _download(url, part, progress, timeout)
            actual = sha256_of(part)
            if expected and actual != expected.lower():
                part.unlink(missing_ok=True)
                raise DreamSoundError(
                    f"checksum mismatch for {remote.name} from {url}: got {actual}, expected {expected};"
                    " the partial file was removed, run the command again"
                )
            if validate:
                try:
                    validate(remote.name, part)
                except DreamSoundError:
                    part.unlink(missing_ok=True)
                    raise
            os.replace(part, final)
            (dest / f"{remote.name}.sha256").write_text(f"{actual}  {remote.name}\n", encoding="utf-8")
            if not expected:
                console.print(
                    f"[yellow]{remote.name}: no published checksum; recorded sha256 {actual}[/yellow]"
                )
            done.append(final)
    return done
