"""The DreamSound iteration, compiled: the gradient once per layer, the modes separately.

``x -> loss -> g = dloss/dx / std(g) -> level -> mode -> level kept -> safe(x')``

Every mode works at the signal's short-term level (``instrument.dream.level``):
``u = g * E(x) / E(g)`` is the gradient with the envelope ``E(x)`` of the sound
(its RMS over ~40 ms), so ``step`` is the level of what an iteration adds
relative to the sound, wherever the sound is loud or quiet, and the result is
scaled back to ``E(x)`` (``L(y) = y * E(x) / E(y)``). With ``X = STFT(x)``,
``U = STFT(u)``, ``T = STFT(target)`` and the paper's filter
``F(a, b) = ISTFT(hard_cut(b) * |A|^p * phase(A))`` (``instrument.dream.spectral``:
``a`` filtered, ``b`` builds the mask, ``p`` = power):

- ``gradients``:  ``x' = u``                       (the sonified gradient at the sound's level)
- ``deepdream``:  ``x' = L(x + step * u)``
- ``filter``:     ``x' = L(x + s * (F(x, u) - x))``, ``s = min(step, 1)`` (``flip``: ``F(u, x)``): the
                  paper's (b), reached a ``step`` of the way per iteration (``step >= 1``: replaced, as in
                  the paper; repeated, that thinned the sound to a few bins, or a buzz at power 1/8)
- ``filter_add``: ``x' = L(x + step * F(u, x))``    (``flip``: ``L(x + step * F(x, u))``)
- ``target``:     ``x' = L(x + step * F(u, t))``    (``flip``: ``|F(u, t)|`` with the target's phases)

``E`` and the gradient's std are taken over ``span``, the samples of the buffer
that are real signal (the render pads zeros beyond a file's ends; live buffers
are all signal), and nothing is added outside it. Silence stays silence
(``E(x) = 0``) unless a target class is set on ``scores``/``logits``: then
``E(x)`` is at least ``SILENCE_FLOOR`` (-50 dBFS) and the dream of that class
grows out of the silence at that level. ``safe`` replaces NaN/Inf with 0 and
bends samples above 0.9 softly under 1 (a sample-wise soft clip).

``x`` is a buffer of N >= 15600 samples (one window, or a whole signal) and the
loss is summed over K windows cut from it at ``offsets``, gathered inside the
gradient tape, so the gradient of a sample is the sum over every window that
contains it (``instrument.dream.buffer`` draws the offsets). One window is the
case N = 15600, K = 1, offset 0. Several buffers ``[B, N]`` are dreamed as
separate signals (own normalization, mask and peak) in one call.

Two compiled functions per iteration, so that what is expensive to compile is
compiled rarely: the gradient (the network's forward and backward pass) once per
(layer, N, K), and the mode (cheap spectral ops) once per (mode, flip, STFT size,
N). Switching mode live compiles only the small function; switching layer
compiles one gradient for every mode. Threshold, step, power, target class,
target spectrum, offsets and span are tensors: changing them never retraces.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from instrument.dream.level import TINY, Envelope, match, valid_mask
from instrument.dream.objective import (
    CLASS_LAYERS,
    EARLY_CUT,
    GRID_SAMPLES,
    OBJECTIVES,
    shared_activation,
    shared_window_count,
    tap_for,
    window_loss,
    window_objective,
)
from instrument.dream.params import DreamParams, FunctionKey
from instrument.dream.spectral import Spectral, paper_filter
from instrument.errors import DreamSoundError
from instrument.model.frontend import FRAME_STEP, PATCH_FRAMES, WINDOW_SAMPLES
from instrument.model.layout import tap_stride
from instrument.model.network import YamNet

_STD_FLOOR = 1e-12
KNEE = 0.9  # the safety's soft clip starts here (peaks above are bent under 1)
# No AutoGraph: these functions branch only on Python values (mode, flip, layer), never on a tensor, so
# converting their source (and the network's, recursively) buys nothing and costs most of the trace: the
# gradient traced in 0.38 s instead of 0.91 s and the mode in 0.16 s instead of 0.68 s at the live buffer
# shape, on the 2-core development host: a second off the live first dream and every command's start.
AUTOGRAPH = False
SILENCE_FLOOR = 10 ** (-50 / 20)  # with a target class, silence is dreamed at this short-term RMS (-50 dBFS)


@dataclass
class StepResult:
    """Output of one iteration (tensors; ``.numpy()`` them when needed)."""

    audio: tf.Tensor  # [B, N], safe: finite, |x| < 1
    loss: tf.Tensor  # [B] for one window per buffer, else [B, K]: each window's loss before the update
    gradient: tf.Tensor  # [B, N], normalized by its std over the buffer's signal (0 outside it)


def _finite(y: tf.Tensor) -> tf.Tensor:
    return tf.where(tf.math.is_finite(y), y, tf.zeros_like(y))


def _safe(y: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    """Finite, nothing outside the signal, and below 1: samples above ``KNEE`` are bent softly under 1.

    Sample by sample, not by scaling the buffer: a scale-down would lower the level every later
    iteration keeps (a loud input lost 4 dB over 20 iterations that way), and one peak would
    quieten a whole 20 s chunk."""
    y = _finite(y) * valid
    magnitude = tf.abs(y)
    bent = KNEE + (1.0 - KNEE) * tf.tanh((magnitude - KNEE) / (1.0 - KNEE))
    return tf.where(magnitude > KNEE, tf.sign(y) * bent, y)


def _normalize(g: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    """``g / std(g)`` with the std over the signal's samples only; 0 outside them."""
    g = _finite(g) * valid
    count = tf.maximum(tf.reduce_sum(valid, axis=1, keepdims=True), 1.0)
    mean = tf.reduce_sum(g, axis=1, keepdims=True) / count
    std = tf.sqrt(tf.reduce_sum(tf.square((g - mean) * valid), axis=1, keepdims=True) / count)
    return g / tf.maximum(std, _STD_FLOOR)


