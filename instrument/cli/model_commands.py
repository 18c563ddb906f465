"""``classify``, ``layers``, ``classes`` and ``model fetch``: looking at and getting the model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from instrument.cli.common import config_from, load_dreamer, note
from instrument.errors import DreamSoundError

PATCH_HOP = 7680  # 0.48 s at 16 kHz, the official YAMNet patch hop


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("classify", help="top YAMNet classes of an audio file, per window and overall")
    p.add_argument("audio", metavar="AUDIO", help="any file soundfile reads (any rate, mono or stereo)")
    p.add_argument("--top", type=int, default=5, metavar="N", help="classes to show (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=classify)

    p = commands.add_parser("layers", help="every layer (tap) and its output shape for one window")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=layers)

    p = commands.add_parser("classes", help="list the 521 classes, or those matching QUERY")
    p.add_argument("query", nargs="?", metavar="QUERY", help="part of a class name (case-insensitive)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=classes)

    model = commands.add_parser("model", help="manage the YAMNet weights")
    sub = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    p = sub.add_parser("fetch", help="download the official yamnet.h5 and class map into the cache")
    p.add_argument("--base-url", metavar="URL", help="download NAME from URL/NAME instead of the official locations")
    p.add_argument("--dest", metavar="DIR", help="cache directory (default: model.cache_dir or ~/.cache/dreamsound)")
    p.add_argument("--sha256", action="append", default=[], metavar="NAME=HASH", help="expected checksum of a file")
    p.set_defaults(handler=fetch)


def _windows(path: str) -> tuple[np.ndarray, list[float], bool]:
    from instrument.audiofile import read_audio, resample, to_mono
    from instrument.model.layout import SAMPLE_RATE, WINDOW_SAMPLES  # no TensorFlow before load_dreamer

    data, rate = read_audio(path)
    signal = resample(to_mono(data), rate, SAMPLE_RATE)
    padded = signal.size < WINDOW_SAMPLES
    if padded:
        signal = np.pad(signal, (0, WINDOW_SAMPLES - signal.size))
    starts = list(range(0, signal.size - WINDOW_SAMPLES + 1, PATCH_HOP))
    windows = np.stack([signal[s : s + WINDOW_SAMPLES] for s in starts])
    return windows, [s / SAMPLE_RATE for s in starts], padded


def classify(args: argparse.Namespace) -> int:
    config = config_from(args)
    windows, starts, padded = _windows(args.audio)
    if padded:
        note(f"{args.audio} is shorter than one window (0.975 s); padded with silence")
    dreamer = load_dreamer(config)
    scores = dreamer.scores(windows)
    report = {
        "windows": [
            {"start_s": round(start, 3), "top": dreamer.top(row, args.top)}
            for start, row in zip(starts, scores, strict=True)
        ],
        "overall": dreamer.top(scores.mean(axis=0), args.top),
    }
    if args.json:
        print(json.dumps(report))
        return 0
    for window in report["windows"]:
        tops = ", ".join(f"{t['name']} {t['score']:.2f}" for t in window["top"])
        print(f"{window['start_s']:7.2f} s  {tops}")
    print("overall:")
    for t in report["overall"]:
        print(f"  {t['index']:3d}  {t['name']:<40s} {t['score']:.3f}")
    return 0


def layers(args: argparse.Namespace) -> int:
    dreamer = load_dreamer(config_from(args))  # first: it imports TensorFlow the instrument's way
    from instrument.model.network import tap_shapes

    shapes = tap_shapes(dreamer.model)
    if args.json:
        print(json.dumps({name: list(shape) for name, shape in shapes.items()}))
        return 0
    for name, shape in shapes.items():
        print(f"{name:<18s} {' x '.join(map(str, shape))}")
    return 0


def classes(args: argparse.Namespace) -> int:
    dreamer = load_dreamer(config_from(args))
    found = dreamer.classes.search(args.query) if args.query else dreamer.classes.classes
    if args.query and not found:
        raise DreamSoundError(f"no class matches {args.query!r}")
    if args.json:
        print(json.dumps([{"index": c.index, "mid": c.mid, "name": c.name} for c in found]))
        return 0
    for c in found:
        print(f"{c.index:3d}  {c.mid:<12s} {c.name}")
    return 0


def _validate_download(name: str, path: Path) -> None:
    from instrument.model.classes import ClassMap
    from instrument.model.weights.fetch import CLASS_MAP_FILE, WEIGHTS_FILE

    if name == WEIGHTS_FILE:
        from instrument.model.weights.h5 import read_h5

        read_h5(path)
    elif name == CLASS_MAP_FILE:
        if len(ClassMap.from_csv(path)) != 521:
            raise DreamSoundError(f"{name}: expected 521 classes")


def fetch(args: argparse.Namespace) -> int:
    from instrument.model.weights.fetch import default_cache_dir
    from instrument.model.weights.fetch import fetch as download

    config = config_from(args)
    checksums = {}
    for item in args.sha256:
        name, sep, value = item.partition("=")
        if not sep or len(value) != 64:
            raise DreamSoundError(f"--sha256 {item!r}: expected NAME=64-hex-digit-hash")
        checksums[name] = value
    dest = Path(args.dest or config.model.cache_dir or default_cache_dir())
    paths = download(dest, args.base_url, checksums, validate=_validate_download)
    for path in paths:
        print(path)
    return 0
