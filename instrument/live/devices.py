"""Audio devices: listing them by host API, finding the ones asked for, turning every failure into one clear message.

sounddevice loads the system PortAudio on Linux (``libportaudio.so.2`` from Debian's
``libportaudio2``, built with JACK) and its own bundled copy on macOS (Core Audio) and
Windows (MME, DirectSound, WASAPI, WDM-KS; ASIO with ``SD_ENABLE_ASIO=1``). PortAudio
sees a JACK server only if one is running when PortAudio initializes, so ``refresh()``
re-initializes it before devices are looked up (``jackd`` may have been started after the import).

On Windows one device appears once per host API (MME cuts its name to 31 characters),
so a device name usually matches several entries: the one in the lowest-latency host API
(``HOSTAPI_PREFERENCE``) is taken, and a name that still matches several devices there
is refused with the list of them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from instrument.errors import DreamSoundError

# Lowest latency first. Only one platform's names ever appear together.
HOSTAPI_PREFERENCE = (
    "ASIO",
    "Windows WASAPI",
    "Windows WDM-KS",
    "Windows DirectSound",
    "MME",
    "Core Audio",
    "JACK Audio Connection Kit",
    "ALSA",
    "OSS",
)


def _platform_hints() -> tuple[str, str]:
    """(how to get PortAudio, what to check when no device is seen) for this operating system."""
    if sys.platform == "darwin":
        return (
            "the sounddevice wheel bundles it: python -m pip install --force-reinstall sounddevice",
            "is an audio device connected? see Audio MIDI Setup",
        )
    if sys.platform == "win32":
        return (
            "the sounddevice wheel bundles it: python -m pip install --force-reinstall sounddevice",
            "is an audio device enabled in Settings > System > Sound?",
        )
    return "install it (Debian/Ubuntu: apt-get install libportaudio2)", "is an audio server such as JACK running?"


def sounddevice() -> Any:  # the sounddevice module
    """Import sounddevice, with a clear error when PortAudio is missing."""
    try:
        import sounddevice as sd
    except OSError as err:  # PortAudio library not found
        raise DreamSoundError(f"cannot load PortAudio ({err}); {_platform_hints()[0]}") from err
    return sd


def refresh() -> None:
    """Re-scan host APIs and devices (PortAudio only sees servers running at initialization)."""
    sd = sounddevice()
    # sounddevice has no public re-scan: its maintainer points to these two, which wrap Pa_Terminate and
    # Pa_Initialize (python-sounddevice issues #125 and #516).
    try:
        sd._terminate()
    except sd.PortAudioError:
        pass  # PortAudio was not initialized (after ``abandon()``, or a failed start): nothing to end
    sd._initialize()


def abandon() -> None:
    """Skip PortAudio's termination at exit: after the JACK server died it would abort the process."""
    sd = sounddevice()
    sd._initialized = 0


@dataclass(frozen=True)
class DeviceTable:
    """What PortAudio reports: ``query_devices()``, ``query_hostapis()`` and the default devices (-1: none)."""

    devices: tuple[dict[str, Any], ...]
    hostapis: tuple[dict[str, Any], ...]
    default_input: int = -1
    default_output: int = -1

    @classmethod
    def query(cls) -> DeviceTable:
        sd = sounddevice()
        defaults = []
        for kind in ("input", "output"):
            try:
                defaults.append(int(sd.query_devices(kind=kind)["index"]))
            except (ValueError, sd.PortAudioError):
                defaults.append(-1)
        return cls(tuple(dict(d) for d in sd.query_devices()), tuple(sd.query_hostapis()), *defaults)

    def hostapi_name(self, index: int) -> str:
        return self.hostapis[self.devices[index]["hostapi"]]["name"]

    def channels(self, index: int, kind: str) -> int:
        return int(self.devices[index][f"max_{kind}_channels"])


def hostapi_rank(name: str) -> int:
    """Position in ``HOSTAPI_PREFERENCE`` (unknown host APIs last)."""
    return HOSTAPI_PREFERENCE.index(name) if name in HOSTAPI_PREFERENCE else len(HOSTAPI_PREFERENCE)


def list_devices(table: DeviceTable | None = None) -> list[dict[str, Any]]:
    table = table or DeviceTable.query()
    return [
        {
            "index": index,
            "name": dev["name"],
            "hostapi": table.hostapi_name(index),
            "inputs": dev["max_input_channels"],
            "outputs": dev["max_output_channels"],
            "samplerate": dev["default_samplerate"],
        }
        for index, dev in enumerate(table.devices)
    ]


