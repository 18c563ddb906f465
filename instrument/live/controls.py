"""The one thread-safe object holding every performance parameter and exposing the engine's metrics.

The OSC server, the command line and the tests drive the instrument through it:
``get(name)``, ``set(name, value)`` (validated; returns the accepted value),
``snapshot()`` (an immutable ``LiveSnapshot``), ``metrics()``, and listeners
called after every accepted change.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from instrument.dream.params import DreamParams, class_target
from instrument.errors import DreamSoundError
from instrument.live.metrics import METRIC_NAMES, Metrics
from instrument.live.settings import LiveSettings

Listener = Callable[[str, Any], None]

# Live settings a performer changes: name -> (low, high) for numbers, None for switches.
LIVE_RANGES: dict[str, tuple[float, float] | None] = {
    "mix": (0.0, 1.0),
    "gain": (-60.0, 24.0),
    "ceiling": (-40.0, 0.0),
    "freeze": None,
    "record": None,
}
FLOAT_PARAMS = ("threshold", "step", "power")
INT_PARAMS = ("iterations", "filter_fft", "filter_hop")


@dataclass(frozen=True)
class LiveSnapshot:
    """Everything the performer controls, at one instant."""

    params: DreamParams
    mix: float
    gain: float  # dB
    ceiling: float  # dBFS
    freeze: bool
    record: bool

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self.params)
        values.update(mix=self.mix, gain=self.gain, ceiling=self.ceiling, freeze=self.freeze, record=self.record)
        return values


@dataclass(frozen=True)
class FastControls:
    """What the audio callback reads each block, precomputed (linear factors)."""

    mix: float
    gain: float  # linear
    ceiling: float  # linear
    freeze: bool


def db_to_linear(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "on", "off", "yes", "no", "1", "0"):
        return value.strip().lower() in ("true", "on", "yes", "1")
    raise DreamSoundError(f"{name} {value!r} must be true or false (or 1/0)")


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise DreamSoundError(f"{name} {value!r} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DreamSoundError(f"{name} {value!r} must be a finite number")
    return float(value)


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().removeprefix("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DreamSoundError(f"{name} {value!r} must be a whole number")
    return value


class Controls:
    """Thread-safe parameters (dream + live) and the metrics, behind one object."""

    def __init__(
        self,
        params: DreamParams | None = None,
        live: LiveSettings | None = None,
        record: bool = False,
        metrics: Metrics | None = None,
        validate: Callable[[DreamParams], None] | None = None,
    ) -> None:
        live = live or LiveSettings()
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._validate = validate  # e.g. Dreamer.check: resolves class names, loads target sounds
        self.metrics_source = metrics or Metrics()
        self._snapshot = LiveSnapshot(
            params=params or DreamParams(),
            mix=float(live.mix),
            gain=float(live.gain),
            ceiling=float(live.ceiling),
            freeze=bool(live.freeze),
            record=bool(record),
        )
        self.fast = self._fast(self._snapshot)

    @staticmethod
    def _fast(snap: LiveSnapshot) -> FastControls:
        return FastControls(snap.mix, db_to_linear(snap.gain), db_to_linear(snap.ceiling), snap.freeze)

    # --- names --------------------------------------------------------------------------
    @staticmethod
    def parameter_names() -> tuple[str, ...]:
        return DreamParams.field_names() + tuple(LIVE_RANGES)

    @staticmethod
    def metric_names() -> tuple[str, ...]:
        return METRIC_NAMES

    def set_validator(self, validate: Callable[[DreamParams], None] | None) -> None:
        self._validate = validate

    # --- reading -----------------------------------------------------------------------
    def snapshot(self) -> LiveSnapshot:
        return self._snapshot  # immutable; replaced atomically on every change

    @property
    def params(self) -> DreamParams:
        return self._snapshot.params

    def get(self, name: str) -> Any:
        snap = self._snapshot
        if name in LIVE_RANGES:
            return getattr(snap, name)
        if name in DreamParams.field_names():
            return getattr(snap.params, name)
        if name in METRIC_NAMES:
            return self.metrics_source.snapshot(reset_peaks=False)[name]
        raise DreamSoundError(f"unknown parameter {name!r}; parameters: {', '.join(self.parameter_names())}")

    def metrics(self, reset_peaks: bool = True) -> dict[str, Any]:
        """The engine's metrics (peaks are held since the previous call when ``reset_peaks``)."""
        return self.metrics_source.snapshot(reset_peaks=reset_peaks)

    # --- writing -----------------------------------------------------------------------
    def set(self, name: str, value: Any) -> Any:
        """Validate and apply one change; returns the accepted value. Raises DreamSoundError if refused."""
        return self.set_many({name: value})[name]

    def set_many(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate every change, then apply them all in one swap (a preset), or none if one is refused.

        The worker reads one snapshot per iteration, so it never sees half a preset.
        """
        with self._lock:
            snap = self._snapshot
            accepted: dict[str, Any] = {}
            live_changes: dict[str, Any] = {}
            param_changes: dict[str, Any] = {}
            for name, value in changes.items():
                if name in LIVE_RANGES:
                    bounds = LIVE_RANGES[name]
                    if bounds is None:
                        accepted[name] = _as_bool(name, value)
                    else:
                        accepted[name] = _as_float(name, value)
                        low, high = bounds
                        if not low <= accepted[name] <= high:
                            raise DreamSoundError(
                                f"{name} {accepted[name]:g} is out of range; allowed: {low:g} to {high:g}"
                            )
                    live_changes[name] = accepted[name]
                elif name in DreamParams.field_names():
                    accepted[name] = param_changes[name] = self._coerce_param(name, value)
                elif name in METRIC_NAMES:
                    raise DreamSoundError(f"{name} is a metric and read-only")
                else:
                    raise DreamSoundError(
                        f"unknown parameter {name!r}; parameters: {', '.join(self.parameter_names())}"
                    )
            new = dataclasses.replace(snap, **live_changes)
            if param_changes:
                params = snap.params.replace(**param_changes)
                if self._validate is not None:
                    self._validate(params)
                new = dataclasses.replace(new, params=params)
            self._snapshot = new
            self.fast = self._fast(new)
            listeners = list(self._listeners)
        for name, value in accepted.items():
            for listener in listeners:
                try:
                    listener(name, value)
                except Exception as err:  # the change is made: a listener's trouble must not undo or hide it
                    self.metrics_source.listener_errors += 1
                    self.metrics_source.last_listener_error = f"listener for {name}: {type(err).__name__}: {err}"
        return accepted

    def update(self, **changes: Any) -> dict[str, Any]:
        """Several changes, each validated and applied in order; returns the accepted values."""
        return {name: self.set(name, value) for name, value in changes.items()}

    @staticmethod
    def _coerce_param(name: str, value: Any) -> Any:
        if name in FLOAT_PARAMS:
            return _as_float(name, value)
        if name in INT_PARAMS:
            return _as_int(name, value)
        if name == "flip":
            return _as_bool(name, value)
        if name == "target_class":
            return class_target(value)
        if name == "target_sound":
            return None if value in (None, "", "none") else value
        return value

    # --- listeners ---------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(name, accepted_value)`` after every change (in the changing thread); returns a remover."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove
