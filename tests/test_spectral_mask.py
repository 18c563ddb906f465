"""The hard-cut mask computed without a per-bin power equals the paper's formula."""

import numpy as np
import pytest
import tensorflow as tf

from instrument.dream.spectral import Spectral


@pytest.mark.parametrize("power", [0.125, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.3, 0.7, 0.99, 1.0])
def test_mask_equals_normalized_power_formula(threshold, power):
    rng = np.random.default_rng(7)
    # Log-spread magnitudes (like audio spectra: many decades), with exact zeros mixed in.
    magnitude = np.exp(rng.uniform(-20, 3, (2, 40, 33))) * (rng.random((2, 40, 33)) > 0.05)
    spectrum = (magnitude * np.exp(1j * rng.uniform(0, 2 * np.pi, magnitude.shape))).astype(np.complex64)
    powered = np.abs(spectrum).astype(np.float64) ** power
    expected = (powered / powered.max(axis=(1, 2), keepdims=True) - threshold) > 0
    got = Spectral.mask(tf.constant(spectrum), tf.constant(threshold, tf.float32), tf.constant(power, tf.float32))
    mismatched = np.mean(got.numpy().astype(bool) != expected)
    assert mismatched <= 1e-3  # only bins within float32 rounding of the cut may differ


def test_mask_of_digital_silence_is_empty():
    silent = tf.zeros([1, 5, 9], tf.complex64)
    assert float(tf.reduce_sum(Spectral.mask(silent, tf.constant(0.0), tf.constant(0.125)))) == 0.0
