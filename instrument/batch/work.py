"""What runs on a worker: the model loaded once per worker process, and one job at a time on it.

A worker process (a Dask worker: local or on a cluster) keeps one ``Dreamer`` for all of its jobs, so
YAMNet is loaded once and each compiled function (one per layer, mode and buffer length:
``instrument.dream.step``) is compiled once and reused by every later job of that length and layer.
TensorFlow gets ``engine.threads`` threads (1 by default, as ``render``): one worker per core.

A job is ``render``'s own code (``instrument.dream.renderfile``), so its output is the file
``dreamsound render`` writes for the same input, parameters and seed, and its summary is ``render
--json``'s (classes before and after, measured on the output as written). A ``DreamSoundError`` (an
input that cannot be read, a class the model does not know) is the job's result: it would fail again
anywhere. Anything else is raised, so that the engine retries the job once, elsewhere.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from instrument.batch.jobs import Job, file_sha256
from instrument.errors import DreamSoundError
from instrument.model.loader import ModelSettings

_dreamers: dict[tuple, Any] = {}
_lock = threading.Lock()  # a worker started with several threads runs its jobs one at a time on its one model


def worker_dreamer(model: ModelSettings, threads: int, device: str) -> Any:  # -> Dreamer
    """This process's Dreamer for these settings, loaded on first use and then kept."""
    key = (model, threads, device)
    if key not in _dreamers:
        from instrument.model.native_log import quiet_start_up
        from instrument.model.runtime import configure_tensorflow

        with quiet_start_up():
            # Threads before the dream modules are imported: they make tensors, which fixes TensorFlow's pools.
            configure_tensorflow(threads, device)
            from instrument.dream.dreamer import Dreamer

            _dreamers[key] = Dreamer.load(model, threads, device)
    return _dreamers[key]


def warm(model: ModelSettings, threads: int, device: str) -> str:
    """Load this worker's Dreamer now (run on every worker at once when a batch starts), so that no worker
    begins loading only when its first job arrives; returns the worker's name."""
    with _lock:
        worker_dreamer(model, threads, device)
    return f"{socket.gethostname()}:{os.getpid()}"


def resolve_classes(model: ModelSettings, threads: int, device: str, values: list[Any]) -> dict[str, Any]:
    """Each target class value -> ``[index, name]`` in the model's class map, or the error's message."""
    with _lock:
        dreamer = worker_dreamer(model, threads, device)
        resolved: dict[str, Any] = {}
        for value in values:
            try:
                index = dreamer.class_index(value)
                resolved[repr(value)] = [index, dreamer.classes[index].name] if index >= 0 else [-1, "auto"]
            except DreamSoundError as err:
                resolved[repr(value)] = str(err)
        return resolved


def run_job(job: Job, model: ModelSettings, threads: int, device: str) -> dict[str, Any]:
    """Dream ``job`` and return its results line (``status`` ok, or failed with the error)."""
    started = time.perf_counter()
    record = job.record()
    record["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    with _lock:
        try:
            dreamer = worker_dreamer(model, threads, device)
            from instrument.dream.renderfile import render_file

            Path(job.output).parent.mkdir(parents=True, exist_ok=True)
            result = render_file(
                dreamer, job.input, job.output, job.params, seed=job.render.seed, layout=job.render.layout()
            )
        except DreamSoundError as err:
            record.update(status="failed", error=str(err), seconds=round(time.perf_counter() - started, 3))
            return record
        except OSError as err:  # an output folder that cannot be made: the same anywhere on this filesystem
            record.update(status="failed", error=f"cannot write {job.output}: {err}",
                          seconds=round(time.perf_counter() - started, 3))
            return record
    summary = result.summary
    record.update(
        status="ok", sha256=file_sha256(job.output), seconds=round(time.perf_counter() - started, 3),
        before=summary["overall_before"], after=summary["overall_after"], target=summary.get("target"),
        summary=summary,
    )
    return record
