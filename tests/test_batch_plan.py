"""``dreamsound batch`` without the model: the plan (folder, manifests, grid, names, checks) and the results manifest.

Real recordings cut from ../shared into the test's folder; two real processes appending to one manifest.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from instrument.batch.jobs import RESULTS_NAME, Variants, file_sha256, plan
from instrument.batch.results import Results
from instrument.dream.params import DreamParams
from instrument.errors import DreamSoundError
from instrument.settings import RenderSettings
from tests.conftest import SHARED, SPEECH_AND_CAT, WHISTLE, shared_file


def cut(source: Path, target: Path, seconds: float = 1.0) -> Path:
    data, rate = sf.read(str(shared_file(source)))
    target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(target), data[: int(seconds * rate)], rate)
    return target


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    cut(WHISTLE, folder / "whistle.wav")
    cut(SPEECH_AND_CAT, folder / "voices" / "speech.wav")
    cut(SHARED / "audio" / "pluck-melody.wav", folder / "voices" / "pluck.flac")
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_a_folder_over_the_grid_makes_twelve_outputs_per_input_each_named_for_what_it_is(corpus, tmp_path):
    out = tmp_path / "out"
    variants = Variants({"mode": ("deepdream", "filter_add"), "target_class": ("Dog", "Siren")}, (0, 1, 2))
    planned = plan(corpus, out, DreamParams(step=0.01), RenderSettings(), variants)  # a step the names show
    assert planned.invalid == [] and planned.unreadable == ["notes.txt"]
    assert len(planned.jobs) == 3 * 12
    names = {job.name for job in planned.jobs}
    assert len(names) == 36  # no two jobs write one file
    assert "voices/speech-deepdream-scores-Siren-20it-step0.01-seed2.wav" in names
    assert "voices/pluck-filter_add-scores-Dog-20it-step0.01-seed0.flac" in names  # the input's file type
    assert all(Path(job.output).is_relative_to(out.resolve()) for job in planned.jobs)
    assert len({job.key for job in planned.jobs}) == 36
    # grouped: one length and layer after another, so a worker's compiled functions are reused
    groups = [job.group for job in planned.jobs]
    assert groups == sorted(groups)


def test_out_dir_inside_the_source_folder_is_never_read_as_input(corpus):
    out = corpus / "dreamed"
    cut(WHISTLE, out / "whistle-deepdream-scores-auto-20it-step0.01-seed0.wav")  # an earlier batch's output
    planned = plan(corpus, out, DreamParams(), RenderSettings(), Variants())
    assert sorted(Path(job.input).name for job in planned.jobs) == ["pluck.flac", "speech.wav", "whistle.wav"]


def test_bad_manifest_rows_are_reported_with_their_line_numbers_and_the_others_planned(corpus, tmp_path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(
        "input,mode,target_class,iterations,seed,output\n"
        "clips/whistle.wav,deepdream,Dog,5,1,\n"  # line 2: fine
        "clips/whistle.wav,dreamdeep,,,,\n"  # line 3: no such mode
        "clips/missing.wav,,,,,\n"  # line 4: no such file
        "clips/voices/speech.wav,,,99999,,\n"  # line 5: too many iterations
        "clips/voices/speech.wav,,,,-3,\n"  # line 6: seed out of range
        "clips/voices/speech.wav,,,,,../escape.wav\n"  # line 7: outside OUT_DIR
        "clips/voices/speech.wav,,,,,../clips/whistle.wav\n"  # line 8: over an input (and outside)
        "clips/voices/pluck.flac,target,,,,\n"  # line 9: target mode without a target sound
        "clips/voices/speech.wav,filter,,,,speech-filter.wav\n"  # line 10: fine, named by the row
    )
    planned = plan(manifest, tmp_path / "out", DreamParams(), RenderSettings(), Variants())
    assert sorted(job.where for job in planned.jobs) == ["jobs.csv line 10", "jobs.csv line 2"]
    bad = {i.where: i.error for i in planned.invalid}
    assert sorted(bad) == [f"jobs.csv line {n}" for n in (3, 4, 5, 6, 7, 8, 9)]
    assert "dreamdeep" in bad["jobs.csv line 3"] and "deepdream" in bad["jobs.csv line 3"]  # names what is allowed
    assert "no such file" in bad["jobs.csv line 4"]
    assert "iterations" in bad["jobs.csv line 5"]
    assert "seed" in bad["jobs.csv line 6"]
    assert "under OUT_DIR" in bad["jobs.csv line 7"] and "under OUT_DIR" in bad["jobs.csv line 8"]
    assert "target sound" in bad["jobs.csv line 9"]
    row2 = next(job for job in planned.jobs if job.where == "jobs.csv line 2")
    assert (row2.params.mode, row2.params.target_class, row2.params.iterations, row2.render.seed) == (
        "deepdream", "Dog", 5, 1)


def test_an_output_named_over_an_input_is_refused(corpus):
    manifest = corpus / "jobs.jsonl"
    manifest.write_text(
        json.dumps({"input": "whistle.wav", "output": "whistle.wav"}) + "\n"
        + "{not json\n"
        + json.dumps({"input": "whistle.wav", "colour": "red"}) + "\n"
    )
    planned = plan(manifest, corpus, DreamParams(), RenderSettings(), Variants())  # OUT_DIR = the inputs' folder
    bad = {i.where: i.error for i in planned.invalid}
    assert "refusing to write" in bad["jobs.jsonl line 1"] and "reads" in bad["jobs.jsonl line 1"]
    assert "not JSON" in bad["jobs.jsonl line 2"]
    assert "unknown column 'colour'" in bad["jobs.jsonl line 3"] and "target_class" in bad["jobs.jsonl line 3"]
    assert planned.jobs == []


def test_a_row_naming_one_output_for_a_grid_is_reported(corpus, tmp_path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text("input,output\nclips/whistle.wav,one.wav\n")
    planned = plan(manifest, tmp_path / "out", DreamParams(), RenderSettings(), Variants({}, (0, 1)))
    assert planned.jobs == [] and "makes 2 jobs" in planned.invalid[0].error


def test_a_wrong_command_line_value_stops_before_any_work(cli, corpus, tmp_path):
    out = tmp_path / "out"
    code, _, err = cli("batch", str(corpus), str(out), "--mode", "deepdream,dreamdeep")
    assert code == 2 and "dreamdeep" in err and "filter_add" in err
    code, _, err = cli("batch", str(corpus), str(out), "--step", "0.1,lots")
    assert code == 2 and "'lots' must be a number" in err
    code, _, err = cli("batch", str(corpus), str(out), "--cluster", "ray://head:10001")
    assert code == 2 and "Ray is not supported yet" in err
    code, _, err = cli("batch", str(corpus), str(out), "--seeds", "0")
    assert code == 2 and "--seeds" in err
    code, _, err = cli("batch", str(corpus), str(out), "--seed", "1,-3")
    assert code == 2 and "render.seed -3 is out of range; allowed: 0 to 4294967295" in err
    code, _, err = cli("batch", str(corpus), str(out), "--target-sound", str(corpus / "nothing.wav"))
    assert code == 2 and "nothing.wav: no such file" in err
    assert not out.exists()  # nothing made


def _append_many(path: str, tag: str, count: int) -> None:
    results = Results(path)
    for i in range(count):
        results.append({"job": f"{tag}-{i}", "status": "ok", "pad": "x" * 3000})


def test_two_processes_appending_to_one_manifest_never_corrupt_it(tmp_path):
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_append_many, args=(str(tmp_path), tag, 300)) for tag in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = (tmp_path / RESULTS_NAME).read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line whole
    assert len(records) == 600
    for tag in "ab":
        assert [r["job"] for r in records if r["job"].startswith(tag)] == [f"{tag}-{i}" for i in range(300)]


def test_a_line_cut_short_by_a_kill_is_skipped_and_the_next_starts_fresh(tmp_path):
    results = Results(tmp_path)
    results.append({"job": "a", "status": "ok"})
    with open(results.path, "ab") as f:
        f.write(b'{"job": "b", "sta')  # killed mid-write
    results.append({"job": "c", "status": "ok"})
    assert [r["job"] for r in results.read()] == ["a", "c"]


def test_a_job_is_complete_only_with_its_output_present_and_its_hash_as_recorded(corpus, tmp_path):
    out = tmp_path / "out"
    jobs = plan(corpus / "whistle.wav", out, DreamParams(), RenderSettings(), Variants({}, (0, 1))).jobs
    out.mkdir()
    results = Results(out)
    for job in jobs:
        sf.write(job.output, np.zeros(1000, np.float32), 16000)
        results.append({**job.record(), "status": "ok", "sha256": file_sha256(job.output)})
    assert results.complete(jobs) == {job.key for job in jobs}
    sf.write(jobs[0].output, np.ones(1000, np.float32) * 0.1, 16000)  # changed since
    Path(jobs[1].output).unlink()  # gone
    assert results.complete(jobs) == set()


def test_an_unknown_source_is_one_clear_error(tmp_path):
    (tmp_path / "list.txt").write_text("whistle.wav\n")
    with pytest.raises(DreamSoundError, match=r"expected a folder of audio files, a manifest \(.csv, .jsonl\)"):
        plan(tmp_path / "list.txt", tmp_path / "out", DreamParams(), RenderSettings(), Variants())
    with pytest.raises(DreamSoundError, match="no audio file"):
        plan(tmp_path, tmp_path / "out", DreamParams(), RenderSettings(), Variants())
