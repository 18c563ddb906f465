"""macOS and Windows, checked from Linux: the package source, text encodings, the weights without LiteRT,
and the wheel-resolution check (``tools/check_platforms.py``, run by ``make check-platforms``).

Nothing here runs on a real Mac or PC: the source is read with ``ast``, the pure-Python parts run
with ``sys.platform`` set to Windows' value and Python's warnings for implicit encodings turned
into errors, and the dependency set is resolved against the index for the other platforms' wheels.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import CLASS_MAP, OFFICIAL_H5, REPO, TFLITE, shared_file
from source_portability import scan_source, scan_tree


def _load_tool():
    spec = importlib.util.spec_from_file_location("check_platforms", REPO / "tools" / "check_platforms.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_platforms"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


check = _load_tool()


# --- the package source -----------------------------------------------------------------
def test_the_package_has_no_posix_only_call_and_opens_text_with_an_encoding() -> None:
    findings = [str(f) for f in scan_tree(REPO / "instrument")]
    assert findings == []


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("import fcntl", "POSIX-only module"),
        ("from termios import tcgetattr", "POSIX-only module"),
        ("import os\nos.fork()", "os.fork"),
        ("import os as _os\n_os.killpg(1, 2)", "os.killpg"),
        ("from os import setsid", "os.setsid"),
        ("import signal\nsignal.signal(signal.SIGHUP, print)", "signal.SIGHUP"),
        ("import signal\nsignal.alarm(1)", "signal.alarm"),
        ("import select\nselect.poll()", "select.poll"),
        ("import asyncio\nasyncio.get_event_loop().add_signal_handler(2, print)", "add_signal_handler"),
        ("import multiprocessing\nmultiprocessing.get_context('fork')", "start method 'fork'"),
        ("path = '/tmp/take.wav'", "/tmp"),
        ("text = open('/proc/self/status', encoding='ascii').read()", "/proc"),
        ("path = f'/tmp/{name}.wav'", "/tmp"),
        ("import os\nhome = os.environ['HOME']", "$HOME"),
        ("open(path)", "open() of a text file"),
        ("open(path, 'w')", "open() of a text file"),
        ("open(path, mode)", "mode cannot be read"),
        ("import io\nio.open(path, 'r')", "open() of a text file"),
        ("import os\nos.fdopen(fd, 'w')", "open() of a text file"),
        ("path.open()", "open() of a text file"),
        ("path.open('a')", "open() of a text file"),
        ("path.read_text()", "read_text() without encoding="),
        ("path.write_text(data)", "write_text() without encoding="),
        ("import tempfile\ntempfile.NamedTemporaryFile('w')", "text mode"),
        ("import subprocess\nsubprocess.run(cmd, text=True)", "text=True"),
    ],
)
def test_the_source_check_finds_each_kind_of_posix_only_code(source: str, words: str) -> None:
    findings = [str(f) for f in scan_source(source)]
    assert len(findings) == 1 and words in findings[0], findings


def test_the_source_check_leaves_portable_and_guarded_code_alone() -> None:
    source = textwrap.dedent(
        '''
        """Docstrings may say /tmp and /proc."""
        import os
        import signal
        import sys
        import tempfile
        import subprocess

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        name = signal.Signals(2).name
        open(path, "wb"); open(path, "rb", buffering=0); open(path, "r", encoding="utf-8")
        open(path, **options)
        path.open("ab" if resumed else "wb"); path.open(newline="", encoding="utf-8")
        path.read_text(encoding="utf-8"); path.write_text(text, "utf-8"); path.read_bytes()
        os.fdopen(fd, "w", encoding="utf-8"); tempfile.mkstemp(dir=folder); tempfile.NamedTemporaryFile()
        subprocess.run(cmd, text=True, encoding="utf-8"); tarfile.open(archive)
        address = "/dream/threshold"; cache = os.path.join(os.environ.get("XDG_CACHE_HOME", ""), "x")
        if sys.platform != "win32":
            signal.signal(signal.SIGHUP, handler)
            os.setsid()
        if hasattr(os, "sched_getaffinity"):
            cores = len(os.sched_getaffinity(0))
        try:
            import fcntl
        except ImportError:
            fcntl = None
        '''
    )
    assert [str(f) for f in scan_source(source)] == []


def test_text_files_are_written_and_read_with_an_encoding_as_windows_would_run_them(tmp_path: Path) -> None:
    """Config, presets, class map and the weights fetch (from a file:// mirror) with implicit encodings as errors.

    ``-X warn_default_encoding`` makes Python warn wherever a text file is opened without an
    encoding (on Windows that would be the ANSI code page); here each warning is an error.
    Paths and contents are not ASCII, and ``sys.platform`` is Windows' once everything is imported.
    """
    models = shared_file(OFFICIAL_H5).parent
    shared_file(CLASS_MAP)
    script = textwrap.dedent(
        """
        import io, shutil, sys, warnings
        from pathlib import Path
        from rich.console import Console
        from instrument.config import load_config
        from instrument.model.classes import ClassMap
        from instrument.model.weights.fetch import fetch
        from instrument.osc.presets import PresetStore
        from instrument.settings import OscSettings

        warnings.simplefilter("error", EncodingWarning)
        sys.platform = "win32"
        models, root = Path(sys.argv[1]), Path(sys.argv[2]) / "Músicas Ünïcode"
        root.mkdir()
        config = root / "séance.yaml"
        config.write_text("osc:\\n  presets_file: présets.yaml\\n", encoding="utf-8")
        settings = load_config(config).osc
        assert isinstance(settings, OscSettings) and settings.presets_file == "présets.yaml", settings
        store = PresetStore(root / settings.presets_file)
        store.save(3, {"threshold": 0.5, "target_sound": "chœur.wav"})
        assert store.load(3)["target_sound"] == "chœur.wav"
        assert len(ClassMap.from_csv(models / "yamnet_class_map.csv")) == 521
        mirror = root / "miroir"
        mirror.mkdir()
        shutil.copyfile(models / "yamnet-official-layout.h5", mirror / "yamnet.h5")
        shutil.copyfile(models / "yamnet_class_map.csv", mirror / "yamnet_class_map.csv")
        done = fetch(root / "cache", base_url=mirror.as_uri(), console=Console(file=io.StringIO()))
        assert (root / "cache" / "yamnet.h5.sha256").read_text(encoding="utf-8").endswith("  yamnet.h5\\n")
        print("ok", len(done))
        """
    )
    result = subprocess.run(
        [sys.executable, "-X", "warn_default_encoding", "-c", script, str(models), str(tmp_path)],
        capture_output=True, text=True, encoding="utf-8", cwd=REPO, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip() == "ok 2", result.stderr[-3000:]


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_lite_weights_load_through_tf_lite_where_litert_has_no_wheel(monkeypatch) -> None:
    """Intel Macs get no ai-edge-litert: the .tflite reader falls back to TensorFlow's interpreter, same weights."""
    from instrument.model.weights.tflite import read_tflite

    with_litert = read_tflite(shared_file(TFLITE))
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # as if not installed: import raises ImportError
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(ImportError):
        import ai_edge_litert.interpreter  # noqa: F401
    without = read_tflite(TFLITE)
    assert with_litert.keys() == without.keys()
    for key, (kernel, bias) in with_litert.items():
        np.testing.assert_array_equal(kernel, without[key][0], err_msg=key)
        np.testing.assert_array_equal(bias, without[key][1], err_msg=key)


# --- the wheel-resolution check -----------------------------------------------------------
def _env(tag: str, python: str = "3.11") -> dict[str, str]:
    platform = next(p for p in check.PLATFORMS if p.tag == tag)
    return check.target_environment(platform, python)


def _names(requirements: list[str]) -> set[str]:
    from packaging.requirements import Requirement

    return {Requirement(r).name for r in requirements}


def test_each_platform_gets_the_requirements_its_markers_allow() -> None:
    from packaging.markers import default_environment

    wanted = check.project_requirements()
    arm = _names(check.requirements_for(wanted, _env("macosx_12_0_arm64")))
    intel = _names(check.requirements_for(wanted, _env("macosx_10_15_x86_64")))
    windows = _names(check.requirements_for(wanted, _env("win_amd64", "3.12")))
    here = _names(check.requirements_for(wanted, dict(default_environment())))
    assert {"tensorflow", "ai-edge-litert", "tensorflow-metal"} <= arm
    assert "tensorflow" in intel and not {"ai-edge-litert", "tensorflow-metal"} & intel
    assert "ai-edge-litert" in windows and "tensorflow-metal" not in windows
    assert "ai-edge-litert" in here and "tensorflow-metal" not in here
    assert all(";" not in r for r in check.requirements_for(wanted, _env("win_amd64")))  # markers judged here


def test_dependencies_pip_judged_by_this_machine_are_found_missing() -> None:
    def item(name: str, requires: list[str], extras: list[str] | None = None) -> dict:
        return {"metadata": {"name": name, "version": "1", "requires_dist": requires}, "requested_extras": extras}

    report = {
        "install": [
            item("tqdm", ['colorama; platform_system == "Windows"']),
            item("rich", ["markdown-it-py>=2.2"]),
            item("markdown-it-py", ["mdurl~=0.1", 'linkify-it-py; extra == "linkify"']),
            item("app", ["markdown-it-py[linkify]"], extras=[]),
        ]
    }
    assert check.missing_dependencies(report, _env("win_amd64")) == ["colorama", "linkify-it-py", "mdurl~=0.1"]
    assert check.missing_dependencies(report, _env("macosx_12_0_arm64")) == ["linkify-it-py", "mdurl~=0.1"]


def test_an_unreachable_index_is_a_clear_skip_not_a_pass() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "check_platforms.py")],
        capture_output=True, text=True, encoding="utf-8", timeout=120,
        env={**_plain_env(), "PIP_INDEX_URL": "http://127.0.0.1:9/simple"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("check-platforms: SKIPPED: the package index http://127.0.0.1:9/simple")
    assert "no wheel was checked" in result.stdout


def test_a_dependency_without_a_wheel_fails_naming_it(tmp_path: Path) -> None:
    reason = check.index_unreachable(check.pip_settings())
    if reason:
        pytest.skip(f"cannot show a resolution failure: {reason}")
    intel = next(p for p in check.PLATFORMS if p.tag == "macosx_10_15_x86_64")
    outcome = check.resolve(intel, "3.11", ["ai-edge-litert>=1.2,<3"], tmp_path)
    assert not outcome.ok and not outcome.network
    assert any("ai-edge-litert" in line for line in outcome.errors), outcome.errors
    assert "FAILED" in outcome.line() and "ai-edge-litert" in outcome.line()


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PIP_INDEX")}


@pytest.mark.parametrize(
    ("platform", "words"),
    [("darwin", 'pip install -e ".[metal]"'), ("win32", "no GPU build for Windows since 2.11: run under WSL2")],
)
def test_asking_for_a_gpu_that_is_not_there_says_where_one_comes_from(monkeypatch, platform: str, words: str) -> None:
    from instrument.errors import DreamSoundError
    from instrument.model.runtime import choose_device

    monkeypatch.setattr(sys, "platform", platform)
    # tensorflow-metal's device is listed as TensorFlow lists every GPU: auto takes it.
    assert choose_device("auto", ["/device:GPU:0"]) == "/GPU:0"
    assert choose_device("auto", []) == "/CPU:0"  # Windows: TensorFlow lists no GPU
    with pytest.raises(
        DreamSoundError, match=r"engine.device is 'gpu' but TensorFlow sees no GPU \(.*; use 'auto'"
    ) as err:
        choose_device("gpu", [])
    assert words in str(err.value)
