"""Full band: the dream's change is band-limited to 8 kHz; the input above it reaches the output at its own
level, rate and phase (``dream.band: full``); ``band: 16k`` is the paper's 16 kHz-only sound.

The assembly is checked on its own first (the dream is then a given 16 kHz signal: no model), on the
shared music recording and on noise; then the real model renders and replays (docs/full-band.md).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from conftest import PLUCK_MELODY, SPEECH_AND_CAT, shared_file
from scipy.signal import csd, welch

from instrument.audiofile import read_audio, resample
from instrument.dream.render import assemble, to_channels_first


def pluck(rate: int, seconds: float = 4.0) -> np.ndarray:
    """The first seconds of the music recording (frames x 2) at ``rate``."""
    audio, native = read_audio(shared_file(PLUCK_MELODY))
    audio = resample(audio[: round(seconds * native)], native, rate)
    return (0.9 * audio / np.abs(audio).max()).astype(np.float32)  # resampling may overshoot 1


def band_db(x: np.ndarray, rate: int, low: float = 0.0, high: float = np.inf) -> float:
    """Energy in dB of ``x`` (along the first axis, all channels together) between ``low`` and ``high`` Hz
    (Hann-windowed: the signal's ends must not leak into the upper band)."""
    window = np.hanning(x.shape[0]).reshape(-1, *([1] * (x.ndim - 1)))
    spectrum = np.abs(np.fft.rfft(x * window, axis=0)) ** 2
    f = np.fft.rfftfreq(x.shape[0], 1 / rate)
    return float(10 * np.log10(spectrum[(f >= low) & (f < high)].sum() + 1e-30))


def upper_error_db(out: np.ndarray, x: np.ndarray, rate: int, above: float = 8500.0) -> float:
    """Energy of ``out - x`` above ``above`` Hz, in dB relative to ``x``'s there (sample-exact comparison)."""
    return band_db(out - x, rate, above) - band_db(x, rate, above)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_dream_that_changes_nothing_gives_back_the_input_bit_for_bit(rate: int) -> None:
    audio = pluck(rate)
    x16 = to_channels_first(resample(audio, rate, 16000))
    out = assemble(audio, x16, x16.copy(), rate, "full")
    assert out.shape == audio.shape
    np.testing.assert_array_equal(out, audio)
    assert band_db(audio, rate, 8000) - band_db(audio, rate) > -25  # the music does have an upper band


@pytest.mark.parametrize("rate", [44100, 48000])
def test_above_8_5_khz_the_output_is_the_input_whatever_the_dream_does(rate: int) -> None:
    """A change of the whole 16 kHz band (the music scaled down, noise added up to 8 kHz): the output's band
    above 8.5 kHz is the input's, sample for sample; with ``16k`` it is gone."""
    audio = pluck(rate)
    x16 = to_channels_first(resample(audio, rate, 16000))
    noise = np.random.default_rng(0).standard_normal(x16.shape).astype(np.float32)
    dreamed = 0.3 * x16 + 0.05 * noise
    out = assemble(audio, x16, dreamed, rate, "full")
    assert upper_error_db(out, audio, rate) < -60
    assert band_db(out - audio, rate, 0, 7000) - band_db(audio, rate, 0, 7000) > -6  # the change is there
    paper = assemble(audio, x16, dreamed, rate, "16k")
    assert band_db(paper, rate, 8500) - band_db(audio, rate, 8500) < -60


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("gain", [0.0, 0.5, 2.0])
def test_the_crossover_has_no_notch_and_no_bump(rate: int, gain: float) -> None:
    """White noise whose 16 kHz dream is the noise times ``gain``: the output's response is ``gain`` below
    7 kHz, 1 above 8 kHz, and between them it moves from one to the other without dipping below or
    rising above both, and without a phase turn (a misaligned path would comb there)."""
    x = (0.1 * np.random.default_rng(1).standard_normal(8 * rate)).astype(np.float32)
    x16 = resample(x, rate, 16000)[None]
    out = assemble(x, x16, gain * x16, rate, "full")[:, 0]
    f, pxx = welch(x, rate, nperseg=4096)
    _, pxy = csd(x, out, rate, nperseg=4096)
    response = pxy / pxx
    magnitude, phase = np.abs(response), np.degrees(np.angle(response))
    tol = 10 ** (0.05 / 20)  # 0.05 dB
    below, above, between = f < 7000, f > 8000, (f >= 7000) & (f <= 8000)
    if gain:
        assert np.all(np.abs(magnitude[below] / gain - 1) < tol - 1), magnitude[below].min()
    else:
        assert magnitude[below].max() < 0.01  # -40 dB: the dream took it all
    assert np.all(np.abs(magnitude[above] - 1) < tol - 1)
    low, high = min(gain, 1.0), max(gain, 1.0)
    assert np.all(magnitude[between] >= low / tol - 1e-3) and np.all(magnitude[between] <= high * tol)
    assert np.all(np.abs(phase[magnitude > 0.1]) < 1.0)


def test_render_keeps_the_music_above_8_khz_and_16k_gives_the_paper_sound(cli, tmp_path, loaded):
    """The real model renders the music (44.1 kHz stereo) at the default settings: the energy above 8 kHz in
    and out agrees within 0.5 dB and the band above 8.5 kHz is the input's to -40 dB; below 8 kHz it is the
    same dream as ``--band 16k``, which leaves the upper band more than 40 dB down."""
    audio = pluck(44100, 3.0)
    source = tmp_path / "music.wav"
    sf.write(source, audio, 44100, subtype="FLOAT")
    full, paper = tmp_path / "full.wav", tmp_path / "paper.wav"
    code, stdout, _ = cli("render", str(source), str(full), "--iterations", "6", "--json")
    assert code == 0 and json.loads(stdout)["params"]["band"] == "full"
    assert cli("render", str(source), str(paper), "--iterations", "6", "--band", "16k")[0] == 0
    out, rate = sf.read(full, dtype="float32")
    out16, _ = sf.read(paper, dtype="float32")
    assert rate == 44100 and out.shape == audio.shape
    figures = {
        "upper_in_db": band_db(audio, rate, 8000), "upper_out_db": band_db(out, rate, 8000),
        "upper_16k_db": band_db(out16, rate, 8000), "upper_error_db": upper_error_db(out, audio, rate),
        "change_below_7k_db": band_db(out - audio, rate, 0, 7000) - band_db(audio, rate, 0, 7000),
        # the dreamed band is the same dream in both: what differs below 6 kHz is only soxr's residue
        "full_vs_16k_below_6k_db": band_db(out - out16, rate, 0, 6000) - band_db(out - audio, rate, 0, 6000),
    }
    print(figures)
    assert abs(figures["upper_out_db"] - figures["upper_in_db"]) < 0.5, figures
    assert figures["upper_error_db"] < -40, figures
    assert figures["change_below_7k_db"] > -40, figures
    assert figures["full_vs_16k_below_6k_db"] < -30, figures
    assert figures["upper_in_db"] - figures["upper_16k_db"] > 40, figures


def test_render_with_no_iterations_is_the_input_at_its_own_rate(dreamer):
    from instrument.dream.params import DreamParams
    from instrument.dream.render import Layout, render

    for rate in (44100, 48000):
        audio = pluck(rate, 5.0)
        result = render(dreamer, audio, rate, DreamParams(iterations=0), layout=Layout(chunk_seconds=2.0))
        np.testing.assert_array_equal(result.audio, audio)


def test_replay_keeps_the_upper_band_and_freeze_holds_it(cli, tmp_path, loaded):
    """A take at 48 kHz: the music until 1.2 s, then speech with nothing above 8 kHz (a 16 kHz recording);
    freeze from 1.0 to 2.6 s. The replay keeps the music's upper band; while frozen it holds the music's
    (the held window) though the dry has none there, and after the release it follows the dry again."""
    from test_replay import RATE, start_line, write_take

    speech, speech_rate = read_audio(shared_file(SPEECH_AND_CAT))
    music = pluck(RATE, 1.2).mean(axis=1)
    dry = np.concatenate([music, 0.8 * resample(speech[:, 0], speech_rate, RATE)[RATE : int(3.6 * RATE)]])
    dry = dry.astype(np.float32)
    take = write_take(tmp_path, dry, [start_line(), {"t": 1.0, "frame": RATE, "name": "freeze", "value": True},
                                      {"t": 2.6, "frame": int(2.6 * RATE), "name": "freeze", "value": False}])
    results = {}
    for band in ("full", "16k"):
        out = tmp_path / f"{band}.wav"
        assert cli("replay", str(take), str(out), "--iterations", "2", "--set", f"band={band}")[0] == 0
        results[band], _ = sf.read(out, dtype="float32")
    full, paper = results["full"], results["16k"]

    def upper(x: np.ndarray, a: float, b: float) -> float:
        return band_db(x[int(a * RATE) : int(b * RATE)], RATE, 8500)

    assert abs(upper(full, 0.1, 0.9) - upper(dry, 0.1, 0.9)) < 1.0  # before the freeze: the dry's own
    assert upper_error_db(full[: int(0.9 * RATE)], dry[: int(0.9 * RATE)], RATE) < -30
    held, music_level, speech_level = upper(full, 1.3, 2.5), upper(dry, 0.1, 0.9), upper(dry, 1.3, 2.5)
    assert held > music_level - 6 and held > speech_level + 20, (held, music_level, speech_level)
    assert abs(upper(full, 2.8, 3.6) - upper(dry, 2.8, 3.6)) < 1.0  # released: the dry's again
    assert upper(paper, 0.1, 3.6) < upper(dry, 0.1, 3.6) - 40
