"""Device names as macOS, Windows and Linux report them: picking by name, host-API preference, ambiguity, listing.

The tables in ``tests/fixtures/devices-*.json`` are ``sounddevice.query_hostapis()`` /
``query_devices()`` / default devices written from their documented shape for a MacBook Pro
(Core Audio, BlackHole, an aggregate device), a Windows laptop (one headset under MME,
DirectSound, WASAPI and WDM-KS, MME's 31-character names, ASIO) and Debian with JACK.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from instrument.errors import DreamSoundError
from instrument.live.devices import DeviceTable, describe_devices, pick_device, resolve_devices

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def table(name: str) -> DeviceTable:
    data = json.loads((FIXTURES / f"devices-{name}.json").read_text(encoding="utf-8"))
    assert [d["index"] for d in data["devices"]] == list(range(len(data["devices"])))
    return DeviceTable(tuple(data["devices"]), tuple(data["hostapis"]), *data["default_device"])


MAC, WIN, LINUX = table("macos"), table("windows"), table("linux")


@pytest.mark.parametrize(
    ("query", "kind", "index"),
    [
        ("MacBook Pro Microphone", "input", 1),
        ("macbook pro speakers", "output", 2),
        ("Speakers", "output", 2),
        ("BlackHole 2ch", "input", 0),
        ("blackhole 16", "output", 4),
        ("Aggregate", "input", 5),
        ("Core Audio aggregate", "output", None),  # words must come in order: name, then host API
        ("aggregate core audio", "output", 5),
    ],
)
def test_macos_core_audio_names(query: str, kind: str, index: int | None) -> None:
    if index is None:
        with pytest.raises(DreamSoundError, match=f"no {kind} device"):
            pick_device(query, kind, MAC)
    else:
        assert pick_device(query, kind, MAC) == index


def test_a_name_matching_several_devices_in_one_host_api_names_them() -> None:
    with pytest.raises(DreamSoundError) as err:
        pick_device("BlackHole", "input", MAC)
    message = str(err.value)
    assert "input device 'BlackHole' matches 2 Core Audio devices: [0] BlackHole 2ch, [4] BlackHole 16ch" in message
    assert "give more of the name, or the index" in message
    with pytest.raises(
        DreamSoundError,
        match=r"matches 2 Windows WASAPI devices: \[18\] Microphone Array"
        r" \(Realtek\(R\) Audio\), \[23\] Speakers \(Realtek\(R\) Audio\) \[Loopback\]",
    ):
        pick_device("Realtek", "input", WIN)


@pytest.mark.parametrize(
    ("query", "kind", "index", "hostapi"),
    [
        # The headset is in MME, DirectSound, WASAPI and WDM-KS: WASAPI (no ASIO driver for it) wins.
        ("Logitech", "input", 17, "Windows WASAPI"),
        ("Logitech", "output", 20, "Windows WASAPI"),
        ("Headset H390", "output", 20, "Windows WASAPI"),
        # MME's cut name, as `dreamsound devices` shows it, still finds the full name elsewhere.
        ("Microphone (Logitech USB Headse", "input", 17, "Windows WASAPI"),
        # Naming the host API chooses it.
        ("Logitech MME", "input", 1, "MME"),
        ("Speakers (Logitech USB Headset, MME", "output", 5, "MME"),
        ("Logitech DirectSound", "output", 13, "Windows DirectSound"),
        ("Logitech WDM-KS", "input", 24, "Windows WDM-KS"),
        # ASIO is the lowest-latency host API when its driver has the device.
        ("Focusrite", "input", 16, "ASIO"),
        ("Focusrite", "output", 16, "ASIO"),
        ("Focusrite WASAPI", "output", 22, "Windows WASAPI"),
        # A whole name beats the longer names it is part of.
        ("Speakers (Realtek(R) Audio)", "output", 21, "Windows WASAPI"),
        ("Primary Sound Driver", "output", 12, "Windows DirectSound"),
        ("Microsoft Sound Mapper - Input", "input", 0, "MME"),
    ],
)
def test_windows_duplicates_prefer_the_lowest_latency_host_api(query: str, kind: str, index: int, hostapi: str) -> None:
    picked = pick_device(query, kind, WIN)
    assert (picked, WIN.hostapi_name(picked)) == (index, hostapi)


def test_a_duplex_pair_stays_in_one_host_api() -> None:
    # Focusrite alone would be ASIO, the Realtek speakers are not there: both go to WASAPI.
    assert resolve_devices("Focusrite", "Realtek", WIN) == (19, 21)
    # A named device beside a default takes that host API's default for the other side.
    assert resolve_devices("Logitech", None, WIN) == (17, 20)
    assert resolve_devices(None, "Focusrite", WIN) == (16, 16)
    assert resolve_devices("MacBook Pro Microphone", None, MAC) == (1, 2)
    # Beside an index, a name is looked for in that index's host API first.
    assert resolve_devices(1, "Speakers (Logitech", WIN) == (1, 5)
    # Defaults and indices alone are PortAudio's business, as before.
    assert resolve_devices(None, None, WIN) == (None, None)
    assert resolve_devices(3, 7, WIN) == (3, 7)


def test_linux_prefers_jack_and_keeps_alsa_names() -> None:
    assert pick_device("system", "output", LINUX) == 4
    assert pick_device("sys", "input", LINUX) == 4  # "sysdefault" (ALSA) matches too; JACK comes first
    assert pick_device("sysdefault", "output", LINUX) == 1
    assert pick_device("default", "output", LINUX) == 3  # the whole name, not "sysdefault"
    assert pick_device("hw:0,0", "input", LINUX) == 0
    with pytest.raises(DreamSoundError, match=r"no output device 'Nope'; available output devices:\n  \[4\] system"):
        pick_device("Nope", "output", LINUX)


def test_devices_are_listed_by_host_api_preferred_first_with_defaults_marked() -> None:
    listing = describe_devices(table=WIN, headers=True).splitlines()
    headers = [line for line in listing if not line.startswith("  ")]
    assert headers == [
        "ASIO (taken first when a device name matches in several host APIs):",
        "Windows WASAPI:",
        "Windows WDM-KS:",
        "Windows DirectSound:",
        "MME:",
    ]
    assert "  [1] Microphone (Logitech USB Headse (MME): 1 in, 0 out, 44100 Hz  <- default input" in listing
    assert "  [5] Speakers (Logitech USB Headset  (MME): 0 in, 2 out, 44100 Hz  <- default output" in listing
    assert sum(line.startswith("  [") for line in listing) == len(WIN.devices)
    inputs = describe_devices("input", table=WIN).splitlines()
    assert inputs[0] == "  [16] Focusrite USB ASIO (ASIO): 2 in, 2 out, 48000 Hz"
    assert all(" 0 in," not in line for line in inputs)
    assert describe_devices(table=MAC, headers=True).splitlines()[:2] == [
        "Core Audio (taken first when a device name matches in several host APIs):",
        "  [0] BlackHole 2ch (Core Audio): 2 in, 2 out, 48000 Hz",
    ]
    linux = describe_devices(table=LINUX)
    assert linux.splitlines()[0] == "  [4] system (JACK Audio Connection Kit): 2 in, 2 out, 48000 Hz"


@pytest.mark.parametrize(
    ("platform", "words"),
    [("darwin", "Audio MIDI Setup"), ("win32", "Settings > System > Sound"), ("linux", "JACK")],
)
def test_no_devices_says_what_to_check_on_each_system(monkeypatch, platform: str, words: str) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    empty = DeviceTable((), ({"name": "Core Audio", "devices": []},))
    assert words in describe_devices("input", table=empty)
