"""Adding a live control is one ``setting(...)``: in a copy of the package with one more field on ``LiveSettings``
(and no other edit), the new control is in the controls and their snapshot, answers on OSC over UDP, is listed
with its range and value by OSCQuery over HTTP, and has its widget in both panels."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANCHOR = "    status_interval: float = setting("  # the new field goes before this one, after freeze
NEW_SETTING = (
    '    wobble: float = setting(0.25, kind="float", low=0.0, high=2.0, osc="wobble", live=True,\n'
    '                            description="a control added by a test")\n'
)

CHECK = r"""
import json, socket, time, urllib.request
from types import SimpleNamespace

import instrument
from instrument.live.controls import Controls
from instrument.osc import namespace as ns
from instrument.osc.service import OscService
from instrument.osc.wire import message
from instrument.settings import LiveSettings, OscSettings
from pythonosc.osc_packet import OscPacket

found = {"package": instrument.__file__}
controls = Controls(live=LiveSettings(wobble=0.5))
found["default"] = Controls().get("wobble")
found["from_settings"] = controls.get("wobble")
found["parameter"] = "wobble" in Controls.parameter_names()

service = OscService(SimpleNamespace(controls=controls, classes=None),
                     OscSettings(port=0, oscquery_port=0, status_rate=0))
service.start()
try:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    sock.sendto(message("/dream/wobble", [1.5]), service.server.address)
    reply = None
    while reply is None:
        for timed in OscPacket(sock.recv(65536)).messages:
            if timed.message.address == "/dream/wobble":
                reply = list(timed.message.params)
    found["osc_reply"] = reply
    found["snapshot"] = controls.snapshot().wobble
    found["as_dict"] = controls.snapshot().as_dict()["wobble"]
    url = f"http://127.0.0.1:{service.discovery.port}/dream/wobble"
    found["oscquery"] = json.loads(urllib.request.urlopen(url, timeout=5).read())
finally:
    service.stop()

import patches.build_maxpat as max_panel
import patches.build_pd as pd_panel
import patches.panel_controls as panel

found["sliders"] = list(panel.SLIDERS)
found["pd"] = "$0-wobble-out" in pd_panel.build() and " wobble " in pd_panel.build()
found["max"] = "/dream/wobble" in max_panel.render_json(max_panel.build())
print(json.dumps(found))
"""


def test_one_setting_on_its_field_makes_a_live_control_everywhere(tmp_path: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pd", "*.maxpat", "*.png", "*.md")
    shutil.copytree(REPO / "instrument", tmp_path / "instrument", ignore=ignore)
    shutil.copytree(REPO / "patches", tmp_path / "patches", ignore=ignore)
    settings = tmp_path / "instrument" / "settings.py"
    text = settings.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1, "the test's anchor in LiveSettings moved"
    settings.write_text(text.replace(ANCHOR, NEW_SETTING + ANCHOR), encoding="utf-8")

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", CHECK], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout.strip().splitlines()[-1])

    assert found["package"].startswith(str(tmp_path))  # the copy with the new setting, not this checkout
    assert found["default"] == 0.25 and found["from_settings"] == 0.5 and found["parameter"]
    assert found["osc_reply"] == [1.5] and found["snapshot"] == 1.5 and found["as_dict"] == 1.5
    node = found["oscquery"]
    assert node["TYPE"] == "f" and node["VALUE"] == [1.5] and node["RANGE"] == [{"MIN": 0.0, "MAX": 2.0}]
    assert node["DESCRIPTION"] == "a control added by a test"
    assert "wobble" in found["sliders"] and found["pd"] and found["max"]
