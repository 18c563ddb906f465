"""One DreamSound iteration on a batch of 15600-sample windows, compiled once per shape.

``x -> loss -> g = dloss/dx / std(g) -> mode -> safe(x')``:

- ``gradients``:  ``x' = g``
- ``deepdream``:  ``x' = x + step * g``
- ``filter``:     ``x' = ISTFT(mask(G) * X)``  (``flip``: ``ISTFT(mask(X) * G)``)
- ``filter_add``: ``x' = x + step * ISTFT(mask(X) * G)``  (``flip``: ``mask(G) * X``)
- ``target``:     ``x' = x + step * ISTFT(mask(T) * |G| * phase(T))``

``safe`` replaces NaN/Inf with 0 and scales a window down to peak 1 when it
exceeds it, so hundreds of iterations cannot run away in amplitude.

Threshold, step, power, target class and target spectrum are tensors: changing
them between iterations never retraces. A new layer, mode, flip or STFT size
builds (once) another concrete function; ``warm_up`` builds it ahead of time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from instrument.dream.objective import window_loss
from instrument.dream.params import DreamParams
from instrument.dream.spectral import Spectral, apply_mask
from instrument.model.frontend import WINDOW_SAMPLES
from instrument.model.network import YamNet

_STD_FLOOR = 1e-12


@dataclass
class StepResult:
    """Output of one iteration (tensors; ``.numpy()`` them when needed)."""

    audio: tf.Tensor  # [batch, 15600]
    loss: tf.Tensor  # [batch], loss of the input of this iteration
    gradient: tf.Tensor  # [batch, 15600], normalized


def _safe(y: tf.Tensor) -> tf.Tensor:
    y = tf.where(tf.math.is_finite(y), y, tf.zeros_like(y))
    peak = tf.reduce_max(tf.abs(y), axis=1, keepdims=True)
    return y / tf.maximum(peak, 1.0)


def _normalize(g: tf.Tensor) -> tf.Tensor:
    g = tf.where(tf.math.is_finite(g), g, tf.zeros_like(g))
    std = tf.math.reduce_std(g, axis=1, keepdims=True)
    return g / tf.maximum(std, _STD_FLOOR)


class DreamStep:
    """Compiled iterations for one model; safe to call from one worker thread."""

    def __init__(self, model: YamNet, length: int = WINDOW_SAMPLES) -> None:
        self.model = model
        self.length = length
        self._compiled: dict[tuple, tf.types.experimental.ConcreteFunction] = {}

    def iteration_function(self, layer: str, mode: str, flip: bool, fft: int, hop: int) -> Callable[..., tuple]:
        """The plain Python iteration (runs eagerly as is; ``_build`` compiles it)."""
        spectral = Spectral(fft, hop, self.length)
        model = self.model

        def iteration(x, threshold, step, power, class_index, target_spectrum):
            with tf.GradientTape() as tape:
                tape.watch(x)
                activation = model.forward(x, [layer])[layer]
                loss = window_loss(activation, layer, class_index)
                total = tf.reduce_sum(loss)
            g = _normalize(tape.gradient(total, x))
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
                sound_spec, grad_spec = spectral.stft(x), spectral.stft(g)
                # filter: mask from the gradient on the sound; filter_add: the other way round.
                source, through = (grad_spec, sound_spec) if mode == "filter" else (sound_spec, grad_spec)
                if flip:
                    source, through = through, source
                filtered = spectral.istft(apply_mask(Spectral.mask(source, threshold, power), through))
                y = filtered if mode == "filter" else x + step * filtered
            return _safe(y), loss, g

        return iteration

    def _build(self, layer: str, mode: str, flip: bool, fft: int, hop: int):
        iteration = self.iteration_function(layer, mode, flip, fft, hop)
        frames = Spectral(fft, hop, self.length).stft(tf.zeros([1, self.length])).shape[1]
        bins = fft // 2 + 1
        fn = tf.function(iteration, reduce_retracing=True)
        return fn.get_concrete_function(
            tf.TensorSpec([None, self.length], tf.float32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([1, frames, bins], tf.complex64),
        )

    def function_for(self, params: DreamParams) -> Any:  # a ConcreteFunction
        key = (params.layer, params.mode, params.flip, params.filter_fft, params.filter_hop)
        if key not in self._compiled:
            self._compiled[key] = self._build(*key)
        return self._compiled[key]

    def warm_up(self, params: DreamParams) -> None:
        """Trace and run the function for ``params`` once, so the first real call is fast."""
        self(np.zeros([1, self.length], np.float32), params, -1, None)

    def target_spectrum(self, target: np.ndarray | None, params: DreamParams) -> tf.Tensor:
        """STFT of a target sound fitted to one window (looped or cut), ``[1, frames, bins]``."""
        spectral = Spectral(params.filter_fft, params.filter_hop, self.length)
        if target is None or target.size == 0:
            window = np.zeros(self.length, np.float32)
        else:
            reps = int(np.ceil(self.length / target.size))
            window = np.tile(target.astype(np.float32), reps)[: self.length]
        return spectral.stft(tf.constant(window[None]))

    def __call__(
        self,
        x: np.ndarray | tf.Tensor,
        params: DreamParams,
        class_index: int,
        target_spectrum: tf.Tensor | None,
    ) -> StepResult:
        fn = self.function_for(params)
        if target_spectrum is None:
            target_spectrum = self._silent_target(params)
        audio, loss, gradient = fn(
            tf.convert_to_tensor(x, tf.float32),
            tf.constant(params.threshold, tf.float32),
            tf.constant(params.step, tf.float32),
            tf.constant(params.power, tf.float32),
            tf.constant(class_index, tf.int32),
            target_spectrum,
        )
        return StepResult(audio, loss, gradient)

    def _silent_target(self, params: DreamParams) -> tf.Tensor:
        key = ("silent", params.filter_fft, params.filter_hop)
        if key not in self._compiled:
            self._compiled[key] = self.target_spectrum(None, params)
        return self._compiled[key]
