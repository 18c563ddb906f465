"""The OSC server: one UDP socket, one thread, every message handled in arrival order.

- Packets from senders outside ``osc.allow`` (when listening beyond loopback)
  are dropped and counted; malformed packets are dropped and counted.
- Bundles are unpacked and their messages run at once: a time tag in the future
  never makes the server wait.
- An accepted change is confirmed on its own address to every client (so every
  patch's widgets follow); a refused one answers ``/dream/error address reason``
  to its sender and changes nothing.
- Replies go to the sender's source port (Pd's ``[netsend -u -b]`` reads them)
  and to ``osc.feedback_port`` on the sender's host (Max's ``[udpreceive]``).
- Status messages go to every client ``osc.status_rate`` times a second.
- Dream-engine trouble (it died, it restarts, it gave up) goes to every client as
  ``/dream/error /dream/status/engine reason``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pythonosc.osc_packet import OscPacket

from instrument.errors import DreamSoundError
from instrument.osc import namespace as ns
from instrument.osc.presets import PresetStore
from instrument.osc.wire import message
from instrument.settings import OscSettings

MAX_CLIENTS = 16
MAX_CLASS_MATCHES = 521


class Instrument(Protocol):
    """What the server drives: the engine's thread-safe controls and a few actions."""

    controls: Any  # instrument.live.controls.Controls

    def class_name(self, target: int | str) -> tuple[int, str]: ...
    def search_classes(self, query: str) -> list[tuple[int, str]]: ...
    def capture_target(self, seconds: float) -> str: ...
    def captured_names(self) -> set[str]: ...
    def status(self) -> dict[str, Any]: ...


