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


def keep_off_the_audio_core(pid: int) -> None:
    """Keep process ``pid`` (0: this one) off the lowest allowed CPU when there are two or more.

    Nice values share a core by weight, so on a 2-core machine a dreaming process at nice 5 still
    takes time slices on the core the audio callback is about to need, and a 5 ms block has no
    slack for a scheduler's time slice (xruns were measured while the dream process dreamed). With
    the dream process kept to the other cores, one core is always free for the audio callback and the
    audio server. The dream process uses one TensorFlow thread, so it loses nothing. Linux only (the
    call exists nowhere else); on one core there is nothing to split.
    """
    if hasattr(os, "sched_getaffinity") and hasattr(os, "sched_setaffinity"):
        try:
            allowed = sorted(os.sched_getaffinity(pid))
            if len(allowed) >= 2:
                os.sched_setaffinity(pid, allowed[1:])
        except OSError:
            pass