def describe_devices(kind: str | None = None, table: DeviceTable | None = None, headers: bool = False) -> str:
    """One line per device (of ``kind`` 'input'/'output' when given), preferred host API first, defaults marked.

    For messages; ``headers`` (``dreamsound devices``) puts each host API's name above its devices.
    """
    table = table or DeviceTable.query()
    key = {"input": "inputs", "output": "outputs"}.get(kind or "", None)
    groups: dict[str, list[str]] = {}
    for d in list_devices(table):
        if key is not None and d[key] == 0:
            continue
        marks = [
            f"default {k}"
            for k, i in (("input", table.default_input), ("output", table.default_output))
            if i == d["index"] and (kind is None or kind == k)
        ]
        line = (
            f"  [{d['index']}] {d['name']} ({d['hostapi']}): {d['inputs']} in, {d['outputs']} out,"
            f" {d['samplerate']:g} Hz" + (f"  <- {', '.join(marks)}" if marks else "")
        )
        groups.setdefault(d["hostapi"], []).append(line)
    if not groups:
        return f"  (none: {_platform_hints()[1]})"
    lines = []
    for number, api in enumerate(sorted(groups, key=hostapi_rank)):
        if headers:
            note = " (taken first when a device name matches in several host APIs)" if number == 0 else ""
            lines.append(f"{api}{note}:")
        lines += groups[api]
    return "\n".join(lines)


def matching_devices(query: str, kind: str, table: DeviceTable) -> list[int]:
    """Devices of ``kind`` whose "name, host API" holds the words of ``query`` in order (sounddevice's rule)."""
    words = query.lower().split()
    found = []
    for index, dev in enumerate(table.devices):
        if table.channels(index, kind) < 1:
            continue
        # strip(): MME cuts names at 31 characters, often right after a space ("Speakers (USB Headset ").
        full = f"{dev['name'].strip()}, {table.hostapi_name(index)}".lower()
        pos = 0
        for word in words:
            pos = full.find(word, pos)
            if pos < 0:
                break
            pos += len(word)
        else:
            found.append(index)
    return found


def pick_device(query: str, kind: str, table: DeviceTable, prefer_hostapi: int | None = None) -> int:
    """The device a name (or part of one) means.

    Of the matching devices, those in ``prefer_hostapi`` (the other side of a duplex stream)
    come first, then those in the lowest-latency host API. Within that host API one device
    must match, or one whose whole name is ``query``; otherwise the error lists them.
    """
    found = matching_devices(query, kind, table)
    if not found:
        raise DreamSoundError(f"no {kind} device {query!r}; {_available(kind, table)}")
    apis = sorted(
        {table.devices[i]["hostapi"] for i in found},
        key=lambda api: (api != prefer_hostapi, hostapi_rank(table.hostapis[api]["name"]), api),
    )
    best = [i for i in found if table.devices[i]["hostapi"] == apis[0]]
    if len(best) == 1:
        return best[0]
    wanted = query.strip().lower()
    exact = [i for i in best if table.devices[i]["name"].strip().lower() == wanted]
    if len(exact) == 1:
        return exact[0]
    api_name = table.hostapis[apis[0]]["name"]
    listed = ", ".join(f"[{i}] {table.devices[i]['name']}" for i in best)
    raise DreamSoundError(
        f"{kind} device {query!r} matches {len(best)} {api_name} devices: {listed}; give more of the name, or the index"
    )


def _common_hostapi(input_query: str, output_query: str, table: DeviceTable) -> int | None:
    """The preferred host API where both names match (a duplex stream needs one host API)."""
    ins = {table.devices[i]["hostapi"] for i in matching_devices(input_query, "input", table)}
    outs = {table.devices[i]["hostapi"] for i in matching_devices(output_query, "output", table)}
    common = sorted(ins & outs, key=lambda api: (hostapi_rank(table.hostapis[api]["name"]), api))
    return common[0] if common else None


