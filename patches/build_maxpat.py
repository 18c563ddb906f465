"""Write ``patches/dreamsound.maxpat``: the Max 8 control panel, generated so its wiring stays reviewable.

Run ``python patches/build_maxpat.py`` after changing this file (a test checks the
patch equals this script's output). Controls go out through
``[prepend /dream/ADDRESS]`` to ``[udpsend 127.0.0.1 9000]``; the server's
replies and status come back to ``[udpreceive 9001]`` and set the widgets with
``set`` messages (no output, so nothing loops and two patches stay in sync).
The panel opens in presentation mode; the patching view shows the wiring below it.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "dreamsound.maxpat"
sys.path.insert(0, str(HERE.parent))

# The mode and layer menus list the instrument's own names, in index order; every range is the instrument's.
from instrument.dream.params import LAYERS, MODES  # noqa: E402
from instrument.settings import CONTROLS, OscSettings  # noqa: E402
from patches.panel_controls import PANEL, SLIDERS, TOGGLES, WHOLE, widget_label  # noqa: E402  (one widget per live control)


def value_range(name: str) -> tuple[float, float]:
    """The range of control ``name`` as declared beside its field (instrument.settings.CONTROLS)."""
    spec = CONTROLS[name]
    return spec.low, spec.high

ROW = 26  # vertical spacing of the panel rows
UI_OUTLETS = {  # maxclass -> (numinlets, numoutlets, outlettype)
    "flonum": (1, 2, ["", "bang"]),
    "number": (1, 2, ["", "bang"]),
    "slider": (1, 1, [""]),
    "toggle": (1, 1, ["int"]),
    "button": (1, 1, ["bang"]),
    "umenu": (1, 3, ["int", "", ""]),
    "textedit": (1, 4, ["", "int", "", ""]),
    "message": (2, 1, [""]),
    "comment": (1, 0, []),
    "panel": (1, 0, []),
}


def newobj_ports(text: str) -> tuple[int, int, list[str]]:
    """Inlets, outlets and outlet types of the Max objects this patch uses."""
    name, *args = text.split()
    if name == "route":
        return len(args) + 1, len(args) + 1, [""] * (len(args) + 1)
    if name == "unpack":
        kinds = {"i": "int", "f": "float", "s": ""}
        return 1, len(args), [kinds[a] for a in args]
    if name in ("t", "trigger"):
        kinds = {"b": "bang", "i": "int", "f": "float", "s": "", "l": ""}
        return 1, len(args), [kinds[a] for a in args]
    fixed = {
        "prepend": (1, 1, [""]),
        "udpsend": (1, 0, []),
        "udpreceive": (1, 1, [""]),
        "f": (2, 1, ["float"]),
        "i": (2, 1, ["int"]),
        "*": (2, 1, ["int"]),
        "tosymbol": (1, 1, [""]),
        "loadbang": (1, 1, ["bang"]),
        "print": (1, 0, []),
        "delay": (2, 1, ["bang"]),
        "metro": (2, 1, ["bang"]),
    }
    if name == "*" and args and "." in args[0]:
        return 2, 1, ["float"]
    return fixed[name]


class Patcher:
    def __init__(self) -> None:
        self.boxes: list[dict] = []
        self.lines: list[dict] = []

    def _box(self, maxclass: str, rect: tuple[float, float, float, float], ports, presentation: bool,
             **attrs) -> str:
        box_id = f"obj-{len(self.boxes) + 1}"
        numinlets, numoutlets, outlettype = ports
        box = {"id": box_id, "maxclass": maxclass, "numinlets": numinlets, "numoutlets": numoutlets}
        if outlettype:
            box["outlettype"] = outlettype
        box["patching_rect"] = [float(v) for v in rect]
        if presentation:
            box["presentation"] = 1
            box["presentation_rect"] = [float(v) for v in rect]
        box.update(attrs)
        self.boxes.append({"box": box})
        return box_id

    def obj(self, x: float, y: float, text: str, width: float | None = None) -> str:
        width = width or max(40.0, 6.4 * len(text) + 16)
        return self._box("newobj", (x, y, width, 22), newobj_ports(text), False, text=text)

    def ui(self, maxclass: str, x: float, y: float, w: float, h: float = 22, panel: bool = True, **attrs) -> str:
        if maxclass in ("flonum", "number", "slider", "toggle", "button", "umenu", "textedit"):
            attrs.setdefault("parameter_enable", 0)
        return self._box(maxclass, (x, y, w, h), UI_OUTLETS[maxclass], panel, **attrs)

    def message(self, x: float, y: float, text: str, width: float | None = None, panel: bool = False) -> str:
        width = width or max(30.0, 7.0 * len(text) + 14)
        return self.ui("message", x, y, width, panel=panel, text=text)

    def comment(self, x: float, y: float, text: str, width: float | None = None, **attrs) -> str:
        width = width or 7.0 * len(text) + 14
        return self.ui("comment", x, y, width, 20, text=text, **attrs)

    def line(self, source: str, outlet: int, destination: str, inlet: int = 0) -> None:
        self.lines.append({"patchline": {"destination": [destination, inlet], "source": [source, outlet]}})

    def chain(self, *ids: str) -> None:
        for a, b in itertools.pairwise(ids):
            self.line(a, 0, b, 0)

    def to_json(self) -> dict:
        return {
            "patcher": {
                "fileversion": 1,
                "appversion": {"major": 8, "minor": 5, "revision": 6, "architecture": "x64", "modernui": 1},
                "classnamespace": "box",
                "rect": [60.0, 80.0, 1220.0, 900.0],
                "bglocked": 0,
                "openinpresentation": 1,
                "default_fontsize": 12.0,
                "default_fontface": 0,
                "default_fontname": "Arial",
                "gridonopen": 1,
                "gridsize": [15.0, 15.0],
                "gridsnaponopen": 1,
                "toolbarvisible": 1,
                "boxanimatetime": 200,
                "description": "DreamSound Live control panel (OSC to 127.0.0.1:9000, replies on 9001)",
                "boxes": self.boxes,
                "lines": self.lines,
            }
        }


class Grid:
    """Places the wiring below the panel, column by column, so boxes never overlap."""

    def __init__(self, x0: float, y0: float, columns: int, rows: int, width: float = 180, height: float = 28) -> None:
        self.x0, self.y0, self.columns, self.rows, self.width, self.height = x0, y0, columns, rows, width, height
        self.column, self.row = 0, 0

    def take(self, cells: int = 1) -> tuple[float, float]:
        if self.row + cells > self.rows:
            self.column, self.row = self.column + 1, 0
        if self.column >= self.columns:
            raise ValueError("grid full")
        x, y = self.x0 + self.column * self.width, self.y0 + self.row * self.height
        self.row += cells
        return x, y


def build() -> dict:
    p = Patcher()
    p.ui("panel", 10, 10, 700, 530, bgcolor=[0.91, 0.91, 0.91, 1.0], rounded=4)
    p.comment(20, 16, "DreamSound Live", 200, fontsize=16.0, fontface=1)
    p.comment(220, 20, "OSC to the instrument on port 9000, replies and status on 9001", 400)
    grid = Grid(20, 600, columns=4, rows=11)
    p.comment(20, 565, "widgets -> [prepend /dream/ADDRESS] -> [udpsend]", 360, panel=False)  # wiring note
    udpsend = p.obj(20, 600 + 11 * 28 + 20, "udpsend 127.0.0.1 9000")

    # ---- network -------------------------------------------------------------------------
    p.comment(380, 50, "destination", 110)
    host = p.message(470, 50, "host 127.0.0.1", panel=True)
    port = p.message(590, 50, "port 9000", panel=True)
    p.line(host, 0, udpsend)
    p.line(port, 0, udpsend)
    get = p.ui("button", 20, 50, 22, 22)
    p.comment(44, 50, "get every value (also on load)", 200)
    x, y = grid.take(2)
    loadbang = p.obj(x, y, "loadbang")
    get_msg = p.message(x, y + 28, "/dream/get")
    p.line(loadbang, 0, get_msg)
    p.line(get, 0, get_msg)
    p.line(get_msg, 0, udpsend)
    # /dream/ping every third of osc.client_timeout keeps the replies and status coming
    beat = f"{OscSettings().client_timeout * 1000 / 3:.0f}"
    x, y = grid.take(3)
    beat_del = p.obj(x, y, f"delay {beat}")
    p.line(loadbang, 0, beat_del)
    beat_metro = p.obj(x, y + 28, f"metro {beat}")
    p.line(beat_del, 0, beat_metro)
    ping_msg = p.message(x, y + 56, "/dream/ping")
    p.line(beat_metro, 0, ping_msg)
    p.line(ping_msg, 0, udpsend)

    def out(widget: str, address: str, outlet: int = 0) -> str:
        x, y = grid.take()
        prepend = p.obj(x, y, f"prepend {address}")
        p.line(widget, outlet, prepend)
        p.line(prepend, 0, udpsend)
        return prepend

    def text_out(widget: str, address: str, outlet: int = 0, via_route: bool = True) -> None:
        """textedit -> "text WORDS" -> one symbol -> /dream/ADDRESS."""
        x, y = grid.take(3 if via_route else 2)
        source = widget
        if via_route:
            route = p.obj(x, y, "route text")
            p.line(widget, outlet, route)
            source, outlet, y = route, 0, y + 28
        symbol = p.obj(x, y, "tosymbol")
        p.line(source, outlet, symbol)
        prepend = p.obj(x, y + 28, f"prepend {address}")
        p.line(symbol, 0, prepend)
        p.line(prepend, 0, udpsend)

    # ---- controls (left column) ---------------------------------------------------------------
    cx, wx = 20, 120
    y = 90
    widgets: dict[str, list[str]] = {}  # address -> widgets set from the reply
    p.comment(cx, y, "mode", 90)
    mode = p.ui("umenu", wx, y, 150, items=[v for m in MODES for v in (m, ",")][:-1])
    out(mode, "/dream/mode")
    y += ROW
    p.comment(cx, y, "layer", 90)
    layer = p.ui("umenu", wx, y, 150, items=[v for m in LAYERS for v in (m, ",")][:-1])
    out(layer, "/dream/layer")
    y += ROW
    sliders = [name for name in SLIDERS if not PANEL[name].log]  # a log range is typed into a number box
    numbers = [(name, "flonum") for name in SLIDERS if PANEL[name].log] + [(name, "number") for name in WHOLE]
    for name in sliders:
        low, high = value_range(name)
        p.comment(cx, y, widget_label(name), 95)
        slider = p.ui("slider", wx, y, 150, 20, floatoutput=1, min=low, size=high - low)
        number = p.ui("flonum", wx + 160, y, 60, format=6, minimum=low, maximum=high)
        out(slider, f"/dream/{name}")
        out(number, f"/dream/{name}")
        widgets[name] = [slider, number]
        y += ROW
    for name, kind in numbers:
        low, high = value_range(name)
        p.comment(cx, y, widget_label(name), 95)
        number = p.ui(kind, wx, y, 70, minimum=low, maximum=high, **({"format": 6} if kind == "flonum" else {}))
        out(number, f"/dream/{name}")
        widgets[name] = [number]
        y += ROW
    p.comment(cx, y, "target class", 95)
    target = p.ui("number", wx, y, 50, minimum=value_range("target_class")[0], maximum=value_range("target_class")[1])
    out(target, "/dream/target")
    target_name = p.ui("textedit", wx + 56, y, 164, keymode=1, lines=1, text="auto")
    text_out(target_name, "/dream/target")
    y += ROW
    p.comment(cx, y, "target sound", 95)
    sound = p.ui("textedit", wx, y, 220, keymode=1, lines=1, text="none")
    text_out(sound, "/dream/target_sound")
    y += ROW
    p.comment(cx, y, "capture", 95)
    capture = p.ui("button", wx, y, 22, 22)
    seconds = p.ui("flonum", wx + 30, y, 50, format=6, minimum=0.1, maximum=10.0)
    p.comment(wx + 84, y, "seconds", 60)
    x, yy = grid.take()
    capture_f = p.obj(x, yy, "f 2.")
    p.line(capture, 0, capture_f)
    p.line(seconds, 0, capture_f, 1)
    out(capture_f, "/dream/target_sound/capture")
    y += ROW
    p.comment(cx, y, "switches", 95)
    for i, name in enumerate(TOGGLES):
        toggle = p.ui("toggle", wx + 75 * i, y, 22, 22)
        p.comment(wx + 75 * i + 24, y, name, 50)
        out(toggle, f"/dream/{name}")
        widgets[name] = [toggle]
    y += ROW
    p.comment(cx, y, "preset", 95)
    preset = p.ui("number", wx, y, 50, minimum=0, maximum=127)
    for j, (word, address) in enumerate((("save", "/dream/preset/save"), ("load", "/dream/preset/load"))):
        bang = p.ui("button", wx + 60 + 70 * j, y, 22, 22)
        p.comment(wx + 84 + 70 * j, y, word, 40)
        x, yy = grid.take()
        store = p.obj(x, yy, "i")
        p.line(bang, 0, store)
        p.line(preset, 0, store, 1)
        out(store, address)
    y += ROW
    p.comment(cx, y, "find classes", 95)
    search = p.ui("textedit", wx, y, 120, keymode=1, lines=1, text="")
    text_out(search, "/dream/classes")
    count = p.ui("number", wx + 126, y, 50)
    p.comment(wx + 180, y, "found", 50)
    y += ROW
    p.comment(cx, y, "matches", 95)
    matches = p.ui("umenu", wx, y, 220, items=[])
    p.comment(wx, y + 24, "pick one to make it the target", 220, fontsize=10.0)
    text_out(matches, "/dream/target", outlet=1, via_route=False)

    # ---- feedback (right column) ----------------------------------------------------------------
    fx, fw = 370, 480
    y = 90
    displays: dict[str, str] = {}
    for side in ("input", "output"):
        p.comment(fx, y, f"{side} class", 100)
        displays[f"{side}_index"] = p.ui("number", fw, y, 50)
        displays[f"{side}_score"] = p.ui("flonum", fw + 56, y, 60, format=6)
        p.comment(fw + 120, y, "score", 50)
        y += ROW
        displays[f"{side}_name"] = p.message(fw, y, "-", 220, panel=True)
        y += ROW
    p.comment(fx, y, "level in/out dB", 105)
    displays["level_in"] = p.ui("flonum", fw, y, 60, format=6)
    displays["level_out"] = p.ui("flonum", fw + 66, y, 60, format=6)
    y += ROW
    for key, label in (("rate", "iterations/s"), ("iterations", "iters/window"), ("per_sample", "iters/sample"),
                       ("latency", "latency ms"), ("xruns", "xruns"), ("dropped", "dropped packets")):
        p.comment(fx, y, label, 105)
        integer = key in ("xruns", "dropped")
        displays[key] = p.ui("number" if integer else "flonum", fw, y, 70, **({} if integer else {"format": 6}))
        y += ROW
    p.comment(fx, y, "recording", 105)
    displays["recording"] = p.ui("toggle", fw, y, 22, 22)
    displays["engine"] = p.message(fw + 40, y, "-", 120, panel=True)  # dream engine state
    y += ROW
    p.comment(fx, y, "preset", 105)
    displays["preset"] = p.message(fw, y, "-", 220, panel=True)
    y += ROW
    p.comment(fx, y, "last error", 105)
    displays["error"] = p.message(fx, y + 24, "-", 330, panel=True)

    # ---- replies -> widgets ---------------------------------------------------------------------
    rx = 740
    p.comment(rx, 10, "[udpreceive 9001] -> [route /dream/...] -> [prepend set] -> widgets (set: no output)", 520,
              panel=False)  # a note on the wiring, not part of the panel
    udpreceive = p.obj(rx, 36, "udpreceive 9001")

    def setter(widget: str, text: str = "prepend set"):
        def make(source: str, outlet: int, x: float, y: float) -> float:
            obj = p.obj(x, y, text)
            p.line(source, outlet, obj)
            p.line(obj, 0, widget)
            return 28
        return make

    def unpacked(kinds: str, targets: list[str | None]):
        def make(source: str, outlet: int, x: float, y: float) -> float:
            unpack = p.obj(x, y, f"unpack {kinds}")
            p.line(source, outlet, unpack)
            row = 0
            for j, widget in enumerate(targets):
                if widget is not None:
                    row += 1
                    setter(widget)(unpack, j, x + 10 * row, y + 28 * row)
            return 28 * (row + 1)
        return make

    def scaled(widget: str):
        def make(source: str, outlet: int, x: float, y: float) -> float:
            ms = p.obj(x, y, "* 1000.")
            p.line(source, outlet, ms)
            return 28 + setter(widget)(ms, 0, x, y + 28)
        return make

    def class_count(source: str, outlet: int, x: float, y: float) -> float:
        setter(count)(source, outlet, x, y)
        clear = p.message(x, y + 28, "clear")
        p.line(source, outlet, clear)
        p.line(clear, 0, matches)
        return 56

    def class_match(source: str, outlet: int, x: float, y: float) -> float:
        unpack = p.obj(x, y, "unpack i s")
        p.line(source, outlet, unpack)
        return 28 + setter(matches, "prepend append")(unpack, 1, x + 10, y + 28)

    handlers = []
    for name in (*sliders, *(name for name, _ in numbers), *TOGGLES):
        handlers.append((f"/dream/{name}", name))
    handlers += [
        ("/dream/mode", unpacked("i s", [mode])),
        ("/dream/layer", unpacked("i s", [layer])),
        ("/dream/target", unpacked("i s", [target, target_name])),
        ("/dream/target_sound", setter(sound)),
        ("/dream/classes/count", class_count),
        ("/dream/classes/match", class_match),
        ("/dream/preset/save", setter(displays["preset"], "prepend set saved")),
        ("/dream/preset/load", setter(displays["preset"], "prepend set loaded")),
        ("/dream/error", setter(displays["error"])),
        ("/dream/status/input_class", unpacked("i f s", [displays[f"input_{k}"] for k in ("index", "score", "name")])),
        ("/dream/status/output_class",
         unpacked("i f s", [displays[f"output_{k}"] for k in ("index", "score", "name")])),
        ("/dream/status/levels", unpacked("f f", [displays["level_in"], displays["level_out"]])),
        ("/dream/status/rate", setter(displays["rate"])),
        ("/dream/status/iterations", setter(displays["iterations"])),
        ("/dream/status/iterations_per_sample", setter(displays["per_sample"])),
        ("/dream/status/xruns", setter(displays["xruns"])),
        ("/dream/status/latency", scaled(displays["latency"])),
        ("/dream/status/recording", setter(displays["recording"])),
        ("/dream/status/dropped", setter(displays["dropped"])),
        ("/dream/status/engine", setter(displays["engine"])),
    ]
    source, outlet, y = udpreceive, 0, 70
    per_route = 5
    for start in range(0, len(handlers), per_route):
        band = handlers[start:start + per_route]
        route = p.obj(rx, y, "route " + " ".join(address for address, _ in band), None)
        p.line(source, outlet, route)
        height = 28.0
        for k, (_address, make) in enumerate(band):
            if isinstance(make, str):  # a plain value: set every widget showing it
                obj = p.obj(rx + 130 * k, y + 30, "prepend set")
                p.line(route, k, obj)
                for widget in widgets[make]:
                    p.line(obj, 0, widget)
                used = 28.0
            else:
                used = make(route, k, rx + 130 * k, y + 30)
            height = max(height, used)
        source, outlet, y = route, len(band), y + 30 + height + 16
    unrouted = p.obj(rx, y, "print dreamsound-unrouted")
    p.line(source, outlet, unrouted)
    return p.to_json()


def render_json(patch: dict) -> str:
    return json.dumps(patch, indent=1) + "\n"


def main() -> None:
    TARGET.write_text(render_json(build()))
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
