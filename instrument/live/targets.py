"""Target sounds in the audio process: captured from the live input, and the checks of a parameter set
that can be made without the model (class names once known, a target sound's file).

A captured sound is kept here (``captured``) so a restarted dream process gets it again, and beside the
take when one is being recorded, so ``dreamsound replay`` finds it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from instrument.audiofile import audio_info
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.live.ringbuffer import RingBuffer
from instrument.model.layout import NUM_CLASSES

CAPTURE_SECONDS = (0.05, 10.0)  # a target sound captured from the live input: shortest, longest


def input_ring_frames(rate: int, window: int) -> int:
    """The input ring: four windows, and room for the longest capture plus a second the writer may claim."""
    return max(4 * window, 2 * rate, math.ceil((CAPTURE_SECONDS[1] + 1.0) * rate))


def capture_frames(seconds: float, rate: int, ring_frames: int) -> int:
    """Frames a capture of ``seconds`` takes from a ring of ``ring_frames``: all of them, or a clear error."""
    frames = int(seconds * rate)
    if frames > ring_frames - rate:  # input_ring_frames leaves a second for the writer's claim
        raise DreamSoundError(f"target capture of {seconds:g} s does not fit the input ring ({ring_frames} frames)")
    return frames


class TargetSounds:
    """The sounds captured live (name -> (audio, rate)) and the audio process's checks of a parameter set."""

    def __init__(self) -> None:
        self.captured: dict[str, tuple[np.ndarray, int]] = {}
        self._file_checked: str | None = None  # a target file is checked when it changes, not per message

    def check(self, params: DreamParams, classes: Any) -> None:
        """Refuse now what the dream process would trip on (no TensorFlow here).

        A class name can only be checked once the dream process has sent the class names
        (``classes``); before that it is accepted and the dream process reports it if it is unknown.
        """
        target = params.target_class
        if target is not None:  # DreamParams has already read auto, -1 and index strings
            if classes is not None:
                classes.lookup(target)
            elif isinstance(target, int) or str(target).strip().isdigit():
                if not 0 <= int(target) < NUM_CLASSES:
                    raise DreamSoundError(f"class index {target} is out of range; allowed: 0..{NUM_CLASSES - 1}")
        sound = params.target_sound
        if params.mode == "target" and sound and sound not in self.captured and sound != self._file_checked:
            audio_info(sound, "target sound")
            self._file_checked = sound

    def capture(self, name: str, seconds: float, ring: RingBuffer, rate: int) -> np.ndarray:
        """The newest ``seconds`` of ``ring`` (at ``rate``), kept as the target sound ``name``."""
        low, high = CAPTURE_SECONDS
        if not low <= seconds <= high:
            raise DreamSoundError(f"target capture of {seconds:g} s is out of range; allowed: {low:g} to {high:g}")
        audio = np.zeros(capture_frames(seconds, rate, ring.capacity), np.float32)
        ring.read_latest(audio)
        self.captured[name] = (audio, rate)  # resampled to the model's rate in the dream process
        return audio
