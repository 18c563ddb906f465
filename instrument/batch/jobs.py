"""What a batch is to do: the jobs, read from a folder or a manifest and expanded over the variants grid.

Everything is checked here, before any work starts, with the settings' own checks (``DreamParams``,
``RenderSettings``: ``instrument.spec``): a wrong value on the command line stops the command; a wrong
row of a manifest is reported with its line number and the other rows still run. The target classes are
resolved against the model's class map later, on a worker (``instrument.batch.runner``), since the
class names come with the weights.

Outputs go under ``OUT_DIR``, named after what they are (``take-filter_add-scores-Dog-20it-step0.01-seed0.wav``),
never outside it and never over an input. Each job has a key: the SHA-256 of its input's bytes, every
parameter, the seed and the output name; a rerun finds its finished jobs by it (``instrument.batch.results``).
No TensorFlow here: the driver plans without it.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile as sf

from instrument.audiofile import check_output
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.settings import RenderSettings
from instrument.spec import coerce, specs

# The dream settings a job may vary (a grid axis on the command line, a column of a manifest).
GRID_FIELDS = ("mode", "layer", "target_class", "target_sound", "iterations", "threshold", "step", "flip")
COLUMNS = ("input", *DreamParams.field_names(), "seed", "output")
MANIFEST_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
RESULTS_NAME = "batch-results.jsonl"
SAMPLE_RATE = 16000  # YAMNet's; the length jobs are grouped by (instrument.model.frontend, without TensorFlow)


@dataclass(frozen=True)
class Variants:
    """The grid every input is expanded over: field -> values (an axis each), and the seeds."""

    axes: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)

    def count(self) -> int:
        n = len(self.seeds)
        for values in self.axes.values():
            n *= len(values)
        return n


@dataclass(frozen=True)
class Job:
    """One input dreamed with one set of parameters and one seed into one output."""

    key: str
    input: str  # absolute path (a shared filesystem on a cluster)
    output: str  # absolute path, under OUT_DIR
    name: str  # output relative to OUT_DIR
    params: DreamParams
    render: RenderSettings  # layout and seed
    samples: int  # length at 16 kHz: jobs of one length and layer reuse their compiled functions
    where: str = ""  # "manifest.csv line 4" for a manifest row

    @property
    def group(self) -> tuple:
        p = self.params
        return (self.samples, p.layer, p.mode, p.flip, p.filter_fft, p.filter_hop)

    def record(self) -> dict[str, Any]:
        """The job's part of its results line: input, output, every parameter, seed, layout."""
        render = dataclasses.asdict(self.render)
        return {
            "job": self.key, "input": self.input, "output": self.output, "name": self.name,
            "params": dataclasses.asdict(self.params), "seed": render.pop("seed"), "layout": render,
            **({"row": self.where} if self.where else {}),
        }


@dataclass(frozen=True)
class Invalid:
    """A row (or file) that makes no job, and why."""

    where: str
    error: str

    def __str__(self) -> str:
        return f"{self.where}: {self.error}"


@dataclass
class Plan:
    jobs: list[Job]
    invalid: list[Invalid]
    unreadable: list[str]  # files of a folder that soundfile does not read (not audio): skipped


@dataclass(frozen=True)
class _Row:
    where: str
    base: Path  # relative paths of the row are relative to this folder
    values: dict[str, Any]
    stem: str = ""  # output name's stem for a folder file (its path under the folder, without suffix)


def parse_list(field: str, texts: list[str] | None) -> tuple[Any, ...]:
    """A command-line axis: repeated options and comma-separated values, each coerced to the field's type.

    Commas always separate, so a class whose name has one ("Domestic animals, pets") is given by its index.
    """
    if not texts:
        return ()
    spec = specs(DreamParams)[field] if field != "seed" else specs(RenderSettings)["seed"]
    values = []
    for text in texts:
        for piece in str(text).split(","):
            piece = piece.strip()
            if not piece:
                raise DreamSoundError(f"--{field.replace('_', '-')} {text!r}: an empty value between commas")
            value = coerce(field, spec, piece)
            if value not in values:
                values.append(value)
    return tuple(values)


def check_variants(base: DreamParams, render: RenderSettings, variants: Variants) -> None:
    """Each command-line value checked alone, now, by the settings' own checks (combinations are checked per job)."""
    for field, values in variants.axes.items():
        for value in values:
            if field == "target_sound":
                _check_sound(Path(value))
                continue
            if field == "mode" and value == "target":
                if not (variants.axes.get("target_sound") or base.target_sound):
                    base.replace(mode="target", target_sound=None)  # its own message: it needs a target sound
                continue  # a target sound given: checked with its combination
            base.replace(**{field: value})
    for seed in variants.seeds:
        dataclasses.replace(render, seed=seed)


