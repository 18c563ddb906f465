"""Configuration, the command line's error handling, and `model fetch` against a local server."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from conftest import CLASS_MAP, OFFICIAL_H5, REPO, WHISTLE, shared_file

from instrument.config import defaults_as_dict, load_config
from instrument.errors import DreamSoundError


def test_config_yaml_states_the_built_in_defaults():
    import json

    on_disk = yaml.safe_load((REPO / "config.yaml").read_text())
    defaults = json.loads(json.dumps(defaults_as_dict()))  # tuples -> lists, as YAML has them
    assert set(on_disk) == set(defaults)
    for section, values in on_disk.items():
        assert values == defaults[section], section
    assert load_config(REPO / "config.yaml").dream == load_config(None).dream


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dream: {threshold: 1.5}", "threshold 1.5 is out of range; allowed: 0 to 1"),
        ("dream: {mode: dream}", "mode 'dream' is not allowed; allowed: gradients, deepdream"),
        ("dream: {layer: layer15}", "layer 'layer15' is not allowed"),
        ("dream: {iterations: -1}", "iterations -1 is out of range"),
        ("dream: {colour: red}", "unknown key dream.colour"),
        ("sound: {}", "unknown section 'sound'"),
        ("model: {source: web}", "model.source 'web' is not allowed"),
        ("engine: {device: tpu}", "engine.device 'tpu' is not allowed"),
        ("dream: [1, 2", "not valid YAML"),
    ],
)
def test_bad_config_values_name_the_key_and_what_is_allowed(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(DreamSoundError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path)


def test_short_file_is_padded_and_said_so(cli, tmp_path, loaded):
    short = tmp_path / "short.wav"
    sf.write(short, np.sin(np.arange(8000) / 5).astype(np.float32) * 0.3, 16000)
    code, out, err = cli("classify", str(short), "--json")
    assert code == 0
    assert "shorter than one window" in err
    assert '"windows"' in out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"RIFF nonsense"), "cannot read audio file"),
        (lambda p: sf.write(p, np.zeros((0, 1), np.float32), 16000), "is empty"),
        (lambda p: None, "in.wav: no such file"),
    ],
)
def test_unreadable_or_empty_audio_is_a_clear_error(cli, tmp_path, make, message, loaded):
    path = tmp_path / "in.wav"
    make(path)
    code, _, err = cli("classify", str(path))
    assert code == 2
    assert message in err and str(path) in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_class_query_and_listing(cli, loaded):
    code, out, _ = cli("classes", "whistl")
    assert code == 0 and "Whistling" in out and "Whistle" in out
    code, _, err = cli("classes", "nothing-like-this")
    assert code == 2 and "no class matches" in err


def test_layers_lists_every_tap_with_its_shape(cli, loaded):
    code, out, _ = cli("layers")
    assert code == 0
    assert "layer14            3 x 2 x 1024" in out
    assert "scores             521" in out


def test_missing_weights_through_the_command_exit_non_zero(run_cli, tmp_path):
    import os

    env_before = os.environ["DREAMSOUND_YAMNET"]
    os.environ["DREAMSOUND_YAMNET"] = str(tmp_path / "missing.tflite")
    try:
        result = run_cli("classify", str(shared_file(WHISTLE)))
    finally:
        os.environ["DREAMSOUND_YAMNET"] = env_before
    assert result.returncode == 2
    assert "no YAMNet weights could be loaded" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def model_server(tmp_path):
    """http.server on 127.0.0.1 serving the shared files under the official names."""
    root = tmp_path / "served"
    root.mkdir()
    (root / "yamnet.h5").symlink_to(shared_file(OFFICIAL_H5))
    (root / "yamnet_class_map.csv").symlink_to(shared_file(CLASS_MAP))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_model_fetch_downloads_checks_and_is_then_used(model_server, tmp_path, cli, monkeypatch):
    from instrument.model.loader import ModelSettings, load_yamnet
    from instrument.model.weights.fetch import sha256_of

    url, root = model_server
    cache = tmp_path / "cache"
    cache.mkdir()
    # A stale partial download from an earlier, interrupted run.
    (cache / "yamnet.h5.part").write_bytes(b"x" * 1000)
    code, out, _ = cli("model", "fetch", "--base-url", url, "--dest", str(cache))
    assert code == 0
    h5 = cache / "yamnet.h5"
    assert sha256_of(h5) == sha256_of(root / "yamnet.h5")
    assert not (cache / "yamnet.h5.part").exists()
    assert (cache / "yamnet.h5.sha256").read_text().split()[0] == sha256_of(h5)
    assert str(h5) in out
    monkeypatch.delenv("DREAMSOUND_YAMNET")
    model = load_yamnet(ModelSettings(cache_dir=str(cache)))
    assert model.description == f"cached {h5}"


def test_model_fetch_refuses_a_bad_checksum_and_leaves_nothing(model_server, tmp_path, cli):
    url, _ = model_server
    cache = tmp_path / "cache"
    code, _, err = cli("model", "fetch", "--base-url", url, "--dest", str(cache), "--sha256", "yamnet.h5=" + "0" * 64)
    assert code == 2
    assert "checksum mismatch for yamnet.h5" in err
    assert not (cache / "yamnet.h5").exists() and not (cache / "yamnet.h5.part").exists()


def test_model_fetch_unreachable_server_is_a_clear_error(tmp_path, cli):
    code, _, err = cli("model", "fetch", "--base-url", "http://127.0.0.1:9", "--dest", str(tmp_path))
    assert code == 2
    assert "cannot download http://127.0.0.1:9/yamnet.h5" in err
    assert not any(Path(tmp_path).glob("yamnet.h5"))


def test_config_yaml_is_written_from_the_settings_own_descriptions():
    from instrument.config import config_yaml

    assert (REPO / "config.yaml").read_text(encoding="utf-8") == config_yaml(), "run tools/write_config_yaml.py"


def test_every_setting_is_described_once_beside_its_field_and_its_default_passes_its_own_check():
    import dataclasses

    from instrument.config import SECTIONS
    from instrument.spec import check_value, specs

    for section, cls in SECTIONS.items():
        declared = specs(cls)
        assert list(declared) == [f.name for f in dataclasses.fields(cls)], section
        for name, spec in declared.items():
            assert spec.description, f"{section}.{name} has no description"
            check_value(f"{section}.{name}", spec, getattr(cls(), name))


def test_osc_namespace_controls_and_panels_take_their_ranges_from_the_declarations():
    from instrument.live.controls import Controls
    from instrument.osc import namespace as ns
    from instrument.settings import CONTROLS

    controls = Controls()
    for parameter in ns.PARAMETERS:
        spec = CONTROLS[parameter.name]
        assert parameter.address == spec.osc and parameter.spec is spec  # the declaration itself, not a copy
        if spec.kind in ("float", "int"):
            assert parameter.range == (spec.low, spec.high)
            with pytest.raises(DreamSoundError, match=f"allowed: {spec.low:g} to {spec.high:g}"):
                controls.set(parameter.name, spec.high + 1)
    assert set(Controls.parameter_names()) == set(CONTROLS)


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_is_read_whether_given_before_or_after_the_command(cli, tmp_path, where):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dream: {threshold: 1.5}\n", encoding="utf-8")
    command = ["render", str(WHISTLE), str(tmp_path / "out.wav")]
    args = ["--config", str(bad), *command] if where == "before" else [*command, "--config", str(bad)]
    code, _, err = cli(*args)
    assert code == 2 and f"{bad}: threshold 1.5 is out of range" in err


def test_every_command_accepts_config_after_it():
    import argparse

    from instrument.cli.main import build_parser

    def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield (*prefix, name), sub
                    yield from commands(sub, (*prefix, name))

    parser = build_parser()
    found = dict(commands(parser))
    assert {("run",), ("devices",), ("render",), ("replay",), ("model", "fetch")} <= set(found)
    for path, sub in found.items():
        assert any("--config" in action.option_strings for action in sub._actions), path
    assert parser.parse_args(["run", "--config", "live.yaml", "--headless"]).config == "live.yaml"
    assert parser.parse_args(["--config", "live.yaml", "run"]).config == "live.yaml"


def test_run_options_that_mirror_settings_take_their_help_from_them_and_land_in_them(tmp_path):
    import argparse

    from instrument.cli.common import option_help
    from instrument.cli.live_commands import build_settings
    from instrument.cli.main import build_parser
    from instrument.settings import AudioSettings, LiveSettings, OscSettings
    from instrument.spec import specs

    parser = build_parser()
    (run,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    options = {flag: action for action in run.choices["run"]._actions for flag in action.option_strings}
    mirrored = {
        "--input-device": specs(AudioSettings)["input_device"], "--loop": specs(AudioSettings)["input_loop"],
        "--blocksize": specs(AudioSettings)["blocksize"], "--headless": specs(LiveSettings)["headless"],
        "--duration": specs(LiveSettings)["duration"], "--osc-port": specs(OscSettings)["port"],
    }
    for flag, spec in mirrored.items():
        assert options[flag].help == option_help(spec, flag), flag
        assert flag not in options[flag].help, flag  # its own flag is not named again
    config = tmp_path / "live.yaml"
    config.write_text("audio: {blocksize: 512}\nlive: {duration: 30}\nosc: {port: 9300}\n", encoding="utf-8")
    settings = build_settings(parser.parse_args(
        ["run", "--config", str(config), "--loop", "--headless", "--input-device", "3", "--osc-port", "9100"]
    ))
    assert settings.audio.input_loop and settings.live.headless and settings.audio.input_device == 3
    assert settings.osc.port == 9100 and settings.osc.enabled
    assert settings.audio.blocksize == 512 and settings.live.duration == 30  # not given: the file's value stays
    assert not build_settings(parser.parse_args(["run", "--no-osc"])).osc.enabled
    with pytest.raises(DreamSoundError, match=r"live\.duration 0 is out of range"):
        build_settings(parser.parse_args(["run", "--duration", "0"]))


@pytest.mark.parametrize("command", ["render", "replay"])
def test_seed_on_the_command_line_is_checked_as_in_the_config_file(cli, tmp_path, command):
    code, _, err = cli(command, str(WHISTLE), str(tmp_path / "out.wav"), "--seed", "-3")
    assert code == 2 and "render.seed -3 is out of range; allowed: 0 to 4294967295" in err, err
    assert not (tmp_path / "out.wav").exists()
