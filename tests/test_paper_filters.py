"""Each mode computed from the paper's formulas, written here in numpy alone, against the mode function.

The paper (ICAD 2021, "Filter-based function") with inputs a (filtered) and b (mask source):

    A_mag, A_pha = MAGPHASE(STFT(a));  B_mag = ABS(STFT(b))
    hard_cut = (SIGN(NORMALIZE(B_mag) - threshold) + 1) / 2
    new = ISTFT(COMPLEX_MUL(A_pha, hard_cut * A_mag))

with MAGPHASE's power on the filtered magnitude (the package's ``magphase``), NORMALIZE by each frame's
peak, and the project's level rule around it (docs/sound.md): the gradient at the sound's short-term
level ``u = g E(x) / E(g)``, the result scaled back to ``E(x)``. Nothing from ``instrument`` is used to
compute the expected signal: the STFT, its inverse, the envelope and the soft clip are written below.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import WHISTLE, load_16k

from instrument.dream.step import mode_function

FFT, HOP = 1024, 256
N = 20000
BLOCK, RADIUS = 160, 3  # 10 ms blocks, a 70 ms Hann kernel


# --- an STFT with the project's framing: one FFT of zeros each side, frames every HOP, periodic Hann -----
def hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def frames_count(length: int) -> int:
    return -(-(length + 2 * FFT) // HOP)


def stft(x: np.ndarray) -> np.ndarray:
    count = frames_count(x.size)
    padded = np.zeros((count - 1) * HOP + FFT)
    padded[FFT : FFT + x.size] = x
    frames = np.stack([padded[k * HOP : k * HOP + FFT] * hann(FFT) for k in range(count)])
    return np.fft.rfft(frames, axis=1)


def istft(spectrum: np.ndarray, length: int) -> np.ndarray:
    count = spectrum.shape[0]
    out = np.zeros((count - 1) * HOP + FFT)
    weight = np.zeros_like(out)
    frames = np.fft.irfft(spectrum, n=FFT, axis=1)
    for k in range(count):
        out[k * HOP : k * HOP + FFT] += frames[k] * hann(FFT)
        weight[k * HOP : k * HOP + FFT] += hann(FFT) ** 2
    return (out / np.maximum(weight, 1e-12))[FFT : FFT + length]


def hard_cut(b: np.ndarray, threshold: float) -> np.ndarray:
    magnitude = np.abs(b)
    peak = magnitude.max(axis=1, keepdims=True)
    cut = (np.sign(magnitude / np.maximum(peak, 1e-12) - threshold) + 1) / 2
    return np.where(peak > 1e-12, cut, 0.0)


def magphase(a: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    magnitude = np.abs(a)
    peak = np.maximum(magnitude.max(axis=1, keepdims=True), 1e-12)
    phase = np.where(magnitude > 1e-12, a / np.maximum(magnitude, 1e-12), 1.0)
    return peak * (magnitude / peak) ** power, phase


def paper_filter(a: np.ndarray, b: np.ndarray, threshold: float, power: float) -> np.ndarray:
    """The paper's filtered spectrum: ``hard_cut(b) * MAGPHASE(a)`` (a, b: spectra)."""
    magnitude, phase = magphase(a, power)
    return hard_cut(b, threshold) * magnitude * phase


# --- the level rule --------------------------------------------------------------------------------------
def envelope(s: np.ndarray) -> np.ndarray:
    blocks = -(-s.size // BLOCK)
    padded = np.zeros(blocks * BLOCK)
    padded[: s.size] = s
    energy = (padded**2).reshape(blocks, BLOCK).sum(axis=1)
    count = np.zeros(blocks * BLOCK)
    count[: s.size] = 1
    count = count.reshape(blocks, BLOCK).sum(axis=1)
    kernel = np.hanning(2 * RADIUS + 3)[1:-1]
    kernel /= kernel.sum()
    smooth = np.sqrt(np.convolve(energy, kernel, "same") / np.convolve(count, kernel, "same"))
    centres = (np.arange(blocks) + 0.5) * BLOCK - 0.5
    return np.interp(np.arange(s.size), centres, smooth)


def at_level(y: np.ndarray, level: np.ndarray) -> np.ndarray:
    e = envelope(y)
    return y * np.where(e > 1e-9, level / np.maximum(e, 1e-9), 0.0)


def soft_clip(y: np.ndarray, knee: float = 0.9) -> np.ndarray:
    m = np.abs(y)
    return np.where(m > knee, np.sign(y) * (knee + (1 - knee) * np.tanh((m - knee) / (1 - knee))), y)


def expected(mode: str, flip: bool, x, g, t, threshold, step, power) -> np.ndarray:
    level = envelope(x)
    u = at_level(g, level)
    X, U, T = stft(x), stft(u), stft(t)  # noqa: N806 (the paper's names)
    if mode == "gradients":
        y = u
    elif mode == "deepdream":
        y = x + step * u
    elif mode == "filter":  # the paper's (b), reached by `step` per iteration (replaced at step >= 1)
        filtered = istft(paper_filter(U, X, threshold, power) if flip else paper_filter(X, U, threshold, power), x.size)
        y = x + min(step, 1.0) * (filtered - x)
    elif mode == "filter_add":
        y = x + step * istft(paper_filter(X, U, threshold, power) if flip else paper_filter(U, X, threshold, power),
                             x.size)
    else:  # target: the gradient through the target's mask; flip: with the target's phases
        filtered = paper_filter(U, T, threshold, power)
        if flip:
            filtered = np.abs(filtered) * magphase(T, 1.0)[1]
        y = x + step * istft(filtered, x.size)
    return soft_clip(at_level(y, level))


@pytest.fixture(scope="module")
def signals():
    x = load_16k(WHISTLE)[:N].astype(np.float64)
    rng = np.random.default_rng(3)
    # A gradient-like signal: noise with a slow envelope of its own (the level rule must take it off).
    g = rng.standard_normal(N) * (1 + 0.8 * np.sin(np.arange(N) / 900))
    target = np.sin(2 * np.pi * 700 * np.arange(N) / 16000) + 0.3 * rng.standard_normal(N)
    return x, g, target


@pytest.mark.parametrize(("mode", "flip"), [
    ("gradients", False), ("deepdream", False), ("filter", False), ("filter", True),
    ("filter_add", False), ("filter_add", True), ("target", False), ("target", True),
])
@pytest.mark.parametrize(("threshold", "step", "power"), [(0.3, 0.3, 0.125), (0.0, 1.0, 1.0), (1.0, 0.05, 0.5)])
def test_mode_is_the_papers_formula(signals, mode, flip, threshold, step, power):
    x, g, target = signals
    want = expected(mode, flip, x, g, target, threshold, step, power)
    apply = mode_function(mode, flip, FFT, HOP, N)
    f32 = lambda a: tf.constant(np.asarray(a, np.float32)[None])  # noqa: E731
    target_spectrum = tf.signal.stft(tf.pad(f32(target), [[0, 0], [FFT, FFT]]), FFT, HOP, FFT, pad_end=True)
    got = apply(f32(x), f32(g), tf.constant(threshold, tf.float32), tf.constant(step, tf.float32),
                tf.constant(power, tf.float32), target_spectrum, tf.constant([0, N], tf.int32),
                tf.constant(0.0)).numpy()[0]
    scale = np.abs(want).max()
    assert scale > 1e-4
    # float32 against float64: a few bins within rounding of the threshold may flip; the rest agrees.
    np.testing.assert_allclose(got, want, atol=2e-3 * scale)
    assert np.sqrt(np.mean((got - want) ** 2)) <= 5e-4 * scale
