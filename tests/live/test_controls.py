"""The one thread-safe control object, and the ``audio:``/``live:``/``record:`` config sections."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from instrument.config import defaults_as_dict, load_config
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.live.controls import Controls, LiveSnapshot
from instrument.settings import AudioSettings, LiveSettings, RecordSettings


def test_set_validates_coerces_and_returns_the_accepted_value() -> None:
    controls = Controls()
    assert controls.set("step", 1) == 1.0 and isinstance(controls.get("step"), float)
    assert controls.set("iterations", 20.0) == 20
    assert controls.set("flip", 1) is True
    assert controls.set("freeze", "on") is True
    assert controls.set("mix", 0.25) == 0.25
    assert controls.set("target_class", "none") is None
    assert controls.set("mode", "deepdream") == "deepdream"
    with pytest.raises(DreamSoundError, match="allowed: 0 to 1"):
        controls.set("mix", 1.5)
    with pytest.raises(DreamSoundError, match="mode 'nope' is not allowed"):
        controls.set("mode", "nope")
    with pytest.raises(DreamSoundError, match="unknown parameter 'volume'"):
        controls.set("volume", 1)
    with pytest.raises(DreamSoundError, match="read-only"):
        controls.set("xruns", 0)
    with pytest.raises(DreamSoundError, match="finite"):
        controls.set("gain", float("nan"))
    assert controls.get("mix") == 0.25 and controls.get("mode") == "deepdream"  # refused changes changed nothing


def test_snapshot_is_immutable_and_not_affected_by_later_changes() -> None:
    controls = Controls(DreamParams(step=0.5), LiveSettings(mix=0.5))
    snap = controls.snapshot()
    assert isinstance(snap, LiveSnapshot) and isinstance(snap.params, DreamParams)
    controls.set("step", 0.1)
    controls.set("mix", 0.9)
    assert snap.params.step == 0.5 and snap.mix == 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.mix = 1.0  # type: ignore[misc]
    assert controls.snapshot().as_dict()["step"] == 0.1
    assert controls.fast.mix == 0.9 and controls.fast.gain == pytest.approx(1.0)


def test_listeners_hear_every_accepted_change_and_can_be_removed() -> None:
    controls = Controls()
    heard = []
    remove = controls.add_listener(lambda name, value: heard.append((name, value)))
    controls.set("gain", -6)
    with pytest.raises(DreamSoundError):
        controls.set("gain", 100)
    remove()
    controls.set("gain", -3)
    assert heard == [("gain", -6.0)]


def test_validator_refuses_what_an_iteration_would_trip_on() -> None:
    def check(params: DreamParams) -> None:
        if params.target_class == "Unicorn":
            raise DreamSoundError("unknown class 'Unicorn'")

    controls = Controls(validate=check)
    with pytest.raises(DreamSoundError, match="Unicorn"):
        controls.set("target_class", "Unicorn")
    assert controls.get("target_class") is None


def test_concurrent_changes_are_all_applied_consistently() -> None:
    controls = Controls()
    count = []
    controls.add_listener(lambda name, value: count.append(1))
    values = [round(i / 1000, 3) for i in range(1000)]

    def writer(part: list[float]) -> None:
        for v in part:
            controls.set("mix", v)
            controls.set("threshold", v)

    threads = [threading.Thread(target=writer, args=(values[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(count) == 2000
    snap = controls.snapshot()
    assert snap.mix in values and snap.params.threshold in values


def test_metrics_are_readable_through_the_controls() -> None:
    controls = Controls()
    controls.metrics_source.xrun_blocks = 3
    assert controls.get("xruns") == 3
    assert set(Controls.metric_names()) >= {"xruns", "iterations_per_second", "latency", "cycle_ms_p99"}
    assert controls.metrics()["xruns"] == 3


def test_config_sections_load_from_yaml(tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "audio:\n  samplerate: 44100\n  blocksize: 128\n  input_channels: [1, 2]\n"
        "live:\n  mix: 0.5\n  ceiling: -3\nrecord:\n  dir: takes\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.audio == AudioSettings(samplerate=44100, blocksize=128, input_channels=(1, 2))
    assert config.live.mix == 0.5 and config.live.ceiling == -3
    assert config.record == RecordSettings(dir="takes")
    defaults = defaults_as_dict()
    assert defaults["audio"]["blocksize"] == 256 and defaults["live"]["ceiling"] == -1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("audio:\n  blocksize: 7\n", "audio.blocksize 7 is out of range; allowed: 16 to 8192"),
        ("audio:\n  samplerate: fast\n", "audio.samplerate 'fast'"),
        ("audio:\n  input_channels: [0]\n", "audio.input_channels"),
        ("live:\n  overlap: 0.8\n", "live.overlap 0.8 is out of range; allowed: 0.05 to 0.5"),
        ("live:\n  ceiling: 3\n", "live.ceiling 3 is out of range"),
        ("record:\n  flush_interval: 5\n", "record.flush_interval 5 is out of range"),
        ("audio:\n  volume: 3\n", "unknown key audio.volume"),
    ],
)
def test_config_errors_name_the_key_and_what_is_allowed(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DreamSoundError, match=message.replace(".", r"\.").replace("[", r"\[")):
        load_config(path)


LIVE_YAML = """
audio:
  input_device: null
  output_device: null
  samplerate: null
  blocksize: 256
  latency: low
  input_channels: null
  output_channels: null
  input_file: null
  input_loop: false
  no_device: false
  on_stream_error: exit
