"""Audio devices: listing them, finding the ones asked for, and turning every failure into one clear message.

sounddevice loads the system PortAudio (``libportaudio.so.2`` from Debian's
``libportaudio2``, built with JACK). PortAudio sees a JACK server only if one is
running when PortAudio initializes, so ``refresh()`` re-initializes it before
devices are looked up (``jackd`` may have been started after the import).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from instrument.errors import DreamSoundError


def sounddevice() -> Any:  # the sounddevice module
    """Import sounddevice, with a clear error when PortAudio is missing."""
    try:
        import sounddevice as sd
    except OSError as err:  # PortAudio library not found
        raise DreamSoundError(
            f"cannot load PortAudio ({err}); install it (Debian/Ubuntu: apt-get install libportaudio2)"
        ) from err
    return sd


def refresh() -> None:
    """Re-scan host APIs and devices (PortAudio only sees servers running at initialization)."""
    sd = sounddevice()
    try:
        sd._terminate()
    except Exception:
        pass
    sd._initialize()


def abandon() -> None:
    """Skip PortAudio's termination at exit: after the JACK server died it would abort the process."""
    sd = sounddevice()
    sd._initialized = 0


def list_devices() -> list[dict[str, Any]]:
    sd = sounddevice()
    apis = sd.query_hostapis()
    devices = []
    for index, dev in enumerate(sd.query_devices()):
        devices.append(
            {
                "index": index,
                "name": dev["name"],
                "hostapi": apis[dev["hostapi"]]["name"],
                "inputs": dev["max_input_channels"],
                "outputs": dev["max_output_channels"],
                "samplerate": dev["default_samplerate"],
            }
        )
    return devices


def describe_devices(kind: str | None = None) -> str:
    """One line per device (of ``kind`` 'input'/'output' when given), for messages and ``dreamsound devices``."""
    key = {"input": "inputs", "output": "outputs"}.get(kind or "", None)
    lines = [
        f"  [{d['index']}] {d['name']} ({d['hostapi']}): {d['inputs']} in, {d['outputs']} out, {d['samplerate']:g} Hz"
        for d in list_devices()
        if key is None or d[key] > 0
    ]
    return "\n".join(lines) if lines else "  (none: is an audio server such as JACK running?)"


def _available(kind: str) -> str:
    return "available " + kind + " devices:\n" + describe_devices(kind)


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
