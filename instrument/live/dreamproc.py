"""The dream process: imports TensorFlow, loads the model, compiles, dreams and classifies.

Started by ``supervisor`` with the "spawn" method (a fresh interpreter, as on macOS
and Windows). It reads the input from shared memory, writes dreamed windows back to
shared memory and talks to the audio process over two pipes, in the messages of ``protocol``.

What is used first is compiled first (the current layer's gradient and the current mode,
at the worker's buffer shape), then dreams start and the rest compiles in a background
thread: the other modes (cheap), then the gradients of ``precompile_layers`` (a few
seconds each). A parameter set whose functions are not compiled yet is compiled on
demand while the dreams go on with the previous one.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from instrument.audiofile import fit_length, resample
from instrument.dream.params import MODES, DreamParams, FunctionKey
from instrument.errors import DreamSoundError
from instrument.live import protocol as msg
from instrument.live.priority import keep_off_the_audio_core, lower_process, lower_this_thread
from instrument.live.shm import SegmentLayout, SharedState, WindowInfo
from instrument.live.worker import CONTEXT, COVERAGE, DreamWorker, buffer_shape
from instrument.model.layout import SAMPLE_RATE, WINDOW_SAMPLES, WINDOW_SECONDS
from instrument.model.native_log import quiet_start_up
from instrument.model.runtime import settle_heap

MAX_CONSECUTIVE_ERRORS = 5  # then the process exits and the supervisor starts a fresh one
# The status classifies the input and the output (two windows through the model) at most this often, not
# after every hop: at 0.08 s hops that would take a sixth of the dreaming time (docs/latency.md).
CLASSIFY_SECONDS = 0.25
NICE = 5  # the audio process (and the audio server) come first when the CPU is short


FIRST_WINDOW_WAIT = 3.0  # seconds the background compiles wait for the first dreamed window


@dataclass(frozen=True)
class Prelude:
    """What the dream process can do before the audio process knows the devices: TensorFlow and the model.

    The process starts with this (at the very start of ``dreamsound run``), imports TensorFlow and loads the
    model while the audio process opens its devices, then waits for its ``DreamSpec`` on the inbox."""

    factory: Callable[[], msg.Dreamer] | None = None
    model: Any = None
    threads: int = 1
    device: str = "auto"


@dataclass(frozen=True)
class DreamSpec:
    """Everything the dream process needs; pickled to it at start."""

    shm_name: str
    layout: SegmentLayout
    samplerate: int
    hop: int
    budget: float
    block: int
    params: DreamParams
    freeze: bool = False
    context: float = CONTEXT  # live.context: the worker's buffer, in windows
    coverage: float = COVERAGE  # live.coverage: windows over each sample per iteration
    factory: Callable[[], msg.Dreamer] | None = None  # builds the dreamer; None: YAMNet from ``model``
    model: Any = None  # instrument.model.loader.ModelSettings
    threads: int = 1
    device: str = "auto"
    precompile: bool = True
    precompile_layers: tuple[str, ...] = ()
    targets: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)  # captured sounds to restore

    @property
    def prelude(self) -> Prelude:
        return Prelude(self.factory, self.model, self.threads, self.device)


def tensorflow_threads() -> int | None:
    """TensorFlow's intra-op thread count as it runs in this process (None: TensorFlow not imported)."""
    tf = sys.modules.get("tensorflow")
    return None if tf is None else int(tf.config.threading.get_intra_op_parallelism_threads())


def load_dreamer(prelude: Prelude) -> msg.Dreamer:
    """The dreamer: the stand-in's factory, or YAMNet with TensorFlow's threads set first."""
    if prelude.factory is not None:
        return prelude.factory()
    from instrument.model.runtime import configure_tensorflow

    # Threads first: importing the dream modules makes tensors, after which TensorFlow keeps its pools as
    # they are (engine.threads would be silently ignored).
    configure_tensorflow(prelude.threads, prelude.device)  # imports TensorFlow (without Keras: no plotting)
    from instrument.dream.dreamer import Dreamer  # TensorFlow: only in this process

    return Dreamer.load(prelude.model, prelude.threads, prelude.device)


