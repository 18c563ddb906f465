"""What the audio process and the dream process say to each other, and what the dream process drives.

Every message on the two pipes is one of the frozen dataclasses below (pickled by
``multiprocessing``); each side matches on their types (``match message: case Status(...)``).

- to the dream process (``ToDream``): ``Params`` (the full snapshot after every change),
  ``Target`` (a captured target sound), ``Stop``.
- to the audio process (``ToAudio``): ``Classes``, ``Ready``, ``Window``, ``Report``, ``Status``,
  ``Compiled``, ``Error``, ``Fatal``.

``Dreamer`` is what the dream process dreams and classifies with: ``instrument.dream.dreamer.Dreamer``
(YAMNet) or a test's stand-in, which says with ``compiles = False`` and ``classes = None`` that it has
nothing to compile and no classes to score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from instrument.dream.params import DreamParams, FunctionKey
from instrument.live.worker import WindowReport
from instrument.model.classes import ClassMap


# --- audio process -> dream process ------------------------------------------------------------------
@dataclass(frozen=True)
class Params:
    params: DreamParams
    freeze: bool


@dataclass(frozen=True)
class Target:
    """A target sound captured from the live input, registered under ``name``."""

    name: str
    audio: np.ndarray
    rate: int


@dataclass(frozen=True)
class Stop:
    pass


ToDream = Params | Target | Stop


# --- dream process -> audio process ------------------------------------------------------------------
@dataclass(frozen=True)
class Classes:
    classes: ClassMap


@dataclass(frozen=True)
class Ready:
    load_seconds: float
    compile_seconds: float
    tf_threads: int | None = None  # TensorFlow's intra-op threads as it runs (None: no TensorFlow)


@dataclass(frozen=True)
class Window:
    """A dreamed window published in shared-memory slot ``slot`` with sequence number ``seq``."""

    slot: int
    seq: int


@dataclass(frozen=True)
class Report:
    report: WindowReport


@dataclass(frozen=True)
class Status:
    """The top class of the last 0.975 s of input and of output, and the target class's score on the output."""

    input_class: int
    input_score: float
    output_class: int
    output_score: float
    target_score: float | None  # None: no target class (each window dreams on its own top class)
    started: float  # time.monotonic() span of the classification
    finished: float
    played_end: int  # the stream frame just after the output that was classified


@dataclass(frozen=True)
class Compiled:
    description: str
    started: float
    finished: float


@dataclass(frozen=True)
class Error:
    """Something went wrong and the dream process goes on."""

    text: str


@dataclass(frozen=True)
class Fatal:
    """The dream process ends (or cannot start) for this reason."""

    text: str


ToAudio = Classes | Ready | Window | Report | Status | Compiled | Error | Fatal


@runtime_checkable
class Dreamer(Protocol):
    """What the dream process needs of a dreamer."""

    classes: ClassMap | None  # None: no class names, nothing to classify
    compiles: bool  # False: ``warm_up`` has nothing to compile

    def check(self, params: DreamParams) -> None:
        """Raise now for anything an iteration with ``params`` would trip on."""

    def set_target_audio(self, name: str, audio_16k: np.ndarray) -> None:
        """Register a captured target sound (16 kHz) under ``name``."""

    def iterate_buffer(self, buffer: Any, params: DreamParams, offsets: np.ndarray) -> Any:
        """One iteration of ``buffer`` ``[1, N]``; the result's ``.audio`` is the new buffer."""

    def warm_up(self, key: FunctionKey, length: int, count: int) -> None:
        """Compile the functions of ``key`` for ``[., length]`` buffers of ``count`` windows."""

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """Class scores ``[batch, classes]`` of ``[batch, 15600]`` windows."""

    def class_index(self, target_class: int | str | None) -> int:
        """-1 for no target class, else the index of ``target_class``."""


class IterateOnly:
    """A ``Dreamer`` that only iterates (no classes, nothing to compile): the base of the stand-ins that
    tests and benchmarks use where the loop's timing matters, not the model. Subclasses give ``iterate_buffer``."""

    classes: ClassMap | None = None
    compiles = False

    def check(self, params: DreamParams) -> None:
        pass

    def set_target_audio(self, name: str, audio_16k: np.ndarray) -> None:
        pass

    def iterate_buffer(self, buffer: Any, params: DreamParams, offsets: np.ndarray) -> Any:
        raise NotImplementedError

    def warm_up(self, key: FunctionKey, length: int, count: int) -> None:
        pass

    def scores(self, windows: np.ndarray) -> np.ndarray:
        raise NotImplementedError("a stand-in has no classes to score")

    def class_index(self, target_class: int | str | None) -> int:
        return -1
