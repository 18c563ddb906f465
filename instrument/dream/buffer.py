"""Where the windows of a buffer lie at each iteration: the jitter that makes a dream shift-robust.

A buffer of N >= 15600 samples is dreamed as one signal (``DreamStep.iterate_buffer``):
per iteration the loss is summed over K windows cut from it at offsets drawn afresh
here (DeepDream's jitter; the original DreamSound package likewise sums its loss over
many overlapping YAMNet patches of the whole signal). A perturbation dreamed this way
is not tuned to one framing: it holds for the windows a listener (or a reference
classifier) takes at any other offset. Plain numpy: no TensorFlow here.
"""

from __future__ import annotations

import numpy as np

from instrument.errors import DreamSoundError
from instrument.model.layout import WINDOW_SAMPLES

OFFSET_STRATEGIES = ("grid", "random")
JITTER = 0.125  # each grid window moves by up to +-JITTER of the grid spacing


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
