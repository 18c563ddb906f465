"""`dreamsound render`: any file in, same rate/channels/length out, seamless, repeatable."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from conftest import SPEECH_AND_CAT, WHISTLE, shared_file

from instrument.audiofile import read_audio, resample


@pytest.fixture(scope="module")
def stereo_44k(tmp_path_factory):
    """The whistle as a 44.1 kHz stereo file (second channel: the speech), made in the test."""
    whistle, rate = read_audio(shared_file(WHISTLE))
    speech, speech_rate = read_audio(shared_file(SPEECH_AND_CAT))
    left = resample(whistle[:, 0], rate, 44100)
    right = resample(speech[:, 0], speech_rate, 44100)[: left.size]
    path = tmp_path_factory.mktemp("render") / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 44100, subtype="FLOAT")
    return path


def test_render_keeps_rate_channels_and_length_and_reports(cli, stereo_44k, tmp_path, loaded):
    out = tmp_path / "dreamed.wav"
    code, stdout, _ = cli(
        "render", str(stereo_44k), str(out), "--mode", "deepdream", "--layer", "scores",
        "--target-class", "Dog", "--iterations", "5", "--json",
    )
    assert code == 0
    info, source = sf.info(out), sf.info(stereo_44k)
    assert (info.samplerate, info.channels, info.frames) == (44100, 2, source.frames)
    summary = json.loads(stdout)
    assert summary["iterations"] == 5 and summary["windows"] == len(summary["per_window"])
    window = summary["per_window"][0]
    assert len(window["loss"]) == 5 and window["loss"][-1] > window["loss"][0]
    assert window["top_before"]["name"] == "Whistling"
    # The loss is the Dog score: it rises from ~0 in the whistle's windows (its parent class
    # "Animal" rises with it and often becomes the top class).
    whistle_windows = [w for w in summary["per_window"] if w["channel"] == 0 and w["top_before"]["name"] != "Silence"]
    assert np.mean([w["loss"][-1] for w in whistle_windows]) > 0.3
    assert summary["seconds"] > 0
    audio, _ = sf.read(out)
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0


def test_render_is_seamless_the_window_weights_sum_to_one(dreamer):
    """With 0 iterations the overlap-add must give back the input exactly (16 kHz, no resampling)."""
    from instrument.dream.params import DreamParams
    from instrument.dream.render import render

    rng = np.random.default_rng(3)
    signal = (0.3 * rng.standard_normal((40000, 1))).astype(np.float32)
    for overlap in (0.5, 0.75, 0.3):
        result = render(dreamer, signal, 16000, DreamParams(iterations=0), overlap=overlap)
        np.testing.assert_allclose(result.audio, signal.clip(-1, 1), atol=1e-5)


def test_render_joins_dreamed_windows_without_clicks(dreamer):
    from instrument.dream.params import DreamParams
    from instrument.dream.render import render

    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(48000) / 16000)).astype(np.float32)[:, None]
    result = render(dreamer, tone, 16000, DreamParams(mode="deepdream", layer="layer4", iterations=3, step=0.05))
    jumps = np.abs(np.diff(result.audio[:, 0]))
    # No sample-to-sample jump beyond what the dreamed material itself has anywhere.
    assert jumps.max() < 4 * np.percentile(jumps, 99.9)


def test_same_input_and_parameters_give_the_same_output(cli, tmp_path, loaded):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    for out in (a, b):
        code, _, _ = cli("render", str(shared_file(WHISTLE)), str(out), "--iterations", "3")
        assert code == 0
    np.testing.assert_array_equal(sf.read(a)[0], sf.read(b)[0])


def test_plot_writes_the_paper_figures(cli, tmp_path, loaded):
    out, plots = tmp_path / "o.wav", tmp_path / "plots"
    code, stdout, _ = cli(
        "render", str(shared_file(WHISTLE)), str(out), "--mode", "filter_add", "--iterations", "2",
        "--plot", str(plots), "--json",
    )
    assert code == 0
    figure = plots / "o-filter_add-scores.png"
    assert figure.is_file() and figure.stat().st_size > 20000
    assert json.loads(stdout)["plot"] == str(figure)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "nightmare"], "mode 'nightmare' is not allowed"),
        (["--layer", "layer99"], "unknown layer 'layer99'"),
        (["--target-class", "Unicorn"], "unknown class 'Unicorn'"),
        (["--threshold", "2"], "threshold 2 is out of range; allowed: 0 to 1"),
        (["--step", "-0.5"], "step -0.5 is out of range"),
        (["--iterations", "-1"], "iterations -1 is out of range"),
        (["--mode", "target"], "mode 'target' needs a target sound"),
        (["--mode", "target", "--target-sound", "/nonexistent.wav"], "no such file"),
    ],
)
def test_bad_render_input_is_one_clear_error_and_no_output(cli, tmp_path, args, message, loaded):
    out = tmp_path / "out.wav"
    code, _, err = cli("render", str(shared_file(WHISTLE)), str(out), *args)
    assert code == 2
    assert message in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_unreadable_render_input_leaves_no_output(cli, tmp_path, loaded):
    bad, out = tmp_path / "bad.wav", tmp_path / "out.wav"
    bad.write_bytes(b"not audio")
    code, _, err = cli("render", str(bad), str(out))
    assert code == 2 and "cannot read audio file" in err
    assert not out.exists()
