"""The whole-buffer iteration: windows at jittered offsets, one gradient for the whole signal."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import WHISTLE, load_16k

from instrument.dream.buffer import draw_offsets, window_count
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError

W = 15600


def test_grid_offsets_cover_every_sample_twice_and_depend_only_on_the_seed():
    length = 5 * W
    count = window_count(length, 2.0)
    for seed in range(20):
        offsets = draw_offsets(np.random.default_rng(seed), length, count, "grid")
        assert offsets.dtype == np.int32 and offsets.min() >= 0 and offsets.max() <= length - W
        coverage = np.zeros(length)
        for o in offsets:
            coverage[o : o + W] += 1
        # Every sample at least one window away from the ends lies under >= 2 windows.
        assert coverage[W:-W].min() >= 2
        assert coverage.min() >= 1
    a = draw_offsets(np.random.default_rng(7), length, count)
    b = draw_offsets(np.random.default_rng(7), length, count)
    c = draw_offsets(np.random.default_rng(8), length, count)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_offsets_outside_the_buffer_are_a_clear_error(dreamer):
    with pytest.raises(DreamSoundError, match=r"window offsets must lie in 0\.\.15600"):
        dreamer.iterate_buffer(np.zeros(2 * W, np.float32), DreamParams(), np.array([15601]))
    with pytest.raises(DreamSoundError, match="shorter than one window"):
        window_count(W - 1)


def test_gradient_of_the_buffer_is_the_sum_of_its_windows_gradients(dreamer):
    """Two overlapping windows: the buffer's gradient equals both window gradients added in place."""
    x = load_16k(WHISTLE)[: 2 * W]
    offsets = np.array([0, 9000], np.int32)
    params = DreamParams(mode="gradients", layer="layer10")
    result = dreamer.iterate_buffer(x, params, offsets)
    total = np.zeros(2 * W, np.float64)
    for o in offsets:
        window = tf.constant(x[o : o + W][None])
        with tf.GradientTape() as tape:
            tape.watch(window)
            loss = tf.reduce_mean(dreamer.model.forward(window, ["layer10"])["layer10"])
        total[o : o + W] += tape.gradient(loss, window).numpy()[0]
    expected = total / total.std()
    np.testing.assert_allclose(result.gradient.numpy()[0], expected, atol=2e-3 * np.abs(expected).max())
    assert result.loss.shape == (1, 2)


def test_parameters_and_offsets_change_without_recompiling_and_step_zero_is_identity(dreamer):
    x = load_16k(WHISTLE)[: 3 * W]
    count = window_count(x.size)
    rng = np.random.default_rng(1)
    step = dreamer.step
    compiled = []
    for value in (0.0, 0.02, 0.05):
        params = DreamParams(mode="filter_add", layer="layer4", step=value, threshold=0.2 + value)
        y = dreamer.iterate_buffer(x, params, draw_offsets(rng, x.size, count)).audio.numpy()[0]
        if value == 0.0:
            below = np.abs(x) <= 0.9  # the safety bends only samples above 0.9
            np.testing.assert_allclose(y[below], x[below], atol=1e-6)
        else:
            assert np.abs(y - x).max() > 1e-3
        compiled.append(step.compiled_count)
    assert compiled[1:] == compiled[:1] * 2  # compiled for the first call only


def test_channels_are_dreamed_as_separate_signals_in_one_call(dreamer):
    x = load_16k(WHISTLE)[: 2 * W]
    params = DreamParams(mode="deepdream", layer="layer4", step=0.05)
    offsets = np.array([100, 8000, 15000], np.int32)
    both = dreamer.iterate_buffer(np.stack([x, 0.5 * x[::-1]]), params, offsets).audio.numpy()
    alone = dreamer.iterate_buffer(0.5 * x[::-1], params, offsets).audio.numpy()[0]
    np.testing.assert_allclose(both[1], alone, atol=1e-5)
    assert np.abs(both[0] - both[1]).max() > 0.1


def test_a_first_run_goes_beside_the_caller_on_a_second_core_and_inline_on_one():
    """``step.beside``: on two cores the call runs on a thread of its own (its result and its error come back
    through the returned call); pinned to one core it runs at once, in the caller's thread (a thread there would
    only take turns with the caller on the GIL)."""
    import os
    import threading

    from instrument.dream.step import _cores, beside

    def where() -> str:
        return threading.current_thread().name

    def fails() -> None:
        raise ValueError("in the first run")

    if _cores() >= 2:
        assert beside(where)() == "dream-first-run"
        with tf.device("/CPU:0"):  # the caller's device scope reaches the thread
            assert beside(lambda: tf.zeros([]).device)().endswith("CPU:0")
        with pytest.raises(ValueError, match="in the first run"):
            beside(fails)()
    if not hasattr(os, "sched_setaffinity"):
        return  # macOS: no per-thread CPU affinity to pin with; the dream process is not pinned there either
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})  # this thread only (Linux)
    try:
        assert beside(where)() == threading.current_thread().name
        with pytest.raises(ValueError, match="in the first run"):
            beside(fails)
    finally:
        os.sched_setaffinity(0, allowed)
