"""Counters and timings written by the audio callback and by the audio process's dream-engine reader
(which applies what the dream process reports), read as one snapshot."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

HISTORY = 1024  # worker cycles and iterations kept for median / p99 / rate
RATE_WINDOW = 2.0  # seconds over which iterations per second are counted
XRUNS_KEPT = 512  # xrun blocks whose frame and time are kept (a few seconds' worth at the worst, for the reports)


class Metrics:
    """Each field has one writer (the callback or the worker), so no locks are needed."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        # Written by the audio callback.
        self.callbacks = 0
        self.frames = 0
        self.input_underflows = 0
        self.input_overflows = 0
        self.output_underflows = 0
        self.output_overflows = 0
        self.priming = 0
        self.last_xrun_frame = -1  # stream frame of the latest xrun (-1: none)
        self.xrun_frames = np.full(XRUNS_KEPT, -1, np.int64)  # stream frames of the first xrun blocks
        self.xrun_times = np.full(XRUNS_KEPT, np.nan)  # time.monotonic() of the same xrun blocks
        self.xrun_blocks = 0
        self.callback_errors = 0
        self.last_callback_error = ""
        self.input_peak = 0.0  # max |input| since the last reset the callback has done
        self.output_peak = 0.0  # max |output| since the last reset the callback has done
        self.peak_resets_done = 0  # resets the callback has done (it zeroes the peaks, the reader only asks)
        self.limiter_gain = 1.0
        self.nonfinite_blocks = 0
        self.grains = 0  # dreamed windows started at the output
        self.held_grains = 0  # grain starts that had to replay (hold) an already played window
        self.held_frames = np.full(64, -1, np.int64)  # stream frames of the newest 64 held grain starts (a ring)
        self.latency = float("nan")  # seconds, an input sample -> its dream at the output (every sample alike)
        self.first_dream = float("nan")  # seconds from engine start to the first dreamed sound at the output
        self.first_dream_frame = -1  # the stream frame its grain started at (-1: none yet)
        self.first_sound = float("nan")  # seconds from engine start to the first block at the output
        self.callback_seconds = 0.0  # last callback's duration
        self.callback_seconds_max = 0.0
        # Written by the dream-engine reader (from the dream process's reports).
        self.dream_ready = float("nan")  # seconds from engine start until the dream process first dreamed
        self.xruns_at_ready = -1  # xruns counted when the dream process first dreamed (-1: not yet)
        self.engine_state = "starting"  # starting, loading, dreaming, restarting, failed, stopped
        self.engine_restarts = 0
        self.engine_error = ""
        self.torn_windows = 0  # windows overwritten while being copied (dropped, never played)
        self.iteration_shortfall_max = 0  # max over windows of (iterations the deadline allowed - done)
        self.iterations = 0
        self.windows = 0
        self.late_windows = 0  # published after the grain boundary they aimed at
        self.last_window_iterations = 0
        self.worker_errors = 0
        self.last_worker_error = ""
        # Written by whoever changes a control (OSC, command line): a listener that failed after a change.
        self.listener_errors = 0
        self.last_listener_error = ""
        # Written by the reader of snapshots: how many peak resets it has asked for.
        self.peak_resets_asked = 0
        # Top class of the newest input window and of its dream (-1: none yet).
        self.input_class, self.input_score = -1, 0.0
        self.output_class, self.output_score = -1, 0.0
        self.target_score: float | None = None  # the target class's score on the output (None: no target class)
        self.output_class_frame = -1  # stream frame just after the 0.975 s of output that output_class is of
        self._cycles = np.zeros(HISTORY, np.float64)
        self._per_window = np.zeros(HISTORY, np.float64)
        self._per_sample = np.zeros(HISTORY, np.float64)  # iterations in what each grain plays, per sample
        self._overhead = np.zeros(HISTORY, np.float64)  # seconds of each cycle outside the iterations
        self._classify = np.zeros(64, np.float64)  # seconds of the status classifications (in the dream process)
        self._classify_count = 0
        self._iter_seconds = np.zeros(HISTORY, np.float64)
        self._iter_times = np.zeros(HISTORY, np.float64)
        self._cycle_count = 0
        self._iter_count = 0
        self.worker_started = float("nan")
        # Written by the recorder / engine.
        self.recording = False
        self.record_error = ""
        self.recorded_seconds = 0.0
        self.record_dropped_frames = 0
        self.stream_error = ""

    @property
    def xruns(self) -> int:
        """Blocks whose status flags reported an under- or overflow (JACK sets two flags per xrun)."""
        return self.xrun_blocks

    def add_cycle(self, seconds: float, iterations: int, per_sample: float = 0.0, overhead: float = 0.0) -> None:
        """Worker: one window dreamed in ``seconds`` with ``iterations`` iterations; its grain plays samples
        ``per_sample`` iterations deep; ``overhead`` seconds of it were not iterations."""
        i = self._cycle_count % HISTORY
        self._cycles[i] = seconds
        self._per_window[i] = iterations
        self._per_sample[i] = per_sample
        self._overhead[i] = overhead
        self._cycle_count += 1
        self.windows += 1
        self.last_window_iterations = iterations

    def add_window(self, report: Any) -> None:
        """One ``worker.WindowReport`` from the dream process."""
        end = report.started + report.seconds
        for seconds in report.iteration_seconds:
            self.add_iteration(seconds, end)
        self.add_cycle(
            report.seconds, report.iterations, getattr(report, "per_sample", 0.0), getattr(report, "overhead", 0.0)
        )
        if report.late:
            self.late_windows += 1
        if report.iterations:
            self.iteration_shortfall_max = max(self.iteration_shortfall_max, report.allowed - report.iterations)

    def add_classification(self, seconds: float) -> None:
        """The dream process classified the input and the output for the status in ``seconds``."""
        self._classify[self._classify_count % self._classify.shape[0]] = seconds
        self._classify_count += 1

    def add_iteration(self, seconds: float, when: float | None = None) -> None:
        i = self._iter_count % HISTORY
        self._iter_seconds[i] = seconds
        self._iter_times[i] = time.monotonic() if when is None else when
        self._iter_count += 1
        self.iterations += 1

    def iterations_per_second(self, now: float | None = None) -> float:
        """Iterations in the last ``RATE_WINDOW`` seconds (or since the worker started), per second."""
        now = time.monotonic() if now is None else now
        n = min(self._iter_count, HISTORY)
        if n == 0:
            return 0.0
        span = (
            min(RATE_WINDOW, now - self.worker_started) if self.worker_started == self.worker_started else RATE_WINDOW
        )
        if span <= 0:
            return 0.0
        recent = int(np.count_nonzero(self._iter_times[:n] > now - span))
        return recent / span

    def iteration_seconds(self) -> float:
        """Median time of one iteration recently (0 before the first)."""
        n = min(self._iter_count, HISTORY)
        return float(np.median(self._iter_seconds[:n])) if n else 0.0

    def snapshot(self, reset_peaks: bool = True) -> dict[str, Any]:
        """All metrics; peaks are the maxima since the last ``reset_peaks`` snapshot."""
        now = time.monotonic()
        iterations = self.iterations
        rate = self.iterations_per_second(now)
        n = min(self._cycle_count, HISTORY)
        cycles = self._cycles[:n]
        per_window = self._per_window[:n]
        snap = {
            "uptime": round(now - self.started, 3),
            "frames": self.frames,
            "xruns": self.xruns,
            "input_underflows": self.input_underflows,
            "input_overflows": self.input_overflows,
            "output_underflows": self.output_underflows,
            "output_overflows": self.output_overflows,
            "last_xrun_frame": self.last_xrun_frame,
            "callback_errors": self.callback_errors,
            "callback_ms_max": round(self.callback_seconds_max * 1000, 3),
            "input_peak": round(self.input_peak, 6),
            "output_peak": round(self.output_peak, 6),
            "limiter_gain": round(self.limiter_gain, 4),
            "nonfinite_blocks": self.nonfinite_blocks,
            "grains": self.grains,
            "held_grains": self.held_grains,
            "latency": round(self.latency, 4) if self.latency == self.latency else None,
            "first_dream": round(self.first_dream, 3) if self.first_dream == self.first_dream else None,
            "first_sound": round(self.first_sound, 3) if self.first_sound == self.first_sound else None,
            "dream_ready": round(self.dream_ready, 3) if self.dream_ready == self.dream_ready else None,
            # Start-up (a new interpreter importing TensorFlow beside the audio) apart from the performance.
            "xruns_after_ready": self.xruns - self.xruns_at_ready if self.xruns_at_ready >= 0 else 0,
            "engine_state": self.engine_state,
            "engine_restarts": self.engine_restarts,
            "engine_error": self.engine_error,
            "torn_windows": self.torn_windows,
            "iteration_shortfall_max": self.iteration_shortfall_max,
            "iterations": iterations,
            "iterations_per_second": round(rate, 2),
            "windows": self.windows,
            "late_windows": self.late_windows,
            "iterations_per_window": round(float(per_window.mean()), 2) if n else 0.0,
            # All the iterations whose windows covered a sample before the grain that plays it was published,
            # weighted by the grain's envelope: how deep what you hear is dreamed.
            "iterations_per_sample": round(float(self._per_sample[:n].mean()), 2) if n else 0.0,
            "hop_overhead_ms": round(float(np.median(self._overhead[:n])) * 1000, 2) if n else None,
            "classify_ms": round(float(np.median(self._classify[: min(self._classify_count, 64)])) * 1000, 2)
            if self._classify_count else None,
            "classifications": self._classify_count,
            "iteration_ms": round(self.iteration_seconds() * 1000, 3),
            "cycle_ms_median": round(float(np.median(cycles)) * 1000, 2) if n else None,
            "cycle_ms_p99": round(float(np.percentile(cycles, 99)) * 1000, 2) if n else None,
            "worker_errors": self.worker_errors,
            "listener_errors": self.listener_errors,
            "input_class": self.input_class,
            "input_score": round(self.input_score, 4),
            "output_class": self.output_class,
            "output_score": round(self.output_score, 4),
            "target_score": None if self.target_score is None else round(self.target_score, 4),
            "recording": self.recording,
            "recorded_seconds": round(self.recorded_seconds, 3),
            "record_error": self.record_error,
            "stream_error": self.stream_error,
        }
        if reset_peaks:  # the callback owns the peaks: it zeroes them before its next block
            self.peak_resets_asked += 1
        return snap

    def note_peaks(self, input_peak: float, output_peak: float) -> None:
        """The callback's one block: reset the peaks if a reader asked, then hold the maxima."""
        if self.peak_resets_done != self.peak_resets_asked:
            self.peak_resets_done = self.peak_resets_asked
            self.input_peak = 0.0
            self.output_peak = 0.0
        if input_peak > self.input_peak:
            self.input_peak = input_peak
        if output_peak > self.output_peak:
            self.output_peak = output_peak


