"""Pick where YAMNet's weights come from and build the model with its class names.

Order of attempts (the first that works wins, and a failure names them all):

1. ``DREAMSOUND_YAMNET``: a source name (``hub``, ``h5``, ``tflite``), a weights
   file (``.h5``/``.tflite``), a SavedModel directory, or a TF Hub handle URL.
2. ``model.source`` in ``config.yaml`` with ``model.path``/``model.hub_handle``.
3. With ``source: auto``: ``yamnet.h5`` then ``yamnet.tflite`` in the weights
   cache (``dreamsound model fetch`` fills it), then the TF Hub model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instrument.errors import DreamSoundError, WeightsNotFoundError
from instrument.model.classes import ClassMap
from instrument.model.weights import DEFAULT_HANDLE, Weights
from instrument.model.weights.fetch import CLASS_MAP_FILE, WEIGHTS_FILE, default_cache_dir
from instrument.spec import check_fields, setting

SOURCES = ("auto", "hub", "h5", "tflite")
ENV_VAR = "DREAMSOUND_YAMNET"


@dataclass(frozen=True)
class ModelSettings:
    """Where YAMNet's weights come from (docs/model.md, "Where the weights come from")."""

    source: str = setting("auto", kind="choice", choices=SOURCES, description="where YAMNet's weights come from",
                          comment="auto tries yamnet.h5, then yamnet.tflite in the cache (`dreamsound model fetch`),"
                          " then TF Hub. The environment variable DREAMSOUND_YAMNET overrides this section"
                          " (a source name, a .h5/.tflite file, a SavedModel directory, or a hub URL).")
    path: str | None = setting(None, kind="text", nullable=True,
                               description="a weights file or SavedModel directory (h5/tflite/hub)")
    class_map: str | None = setting(None, kind="text", nullable=True,
                                    description="yamnet_class_map.csv; default: beside the weights, then the cache")
    hub_handle: str = setting(DEFAULT_HANDLE, kind="text", description="the TF Hub model's address")
    cache_dir: str | None = setting(None, kind="text", nullable=True,
                                    description="default: $DREAMSOUND_CACHE, else ~/.cache/dreamsound")

    def __post_init__(self) -> None:
        check_fields(self, "model.")


@dataclass
class LoadedModel:
    model: Any  # instrument.model.network.YamNet
    classes: ClassMap
    description: str
    tried: list[str] = field(default_factory=list)


def _class_map_for(weights_path: Path | None, settings: ModelSettings, cache: Path) -> ClassMap:
    candidates = []
    if settings.class_map:
        candidates.append(Path(settings.class_map))
    if weights_path is not None:
        candidates.append(weights_path.parent / CLASS_MAP_FILE)
    candidates.append(cache / CLASS_MAP_FILE)
    for path in candidates:
        if path.is_file():
            return ClassMap.from_csv(path)
    raise DreamSoundError(
        f"no class map found (looked for {', '.join(str(p) for p in candidates)});"
        f" set model.class_map in config.yaml or put {CLASS_MAP_FILE} beside the weights"
    )


def _from_file(path: Path, settings: ModelSettings, cache: Path) -> tuple[Weights, ClassMap]:
    from instrument.model.weights.h5 import read_h5
    from instrument.model.weights.tflite import read_tflite

    if not path.exists():
        raise DreamSoundError(f"{path}: no such file")
    if path.is_dir():
        for name in (WEIGHTS_FILE, "yamnet.tflite"):
            if (path / name).is_file():
                return _from_file(path / name, settings, cache)
        if (path / "saved_model.pb").is_file():
            return _from_hub(str(path))
        raise DreamSoundError(f"{path}: a directory with neither {WEIGHTS_FILE}, yamnet.tflite nor saved_model.pb")
    if path.suffix == ".tflite":
        weights = read_tflite(path)
    elif path.suffix in (".h5", ".hdf5"):
        weights = read_h5(path)
    else:
        raise DreamSoundError(f"{path}: unknown weights file type; allowed: .h5, .tflite, a SavedModel directory")
    return weights, _class_map_for(path, settings, cache)


def _from_hub(handle: str) -> tuple[Weights, ClassMap]:
    from instrument.model.weights.hub import read_hub

    weights, class_map_path = read_hub(handle)
    return weights, ClassMap.from_csv(class_map_path)


def _attempts(settings: ModelSettings, cache: Path) -> list[tuple[str, object]]:
    """(description, thunk) pairs in the order they are tried."""
    env = os.environ.get(ENV_VAR, "").strip()
    source, path, handle = settings.source, settings.path, settings.hub_handle
    if env in SOURCES:
        source = env
    elif env.startswith(("http://", "https://")):
        source, handle = "hub", env
    elif env:
        return [(f"{ENV_VAR}={env}", lambda: _from_file(Path(env), settings, cache))]
    if source == "hub":
        return [(f"TF Hub {handle}", lambda: _from_hub(path or handle))]
    if source in ("h5", "tflite"):
        default = cache / (WEIGHTS_FILE if source == "h5" else "yamnet.tflite")
        chosen = Path(path) if path else default
        return [(f"{source} file {chosen}", lambda: _from_file(chosen, settings, cache))]
    attempts: list[tuple[str, object]] = []
    if path:
        attempts.append((f"model.path {path}", lambda: _from_file(Path(path), settings, cache)))
    for name in (WEIGHTS_FILE, "yamnet.tflite"):
        candidate = cache / name
        attempts.append((f"cached {candidate}", lambda c=candidate: _from_file(c, settings, cache)))
    attempts.append((f"TF Hub {handle}", lambda: _from_hub(handle)))
    return attempts


def load_yamnet(settings: ModelSettings | None = None) -> LoadedModel:
    """Build YAMNet from the first source that works; never falls back to random weights."""
    settings = settings or ModelSettings()
    cache = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
    tried: list[str] = []
    for description, attempt in _attempts(settings, cache):
        try:
            weights, classes = attempt()  # type: ignore[operator]
        except DreamSoundError as err:
            tried.append(f"{description}: {err}")
            continue
        from instrument.model.network import YamNet

        return LoadedModel(YamNet(weights), classes, description, tried)
    raise WeightsNotFoundError(
        "no YAMNet weights could be loaded. Tried: "
        + "; ".join(tried)
        + ". To get them: run `dreamsound model fetch` on a connected machine (copy "
        + f"{cache} to an offline one), or set {ENV_VAR}=/path/to/yamnet.h5 or yamnet.tflite"
        + f" with {CLASS_MAP_FILE} beside it."
    )
