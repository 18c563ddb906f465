"""The one thread-safe object holding every performance parameter and exposing the engine's metrics.

The OSC server, the command line and the tests drive the instrument through it:
``get(name)``, ``set(name, value)`` (validated; returns the accepted value),
``snapshot()`` (an immutable ``LiveSnapshot``), ``metrics()``, and listeners
called after every accepted change. The live controls (``instrument.settings.LIVE_CONTROLS``)
are read from the settings, so a new one is one ``setting(..., live=True)`` on its field.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.live.metrics import METRIC_NAMES, Metrics
from instrument.settings import CONTROLS, LIVE_CONTROLS, LiveSettings, RecordSettings, control_default, control_value
from instrument.spec import specs

Listener = Callable[[str, Any], None]


_TYPES = {"float": float, "int": int, "bool": bool}


def _as_dict(self: Any) -> dict[str, Any]:
    return {**dataclasses.asdict(self.params), **{name: getattr(self, name) for name in LIVE_CONTROLS}}


# Everything the performer controls, at one instant: ``params`` (DreamParams), then one field per live control
# (mix, gain dB, ceiling dBFS, freeze, record, ...), as declared in the settings.
LiveSnapshot = dataclasses.make_dataclass(
    "LiveSnapshot",
    [("params", DreamParams), *((name, _TYPES.get(spec.kind, Any)) for name, spec in LIVE_CONTROLS.items())],
    frozen=True,
    namespace={"as_dict": _as_dict, "__doc__": "Everything the performer controls, at one instant.",
               "__module__": __name__},
)


def live_values(*sections: Any) -> dict[str, Any]:
    """The live controls' values in settings ``sections`` (LiveSettings, RecordSettings); defaults for the rest."""
    values = {name: control_default(name) for name in LIVE_CONTROLS}
    for section in sections:
        values.update({spec.control or name: getattr(section, name) for name, spec in specs(section).items()
                       if spec.live})
    return {name: control_value(name, value) for name, value in values.items()}


@dataclass(frozen=True)
class FastControls:
    """What the audio callback reads each block, precomputed (linear factors)."""

    mix: float
    gain: float  # linear
    ceiling: float  # linear
    freeze: bool


def db_to_linear(db: float) -> float:
    return float(10.0 ** (db / 20.0))


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
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._validate = validate  # e.g. Dreamer.check: resolves class names, loads target sounds
        self.metrics_source = metrics or Metrics()
        values = live_values(live or LiveSettings(), RecordSettings(enabled=bool(record)))
        self._snapshot = LiveSnapshot(params=params or DreamParams(), **values)
        self.fast = self._fast(self._snapshot)

    @staticmethod
    def _fast(snap: LiveSnapshot) -> FastControls:
        return FastControls(snap.mix, db_to_linear(snap.gain), db_to_linear(snap.ceiling), snap.freeze)

    # --- names --------------------------------------------------------------------------
    @staticmethod
    def parameter_names() -> tuple[str, ...]:
        return tuple(CONTROLS)

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
        if name in LIVE_CONTROLS:
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
            live_changes: dict[str, Any] = {}
            param_changes: dict[str, Any] = {}
            for name, value in changes.items():
                if name in METRIC_NAMES and name not in CONTROLS:  # (``iterations`` is both)
                    raise DreamSoundError(f"{name} is a metric and read-only")
                (live_changes if name in LIVE_CONTROLS else param_changes)[name] = control_value(name, value)
            new = dataclasses.replace(snap, **live_changes)
            if param_changes:
                params = snap.params.replace(**param_changes)
                if self._validate is not None:
                    self._validate(params)
                new = dataclasses.replace(new, params=params)
            # In the order given; dream fields as DreamParams reads them (``"-1"`` -> None).
            accepted = {name: live_changes[name] if name in live_changes else getattr(new.params, name)
                        for name in changes}
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
