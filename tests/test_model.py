"""YAMNet in this project: fidelity to the lite model, taps, weights from every source."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import CLASS_MAP, OFFICIAL_H5, TFLITE, WHISTLE, shared_file

from instrument.errors import DreamSoundError
from instrument.model.frontend import WINDOW_SAMPLES, reference_log_mel
from instrument.model.network import TAP_NAMES, YamNet, weight_shapes


def test_front_end_matches_tf_signal(loaded, whistle_window):
    ours = loaded.model.front_end(tf.constant(whistle_window)).numpy()
    reference = reference_log_mel(tf.constant(whistle_window)).numpy()
    assert ours.shape == (1, 96, 64)
    np.testing.assert_allclose(ours, reference, atol=1e-5, rtol=0)


def test_scores_match_litert_interpreter_on_the_same_patch(loaded, whistle_window, speech_window):
    from instrument.model.weights.tflite import open_interpreter

    interpreter = open_interpreter(shared_file(TFLITE))
    scores_out, patch_out = (d["index"] for d in interpreter.get_output_details())
    for window in (whistle_window, speech_window):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], window.astype(np.float32))
        interpreter.invoke()
        patch = interpreter.get_tensor(patch_out)
        expected = interpreter.get_tensor(scores_out)[0]
        ours = loaded.model.forward_patch(tf.constant(patch[None]), ["scores"])["scores"].numpy()[0]
        assert np.abs(ours - expected).max() < 0.02


def test_whistle_is_classified_as_whistling(dreamer, whistle_window):
    scores = dreamer.scores(whistle_window)[0]
    assert dreamer.classes[int(np.argmax(scores))].name == "Whistling"


def test_h5_and_tflite_weights_give_the_same_scores(loaded, whistle_window):
    from instrument.model.weights.h5 import read_h5

    from_h5 = YamNet(read_h5(shared_file(OFFICIAL_H5)))
    a = loaded.model.forward(tf.constant(whistle_window), ["scores"])["scores"].numpy()
    b = from_h5.forward(tf.constant(whistle_window), ["scores"])["scores"].numpy()
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_hub_savedmodel_in_the_official_layout_gives_the_same_scores(loaded, whistle_window, tmp_path):
    from official_yamnet import save_hub_model

    from instrument.model.loader import ModelSettings, load_yamnet

    directory = save_hub_model(tmp_path / "yamnet_hub", shared_file(OFFICIAL_H5), shared_file(CLASS_MAP))
    hub = load_yamnet(ModelSettings(source="hub", hub_handle=str(directory)))
    assert hub.classes[35].name == "Whistling"
    a = loaded.model.forward(tf.constant(whistle_window), ["scores"])["scores"].numpy()
    b = hub.model.forward(tf.constant(whistle_window), ["scores"])["scores"].numpy()
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_one_call_returns_every_requested_tap_with_its_shape(loaded):
    taps = loaded.model.forward(tf.zeros([2, WINDOW_SAMPLES]), TAP_NAMES)
    assert set(taps) == set(TAP_NAMES)
    assert taps["layer1"].shape == (2, 48, 32, 32)
    assert taps["layer14"].shape == (2, 3, 2, 1024)
    assert taps["embeddings"].shape == (2, 1024)
    assert taps["scores"].shape == (2, 521)
    only = loaded.model.forward(tf.zeros([1, WINDOW_SAMPLES]), ["layer4"])
    assert set(only) == {"layer4"}


@pytest.mark.parametrize("tap", [t for t in TAP_NAMES if t != "log_mel"])
def test_gradient_of_every_tap_is_finite_and_nonzero_on_real_audio(loaded, speech_window, tap):
    x = tf.constant(speech_window)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_mean(loaded.model.forward(x, [tap])[tap])
    g = tape.gradient(loss, x).numpy()
    assert np.all(np.isfinite(g))
    assert np.abs(g).max() > 0


def test_gradient_on_digital_silence_is_finite(loaded):
    x = tf.zeros([1, WINDOW_SAMPLES])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = loaded.model.forward(x, ["scores"])["scores"][0, 0]
    assert np.all(np.isfinite(tape.gradient(loss, x).numpy()))


def test_taps_mechanics_with_seeded_random_weights():
    """Mechanics only: a seeded random-weight model, never used by the instrument."""
    rng = np.random.default_rng(0)
    weights = {
        k: (rng.normal(0, 0.1, ks).astype(np.float32), rng.normal(0, 0.1, bs).astype(np.float32))
        for k, (ks, bs) in weight_shapes().items()
    }
    model = YamNet(weights)
    deep = model.forward(tf.ones([1, WINDOW_SAMPLES]) * 0.1, ["layer3", "layer3/depthwise", "logits"])
    assert set(deep) == {"layer3", "layer3/depthwise", "logits"}
    with pytest.raises(DreamSoundError, match="unknown layer 'layer15'"):
        model.forward(tf.zeros([1, WINDOW_SAMPLES]), ["layer15"])


def test_class_lookup_by_index_name_and_substring(loaded):
    classes = loaded.classes
    assert len(classes) == 521
    assert classes.lookup(35) == 35
    assert classes.lookup("35") == 35
    assert classes.lookup("whistling") == 35
    assert classes.lookup("Dog") == classes.lookup("dog")
    assert classes[classes.lookup("Dog")].mid.startswith("/m/")
    assert classes.lookup("Bow-wow") == classes.lookup("bow-wow")
    with pytest.raises(DreamSoundError, match="ambiguous"):
        classes.lookup("guit")
    with pytest.raises(DreamSoundError, match="unknown class 'zzzz'"):
        classes.lookup("zzzz")
    with pytest.raises(DreamSoundError, match="out of range"):
        classes.lookup(521)


def test_missing_and_corrupt_weights_are_clear_errors(tmp_path, monkeypatch):
    from instrument.model.loader import ModelSettings, load_yamnet
    from instrument.model.weights.h5 import read_h5
    from instrument.model.weights.tflite import read_tflite

    with pytest.raises(DreamSoundError, match="no such file"):
        read_tflite(tmp_path / "nope.tflite")
    corrupt = tmp_path / "yamnet.tflite"
    corrupt.write_bytes(b"not a model" * 100)
    with pytest.raises(DreamSoundError, match=r"not a valid \.tflite"):
        read_tflite(corrupt)
    bad_h5 = tmp_path / "yamnet.h5"
    bad_h5.write_bytes(b"\x89HDF garbage")
    with pytest.raises(DreamSoundError, match="not a readable HDF5"):
        read_h5(bad_h5)
    monkeypatch.delenv("DREAMSOUND_YAMNET")
    empty_cache = tmp_path / "cache"
    empty_cache.mkdir()
    settings = ModelSettings(source="auto", cache_dir=str(empty_cache), hub_handle=str(tmp_path / "no-hub-model"))
    with pytest.raises(DreamSoundError) as err:
        load_yamnet(settings)
    message = str(err.value)
    assert "yamnet.h5" in message and "yamnet.tflite" in message and "no-hub-model" in message
    assert "dreamsound model fetch" in message and "DREAMSOUND_YAMNET" in message


def test_environment_variable_chooses_the_weights(tmp_path, monkeypatch):
    from instrument.model.loader import ModelSettings, load_yamnet

    monkeypatch.setenv("DREAMSOUND_YAMNET", str(shared_file(OFFICIAL_H5)))
    settings = ModelSettings(class_map=str(shared_file(CLASS_MAP)), cache_dir=str(tmp_path))
    model = load_yamnet(settings)
    assert "yamnet-official-layout.h5" in model.description
    assert model.classes.lookup("Whistling") == 35


def test_device_choice_uses_a_gpu_when_tensorflow_sees_one():
    from instrument.model.runtime import choose_device

    assert choose_device("auto", ["/device:GPU:0"]) == "/GPU:0"
    assert choose_device("auto", []) == "/CPU:0"
    assert choose_device("cpu", ["/device:GPU:0"]) == "/CPU:0"
    with pytest.raises(DreamSoundError, match="sees no GPU"):
        choose_device("gpu", [])


def test_whistle_file_is_whistling_through_the_real_command(run_cli):
    result = run_cli("classify", str(shared_file(WHISTLE)), "--top", "3", "--json")
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert report["overall"][0]["name"] == "Whistling"
    assert {"start_s", "top"} <= set(report["windows"][0])
    assert set(report["windows"][0]["top"][0]) == {"index", "name", "score"}


@pytest.mark.parametrize("tap", ["layer10", "scores"])
def test_pretransposed_gradient_path_equals_autodiff(loaded, speech_window, tap):
    """The Eigen-path custom gradient (stored transposed kernels) gives TensorFlow's own gradient."""
    weights = loaded.model.numpy_weights()
    x = tf.constant(np.stack([speech_window, speech_window[::-1].copy()]))
    grads = []
    for pretransposed in (True, False):
        model = YamNet(weights, pretransposed_gradients=pretransposed)
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = model.forward(x, [tap])[tap]
            loss = tf.reduce_sum(out[:, 70]) if tap == "scores" else tf.reduce_mean(out)
        grads.append(tape.gradient(loss, x).numpy())
    scale = np.abs(grads[1]).max()
    assert scale > 0
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-5 * scale)


