"""The buffer objectives (``dream.objective``): one pass over the buffer against each window alone.

Real weights and recordings. What is asserted: where the one pass equals the windows alone (every
layer's map inside each window, away from the edges its padding reaches), that the cutting machinery
is exact where it can be (the log-mel frames), the shapes and checks at the live buffer's shape, and
what each objective does to the *output*, scored at offsets no iteration chose.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import SPEECH_AND_CAT, WHISTLE, load_16k

from instrument.dream.listen import class_track
from instrument.dream.objective import GRID_SAMPLES, shared_activation
from instrument.dream.params import DreamParams
from instrument.dream.render import Layout, Region, dream_regions
from instrument.dream.step import cut_gradient, gradient_function
from instrument.errors import DreamSoundError
from instrument.model.layout import tap_stride

WINDOW = 15600


def _grid_windows(signal: np.ndarray, count: int) -> tuple[tf.Tensor, tf.Tensor]:
    length = WINDOW + GRID_SAMPLES * (count - 1)
    windows = np.stack([signal[GRID_SAMPLES * j : GRID_SAMPLES * j + WINDOW] for j in range(count)])
    return tf.constant(signal[None, :length]), tf.constant(windows)


@pytest.mark.parametrize(("tap", "margin"), [("layer1", 1), ("layer3", 2), ("layer5", 3), ("layer7", 2)])
def test_one_pass_maps_equal_each_window_alone_away_from_its_edges(loaded, tap, margin):
    """Inside a window, farther from its edges than the layers' zero padding reaches (``margin`` steps
    of ``tap``'s map), the one pass over the signal computes the same map as the window alone."""
    model = loaded.model
    segment, windows = _grid_windows(load_16k(SPEECH_AND_CAT), 6)
    shared = model.feature_map(model.front_end(segment), tap).numpy()[0]
    alone = model.forward(windows, [tap])[tap].numpy()
    stride = tap_stride(tap)
    steps, grid = 96 // stride, 32 // stride
    for j in range(len(alone)):
        inside = slice(margin, steps - margin)
        cut = shared[j * grid : j * grid + steps][inside]
        scale = np.abs(alone[j]).max()
        assert np.abs(cut - alone[j][inside]).max() <= 1e-4 * scale, (tap, j)
        # and the edge steps do differ: the window alone sees padding there, the pass the signal (the last
        # window ends where the pass does, so the pass pads after it too)
        if j < len(alone) - 1:
            edges = [np.abs(shared[j * grid + step] - alone[j][step]).max() for step in (0, steps - 1)]
            assert max(edges) > 1e-3 * scale


def test_one_pass_scores_are_the_windows_in_context_not_alone(loaded):
    """The stated difference: from ``layer10`` on, every step of a window's map is reached by its
    edges' padding, so the one pass's scores are those of the window *in context* (about 3 s of
    receptive field). On speech they agree with the windows alone in correlation but not in detail."""
    model = loaded.model
    segment, windows = _grid_windows(load_16k(SPEECH_AND_CAT), 9)
    shared = tf.sigmoid(shared_activation(model, segment, "scores", 9)).numpy()
    alone = model.forward(windows, ["scores"])["scores"].numpy()
    correlation = np.corrcoef(shared.ravel(), alone.ravel())[0, 1]
    assert 0.3 < correlation < 0.99, correlation
    assert np.abs(shared - alone).max() > 0.1


def test_cut_at_the_log_mel_frames_is_the_windows_objective_exactly(loaded):
    """The cutting machinery of ``early``: one front-end pass, each window's frames cut from it and run
    on alone. Cut at the log-mel frames (no padding there), with the windows on the 160-sample frame grid,
    it is the windows objective to float precision."""
    model = loaded.model
    x = tf.constant(load_16k(SPEECH_AND_CAT)[8000 : 8000 + 23400][None])
    offsets = tf.constant(np.array([0, 3200, 4960, 7680], np.int32) + 37)
    span = tf.constant([0, 23400])
    dog = tf.constant(69, tf.int32)
    g_windows, loss_windows = tf.function(gradient_function(model, "scores", 23400))(x, dog, offsets, span)
    g_cut, loss_cut = tf.function(cut_gradient(model, "scores", 23400, "log_mel"))(x, dog, offsets, span)
    np.testing.assert_allclose(loss_cut.numpy(), loss_windows.numpy(), rtol=1e-4, atol=1e-6)
    assert np.abs(g_cut.numpy() - g_windows.numpy()).max() < 1e-4


@pytest.mark.parametrize("objective", ["early", "shared"])
def test_objectives_run_at_the_live_buffer_shape(dreamer, objective):
    x = load_16k(WHISTLE)[:23400]
    params = DreamParams(mode="deepdream", layer="scores", target_class="Dog")
    for offsets in ([0, 2600, 5200, 7800], [0, 0, 0, 0], [7800, 7800, 7800, 7800]):
        result = dreamer.iterate_buffer(x, params, np.array(offsets, np.int32), objective=objective)
        assert result.audio.shape == (1, 23400) and result.loss.shape == (1, 4)
        assert np.isfinite(result.audio.numpy()).all() and np.abs(result.audio.numpy()).max() < 1
        assert np.std(result.gradient.numpy()) == pytest.approx(1.0, rel=1e-3)
    layer10 = params.replace(layer="layer10", mode="filter_add", target_class=None)
    offsets = np.array([0, 2600, 5200, 7800], np.int32)
    assert np.isfinite(dreamer.iterate_buffer(x, layer10, offsets, objective=objective).audio).all()


def test_an_unknown_objective_is_one_clear_message(dreamer):
    from instrument.settings import RenderSettings

    with pytest.raises(DreamSoundError, match=r"render\.objective .fast. is not allowed; allowed: windows, early"):
        RenderSettings(objective="fast")
    with pytest.raises(DreamSoundError, match="objective 'fast' is not allowed; allowed: windows, early, shared"):
        dreamer.iterate_buffer(np.zeros(23400, np.float32), DreamParams(), np.zeros(4, np.int32), objective="fast")
    # the default: the one measured as effective on the output; the settings reach the render's layout
    assert RenderSettings().objective == "windows" == Layout().objective
    assert RenderSettings(objective="early").layout().objective == "early"


def test_what_each_objective_does_to_the_output(dreamer):
    """The whistle rendered toward Dog (deepdream on scores, 20 iterations), scored on the 0.1 s listening
    grid, offsets no iteration chose. ``windows`` (the default) and ``early`` reach Dog on every window;
    ``shared`` dreams toward it, but less (docs/speed.md has the measurement on all recordings)."""
    signal = load_16k(WHISTLE)
    dog = dreamer.class_index("Dog")
    shares = {}
    for objective in ("windows", "early", "shared"):
        params = DreamParams(mode="deepdream", layer="scores", target_class="Dog", iterations=20)
        out = dream_regions(dreamer, signal[None], [Region(0, signal.size, params)], seed=1,
                            layout=Layout(objective=objective)).signal[0]
        shares[objective] = float(np.mean(class_track(dreamer, np.clip(out, -1, 1)).scores[:, dog] >= 0.5))
    assert shares["windows"] >= 0.95 and shares["early"] >= 0.95, shares
    assert shares["shared"] >= 0.6, shares
