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


def heard(dreamer, path, start_s: float = 0.05, hop_s: float = 0.1, tap: str = "scores") -> np.ndarray:
    """A tap of the model on the file's own windows (mono, 16 kHz) on a grid the dream did not use."""
    import tensorflow as tf

    audio, rate = read_audio(path)
    x = resample(audio.mean(axis=1), rate, 16000)
    starts = np.arange(round(start_s * 16000), x.size - 15600 + 1, round(hop_s * 16000))
    windows = tf.constant(np.stack([x[s : s + 15600] for s in starts]))
    return dreamer.model.forward(windows, [tap])[tap].numpy()


def test_render_keeps_rate_channels_and_length_and_reports(cli, stereo_44k, tmp_path, loaded):
    out = tmp_path / "dreamed.wav"
    code, stdout, _ = cli(
        "render", str(stereo_44k), str(out), "--mode", "deepdream", "--layer", "scores",
        "--target-class", "Dog", "--iterations", "5", "--step", "0.1", "--json",
    )
    assert code == 0
    info, source = sf.info(out), sf.info(stereo_44k)
    assert (info.samplerate, info.channels, info.frames) == (44100, 2, source.frames)
    summary = json.loads(stdout)
    assert summary["iterations"] == 5 and summary["windows"] == len(summary["per_window"])
    # Classes are measured on the output's own windows, every 0.1 s from 0.05 s.
    starts = [w["start_s"] for w in summary["per_window"]]
    assert starts[0] == 0.05 and np.allclose(np.diff(starts), 0.1)
    assert summary["per_window"][0]["top_before"]["name"] == "Whistling"
    chunk = summary["chunks"][0]
    assert len(chunk["loss"]) == 5 and chunk["loss"][-1] > chunk["loss"][0]
    assert summary["target"]["mean_after"] > summary["target"]["mean_before"] + 0.1
    assert summary["seconds"] > 0
    audio, _ = sf.read(out)
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0


def test_render_toward_a_class_the_input_is_not_is_heard_as_that_class(cli, dreamer, tmp_path):
    """Whistle -> Dog at the default step and iterations (20): the OUTPUT FILE, scored on
    windows at offsets the dream did not choose, is Dog (>= 0.5) on >= 90 % of them."""
    out = tmp_path / "dog.wav"
    whistle = shared_file(WHISTLE)
    code, _, _ = cli("render", str(whistle), str(out), "--mode", "deepdream", "--layer", "scores",
                     "--target-class", "Dog", "--seed", "11")
    assert code == 0
    dog = dreamer.class_index("Dog")
    before, after = heard(dreamer, whistle)[:, dog], heard(dreamer, out)[:, dog]
    assert np.mean(before >= 0.5) == 0.0
    assert np.mean(after >= 0.5) >= 0.9, after.round(2)
    # Also between the grid points: shifted by another 0.033 s.
    assert np.mean(heard(dreamer, out, start_s=0.083)[:, dog] >= 0.5) >= 0.9


def test_filter_add_on_layer10_raises_the_layer_on_the_output_at_undreamed_offsets(cli, dreamer, tmp_path):
    out = tmp_path / "fa.wav"
    speech = shared_file(SPEECH_AND_CAT)
    # step 1: the gradient at the sound's level before the mask (the default, 0.3, is a subtle dream)
    code, _, _ = cli("render", str(speech), str(out), "--mode", "filter_add", "--layer", "layer10", "--step", "1")
    assert code == 0
    before = heard(dreamer, speech, start_s=0.07, tap="layer10").mean(axis=(1, 2, 3))
    after = heard(dreamer, out, start_s=0.07, tap="layer10").mean(axis=(1, 2, 3))
    # the sound's level is kept (it was +6 dB of noise before), so the layer rises less than it did (1.2x)
    assert after.mean() > 1.08 * before.mean()
    assert np.mean(after > before) >= 0.8


def test_render_with_no_iterations_is_the_input_across_chunk_joins(dreamer):
    """With 0 iterations the chunks' crossfades must give back the input exactly (16 kHz, no resampling)."""
    from instrument.dream.params import DreamParams
    from instrument.dream.render import Layout, render

    rng = np.random.default_rng(3)
    signal = (0.3 * rng.standard_normal((100000, 2))).astype(np.float32)
    for layout in (Layout(chunk_seconds=2.0), Layout(chunk_seconds=2.5, crossfade_seconds=0.5), Layout()):
        result = render(dreamer, signal, 16000, DreamParams(iterations=0), layout=layout)
        np.testing.assert_allclose(result.audio, signal.clip(-1, 1), atol=1e-6)
        assert len(result.summary["chunks"]) == int(np.ceil(100000 / 16000 / layout.chunk_seconds))


