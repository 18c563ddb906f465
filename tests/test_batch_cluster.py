"""``dreamsound batch`` for real: a Dask cluster of 2 worker processes on 127.0.0.1 started here, the real
YAMNet weights, clips cut from ../shared's recordings.

Same outputs, bit for bit, on the cluster, on the command's own local workers and from ``render``; a worker
SIGKILLed mid-job has its job run again elsewhere; a batch SIGKILLed mid-way resumes; bad rows are reported
with their line numbers while the others run; nothing is written outside OUT_DIR.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from instrument.batch.jobs import RESULTS_NAME, Variants, file_sha256
from instrument.batch.runner import run_batch
from instrument.config import load_config
from tests.conftest import REPO, SHARED, WHISTLE, shared_file

pytestmark = pytest.mark.slow
# Short and few, so that model loads dominate less on a busy 2-core machine: 2 clips (one stereo) x 2 modes.
GRID = ["--mode", "deepdream,filter_add", "--target-class", "Dog", "--iterations", "1"]
VARIANTS = Variants({"mode": ("deepdream", "filter_add"), "target_class": ("Dog",), "iterations": (1,)}, (0,))
JOBS = 4


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("batch")


@pytest.fixture(scope="module")
def clips(root: Path) -> Path:
    folder = root / "clips"
    folder.mkdir()
    for source, start in ((WHISTLE, 0.5), (SHARED / "audio" / "pluck-melody.wav", 2.0)):
        data, rate = sf.read(str(shared_file(source)))
        sf.write(str(folder / source.name), data[int(start * rate): int((start + 1.0) * rate)], rate)
    return folder


@pytest.fixture(scope="module")
def cluster():
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        started = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
    yield started
    started.close()


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / RESULTS_NAME).read_text().splitlines()]


def hashes(out: Path) -> dict[str, str]:
    return {r["name"]: r["sha256"] for r in manifest(out) if r["status"] == "ok"}


def files_outside(root: Path, *inside: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and not any(p.is_relative_to(d) for d in inside)}


@pytest.fixture(scope="module")
def on_cluster(root, clips, cluster) -> Path:
    """The grid run on the test's cluster: 2 clips x 2 modes."""
    before = files_outside(root)
    out = root / "on-cluster"
    config = load_config(None)
    outcome = run_batch(clips, out, config.dream, config.render, VARIANTS, config, cluster=cluster.scheduler_address)
    assert (outcome.done, outcome.failed, outcome.invalid) == (JOBS, 0, [])
    assert files_outside(root, out) == before  # nothing written outside OUT_DIR
    return out


def test_the_cluster_the_local_workers_and_render_write_the_same_files_bit_for_bit(
    root, clips, on_cluster, run_cli, dreamer,
):
    reference = hashes(on_cluster)
    assert len(reference) == JOBS
    record = manifest(on_cluster)[0]
    assert record["before"] and record["after"] and record["target"]["name"] == "Dog"  # as render --json
    assert {"per_window", "overall_before", "overall_after", "target"} <= set(record["summary"])

    before = files_outside(root, on_cluster)
    local = root / "local"
    done = run_cli("batch", str(clips), str(local), *GRID, "--workers", "1", "--json")  # 2: the benchmark
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["done"], report["failed"], report["workers"]) == (JOBS, 0, 1)
    assert hashes(local) == reference
    assert files_outside(root, on_cluster, local) == before

    from instrument.dream.params import DreamParams
    from instrument.dream.renderfile import render_file

    config = load_config(None)
    first = manifest(on_cluster)[0]
    job = root / "render-of-one.wav"
    render_file(dreamer, first["input"], job, DreamParams(**first["params"]), seed=first["seed"],
                layout=config.render.layout())
    assert file_sha256(job) == first["sha256"]  # this process: one TensorFlow thread (conftest), as the workers


def test_a_worker_killed_mid_job_has_its_job_run_again_elsewhere(root, clips, cluster, on_cluster):
    from distributed import Client

    out = root / "killed-worker"
    config = load_config(None)
    variants = Variants(VARIANTS.axes, (0, 1))  # 8 jobs: those of seed 0 are on_cluster's
    finished = {}
    batch = threading.Thread(target=lambda: finished.setdefault("outcome", run_batch(
        clips, out, config.dream, config.render, variants, config, cluster=cluster.scheduler_address)))
    batch.start()
    with Client(cluster.scheduler_address, timeout="20s") as client:
        deadline = time.monotonic() + 120
        busy = {}
        while not busy and time.monotonic() < deadline:
            busy = {w: keys for w, keys in client.processing().items() if any(k.startswith("dream-") for k in keys)}
            time.sleep(0.05)
        assert busy, "no worker took a job"
        worker, keys = next(iter(busy.items()))
        pid = client.run(os.getpid, workers=[worker])[worker]
        os.kill(pid, signal.SIGKILL)
    batch.join(300)
    outcome = finished["outcome"]
    assert (outcome.done, outcome.failed) == (2 * JOBS, 0)
    records = manifest(out)
    killed = [r for r in records if f"dream-{r['job']}" in keys]
    assert killed and all(not r["worker"].endswith(f":{pid}") for r in killed)  # done by another process
    assert {n: h for n, h in hashes(out).items() if "seed0" in n} == hashes(on_cluster)