def plan(
    source: str | Path, out_dir: str | Path, base: DreamParams, render: RenderSettings, variants: Variants,
    model_key: dict[str, Any] | None = None,
) -> Plan:
    """The jobs of ``source`` (a folder, a manifest or one audio file) expanded over ``variants``."""
    source, out_dir = Path(source), Path(out_dir).resolve()
    rows, unreadable = _rows(source, out_dir)
    jobs: list[Job] = []
    invalid: list[Invalid] = []
    inputs = {Path(r.values["input"]).resolve() if Path(r.values["input"]).is_absolute()
              else (r.base / r.values["input"]).resolve() for r in rows if isinstance(r.values.get("input"), str)}
    protected = inputs | ({source.resolve()} if source.is_file() else set())
    taken: dict[Path, str] = {}
    hashes: dict[Path, str] = {}
    for row in rows:
        try:
            made = _jobs_of(row, out_dir, base, render, variants, protected, hashes, model_key or {})
            for job in made:
                path = Path(job.output)
                if path in taken:
                    raise DreamSoundError(f"output {job.name} is also written by {taken[path]}; give an output name")
            for job in made:
                taken[Path(job.output)] = row.where
        except DreamSoundError as err:
            invalid.append(Invalid(row.where, str(err)))
            continue
        jobs += made
    jobs.sort(key=lambda j: (*j.group, j.input, j.name))  # one length and layer after another
    return Plan(jobs, invalid, unreadable)


def _rows(source: Path, out_dir: Path) -> tuple[list[_Row], list[str]]:
    if source.is_dir():
        return _folder_rows(source, out_dir)
    if not source.is_file():
        raise DreamSoundError(f"SOURCE {source}: no such folder or file")
    kind = MANIFEST_SUFFIXES.get(source.suffix.lower())
    if kind == "csv":
        return _csv_rows(source), []
    if kind == "jsonl":
        return _jsonl_rows(source), []
    if _is_audio(source):
        return [_Row(str(source), source.parent, {"input": str(source.resolve())}, source.stem)], []
    raise DreamSoundError(
        f"SOURCE {source}: expected a folder of audio files, a manifest (.csv, .jsonl) or an audio file"
    )


def _folder_rows(folder: Path, out_dir: Path) -> tuple[list[_Row], list[str]]:
    """Every file soundfile reads under ``folder`` (recursively, hidden ones aside), except under OUT_DIR."""
    rows, unreadable = [], []
    root = folder.resolve()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.resolve().is_relative_to(out_dir):
            continue  # a batch's own outputs are never its inputs
        if not _is_audio(path):
            unreadable.append(str(relative))
            continue
        rows.append(_Row(str(relative), root, {"input": str(path)}, str(relative.with_suffix(""))))
    if not rows:
        raise DreamSoundError(f"SOURCE {folder}: no audio file that soundfile reads in this folder")
    return rows, unreadable


def _check_columns(columns: list[str], where: str = "") -> None:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise DreamSoundError(
            f"{where}unknown column {', '.join(map(repr, unknown))}; allowed: {', '.join(COLUMNS)}"
        )


def _csv_rows(source: Path) -> list[_Row]:
    try:
        handle = source.open(newline="", encoding="utf-8-sig")
    except OSError as err:
        raise DreamSoundError(f"cannot read manifest {source}: {err}") from err
    with handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        if "input" not in header:
            raise DreamSoundError(f"manifest {source} line 1: the header needs an 'input' column (columns: "
                                  f"{', '.join(COLUMNS)})")
        _check_columns(header, f"manifest {source} line 1: ")
        reader.fieldnames = header
        rows = []
        for record in reader:
            values = {k: v.strip() for k, v in record.items() if k and isinstance(v, str) and v.strip()}
            if values:
                rows.append(_Row(f"{source.name} line {reader.line_num}", source.parent.resolve(), values))
        return rows


def _jsonl_rows(source: Path) -> list[_Row]:
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DreamSoundError(f"cannot read manifest {source}: {err}") from err
    rows = []
    for number, line in enumerate(lines, 1):
        where = f"{source.name} line {number}"
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except json.JSONDecodeError as err:
            rows.append(_Row(where, source.parent.resolve(), {"_error": f"not JSON: {err.msg}"}))
            continue
        if not isinstance(values, dict):
            rows.append(_Row(where, source.parent.resolve(), {"_error": "expected a JSON object per line"}))
            continue
        values = {k: v for k, v in values.items() if v is not None and v != ""}
        rows.append(_Row(where, source.parent.resolve(), values))
    return rows


def _is_audio(path: Path) -> bool:
    try:
        return sf.info(str(path)).frames > 0
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError):
        return False


def _check_sound(path: Path) -> None:
    if not path.is_file():
        raise DreamSoundError(f"target sound {path}: no such file")
    if not _is_audio(path):
        raise DreamSoundError(f"target sound {path}: not an audio file soundfile reads (or empty)")


