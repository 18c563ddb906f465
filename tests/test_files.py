"""No command destroys a file it reads; outputs get the umask's permissions; a missing file reads as such.

``render`` and ``replay`` are run in this process (``cli``): a refusal comes before the model loads, so
these tests need no weights. The take is written with the recorder's own WAV writer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from instrument.audiofile import check_output, write_audio_atomic
from instrument.errors import DreamSoundError

RATE = 48000


def sine(path: Path, seconds: float = 1.0, channels: int = 1) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    data = np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * channels, axis=1).astype(np.float32)
    sf.write(path, data, RATE, subtype="FLOAT")
    return path


def write_take(directory: Path, stem: str = "take-20260101-120000", parts: int = 1, target_sound=None) -> Path:
    from instrument.live.recorder import WavWriter

    for index in range(1, parts + 1):
        name = f"{stem}.wav" if index == 1 else f"{stem}-{index}.wav"
        writer = WavWriter(directory / name, RATE, 2)
        writer.write(np.zeros((RATE // 2, 2), np.float32))
        writer.close()
    start = {"t": 0.0, "frame": 0, "event": "start", "samplerate": RATE, "params": {"target_sound": target_sound}}
    (directory / f"{stem}.params.jsonl").write_text(json.dumps(start) + "\n", encoding="utf-8")
    return directory / f"{stem}.wav"


def fingerprint(path: Path) -> tuple[bytes, int, int]:
    stat = path.stat()
    return path.read_bytes(), stat.st_mode, stat.st_mtime_ns


def refused(cli, args: list[str], kept: list[Path]) -> str:
    """Run ``args``; it must exit 2 with one line, and leave every file of ``kept`` as it was, and no temporary."""
    before = {p: fingerprint(p) for p in kept}
    listing = {p.parent: sorted(p.parent.iterdir()) for p in kept}
    code, _, err = cli(*args)
    assert code == 2, (args, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "refusing to write" in err and "choose another output file" in err, err
    assert {p: fingerprint(p) for p in kept} == before
    assert {d: sorted(d.iterdir()) for d in listing} == listing  # nothing written, not even a temporary
    return err


def test_render_refuses_to_write_over_its_input_by_name_relative_path_symlink_or_hard_link(cli, tmp_path,
                                                                                          monkeypatch):
    source = sine(tmp_path / "in.wav")
    refused(cli, ["render", str(source), str(source)], [source])
    monkeypatch.chdir(tmp_path)
    refused(cli, ["render", str(source), "in.wav"], [source])
    refused(cli, ["render", "in.wav", "./sub/../in.wav"], [source])
    (tmp_path / "link.wav").symlink_to(source)
    refused(cli, ["render", str(source), "link.wav"], [source])
    refused(cli, ["render", "link.wav", str(source)], [source])  # the input through a link, the output by name
    os.link(source, tmp_path / "hard.wav")
    err = refused(cli, ["render", str(source), "hard.wav"], [source])
    assert "the same file as hard.wav" in err


def test_render_refuses_to_write_over_its_target_sound_or_its_config_file(cli, tmp_path):
    source, target = sine(tmp_path / "in.wav"), sine(tmp_path / "dog.wav")
    refused(cli, ["render", str(source), str(target), "--mode", "target", "--target-sound", str(target)],
            [source, target])
    config = tmp_path / "piece.wav"  # a config file with an audio name is unlikely, but it is read
    config.write_text("render:\n  seed: 1\n", encoding="utf-8")
    refused(cli, ["--config", str(config), "render", str(source), str(config)], [source, config])


def test_replay_refuses_the_take_its_later_parts_its_log_and_its_target_sounds(cli, tmp_path, monkeypatch):
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    bird = sine(sounds / "bird.wav")
    config = tmp_path / "piece.yaml"
    config.write_text(f"osc:\n  target_sound_dir: {sounds}\n", encoding="utf-8")
    take = write_take(tmp_path, parts=2, target_sound="bird.wav")
    captured = sine(tmp_path / "take-20260101-120000.target.live.4800.wav")
    part2, log = tmp_path / "take-20260101-120000-2.wav", tmp_path / "take-20260101-120000.params.jsonl"
    kept = [take, part2, log, captured, bird]
    base = ["--config", str(config), "replay"]
    refused(cli, [*base, str(take), str(take)], kept)
    refused(cli, [*base, str(take), str(part2)], kept)  # the later part is read with the take
    refused(cli, [*base, str(part2), str(take)], kept)  # any part names the take
    refused(cli, [*base, str(take), str(log)], kept)
    refused(cli, [*base, str(take), str(captured)], kept)
    refused(cli, [*base, str(take), str(bird)], kept)  # the target sound the log names, in the sound folder
    other = sine(tmp_path / "other.jsonl.wav")
    refused(cli, [*base, str(take), str(other), "--params", str(other)], [*kept, other])
    refused(cli, [*base, str(take), str(bird), "--set", f"target_sound={bird}"], kept)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alias.wav").symlink_to(take.name)  # a relative symlink
    refused(cli, [*base, take.name, "alias.wav"], kept)
    refused(cli, [*base, "alias.wav", f"./{take.name}"], kept)


def test_the_shared_check_is_a_public_function_of_an_output_and_inputs(tmp_path):
    a = sine(tmp_path / "a.wav")
    check_output(tmp_path / "b.wav", [a, None, tmp_path / "missing.wav"])  # distinct, absent: allowed
    with pytest.raises(DreamSoundError, match="refusing to write"):
        check_output(tmp_path / "x" / ".." / "a.wav", [a])


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_outputs_are_written_atomically_with_the_permissions_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        out = tmp_path / "out.wav"
        write_audio_atomic(out, np.zeros((100, 1), np.float32), RATE)
        assert out.stat().st_mode & 0o777 == 0o666 & ~umask
        write_audio_atomic(out, np.ones((50, 1), np.float32) * 0.5, RATE)  # replaced whole
    finally:
        os.umask(old)
    assert sf.info(out).frames == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


@pytest.mark.parametrize("command", ["render", "replay", "classify", "run"])
def test_a_missing_input_reads_as_no_such_file(cli, tmp_path, command):
    missing = tmp_path / "nofile.wav"
    args = {
        "classify": ["classify", str(missing)],
        "run": ["run", "--input-file", str(missing), "--headless", "--no-osc"],  # said before any device opens
    }.get(command, [command, str(missing), str(tmp_path / "out.wav")])
    code, _, err = cli(*args)
    assert code == 2
    assert f"{missing}: no such file" in err and "System error" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_file_locations_follow_the_config_file_or_the_user_data_folder(tmp_path, monkeypatch):
    from instrument.config import load_config, place_files, user_data_dir

    monkeypatch.chdir(tmp_path)  # never the current directory
    monkeypatch.setenv("DREAMSOUND_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("DREAMSOUND_CONFIG", raising=False)
    plain = place_files(load_config(None))
    assert user_data_dir() == tmp_path / "data"
    data = tmp_path / "data"
    assert (plain.record.dir, plain.osc.presets_file, plain.osc.target_sound_dir) == (
        str(data / "recordings"), str(data / "presets.yaml"), str(data / "sounds"))
    piece = tmp_path / "piece"
    piece.mkdir()
    config = piece / "piece.yaml"
    config.write_text("record:\n  dir: takes\nosc:\n  presets_file: /abs/p.yaml\n  target_sound_dir: ~/s\n",
                      encoding="utf-8")
    placed = place_files(load_config(config), config)
    assert placed.record.dir == str(piece / "takes")
    assert placed.osc.presets_file == "/abs/p.yaml"
    assert placed.osc.target_sound_dir == str(Path.home() / "s")
    monkeypatch.setenv("DREAMSOUND_CONFIG", "piece/piece.yaml")  # relative, from the environment
    assert place_files(load_config()).record.dir == str(piece / "takes")
    monkeypatch.delenv("DREAMSOUND_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert user_data_dir() == tmp_path / "xdg" / "dreamsound"


def run_args(source: Path, *extra: str) -> list[str]:
    return ["run", "--input-file", str(source), "--headless", "--no-osc", "--duration", "1", *extra]


@pytest.mark.parametrize("where", ["/proc/takes", "file", "under-file"])
def test_record_into_a_folder_that_cannot_take_it_is_one_error_before_any_audio(cli, tmp_path, where):
    source = sine(tmp_path / "in.wav")
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    folder = {"/proc/takes": "/proc/takes", "file": str(blocker), "under-file": str(blocker / "takes")}[where]
    code, out, err = cli(*run_args(source, "--record", folder))
    assert code == 2, err
    assert err.strip().splitlines() == [err.strip()] and f"cannot record into {folder}" in err, err
    assert "running:" not in err and not out  # no audio opened, no summary


def test_record_needs_the_documented_free_space(cli, tmp_path):
    source = sine(tmp_path / "in.wav")
    config = tmp_path / "c.yaml"
    config.write_text("record:\n  min_free_mb: 1.0e+9\n", encoding="utf-8")
    code, _, err = cli("--config", str(config), *run_args(source, "--record", str(tmp_path / "takes")))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "MiB free, a take needs at least 1e+09 MiB (record.min_free_mb" in err, err


def test_check_record_dir_makes_the_folder_and_leaves_nothing_else(tmp_path):
    from instrument.live.recorder import check_record_dir

    folder = check_record_dir(tmp_path / "a" / "b")
    assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.mark.parametrize("value", ["missing.tflite", "folder", "weights.bin"])
def test_a_bad_dreamsound_yamnet_is_one_message_before_any_device(run_cli, tmp_path, monkeypatch, value):
    """``run`` checks the weights in the audio process, without TensorFlow, before the devices: one message."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "weights.bin").write_bytes(b"x")
    monkeypatch.setenv("DREAMSOUND_YAMNET", str(tmp_path / value))
    source = sine(tmp_path / "in.wav")
    result = run_cli(*run_args(source), timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dreamsound: error: no YAMNet weights could be loaded"), lines
    assert f"DREAMSOUND_YAMNET={tmp_path / value}" in lines[0] and "dreamsound model fetch" in lines[0]
    assert "running:" not in result.stderr and not result.stdout


def test_find_weights_names_what_will_load(tmp_path, monkeypatch):
    from conftest import TFLITE, shared_file

    from instrument.model.loader import ModelSettings, find_weights

    monkeypatch.setenv("DREAMSOUND_YAMNET", str(shared_file(TFLITE)))
    assert find_weights() == (f"DREAMSOUND_YAMNET={TFLITE}", True)
    monkeypatch.delenv("DREAMSOUND_YAMNET")
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub"))
    empty = ModelSettings(cache_dir=str(tmp_path / "cache"))
    description, on_disk = find_weights(empty)  # nothing cached: only a TF Hub download is left
    assert description.startswith("TF Hub https://") and not on_disk
    with pytest.raises(DreamSoundError, match=r"no YAMNet weights could be loaded\. Tried: h5 file"):
        find_weights(ModelSettings(source="h5", cache_dir=str(tmp_path / "cache")))
