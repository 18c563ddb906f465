"""The model, its class names and the compiled iteration behind one object.

Both the offline render and the live worker drive a ``Dreamer``: resolve a
target class or sound once, then call ``iterate`` as often as wanted with
whatever parameters are current at that iteration.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from instrument.audiofile import read_audio, resample, to_mono
from instrument.dream.params import DreamParams, FunctionKey
from instrument.dream.step import AUTOGRAPH, DreamStep, StepResult
from instrument.errors import DreamSoundError
from instrument.model.frontend import SAMPLE_RATE, WINDOW_SAMPLES
from instrument.model.loader import LoadedModel, ModelSettings


class Dreamer:
    compiles = True  # (instrument.live.protocol.Dreamer) ``warm_up`` compiles

    def __init__(self, loaded: LoadedModel, device: str = "/CPU:0") -> None:
        self.model = loaded.model
        self.classes = loaded.classes
        self.device = device
        self.step = DreamStep(self.model)
        self._targets: dict[tuple, tf.Tensor] = {}
        self._sounds: dict[str, np.ndarray] = {}
        self._class_indices: dict[int | str | None, int] = {}
        self._scores = tf.function(
            lambda x: self.model.forward(x, ["scores"])["scores"],
            input_signature=[tf.TensorSpec([None, WINDOW_SAMPLES], tf.float32)],
            autograph=AUTOGRAPH,
        )

    @classmethod
    def load(cls, model: ModelSettings, threads: int = 1, device: str = "auto") -> Dreamer:
        """TensorFlow's threads and device set, YAMNet loaded as ``model`` says, a Dreamer on it."""
        from instrument.model.loader import load_yamnet
        from instrument.model.runtime import configure_tensorflow

        placed = configure_tensorflow(threads, device)
        return cls(load_yamnet(model), placed)

    def class_index(self, target_class: int | str | None) -> int:
        """-1 for none (the window's own top class), else a valid class index."""
        cached = self._class_indices.get(target_class)
        if cached is None:
            cached = self._class_indices[target_class] = self._resolve_class(target_class)
        return cached

    def _resolve_class(self, target_class: int | str | None) -> int:
        # DreamParams has read auto, none, -1 and index strings (class_target): None or an index or a name here.
        return -1 if target_class is None else self.classes.lookup(target_class)

    def target_sound(self, path: str | Path) -> np.ndarray:
        """A target sound file as 16 kHz mono (cached by path)."""
        key = str(path)
        if key not in self._sounds:
            data, rate = read_audio(path)
            self._sounds[key] = resample(to_mono(data), rate, SAMPLE_RATE)
        return self._sounds[key]

    def set_target_audio(self, name: str, audio_16k: np.ndarray) -> None:
        """Register a target sound captured at run time under ``name``."""
        self._sounds[name] = np.asarray(audio_16k, np.float32)
        self._targets = {k: v for k, v in self._targets.items() if name not in k[:2]}

    def target_spectrum(self, params: DreamParams) -> tf.Tensor | None:
        if params.mode != "target":
            return None
        key = (params.target_sound, params.filter_fft, params.filter_hop)
        if key not in self._targets:
            sound = self.target_sound(params.target_sound) if params.target_sound else None
            self._targets[key] = self.step.target_spectrum(sound, params)
        return self._targets[key]

    def check(self, params: DreamParams) -> None:
        """Raise a clear error now for anything an iteration would trip on later."""
        self.class_index(params.target_class)
        self.target_spectrum(params)

    def iterate(self, x: np.ndarray | tf.Tensor, params: DreamParams) -> StepResult:
        with tf.device(self.device):
            return self.step(x, params, self.class_index(params.target_class), self.target_spectrum(params))

    def buffer_target_spectrum(self, params: DreamParams, length: int) -> tf.Tensor | None:
        """The target sound tiled to a ``length``-sample buffer (``None`` unless mode is ``target``)."""
        if params.mode != "target":
            return None
        key = ("buffer", params.target_sound, params.filter_fft, params.filter_hop, length)
        if key not in self._targets:
            sound = self.target_sound(params.target_sound) if params.target_sound else None
            self._targets[key] = self.step.target_spectrum(sound, params, length)
        return self._targets[key]

    def iterate_buffer(
        self, buffer: np.ndarray | tf.Tensor, params: DreamParams, offsets: np.ndarray,
        span: tuple[int, int] | None = None, objective: str = "windows",
    ) -> StepResult:
        """One whole-buffer iteration with its windows at ``offsets`` (``instrument.dream.buffer`` draws them);
        ``span``: the buffer's real signal (default all of it; see ``DreamStep.iterate_buffer``); ``objective``:
        how the windows' loss is computed (``instrument.dream.objective``)."""
        length = int(np.shape(buffer)[-1])
        with tf.device(self.device):
            return self.step.iterate_buffer(
                buffer, params, self.class_index(params.target_class),
                self.buffer_target_spectrum(params, length), offsets, span, objective,
            )

    def warm_up(self, key: FunctionKey, length: int = WINDOW_SAMPLES, count: int = 1) -> None:
        """Compile the iteration of ``key`` for ``[., length]`` buffers of ``count`` windows (``DreamStep.warm_up``),
        on this dreamer's device, where its iterations run."""
        with tf.device(self.device):
            self.step.warm_up(key, length, count)

    def scores(self, windows: np.ndarray | tf.Tensor) -> np.ndarray:
        """Class scores ``[batch, 521]`` of ``[batch, 15600]`` windows."""
        with tf.device(self.device):
            return self._scores(tf.convert_to_tensor(windows, tf.float32)).numpy()

    def top(self, scores: np.ndarray, n: int = 1) -> list[dict]:
        if not 1 <= n <= len(self.classes):
            raise DreamSoundError(f"--top {n} is out of range; allowed: 1 to {len(self.classes)}")
        order = np.argsort(-scores, kind="stable")[:n]
        return [
            {"index": int(i), "name": self.classes[int(i)].name, "score": round(float(scores[i]), 6)} for i in order
        ]

