"""TensorFlow's start-up chatter kept off the performer's terminal, everything else passed through.

TensorFlow 2.21's C++ side logs through absl before anything can configure it, so
``TF_CPP_MIN_LOG_LEVEL`` no longer silences it: every start prints that oneDNN is on,
that there are no CUDA drivers, an ``E``-level "failed call to cuInit" on a machine
without a GPU, TFLite's XNNPACK delegate, and on CPUs without AVX-512 an ``E``-level
line about oneDNN and booleans (on AVX-512 hosts too, at the first compiled step). None of
it is an error a performer can act on, and an "ERROR" on stage reads like one. Within
``quiet_start_up``, standard error (the file descriptor, which is where C++ writes) goes
through a pipe and a thread that drops exactly those lines and forwards every other byte
at once (progress bars, Python warnings, real TensorFlow errors). The offline commands
(``classify``, ``layers``, ``render``, ``replay``) run whole inside it, from their first
import of TensorFlow to their last compiled step; the dream process keeps it over its
model load and first compile. Set ``TF_CPP_MIN_LOG_LEVEL`` to 0 or 1 to see everything.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import os
import re
import sys
import threading
from collections.abc import Iterator

# Whole lines, each the start-up notice of one library; nothing else matches.
NOISE = re.compile(
    rb"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} [\d:. ]+\d+ (?:port\.cc:\d+\] oneDNN custom operations are on\."
    rb"|cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will not be used\."
    rb"|cuda_platform\.cc:\d+\] failed call to cuInit: "
    rb"|cuda_executor\.cc:\d+\] failed call to cuInit: "
    rb"|util\.cc:\d+\] oneDNN supports DT_BOOL only on platforms with AVX-512\.)"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$)"
)
# A partial line that may still become one of the above is held back until its end arrives;
# anything else is forwarded at once (a progress bar redraws without a newline).
MAYBE_NOISE = (b"WARNING: All log", b"INFO: Created TensorFlow Lite")
_LOG_PREFIX = re.compile(rb"^[IWE](?:\d{0,4}|\d{4} [\d:. ]*)$|^[IWE]\d{4} [\d:. ]+\d+ ")


def is_noise(line: bytes) -> bool:
    """Whether one line (without its newline) is TensorFlow start-up chatter."""
    return NOISE.match(line.rstrip(b"\r")) is not None


def _may_become_noise(partial: bytes) -> bool:
    if _LOG_PREFIX.match(partial):
        return True
    return any(p.startswith(partial[: len(p)]) or partial.startswith(p) for p in MAYBE_NOISE)


class LineFilter:
    """Bytes in, bytes out: drops whole noise lines, holds back only what may still become one."""

    def __init__(self) -> None:
        self.pending = b""
        self.dropped = 0

    def feed(self, data: bytes) -> bytes:
        self.pending += data
        out = []
        while True:
            end = self.pending.find(b"\n")
            if end < 0:
                break
            line, self.pending = self.pending[:end], self.pending[end + 1 :]
            if is_noise(line):
                self.dropped += 1
            else:
                out.append(line + b"\n")
        if self.pending and not _may_become_noise(self.pending):
            out.append(self.pending)
            self.pending = b""
        return b"".join(out)

    def finish(self) -> bytes:
        rest, self.pending = self.pending, b""
        if rest and is_noise(rest):
            self.dropped += 1
            return b""
        return rest


def wanted() -> bool:
    """Filter unless the user asked TensorFlow for its info or warning lines."""
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2").strip() not in ("0", "1")


@contextlib.contextmanager
def quiet_start_up(fd: int = 2) -> Iterator[LineFilter | None]:
    """Within the block, ``fd`` (standard error) loses TensorFlow's start-up chatter; all else passes.

    While it lasts, ``faulthandler`` (if enabled) writes to the terminal's own descriptor, so a
    crash's traceback never waits in a pipe whose reader dies with the process. The live
    engine's audio process never enters it: its terminal stays the terminal.
    """
    if not wanted():
        yield None
        return
    try:
        sys.stderr.flush()
        saved = os.dup(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
    except (OSError, ValueError, AttributeError):  # no usable standard error (a GUI host, closed fd)
        yield None
        return
    filt = LineFilter()

    def forward() -> None:
        while True:
            try:
                data = os.read(read_end, 65536)
            except OSError:
                break
            if not data:
                break
            _write_all(saved, filt.feed(data))
        _write_all(saved, filt.finish())

    thread = threading.Thread(target=forward, name="native-log-filter", daemon=True)
    thread.start()
    crash_report = faulthandler.is_enabled() and fd == 2
    if crash_report:
        faulthandler.enable(file=saved, all_threads=True)
    python_stderr = _direct_stderr(fd, saved)
    try:
        yield filt
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        if python_stderr is not None:
            sys.stderr = python_stderr
        if crash_report:
            faulthandler.enable(file=fd, all_threads=True)
        os.dup2(saved, fd)  # the pipe's last write end closes: the thread reads the rest, then EOF
        thread.join(5.0)
        os.close(read_end)
        os.close(saved)


def _direct_stderr(fd: int, terminal: int) -> io.TextIOBase | None:
    """Python's own ``sys.stderr`` writes straight to the terminal meanwhile (returns the one it replaced).

    Only C++ writes to the descriptor need the filter; Python's (progress bars, warnings, tracebacks)
    are never TensorFlow's notices, and rich draws a live progress bar only on a stream that is a
    terminal, which the pipe is not. A ``sys.stderr`` that is not the descriptor (a test's capture)
    is left alone.
    """
    current = sys.stderr
    try:
        if current is None or current.fileno() != fd:
            return None
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return None
    current.flush()
    sys.stderr = io.TextIOWrapper(io.FileIO(terminal, "w", closefd=False), encoding=current.encoding,
                                  errors=current.errors, line_buffering=True, write_through=True)
    return current


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            written = os.write(fd, data)
        except OSError:
            return
        data = data[written:]
