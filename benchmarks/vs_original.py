"""The whole ``dreamsound render`` command against the original DreamSound package's 10-step job, same file.

    python -m benchmarks.vs_original --original-venv DIR --original-dir DIR [--json] [--rounds N] [--file F]

Both are timed from the shell's point of view (a fresh process each: interpreter, TensorFlow's import,
the model, compiling, the dream, writing the output), alternating, ``--rounds`` times; the medians are
compared. Ours: ``dreamsound render F OUT --iterations 10 --seed 0`` at its defaults otherwise. The
original: its ``DreamSound([F])()`` at the package's defaults (10 steps, its deepdream-like
``output_type 0``, step 0.2, 22.05 kHz, the last layer, ``save`` on: three WAVs and a PNG), run by
``ORIGINAL_JOB`` below in ``--original-dir``.

Setting the original up (it is not installable as published on Python 3.11 / TensorFlow 2.21 alone):

- ``python3.11 -m venv DIR && DIR/bin/pip install dreamsound==0.1.6.3 soundfile tf_keras==2.21.*``
  (its dependencies from PyPI; ``tf_keras`` because YAMNet's Keras code predates Keras 3, run with
  ``TF_USE_LEGACY_KERAS=1``);
- in ``--original-dir``: ``yamnet.py``, ``params.py``, ``features.py`` from tensorflow/models
  ``research/audioset/yamnet`` (the package would download them from GitHub at import),
  ``yamnet_class_map.csv`` and ``yamnet.h5`` (= ``../shared/models/yamnet-official-layout.h5``);
- one shim in the job: librosa 0.10+ takes ``melspectrogram``'s signal as a keyword only, and the
  package's plot step calls it positionally (a ``TypeError`` at step 10 without it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DREAMSOUND_SHARED", REPO.parent / "shared"))

ORIGINAL_JOB = '''
import os, sys
import librosa
import dreamsound.dreamsound as package
# librosa >= 0.10: keyword-only signal; the package (written for 0.8) passes it positionally
package.librosa_mel = lambda y, **kw: librosa.feature.melspectrogram(y=y, **kw)
os.makedirs("audio", exist_ok=True)
os.makedirs("image", exist_ok=True)
package.DreamSound([sys.argv[1]])()
'''


def timed(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original-venv", type=Path, required=True, help="the venv holding dreamsound 0.1.6.3")
    parser.add_argument("--original-dir", type=Path, required=True, help="folder with YAMNet's files (see the doc)")
    parser.add_argument("--file", type=Path, default=SHARED / "audio" / "whistle.wav")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    missing = [n for n in ("yamnet.py", "params.py", "features.py", "yamnet_class_map.csv", "yamnet.h5")
               if not (args.original_dir / n).is_file()]
    if missing:
        raise SystemExit(f"--original-dir {args.original_dir} lacks {', '.join(missing)} (see the doc)")
    job = args.original_dir / "original_job.py"
    job.write_text(ORIGINAL_JOB, encoding="utf-8")
    source = args.file.resolve()
    out = Path(tempfile.mkdtemp(prefix="vs-original-")) / "ours.wav"
    ours_env = {**os.environ, "DREAMSOUND_YAMNET": os.environ.get(
        "DREAMSOUND_YAMNET", str(SHARED / "models" / "yamnet.tflite"))}
    theirs_env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    ours_cmd = [str(Path(sys.executable).parent / "dreamsound"), "render", str(source), str(out),
                "--iterations", "10", "--seed", "0"]
    theirs_cmd = [str(args.original_venv / "bin" / "python"), str(job), str(source)]
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(timed(ours_cmd, REPO, ours_env))
        theirs.append(timed(theirs_cmd, args.original_dir, theirs_env))
    from benchmarks.dream_speed import host

    report = {
        "machine": {**host(), "load_average": os.getloadavg()},
        "file": source.name, "rounds": args.rounds,
        "ours_command": " ".join(ours_cmd[1:]), "original_job": "DreamSound([file])() at its defaults",
        "ours_s": [round(t, 2) for t in ours], "original_s": [round(t, 2) for t in theirs],
        "ours_median_s": round(statistics.median(ours), 2),
        "original_median_s": round(statistics.median(theirs), 2),
        "speedup": round(statistics.median(theirs) / statistics.median(ours), 2),
    }
    report["target_3x_met"] = report["speedup"] >= 3
    print(json.dumps(report, indent=2) if args.json else
          f"{source.name}: ours {report['ours_median_s']} s, original {report['original_median_s']} s"
          f" (median of {args.rounds}, whole commands): x{report['speedup']}")


if __name__ == "__main__":
    main()
