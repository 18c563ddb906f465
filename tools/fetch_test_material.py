"""Get the test material (``../shared``) from its public sources: ``make test-material``.

Every file the tests read, downloaded from where ``../shared/README.md`` says it comes from and
checked against the SHA-256 given there, into ``$DREAMSOUND_SHARED`` or ``../shared`` beside
the checkout (``--dest`` to choose). Derived files are rebuilt here:

- ``models/yamnet-official-layout.h5``: the lite weights written in the official Keras layout
  (``tests/official_yamnet.py``). Its weights are checked to equal the lite model's; its bytes
  carry the Keras build's metadata, so its SHA-256 matches only on the build that made the shared
  copy, and the script says which it is.
- ``audio/pluck-melody.wav``: made with sox from the recipe in the README (sox's pluck is seeded
  noise, so the SHA-256 is that of one run); needs ``sox`` on the PATH, skipped with a note if not.

A download goes to ``NAME.part`` and is renamed into place only once its hash is right: a failed
or wrong download leaves nothing that looks complete. A file already there with the right hash is
kept; one with a wrong hash is reported and left alone (delete it to fetch it again).
``--mirror URL`` fetches ``URL/<path>`` instead (a local copy, or the test's HTTP server).
Exit 0: every file is there and checked; 1: something is missing or wrong (each named).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from instrument.model.weights.fetch import sha256_of  # the one file hash of the package (no TensorFlow)

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0


@dataclass(frozen=True)
class Url:
    url: str
    member: str | None = None  # the file inside a .tar.gz download (Kaggle serves archives)


@dataclass(frozen=True)
class Material:
    path: str  # relative to the shared folder
    sha256: str  # from ../shared/README.md
    sources: tuple[Url, ...] = ()  # downloaded; empty: derived (built here)


_DREAMSOUND = "https://raw.githubusercontent.com/fdch/dreamsound/a26f6d76d7cf5b89ec72ca68602763a845c9d18b/audio"
DOWNLOADED = (
    Material("models/yamnet.tflite", "469be6a3421cbc52cf97e9f2f966cba984198e8e7af9854d68b3e3ebb1e04194", (
        Url("https://tfhub.dev/google/lite-model/yamnet/classification/tflite/1?lite-format=tflite"),
        Url("https://www.kaggle.com/api/v1/models/google/yamnet/tfLite/classification-tflite/1/download",
            member="1.tflite"),
    )),
    Material("models/yamnet_class_map.csv", "cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2", (
        Url("https://raw.githubusercontent.com/tensorflow/models/master/research/audioset/yamnet/"
            "yamnet_class_map.csv"),
    )),
    Material("audio/whistle.wav", "90c597fd02fe2be898d396efbe3fc0e9323c1900ad40a172b7faa40ac39eb5cd",
             (Url(f"{_DREAMSOUND}/original.wav"),)),
    Material("audio/speech-and-cat.wav", "d37c0f6bed2f5a3a460e9cbae20227d5a3525b5ac01f5faddab92525e993edb6",
             (Url(f"{_DREAMSOUND}/cat.wav"),)),
)
OFFICIAL_H5 = Material("models/yamnet-official-layout.h5",
                       "2f55e2b8f7011943f4180176514ae96a2a4ee8afa0b694ea1ea0a10d79964672")
PLUCK = Material("audio/pluck-melody.wav", "99f0c3f0cc0f2f408dd566fa51d57aaa00966e932540f5aaf5c62d834aca7271")
MATERIAL = (*DOWNLOADED, OFFICIAL_H5, PLUCK)

PLUCK_NOTES = "E3 G3 B3 E4 D4 B3 G3 A3 C4 E4 A4 G4 E4 C4 D3 F#3 A3 D4 C#4 A3 E3 G3 B3 E4".split()


def default_dest() -> Path:
    return Path(os.environ.get("DREAMSOUND_SHARED") or REPO.parent / "shared")


class FetchError(Exception):
    """One file could not be fetched or checked (the message says which and why)."""


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "dreamsound-test-material"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as err:
        raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        raise FetchError(f"{url}: {getattr(err, 'reason', err)}") from err


def _unpack(data: bytes, member: str, url: str) -> bytes:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            extracted = archive.extractfile(member)
            if extracted is None:
                raise KeyError(member)
            return extracted.read()
    except (tarfile.TarError, KeyError) as err:
        raise FetchError(f"{url}: no {member} in the archive ({err})") from err


def _place(data: bytes, target: Path, sha256: str, origin: str) -> None:
    """Write ``data`` to ``target`` only if its hash is right; nothing is left otherwise."""
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise FetchError(f"{origin}: SHA-256 {got}, expected {sha256}; not saved")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        part.write_bytes(data)
        os.chmod(part, 0o444)  # material is read-only: a test that writes over it fails loudly
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def fetch(material: Material, dest: Path, mirror: str | None = None) -> str:
    """Download one file into ``dest`` (trying its sources in turn); returns a line for the log."""
    target = dest / material.path
    urls = [Url(f"{mirror.rstrip('/')}/{material.path}")] if mirror else list(material.sources)
    problems = []
    for source in urls:
        try:
            data = _get(source.url)
            if source.member:
                data = _unpack(data, source.member, source.url)
            _place(data, target, material.sha256, source.url)
            return f"fetched {material.path} from {source.url} (SHA-256 checked)"
        except FetchError as err:
            problems.append(str(err))
    raise FetchError(f"{material.path}: " + "; ".join(problems))


def build_official_h5(dest: Path) -> str:
    """Write the lite weights in the official Keras layout; check they read back as the lite ones."""
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO))
    import numpy as np

    from instrument.model.native_log import quiet_start_up

    with quiet_start_up():
        from official_yamnet import official_body

        from instrument.model.weights import OFFICIAL_BN_EPSILON
        from instrument.model.weights.h5 import read_h5
        from instrument.model.weights.tflite import read_tflite

        lite = read_tflite(dest / "models" / "yamnet.tflite")
        model = official_body()
        for layer in model.layers:
            top, _, rest = layer.name.partition("/")
            if layer.name == "dense":
                layer.set_weights(list(lite["logits"]))
            elif rest in ("conv", "depthwise_conv", "pointwise_conv"):
                layer.set_weights([lite[f"{top}/{rest.replace('_conv', '')}"][0]])
            elif rest.endswith("/bn"):  # identity plus bias: the kernel above already holds the folded scale
                bias = lite[f"{top}/{rest.removesuffix('/bn').replace('_conv', '')}"][1]
                n = bias.shape[0]
                layer.set_weights([bias, np.zeros(n, np.float32), np.full(n, 1 - OFFICIAL_BN_EPSILON, np.float32)])
        target = dest / OFFICIAL_H5.path
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            built = Path(scratch) / target.name
            model.save_weights(str(built))
            back = read_h5(built)
            for key, (kernel, bias) in lite.items():
                if not (np.allclose(back[key][0], kernel, atol=1e-6) and np.allclose(back[key][1], bias, atol=1e-6)):
                    raise FetchError(f"{OFFICIAL_H5.path}: rebuilt weights of {key} differ from the lite model's")
            os.chmod(built, 0o444)
            os.replace(built, target)
    got = sha256_of(target)
    if got == OFFICIAL_H5.sha256:
        return f"built {OFFICIAL_H5.path} from yamnet.tflite (SHA-256 checked)"
    return (f"built {OFFICIAL_H5.path} from yamnet.tflite: its weights equal the lite model's (checked), its"
            f" SHA-256 {got[:12]}… differs from the README's {OFFICIAL_H5.sha256[:12]}…: HDF5 metadata of"
            " another Keras build; the tests read its weights, not its bytes")


def build_pluck(dest: Path) -> str:
    """The plucked-string melody with sox, from the README's recipe."""
    sox = shutil.which("sox")
    if sox is None:
        return f"skipped {PLUCK.path}: sox is not installed (apt-get install sox, brew install sox)"
    target = dest / PLUCK.path
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        notes = []
        for i, note in enumerate(PLUCK_NOTES):
            path = Path(scratch) / f"{i:02d}.wav"
            subprocess.run([sox, "-n", "-r", "44100", "-b", "32", str(path), "synth", "0.5", "pluck", note,
                            "gain", "-3"], check=True, capture_output=True)
            notes.append(str(path))
        built = Path(scratch) / target.name
        subprocess.run([sox, *notes, "-c", "2", "-b", "32", str(built), "reverb", "40", "50", "80", "gain", "-n", "-14",
                        "remix", "1", "2"], check=True, capture_output=True)
        os.chmod(built, 0o444)
        os.replace(built, target)
    got = sha256_of(target)
    if got == PLUCK.sha256:
        return f"built {PLUCK.path} with sox (SHA-256 checked)"
    return (f"built {PLUCK.path} with sox: SHA-256 {got[:12]}… differs from the README's {PLUCK.sha256[:12]}…"
            " (sox's pluck starts from random noise, so each run differs); same recipe, length and format")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=None, help="the shared folder (default: $DREAMSOUND_SHARED"
                        " or ../shared beside the checkout)")
    parser.add_argument("--mirror", metavar="URL", help="fetch URL/<path> instead of the public sources")
    parser.add_argument("--no-derived", action="store_true", help="download only; build nothing")
    args = parser.parse_args(argv)
    dest = (args.dest or default_dest()).resolve()
    print(f"test material into {dest}")
    failed = []
    for material in DOWNLOADED:
        target = dest / material.path
        if target.exists():
            got = sha256_of(target)
            if got == material.sha256:
                print(f"ok      {material.path} (already there, SHA-256 checked)")
            else:
                failed.append(material.path)
                print(f"WRONG   {material.path}: SHA-256 {got}, expected {material.sha256}; left alone:"
                      " delete it and run again")
            continue
        try:
            print(f"ok      {fetch(material, dest, args.mirror)}")
        except FetchError as err:
            failed.append(material.path)
            print(f"FAILED  {err}")
    if not args.no_derived:
        for material, build in ((OFFICIAL_H5, build_official_h5), (PLUCK, build_pluck)):
            target = dest / material.path
            if target.exists():
                same = sha256_of(target) == material.sha256
                print(f"ok      {material.path} (already there{', SHA-256 checked' if same else ''})")
                continue
            if material is OFFICIAL_H5 and "models/yamnet.tflite" in failed:
                failed.append(material.path)
                print(f"FAILED  {material.path}: needs models/yamnet.tflite")
                continue
            try:
                line = build(dest)
                print(f"{'note   ' if line.startswith('skipped') else 'ok     '} {line}")
            except (FetchError, subprocess.CalledProcessError, OSError) as err:
                failed.append(material.path)
                print(f"FAILED  {material.path}: {err}")
    if failed:
        print(f"missing or wrong: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
