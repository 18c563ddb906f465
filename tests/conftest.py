"""Shared fixtures: the real YAMNet weights and recordings from ../shared (never copied here).

Missing material is a failure, not a skip: CI always has ../shared beside the checkout.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DREAMSOUND_SHARED", REPO.parent / "shared"))
TFLITE = SHARED / "models" / "yamnet.tflite"
OFFICIAL_H5 = SHARED / "models" / "yamnet-official-layout.h5"
CLASS_MAP = SHARED / "models" / "yamnet_class_map.csv"
WHISTLE = SHARED / "audio" / "whistle.wav"
SPEECH_AND_CAT = SHARED / "audio" / "speech-and-cat.wav"
PLUCK_MELODY = SHARED / "audio" / "pluck-melody.wav"  # music with real energy above 8 kHz (44.1 kHz stereo)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Every model-using command in the tests loads the real lite weights.
os.environ["DREAMSOUND_YAMNET"] = str(TFLITE)
# Takes, presets and target sounds of a command run without --config go to the user data folder:
# for the tests, a fresh folder, never the real one.
os.environ["DREAMSOUND_DATA"] = tempfile.mkdtemp(prefix="dreamsound-test-data-")


def shared_file(path: Path) -> Path:
    if not path.is_file():
        pytest.fail(
            f"test material {path} is missing: run `make test-material` to download it from its public sources"
            " into ../shared beside the checkout (or DREAMSOUND_SHARED pointing at another folder)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def loaded():
    from instrument.model.loader import ModelSettings, load_yamnet
    from instrument.model.native_log import quiet_start_up
    from instrument.model.runtime import configure_tensorflow

    with quiet_start_up():  # TensorFlow's import notices, as every command keeps them off the terminal
        configure_tensorflow(1)
    shared_file(TFLITE)
    shared_file(CLASS_MAP)
    return load_yamnet(ModelSettings(source="tflite", path=str(TFLITE)))


@pytest.fixture(scope="session")
def dreamer(loaded):
    from instrument.dream.dreamer import Dreamer

    return Dreamer(loaded)


def load_16k(path: Path) -> np.ndarray:
    from instrument.audiofile import read_audio, resample, to_mono

    data, rate = read_audio(shared_file(path))
    return resample(to_mono(data), rate, 16000)


@pytest.fixture(scope="session")
def whistle_window() -> np.ndarray:
    return load_16k(WHISTLE)[:15600][None]


@pytest.fixture(scope="session")
def speech_window() -> np.ndarray:
    return load_16k(SPEECH_AND_CAT)[16000:31600][None]


@pytest.fixture
def run_cli():
    """Run the installed ``dreamsound`` entry point as a real subprocess."""
    import subprocess
    import sys

    def run(*args: str, timeout: float = 240):
        return subprocess.run(
            [sys.executable, "-m", "instrument.cli.main", *args],
            capture_output=True, text=True, timeout=timeout, cwd=REPO,
        )

    return run


@pytest.fixture
def cli(capsys):
    """Run ``dreamsound`` in this process (TensorFlow already loaded): (code, stdout, stderr)."""
    from instrument.cli.main import main

    def run(*args: str):
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


# The JACK server and the real model make a test slow (seconds, and a model load): such tests are marked
# `slow`, so `pytest -m "not slow"` is a fast inner loop. Marked by the fixtures a test uses (directly or
# through another fixture), so a new test gets the mark with the fixture.
SLOW_FIXTURES = frozenset({"jack", "loaded", "dreamer", "live_dreamer", "run_cli"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    # TensorFlow's thread pools are set before any test module imports it, as every command does: a test file
    # that imported the dream layer at collection used to leave them at TensorFlow's default, and later
    # model tests in the same process then read NaN gradients or crashed (LiteRT and TF in one process).
    from instrument.model.native_log import quiet_start_up
    from instrument.model.runtime import configure_tensorflow

    with quiet_start_up():  # TensorFlow's import notices, as every command keeps them off the terminal
        configure_tensorflow(1)
