"""The instrument's configuration: built-in defaults (mirrored, commented, in
``config.yaml``) overridden by a YAML file, every key checked.

Each section maps onto a dataclass that validates its own values, so a wrong
value fails with the same message wherever it comes from (file, CLI, OSC).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.model.loader import ModelSettings
from instrument.model.runtime import DEVICES

ENV_CONFIG = "DREAMSOUND_CONFIG"


@dataclass(frozen=True)
class EngineSettings:
    """How TensorFlow runs: ``threads`` for its pools (0 = its default), ``device``."""

    threads: int = 1
    device: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise DreamSoundError(f"engine.threads {self.threads!r} must be a whole number >= 0")
        if self.device not in DEVICES:
            raise DreamSoundError(f"engine.device {self.device!r} is not allowed; allowed: {', '.join(DEVICES)}")


@dataclass(frozen=True)
class RenderSettings:
    """Offline render and replay: the whole signal dreamed as one (see ``instrument.dream.render``).

    ``coverage``: windows over every sample per iteration (1 to 8); ``chunk_seconds``: longest
    piece dreamed in one buffer (2 to 120); ``crossfade_seconds``: joins between pieces and
    between replay regions (0.01 to 1); ``seed``: the window offsets' random seed.
    """

    coverage: float = 2.0
    chunk_seconds: float = 20.0
    crossfade_seconds: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        for name, low, high in (("coverage", 1.0, 8.0), ("chunk_seconds", 2.0, 120.0),
                                ("crossfade_seconds", 0.01, 1.0)):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
            if not number or not low <= value <= high:
                raise DreamSoundError(f"render.{name} {value!r} is out of range; allowed: {low:g} to {high:g}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise DreamSoundError(f"render.seed {self.seed!r} must be a whole number >= 0")

    def layout(self):  # -> instrument.dream.render.Layout (imports TensorFlow lazily)
        from instrument.dream.render import Layout

        return Layout(self.coverage, self.chunk_seconds, self.crossfade_seconds)


@dataclass(frozen=True)
class Config:
    model: ModelSettings = field(default_factory=ModelSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    dream: DreamParams = field(default_factory=DreamParams)
    render: RenderSettings = field(default_factory=RenderSettings)
    # Sections owned by other packages (live audio, OSC) register here.
    extra: dict[str, Any] = field(default_factory=dict)


SECTIONS: dict[str, type] = {
    "model": ModelSettings,
    "engine": EngineSettings,
    "dream": DreamParams,
    "render": RenderSettings,
}


def register_section(name: str, cls: type) -> None:
    """Let another package (live engine, OSC) add a validated section."""
    SECTIONS[name] = cls


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


def _register_known_sections() -> None:
    # The live engine's and the OSC surface's sections live beside their code;
    # importing them (no TensorFlow) registers them.
    import instrument.live.settings
    import instrument.osc.settings  # noqa: F401


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overridden by ``path`` (or ``$DREAMSOUND_CONFIG``) when given."""
    _register_known_sections()
    path = path or os.environ.get(ENV_CONFIG)
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
    built = {name: _build(name, cls, raw.get(name), origin) for name, cls in SECTIONS.items()}
    core = {name: built.pop(name) for name in ("model", "engine", "dream", "render")}
    return Config(**core, extra=built)


def defaults_as_dict() -> dict[str, dict[str, Any]]:
    """Every section's defaults, as plain data (compared with ``config.yaml`` in tests)."""
    _register_known_sections()
    return {name: dataclasses.asdict(cls()) for name, cls in SECTIONS.items()}
