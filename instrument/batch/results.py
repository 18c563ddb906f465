"""The results manifest: ``OUT_DIR/batch-results.jsonl``, one JSON line per finished job.

Every line is appended whole: one ``write`` on a file opened ``O_APPEND``, under an exclusive
``flock`` of the file. Two batches writing into one folder (two commands, two machines on one
NFS/SMB share that honours locks) therefore never interleave their lines, and a batch killed at
any moment leaves at most one line cut short, at the end, which readers skip and the next append
starts after on a fresh line. Nothing is ever rewritten: a rerun appends.

A job is complete when a line says it ended ``ok``, its output file is present and the output's
SHA-256 is the one that line recorded: only then is it skipped by a rerun.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from instrument.batch.jobs import RESULTS_NAME, Job, file_sha256
from instrument.errors import DreamSoundError

try:
    import fcntl
except ImportError:  # Windows: appends of one write each are not interleaved by the OS there either
    fcntl = None


class Results:
    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / RESULTS_NAME

    def append(self, record: dict[str, Any]) -> None:
        """Append one whole line (one write, under the file's lock)."""
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as err:
            raise DreamSoundError(f"cannot write the results manifest {self.path}: {err}") from err
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # the last line was cut short by a kill: never glue onto it
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        """Every whole line, in order (a line cut short by a kill is skipped)."""
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as err:
            raise DreamSoundError(f"cannot read the results manifest {self.path}: {err}") from err
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def complete(self, jobs: list[Job]) -> set[str]:
        """The keys of ``jobs`` already done: last line ok, output present, its SHA-256 as recorded."""
        wanted = {job.key: job for job in jobs}
        recorded: dict[str, set[str]] = {}
        for record in self.read():
            if record.get("job") in wanted and record.get("status") == "ok" and record.get("sha256"):
                recorded.setdefault(record["job"], set()).add(record["sha256"])
        done = set()
        for key, hashes in recorded.items():
            output = Path(wanted[key].output)
            if output.is_file() and file_sha256(output) in hashes:
                done.add(key)
        return done
