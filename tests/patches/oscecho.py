"""Helpers for the patch tests: a tiny OSC echo server, the real ``pd`` and a reader for Pd patch files."""

from __future__ import annotations

import importlib.util
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pythonosc.osc_packet import OscPacket

from instrument.osc.wire import message

REPO = Path(__file__).resolve().parents[2]
PATCHES = REPO / "patches"
HERE = Path(__file__).resolve().parent

# What Pd prints when a patch is broken: objects that can't be created, bad messages, errors.
PD_PROBLEMS = re.compile(
    r"couldn't create|error|bad arguments|no method|inlet: expected|stack overflow|can't|not found|unknown|"
    r"no such|mismatch|fail",
    re.IGNORECASE,
)


def load_script(name: str, folder: Path = PATCHES) -> ModuleType:
    """Import ``patches/NAME.py`` (the patches folder is not a package), or NAME.py in ``folder``."""
    spec = importlib.util.spec_from_file_location(f"dreamsound_{folder.name}_{name}", folder / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pd_binary() -> str:
    found = shutil.which("pd")
    if not found:
        pytest.fail("Pure Data (`pd`, Debian package puredata-core) is needed for the patch tests", pytrace=False)
    return found


def run_pd(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run the real Pd without GUI, audio or MIDI, reading no user preferences; its printout is on stderr."""
    command = [pd_binary(), "-nogui", "-nosound", "-nomidi", "-noprefs", "-stderr", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def pd_problems(stderr: str) -> list[str]:
    """Lines where Pd reports a problem (not what the test patches print themselves)."""
    ours = ("FEEDBACK:", "CONNECTED:")
    return [line for line in stderr.splitlines() if PD_PROBLEMS.search(line) and not line.startswith(ours)]


@dataclass
class Received:
    address: str
    args: list[Any]


@dataclass
class EchoServer:
    """Records every OSC message it gets; answers some addresses from its own port (as the instrument does)."""

    replies: dict[str, list[tuple[str, list[Any]]]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> EchoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._drain()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            self._handle(data, sender)

    def _drain(self) -> None:
        """Read what is already queued (datagrams Pd sent before it quit)."""
        self.sock.setblocking(False)
        while True:
            try:
                data, sender = self.sock.recvfrom(65536)
            except (BlockingIOError, OSError):
                return
            self._handle(data, sender, reply=False)

    def _handle(self, data: bytes, sender: tuple[str, int], reply: bool = True) -> None:
        for timed in OscPacket(data).messages:
            msg = timed.message
            self.received.append(Received(msg.address, list(msg.params)))
            for address, args in self.replies.get(msg.address, []) if reply else []:
                self.sock.sendto(message(address, args), sender)

    def args_of(self, address: str) -> list[list[Any]]:
        return [r.args for r in self.received if r.address == address]


# ---- Pd patch files ----------------------------------------------------------------------------
@dataclass
class PdObject:
    index: int
    kind: str  # obj, msg, floatatom, symbolatom, text
    text: str  # the object's atoms after its position, unescaped ($0 stays "$0")


@dataclass
class PdCanvas:
    objects: list[PdObject]
    wires: list[tuple[int, int, int, int]]  # source, outlet, sink, inlet

    def find(self, text: str) -> list[PdObject]:
        return [o for o in self.objects if o.text == text]

    def sources(self, sink: int) -> list[tuple[PdObject, int]]:
        return [(self.objects[a], o) for a, o, b, _ in self.wires if b == sink]

    def sinks(self, source: int, outlet: int) -> list[PdObject]:
        return [self.objects[b] for a, o, b, _ in self.wires if a == source and o == outlet]


def read_pd(path: Path) -> PdCanvas:
    """The top canvas of a Pd file (every record that makes an object counts toward the wire indices)."""
    records = [r.strip() for r in re.split(r"(?<!\\);", path.read_text()) if r.strip()]
    objects: list[PdObject] = []
    wires: list[tuple[int, int, int, int]] = []
    depth = 0
    for record in records:
        atoms = record.replace("\n", " ").split()
        head = " ".join(atoms[:2])
        if head == "#N canvas":
            depth += 1
            continue
        if head == "#X restore":
            depth -= 1
            if depth == 1:
                objects.append(PdObject(len(objects), "obj", " ".join(atoms[4:])))
            continue
        if depth != 1:
            continue
        if head == "#X connect":
            wires.append(tuple(int(a) for a in atoms[2:6]))  # type: ignore[arg-type]
        elif head in ("#X obj", "#X msg", "#X floatatom", "#X symbolatom", "#X listbox", "#X text"):
            text = " ".join(atoms[4:]).replace("\\$", "$").replace(" \\,", ",")
            objects.append(PdObject(len(objects), atoms[1], text))
    return PdCanvas(objects, wires)
