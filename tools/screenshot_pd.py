"""Take ``patches/dreamsound-pd.png``: a real screenshot of the panel in Pd's GUI under Xvfb.

Needs the Debian packages puredata-gui, xvfb, imagemagick and xdotool. The panel
runs as ``[dreamsound]`` (no arguments: 127.0.0.1 9000, the documented set-up) in a
throw-away parent patch, connected to the real ``OscServer`` on port 9000 (real
``Controls`` at their defaults; a stand-in instrument supplies class names and a
status like a run at defaults). Besides the panel's own ``/dream/get`` it sends only
what leaves every parameter at its default: a class search (``classes bell``) and a
refused value (``threshold 1.5``), so the search and *last error* displays show
something. Port 9000 must be free (stop the instrument first):

    .venv/bin/python tools/screenshot_pd.py
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "patches"  # the panel and its picture
sys.path.insert(0, str(REPO))
OUT = HERE / "dreamsound-pd.png"
PORT = 9000  # the documented port: the panel's default, [dreamsound] with no arguments
CLASS_MAP = Path(os.environ.get("DREAMSOUND_SHARED", REPO.parent / "shared")) / "models" / "yamnet_class_map.csv"

PARENT = """#N canvas 0 0 {w} {h} 10;
#X declare -path {patches};
#X obj 10 {y_decl} declare -path {patches};
#X obj 10 10 dreamsound;
#X obj 10 {y_load} loadbang;
#X obj 10 {y_del} del 800;
#X msg 10 {y_msg} classes bell \\, threshold 1.5;
#X connect 2 0 3 0;
#X connect 3 0 4 0;
#X connect 4 0 1 0;
"""


class StandIn:
    """The parts of the instrument the OSC server asks for, without audio or a model."""

    def __init__(self) -> None:
        from instrument.live.controls import Controls

        self.controls = Controls()
        with CLASS_MAP.open() as f:
            self.names = [row["display_name"] for row in csv.DictReader(f)]

    def class_name(self, target: int | str) -> tuple[int, str]:
        if isinstance(target, int):
            return target, self.names[target]
        index = next(i for i, n in enumerate(self.names) if target.lower() in n.lower())
        return index, self.names[index]

    def search_classes(self, query: str) -> list[tuple[int, str]]:
        return [(i, n) for i, n in enumerate(self.names) if query.lower() in n.lower()]

    def capture_target(self, seconds: float) -> str:
        return "capture-1"

    def captured_names(self) -> set[str]:
        return set()

    def status(self) -> dict:
        return {
            "input_class": 0, "input_score": 0.81, "input_name": self.names[0],
            "output_class": 0, "output_score": 0.94, "output_name": self.names[0],
            # a run at the defaults (docs/latency.md, "Figures"): 0.62 s latency, ~1.5 iterations a hop
            "input_db": -18.2, "output_db": -12.5, "iterations_per_second": 37.0,
            "iterations_per_window": 1.55, "iterations_per_sample": 15.7, "xruns": 0, "latency": 0.62,
            "recording": False,
        }


def free_display() -> int:
    for number in range(60, 99):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display")


def wait_for(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def main() -> None:
    from instrument.osc.server import OscServer
    from instrument.settings import OscSettings

    for tool in ("Xvfb", "pd", "import", "xdotool", "convert"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (apt-get install puredata-gui xvfb imagemagick xdotool)")
    tmp = Path(tempfile.mkdtemp(prefix="dreamsound-shot-"))
    with socket.socket() as probe:  # a free UDP port number is as good as a free TCP one here
        probe.bind(("127.0.0.1", 0))
        feedback = probe.getsockname()[1]
    settings = OscSettings(port=PORT, feedback_port=feedback, presets_file=str(tmp / "presets.yaml"),
                           target_sound_dir=str(tmp), oscquery=False)
    server = OscServer(StandIn(), settings)
    try:
        server.start()
    except OSError as err:
        raise SystemExit(f"cannot listen on 127.0.0.1:{PORT} ({err}): stop the instrument, then run this") from err
    parent = tmp / "panel.pd"
    parent.write_text(
        PARENT.format(w=700, h=620, patches=HERE, y_decl=600, y_load=620, y_del=640, y_msg=660)
    )
    display = free_display()
    env = dict(os.environ, DISPLAY=f":{display}")
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1024x768x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pd = None
    try:
        wait_for(lambda: Path(f"/tmp/.X11-unix/X{display}").exists(), "Xvfb")
        pd = subprocess.Popen(["pd", "-nosound", "-noprefs", "-open", str(parent)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def window() -> str:
            found = subprocess.run(["xdotool", "search", "--name", "panel.pd"], env=env,
                                   capture_output=True, text=True).stdout.split()
            return found[0] if found else ""

        window_id = wait_for(window, "the Pd window")
        wait_for(lambda: server.counts["refused"] >= 1, "the panel's messages")  # the last one is refused
        time.sleep(1.0)  # let the GUI draw the replies
        raw = tmp / "raw.png"
        subprocess.run(["import", "-window", window_id, str(raw)], env=env, check=True)
        subprocess.run(["convert", str(raw), "-crop", "668x462+6+37", "+repage", "-strip",
                        "-colors", "64", str(OUT)], check=True)
        print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
    finally:
        if pd is not None:
            pd.terminate()
            pd.wait(timeout=10)
        xvfb.terminate()
        xvfb.wait(timeout=10)
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
