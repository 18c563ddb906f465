"""The driver of a batch: plan, skip what is done, run the rest on Dask workers, append each result.

The engine is Dask distributed (docs/batch.md says why). Without ``--cluster`` the driver starts a
``LocalCluster`` on 127.0.0.1: one worker process per core, one thread each (and one TensorFlow
thread: ``engine.threads``). With ``--cluster tcp://HOST:PORT`` it sends the same jobs to an
existing scheduler, whose workers read the inputs and write the outputs at the paths given here (a
shared filesystem). Either way:

- each worker loads the model once (``instrument.batch.work``), all of them at once as the batch starts,
  and keeps it;
- jobs are submitted sorted by (length, layer, mode), so a worker's compiled functions are reused;
- a worker that dies mid-job has its job rescheduled on another worker (the scheduler's
  ``allowed-failures``, 1 for the local cluster); a job that raises is retried once (``retries=1``);
  a job that fails twice is recorded as failed and the batch goes on;
- the driver alone writes the results manifest, one whole line per finished job
  (``instrument.batch.results``), so Ctrl+C or a kill at any moment leaves it intact and a rerun
  resumes: finished jobs whose outputs verify are skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instrument.batch.jobs import Invalid, Job, Plan, Variants, check_variants, plan
from instrument.batch.results import Results
from instrument.batch.work import resolve_classes, run_job, warm
from instrument.config import Config
from instrument.dream.params import DreamParams, class_target
from instrument.errors import DreamSoundError
from instrument.settings import RenderSettings

CLUSTER_SCHEMES = ("tcp://", "tls://")


@dataclass
class Outcome:
    jobs: int = 0  # planned (valid) jobs
    skipped: int = 0  # already complete and verified
    done: int = 0
    failed: int = 0
    invalid: list[Invalid] = dataclasses.field(default_factory=list)
    unreadable: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # the whole command after planning: engine start, model loads, jobs
    first_result_s: float | None = None  # from submission to the first result (model load and compiling)
    run_seconds: float = 0.0  # from submission to the last result
    workers: int = 0
    interrupted: bool = False
    results: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["invalid"] = [{"where": i.where, "error": i.error} for i in self.invalid]
        ran = self.done + self.failed
        out["clips_per_s"] = round(ran / self.seconds, 4) if self.seconds and ran else None
        return out


def local_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return max(os.cpu_count() or 1, 1)


def check_address(address: str) -> None:
    if address.startswith("ray://"):
        raise DreamSoundError(
            f"--cluster {address}: Ray is not supported yet; start a Dask scheduler and workers"
            " (docs/batch.md) and give its tcp://HOST:PORT"
        )
    if not address.startswith(CLUSTER_SCHEMES):
        raise DreamSoundError(f"--cluster {address!r}: expected a Dask scheduler's address, tcp://HOST:PORT")


class Engine:
    """A Dask client on a local cluster it starts (and stops), or on an existing scheduler."""

    def __init__(self, workers: int | None = None, cluster: str | None = None) -> None:
        self.workers, self.address = workers, cluster
        self.cluster = None
        self.client = None

    def __enter__(self) -> Engine:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as err:
            raise DreamSoundError(
                f"dreamsound batch needs Dask distributed ({err}); pip install 'dask[distributed]'"
            ) from err
        if self.address:
            check_address(self.address)
            try:
                self.client = Client(self.address, timeout="20s")
            except (OSError, TimeoutError) as err:
                raise DreamSoundError(f"cannot reach the Dask scheduler at {self.address}: {err}") from err
            return self
        n = self.workers or local_workers()
        # A job whose worker dies is run again elsewhere once; a second death marks it failed (KilledWorker).
        # The worker processes are started with Ctrl+C ignored (inherited through exec): the terminal sends it
        # to the whole process group, and the driver alone answers it, by cancelling and closing the cluster.
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}), _interrupts_ignored():
            self.cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR,
            )
        self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def worker_count(self) -> int:
        return len(self.client.scheduler_info().get("workers", {})) if self.client else 0


@contextlib.contextmanager
def _interrupts_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def prepare(
    source: str | Path, out_dir: str | Path, base: DreamParams, render: RenderSettings, variants: Variants,
    config: Config,
) -> Plan:
    """The command line's values checked, then the plan (every row checked): all before any work."""
    check_variants(base, render, variants)
    # The weights the workers load: the model settings, and the variable that overrides them on the workers
    # of a local cluster (they inherit this environment). A cluster's workers must have the same weights.
    model_key = {**dataclasses.asdict(config.model), "env": os.environ.get("DREAMSOUND_YAMNET")}
    return plan(source, out_dir, base, render, variants, model_key)