def gradient_function(model: YamNet, layer: str, length: int, objective: str = "windows") -> Any:
    """``(x [B, N], class_index, offsets [K], span [2]) -> (g [B, N] normalized, loss [B, K])``, plain Python.

    ``objective`` (``instrument.dream.objective.OBJECTIVES``): ``windows`` pushes the K windows at
    ``offsets`` through the network one by one; ``early`` runs layers 1-5 once over the buffer and each
    window on alone from there (``cut_gradient``); ``shared`` runs the whole network once over the buffer
    and scores the windows on its 5120-sample grid between the first and the last offset, the grid through
    the middle offset (``shared_gradient``)."""
    if objective == "shared":
        return shared_gradient(model, layer, length)
    if objective == "early":
        return cut_gradient(model, layer, length, EARLY_CUT)
    if objective != "windows":
        raise DreamSoundError(f"objective {objective!r} is not allowed; allowed: {', '.join(OBJECTIVES)}")
    window_index = tf.range(WINDOW_SAMPLES, dtype=tf.int32)
    tap = tap_for(layer)

    def gradient(x, class_index, offsets, span):
        batch, count = tf.shape(x)[0], tf.shape(offsets)[0]
        with tf.GradientTape() as tape:
            tape.watch(x)
            windows = tf.gather(x, offsets[:, None] + window_index[None, :], axis=1)  # [B, K, W]
            activation = model.forward(tf.reshape(windows, [-1, WINDOW_SAMPLES]), [tap])[tap]
            loss = tf.reshape(window_loss(activation, layer, class_index), [batch, count])
            total = tf.reduce_sum(window_objective(activation, layer, class_index))
        return _normalize(tape.gradient(total, x), valid_mask(length, span)), loss

    return gradient


