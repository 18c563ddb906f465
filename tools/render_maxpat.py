"""Draw the Max panel from its JSON (no Max needed): ``patches/dreamsound-max.png``.

    .venv/bin/python tools/render_maxpat.py [--patching] [PATCH.maxpat [OUT.png]]

By default it draws the **presentation view**, the one the panel opens in: only the boxes
marked for presentation, at their ``presentation_rect``, locked (no inlets, outlets or
cords), showing the values the panel would show connected to the instrument at its
defaults. Those values are not written here: the real ``OscServer`` (real ``Controls``
at their defaults, the stand-in instrument of ``screenshot_pd.py`` for class names and a
status like a run at defaults) answers ``/dream/get``, a class search (``classes bell``)
and a refused value (``threshold 1.5``), and its replies are passed through the patch's
own receiving objects (``[route]``, ``[unpack]``, ``[prepend set]``, ...) to the widgets
they set, so a miswired reply shows as a wrong or empty widget. It needs the class map
in ``../shared/models`` (or ``$DREAMSOUND_SHARED``).

``--patching`` draws the patching view instead: every box at its ``patching_rect``,
inlets and outlets spread across the box's width as Max draws them, cords from outlet
to inlet.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "patches"  # the patch and its picture
PORT_W = 7.0

FILL = {
    "newobj": "#ffffff",
    "message": "#e6e6e6",
    "comment": None,
    "panel": "#ececec",
    "flonum": "#fafae0",
    "number": "#fafae0",
    "slider": "#dde6f0",
    "toggle": "#dde6f0",
    "button": "#dde6f0",
    "umenu": "#dde6f0",
    "textedit": "#fdfdfd",
}
WIDGETS = {"flonum", "number", "slider", "toggle", "umenu", "textedit"}


def port_x(rect: list[float], index: int, count: int) -> float:
    x, _, w, _ = rect
    if count <= 1:
        return x + PORT_W / 2
    return x + PORT_W / 2 + index * (w - PORT_W) / (count - 1)


def _number_text(value: Any, floating: bool) -> str:
    if not floating:
        return str(round(float(value)))
    text = f"{float(value):.6g}"
    return text if any(c in text for c in ".e") else text + "."  # Max shows a whole float as "20."


def label(box: dict, state: dict[str, Any] | None = None) -> str:
    """What the box shows; ``state`` is the value a reply set (None: as saved in the patch)."""
    cls = box["maxclass"]
    if cls in ("newobj", "message", "comment"):
        return str(state) if cls == "message" and state is not None else str(box.get("text", ""))
    if cls == "textedit":
        return str(state if state is not None else box.get("text", "")) or "(text)"
    if cls == "umenu":
        items = state["items"] if state else [i for i in box.get("items", []) if i != ","]
        index = state["index"] if state else 0
        return f"{items[index]} ▾" if 0 <= index < len(items) else "▾"
    if cls in ("flonum", "number"):
        return "▸ " + _number_text(state if state is not None else 0, cls == "flonum")
    return ""


# --- the patch's receiving side, run on real replies ----------------------------------------------------


class PanelState:
    """Pass messages into a patcher's boxes as Max would, far enough to know what each widget shows.

    Only the objects the panel's receiving side uses are known (``udpreceive``, ``route``,
    ``unpack``, ``prepend``, ``*``, ``print``, message boxes and the widgets); a message that
    reaches anything else raises, so the picture never shows a value the patch would not.
    """

    def __init__(self, patcher: dict) -> None:
        self.boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
        self.cords: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for line in patcher["lines"]:
            (src, outlet), (dst, inlet) = line["patchline"]["source"], line["patchline"]["destination"]
            self.cords.setdefault((src, outlet), []).append((dst, inlet))
        self.values: dict[str, Any] = {}
        for box_id, box in self.boxes.items():
            if box["maxclass"] == "umenu":
                self.values[box_id] = {"items": [i for i in box.get("items", []) if i != ","], "index": 0}

    def receive(self, address: str, args: Iterable[Any]) -> None:
        """One OSC message arriving at every ``[udpreceive]``."""
        for box_id, box in self.boxes.items():
            if box["maxclass"] == "newobj" and box["text"].split()[0] == "udpreceive":
                self._out(box_id, 0, [address, *args])

    def _out(self, box_id: str, outlet: int, atoms: list[Any]) -> None:
        for dst, inlet in self.cords.get((box_id, outlet), []):
            self._in(dst, inlet, atoms)

    def _in(self, box_id: str, inlet: int, atoms: list[Any]) -> None:
        box = self.boxes[box_id]
        cls = box["maxclass"]
        if cls in WIDGETS:
            self._set_widget(box_id, cls, atoms)
        elif cls == "message":
            if atoms and atoms[0] == "set":
                self.values[box_id] = " ".join(_atom_text(a) for a in atoms[1:])
            else:
                self._out(box_id, 0, str(box["text"]).split())
        elif cls == "newobj":
            self._object(box_id, box["text"].split(), inlet, atoms)
        else:
            raise ValueError(f"a reply reaches a {cls} box ({box_id}), which the picture cannot show")

    def _object(self, box_id: str, text: list[str], inlet: int, atoms: list[Any]) -> None:
        name, *args = text
        if inlet != 0:
            raise ValueError(f"a reply reaches inlet {inlet} of [{' '.join(text)}]")
        if name == "route":
            if atoms and atoms[0] in args:
                self._out(box_id, args.index(atoms[0]), atoms[1:])
            else:
                self._out(box_id, len(args), atoms)
        elif name == "unpack":
            for outlet in reversed(range(min(len(args), len(atoms)))):  # right to left, as Max does
                self._out(box_id, outlet, [atoms[outlet]])
        elif name == "prepend":
            self._out(box_id, 0, [*args, *atoms])
        elif name == "*":
            self._out(box_id, 0, [float(atoms[0]) * float(args[0])])
        elif name != "print":
            raise ValueError(f"a reply reaches [{' '.join(text)}], which the picture does not know")

    def _set_widget(self, box_id: str, cls: str, atoms: list[Any]) -> None:
        if not atoms:
            return
        head, rest = atoms[0], atoms[1:]
        if cls == "umenu":
            menu = self.values[box_id]
            if head == "clear":
                menu["items"], menu["index"] = [], 0
            elif head == "append":
                menu["items"].append(" ".join(_atom_text(a) for a in rest))
            elif head == "set" and rest:
                menu["index"] = int(rest[0])
            return
        if head != "set" or not rest:
            raise ValueError(f"a reply sends {atoms[:3]} to a {cls}: widgets are only set")
        self.values[box_id] = " ".join(_atom_text(a) for a in rest) if cls == "textedit" else rest[0]


def _atom_text(atom: Any) -> str:
    return f"{atom:g}" if isinstance(atom, float) else str(atom)


def instrument_replies(sent: Iterable[tuple[str, list[Any]]], timeout: float = 10.0) -> list[tuple[str, list]]:
    """What the real OSC server (real ``Controls`` at their defaults) answers to ``sent``, in order."""
    sys.path.insert(0, str(REPO))
    import tempfile

    from pythonosc.osc_message import OscMessage
    from pythonosc.osc_message_builder import build_msg

    from instrument.osc.server import OscServer
    from instrument.settings import OscSettings
    from tools.screenshot_pd import StandIn

    sent = list(sent)
    with tempfile.TemporaryDirectory(prefix="dreamsound-max-") as tmp, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as panel:
        panel.bind(("127.0.0.1", 0))
        panel.settimeout(0.5)
        # replies go to the sender's port and to feedback_port on its host: here both are the panel's socket
        settings = OscSettings(port=0, feedback_port=panel.getsockname()[1], status_rate=0,
                               presets_file=str(Path(tmp) / "presets.yaml"), target_sound_dir=tmp, oscquery=False)
        server = OscServer(StandIn(), settings)
        server.start()
        try:
            for address, args in sent:
                panel.sendto(build_msg(address, args).dgram, ("127.0.0.1", server.address[1]))
            replies: list[tuple[str, list]] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not any(a == "/dream/error" for a, _ in replies):
                try:
                    data = panel.recv(65536)
                except TimeoutError:
                    continue
                message = OscMessage(data)
                replies.append((message.address, list(message.params)))
        finally:
            server.stop()
    if not any(a == "/dream/error" for a, _ in replies):
        raise SystemExit(f"the OSC server did not answer within {timeout} s")
    return replies


PICTURE_MESSAGES = [("/dream/get", []), ("/dream/classes", ["bell"]), ("/dream/threshold", [1.5])]


# --- drawing ---------------------------------------------------------------------------------------------


def render(patch_path: Path, out: Path, view: str = "presentation",
           replies: Iterable[tuple[str, list]] | None = None) -> None:
    """Draw ``view`` ("presentation" or "patching") of the patch into ``out``.

    ``replies``: OSC messages passed through the patch first, so its widgets show what they set
    (presentation view only).
    """
    patcher = json.loads(patch_path.read_text())["patcher"]
    presentation = view == "presentation"
    state = PanelState(patcher)
    for address, args in replies or ():
        state.receive(address, args)
    rect_key = "presentation_rect" if presentation else "patching_rect"
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]
             if not presentation or b["box"].get("presentation")}
    rects = {box_id: box[rect_key] for box_id, box in boxes.items()}
    right = max(x + w for x, _, w, _ in rects.values()) + (10 if presentation else 20)
    bottom = max(y + h for _, y, _, h in rects.values()) + (10 if presentation else 20)
    scale = 90.0
    dpi = 150 if presentation else 100
    fig = plt.figure(figsize=(right / scale, bottom / scale), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, right)
    ax.set_ylim(bottom, 0)
    ax.axis("off")
    fig.patch.set_facecolor("#f7f7f7")

    for box_id, box in sorted(boxes.items(), key=lambda item: item[1]["maxclass"] != "panel"):
        x, y, w, h = rects[box_id]
        cls = box["maxclass"]
        value = state.values.get(box_id) if presentation else None
        fill = FILL.get(cls, "#ffffff")
        if cls == "panel":
            ax.add_patch(Rectangle((x, y), w, h, facecolor=fill, edgecolor="#b0b0b0", lw=1.0, zorder=0))
            continue
        if fill:
            ax.add_patch(Rectangle((x, y), w, h, facecolor=fill, edgecolor="#555555", lw=0.8, zorder=2))
        if cls == "toggle" and (value or not presentation):
            ax.plot([x + 4, x + w - 4], [y + 4, y + h - 4], color="#555555", lw=0.8, zorder=3)
            ax.plot([x + 4, x + w - 4], [y + h - 4, y + 4], color="#555555", lw=0.8, zorder=3)
        elif cls == "button":
            ax.add_patch(plt.Circle((x + w / 2, y + h / 2), min(w, h) / 2 - 3, fill=False, color="#555555", zorder=3))
        elif cls == "slider":
            low, size = float(box.get("min", 0.0)), float(box.get("size", 128.0))
            where = 0.4 if value is None else min(max((float(value) - low) / size, 0.0), 1.0)
            ax.add_patch(Rectangle((x + 2 + where * (w - 8), y + 2), 4, h - 4, color="#555555", zorder=3))
        text = label(box, value)
        if text:
            size = 7.5 if cls != "comment" else float(box.get("fontsize", 12.0)) * 0.62
            weight = "bold" if box.get("fontface") == 1 else "normal"
            ax.text(x + 3, y + h / 2, text, fontsize=size, fontweight=weight, va="center", ha="left",
                    family="DejaVu Sans", zorder=4, clip_on=True)
        if presentation:
            continue  # a locked presentation shows no inlets, outlets or cords
        for i in range(box["numinlets"] if cls not in ("comment", "panel") else 0):
            ax.add_patch(Rectangle((port_x(rects[box_id], i, box["numinlets"]) - PORT_W / 2, y), PORT_W, 2.5,
                                   color="#333333", zorder=3))
        for i in range(box["numoutlets"]):
            ax.add_patch(Rectangle((port_x(rects[box_id], i, box["numoutlets"]) - PORT_W / 2, y + h - 2.5),
                                   PORT_W, 2.5, color="#333333", zorder=3))

    for line in [] if presentation else patcher["lines"]:
        cord = line["patchline"]
        (src, outlet), (dst, inlet) = cord["source"], cord["destination"]
        a, b = boxes[src], boxes[dst]
        x0 = port_x(a["patching_rect"], outlet, a["numoutlets"])
        y0 = a["patching_rect"][1] + a["patching_rect"][3]
        x1 = port_x(b["patching_rect"], inlet, b["numinlets"])
        y1 = b["patching_rect"][1]
        ax.plot([x0, x1], [y0, y1], color="#4a6fa5", lw=0.6, alpha=0.7, zorder=1)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor=fig.get_facecolor())
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as image:  # a 64-colour palette keeps the file small
        image.convert("RGB").quantize(64).save(out, optimize=True)


def main() -> None:
    argv = sys.argv[1:]
    view = "patching" if "--patching" in argv else "presentation"
    paths = [a for a in argv if a != "--patching"]
    patch = Path(paths[0]) if paths else HERE / "dreamsound.maxpat"
    out = Path(paths[1]) if len(paths) > 1 else HERE / "dreamsound-max.png"
    replies = instrument_replies(PICTURE_MESSAGES) if view == "presentation" else None
    render(patch, out, view, replies)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB), {view} view")


if __name__ == "__main__":
    main()
