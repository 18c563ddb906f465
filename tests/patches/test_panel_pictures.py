"""The Max picture's values come from the real OSC server, through the patch's own receiving objects.

``tools/render_maxpat.py`` passes the real ``OscServer``'s answers (real ``Controls`` at their defaults)
through the panel's ``[route]``/``[unpack]``/``[prepend set]`` boxes: each parameter's widgets must then
show its default, the status its values, and the refused message the error; a reply that reached a
wrong widget, or none, fails here (and would show in the picture).
"""

from __future__ import annotations

import json

import pytest
from oscecho import PATCHES, load_script

from instrument.live.controls import Controls
from instrument.osc import namespace as ns

TOOLS = PATCHES.parent / "tools"
WIDGETS = {"flonum", "number", "slider", "toggle", "umenu", "textedit"}  # Max's boxes that show a value


@pytest.fixture(scope="module")
def render_maxpat():
    return load_script("render_maxpat", TOOLS)


@pytest.fixture(scope="module")
def patcher() -> dict:
    return json.loads((PATCHES / "dreamsound.maxpat").read_text())["patcher"]


@pytest.fixture(scope="module")
def shown(render_maxpat, patcher: dict):
    state = render_maxpat.PanelState(patcher)
    for address, args in render_maxpat.instrument_replies(render_maxpat.PICTURE_MESSAGES):
        state.receive(address, args)
    return state


def widgets_sending(patcher: dict, path: str) -> list[dict]:
    """The widgets wired straight into ``[prepend PATH]``: the controls of that parameter."""
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    prepend = {i for i, b in boxes.items() if b["maxclass"] == "newobj" and b["text"] == f"prepend {path}"}
    sources = {line["patchline"]["source"][0] for line in patcher["lines"]
               if line["patchline"]["destination"][0] in prepend}
    return [boxes[i] for i in sorted(sources) if boxes[i]["maxclass"] in WIDGETS]


@pytest.mark.parametrize("name", ["mode", "layer", "threshold", "step", "power", "iterations", "mix", "gain",
                                  "ceiling", "freeze", "flip", "record", "target_class"])
def test_every_control_shows_the_instruments_default(render_maxpat, patcher: dict, shown, name: str) -> None:
    parameter = next(p for p in ns.PARAMETERS if p.name == name)
    default = Controls().get(name)
    widgets = widgets_sending(patcher, parameter.path)
    assert widgets, f"no widget sends {parameter.path}"
    for box in widgets:
        value = shown.values.get(box["id"])
        if box["maxclass"] == "umenu":
            assert value["items"][value["index"]] == default
        elif name == "target_class":
            assert default is None and value == -1  # no class: auto
        else:
            assert value is not None, f"{parameter.path}: the {box['maxclass']} was never set"
            assert float(value) == pytest.approx(float(default))


def test_status_and_the_refused_value_reach_their_displays(render_maxpat, patcher: dict, shown) -> None:
    messages = {box_id: value for box_id, value in shown.values.items() if isinstance(value, str)}
    assert "Speech" in messages.values()  # input and output class names
    assert any("threshold 1.5" in v and "0 to 1" in v for v in messages.values())  # last error
    assert "dreaming" in messages.values()  # engine state
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    matches = [v for i, v in shown.values.items() if boxes[i]["maxclass"] == "umenu" and v["items"]
               and "Bellow" in v["items"]]
    assert matches, "the class search's matches reach the menu"


def test_both_views_draw(render_maxpat, tmp_path, shown) -> None:
    for view in ("presentation", "patching"):
        out = tmp_path / f"{view}.png"
        render_maxpat.render(PATCHES / "dreamsound.maxpat", out, view, [])
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