def _on_grid(x: tf.Tensor, offsets: tf.Tensor, grid: int, length: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The shared passes' alignment: ``start``, the first start at or after the smallest offset on the
    ``grid``-sample grid through the middle offset; ``last``, the largest offset; and ``segment``, the
    ``length`` samples of ``x`` from ``start`` (zeros past the buffer's end)."""
    first, last = tf.reduce_min(offsets), tf.reduce_max(offsets)
    middle = offsets[tf.shape(offsets)[0] // 2]
    start = first + tf.math.floormod(middle - first, grid)
    segment = tf.slice(tf.pad(x, [[0, 0], [0, length]]), [0, start], [-1, length])
    return start, last, segment


def shared_gradient(model: YamNet, layer: str, length: int) -> Any:
    """The ``shared`` objective's gradient function (same signature as ``gradient_function``'s).

    Windows start at ``a + 5120 j`` for every ``j`` with ``first <= a + 5120 j <= last`` (``first``,
    ``last``: the smallest and largest offset drawn), where ``a`` is the first such start on the grid through
    the middle offset. One pass covers ``length`` samples from ``a`` (zeros past the buffer's end), so every
    window's map sees its real surroundings up to the buffer's ends. Each drawn window reports the loss of
    its nearest grid window."""
    count = shared_window_count(length)

    def gradient(x, class_index, offsets, span):
        batch = tf.shape(x)[0]
        with tf.GradientTape() as tape:
            tape.watch(x)
            start, last, segment = _on_grid(x, offsets, GRID_SAMPLES, length)
            activation = shared_activation(model, segment, layer, count)
            loss = tf.reshape(window_loss(activation, layer, class_index), [batch, count])
            objective = tf.reshape(window_objective(activation, layer, class_index), [batch, count])
            starts = start + GRID_SAMPLES * tf.range(count)
            # The grid windows between first and last: at least the one at the middle offset (start <= middle).
            scored = tf.cast(starts <= last, tf.float32)
            total = tf.reduce_sum(objective * scored[None])
        valid_count = tf.maximum(tf.cast(tf.reduce_sum(scored), tf.int32), 1)
        nearest = tf.cast(tf.round(tf.cast(offsets - start, tf.float32) / GRID_SAMPLES), tf.int32)
        nearest = tf.clip_by_value(nearest, 0, valid_count - 1)
        return _normalize(tape.gradient(total, x), valid_mask(length, span)), tf.gather(loss, nearest, axis=1)

    return gradient


def cut_gradient(model: YamNet, layer: str, length: int, cut: str) -> Any:
    """One pass over the buffer up to tap ``cut`` (``log_mel`` or a separable layer), then each window's
    map cut from it and run on alone (with its own zero padding) to ``layer``.

    The K drawn windows are kept, each moved to the nearest start on ``cut``'s grid (its time stride,
    ``tap_stride(cut)`` frames) through the middle offset; on ``log_mel`` (a 160-sample grid) the windows'
    features are exactly those of the windows alone."""
    tap = tap_for(layer)
    stride = tap_stride(cut)
    grid, steps = stride * FRAME_STEP, PATCH_FRAMES // stride
    step_index = tf.range(steps, dtype=tf.int32)

    def gradient(x, class_index, offsets, span):
        batch, count = tf.shape(x)[0], tf.shape(offsets)[0]
        with tf.GradientTape() as tape:
            tape.watch(x)
            start, last, segment = _on_grid(x, offsets, grid, length)
            top = (last - start) // grid  # the last grid window inside [first, last]
            index = tf.clip_by_value(tf.cast(tf.round(tf.cast(offsets - start, tf.float32) / grid), tf.int32), 0, top)
            log_mel = model.front_end(segment)
            maps = log_mel[..., None] if cut == "log_mel" else model.feature_map(log_mel, cut)
            windows = tf.gather(maps, index[:, None] + step_index[None], axis=1)  # one grid step = one map step
            windows = tf.reshape(windows, tf.concat([[-1, steps], tf.shape(maps)[2:]], axis=0))
            if cut == "log_mel":
                activation = model.forward_patch(windows[..., 0], [tap])[tap]
            else:
                activation = model.forward_from(windows, cut, [tap])[tap]
            loss = tf.reshape(window_loss(activation, layer, class_index), [batch, count])
            total = tf.reduce_sum(window_objective(activation, layer, class_index))
        return _normalize(tape.gradient(total, x), valid_mask(length, span)), loss

    return gradient


def mode_function(mode: str, flip: bool, fft: int, hop: int, length: int) -> Any:
    """``(x, g, threshold, step, power, target_spectrum, span, floor) -> safe(x')`` for one mode, plain Python."""
    spectral = Spectral(fft, hop, length)
    envelope = Envelope(length)
    seed_noise = tf.constant(np.random.default_rng(0).standard_normal((1, length)).astype(np.float32))

    def apply(x, g, threshold, step, power, target_spectrum, span, floor):
        valid = valid_mask(length, span)
        # The sound's short-term level; with a target class never below the floor (dreaming from silence).
        level = tf.maximum(envelope(x, valid), floor) * valid
        # Digital silence has no gradient (YAMNet's frontend is flat at 0): toward a class, a fixed noise
        # (the same every call: determinism) seeds the dream there.
        g = tf.where(envelope(g, valid) > TINY, g, seed_noise)
        u = match(g, level, envelope(g, valid))  # the gradient at the sound's level: step is relative
        if mode == "gradients":
            y = u
        elif mode == "deepdream":
            y = x + step * u
        elif mode == "target":
            filtered = paper_filter(spectral.stft(u), target_spectrum, threshold, power)
            if flip:  # the filtered gradient's magnitudes with the target's phases
                filtered = tf.cast(tf.abs(filtered), tf.complex64) * Spectral.phase(target_spectrum)
            y = x + step * spectral.istft(filtered)
        else:
            # One STFT call for both signals (half the op launches of two calls).
            sound_spec, grad_spec = tf.split(spectral.stft(tf.concat([x, u], axis=0)), 2, axis=0)
            # filter: the sound through the gradient's mask; filter_add: the gradient through the sound's.
            through, source = (sound_spec, grad_spec) if mode == "filter" else (grad_spec, sound_spec)
            if flip:
                through, source = source, through
            filtered = spectral.istft(paper_filter(through, source, threshold, power))
            # filter: each iteration moves the sound `step` of the way to its filtered self (step >= 1: the
            # paper's (b), replaced; 20 replacements left a few bins or a buzz); filter_add: the gradient added.
            y = x + tf.minimum(step, 1.0) * (filtered - x) if mode == "filter" else x + step * filtered
        y = _finite(y)
        y = match(y, level, envelope(y, valid))  # the sound's level kept
        return _safe(y, valid)

    return apply


def silence_floor(layer: str, class_index: int) -> float:
    """The least level a sound is dreamed at: ``SILENCE_FLOOR`` toward a target class, else 0 (silence stays)."""
    return SILENCE_FLOOR if class_index >= 0 and layer in CLASS_LAYERS else 0.0


def spectrum_shape(fft: int, hop: int, length: int) -> tuple[int, int]:
    """(frames, bins) of the filter STFT of a ``length``-sample signal."""
    frames = Spectral(fft, hop, length).stft(tf.zeros([1, length])).shape[1]
    return int(frames), fft // 2 + 1


class DreamStep:
    """Compiled iterations for one model; use it from one thread (a first run may go on a thread of its own:
    ``beside``)."""

    def __init__(self, model: YamNet) -> None:
        self.model = model
        self._gradients: dict[tuple, Any] = {}
        self._modes: dict[tuple, Any] = {}
        self._silent: dict[tuple, tf.Tensor] = {}
        self._scalars: dict[tuple, tuple[tf.Tensor, ...]] = {}
        self._spans: dict[tuple, tf.Tensor] = {}

    def _scalar_tensors(self, params: DreamParams, class_index: int) -> tuple[tf.Tensor, ...]:
        """Threshold, step, power, class and silence floor as tensors, made once per value (0.1 ms a call
        saved live)."""
        key = (params.threshold, params.step, params.power, class_index, params.layer)
        tensors = self._scalars.get(key)
        if tensors is None:
            if len(self._scalars) > 256:  # a performer sweeping a slider: keep the cache small
                self._scalars.clear()
            tensors = (
                tf.constant(params.threshold, tf.float32),
                tf.constant(params.step, tf.float32),
                tf.constant(params.power, tf.float32),
                tf.constant(class_index, tf.int32),
                tf.constant(silence_floor(params.layer, class_index), tf.float32),
            )
            self._scalars[key] = tensors
        return tensors

    def _span_tensor(self, length: int, span: tuple[int, int] | None) -> tf.Tensor:
        """``[first, end)`` of the signal in a ``length``-sample buffer as a tensor (the whole buffer: cached)."""
        first, end = (0, length) if span is None else (max(0, int(span[0])), min(length, int(span[1])))
        if end <= first:
            raise DreamSoundError(f"span {span} holds no signal of a {length}-sample buffer")
        key = (first, end, length)
        tensor = self._spans.get(key)
        if tensor is None:
            if len(self._spans) > 64:
                self._spans.clear()
            tensor = self._spans[key] = tf.constant([first, end], tf.int32)
        return tensor

    @property
    def compiled_count(self) -> int:
        """How many functions have been compiled so far (a retrace would add one)."""
        return len(self._gradients) + len(self._modes)

    def functions_for(
        self, params: DreamParams | FunctionKey, length: int = WINDOW_SAMPLES, count: int = 1,
        objective: str = "windows",
    ) -> tuple[Any, Any]:
        """The (gradient, mode) concrete functions for these parameters, shapes and objective, compiled on first
        use."""
        return self._gradient_for(params, length, count, objective), self._mode_for(params, length)

    def _gradient_for(
        self, params: DreamParams | FunctionKey, length: int, count: int, objective: str = "windows"
    ) -> Any:
        key = FunctionKey.of(params)
        gkey = (*key.gradient_key(length, count), objective)
        if gkey not in self._gradients:
            self._gradients[gkey] = tf.function(
                gradient_function(self.model, key.layer, length, objective), autograph=AUTOGRAPH
            ).get_concrete_function(
                tf.TensorSpec([None, length], tf.float32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([count], tf.int32),
                tf.TensorSpec([2], tf.int32),
            )
        return self._gradients[gkey]

    def _mode_for(self, params: DreamParams | FunctionKey, length: int) -> Any:
        key = FunctionKey.of(params)
        mkey = key.mode_key(length)
        if mkey not in self._modes:
            frames, bins = spectrum_shape(key.filter_fft, key.filter_hop, length)
            signal = tf.TensorSpec([None, length], tf.float32)
            scalar = tf.TensorSpec([], tf.float32)
            self._modes[mkey] = tf.function(mode_function(*mkey), autograph=AUTOGRAPH).get_concrete_function(
                signal, signal, scalar, scalar, scalar, tf.TensorSpec([1, frames, bins], tf.complex64),
                tf.TensorSpec([2], tf.int32), scalar,
            )
        return self._modes[mkey]

    def target_spectrum(
        self, target: np.ndarray | None, params: DreamParams | FunctionKey, length: int = WINDOW_SAMPLES
    ) -> tf.Tensor:
        """STFT of a target sound tiled (looped) or cut to ``length`` samples, ``[1, frames, bins]``."""
        if target is None or np.asarray(target).size == 0:
            key = (params.filter_fft, params.filter_hop, length)
            if key not in self._silent:
                frames, bins = spectrum_shape(params.filter_fft, params.filter_hop, length)
                self._silent[key] = tf.zeros([1, frames, bins], tf.complex64)
            return self._silent[key]
        target = np.asarray(target, np.float32)
        tiled = np.tile(target, int(np.ceil(length / target.size)))[:length]
        return Spectral(params.filter_fft, params.filter_hop, length).stft(tf.constant(tiled[None]))

    def iterate_buffer(
        self,
        buffer: np.ndarray | tf.Tensor,
        params: DreamParams,
        class_index: int,
        target_spectrum: tf.Tensor | None,
        offsets: np.ndarray,
        span: tuple[int, int] | None = None,
        objective: str = "windows",
    ) -> StepResult:
        """One iteration of ``buffer`` (``[N]`` or ``[B, N]``) with its windows at ``offsets`` (``[K]``).

        ``span=(first, end)``: the samples that are real signal (levels, std and peak are taken there and
        nothing is added outside); by default the whole buffer. ``objective``: how the windows' loss is
        computed (``gradient_function``)."""
        x = tf.convert_to_tensor(buffer, tf.float32)
        if x.shape.rank == 1:
            x = x[None]
        length = int(x.shape[1])
        if offsets is not _WHOLE_WINDOW:
            offsets = np.asarray(offsets, np.int32)
        if offsets.ndim != 1 or offsets.size == 0:
            raise DreamSoundError(f"offsets must be a non-empty list of window starts, got shape {offsets.shape}")
        if offsets.min() < 0 or offsets.max() > length - WINDOW_SAMPLES:
            raise DreamSoundError(
                f"window offsets must lie in 0..{length - WINDOW_SAMPLES} for a {length}-sample buffer"
            )
        key = FunctionKey.of(params)
        gradient_fn = self._gradient_for(key, length, offsets.size, objective)
        if target_spectrum is None:
            target_spectrum = self.target_spectrum(None, params, length)
        threshold, step, power, class_tensor, floor = self._scalar_tensors(params, class_index)
        offsets_tensor = _WHOLE_WINDOW_TENSOR if offsets is _WHOLE_WINDOW else tf.constant(offsets)
        span_tensor = self._span_tensor(length, span)
        if key.mode_key(length) in self._modes:
            g, loss = gradient_fn(x, class_tensor, offsets_tensor, span_tensor)
            mode_fn = self._mode_for(key, length)
        else:  # the mode's first use: traced while the gradient runs on a thread of its own (``beside``)
            gradient = beside(lambda: gradient_fn(x, class_tensor, offsets_tensor, span_tensor))
            try:
                mode_fn = self._mode_for(key, length)
            finally:  # joined whatever happens here: never a first run left going on its own
                g, loss = gradient()
        y = mode_fn(x, g, threshold, step, power, target_spectrum, span_tensor, floor)
        return StepResult(y, loss, g)

    def __call__(
        self,
        x: np.ndarray | tf.Tensor,
        params: DreamParams,
        class_index: int,
        target_spectrum: tf.Tensor | None,
    ) -> StepResult:
        """One iteration of ``[B, 15600]`` windows, each alone (loss ``[B]``)."""
        result = self.iterate_buffer(x, params, class_index, target_spectrum, _WHOLE_WINDOW)
        return StepResult(result.audio, result.loss[:, 0], result.gradient)

    def warm_up(self, key: FunctionKey | tuple, length: int = WINDOW_SAMPLES, count: int = 1) -> None:
        """Compile and run the functions of ``key`` (layer, mode, flip, filter_fft, filter_hop) once, so the
        first real call is fast. A key, not parameters: a ``target`` mode compiles without a target sound."""
        key = FunctionKey(*key)
        gradient_fn = self._gradient_for(key, length, count)
        x = tf.zeros([1, length], tf.float32)
        span = self._span_tensor(length, None)
        first_run = beside(lambda: gradient_fn(x, tf.constant(-1, tf.int32), tf.zeros([count], tf.int32), span))
        try:
            zero = tf.constant(0.0, tf.float32)
            mode_fn = self._mode_for(key, length)
            mode_fn(x, x, zero, zero, tf.constant(1.0, tf.float32), self.target_spectrum(None, key, length), span,
                    zero)
        finally:  # joined whatever happens here: never a first run left going on its own
            first_run()


def beside(call: Callable[[], Any]) -> Callable[[], Any]:
    """``call()`` started on a thread of its own, in the caller's device scope and (Linux: a new thread inherits
    its creator's nice value) at its priority; the returned function waits for it and returns its result (or
    raises its error). Callers call it in a ``finally``, so the thread never outlives their own error.

    For a compiled function's first run beside the tracing of another. Most of a first run (graph
    optimization, kernel set-up) is C++ that lets go of the GIL, while tracing is Python that needs it. On the
    2-core development host, at the live buffer's shape: ``warm_up`` 0.81-0.95 s against 1.10-1.22 s one after
    the other, a first ``iterate_buffer`` 1.07-1.10 s against 1.16-1.30 s (docs/speed.md). Tracing both at once
    is no faster: the two take turns on the GIL. With one core to run on (the live dream process on a 2-core
    host, kept off the audio's core) a thread would only take turns with the caller: ``call()`` then runs at
    once, here."""
    if _cores() < 2:
        value = call()
        return lambda: value
    device = tf.zeros([]).device  # the caller's device scope places what is made here
    done: list[Any] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            with tf.device(device):
                done.append(call())
        except BaseException as err:  # raised in the caller's thread, by the call below
            failed.append(err)

    thread = threading.Thread(target=run, name="dream-first-run", daemon=True)
    thread.start()

    def result() -> Any:
        thread.join()
        if failed:
            raise failed[0]
        return done[0]

    return result


def _cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_WHOLE_WINDOW = np.zeros(1, np.int32)
_WHOLE_WINDOW_TENSOR = tf.constant(_WHOLE_WINDOW)
