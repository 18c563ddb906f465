"""Who hears the instrument: each distinct ``(host, port)`` once, for as long as it keeps talking.

A sender at ``(host, port)`` makes two destinations: its own port (Pd's
``[netsend -u -b]`` reads replies there) and ``feedback_port`` on its host
(Max's ``[udpreceive 9001]``). Many senders on one host (every ``oscsend`` has a
fresh port) share that host's feedback destination: it is one destination, so a
status message or a confirmation reaches it once, never once per sender.

A destination is forgotten ``timeout`` seconds after the last message from any
sender that makes it (the panels send ``/dream/ping`` well inside that time, so
an open panel keeps receiving). The feedback port on a loopback host stays once
heard: a Max patch listening on ``[udpreceive 9001]`` on this machine keeps
its status even if nothing was sent from it for a while, as before.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

Destination = tuple[str, int]

MAX_DESTINATIONS = 32  # a flood of fresh ports must not make every status tick a flood


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Destinations:
    """The current destinations, each with the time it was last refreshed (thread-safe)."""

    def __init__(self, feedback_port: int, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.feedback_port = feedback_port
        self.timeout = timeout
        self._clock = clock
        self._heard: OrderedDict[Destination, float] = OrderedDict()
        self._standing: set[Destination] = set()
        self._lock = threading.Lock()

    def replies_for(self, sender: Destination) -> list[Destination]:
        """Where an answer to ``sender`` goes: its own port and its host's feedback port, each once."""
        feedback = (sender[0], self.feedback_port)
        return [sender] if feedback == sender else [sender, feedback]

    def heard(self, sender: Destination) -> None:
        now = self._clock()
        with self._lock:
            for destination in self.replies_for(sender):
                self._heard[destination] = now
                self._heard.move_to_end(destination)
            if _is_loopback(sender[0]):
                self._standing.add((sender[0], self.feedback_port))
            while len(self._heard) > MAX_DESTINATIONS:
                self._heard.popitem(last=False)

    def current(self) -> list[Destination]:
        """Every destination heard from within ``timeout``, plus the standing ones; each once."""
        oldest = self._clock() - self.timeout
        with self._lock:
            while self._heard:
                destination, when = next(iter(self._heard.items()))
                if when >= oldest:
                    break
                del self._heard[destination]
            return list(dict.fromkeys([*self._heard, *sorted(self._standing)]))

    def __bool__(self) -> bool:
        return bool(self.current())