live:
  grain: hop
  hop: 0.05
  crossfade: 0.01
  overlap: 0.5
  worker_budget: 11.0
  context: 1.5
  coverage: 2.0
  mix: 1.0
  gain: 0.0
  ceiling: -1.0
  freeze: false
  status_interval: 2.0
  headless: false
  duration: null
  precompile: true
  precompile_layers: []
  standby: dry
record:
  enabled: false
  dir: recordings
  flush_interval: 0.5
  buffer_seconds: 20.0
  min_free_mb: 256.0
"""


def test_the_documented_yaml_defaults_are_the_built_in_defaults(tmp_path) -> None:
    import yaml

    on_disk = yaml.safe_load(LIVE_YAML)
    defaults = defaults_as_dict()
    for section, values in on_disk.items():
        assert values == defaults[section], section
    path = tmp_path / "config.yaml"
    path.write_text(LIVE_YAML, encoding="utf-8")
    config = load_config(path)
    assert config.audio == AudioSettings() and config.live == LiveSettings()


def test_iterations_per_second_does_not_depend_on_who_reads_it_or_how_often() -> None:
    import time

    from instrument.live.metrics import RATE_WINDOW, Metrics

    m = Metrics()
    m.worker_started = time.monotonic() - 10.0
    for _ in range(40):  # a burst, as the worker iterates one window
        m.add_iteration(0.005)
    rates = [m.snapshot()["iterations_per_second"] for _ in range(5)]
    rates += [m.snapshot(reset_peaks=False)["iterations_per_second"] for _ in range(5)]
    assert rates == [pytest.approx(40 / RATE_WINDOW)] * 10
    assert m.iterations_per_second(now=time.monotonic() + RATE_WINDOW + 0.1) == 0.0


def test_osc_status_and_the_terminal_report_the_same_iterations_per_second() -> None:
    import time
    from types import SimpleNamespace

    from instrument.cli.live_commands import status_text
    from instrument.osc.bridge import LiveInstrument

    controls = Controls()
    m = controls.metrics_source
    m.worker_started = time.monotonic() - 10.0
    for _ in range(37):
        m.add_iteration(0.005)
    # The bridge needs only the engine's controls and class names (none: the model is still loading).
    bridge = LiveInstrument(SimpleNamespace(controls=controls, classes=None))
    osc = bridge.status()["iterations_per_second"]
    terminal = controls.metrics(reset_peaks=False)
    assert osc == pytest.approx(terminal["iterations_per_second"], abs=0.05) and osc > 0
    assert f"it {terminal['iterations_per_second']:.0f}/s" in status_text({**terminal, "engine_state": "dreaming"})
