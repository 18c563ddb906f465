"""The Max panel: valid patcher JSON, sound cords, only namespace addresses, the instrument's ports."""

from __future__ import annotations

import json
import re

import pytest
from oscecho import PATCHES, load_script

from instrument.osc import namespace as ns
from instrument.settings import OscSettings

MAXPAT = PATCHES / "dreamsound.maxpat"
REPLY_PATHS = (
    set(ns.BY_PATH) | {path for path, _, _ in ns.STATUS} | {ns.ERROR_PATH}
    | {"/dream/classes/count", "/dream/classes/match", "/dream/preset/save", "/dream/preset/load"}
)
SEND_PATHS = set(ns.BY_PATH) | set(ns.ACTION_PATHS)

# Inlets and outlets of the Max 8 objects (written out here, independently of build_maxpat.py).
UI_PORTS = {
    "flonum": (1, 2), "number": (1, 2), "slider": (1, 1), "toggle": (1, 1), "button": (1, 1), "umenu": (1, 3),
    "textedit": (1, 4), "message": (2, 1), "comment": (1, 0), "panel": (1, 0),
}
FIXED_PORTS = {
    "udpsend": (1, 0), "udpreceive": (1, 1), "prepend": (1, 1), "tosymbol": (1, 1), "loadbang": (1, 1),
    "print": (1, 0), "f": (2, 1), "i": (2, 1), "*": (2, 1), "delay": (2, 1), "metro": (2, 1),
}
SETTABLE = {"flonum", "number", "slider", "toggle", "umenu", "textedit"}


def expected_ports(box: dict) -> tuple[int, int]:
    if box["maxclass"] != "newobj":
        return UI_PORTS[box["maxclass"]]
    name, *args = box["text"].split()
    if name == "route":  # Max 8: one inlet per argument to change it, one outlet per match + reject
        return len(args) + 1, len(args) + 1
    if name in ("unpack", "t", "trigger"):
        return 1, len(args)
    return FIXED_PORTS[name]


@pytest.fixture(scope="module")
def patcher() -> dict:
    return json.loads(MAXPAT.read_text())["patcher"]


@pytest.fixture(scope="module")
def boxes(patcher: dict) -> dict[str, dict]:
    return {b["box"]["id"]: b["box"] for b in patcher["boxes"]}


def test_maxpat_is_patcher_json(patcher: dict) -> None:
    assert patcher["fileversion"] == 1
    assert patcher["appversion"]["major"] == 8
    assert len(patcher["rect"]) == 4
    ids = [b["box"]["id"] for b in patcher["boxes"]]
    assert len(ids) == len(set(ids)), "box ids are unique"
    for box in (b["box"] for b in patcher["boxes"]):
        assert len(box["patching_rect"]) == 4
        assert box["numoutlets"] == len(box.get("outlettype", [])), box["id"]


def test_every_box_has_the_inlets_and_outlets_of_its_object(boxes: dict[str, dict]) -> None:
    wrong = {i: (b.get("text", b["maxclass"]), (b["numinlets"], b["numoutlets"]), expected_ports(b))
             for i, b in boxes.items() if (b["numinlets"], b["numoutlets"]) != expected_ports(b)}
    assert wrong == {}


def test_every_cord_joins_existing_boxes_at_real_outlets_and_inlets(patcher: dict, boxes: dict[str, dict]) -> None:
    assert patcher["lines"]
    for line in patcher["lines"]:
        (source, outlet), (destination, inlet) = line["patchline"]["source"], line["patchline"]["destination"]
        assert source in boxes and destination in boxes, line
        assert 0 <= outlet < boxes[source]["numoutlets"], line
        assert 0 <= inlet < boxes[destination]["numinlets"], line


def _texts(boxes: dict[str, dict]) -> list[str]:
    return [b["text"] for b in boxes.values() if b["maxclass"] in ("newobj", "message") and "text" in b]


def test_every_dream_address_is_in_the_namespace(boxes: dict[str, dict]) -> None:
    used = {a for text in _texts(boxes) for a in re.findall(r"/dream[\w/]*", text)}
    assert used, "the panel uses /dream addresses"
    assert used - (SEND_PATHS | REPLY_PATHS) == set()


def test_the_panel_sends_every_address_and_shows_every_reply(boxes: dict[str, dict]) -> None:
    sent = {t.split()[1] for t in _texts(boxes) if t.startswith("prepend /dream")}
    sent |= {t for t in _texts(boxes) if t.startswith("/dream")}  # message boxes like /dream/get
    routed = {a for t in _texts(boxes) if t.startswith("route /dream") for a in t.split()[1:]}
    assert SEND_PATHS - sent == set()
    assert REPLY_PATHS - routed == set()


def test_ports_are_the_instrument_defaults(boxes: dict[str, dict]) -> None:
    settings = OscSettings()
    (udpsend,) = [t for t in _texts(boxes) if t.startswith("udpsend ")]
    (udpreceive,) = [t for t in _texts(boxes) if t.startswith("udpreceive ")]
    assert udpsend.split()[1:] == [settings.host, str(settings.port)]
    assert udpreceive.split()[1:] == [str(settings.feedback_port)]


def test_replies_only_set_widgets_so_nothing_loops(patcher: dict, boxes: dict[str, dict]) -> None:
    """A cord into a widget comes from a setter ([prepend set ...], [prepend append], [clear(): no output."""
    for line in patcher["lines"]:
        (source, _), (destination, _) = line["patchline"]["source"], line["patchline"]["destination"]
        if boxes[destination]["maxclass"] in SETTABLE:
            text = boxes[source].get("text", "")
            assert text.startswith(("prepend set", "prepend append")) or text == "clear", (text, destination)


def test_maxpat_is_what_build_maxpat_writes() -> None:
    script = load_script("build_maxpat")
    assert MAXPAT.read_text() == script.render_json(script.build()), "run: .venv/bin/python patches/build_maxpat.py"
