"""`make test-material` (tools/fetch_test_material.py) against a local HTTP server.

The server (http.server in a thread) serves copies of the shared files made inside the test's own
temporary folder; the script downloads them as it would from the public sources, checks each
SHA-256, and must leave nothing behind when a hash is wrong or a file is missing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import REPO, SHARED, shared_file

spec = importlib.util.spec_from_file_location("fetch_test_material", REPO / "tools" / "fetch_test_material.py")
material = importlib.util.module_from_spec(spec)
sys.modules["fetch_test_material"] = material  # dataclasses look their module up there
spec.loader.exec_module(material)


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on the test's output
        pass


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server over a folder holding copies of the downloadable shared files."""
    root = tmp_path / "mirror"
    for item in material.DOWNLOADED:
        (root / item.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_file(SHARED / item.path), root / item.path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_file_is_downloaded_checked_and_kept_on_a_second_run(mirror, tmp_path, capsys):
    _, url = mirror
    dest = tmp_path / "shared"
    assert material.main(["--dest", str(dest), "--mirror", url, "--no-derived"]) == 0
    for item in material.DOWNLOADED:
        assert _sha(dest / item.path) == item.sha256
    assert not list(dest.rglob("*.part"))
    first = capsys.readouterr().out
    assert first.count("SHA-256 checked") == len(material.DOWNLOADED), first
    assert material.main(["--dest", str(dest), "--mirror", url, "--no-derived"]) == 0
    assert capsys.readouterr().out.count("already there, SHA-256 checked") == len(material.DOWNLOADED)


def test_a_wrong_hash_is_a_clear_failure_and_leaves_no_file(mirror, tmp_path, capsys):
    root, url = mirror
    whistle = root / "audio" / "whistle.wav"
    data = whistle.read_bytes()
    whistle.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit changed on the server
    (root / "models" / "yamnet_class_map.csv").unlink()  # and one file the server does not have
    dest = tmp_path / "shared"
    assert material.main(["--dest", str(dest), "--mirror", url, "--no-derived"]) == 1
    out = capsys.readouterr()
    assert re.search(r"FAILED  audio/whistle\.wav: http://\S+/audio/whistle\.wav: SHA-256 [0-9a-f]{64},"
                     r" expected 90c597fd\S+; not saved", out.out), out.out
    assert "FAILED  models/yamnet_class_map.csv:" in out.out and "HTTP 404" in out.out, out.out
    assert "missing or wrong: models/yamnet_class_map.csv, audio/whistle.wav" in out.err
    assert not (dest / "audio" / "whistle.wav").exists() and not list(dest.rglob("*.part"))
    assert _sha(dest / "audio" / "speech-and-cat.wav") == material.DOWNLOADED[3].sha256  # the others arrived


def test_a_wrong_file_already_there_is_named_and_left_alone(mirror, tmp_path, capsys):
    _, url = mirror
    dest = tmp_path / "shared"
    (dest / "audio").mkdir(parents=True)
    (dest / "audio" / "whistle.wav").write_bytes(b"my own whistle")
    assert material.main(["--dest", str(dest), "--mirror", url, "--no-derived"]) == 1
    assert "WRONG   audio/whistle.wav" in capsys.readouterr().out
    assert (dest / "audio" / "whistle.wav").read_bytes() == b"my own whistle"


def test_the_hashes_are_those_of_the_shared_readme():
    readme = SHARED / "README.md"
    if not readme.is_file():
        pytest.skip(f"{readme} is not there (material fetched with make test-material has no README)")
    listed = dict(re.findall(r"^\| `([\w/.-]+)` \|.*\| `([0-9a-f]{64})` \|$", readme.read_text(), re.MULTILINE))
    assert listed == {item.path: item.sha256 for item in material.MATERIAL}


@pytest.mark.slow
def test_the_make_target_builds_the_derived_files_and_says_what_it_could_not_check(mirror, tmp_path):
    """The real command line, derived files included: the official-layout h5 from the lite weights."""
    _, url = mirror
    dest = tmp_path / "shared"
    result = subprocess.run([sys.executable, str(REPO / "tools" / "fetch_test_material.py"), "--dest", str(dest),
                             "--mirror", url], capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    h5_line = next(line for line in out.splitlines() if "yamnet-official-layout.h5" in line)
    assert "SHA-256 checked" in h5_line or "its weights equal the lite model's (checked)" in h5_line, out
    from instrument.model.weights.h5 import read_h5
    from instrument.model.weights.tflite import read_tflite

    built, lite = read_h5(dest / "models" / "yamnet-official-layout.h5"), read_tflite(dest / "models/yamnet.tflite")
    assert built.keys() == lite.keys()
    pluck_line = next(line for line in out.splitlines() if "pluck-melody.wav" in line)
    if shutil.which("sox"):
        assert pluck_line.startswith("ok      built audio/pluck-melody.wav with sox"), out
    else:
        assert "sox is not installed" in pluck_line, out
    assert not [line for line in (out + result.stderr).splitlines() if re.match(r"[IWE]\d{4} ", line)], out