def compile_order(
    params: DreamParams, precompile: bool, layers: tuple[str, ...] = (), shape: tuple[int, int] = (WINDOW_SAMPLES, 1)
) -> list[FunctionKey]:
    """What to compile, first thing first: the current layer's gradient with the current mode; then (when
    ``precompile``) every other mode x flip (cheap: no network), then the gradient of each of ``layers``.
    Each key adds a part (``FunctionKey.parts`` at ``shape``) not compiled before; a key, not parameters,
    so that a target mode without a target sound compiles (``DreamStep.warm_up``)."""
    first = FunctionKey.of(params)
    order = [first]
    if precompile:
        order += [first._replace(mode=mode, flip=flip) for mode in MODES for flip in (False, True)]
        order += [first._replace(layer=layer) for layer in layers]
    seen: set[tuple] = set()
    unique = []
    for key in order:
        parts = set(key.parts(*shape))
        if not parts <= seen:
            seen |= parts
            unique.append(key)
    return unique


def lower_priority(pid: int) -> None:
    """Nice ``NICE`` for process ``pid`` (0: this one). The audio process sets it right after spawning,
    so that even the child's start-up (an interpreter, numpy, TensorFlow's import) yields to the audio."""
    lower_process(pid, NICE)
    keep_off_the_audio_core(pid)