def resolve_devices(
    input_device: str | int | None, output_device: str | int | None, table: DeviceTable
) -> tuple[str | int | None, str | int | None]:
    """Turn device names into indices; a default beside a named device comes from the named one's host API.

    Indices and defaults beside indices are left to PortAudio, as before.
    """

    def hostapi_of(device: str | int | None) -> int | None:
        if isinstance(device, int) and 0 <= device < len(table.devices):
            return int(table.devices[device]["hostapi"])
        return None

    out_index: str | int | None = output_device
    in_index: str | int | None = input_device
    if isinstance(output_device, str) and isinstance(input_device, str):
        common = _common_hostapi(input_device, output_device, table)
        out_index = pick_device(output_device, "output", table, common)
        in_index = pick_device(input_device, "input", table, table.devices[out_index]["hostapi"])
    elif isinstance(output_device, str):
        out_index = pick_device(output_device, "output", table, hostapi_of(input_device))
        if input_device is None:
            in_index = _hostapi_default(table, table.devices[out_index]["hostapi"], "input")
    elif isinstance(input_device, str):
        in_index = pick_device(input_device, "input", table, hostapi_of(output_device))
        if output_device is None:
            out_index = _hostapi_default(table, table.devices[in_index]["hostapi"], "output")
    return in_index, out_index


def _hostapi_default(table: DeviceTable, hostapi: int, kind: str) -> int | None:
    index = int(table.hostapis[hostapi][f"default_{kind}_device"])
    return index if 0 <= index < len(table.devices) and table.channels(index, kind) > 0 else None


def _available(kind: str, table: DeviceTable | None = None) -> str:
    return "available " + kind + " devices:\n" + describe_devices(kind, table)


@dataclass(frozen=True)
class StreamPlan:
    """What will be opened: device indices, channel counts, rate."""

    input_device: int | None
    output_device: int
    input_channels: int  # opened on the input device (0 when playing a file)
    output_channels: int
    samplerate: int
    input_name: str
    output_name: str
    output_hostapi: str = ""


def _find(device: str | int | None, kind: str) -> dict[str, Any]:
    sd = sounddevice()
    try:
        info = sd.query_devices(device, kind)
    except (ValueError, sd.PortAudioError) as err:
        what = f"{kind} device {device!r}" if device is not None else f"default {kind} device"
        raise DreamSoundError(f"no {what} ({err}); {_available(kind)}") from None
    return info


def plan_stream(
    input_device: str | int | None,
    output_device: str | int | None,
    samplerate: int | None,
    input_channels: tuple[int, ...] | None,
    output_channels: int | None,
    use_input: bool,
) -> StreamPlan:
    """Find the devices and check rate and channels; a DreamSoundError naming what is available otherwise."""
    sd = sounddevice()
    if isinstance(input_device, str) or isinstance(output_device, str):
        input_device, output_device = resolve_devices(
            input_device if use_input else None, output_device, DeviceTable.query()
        )
    out_info = _find(output_device, "output")
    in_info = _find(input_device, "input") if use_input else None
    rate = int(samplerate or out_info["default_samplerate"])
    out_max = out_info["max_output_channels"]
    out_count = output_channels or out_max
    if out_count > out_max:
        raise DreamSoundError(
            f"output device {out_info['name']!r} has {out_max} output channel(s), {out_count} asked for;"
            f" {_available('output')}"
        )
    in_count = 0
    if in_info is not None:
        in_max = in_info["max_input_channels"]
        wanted = max(input_channels) if input_channels else in_max
        if wanted > in_max:
            raise DreamSoundError(
                f"input device {in_info['name']!r} has {in_max} input channel(s); channel {wanted} asked for;"
                f" {_available('input')}"
            )
        in_count = wanted
    try:
        sd.check_output_settings(out_info["index"], channels=out_count, samplerate=rate, dtype="float32")
        if in_info is not None:
            sd.check_input_settings(in_info["index"], channels=in_count, samplerate=rate, dtype="float32")
    except (ValueError, sd.PortAudioError) as err:
        names = out_info["name"] if in_info is None else f"{in_info['name']!r} / {out_info['name']!r}"
        raise DreamSoundError(
            f"the device(s) {names} refuse {rate} Hz with {in_count} in / {out_count} out channels ({err});"
            f" their default rate is {out_info['default_samplerate']:g} Hz; {_available('output')}"
        ) from None
    return StreamPlan(
        input_device=None if in_info is None else in_info["index"],
        output_device=out_info["index"],
        input_channels=in_count,
        output_channels=out_count,
        samplerate=rate,
        input_name="" if in_info is None else in_info["name"],
        output_name=out_info["name"],
        output_hostapi=sd.query_hostapis(out_info["hostapi"])["name"],
    )
