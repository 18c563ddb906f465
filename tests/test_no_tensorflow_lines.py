"""No line of TensorFlow's reaches the terminal from an offline command, short of TF_CPP_MIN_LOG_LEVEL=0.

Each command runs as the user runs it, in its own process, with the real weights and recordings; its
standard output and error together are searched for any absl/TensorFlow log line, not only the notices
``native_log`` knows (so a new notice fails here too). With ``TF_CPP_MIN_LOG_LEVEL=0`` the same search
finds lines: the test can fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CLASS_MAP, REPO, TFLITE, WHISTLE, shared_file
from test_replay import dry_signal, start_line, write_take

# An absl log line (I0000 00:00:1796040891.084802   20257 port.cc:153] ...), absl's own preamble, TFLite's.
TF_LINE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+\s+\d+ [\w./-]+:\d+\]|WARNING: All log messages before absl"
    r"|INFO: Created TensorFlow Lite|To enable the following instructions)",
    re.MULTILINE,
)

pytestmark = pytest.mark.slow


def dreamsound(*args: str, level: str | None = None, weights: Path | None = None, cwd: Path = REPO) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the user's default: unset
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    env["DREAMSOUND_YAMNET"] = str(weights if weights is not None else shared_file(TFLITE))
    shared_file(CLASS_MAP)
    result = subprocess.run([sys.executable, "-m", "instrument.cli.main", *args], env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=300)
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def tf_lines(output: str) -> list[str]:
    return [m.group(0) for m in TF_LINE.finditer(output)]


def test_layers_and_classify_print_no_tensorflow_line():
    out = dreamsound("layers")
    assert out.startswith("exit 0") and "layer14" in out and not tf_lines(out), out
    out = dreamsound("classify", str(shared_file(WHISTLE)), "--top", "1")
    assert out.startswith("exit 0") and "overall:" in out and not tf_lines(out), out


def test_the_no_weights_error_is_the_only_line(tmp_path):
    out = dreamsound("layers", weights=tmp_path / "yamnet.tflite")
    assert out.startswith("exit 2") and "no YAMNet weights could be loaded" in out and not tf_lines(out), out


def test_render_and_replay_print_no_tensorflow_line_through_their_first_compiled_step(tmp_path):
    for mode in ("deepdream", "filter"):
        out = dreamsound("render", str(shared_file(WHISTLE)), str(tmp_path / f"{mode}.wav"), "--mode", mode,
                         "--iterations", "2")
        assert out.startswith("exit 0") and not tf_lines(out), out
    take = write_take(tmp_path, dry_signal(2.0), [start_line(mode="deepdream")])
    out = dreamsound("replay", str(take), str(tmp_path / "replayed.wav"), "--iterations", "2")
    assert out.startswith("exit 0") and not tf_lines(out), out


def test_with_tf_cpp_min_log_level_0_tensorflow_is_heard():
    out = dreamsound("layers", level="0")
    assert out.startswith("exit 0") and tf_lines(out), out


PTY_SCRIPT = """
import os, sys
import instrument
from instrument.model.native_log import quiet_start_up
with quiet_start_up() as filt:
    print(filt is not None, sys.stderr.isatty(), os.isatty(2), flush=True)
    print("python on the terminal", file=sys.stderr)
"""


def test_within_the_quiet_scope_python_still_writes_to_the_terminal_so_progress_bars_draw():
    """Only the descriptor (C++'s writes) goes through the filter; sys.stderr stays the terminal (a pty here)."""
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    try:
        result = subprocess.run([sys.executable, "-c", PTY_SCRIPT], stderr=follower, stdout=subprocess.PIPE,
                                text=True, env=env, cwd=REPO, timeout=60)
        os.close(follower)
        follower = -1
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the pty's other end is closed: everything has been read
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert result.returncode == 0 and result.stdout.split() == ["True", "True", "False"], result.stdout
    assert b"python on the terminal" in terminal
