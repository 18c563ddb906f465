"""The dream engine as seen from the audio process: starts the dream process (multiprocessing, "spawn"),
relays parameters to it and its windows, figures and errors back, and restarts it when it dies.

When the dream process dies (killed, out of memory, a TensorFlow error) the audio goes
on: the callback's dream gate closes, so the last dream fades to the standby sound;
the event is reported (``on_event``: log, ``/dream/error`` to OSC clients) and the
status says ``restarting``; a fresh process starts after a back-off (0.5, 1, 2, 4 s…).
After ``max_failures`` deaths within ``failure_window`` seconds it gives up (status
``failed``, one clear message) and the instrument plays on without dreams. A model
that cannot load at all the first time (no weights, a bad setting) is ``fatal``:
the engine ends the run with that message.

Nothing here is called by the audio callback, and nothing here holds a lock the
callback takes: windows are copied into free grain slots and published with one
assignment, metrics are plain fields with one writer.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from instrument.live import dreamproc
from instrument.live import protocol as msg
from instrument.live.activity import ActivityLog
from instrument.live.callback import AudioCallback
from instrument.live.metrics import Metrics
from instrument.live.output import GrainPlayer
from instrument.live.shm import SharedState

BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
EventHandler = Callable[[str, bool], None]  # (message, is_error)


class Spawned:
    """A dream process started with its ``Prelude`` (TensorFlow, the model), waiting for its ``DreamSpec``."""

    def __init__(self, ctx: Any, prelude: dreamproc.Prelude) -> None:
        inbox_r, self.inbox = ctx.Pipe(duplex=False)
        self.outbox, outbox_w = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=dreamproc.main, args=(prelude, inbox_r, outbox_w), name="dreamsound-dream", daemon=True
        )
        self.proc.start()
        dreamproc.lower_priority(self.proc.pid)
        inbox_r.close()
        outbox_w.close()  # so that its death reads as end-of-file here

    def end(self) -> None:
        """Stop it (never handed a spec: nothing to finish)."""
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        for conn in (self.inbox, self.outbox):
            conn.close()


def spawn_early(prelude: dreamproc.Prelude) -> Spawned:
    """Start the dream process now, before the devices are known: it imports TensorFlow and loads the model
    meanwhile (``DreamSupervisor(prespawned=...)`` hands it its spec)."""
    return Spawned(multiprocessing.get_context("spawn"), prelude)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class DreamSupervisor:
    def __init__(
        self,
        *,
        spec_for: Callable[[], dreamproc.DreamSpec],
        shared: SharedState,
        player: GrainPlayer,
        callback: AudioCallback,
        metrics: Metrics,
        on_event: EventHandler,
        activity: ActivityLog | None = None,
        max_failures: int = 5,
        failure_window: float = 60.0,
        stall_seconds: float = 20.0,
        params_now: Callable[[], tuple[Any, bool]] | None = None,
        prespawned: Spawned | None = None,
    ) -> None:
        self.spec_for = spec_for
        # The parameters as they are now, sent whenever any change is (so nothing older than a spec already
        # sent can follow it); without it, each change's own snapshot.
        self.params_now = params_now
        self._prespawned = prespawned
        self._send_lock = threading.Lock()
        self.shared = shared
        self.player = player
        self.callback = callback
        self.metrics = metrics
        self.on_event = on_event
        self.activity = activity or ActivityLog()
        self.max_failures = max_failures
        self.failure_window = failure_window
        self.stall_seconds = stall_seconds
        self.classes: Any = None  # the model's ClassMap once the dream process has sent it
        self.tf_threads: int | None = None  # TensorFlow's intra-op threads in the dream process (when ready)
        self.fatal = ""  # set when the model cannot load at all: the run should end with this
        self.pid: int | None = None
        self.ready = threading.Event()  # set at each (re)start once the process dreams
        self.settled = threading.Event()  # set when ready, or when it gave up
        self.processes = 0  # dream processes started so far
        self._ctx = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self._outq: queue.SimpleQueue = queue.SimpleQueue()
        self._inbox: Any = None  # write end of the current process's inbox
        self._proc: Any = None
        self._thread = threading.Thread(target=self._supervise, name="dream-supervisor", daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name="dream-sender", daemon=True)
        self._ever_ready = False
        self._last_fatal = ""
        self._last_report = 0.0

    # --- control ---------------------------------------------------------------------
    def start(self) -> None:
        self._spawn()  # before the audio stream opens: the first process starts at once
        self._thread.start()
        self._sender.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._prespawned is not None:  # never started
            self._prespawned.end()
            self._prespawned = None
        self._outq.put(msg.Stop())
        if self._thread.is_alive():
            self._thread.join(timeout + 2)
        self._end_process(timeout if self.ready.is_set() else 0.5)  # still loading: nothing to finish
        if self.metrics.engine_state != "failed":  # a failure stays visible in the summary
            self.metrics.engine_state = "stopped"

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the current process dreams (True) or the supervisor gave up / time ran out (False)."""
        self.settled.wait(timeout)
        return self.ready.is_set()

    def send_params(self, params: Any, freeze: bool) -> None:
        """The full parameter snapshot (after every change); only the newest one queued is sent."""
        self._outq.put(msg.Params(params, freeze))

    def send_target(self, name: str, audio: Any, rate: int) -> None:
        self._outq.put(msg.Target(name, audio, rate))

    def kill(self) -> None:
        """SIGKILL the dream process (tests, and a stalled one)."""
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()

    # --- the process -------------------------------------------------------------------
    def _spawn(self) -> None:
        self.ready.clear()
        self.settled.clear()
        self.metrics.engine_state = "loading"
        spawned, self._prespawned = self._prespawned, None
        with self._send_lock:  # the spec, then changes made after it (the sender holds this lock to send)
            spec = self.spec_for()
            if spawned is None:
                spawned = Spawned(self._ctx, spec.prelude)
            self._inbox = spawned.inbox
            try:
                spawned.inbox.send(spec)
            except (OSError, ValueError, EOFError):
                pass  # it died already: the relay finds out
        self._proc, self._outbox, self.pid = spawned.proc, spawned.outbox, spawned.proc.pid
        self.processes += 1
        self._last_fatal = ""
        self._last_report = time.monotonic()

    def _end_process(self, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        for conn in (self._inbox, self._outbox):
            try:
                conn.close()
            except OSError:
                pass

    def _supervise(self) -> None:
        failures: deque[float] = deque()
        while True:
            self._relay()
            self.callback.dream_gate = False  # the last dream fades to the standby sound
            self.ready.clear()
            self.settled.clear()
            if self._stopping.is_set():
                return
            code = self._proc.exitcode if self._proc is not None else None
            self._end_process(2.0)
            reason = self._last_fatal or describe_exit(self._proc.exitcode if code is None else code)
            if self._last_fatal and not self._ever_ready:
                self.fatal = f"the dream engine cannot start: {self._last_fatal}"
                self.metrics.engine_state = "failed"
                self.metrics.engine_error = self.fatal
                self.on_event(self.fatal, True)
                self.settled.set()
                return
            now = time.monotonic()
            failures.append(now)
            while failures and now - failures[0] > self.failure_window:
                failures.popleft()
            if len(failures) >= self.max_failures:
                message = (
                    f"the dream engine stopped {len(failures)} times within {self.failure_window:g} s"
                    f" (last: {reason}); giving up, the instrument plays on without dreams"
                )
                self.metrics.engine_state = "failed"
                self.metrics.engine_error = message
                self.on_event(message, True)
                self.settled.set()
                return
            delay = BACKOFF[min(len(failures) - 1, len(BACKOFF) - 1)]
            self.metrics.engine_state = "restarting"
            self.metrics.engine_restarts += 1
            self.metrics.engine_error = f"the dream engine stopped ({reason}); restarting in {delay:g} s"
            self.on_event(self.metrics.engine_error, True)
            if self._stopping.wait(delay):
                return
            self._spawn()

    def _relay(self) -> None:
        """Handle the current process's messages until it ends (or we stop)."""
        conn = self._outbox
        while not self._stopping.is_set():
            try:
                if not conn.poll(0.5):
                    if not self._proc.is_alive():
                        return
                    if self._ever_ready and self.ready.is_set():
                        if time.monotonic() - self._last_report > self.stall_seconds:
                            self._last_fatal = f"no window for {self.stall_seconds:g} s (stalled; killed)"
                            self._proc.kill()
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                return
            try:
                self._handle(message)
            except Exception as err:  # a message we cannot use must not end the supervision
                self.metrics.last_worker_error = f"dream message {type(message).__name__}: {type(err).__name__}: {err}"

    def _handle(self, message: msg.ToAudio) -> None:
        m = self.metrics
        match message:
            case msg.Window(slot, seq):
                with self.activity.span("window_copy"):
                    free = self.player.free_slot()
                    info = self.shared.windows.read_into(slot, seq, self.player.buffers[free])
                    if info is None:
                        m.torn_windows += 1
                    else:
                        self.player.publish(free, info.capture_end, info.dreamed)
            case msg.Report(report):
                self._last_report = time.monotonic()
                m.add_window(report)
                self.activity.add("dream_window", report.started, report.started + report.seconds)
            case msg.Status():
                m.input_class, m.input_score = message.input_class, message.input_score
                m.output_class, m.output_score = message.output_class, message.output_score
                m.target_score = message.target_score
                m.output_class_frame = message.played_end
                m.add_classification(message.finished - message.started)
                self.activity.add("classify", message.started, message.finished)
            case msg.Compiled(_, started, finished):
                self.activity.add("compile", started, finished)
            case msg.Classes(classes):
                self.classes = classes
            case msg.Ready(load_seconds, compile_seconds, tf_threads):
                self.tf_threads = tf_threads
                self._ever_ready = True
                self._last_report = time.monotonic()
                if m.worker_started != m.worker_started:
                    m.worker_started = time.monotonic()
                    m.dream_ready = m.worker_started - self.callback.started
                    m.xruns_at_ready = m.xruns
                m.engine_state = "dreaming"
                m.engine_error = ""
                self.callback.dream_gate = True
                self.ready.set()
                self.settled.set()
                self.on_event(
                    f"dream engine ready (model {load_seconds:.1f} s, first compile {compile_seconds:.1f} s)", False
                )
            case msg.Error(text):
                m.worker_errors += 1
                m.last_worker_error = text
                self.on_event(f"dream engine: {text}", True)
            case msg.Fatal(text):
                self._last_fatal = text

    # --- parameters to the process -----------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            batch = [self._outq.get()]
            while True:
                try:
                    batch.append(self._outq.get_nowait())
                except queue.Empty:
                    break
            # Targets in order, then only the newest parameters (they are complete snapshots and may
            # name a target sent in the same batch).
            params = [item for item in batch if isinstance(item, msg.Params)]
            with self._send_lock:
                if params and self.params_now is not None:
                    params = [msg.Params(*self.params_now())]  # as they are now: newer than any spec sent
                messages: list[msg.ToDream] = [item for item in batch if isinstance(item, msg.Target)] + params[-1:]
                if any(isinstance(item, msg.Stop) for item in batch):
                    messages.append(msg.Stop())
                for item in messages:
                    try:
                        self._inbox.send(item)
                    except (OSError, ValueError, EOFError):
                        pass  # the process is gone; its successor starts from the current state
            if messages and isinstance(messages[-1], msg.Stop):
                return
