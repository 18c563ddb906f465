"""TensorFlow's start-up chatter is kept off the terminal while the model loads; every other byte passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from instrument.model.native_log import LineFilter, is_noise

REPO = Path(__file__).resolve().parent.parent

# As TensorFlow 2.21 printed them in a CI run (AVX2 host) and here (AVX-512 host).
CHATTER = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796040891.084802   20257 port.cc:153] oneDNN custom operations are on. You may see slightly"
    b" different numerical results due to floating-point round-off errors from different computation orders."
    b" To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
    b"I0000 00:00:1796040891.087761   20257 cudart_stub.cc:31] Could not find cuda drivers on your machine,"
    b" GPU will not be used.",
    b"E0000 00:00:1796040894.295993   20257 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error:"
    b" Failed call to cuInit: UNKNOWN ERROR (303)",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    b"E0000 00:00:1796040896.714122   20257 util.cc:131] oneDNN supports DT_BOOL only on platforms with AVX-512."
    b" Falling back to the default Eigen-based implementation if present.",
]
KEPT = [
    b"E0000 00:00:1796040896.714122   20257 op_kernel.cc:1857] OP_REQUIRES failed at conv_ops.cc:1: OOM",
    b"W0000 00:00:1796040896.714122   20257 port.cc:153] something new TensorFlow says",
    b"dreamsound: dream engine ready (model 4.0 s, first compile 2.2 s)",
    b"Traceback (most recent call last):",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU. And more.",
]


def test_exactly_the_start_up_chatter_is_noise() -> None:
    assert all(is_noise(line) for line in CHATTER)
    assert not any(is_noise(line) for line in KEPT)


def test_the_filter_drops_whole_noise_lines_and_forwards_the_rest_in_order() -> None:
    lines = [CHATTER[0], KEPT[2], CHATTER[1], KEPT[0], CHATTER[3], KEPT[1]]
    stream = b"".join(line + b"\n" for line in lines)
    filt = LineFilter()
    out = b"".join(filt.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)) + filt.finish()
    assert out == KEPT[2] + b"\n" + KEPT[0] + b"\n" + KEPT[1] + b"\n"
    assert filt.dropped == 3


def test_a_partial_line_passes_at_once_unless_it_may_become_chatter() -> None:
    filt = LineFilter()
    assert filt.feed(b"render  40%|####    |\r") == b"render  40%|####    |\r"  # a progress bar redraws
    assert filt.feed(b"I0000 00:00:17960") == b""  # may become a notice: held until its line ends
    assert filt.feed(CHATTER[1][len(b"I0000 00:00:17960") :] + b"\nafter") == b"after"
    assert filt.feed(b"INFO: Created TensorFlow Lite XNN") == b""
    assert filt.finish() == b"INFO: Created TensorFlow Lite XNN"  # never completed: not a notice, kept


SCRIPT = """
import os, sys
import instrument
from instrument.model.native_log import quiet_start_up
with quiet_start_up():
    import tensorflow as tf
    tf.config.list_logical_devices()
    tf.reduce_sum(tf.cast(tf.ones([4]) > 0.5, tf.float32))  # a first run
    print("python says", file=sys.stderr)
    os.write(2, b"E0000 00:00:1.5 1 real.cc:7] a real error\\n")
os.write(2, b"after the block\\n")
"""


def run_script(level: str) -> str:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=level, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_real_tensorflow_start_up_is_quiet_and_everything_else_reaches_the_terminal() -> None:
    loud = run_script("0")  # the user asked for TensorFlow's info lines: nothing is filtered
    assert "oneDNN custom operations are on" in loud or "Could not find cuda drivers" in loud, loud
    quiet = run_script("2")
    lines = quiet.splitlines()
    assert not any(is_noise(line.encode()) for line in lines), quiet
    assert "python says" in lines and "E0000 00:00:1.5 1 real.cc:7] a real error" in lines, quiet
    assert lines[-1] == "after the block", quiet
