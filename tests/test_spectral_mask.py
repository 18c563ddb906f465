"""The hard-cut masks: the paper's (linear magnitude, each frame's peak, (sign + 1) / 2) and the earlier
powered one, kept under its own name (``mask_powered``), each against its formula written in numpy."""

import numpy as np
import pytest
import tensorflow as tf

from instrument.dream.spectral import Spectral


def _spectrum(seed=7):
    rng = np.random.default_rng(seed)
    # Log-spread magnitudes (like audio spectra: many decades), with exact zeros mixed in.
    magnitude = np.exp(rng.uniform(-20, 3, (2, 40, 33))) * (rng.random((2, 40, 33)) > 0.05)
    return (magnitude * np.exp(1j * rng.uniform(0, 2 * np.pi, magnitude.shape))).astype(np.complex64)


@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.3, 0.7, 0.99, 1.0])
def test_paper_mask_is_sign_of_the_frame_normalized_linear_magnitude(threshold):
    spectrum = _spectrum()
    magnitude = np.abs(spectrum).astype(np.float64)
    normalized = magnitude / magnitude.max(axis=2, keepdims=True)
    expected = (np.sign(normalized - threshold) + 1) / 2
    got = Spectral.mask(tf.constant(spectrum), tf.constant(threshold, tf.float32)).numpy()
    assert np.mean(np.abs(got - expected) > 1e-6) <= 1e-3  # only bins within float32 rounding of the cut
    if threshold == 1.0:  # each frame's loudest bin alone, at half weight
        np.testing.assert_array_equal(got.sum(axis=2), 0.5)


@pytest.mark.parametrize("power", [0.125, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.3, 0.7, 0.99, 1.0])
def test_powered_mask_equals_normalized_power_formula(threshold, power):
    spectrum = _spectrum()
    powered = np.abs(spectrum).astype(np.float64) ** power
    expected = (powered / powered.max(axis=(1, 2), keepdims=True) - threshold) > 0
    got = Spectral.mask_powered(tf.constant(spectrum), tf.constant(threshold, tf.float32),
                                tf.constant(power, tf.float32))
    mismatched = np.mean(got.numpy().astype(bool) != expected)
    assert mismatched <= 1e-3  # only bins within float32 rounding of the cut may differ


def test_power_shapes_the_filtered_magnitude_and_keeps_each_frames_peak_and_phase():
    spectrum = _spectrum(3)
    got = Spectral.powered(tf.constant(spectrum), tf.constant(0.25, tf.float32)).numpy()
    magnitude = np.abs(spectrum).astype(np.float64)
    peak = magnitude.max(axis=2, keepdims=True)
    np.testing.assert_allclose(np.abs(got), peak * (magnitude / peak) ** 0.25, rtol=1e-4, atol=1e-6)
    loud = magnitude > 1e-3
    np.testing.assert_allclose(np.angle(got[loud] / spectrum[loud]), 0.0, atol=1e-4)


def test_mask_of_digital_silence_is_empty():
    silent = tf.zeros([1, 5, 9], tf.complex64)
    assert float(tf.reduce_sum(Spectral.mask(silent, tf.constant(0.0)))) == 0.0
    assert float(tf.reduce_sum(Spectral.mask_powered(silent, tf.constant(0.0), tf.constant(0.125)))) == 0.0