class OscServer:
    def __init__(self, instrument: Instrument, settings: OscSettings | None = None) -> None:
        self.instrument = instrument
        self.controls = instrument.controls
        self.activity = getattr(instrument, "activity", None)
        self.settings = settings or OscSettings()
        self.presets = PresetStore(self.settings.presets_file)
        self.sound_dir = Path(self.settings.target_sound_dir)
        self.counts = {"received": 0, "accepted": 0, "refused": 0, "malformed": 0, "not_allowed": 0, "sent": 0}
        self._clients: OrderedDict[tuple[str, int], float] = OrderedDict()
        self._clients_lock = threading.Lock()
        self._allowed = {ipaddress.ip_address(a) for a in self.settings.allow}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sock: socket.socket | None = None
        self._remove_listener: Callable[[], None] | None = None
        self.on_event: Callable[[str], None] | None = None  # log hook

    # --- life cycle ------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        assert self._sock is not None
        return self._sock.getsockname()[:2]

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.settings.host, self.settings.port))
        except OSError as err:
            sock.close()
            raise DreamSoundError(
                f"cannot listen for OSC on {self.settings.host}:{self.settings.port} ({err.strerror}); "
                "another program may use that port: set osc.port in the config"
            ) from err
        # Room for a burst (a patch's slider sweep, a fuzzer) while a message is handled.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.settimeout(0.1)
        self._sock = sock
        self._remove_listener = self.controls.add_listener(self._confirm)
        self._threads = [threading.Thread(target=self._serve, name="osc-server", daemon=True)]
        if self.settings.status_rate > 0:
            self._threads.append(threading.Thread(target=self._status_loop, name="osc-status", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        if self._remove_listener:
            self._remove_listener()
        if self._sock:
            self._sock.close()

    # --- receiving -------------------------------------------------------------------
    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            started = time.monotonic()
            try:
                self.handle_packet(data, sender[:2])
            except Exception as err:  # nothing a sender does may end this thread
                self.counts["malformed"] += 1
                if self.on_event:
                    self.on_event(f"OSC packet from {sender[0]} dropped: {err}")
            if self.activity is not None:
                self.activity.add("osc_message", started, time.monotonic())

    def handle_packet(self, data: bytes, sender: tuple[str, int]) -> None:
        """Handle one datagram from ``sender`` (also called directly by tests)."""
        self.counts["received"] += 1
        if not self._is_allowed(sender[0]):
            self.counts["not_allowed"] += 1
            return
        try:
            packet = OscPacket(data)
        except Exception:  # python-osc raises ParseError and, on some garbage, others
            self.counts["malformed"] += 1
            return
        self._remember(sender)
        for timed in packet.messages:  # bundle contents too; time tags are not waited for
            self._handle_message(timed.message.address, list(timed.message.params), sender)

    def _is_allowed(self, host: str) -> bool:
        if not self._allowed or self.settings.loopback_only:
            return True
        try:
            return ipaddress.ip_address(host) in self._allowed
        except ValueError:
            return False

    def _remember(self, sender: tuple[str, int]) -> None:
        with self._clients_lock:
            self._clients[sender] = time.monotonic()
            self._clients.move_to_end(sender)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)

    def _handle_message(self, address: str, args: list[Any], sender: tuple[str, int]) -> None:
        try:
            if address in ns.BY_PATH:
                self._set(ns.BY_PATH[address], args, sender)
            elif address in ns.ACTION_PATHS:
                self._action(address, args, sender)
            else:
                raise DreamSoundError("unknown address; /dream/get lists the parameters, see patches/README.md")
        except DreamSoundError as err:
            self._refuse(sender, address, str(err))
            return
        except Exception as err:  # never let one message stop the server
            self._refuse(sender, address, f"internal error: {type(err).__name__}: {err}")
            return
        self.counts["accepted"] += 1

    def _refuse(self, sender: tuple[str, int], address: str, reason: str) -> None:
        """Answer /dream/error, cut short so the reply always fits one packet (< 8 KB)."""
        self.counts["refused"] += 1
        self._send_to(sender, ns.ERROR_PATH, [address[:200], reason[:1000]])

    # --- parameters -------------------------------------------------------------------
    def _set(self, parameter: ns.Parameter, args: list[Any], sender: tuple[str, int]) -> None:
        if not args:  # a bare address asks for the current value
            self._send_to(sender, parameter.path, self._reply_args(parameter, self.controls.get(parameter.name)))
            return
        value = ns.parse(parameter, args)
        if parameter.name == "target_sound" and value is not None:
            value = self._target_sound_path(value)
        self.controls.set(parameter.name, value)  # confirmation goes out through _confirm

    def _target_sound_path(self, name: str) -> str:
        if name in self.instrument.captured_names():
            return name
        root = self.sound_dir.resolve()
        candidate = (root / name).resolve()
        if candidate.parent != root and root not in candidate.parents:
            raise DreamSoundError(f"target sound {name!r} is outside the target-sound folder {root}")
        if not candidate.is_file():
            raise DreamSoundError(f"target sound {name!r} not found in {root}")
        return str(candidate)

    def _reply_args(self, parameter: ns.Parameter, value: Any) -> list[Any]:
        if parameter.name == "target_sound" and isinstance(value, str):
            value = Path(value).name if value not in self.instrument.captured_names() else value
        return ns.reply(parameter, value, self.instrument.class_name)

    def _confirm(self, name: str, value: Any) -> None:
        """Controls listener: echo every accepted change to every client."""
        for parameter in ns.PARAMETERS:
            if parameter.name == name:
                try:
                    args = self._reply_args(parameter, value)
                except DreamSoundError:
                    return
                self._broadcast(parameter.path, args)
                return

    # --- actions ----------------------------------------------------------------------
    def _action(self, address: str, args: list[Any], sender: tuple[str, int]) -> None:
        if address == "/dream/get":
            self.send_all_values(sender)
        elif address == "/dream/classes":
            query = "" if not args else (str(int(args[0])) if isinstance(args[0], float) else str(args[0]))
            matches = self.instrument.search_classes(query)[:MAX_CLASS_MATCHES]
            self._send_to(sender, "/dream/classes/count", [len(matches)])
            for index, name in matches:
                self._send_to(sender, "/dream/classes/match", [index, name])
        elif address == "/dream/preset/save":
            number = ns.preset_number(args)
            self.presets.save(number, self.controls.snapshot().as_dict())
            self._send_to(sender, address, [number])
        elif address == "/dream/preset/load":
            number = ns.preset_number(args)
            values = self.presets.load(number)
            self.apply(values)
            self._send_to(sender, address, [number])
        elif address == "/dream/target_sound/capture":
            self.instrument.capture_target(ns.capture_seconds(args))  # the engine checks the length; _confirm echoes it

    def apply(self, values: dict[str, Any]) -> None:
        """Apply a preset: all its values, or (if one is refused) none of them."""
        values = dict(values)
        if values.get("target_sound"):  # a preset file is input too: only sounds from the folder
            values["target_sound"] = self._target_sound_path(Path(str(values["target_sound"])).name)
        self.controls.set_many(values)

    def send_all_values(self, destination: tuple[str, int]) -> None:
        for parameter in ns.PARAMETERS:
            self._send_to(destination, parameter.path, self._reply_args(parameter, self.controls.get(parameter.name)))
        for path, args in self.status_messages():
            self._send_to(destination, path, args)

    # --- status -----------------------------------------------------------------------
    def status_messages(self) -> list[tuple[str, list[Any]]]:
        s = self.instrument.status()
        dropped = self.counts["malformed"] + self.counts["not_allowed"]
        return [
            ("/dream/status/input_class", [s["input_class"], s["input_score"], s["input_name"]]),
            ("/dream/status/output_class", [s["output_class"], s["output_score"], s["output_name"]]),
            ("/dream/status/levels", [s["input_db"], s["output_db"]]),
            ("/dream/status/rate", [float(s["iterations_per_second"])]),
            ("/dream/status/iterations", [float(s["iterations_per_window"])]),
            ("/dream/status/xruns", [int(s["xruns"])]),
            ("/dream/status/latency", [float(s["latency"])]),
            ("/dream/status/recording", [int(bool(s["recording"]))]),
            ("/dream/status/dropped", [dropped]),
            ("/dream/status/engine", [str(s.get("engine", "dreaming"))]),
        ]

    def _status_loop(self) -> None:
        period = 1.0 / self.settings.status_rate
        while not self._stop.wait(period):
            if not self._clients:
                continue
            started = time.monotonic()
            try:
                messages = self.status_messages()
            except Exception as err:  # a status hiccup must not end the status thread
                if self.on_event:
                    self.on_event(f"status unavailable: {err}")
                continue
            for path, args in messages:
                self._broadcast(path, args)
            if self.activity is not None:
                self.activity.add("osc_status", started, time.monotonic())

    def broadcast_error(self, reason: str) -> None:
        """Tell every client about dream-engine trouble: ``/dream/error /dream/status/engine reason``."""
        self._broadcast(ns.ERROR_PATH, ["/dream/status/engine", reason[:1000]])

    # --- sending ----------------------------------------------------------------------
    def _destinations(self, client: tuple[str, int]) -> list[tuple[str, int]]:
        host = client[0]
        feedback = (host, self.settings.feedback_port)
        return [client] if feedback == client else [client, feedback]

    def _send_to(self, client: tuple[str, int], address: str, args: list[Any]) -> None:
        # Sent from the listening socket: Pd's [netsend -u -b] only reads datagrams
        # that come back from the address and port it sends to.
        data = message(address, args)
        sock = self._sock
        if sock is None:
            return
        for destination in self._destinations(client):
            try:
                sock.sendto(data, destination)
                self.counts["sent"] += 1
            except OSError:
                pass  # a client that went away must not disturb the others

    def _broadcast(self, address: str, args: list[Any]) -> None:
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            self._send_to(client, address, args)