def _jobs_of(
    row: _Row, out_dir: Path, base: DreamParams, render: RenderSettings, variants: Variants,
    protected: set[Path], hashes: dict[Path, str], model_key: dict[str, Any],
) -> list[Job]:
    values = dict(row.values)
    if "_error" in values:
        raise DreamSoundError(values["_error"])
    _check_columns(list(values))
    text = values.pop("input", None)
    if not isinstance(text, str) or not text.strip():
        raise DreamSoundError("no input (the 'input' column names the audio file)")
    source = Path(text) if Path(text).is_absolute() else row.base / text
    source = source.resolve()
    if not source.is_file():
        raise DreamSoundError(f"input {text}: no such file")
    try:
        info = sf.info(str(source))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as err:
        raise DreamSoundError(f"input {text}: cannot read audio file: {err}") from None
    if info.frames == 0:
        raise DreamSoundError(f"input {text}: empty (0 samples)")
    output_name = values.pop("output", None)
    fixed: dict[str, Any] = {}
    declared = specs(DreamParams)
    for field, value in values.items():
        if field == "seed":
            continue
        fixed[field] = coerce(field, declared[field], value)
    if isinstance(fixed.get("target_sound"), str):
        sound = Path(fixed["target_sound"])
        fixed["target_sound"] = str(sound if sound.is_absolute() else (row.base / sound).resolve())
    seeds = variants.seeds
    if "seed" in values:
        seeds = (coerce("seed", specs(RenderSettings)["seed"], values["seed"]),)
    axes = {field: vals for field, vals in variants.axes.items() if field not in fixed}
    combos = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())] or [{}]
    if output_name is not None and len(combos) * len(seeds) > 1:
        raise DreamSoundError(
            f"output {output_name!r} names one file but this row makes {len(combos) * len(seeds)} jobs"
            " (the variants grid): leave the output name out"
        )
    if source not in hashes:
        hashes[source] = file_sha256(source)
    jobs = []
    for combo, seed in itertools.product(combos, seeds):
        params = base.replace(**fixed, **combo)
        if params.target_sound:
            _check_sound(Path(params.target_sound))
        settings = dataclasses.replace(render, seed=seed)
        name = str(output_name) if output_name is not None else auto_name(
            row.stem or _stem_for(source, row.base), source, params, seed)
        output = (out_dir / name).resolve()
        if Path(name).is_absolute() or not output.is_relative_to(out_dir) or output == out_dir:
            raise DreamSoundError(f"output {name!r} must be a file name under OUT_DIR ({out_dir})")
        if output.name == RESULTS_NAME:
            raise DreamSoundError(f"output {name!r} would write over the results manifest")
        check_output(output, [*protected, params.target_sound])  # also through links: render's own check
        if output.suffix.lower().lstrip(".") not in _writable():
            raise DreamSoundError(f"output {name!r}: unknown audio file extension; use e.g. .wav, .flac, .ogg")
        key = job_key(hashes[source], params, settings, name, model_key)
        jobs.append(Job(key, str(source), str(output), name, params, settings,
                        round(info.frames * SAMPLE_RATE / info.samplerate), row.where))
    return jobs


def _stem_for(source: Path, base: Path) -> str:
    """A manifest's input: its path under the manifest's folder when it is inside, else its name."""
    return str(source.relative_to(base).with_suffix("")) if source.is_relative_to(base) else source.stem


def _writable() -> set[str]:
    return {k.lower() for k in sf.available_formats()}


_UNSAFE = re.compile(r"[^A-Za-z0-9_.+=]+")


def _safe(text: object) -> str:
    return _UNSAFE.sub("_", str(text)).strip("_") or "_"


def auto_name(stem: str, source: Path, params: DreamParams, seed: int) -> str:
    """``STEM-MODE-LAYER-CLASS-Nit-stepS-seedK[-flip][-to-SOUND][-thT...].EXT``: what the output is."""
    target = "auto" if params.target_class is None else _safe(params.target_class)
    parts = [params.mode, _safe(params.layer), target, f"{params.iterations}it", f"step{params.step:g}",
             f"seed{seed}"]
    if params.flip:
        parts.append("flip")
    if params.target_sound:
        parts.append("to-" + _safe(Path(params.target_sound).stem))
    defaults = DreamParams()
    for field, short in (("threshold", "th"), ("power", "pow"), ("filter_fft", "fft"), ("filter_hop", "hop")):
        if getattr(params, field) != getattr(defaults, field):
            parts.append(f"{short}{getattr(params, field):g}")
    suffix = source.suffix.lower() if source.suffix.lower().lstrip(".") in _writable() else ".wav"
    where = Path(stem)
    return (where.parent / ("-".join([_safe(where.name), *parts]) + suffix)).as_posix()


def job_key(input_sha256: str, params: DreamParams, render: RenderSettings, name: str,
            model_key: dict[str, Any]) -> str:
    """What makes a job this job: its input's bytes, every parameter, seed and layout, the output name, the model."""
    described = {"input_sha256": input_sha256, "params": dataclasses.asdict(params),
                 "render": dataclasses.asdict(render), "name": name, "model": model_key}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:32]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