class Outbox:
    """The pipe to the audio process, shared by this process's threads."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: msg.ToAudio) -> None:
        with self._lock:
            try:
                self.conn.send(message)
            except (OSError, EOFError, ValueError):
                pass  # the audio process is gone or going: nothing to tell


class DreamProcess:
    def __init__(
        self, spec: DreamSpec, inbox: Any, outbox: Outbox, dreamer: msg.Dreamer | None = None, started: float = 0.0
    ) -> None:
        self.spec = spec
        self.preloaded = dreamer  # loaded before the spec came (``Prelude``)
        self.started = started or time.monotonic()
        self.inbox = inbox
        self.out = outbox
        self.halt = threading.Event()
        self.dreamer: msg.Dreamer = None  # type: ignore[assignment]  # loaded in run()
        self.wanted: tuple[DreamParams, bool] = (spec.params, spec.freeze)
        self.active: tuple[DreamParams, bool] = self.wanted  # what is dreamed now (compiled)
        self.ready_keys: set[tuple] = set()  # compiled parts (``FunctionKey.parts`` at ``shape``)
        self.shape = buffer_shape(spec.samplerate, spec.context, spec.coverage)  # (N, K) of the worker's buffers
        self.compiles = False
        self.loaded = threading.Event()
        self._pending: list[msg.ToDream] = []  # messages that need the dreamer, received while it loads
        self._pending_lock = threading.Lock()
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._requested: set[FunctionKey] = set()
        self.scores_ready = False
        self.shared: SharedState | None = None
        self._classified = 0.0  # time.monotonic() of the last status classification
        self._compiling = False  # a requested compile (or the classification's) under way
        self._later = 0  # background compiles still to do
        self.first_window = threading.Event()  # the first dreamed window is out: the background may compile

    # --- messages from the audio process ------------------------------------------------
    def read_inbox(self) -> None:
        while not self.halt.is_set():
            try:
                message = self.inbox.recv()
            except (EOFError, OSError):
                self.halt.set()  # the audio process is gone
                return
            if isinstance(message, msg.Stop):
                self.halt.set()
                return
            with self._pending_lock:
                if not self.loaded.is_set():
                    self._pending.append(message)
                    continue
            self.apply(message)

    def apply(self, message: msg.ToDream) -> None:
        try:
            match message:
                case msg.Params(params, freeze):
                    self.dreamer.check(params)  # resolves class names, prepares target spectra
                    self.wanted = (params, freeze)
                case msg.Target(name, audio, rate):
                    self.dreamer.set_target_audio(name, resample(np.asarray(audio, np.float32), rate, SAMPLE_RATE))
        except Exception as err:  # a parameter the model refuses: say so, keep dreaming the previous ones
            self.out.send(msg.Error(f"{type(message).__name__.lower()}: {type(err).__name__}: {err}"))

    # --- what to dream with ------------------------------------------------------------
    def current(self) -> tuple[DreamParams, bool]:
        params, freeze = self.wanted
        if not self.compiles:
            return params, freeze
        key = FunctionKey.of(params)
        if set(key.parts(*self.shape)) <= self.ready_keys:
            self.active = (params, freeze)
            return params, freeze
        if key not in self._requested:
            self._requested.add(key)
            self._requests.put(key)
        return self.active[0], freeze

    def _compile(self, key: FunctionKey, description: str) -> None:
        parts = key.parts(*self.shape)
        if set(parts) <= self.ready_keys:
            return
        t0 = time.monotonic()
        self.dreamer.warm_up(key, *self.shape)
        settle_heap(collect=True)  # the traced graphs live as long as the process: out of the collections' way
        self.ready_keys.update(parts)
        self.out.send(msg.Compiled(description, t0, time.monotonic()))

    def compile_in_background(self, later: list[FunctionKey]) -> None:
        """On-demand requests first, then the status classification, then the rest of ``later``.

        At the lowest priority: compiling must take only CPU time that neither the audio (another
        process) nor the dreaming (this process's main thread) wants.
        """
        lower_this_thread(19)
        # Nothing before the first dream is out (or a few seconds have passed: a take may dream nothing, at
        # 0 iterations). A compile then, the status classification first, traces in Python beside the first
        # window's iterations (the GIL) and marks the dream's share down: the first dream came 0.06-0.28 s
        # after ready that way (mostly 0.19 s or more), 0.04-0.08 s with the wait (docs/latency.md).
        until = time.monotonic() + FIRST_WINDOW_WAIT
        while not self.first_window.wait(0.05) and time.monotonic() < until:
            if self.halt.is_set():
                return
        while not self.halt.is_set():
            self._later = len(later) if self.compiles else 0
            try:
                if not self._requests.empty():
                    self._compiling = True
                    self._compile(self._requests.get(), "requested")
                elif not self.scores_ready and self.dreamer.classes is not None:
                    self._compiling = True
                    t0 = time.monotonic()
                    self.dreamer.scores(np.zeros((2, WINDOW_SAMPLES), np.float32))
                    settle_heap(collect=True)
                    self.scores_ready = True
                    self.out.send(msg.Compiled("classification", t0, time.monotonic()))
                elif later and self.compiles:
                    self._compiling = False
                    item = later.pop(0)
                    self._compile(item, f"{item.layer}/{item.mode}{'/flip' if item.flip else ''}")
                else:
                    self._compiling = False
                    self._later = 0
                    key = self._requests.get(timeout=0.5)
                    self._compiling = True
                    self._compile(key, "requested")
            except queue.Empty:
                continue
            except Exception as err:
                self.out.send(msg.Error(f"compiling: {type(err).__name__}: {err}"))
                if not self.scores_ready:
                    self.scores_ready = None  # type: ignore[assignment]  # never again: no classification

    def dream_share(self) -> float:
        """The share of its time the dream loop may iterate: less while something waits to be compiled (the
        compiling thread runs at the lowest priority in this process and gets the rest)."""
        if self._compiling or not self._requests.empty():
            return 0.5  # what a performer asked for (a mode, a layer) or the status classification
        if self._later:
            return 0.9  # the other modes, ahead of their use: slowly, the dream first
        return 1.0

    # --- the status: what came in, what went out ----------------------------------------
    def classify(self) -> None:
        """Top class of the last 0.975 s of the input as received and of the output as played, and the
        target class's own score on the output (what a performer dreaming towards it wants to see)."""
        if not self.scores_ready or self.shared is None:
            return
        t0 = time.monotonic()
        if t0 - self._classified < CLASSIFY_SECONDS:
            return
        self._classified = t0
        rate = self.spec.samplerate
        frames = round(WINDOW_SECONDS * rate)  # the model's window (a grain may be shorter)
        heard = np.zeros(frames, np.float32)
        played = np.zeros(frames, np.float32)
        self.shared.input_ring.read_latest(heard)
        played_end = self.shared.output_ring.read_latest(played)  # the stream frame just after what was classified
        windows = np.stack([fit_length(resample(x, rate, SAMPLE_RATE), WINDOW_SAMPLES) for x in (heard, played)])
        scores = self.dreamer.scores(windows)
        top = scores.argmax(axis=1)
        target = self.dreamer.class_index(self.wanted[0].target_class)
        self.out.send(msg.Status(
            int(top[0]), float(scores[0, top[0]]), int(top[1]), float(scores[1, top[1]]),
            float(scores[1, target]) if target >= 0 else None, t0, time.monotonic(), played_end,
        ))

    # --- the whole life ------------------------------------------------------------------
    def run(self) -> None:
        spec = self.spec
        reader = threading.Thread(target=self.read_inbox, name="dream-inbox", daemon=True)
        reader.start()
        t0 = self.started
        self.shared = SharedState(spec.layout, spec.shm_name)
        try:
            with quiet_start_up():  # TensorFlow's import, first run and compile: its chatter off stage
                self.dreamer = self.preloaded if self.preloaded is not None else load_dreamer(spec.prelude)
                if self.dreamer.classes is not None:
                    self.out.send(msg.Classes(self.dreamer.classes))
                for name, (audio, rate) in spec.targets.items():
                    self.apply(msg.Target(name, audio, rate))
                params = self.wanted[0]
                self.dreamer.check(params)
                loaded = time.monotonic()
                self.compiles = self.dreamer.compiles
                order = compile_order(params, spec.precompile, spec.precompile_layers, self.shape)
                if self.compiles:
                    self._compile(order[0], "first")
        except DreamSoundError as err:  # weights missing, a bad setting: the message says what to do
            self.out.send(msg.Fatal(str(err)))
            return
        except Exception as err:
            self.out.send(msg.Fatal(f"{type(err).__name__}: {err}"))
            return
        with self._pending_lock:
            self.loaded.set()
            pending, self._pending = self._pending, []
        for message in pending:
            self.apply(message)
        self.out.send(msg.Ready(loaded - t0, time.monotonic() - loaded, tensorflow_threads()))
        background = threading.Thread(
            target=self.compile_in_background, args=(order[1:],), name="dream-compile", daemon=True
        )
        background.start()
        window = spec.layout.window

        def publish(out: np.ndarray, info: WindowInfo) -> None:
            slot, seq = self.shared.windows.publish(out, info)
            self.out.send(msg.Window(slot, seq))
            if info.dreamed:
                self.first_window.set()

        worker = DreamWorker(
            dreamer=self.dreamer,
            current=self.current,
            ring=self.shared.input_ring,
            publish=publish,
            report=lambda report: self.out.send(msg.Report(report)),
            samplerate=spec.samplerate,
            window=window,
            hop=spec.hop,
            budget=spec.budget,
            block=spec.block,
            context=spec.context,
            coverage=spec.coverage,
            halt=self.halt,
            share=self.dream_share,
        )
        errors = 0
        while not self.halt.is_set():
            try:
                worker.dream_once(worker.next_boundary())
                if not self.halt.is_set():
                    self.classify()
                errors = 0
            except Exception as err:  # keep dreaming: report, wait a hop, go on; a run of them ends the process
                errors += 1
                self.out.send(msg.Error(f"{type(err).__name__}: {err}"))
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    self.out.send(msg.Fatal(f"{errors} errors in a row, last: {type(err).__name__}: {err}"))
                    raise SystemExit(3) from err
                self.halt.wait(spec.hop / spec.samplerate)


def receive_spec(inbox: Any) -> DreamSpec | None:
    """The first ``DreamSpec`` on the inbox (anything before it is older than it: dropped); None: it ended."""
    while True:
        try:
            message = inbox.recv()
        except (EOFError, OSError):
            return None
        if isinstance(message, DreamSpec):
            return message
        if isinstance(message, msg.Stop):
            return None


def main(prelude: Prelude, inbox: Any, outbox: Any) -> None:
    """The dream process's entry point (``multiprocessing.Process(target=main)``): TensorFlow and the model
    first, then the ``DreamSpec`` from the inbox (the audio process sends it once it knows its devices)."""
    started = time.monotonic()
    lower_priority(0)
    # Ctrl-C in a terminal reaches the whole process group: the audio process decides when this one ends
    # (a ``Stop`` message, or the end of its pipe), so a performer's Ctrl-C is not a crash to restart from.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = Outbox(outbox)
    code = 0
    try:
        try:
            with quiet_start_up():
                dreamer = load_dreamer(prelude)
        except DreamSoundError as err:  # weights missing, a bad setting: the message says what to do
            out.send(msg.Fatal(str(err)))
            os._exit(0)
        except Exception as err:
            out.send(msg.Fatal(f"{type(err).__name__}: {err}"))
            os._exit(0)
        spec = receive_spec(inbox)
        if spec is not None:
            DreamProcess(spec, inbox, out, dreamer, started).run()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as err:  # anything else: tell the audio process why before going
        out.send(msg.Fatal(f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"))
        code = 1
    # Leave without the interpreter's shutdown: TensorFlow's threads (a background compile) do not
    # survive being torn down mid-call ("exception not rethrown"), and nothing here needs finalizing.
    os._exit(code)
