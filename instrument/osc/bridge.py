"""What the OSC server needs from a running live engine, in one adapter.

Class names, class search, capturing the live input as the target sound, and the
status figures, all read from the engine's thread-safe controls and metrics. The
class names come from the dream process once it has loaded the model; until then
class indices work and names are answered with "the model is still loading".
"""

from __future__ import annotations

import math
import threading
from typing import Any

from instrument.errors import DreamSoundError


def _db(peak: float) -> float:
    return round(20.0 * math.log10(peak), 1) if peak > 1e-6 else -120.0


class LiveInstrument:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.controls = engine.controls
        self.activity = getattr(engine, "activity", None)  # what ran when, for the soak's xrun report
        self._captures: set[str] = set()
        self._count = 0
        self._lock = threading.Lock()

    @property
    def _classes(self) -> Any:
        classes = self.engine.classes
        if classes is None:
            raise DreamSoundError("the model is still loading; class names are known once it has loaded")
        return classes

    def class_name(self, target: int | str) -> tuple[int, str]:
        if self.engine.classes is None and (isinstance(target, int) or str(target).strip().isdigit()):
            return int(target), f"class {int(target)}"
        index = self._classes.lookup(target)
        return index, self._classes[index].name

    def search_classes(self, query: str) -> list[tuple[int, str]]:
        classes = self._classes
        if query.strip().isdigit() and int(query) < len(classes):
            return [(int(query), classes[int(query)].name)]
        return [(c.index, c.name) for c in classes.search(query)]

    def capture_target(self, seconds: float) -> str:
        """The newest ``seconds`` of live input become the target sound (and ``target_sound``)."""
        with self._lock:
            self._count += 1
            name = f"capture-{self._count}"
        self.engine.capture_target(name, seconds)
        self._captures.add(name)
        self.controls.set("target_sound", name)
        return name

    def captured_names(self) -> set[str]:
        return set(self._captures)

    def status(self) -> dict[str, Any]:
        m = self.controls.metrics(reset_peaks=False)  # the engine's own status line resets them
        names = self.engine.classes

        def top(prefix: str) -> tuple[int, float, str]:
            index = int(m.get(f"{prefix}_class", -1))
            name = names[index].name if names is not None and index >= 0 else "-"
            return index, float(m.get(f"{prefix}_score", 0.0)), name

        input_class, input_score, input_name = top("input")
        output_class, output_score, output_name = top("output")
        return {
            "input_class": input_class, "input_score": input_score, "input_name": input_name,
            "output_class": output_class, "output_score": output_score, "output_name": output_name,
            "input_db": _db(m["input_peak"]), "output_db": _db(m["output_peak"]),
            "iterations_per_second": round(m["iterations_per_second"], 1),  # the terminal's figure, too
            "iterations_per_window": m["iterations_per_window"],
            "iterations_per_sample": m.get("iterations_per_sample", 0.0),
            "xruns": m["xruns"],
            "latency": m["latency"] if m["latency"] is not None else 0.0,
            "recording": m["recording"],
            "engine": m["engine_state"],
        }
