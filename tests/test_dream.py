"""The dream engine on the real model and recordings: the objective really rises."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.dream.params import MODES, DreamParams
from instrument.errors import DreamSoundError

TARGET = "../shared/audio/speech-and-cat.wav"


def _dream(dreamer, x, params, n):
    losses = []
    for _ in range(n):
        result = dreamer.iterate(x, params)
        losses.append(float(result.loss.numpy().mean()))
        x = result.audio.numpy()
    return x, losses


def test_deepdream_towards_dog_makes_the_whistle_a_dog(dreamer, whistle_window):
    dog = dreamer.classes.lookup("Dog")
    before = dreamer.scores(whistle_window)[0, dog]
    params = DreamParams(mode="deepdream", layer="scores", target_class="Dog", step=0.05)
    dreamed, _ = _dream(dreamer, whistle_window, params, 30)
    after = dreamer.scores(dreamed)[0, dog]
    assert before < 0.05
    assert after > 0.5


@pytest.mark.parametrize(
    ("mode", "layer"),
    [
        ("deepdream", "layer4"),
        ("deepdream", "layer10"),
        ("deepdream", "embeddings"),
        ("filter_add", "layer10"),
        ("filter_add", "scores"),
        ("target", "layer10"),
        ("target", "scores"),
    ],
)
def test_additive_modes_raise_the_layer_loss(dreamer, speech_window, shared_target, mode, layer):
    params = DreamParams(mode=mode, layer=layer, target_class="Dog" if layer == "scores" else None,
                         target_sound=shared_target if mode == "target" else None)
    _, losses = _dream(dreamer, speech_window, params, 20)
    assert losses[-1] > losses[0] * 1.05


def test_gradients_mode_sonifies_a_gradient_that_excites_the_layer_more(dreamer, speech_window):
    params = DreamParams(mode="gradients", layer="layer10")
    _, losses = _dream(dreamer, speech_window, params, 2)
    assert losses[1] > losses[0] * 1.1


def test_filter_threshold_zero_passes_the_sound_and_one_its_loudest_bins_at_its_level(dreamer, speech_window):
    # at power 1 (a power below 1 flattens the passed magnitudes: not the identity by its formula)
    identity = dreamer.iterate(speech_window, DreamParams(mode="filter", threshold=0.0, power=1.0)).audio.numpy()
    below = np.abs(speech_window) <= 0.9  # the safety bends only samples above 0.9
    np.testing.assert_allclose(identity[below], speech_window[below], atol=1e-5)
    # Threshold 1: the paper's (sign + 1) / 2 passes each frame's loudest gradient bin at half weight. At step 1
    # (the paper's full replacement) the sound's level is kept, so it is a thin, loud sound, not silence.
    thin = dreamer.iterate(speech_window, DreamParams(mode="filter", threshold=1.0, power=1.0, step=1.0)).audio.numpy()
    rms = lambda a: float(np.sqrt(np.mean(np.square(a))))  # noqa: E731
    assert abs(20 * np.log10(rms(thin) / rms(speech_window))) <= 3.0
    assert rms(thin - speech_window) > 0.5 * rms(speech_window)
    # A smaller step moves only part of the way there, and keeps the level. Toward so thin a sound, with the
    # level restored, that part is small: a high threshold leaves the sound nearly as it was.
    part = dreamer.iterate(speech_window, DreamParams(mode="filter", threshold=1.0, power=1.0, step=0.15)).audio.numpy()
    assert abs(20 * np.log10(rms(part) / rms(speech_window))) <= 3.0
    assert 0.0 < rms(part - speech_window) < 0.5 * rms(thin - speech_window)


def test_flip_changes_what_is_filtered(dreamer, speech_window):
    plain = dreamer.iterate(speech_window, DreamParams(mode="filter", threshold=0.5)).audio.numpy()
    flipped = dreamer.iterate(speech_window, DreamParams(mode="filter", threshold=0.5, flip=True)).audio.numpy()
    assert np.abs(plain - flipped).max() > 0.01


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["silence", "dc", "full_scale_noise"])
def test_degenerate_input_gives_finite_bounded_output(dreamer, shared_target, mode, kind):
    rng = np.random.default_rng(1)
    x = {
        "silence": np.zeros((1, 15600), np.float32),
        "dc": np.full((1, 15600), 0.5, np.float32),
        "full_scale_noise": rng.uniform(-1, 1, (1, 15600)).astype(np.float32),
    }[kind]
    params = DreamParams(mode=mode, layer="layer4", step=1.0, target_sound=shared_target if mode == "target" else None)
    for _ in range(3):
        x = dreamer.iterate(x, params).audio.numpy()
        assert np.all(np.isfinite(x))
        assert np.abs(x).max() <= 1.0 + 1e-6


def test_amplitude_cannot_run_away_over_hundreds_of_iterations(dreamer, speech_window):
    params = DreamParams(mode="deepdream", layer="layer10", step=0.5)
    x = speech_window
    for _ in range(300):
        x = dreamer.iterate(x, params).audio
    x = x.numpy()
    assert np.all(np.isfinite(x)) and np.abs(x).max() <= 1.0 + 1e-6


def test_changing_threshold_step_and_class_between_iterations_never_retraces(dreamer, speech_window):
    params = DreamParams(mode="filter_add", layer="scores")
    dreamer.iterate(speech_window, params)
    fns = dreamer.step.functions_for(params)
    compiled = dreamer.step.compiled_count
    for threshold, step, target in [(0.1, 0.02, None), (0.7, 0.5, "Dog"), (0.0, 0.0, 35)]:
        result = dreamer.iterate(speech_window, params.replace(threshold=threshold, step=step, target_class=target))
        assert result.audio.shape == (1, 15600)
    assert dreamer.step.functions_for(params) == fns
    assert dreamer.step.compiled_count == compiled


def test_a_batch_of_windows_dreams_each_window_as_alone(dreamer, speech_window, whistle_window):
    params = DreamParams(mode="deepdream", layer="layer4")
    both = dreamer.iterate(np.concatenate([speech_window, whistle_window]), params).audio.numpy()
    alone = dreamer.iterate(whistle_window, params).audio.numpy()
    np.testing.assert_allclose(both[1:], alone, atol=1e-4)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "dreamy"}, "mode 'dreamy' is not allowed; allowed: gradients, deepdream, filter, filter_add, target"),
        ({"layer": "layer0"}, "layer 'layer0' is not allowed"),
        ({"threshold": -0.1}, "threshold -0.1 is out of range; allowed: 0 to 1"),
        ({"step": -1.0}, "step -1 is out of range"),
        ({"iterations": -3}, "iterations -3 is out of range"),
        ({"mode": "target"}, "mode 'target' needs a target sound"),
        ({"filter_fft": 1000}, "power of two"),
    ],
)
def test_bad_parameters_name_the_parameter_and_the_allowed_values(changes, message):
    with pytest.raises(DreamSoundError) as err:
        DreamParams(**changes)
    assert message in str(err.value)


def test_unknown_target_class_is_refused_before_dreaming(dreamer):
    with pytest.raises(DreamSoundError, match="unknown class 'Unicorn'"):
        dreamer.check(DreamParams(target_class="Unicorn"))


@pytest.fixture(scope="session")
def shared_target():
    from conftest import SPEECH_AND_CAT, shared_file

    return str(shared_file(SPEECH_AND_CAT))


def test_warm_up_by_key_compiles_what_the_iterations_then_use(dreamer, speech_window):
    from instrument.dream.params import FunctionKey

    params = DreamParams(mode="filter", layer="layer6", flip=True, filter_fft=512, filter_hop=128)
    dreamer.step.warm_up(FunctionKey.of(params))
    dreamer.step.warm_up(("layer6", "target", False, 512, 128))  # a target mode needs no target sound to compile
    compiled = dreamer.step.compiled_count
    dreamer.iterate(speech_window, params)
    assert dreamer.step.compiled_count == compiled
