"""Live-engine fixtures: the session's JACK dummy server, the real model for scoring, a disk that fills up."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .livehelpers import TFLITE, JackServer, host_steal, need, stop_host_steal


@pytest.fixture(scope="session")
def jack() -> Iterator[JackServer]:
    """One JACK dummy server for the session; this process and its children talk to it. The host's CPU
    steal is recorded beside it, to tell the host's xruns from the engine's (``livehelpers.HostSteal``)."""
    host_steal()
    server = JackServer(f"dreamsound-test-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    previous = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    from instrument.live import devices

    devices.refresh()
    yield server
    import sounddevice as sd

    sd._terminate()  # PortAudio asserts if it closes its JACK client after the server is gone
    server.stop()
    sd._initialize()
    stop_host_steal()
    if previous is None:
        os.environ.pop("JACK_DEFAULT_SERVER", None)
    else:
        os.environ["JACK_DEFAULT_SERVER"] = previous


@pytest.fixture(scope="session")
def live_dreamer():
    """The real model (lite weights from ../shared), loaded once in the test process: to score what a
    performance produced (the engine itself dreams in its own dream process)."""
    from instrument.model.runtime import configure_tensorflow

    device = configure_tensorflow(1)
    need(TFLITE)
    from instrument.dream.dreamer import Dreamer
    from instrument.model.loader import ModelSettings, load_yamnet

    return Dreamer(load_yamnet(ModelSettings(source="tflite", path=str(TFLITE))), device)


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A directory that fills up after 256 KiB: a small tmpfs (real ENOSPC, needs root and mount rights);
    where mounting is not allowed, a file-size limit for this process (EFBIG), the same write-error path."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if result.returncode == 0:
        yield mount
        subprocess.run(["umount", str(mount)], check=True)
        return
    import resource
    import signal

    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, old_limit[1]))
    try:
        yield mount
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
