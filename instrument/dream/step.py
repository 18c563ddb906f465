"""The DreamSound iteration, compiled: the gradient once per layer, the modes separately.

``x -> loss -> g = dloss/dx / std(g) -> mode -> safe(x')``:

- ``gradients``:  ``x' = g``
- ``deepdream``:  ``x' = x + step * g``
- ``filter``:     ``x' = ISTFT(mask(G) * X)``  (``flip``: ``ISTFT(mask(X) * G)``)
- ``filter_add``: ``x' = x + step * ISTFT(mask(X) * G)``  (``flip``: ``mask(G) * X``)
- ``target``:     ``x' = x + step * ISTFT(mask(T) * G)``  (``flip``: ``|G| * phase(T)``)

``safe`` replaces NaN/Inf with 0 and scales a signal down to peak 1 when it
exceeds it, so hundreds of iterations cannot run away in amplitude.

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
target spectrum and offsets are tensors: changing them never retraces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from instrument.dream.objective import window_loss
from instrument.dream.params import DreamParams, FunctionKey
from instrument.dream.spectral import Spectral, apply_mask
from instrument.errors import DreamSoundError
from instrument.model.frontend import WINDOW_SAMPLES
from instrument.model.network import YamNet

_STD_FLOOR = 1e-12


@dataclass
class StepResult:
    """Output of one iteration (tensors; ``.numpy()`` them when needed)."""

    audio: tf.Tensor  # [B, N], safe: finite, peak <= 1
    loss: tf.Tensor  # [B] for one window per buffer, else [B, K]: each window's loss before the update
    gradient: tf.Tensor  # [B, N], normalized by its std over the buffer


def _safe(y: tf.Tensor) -> tf.Tensor:
    y = tf.where(tf.math.is_finite(y), y, tf.zeros_like(y))
    peak = tf.reduce_max(tf.abs(y), axis=1, keepdims=True)
    return y / tf.maximum(peak, 1.0)


def _normalize(g: tf.Tensor) -> tf.Tensor:
    g = tf.where(tf.math.is_finite(g), g, tf.zeros_like(g))
    std = tf.math.reduce_std(g, axis=1, keepdims=True)
    return g / tf.maximum(std, _STD_FLOOR)


def gradient_function(model: YamNet, layer: str) -> Any:
    """``(x [B, N], class_index, offsets [K]) -> (g [B, N] normalized, loss [B, K])``, plain Python."""
    window_index = tf.range(WINDOW_SAMPLES, dtype=tf.int32)

    def gradient(x, class_index, offsets):
        batch, count = tf.shape(x)[0], tf.shape(offsets)[0]
        with tf.GradientTape() as tape:
            tape.watch(x)
            windows = tf.gather(x, offsets[:, None] + window_index[None, :], axis=1)  # [B, K, W]
            activation = model.forward(tf.reshape(windows, [-1, WINDOW_SAMPLES]), [layer])[layer]
            loss = tf.reshape(window_loss(activation, layer, class_index), [batch, count])
            total = tf.reduce_sum(loss)
        return _normalize(tape.gradient(total, x)), loss

    return gradient


def mode_function(mode: str, flip: bool, fft: int, hop: int, length: int) -> Any:
    """``(x, g, threshold, step, power, target_spectrum) -> safe(x')`` for one mode, plain Python."""
    spectral = Spectral(fft, hop, length)

    def apply(x, g, threshold, step, power, target_spectrum):
        if mode == "gradients":
            y = g
        elif mode == "deepdream":
            y = x + step * g
        elif mode == "target":
            grad_spec = spectral.stft(g)
            if flip:  # the gradient's magnitudes with the target's phases
                grad_spec = tf.cast(tf.abs(grad_spec), tf.complex64) * Spectral.phase(target_spectrum)
            target_mask = Spectral.mask(target_spectrum, threshold, power)
            y = x + step * spectral.istft(apply_mask(target_mask, grad_spec))
        else:
            # One STFT call for both signals (half the op launches of two calls).
            sound_spec, grad_spec = tf.split(spectral.stft(tf.concat([x, g], axis=0)), 2, axis=0)
            # filter: mask from the gradient on the sound; filter_add: the other way round.
            source, through = (grad_spec, sound_spec) if mode == "filter" else (sound_spec, grad_spec)
            if flip:
                source, through = through, source
            filtered = spectral.istft(apply_mask(Spectral.mask(source, threshold, power), through))
            y = filtered if mode == "filter" else x + step * filtered
        return _safe(y)

    return apply


def spectrum_shape(fft: int, hop: int, length: int) -> tuple[int, int]:
    """(frames, bins) of the filter STFT of a ``length``-sample signal."""
    frames = Spectral(fft, hop, length).stft(tf.zeros([1, length])).shape[1]
    return int(frames), fft // 2 + 1


class DreamStep:
    """Compiled iterations for one model; use it from one thread."""

    def __init__(self, model: YamNet) -> None:
        self.model = model
        self._gradients: dict[tuple, Any] = {}
        self._modes: dict[tuple, Any] = {}
        self._silent: dict[tuple, tf.Tensor] = {}
        self._scalars: dict[tuple, tuple[tf.Tensor, ...]] = {}

    def _scalar_tensors(self, params: DreamParams, class_index: int) -> tuple[tf.Tensor, ...]:
        """Threshold, step, power and class as tensors, made once per value (0.1 ms a call saved live)."""
        key = (params.threshold, params.step, params.power, class_index)
        tensors = self._scalars.get(key)
        if tensors is None:
            if len(self._scalars) > 256:  # a performer sweeping a slider: keep the cache small
                self._scalars.clear()
            tensors = (
                tf.constant(params.threshold, tf.float32),
                tf.constant(params.step, tf.float32),
                tf.constant(params.power, tf.float32),
                tf.constant(class_index, tf.int32),
            )
            self._scalars[key] = tensors
        return tensors

    @property
    def compiled_count(self) -> int:
        """How many functions have been compiled so far (a retrace would add one)."""
        return len(self._gradients) + len(self._modes)

    def functions_for(
        self, params: DreamParams | FunctionKey, length: int = WINDOW_SAMPLES, count: int = 1
    ) -> tuple[Any, Any]:
        """The (gradient, mode) concrete functions for these parameters and shapes, compiled on first use."""
        key = FunctionKey.of(params)
        gkey = key.gradient_key(length, count)
        if gkey not in self._gradients:
            self._gradients[gkey] = tf.function(gradient_function(self.model, key.layer)).get_concrete_function(
                tf.TensorSpec([None, length], tf.float32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([count], tf.int32),
            )
        mkey = key.mode_key(length)
        if mkey not in self._modes:
            frames, bins = spectrum_shape(key.filter_fft, key.filter_hop, length)
            signal = tf.TensorSpec([None, length], tf.float32)
            scalar = tf.TensorSpec([], tf.float32)
            self._modes[mkey] = tf.function(mode_function(*mkey)).get_concrete_function(
                signal, signal, scalar, scalar, scalar, tf.TensorSpec([1, frames, bins], tf.complex64)
            )
        return self._gradients[gkey], self._modes[mkey]

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
    ) -> StepResult:
        """One iteration of ``buffer`` (``[N]`` or ``[B, N]``) with its windows at ``offsets`` (``[K]``)."""
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
        gradient_fn, mode_fn = self.functions_for(params, length, offsets.size)
        if target_spectrum is None:
            target_spectrum = self.target_spectrum(None, params, length)
        threshold, step, power, class_tensor = self._scalar_tensors(params, class_index)
        offsets_tensor = _WHOLE_WINDOW_TENSOR if offsets is _WHOLE_WINDOW else tf.constant(offsets)
        g, loss = gradient_fn(x, class_tensor, offsets_tensor)
        y = mode_fn(x, g, threshold, step, power, target_spectrum)
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
        gradient_fn, mode_fn = self.functions_for(key, length, count)
        x = tf.zeros([1, length], tf.float32)
        g, _ = gradient_fn(x, tf.constant(-1, tf.int32), tf.zeros([count], tf.int32))
        zero = tf.constant(0.0, tf.float32)
        mode_fn(x, g, zero, zero, tf.constant(1.0, tf.float32), self.target_spectrum(None, key, length))


_WHOLE_WINDOW = np.zeros(1, np.int32)
_WHOLE_WINDOW_TENSOR = tf.constant(_WHOLE_WINDOW)
