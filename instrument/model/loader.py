"""Pick where YAMNet's weights come from and build the model with its class names.

Order of attempts (the first that works wins, and a failure names them all):

1. ``DREAMSOUND_YAMNET``: a source name (``hub``, ``h5``, ``tflite``), a weights
   file (``.h5``/``.tflite``), a SavedModel directory, or a TF Hub handle URL.
2. ``model.source`` in ``config.yaml`` with ``model.path``/``model.hub_handle``.
3. With ``source: auto``: ``yamnet.h5`` then ``yamnet.tflite`` in the weights
   cache (``dreamsound model fetch`` fills it), then the TF Hub model.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
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


def _weights_file(path: Path) -> Path:
    """The weights file (or SavedModel directory) ``path`` names; a clear error if there is none."""
    if not path.exists():
        raise DreamSoundError(f"{path}: no such file")
    if path.is_dir():
        for name in (WEIGHTS_FILE, "yamnet.tflite"):
            if (path / name).is_file():
                return path / name
        if (path / "saved_model.pb").is_file():
            return path
        raise DreamSoundError(f"{path}: a directory with neither {WEIGHTS_FILE}, yamnet.tflite nor saved_model.pb")
    if path.suffix not in (".tflite", ".h5", ".hdf5"):
        raise DreamSoundError(f"{path}: unknown weights file type; allowed: .h5, .tflite, a SavedModel directory")
    return path


def _from_file(path: Path, settings: ModelSettings, cache: Path) -> tuple[Weights, ClassMap]:
    from instrument.model.weights.h5 import read_h5
    from instrument.model.weights.tflite import read_tflite

    path = _weights_file(path)
    if path.is_dir():
        return _from_hub(str(path))
    weights = read_tflite(path) if path.suffix == ".tflite" else read_h5(path)
    return weights, _class_map_for(path, settings, cache)


def _from_hub(handle: str) -> tuple[Weights, ClassMap]:
    from instrument.model.weights.hub import read_hub

    weights, class_map_path = read_hub(handle)
    return weights, ClassMap.from_csv(class_map_path)


def _hub_on_disk(handle: str) -> bool:
    """Whether TF Hub would open ``handle`` without the network: a local SavedModel, or already in
    tensorflow_hub's cache (``$TFHUB_CACHE_DIR``, else ``TMPDIR/tfhub_modules``, one folder per handle's SHA-1)."""
    if not handle.startswith(("http://", "https://")):
        return (Path(handle) / "saved_model.pb").is_file()
    cache = os.environ.get("TFHUB_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "tfhub_modules")
    return (Path(cache) / hashlib.sha1(handle.encode("utf-8")).hexdigest() / "saved_model.pb").is_file()


def _attempts(settings: ModelSettings) -> list[tuple[str, str, str]]:
    """(description, "file" or "hub", path or handle) in the order they are tried."""
    env = os.environ.get(ENV_VAR, "").strip()
    source, path, handle = settings.source, settings.path, settings.hub_handle
    cache = _cache(settings)
    if env in SOURCES:
        source = env
    elif env.startswith(("http://", "https://")):
        source, handle = "hub", env
    elif env:
        return [(f"{ENV_VAR}={env}", "file", env)]
    if source == "hub":
        return [(f"TF Hub {handle}", "hub", path or handle)]
    if source in ("h5", "tflite"):
        chosen = Path(path) if path else cache / (WEIGHTS_FILE if source == "h5" else "yamnet.tflite")
        return [(f"{source} file {chosen}", "file", str(chosen))]
    attempts = [(f"model.path {path}", "file", path)] if path else []
    attempts += [(f"cached {cache / name}", "file", str(cache / name)) for name in (WEIGHTS_FILE, "yamnet.tflite")]
    return [*attempts, (f"TF Hub {handle}", "hub", handle)]


def _cache(settings: ModelSettings) -> Path:
    return Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()


def _not_found(tried: list[str], settings: ModelSettings) -> WeightsNotFoundError:
    return WeightsNotFoundError(
        "no YAMNet weights could be loaded. Tried: " + "; ".join(tried)
        + f". Either run `dreamsound model fetch` (online; for an offline machine copy {_cache(settings)} to it),"
        + f" or set {ENV_VAR}=/path/to/yamnet.h5 or yamnet.tflite with {CLASS_MAP_FILE} beside it."
    )


def find_weights(settings: ModelSettings | None = None) -> tuple[str, bool]:
    """Where the weights will come from, checked without TensorFlow (the audio process calls this
    before any device opens): ``(description, on_disk)``. ``on_disk`` is False when only a TF Hub
    download is left, which only loading can prove. Raises the loader's own error when no source can
    work: a missing or unknown file, no class map, a ``DREAMSOUND_YAMNET`` that names nothing."""
    settings = settings or ModelSettings()
    tried: list[str] = []
    for description, kind, target in _attempts(settings):
        if kind == "hub":
            return description, _hub_on_disk(target)
        try:
            found = _weights_file(Path(target))
            if not found.is_dir():
                _class_map_for(found, settings, _cache(settings))
        except DreamSoundError as err:
            tried.append(f"{description}: {err}")
            continue
        return description, True
    raise _not_found(tried, settings)


def load_yamnet(settings: ModelSettings | None = None) -> LoadedModel:
    """Build YAMNet from the first source that works; never falls back to random weights."""
    settings = settings or ModelSettings()
    tried: list[str] = []
    for description, kind, target in _attempts(settings):
        try:
            if kind == "hub":
                weights, classes = _from_hub(target)
            else:
                weights, classes = _from_file(Path(target), settings, _cache(settings))
        except DreamSoundError as err:
            tried.append(f"{description}: {err}")
            continue
        from instrument.model.network import YamNet

        return LoadedModel(YamNet(weights), classes, description, tried)
    raise _not_found(tried, settings)
