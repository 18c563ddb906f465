"""One DreamSound iteration on a whole buffer of N >= 15600 samples, dreamed as one signal.

Per iteration, K windows of 15600 samples are cut from the buffer at offsets
drawn afresh (DeepDream's jitter; the original DreamSound package likewise sums
its loss over many overlapping YAMNet patches of the whole signal). The windows
are gathered from the buffer inside the gradient tape, so the gradient of a
sample is the sum over every window that contains it. Then, on the whole buffer:

``g = dL/dx / std(g)`` -> the mode of ``instrument.dream.step`` on the buffer's
STFT (``target``: the target sound tiled to the buffer) -> ``safe``.

A perturbation dreamed this way is not tuned to one framing: it holds for the
windows a listener (or a reference classifier) takes at any other offset.

Threshold, step, power, class and offsets are tensors, so changing them never
retraces; one function is compiled per (layer, mode, flip, fft, hop, N, K).
Several buffers (channels) can be dreamed in one call, ``[B, N]``: each is its
own signal (own gradient normalization, filter mask and peak), at the same
offsets.
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
from instrument.dream.step import _normalize, _safe
from instrument.errors import DreamSoundError
from instrument.model.frontend import WINDOW_SAMPLES
from instrument.model.network import YamNet

OFFSET_STRATEGIES = ("grid", "random")
JITTER = 0.125  # each grid window moves by up to +-JITTER of the grid spacing


@dataclass
class BufferResult:
    """Output of one buffer iteration (tensors; ``.numpy()`` them when needed)."""

    audio: tf.Tensor  # [B, N]
    loss: tf.Tensor  # [B, K], loss of each window of this iteration's input
    gradient: tf.Tensor  # [B, N], normalized


def window_count(length: int, coverage: float = 2.0) -> int:
    """K windows so that, on a jittered grid, every sample lies under >= ``coverage`` windows.

    A grid spacing ``s <= W / (coverage * (1 + 2 * JITTER))`` (neighbours jittered
    apart stay within ``W / coverage``), plus one window so the randomly shifted
    grid still reaches both ends.
    """
    if length < WINDOW_SAMPLES:
        raise DreamSoundError(f"buffer of {length} samples is shorter than one window ({WINDOW_SAMPLES})")
    if length == WINDOW_SAMPLES:
        return 1
    return int(np.ceil(coverage * (1 + 2 * JITTER) * (length - WINDOW_SAMPLES) / WINDOW_SAMPLES)) + 2


def draw_offsets(
    rng: np.random.Generator,
    length: int,
    count: int,
    strategy: str = "grid",
    span: tuple[int, int] | None = None,
) -> np.ndarray:
    """``count`` window offsets (int32) into a buffer of ``length`` samples.

    ``grid``: evenly spaced over the span, the whole grid shifted by a random
    phase of up to +-half a spacing and each window jittered by up to +-1/8 of a
    spacing, then clipped into the buffer (the ends are always covered).
    ``random``: uniform offsets. ``span=(first, last)`` limits the offsets (e.g.
    to the part of a padded buffer that holds signal); by default the whole buffer.
    """
    if strategy not in OFFSET_STRATEGIES:
        raise DreamSoundError(f"offset strategy {strategy!r} is not allowed; allowed: {', '.join(OFFSET_STRATEGIES)}")
    first, last = span if span is not None else (0, length - WINDOW_SAMPLES)
    first, last = max(0, int(first)), min(length - WINDOW_SAMPLES, int(last))
    if last < first:
        raise DreamSoundError(f"no window fits between offsets {first} and {last} of a {length}-sample buffer")
    if strategy == "random" or count == 1:
        offsets = rng.integers(first, last + 1, size=count)
    else:
        spacing = (last - first) / (count - 2) if count > 2 else float(last - first)
        base = first - spacing / 2 + spacing * np.arange(count)
        phase = rng.uniform(-spacing / 2, spacing / 2)
        jitter = rng.uniform(-JITTER * spacing, JITTER * spacing, size=count)
        offsets = np.rint(base + phase + jitter)
    return np.clip(offsets, first, last).astype(np.int32)


class BufferStep:
    """Compiled whole-buffer iterations for one model; use it from one thread."""

    def __init__(self, model: YamNet) -> None:
        self.model = model
        self._compiled: dict[tuple, Any] = {}
        self._silent: dict[tuple, tf.Tensor] = {}

    def iteration_function(
        self, layer: str, mode: str, flip: bool, fft: int, hop: int, length: int
    ) -> Callable[..., tuple]:
        """The plain Python iteration (runs eagerly as is; ``function_for`` compiles it)."""
        spectral = Spectral(fft, hop, length)
        model = self.model
        window_index = tf.range(WINDOW_SAMPLES, dtype=tf.int32)

        def iteration(x, threshold, step, power, class_index, target_spectrum, offsets):
            batch, count = tf.shape(x)[0], tf.shape(offsets)[0]
            with tf.GradientTape() as tape:
                tape.watch(x)
                # Windows gathered inside the tape: overlapping windows' gradients add up.
                windows = tf.gather(x, offsets[:, None] + window_index[None, :], axis=1)  # [B, K, W]
                activation = model.forward(tf.reshape(windows, [-1, WINDOW_SAMPLES]), [layer])[layer]
                loss = tf.reshape(window_loss(activation, layer, class_index), [batch, count])
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
                source, through = (grad_spec, sound_spec) if mode == "filter" else (sound_spec, grad_spec)
                if flip:
                    source, through = through, source
                filtered = spectral.istft(apply_mask(Spectral.mask(source, threshold, power), through))
                y = filtered if mode == "filter" else x + step * filtered
            return _safe(y), loss, g

        return iteration

    def function_for(self, params: DreamParams, length: int, count: int) -> Any:  # a ConcreteFunction
        key = (params.layer, params.mode, params.flip, params.filter_fft, params.filter_hop, length, count)
        if key not in self._compiled:
            layer, mode, flip, fft, hop = key[:5]
            iteration = self.iteration_function(layer, mode, flip, fft, hop, length)
            frames, bins = self._spectrum_shape(fft, hop, length)
            self._compiled[key] = tf.function(iteration).get_concrete_function(
                tf.TensorSpec([None, length], tf.float32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([1, frames, bins], tf.complex64),
                tf.TensorSpec([count], tf.int32),
            )
        return self._compiled[key]

    @staticmethod
    def _spectrum_shape(fft: int, hop: int, length: int) -> tuple[int, int]:
        frames = Spectral(fft, hop, length).stft(tf.zeros([1, length])).shape[1]
        return int(frames), fft // 2 + 1

    def target_spectrum(self, target: np.ndarray | None, params: DreamParams, length: int) -> tf.Tensor:
        """STFT of a target sound tiled (or cut) to the buffer, ``[1, frames, bins]``."""
        if target is None or np.asarray(target).size == 0:
            key = (params.filter_fft, params.filter_hop, length)
            if key not in self._silent:
                frames, bins = self._spectrum_shape(params.filter_fft, params.filter_hop, length)
                self._silent[key] = tf.zeros([1, frames, bins], tf.complex64)
            return self._silent[key]
        target = np.asarray(target, np.float32)
        tiled = np.tile(target, int(np.ceil(length / target.size)))[:length]
        return Spectral(params.filter_fft, params.filter_hop, length).stft(tf.constant(tiled[None]))

    def iterate(
        self,
        buffer: np.ndarray | tf.Tensor,
        params: DreamParams,
        class_index: int,
        target_spectrum: tf.Tensor | None,
        offsets: np.ndarray,
    ) -> BufferResult:
        """One iteration of ``buffer`` (``[N]`` or ``[B, N]``) with windows at ``offsets`` (``[K]``)."""
        x = tf.convert_to_tensor(buffer, tf.float32)
        if x.shape.rank == 1:
            x = x[None]
        length = int(x.shape[1])
        offsets = np.asarray(offsets, np.int32)
        if offsets.ndim != 1 or offsets.size == 0:
            raise DreamSoundError(f"offsets must be a non-empty list of window starts, got shape {offsets.shape}")
        if offsets.min() < 0 or offsets.max() > length - WINDOW_SAMPLES:
            raise DreamSoundError(
                f"window offsets must lie in 0..{length - WINDOW_SAMPLES} for a {length}-sample buffer"
            )
        fn = self.function_for(params, length, offsets.size)
        if target_spectrum is None:
            target_spectrum = self.target_spectrum(None, params, length)
        audio, loss, gradient = fn(
            x,
            tf.constant(params.threshold, tf.float32),
            tf.constant(params.step, tf.float32),
            tf.constant(params.power, tf.float32),
            tf.constant(class_index, tf.int32),
            target_spectrum,
            tf.constant(offsets),
        )
        return BufferResult(audio, loss, gradient)

    def warm_up(self, params: DreamParams, length: int, count: int) -> None:
        """Trace and run the function once, so the first real call is fast."""
        offsets = np.zeros(count, np.int32)
        self.iterate(np.zeros([1, length], np.float32), params, -1, None, offsets)
