"""Numbered parameter sets in one YAML file, written atomically.

Saving writes a temporary file beside the presets file, flushes it to disk and
renames it over the old one, so a crash mid-save leaves either the old file or
the new one, never a torn one.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

from instrument.errors import DreamSoundError

# Not stored: recording is an action, not a sound setting.
NOT_IN_PRESETS = ("record",)


class PresetStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def read_all(self) -> dict[int, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise DreamSoundError(f"cannot read presets file {self.path}: {err}") from err
        presets = data.get("presets", {}) if isinstance(data, dict) else None
        if not isinstance(presets, dict):
            raise DreamSoundError(f"presets file {self.path} must hold a 'presets:' mapping of numbers to settings")
        try:
            return {int(k): dict(v) for k, v in presets.items() if isinstance(v, dict)}
        except (TypeError, ValueError) as err:
            raise DreamSoundError(f"presets file {self.path}: preset numbers must be whole numbers ({err})") from err

    def load(self, number: int) -> dict[str, Any]:
        presets = self.read_all()
        if number not in presets:
            have = ", ".join(str(n) for n in sorted(presets)) or "none"
            raise DreamSoundError(f"preset {number} does not exist in {self.path}; saved presets: {have}")
        return presets[number]

    def save(self, number: int, values: dict[str, Any]) -> None:
        stored = {k: v for k, v in values.items() if k not in NOT_IN_PRESETS}
        with self._lock:
            presets = self.read_all()
            presets[number] = stored
            text = yaml.safe_dump({"presets": dict(sorted(presets.items()))}, sort_keys=False)
            tmp: str | None = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except OSError as err:
                if tmp:
                    Path(tmp).unlink(missing_ok=True)
                raise DreamSoundError(f"cannot save preset {number} to {self.path}: {err}") from err
