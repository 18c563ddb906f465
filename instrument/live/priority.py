"""Scheduling priorities: the audio callback first, then everything else, then background compiling.

Nice values only ever go up (less priority): that needs no privileges, on Linux per thread
(a thread's id is a ``setpriority`` target), elsewhere per process or not at all.
"""

from __future__ import annotations

import os
import sys
import threading


def lower_process(pid: int, nice: int) -> None:
    """At least ``nice`` for process ``pid`` (0: this one)."""
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, pid, max(nice, os.getpriority(os.PRIO_PROCESS, pid)))
        except OSError:
            pass


def lower_this_thread(nice: int) -> None:
    """At least ``nice`` for the calling thread only (Linux; a no-op elsewhere, where it would be the process)."""
    if sys.platform.startswith("linux") and hasattr(os, "setpriority"):
        tid = threading.get_native_id()
        try:
            os.setpriority(os.PRIO_PROCESS, tid, max(nice, os.getpriority(os.PRIO_PROCESS, tid)))
        except OSError:
            pass