METRIC_NAMES = tuple(Metrics().snapshot(reset_peaks=False))


def level_db(peak: float) -> str:
    """A peak as dBFS for the terminal (``-inf`` for silence)."""
    return "-inf" if peak <= 0 else f"{20 * np.log10(peak):.1f}"


def _class(index: Any, score: Any, class_name: Callable[[int], str] | None) -> str:
    if index is None or int(index) < 0:
        return "-"
    name = class_name(int(index)) if class_name is not None else f"class {int(index)}"
    return f"{name[:18]} {score:.2f}" if isinstance(score, (int, float)) else f"{name[:18]} -"


def status_line(m: dict[str, Any], params: Any = None, class_name: Callable[[int], str] | None = None) -> str:
    """The terminal's one line, each figure labelled (fits about 130 columns).

    ``m`` is a metrics snapshot; ``params`` the current ``DreamParams`` (mode, layer,
    target); ``class_name`` turns a class index into its name once the model has loaded.
    The target's own score on the output comes from the dream process as
    ``target_score`` when it reports one; ``-`` until then.
    """
    parts = [f"{m['uptime']:.0f}s"]
    if params is not None:
        parts += [f"mode {params.mode}", f"layer {params.layer}"]
        if params.mode == "target":
            sound = params.target_sound
            parts.append(f"target sound {str(sound).rsplit('/', 1)[-1][:24] if sound else '-'}")
        else:
            target = params.target_class
            score = m.get("target_score")
            shown = f"{score:.2f}" if isinstance(score, (int, float)) else "-"
            if target is None:
                parts.append(f"target auto {shown}")
            elif isinstance(target, int) and class_name is not None:
                parts.append(f"target {class_name(target)[:18]} {shown}")
            else:
                parts.append(f"target {target} {shown}")
    parts.append(f"out {_class(m.get('output_class'), m.get('output_score'), class_name)}")
    parts.append(f"in {level_db(m['input_peak'])} out {level_db(m['output_peak'])} dB")
    state = m.get("engine_state", "dreaming")
    if state == "dreaming":
        parts.append(
            f"it {m['iterations_per_second']:.0f}/s {m['iterations_per_window']:.1f}/hop"
            f" {m.get('iterations_per_sample', 0.0):.1f}/sample"
        )
    else:
        parts.append(f"dreams {state}")
    parts.append("lat -" if m["latency"] is None else f"lat {m['latency']:.2f}s")
    parts.append(f"xruns {m['xruns']}")
    parts.append(f"rec {m['recorded_seconds']:.0f}s" if m["recording"] else "rec off")
    return " | ".join(parts)