def resolve_targets(engine: Engine, jobs: list[Job], config: Config, from_command_line: set[Any]) -> tuple[
        list[Job], list[Invalid]]:
    """Every target class named by a job looked up in the model's class map (on a worker, which has it).

    A class named on the command line that the model does not know stops the command; one named by a
    manifest row makes that row's jobs invalid.
    """
    values = sorted({job.params.target_class for job in jobs if job.params.target_class is not None}, key=repr)
    if not values:
        return jobs, []
    resolved = engine.client.submit(
        resolve_classes, config.model, config.engine.threads, config.engine.device, values, pure=False
    ).result()
    for value in values:
        if isinstance(resolved[repr(value)], str) and value in from_command_line:
            raise DreamSoundError(f"--target-class {value}: {resolved[repr(value)]}")
    kept, invalid, seen = [], [], set()
    for job in jobs:
        answer = resolved.get(repr(job.params.target_class))
        if isinstance(answer, str):
            if job.where not in seen:
                invalid.append(Invalid(job.where, answer))
                seen.add(job.where)
            continue
        kept.append(job)
    return kept, invalid


def run_batch(
    source: str | Path, out_dir: str | Path, base: DreamParams, render: RenderSettings, variants: Variants,
    config: Config, *, workers: int | None = None, cluster: str | None = None,
    progress: Callable[[Outcome, int], None] | None = None, note: Callable[[str], None] = lambda _: None,
) -> Outcome:
    """Plan, skip the complete jobs, dream the rest; each result appended to OUT_DIR's manifest as it comes."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DreamSoundError(f"OUT_DIR {out_dir} is a file, not a folder")
    if cluster:
        check_address(cluster)
    planned = prepare(source, out_dir, base, render, variants, config)
    for bad in planned.invalid:
        note(f"skipped {bad}")
    if planned.unreadable:
        note(f"{len(planned.unreadable)} file(s) in SOURCE are not audio soundfile reads, left out: "
             + ", ".join(planned.unreadable[:5]) + (" ..." if len(planned.unreadable) > 5 else ""))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DreamSoundError(f"cannot make OUT_DIR {out_dir}: {err}") from err
    results = Results(out_dir)
    outcome = Outcome(invalid=list(planned.invalid), unreadable=planned.unreadable, results=str(results.path))
    complete = results.complete(planned.jobs)
    todo = [job for job in planned.jobs if job.key not in complete]
    outcome.jobs, outcome.skipped = len(planned.jobs), len(planned.jobs) - len(todo)
    if outcome.skipped:
        note(f"{outcome.skipped} of {len(planned.jobs)} jobs already done (outputs verified): skipped")
    if not todo:
        return outcome
    started = time.perf_counter()
    commanded = {class_target(v) for v in variants.axes.get("target_class", ())} | {base.target_class}
    note(f"{len(todo)} jobs; " + (f"on the Dask cluster at {cluster}" if cluster else
         f"starting {workers or local_workers()} local worker(s), each loading the model once"))
    with Engine(workers, cluster) as engine:
        # Every worker loads the model at once, in parallel; one at a time, the last would start its first
        # job a model load (about 5 s here) after the first.
        # A worker that cannot load it says so at its first job (the job's error), as before.
        engine.client.run(warm, config.model, config.engine.threads, config.engine.device, on_error="return")
        todo, unknown = resolve_targets(engine, todo, config, commanded)
        for bad in unknown:
            note(f"skipped {bad}")
        outcome.invalid += unknown
        outcome.workers = engine.worker_count()
        _run(engine, todo, results, config, outcome, progress)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _run(
    engine: Engine, todo: list[Job], results: Results, config: Config, outcome: Outcome,
    progress: Callable[[Outcome, int], None] | None,
) -> None:
    from distributed import as_completed

    client = engine.client
    submitted = time.perf_counter()
    futures = {}
    for job in todo:  # in plan order: one length and layer after another
        future = client.submit(
            run_job, job, config.model, config.engine.threads, config.engine.device,
            key=f"dream-{job.key}", retries=1, pure=False,
        )
        futures[future] = job
    if progress:
        progress(outcome, len(todo))
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                record = future.result()
            except Exception as err:  # a job's failure is its result; the batch goes on
                record = job.record()
                record.update(status="failed", error=_failure(err))
            results.append(record)
            if outcome.first_result_s is None:
                outcome.first_result_s = round(time.perf_counter() - submitted, 3)
            outcome.run_seconds = round(time.perf_counter() - submitted, 3)
            if record["status"] == "ok":
                outcome.done += 1
            else:
                outcome.failed += 1
            if progress:
                progress(outcome, len(todo))
    except KeyboardInterrupt:
        outcome.interrupted = True
        client.cancel(list(futures))


def _failure(err: BaseException) -> str:
    if type(err).__name__ == "KilledWorker":
        return "the worker running this job died twice (killed, or out of memory); recorded as failed"
    return f"failed twice: {type(err).__name__}: {err}"
