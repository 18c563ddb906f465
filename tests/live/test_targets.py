"""Targets as a performer gives them: every spelling of a target class read the same way everywhere (the
parameters, the controls, OSC), and a target sound file checked when it is chosen, not on every change."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf

from instrument.dream.params import DreamParams, class_target
from instrument.errors import DreamSoundError
from instrument.live.controls import Controls
from instrument.live.engine import Engine
from instrument.osc import namespace as ns

from .livehelpers import live_config


@pytest.mark.parametrize("value", [None, "auto", "none", "AUTO", "", -1, "-1", -1.0, " -1 "])
def test_every_spelling_of_auto_is_auto(value: object) -> None:
    assert class_target(value) is None
    assert DreamParams(target_class=value).target_class is None
    assert Controls().set("target_class", value) is None


@pytest.mark.parametrize(("value", "expected"), [(3, 3), (3.0, 3), ("3", 3), (" 7 ", 7), ("Dog", "Dog"),
                                                  ("dog bark", "dog bark")])
def test_indices_and_names_are_read_the_same_everywhere(value: object, expected: object) -> None:
    assert class_target(value) == expected
    assert Controls().set("target_class", value) == expected


def test_nonsense_class_targets_are_refused_with_what_is_allowed() -> None:
    for value in (True, -2, [1]):
        with pytest.raises(DreamSoundError, match="target_class"):
            DreamParams(target_class=value)


def test_a_starting_target_of_minus_one_is_reported_as_auto_on_osc() -> None:
    controls = Controls(params=DreamParams(target_class=-1))
    parameter = ns.BY_PATH["/dream/target"]

    def resolve(target: object) -> tuple[int, str]:
        raise AssertionError(f"auto must not be resolved as a class: {target!r}")

    assert ns.reply(parameter, controls.get("target_class"), resolve) == [-1, "auto"]
    for args in (["-1"], [-1.0], ["auto"]):
        assert controls.set("target_class", ns.parse(parameter, args)) is None


def test_the_target_sound_file_is_checked_when_it_is_chosen_not_on_every_change(tmp_path) -> None:
    """In ``target`` mode a threshold slider sends dozens of changes a second: none of them opens the file."""
    sound = tmp_path / "bell.wav"
    sf.write(sound, np.zeros(1600, np.float32), 16000)
    config = live_config()
    engine = Engine(dataclasses.replace(config, dream=config.dream.replace(mode="target", target_sound=str(sound))))
    controls = engine.controls
    controls.set("target_sound", str(sound))  # checked: it is readable
    sound.unlink()  # from now on, any check of it would fail
    for value in (0.1, 0.2, 0.3):
        assert controls.set("threshold", value) == value  # no file opened per change
    with pytest.raises(DreamSoundError, match=r"target sound .*missing\.wav: no such file"):
        controls.set("target_sound", str(tmp_path / "missing.wav"))  # a new choice is checked
