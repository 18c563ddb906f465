"""OSC against the running instrument: real UDP on 127.0.0.1, liblo's tools, real Pure Data.

One engine plays a real recording on the session's JACK dummy server for the
whole module; each test talks to it over OSC and checks the engine's state,
the replies, and that the audio never suffered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import selectors
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from instrument.live.engine import Engine
from instrument.osc.service import OscService
from instrument.settings import OscSettings

from .livehelpers import (
    RATE,
    REPO,
    SPEECH_AND_CAT,
    fake,
    live_config,
    need,
    popen_cli,
    stolen_xruns,
    xrun_allowance,
)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def engine_with_osc(settings: Any, tmp_path: Path, messages: list[str]):
    """A running engine (the fake dreamer) with its OSC service and a client: ``(engine, client)``; every log
    line lands in ``messages``. Stopped in order on the way out."""
    osc = OscSettings(port=0, feedback_port=free_udp_port(), oscquery=False, presets_file=str(tmp_path / "p.yaml"),
                      target_sound_dir=str(tmp_path))
    engine = Engine(settings, dreamer_factory=fake(), log=messages.append)
    service = OscService(engine, osc)
    service.start()
    client = Client(service.server.address)
    try:
        engine.prepare()
        engine.start()
        yield engine, client
    finally:
        client.close()
        engine.stop()
        service.stop()


def build(address: str, *args: tuple[object, str]) -> bytes:
    builder = OscMessageBuilder(address=address)
    for value, tag in args:
        builder.add_arg(value, tag)
    return builder.build().dgram


class Client:
    """A UDP OSC client like Pd's [netsend -u -b]: replies come back to its own port."""

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.connect(server)

    def send(self, address: str, *args: tuple[object, str]) -> None:
        self.sock.send(build(address, *args))

    def raw(self, data: bytes) -> None:
        self.sock.send(data)

    def expect(self, address: str, timeout: float = 3.0, where=lambda params: True) -> list:
        """Wait for a reply on ``address`` (skipping others, e.g. status); its arguments."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            for timed in OscPacket(data).messages:
                if timed.message.address == address and where(timed.message.params):
                    return list(timed.message.params)
        raise AssertionError(f"no {address} reply within {timeout} s")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def playing(jack, tmp_path_factory):
    """The instrument playing a real recording, with its OSC surface on free ports."""
    root = tmp_path_factory.mktemp("osc")
    (root / "sounds").mkdir()
    settings = OscSettings(
        port=0,
        feedback_port=free_udp_port(),
        oscquery_port=0,
        status_rate=10.0,
        presets_file=str(root / "presets.yaml"),
        target_sound_dir=str(root / "sounds"),
    )
    engine = Engine(live_config(input_file=str(need(SPEECH_AND_CAT)), input_loop=True))
    service = OscService(engine, settings)
    service.start()
    engine.prepare()
    engine.start()
    if not engine.supervisor.wait_ready(180):  # the model loads in the dream process; the audio plays meanwhile
        engine.stop()
        service.stop()
        pytest.fail(f"the dream process did not start: {engine.metrics.engine_error}")
    engine.xruns_at_ready = engine.metrics.xruns  # OSC must not disturb the audio; start-up is the soak's business
    engine.frames_at_ready = engine.metrics.frames
    yield engine, service, root
    service.stop()
    engine.stop()


@pytest.fixture
def client(playing):
    _, service, _ = playing
    c = Client(service.server.address)
    yield c
    c.close()


def audio_untouched(engine: Engine) -> None:
    m = engine.controls.metrics(reset_peaks=False)
    new_xruns = m["xruns"] - engine.xruns_at_ready - stolen_xruns(engine.metrics, engine.xruns_at_ready)
    allowed = xrun_allowance((m["frames"] - engine.frames_at_ready) / RATE)
    assert new_xruns <= allowed and m["callback_errors"] == 0 and m["worker_errors"] == 0, (m, engine.xrun_report())


def test_each_change_is_applied_and_confirmed_to_the_sender(playing, client):
    engine, _, _ = playing
    client.send("/dream/threshold", (0.42, "f"))
    assert client.expect("/dream/threshold") == [pytest.approx(0.42)]
    assert engine.controls.params.threshold == pytest.approx(0.42)
    client.send("/dream/iterations", (12.0, "f"))  # Pd: every number is a float
    assert client.expect("/dream/iterations") == [12]
    client.send("/dream/mode", (1, "i"))
    assert client.expect("/dream/mode") == [1, "deepdream"]
    client.send("/dream/target", ("Dog", "s"))
    assert client.expect("/dream/target") == [69, "Dog"]
    client.send("/dream/layer", ("layer10", "s"))
    assert client.expect("/dream/layer")[1] == "layer10"
    assert engine.controls.params.layer == "layer10"
    client.send("/dream/freeze", (1.0, "f"))
    assert client.expect("/dream/freeze") == [1]
    client.send("/dream/freeze", (0, "i"))
    client.send("/dream/layer", ("scores", "s"))
    client.expect("/dream/layer", where=lambda p: p[1] == "scores")
    audio_untouched(engine)


def test_bad_values_leave_the_state_and_answer_an_error(playing, client):
    engine, _service, _ = playing
    before = engine.controls.snapshot()
    cases = [
        (("/dream/threshold", (1.5, "f")), "out of range"),
        (("/dream/threshold", ("loud", "s")), "must be a number"),
        (("/dream/mode", ("dreamy", "s")), "mode 'dreamy' is not allowed"),
        (("/dream/target", ("Unicorn", "s")), "unknown class 'Unicorn'"),
        (("/dream/layer", (99, "i")), "out of range"),
        (("/dream/nonsense", (1, "i")), "unknown address"),
        (("/dream/target_sound", ("../../etc/passwd", "s")), "outside the target-sound folder"),
        (("/dream/preset/load", (99, "i")), "preset 99 does not exist"),
    ]
    for (address, arg), reason in cases:
        client.send(address, arg)
        error = client.expect("/dream/error", where=lambda p, a=address: p[0] == a)
        assert reason in error[1], error
    assert engine.controls.snapshot() == before
    audio_untouched(engine)


def test_liblo_oscsend_sets_and_oscdump_hears_the_feedback_port(playing):
    engine, service, _ = playing
    _host, port = service.server.address
    dump = subprocess.Popen(
        ["oscdump", "-L", str(service.settings.feedback_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        selector = selectors.DefaultSelector()
        selector.register(dump.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 10
        seen = ""
        step = 0.25
        while "/dream/step" not in seen and time.monotonic() < deadline:
            # oscsend's source port is ephemeral; the reply to the feedback port is what oscdump hears.
            subprocess.run(["oscsend", "127.0.0.1", str(port), "/dream/step", "f", str(step)], check=True)
            if selector.select(timeout=1.0):
                seen += dump.stdout.readline()
        assert "/dream/step" in seen and "0.25" in seen, seen
        assert engine.controls.params.step == pytest.approx(step)
    finally:
        dump.terminate()
        dump.wait(5)


def test_status_reports_classes_levels_rate_and_xruns(playing, client):
    client.send("/dream/get")
    assert client.expect("/dream/status/engine") == ["dreaming"]
    assert client.expect("/dream/status/rate", timeout=30.0, where=lambda p: p[0] > 0)  # once a window is dreamed
    engine, _, _ = playing
    xruns = client.expect("/dream/status/xruns")
    assert engine.xruns_at_ready <= xruns[0] <= engine.metrics.xruns
    levels = client.expect("/dream/status/levels")
    assert len(levels) == 2 and levels[0] > -120
    # Classes come once the dream process has classified a window after a dreamed one: on a host busy
    # with other work that can take longer than a status tick, so wait for the event, not a tick.
    klass = client.expect("/dream/status/input_class", timeout=30.0, where=lambda p: p[0] >= 0)
    assert isinstance(klass[2], str) and 0 <= klass[1] <= 1
    # Iterations per hop and per sample of what is heard: with the buffer running hops ahead of the grains
    # (the default schedule), every sample has been through the iterations of several hops when it plays.
    per_sample = client.expect("/dream/status/iterations_per_sample", timeout=30.0, where=lambda p: p[0] > 0)
    per_hop = client.expect("/dream/status/iterations")
    assert per_sample[0] > per_hop[0] > 0, (per_sample, per_hop)
    latency = client.expect("/dream/status/latency", where=lambda p: p[0] > 0)[0]
    assert engine.schedule.latency <= latency <= engine.schedule.latency + 0.1, (latency, engine.schedule)


def test_presets_save_change_load(playing, client):
    engine, _service, root = playing
    client.send("/dream/threshold", (0.61, "f"))
    client.expect("/dream/threshold")
    client.send("/dream/preset/save", (3.0, "f"))
    assert client.expect("/dream/preset/save") == [3]
    client.send("/dream/threshold", (0.11, "f"))
    client.expect("/dream/threshold", where=lambda p: abs(p[0] - 0.11) < 1e-6)
    client.send("/dream/preset/load", (3, "i"))
    assert client.expect("/dream/preset/load") == [3]
    assert engine.controls.params.threshold == pytest.approx(0.61)
    assert "threshold: 0.61" in (root / "presets.yaml").read_text()


def test_class_search_is_split_into_small_packets(playing, client):
    client.send("/dream/classes", ("dog", "s"))
    count = client.expect("/dream/classes/count")[0]
    assert count >= 3
    names = [client.expect("/dream/classes/match")[1] for _ in range(count)]
    assert "Dog" in names


def test_capture_makes_the_live_input_the_target_sound(playing, client):
    engine, _, _ = playing
    client.send("/dream/target_sound/capture", (1.0, "f"))
    name = client.expect("/dream/target_sound", where=lambda p: p[0] != "none")[0]
    assert name.startswith("capture-")
    client.send("/dream/mode", ("target", "s"))
    assert client.expect("/dream/mode") == [4, "target"]
    assert engine.controls.params.target_sound == name
    client.send("/dream/mode", ("filter_add", "s"))
    client.expect("/dream/mode", where=lambda p: p[1] == "filter_add")


def test_bundles_run_at_once_even_with_a_future_time_tag(playing, client):
    engine, _, _ = playing
    bundle = OscBundleBuilder(time.time() + 3600)  # an hour ahead: must not wait
    message = OscMessageBuilder("/dream/step")
    message.add_arg(0.033, "f")
    bundle.add_content(message.build())
    client.raw(bundle.build().dgram)
    assert client.expect("/dream/step", timeout=2) == [pytest.approx(0.033)]
    assert engine.controls.params.step == pytest.approx(0.033)


def test_oscquery_advertises_types_ranges_and_current_values(playing, client):
    _, service, _ = playing
    client.send("/dream/threshold", (0.37, "f"))
    client.expect("/dream/threshold", where=lambda p: abs(p[0] - 0.37) < 1e-6)
    host = service.settings.host
    url = f"http://{host}:{service.discovery.port}/dream/threshold"
    node = json.loads(urllib.request.urlopen(url, timeout=5).read())
    assert node["TYPE"] == "f" and node["RANGE"] == [{"MIN": 0.0, "MAX": 1.0}]
    assert node["VALUE"] == [pytest.approx(0.37)]
    root = json.loads(urllib.request.urlopen(f"http://{host}:{service.discovery.port}/", timeout=5).read())
    assert "mode" in root["CONTENTS"]["dream"]["CONTENTS"]


def test_fuzz_thousands_of_random_and_malformed_packets_during_playback(playing, client):
    """A burst at over 1000 packets per second: only valid messages change state; audio untouched."""
    engine, service, _ = playing
    rng = random.Random(7)
    counts_before = dict(service.server.counts)
    state_before = engine.controls.snapshot()
    sent_invalid = 0
    started = time.monotonic()
    for _i in range(3000):
        kind = rng.randrange(4)
        if kind == 0:  # random bytes
            client.raw(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))))
        elif kind == 1:  # a valid header with a lying type tag
            client.raw(b"/dream/step\0,f\0\0" + struct.pack(">i", rng.randrange(2**31))[: rng.randrange(4)])
        elif kind == 2:  # well-formed, refused: out of range, wrong types, unknown addresses
            address, bad = rng.choice([
                ("/dream/threshold", [(5.0, "f"), ("?", "s"), (-7, "i")]),
                ("/dream/mode", [("?", "s"), (2.5, "f"), (-7, "i")]),
                ("/dream/iterations", [(2.5, "f"), (-7, "i"), ("?", "s")]),
                ("/dream/zzz", [(1, "i")]),
            ])
            client.send(address, rng.choice(bad))
        else:  # garbage after a valid-looking address
            client.raw(b"/dream/threshold\0\0\0\0" + os.urandom(rng.randrange(0, 12)))
        sent_invalid += 1
    elapsed = time.monotonic() - started
    # One valid change at the end, from a second client whose replies are not buried under
    # the fuzzer's thousands of error replies; the server handles packets in arrival order.
    checker = Client(service.server.address)
    checker.send("/dream/step", (0.077, "f"))
    assert checker.expect("/dream/step", timeout=10, where=lambda p: abs(p[0] - 0.077) < 1e-6)
    checker.close()
    counts = service.server.counts
    handled = sum(counts[k] - counts_before[k] for k in ("malformed", "refused", "accepted"))
    assert handled >= sent_invalid  # every packet was counted (bundled/partial parses may count more)
    assert counts["accepted"] - counts_before["accepted"] <= 1 + (counts["refused"] - counts_before["refused"])
    step = engine.controls.params.step
    assert step == pytest.approx(0.077)
    expected = dataclasses.replace(state_before, params=state_before.params.replace(step=step))
    assert engine.controls.snapshot() == expected
    assert 3000 / elapsed > 1000
    audio_untouched(engine)


def test_real_pure_data_drives_the_instrument_with_the_patch(playing):
    engine, service, _ = playing
    _, port = service.server.address
    need(REPO / "patches" / "dreamsound.pd")
    result = subprocess.run(
        [
            "pd",
            "-nogui",
            "-nosound",
            "-nomidi",
            "-noprefs",
            "-stderr",
            "-path",
            str(REPO / "patches"),
            "-open",
            str(REPO / "tests" / "patches" / "drive.pd"),
            "-send",
            f"drive-start {port} 40",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    log = result.stderr
    assert "CONNECTED: 1" in log, log
    assert engine.controls.params.mode == "deepdream"
    assert engine.controls.params.target_class == "Dog"
    assert engine.controls.params.threshold == pytest.approx(0.42)
    assert "FEEDBACK: threshold 0.42" in log
    assert "FEEDBACK: status rate" in log
    # Leave the instrument as other tests expect it.
    engine.controls.set_many({"mode": "filter_add", "target_class": None})
    audio_untouched(engine)


def test_allow_list_drops_senders_not_on_it(playing):
    from instrument.osc.server import OscServer

    engine, service, _ = playing
    closed = OscServer(
        service.instrument, OscSettings(host="0.0.0.0", port=0, allow=("10.9.8.7",), status_rate=0, oscquery=False)
    )
    closed.start()
    try:
        c = Client(("127.0.0.1", closed.address[1]))
        c.send("/dream/step", (0.5, "f"))
        c.send("/dream/get")
        with pytest.raises(AssertionError):
            c.expect("/dream/step", timeout=0.5)
        assert closed.counts["not_allowed"] >= 2
        assert engine.controls.params.step != 0.5
        c.close()
    finally:
        closed.stop()


def test_presets_file_survives_a_failed_save(tmp_path, monkeypatch):
    from instrument.errors import DreamSoundError
    from instrument.osc.presets import PresetStore

    store = PresetStore(tmp_path / "presets.yaml")
    store.save(1, {"threshold": 0.2})
    good = (tmp_path / "presets.yaml").read_bytes()

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(DreamSoundError, match="cannot save preset 2"):
        store.save(2, {"threshold": 0.9})
    assert (tmp_path / "presets.yaml").read_bytes() == good
    assert [p.name for p in Path(tmp_path).iterdir()] == ["presets.yaml"]


def test_dreamsound_run_serves_osc_and_starts_from_a_preset(jack, tmp_path):
    """The real command: `dreamsound run --preset 2` with OSC, driven like a patch would, then SIGTERM."""
    import signal

    from instrument.osc.presets import PresetStore

    PresetStore(tmp_path / "presets.yaml").save(2, {"threshold": 0.66, "mode": "deepdream"})
    port, feedback = free_udp_port(), free_udp_port()
    config = tmp_path / "live.yaml"
    config.write_text(
        f"live: {{precompile: false}}\nosc: {{port: {port}, feedback_port: {feedback}, oscquery_port: 0,"
        f" presets_file: {tmp_path / 'presets.yaml'}}}\n"
    )
    proc = popen_cli("--config", str(config), "run", "--input-file", str(need(SPEECH_AND_CAT)), "--loop",
                     "--headless", "--duration", "60", "--preset", "2")
    client = Client(("127.0.0.1", port))
    try:
        reply = None
        deadline = time.monotonic() + 60
        while reply is None and time.monotonic() < deadline and proc.poll() is None:
            client.send("/dream/threshold")  # a bare address asks for the value
            try:
                reply = client.expect("/dream/threshold", timeout=1.0)
            except (AssertionError, ConnectionRefusedError):
                continue  # the model is still loading: the server starts with the audio
        assert reply == [pytest.approx(0.66)], proc.poll()
        # Events, waited for with room: the first changes reach an engine still compiling on a busy host.
        client.send("/dream/mode")
        assert client.expect("/dream/mode", timeout=10) == [1, "deepdream"]
        client.send("/dream/step", (0.2, "f"))
        assert client.expect("/dream/step", timeout=10) == [pytest.approx(0.2)]
        client.send("/dream/threshold", (1.5, "f"))
        assert client.expect("/dream/error", timeout=10)[0] == "/dream/threshold"
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"OSC on 127.0.0.1:{port}" in err and "preset 2 loaded" in err
    # The performer sees each accepted change and each refusal on the terminal.
    assert "dreamsound: OSC /dream/step 0.2\n" in err, err
    assert "dreamsound: OSC refused /dream/threshold 1.5 from 127.0.0.1:" in err and "out of range" in err, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["xruns_after_ready"] <= xrun_allowance(summary["frames"] / RATE), summary