def test_a_batch_killed_midway_resumes_where_it_stopped(root, clips, on_cluster):
    out = root / "resumed"
    command = [sys.executable, "-m", "instrument.cli.main", "batch", str(clips), str(out), *GRID, "--workers", "1"]
    batch = subprocess.Popen(command, cwd=REPO, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and batch.poll() is None:
        if (out / RESULTS_NAME).is_file() and len((out / RESULTS_NAME).read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    os.killpg(batch.pid, signal.SIGKILL)  # the driver and its workers, at once
    batch.wait(30)
    recorded = len(hashes(out))
    assert 2 <= recorded < JOBS, "the batch ended before it could be killed mid-way"

    again = subprocess.run([*command, "--json"], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["skipped"], report["done"], report["failed"]) == (recorded, JOBS - recorded, 0)
    assert hashes(out) == hashes(on_cluster)
    third = subprocess.run([*command, "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert json.loads(third.stdout)["skipped"] == JOBS and "already done" in third.stderr


def test_bad_rows_are_reported_with_their_lines_and_the_others_run(root, clips, cluster, cli):
    rows = root / "rows.csv"
    rows.write_text(
        "input,mode,target_class,iterations\n"
        f"{clips / WHISTLE.name},deepdream,Dog,1\n"
        f"{clips / WHISTLE.name},filter_add,Zzzqx,1\n"  # line 3: a class the model does not know
        f"{clips / 'pluck-melody.wav'},nope,Dog,1\n"  # line 4: no such mode
    )
    out = root / "rows"
    code, stdout, err = cli("batch", str(rows), str(out), "--cluster", cluster.scheduler_address, "--json")
    report = json.loads(stdout)
    assert code == 1 and (report["done"], report["failed"]) == (1, 0)
    assert {i["where"] for i in report["invalid"]} == {"rows.csv line 3", "rows.csv line 4"}
    assert "rows.csv line 3: unknown class 'Zzzqx'" in err and "rows.csv line 4: mode 'nope'" in err
    assert [r["row"] for r in manifest(out)] == ["rows.csv line 2"]


def test_a_job_whose_worker_dies_twice_is_recorded_failed_and_the_batch_goes_on(root, clips, cluster):
    from distributed import Client

    out = root / "died-twice"
    config = load_config(None)
    variants = Variants(VARIANTS.axes, (5, 6))  # 8 jobs not done before (new seeds)
    finished = {}
    batch = threading.Thread(target=lambda: finished.setdefault("outcome", run_batch(
        clips, out, config.dream, config.render, variants, config, cluster=cluster.scheduler_address)))
    batch.start()
    kills, victim, dead = 0, None, set()
    with Client(cluster.scheduler_address, timeout="20s") as client:
        deadline = time.monotonic() + 240
        while kills < 2 and time.monotonic() < deadline and batch.is_alive():
            for worker, keys in client.processing().items():
                running = [k for k in keys if k.startswith("dream-")]
                if worker in dead or not running or (victim is not None and victim not in running):
                    continue
                victim = victim or running[0]
                try:
                    pid = client.run(os.getpid, workers=[worker])[worker]
                except Exception:  # the worker went in the meantime: look again
                    break
                os.kill(pid, signal.SIGKILL)  # the victim, running or queued there, is counted against it
                kills += 1
                dead.add(worker)  # a restarted worker comes back at a new address
                break
            time.sleep(0.01)
    batch.join(300)
    assert kills == 2, "the job was not seen running twice"
    outcome = finished["outcome"]
    records = {f"dream-{r['job']}": r for r in manifest(out)}
    assert len(records) == 8 and outcome.done + outcome.failed == 8  # every job has its line: the batch went on
    assert records[victim]["status"] == "failed" and "died twice" in records[victim]["error"]
    assert outcome.done >= 6  # a death counts against the jobs its worker held (at most 2 each): the others ran