def test_render_joins_dreamed_chunks_without_clicks(dreamer):
    from instrument.dream.params import DreamParams
    from instrument.dream.render import Layout, render

    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(80000) / 16000)).astype(np.float32)[:, None]
    params = DreamParams(mode="deepdream", layer="layer4", iterations=3, step=0.05)
    result = render(dreamer, tone, 16000, params, layout=Layout(chunk_seconds=2.0))
    assert len(result.summary["chunks"]) == 3
    jumps = np.abs(np.diff(result.audio[:, 0]))
    # No sample-to-sample jump beyond what the dreamed material itself has anywhere.
    assert jumps.max() < 4 * np.percentile(jumps, 99.9)
    # Equally dreamed: the change near the joins (2 s, 4 s) is like the change elsewhere.
    change = np.abs(result.audio[:, 0] - tone[:, 0])
    rms = [np.sqrt(np.mean(change[a : a + 4000] ** 2)) for a in range(8000, 72000, 4000)]
    assert max(rms) < 3 * min(rms)


def test_same_seed_gives_the_same_output_and_another_seed_another(cli, tmp_path, loaded):
    a, b, c = tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "c.wav"
    for out, seed in ((a, "5"), (b, "5"), (c, "6")):
        code, _, _ = cli("render", str(shared_file(WHISTLE)), str(out), "--iterations", "3", "--seed", seed)
        assert code == 0
    np.testing.assert_array_equal(sf.read(a)[0], sf.read(b)[0])
    assert np.abs(sf.read(a)[0] - sf.read(c)[0]).max() > 1e-4


def test_plot_writes_the_paper_figures_and_the_class_track(cli, tmp_path, loaded):
    out, plots = tmp_path / "o.wav", tmp_path / "plots"
    code, stdout, _ = cli(
        "render", str(shared_file(WHISTLE)), str(out), "--mode", "filter_add", "--iterations", "2",
        "--plot", str(plots), "--json",
    )
    assert code == 0
    figure, track = plots / "o-filter_add-scores.png", plots / "o-classes.png"
    assert figure.is_file() and figure.stat().st_size > 20000
    assert track.is_file() and track.stat().st_size > 10000
    summary = json.loads(stdout)
    assert summary["plot"] == str(figure) and summary["class_plot"] == str(track)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "nightmare"], "mode 'nightmare' is not allowed"),
        (["--layer", "layer99"], "layer 'layer99' is not allowed"),
        (["--target-class", "Unicorn"], "unknown class 'Unicorn'"),
        (["--threshold", "2"], "threshold 2 is out of range; allowed: 0 to 1"),
        (["--step", "-0.5"], "step -0.5 is out of range"),
        (["--iterations", "-1"], "iterations -1 is out of range"),
        (["--seed", "-3"], "render.seed -3 is out of range; allowed: 0 to 4294967295"),
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


def test_a_render_stopped_mid_dream_raises_at_once_and_its_classifier_stops_too(dreamer):
    """The input's classes are scored beside the dream (from its first iteration on). If the dream stops with an
    error (here: the progress callback, as a Ctrl-C would), that error comes out, and the classifier is told to
    stop: it scores no batch after that, instead of the rest of a long input."""
    import threading

    from instrument.dream.listen import class_track
    from instrument.dream.params import DreamParams
    from instrument.dream.render import render

    class StoppedError(Exception):
        pass

    def stop_at_second(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:
            raise StoppedError

    calls: list[int] = []
    signal = np.random.default_rng(0).standard_normal(16000 * 60).astype(np.float32) * 0.05  # a minute
    with pytest.raises(StoppedError):
        render(dreamer, signal[:, None], 16000, DreamParams(iterations=5), progress=stop_at_second)
    assert len(calls) == 2
    stopped = threading.Event()
    stopped.set()
    assert class_track(dreamer, signal, stop=stopped).scores.shape[0] == 0  # nothing scored once stopped
    whole = class_track(dreamer, signal)
    assert whole.scores.shape[0] == whole.times.size > 500
