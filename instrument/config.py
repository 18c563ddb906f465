"""The instrument's configuration: built-in defaults overridden by a YAML file, every key checked.

``Config`` has one typed field per section of ``config.yaml``; each section is a dataclass whose
fields describe themselves (``instrument.spec``) and check their own values, so a wrong value fails
with the same message wherever it comes from (file, command line, OSC). ``config.yaml`` is written
from those descriptions (``write_config_yaml``; a test checks the file equals it).

Imports the sections' dataclasses only: no live audio, no OSC, no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.model.loader import ModelSettings
from instrument.settings import AudioSettings, EngineSettings, LiveSettings, OscSettings, RecordSettings, RenderSettings
from instrument.spec import Spec, specs

ENV_CONFIG = "DREAMSOUND_CONFIG"
ENV_DATA = "DREAMSOUND_DATA"
# The settings that name a file or folder the instrument writes or looks in, by section.
FILE_SETTINGS: dict[str, tuple[str, ...]] = {"record": ("dir",), "osc": ("presets_file", "target_sound_dir")}


@dataclass(frozen=True)
class Config:
    model: ModelSettings = field(default_factory=ModelSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    dream: DreamParams = field(default_factory=DreamParams)
    render: RenderSettings = field(default_factory=RenderSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    live: LiveSettings = field(default_factory=LiveSettings)
    record: RecordSettings = field(default_factory=RecordSettings)
    osc: OscSettings = field(default_factory=OscSettings)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]


def _build(section: str, cls: type, values: Any, origin: str) -> Any:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise DreamSoundError(f"{origin}: section {section!r} must be a mapping of keys to values")
    allowed = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in allowed:
            raise DreamSoundError(f"{origin}: unknown key {section}.{key}; allowed: {', '.join(allowed)}")
    try:
        return cls(**values)
    except DreamSoundError as err:
        raise DreamSoundError(f"{origin}: {err}") from err


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overridden by ``path`` (or ``$DREAMSOUND_CONFIG``) when given."""
    path = config_path(path)
    raw: dict[str, Any] = {}
    origin = "built-in defaults"
    if path:
        origin = str(path)
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as err:
            raise DreamSoundError(f"cannot read config file {path}: {err}") from err
        except yaml.YAMLError as err:
            raise DreamSoundError(f"config file {path} is not valid YAML: {err}") from err
        if not isinstance(raw, dict):
            raise DreamSoundError(f"config file {path} must be a mapping of sections")
    for key in raw:
        if key not in SECTIONS:
            raise DreamSoundError(f"{origin}: unknown section {key!r}; allowed: {', '.join(SECTIONS)}")
    return Config(**{name: _build(name, cls, raw.get(name), origin) for name, cls in SECTIONS.items()})


def user_data_dir() -> Path:
    """The per-user folder for takes, presets and target sounds when no config file is given:
    ``$DREAMSOUND_DATA``, else the platform's data folder (``$XDG_DATA_HOME/dreamsound`` or
    ``~/.local/share/dreamsound``; ``~/Library/Application Support/DreamSound`` on macOS;
    ``%APPDATA%\\DreamSound`` on Windows)."""
    if os.environ.get(ENV_DATA):
        return Path(os.environ[ENV_DATA]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "DreamSound"
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "DreamSound"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "dreamsound"


def config_path(path: str | Path | None = None) -> Path | None:
    """The config file in use: ``path``, else ``$DREAMSOUND_CONFIG``, else none (built-in defaults)."""
    path = path or os.environ.get(ENV_CONFIG)
    return Path(path) if path else None


def place_files(config: Config, path: str | Path | None = None) -> Config:
    """``config`` with its relative file locations (``FILE_SETTINGS``) made absolute: under the config
    file's folder when there is one (a piece's folder holds its config, takes, presets and sounds),
    else under ``user_data_dir()``; never the current directory, which changes with where a command
    was started. ``~`` is expanded; absolute paths stay."""
    file = config_path(path)
    base = file.resolve().parent if file is not None else user_data_dir()
    sections = {}
    for section, names in FILE_SETTINGS.items():
        values = getattr(config, section)
        changes = {}
        for name in names:
            value = Path(getattr(values, name)).expanduser()
            changes[name] = str(value if value.is_absolute() else base / value)
        sections[section] = dataclasses.replace(values, **changes)
    return dataclasses.replace(config, **sections)


def defaults_as_dict() -> dict[str, dict[str, Any]]:
    """Every section's defaults, as plain data (compared with ``config.yaml`` in tests)."""
    return {name: dataclasses.asdict(cls()) for name, cls in SECTIONS.items()}


YAML_HEADER = """\
# DreamSound Live — default configuration.
# Written from the settings' own descriptions by `python tools/write_config_yaml.py` (a test checks this file
# equals its output, so the defaults, ranges and notes here are the code's).
# Copy this file, change what you need, and pass it with `dreamsound --config FILE ...` (before or after the
# command), or set DREAMSOUND_CONFIG. Unknown keys and out-of-range values are refused with a message naming
# the key and what is allowed.
"""


def _yaml_value(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).removesuffix("\n...\n").strip()


def _yaml_note(spec: Spec) -> str:
    allowed = "" if spec.kind == "bool" or (spec.kind == "choice" and len(spec.choices) > 6) else spec.allowed
    text = spec.description + (f"; {spec.comment}" if spec.comment else "")
    return f"{allowed}: {text}" if allowed else text


def config_yaml() -> str:
    """The commented ``config.yaml``: every section's defaults, each key with its range and description."""
    lines = [YAML_HEADER]
    for section, cls in SECTIONS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"{section}:  # {doc}" if doc else f"{section}:")
        values = dataclasses.asdict(cls())
        for name, spec in specs(cls).items():
            entry = f"  {name}: {_yaml_value(values[name])}"
            line = f"{entry.ljust(27)} # {_yaml_note(spec)}"
            if len(line) > 110:  # the note above the key instead
                lines += textwrap.wrap(_yaml_note(spec), 110, initial_indent="  # ", subsequent_indent="  # ")
                line = entry
            lines.append(line)
        lines.append("")
    return "\n".join(lines)