def test_onednn_is_on_for_the_instrument_on_x86():
    """The instrument asks TensorFlow for oneDNN on every x86 CPU (TF's default leaves it off on AVX2)."""
    import platform
    import subprocess
    import sys

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("oneDNN is an x86 choice")
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    code = "import instrument, tensorflow; from instrument.model.runtime import onednn_enabled; print(onednn_enabled())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "True"
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"  # the user's choice wins
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_tensorflow_comes_without_keras_and_keras_still_imports_after():
    """The commands and the dream process import TensorFlow through ``configure_tensorflow``, which leaves out
    the Keras optimizers TensorFlow loads "when it can" (and the matplotlib Keras pulls in): 0.6-1.5 s of each
    start. With TF_USE_LEGACY_KERAS=1 TensorFlow would load tf_keras instead: left out too. Keras and
    ``tf.keras`` still import afterwards for whoever wants them, and so does ``tensorflow.keras`` as a package
    (TensorFlow finds it through folders on ``tensorflow.__path__``, which the import had made ``None``)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from instrument.model.runtime import configure_tensorflow; configure_tensorflow(1);"
        "print(any(m in sys.modules for m in ('keras', 'tf_keras')), 'matplotlib' in sys.modules);"
        "import tensorflow as tf; print(float(tf.reduce_sum(tf.ones([3]))));"
        "import keras; print(hasattr(keras, 'layers'), hasattr(tf.keras, 'layers'));"
        "from tensorflow.keras.layers import Dense; print(Dense.__name__, None not in tf.__path__)"
    )
    for legacy in ("0", "1"):
        env = {**os.environ, "TF_USE_LEGACY_KERAS": legacy}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        lines = out.stdout.strip().splitlines()[-4:]
        assert lines == ["False False", "3.0", "True True", "Dense True"], (legacy, out.stdout + out.stderr)


def test_tensorflow_is_imported_with_the_collector_on_after_and_little_left_for_it_to_scan():
    """``configure_tensorflow`` pauses Python's garbage collector for TensorFlow's import (~600 passes that
    found nothing, 0.3-0.5 s of it) and freezes what the import built: a full collection, which holds the GIL,
    then scans only what came after (before, ~260 000 objects: 0.15-0.19 s, a stall of the dream loop)."""
    import os
    import subprocess
    import sys

    code = (
        "import gc; from instrument.model.runtime import configure_tensorflow; configure_tensorflow(1);"
        "print(gc.isenabled(), gc.get_freeze_count(), len(gc.get_objects()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    enabled, frozen, scanned = out.stdout.strip().splitlines()[-1].split()
    assert enabled == "True", out.stdout
    assert int(frozen) > 100_000 and int(scanned) < int(frozen) // 10, out.stdout


def test_tensorflow_loads_the_api_the_dream_does_not_use_only_when_something_reads_it():
    """``configure_tensorflow`` defers TensorFlow's API subpackages that the instrument does not touch (``compat``,
    ``distribute``, ``data``, ``nn`` with the legacy Keras and SciPy it pulls in ...): 0.45-0.5 s of the import. A
    whole dream iteration on the real weights must load none of them (or the time comes back), and whoever reads one
    gets it whole: ``tf.nn`` computes, ``tf.compat.v1`` has its names, and ``tf.lite`` keeps its own after the real
    ``tensorflow.lite`` package is imported."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from instrument.model.runtime import configure_tensorflow; configure_tensorflow(1)\n"
        "import types\n"
        "heavy = lambda: sorted(m for m in ('tensorflow.python.keras', 'scipy', 'tensorflow.python.feature_column')"
        " if m in sys.modules)\n"
        "deferred = lambda: sorted(n for n, m in list(sys.modules.items())"
        " if n.startswith('tensorflow._api.v2.') and type(m) is not types.ModuleType)\n"
        "before = deferred(); print(heavy())\n"
        "import numpy as np\n"
        "from instrument.dream.dreamer import Dreamer; from instrument.dream.params import DreamParams\n"
        "from instrument.model.loader import ModelSettings\n"
        f"d = Dreamer.load(ModelSettings(source='tflite', path={str(shared_file(TFLITE))!r}))\n"
        "x = np.sin(np.arange(15600, dtype=np.float32) * 0.05)[None] * 0.1\n"
        "for mode in ('filter_add', 'deepdream'):\n"
        "    r = d.iterate(x, DreamParams(mode=mode, target_class='Dog'))\n"
        "print(heavy(), bool(np.isfinite(np.asarray(r.audio)).all()), len(before) > 40 and deferred() == before)\n"
        "import tensorflow as tf, tensorflow.lite.python.interpreter\n"  # a real package named like an API module
        "print(tf.nn.relu(tf.constant([-1.0, 2.0])).numpy().tolist(), hasattr(tf.compat.v1, 'placeholder')"
        " and hasattr(tf.lite, 'Interpreter'))\n"
        "print(heavy())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()[-4:]
    assert lines[:3] == ["[]", "[] True True", "[0.0, 2.0] True"], out.stdout + out.stderr
    assert "tensorflow.python.keras" in lines[3], lines  # read, it loaded: nothing was cut away


def test_the_speed_ceiling_counts_the_arithmetic_yamnet_publishes():
    """``benchmarks.dream_speed --sections ceiling`` rates the iteration by YAMNet's multiply-adds per window,
    counted from the layout: the README of the model (tensorflow/models, research/audioset/yamnet) gives 69.2 M."""
    from benchmarks.dream_speed import yamnet_multiply_adds

    assert round(yamnet_multiply_adds() / 1e6, 1) == 69.2
