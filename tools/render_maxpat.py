"""Draw a Max patcher's boxes and patch cords from its JSON (no Max needed): ``patches/dreamsound-max.png``.

    .venv/bin/python tools/render_maxpat.py [PATCH.maxpat [OUT.png]]

Boxes sit at their ``patching_rect``; inlets and outlets are spread across the
box's width as Max draws them; cords run from outlet to inlet.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from PIL import Image

HERE = Path(__file__).resolve().parent.parent / "patches"  # the patch and its picture
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


def port_x(rect: list[float], index: int, count: int) -> float:
    x, _, w, _ = rect
    if count <= 1:
        return x + PORT_W / 2
    return x + PORT_W / 2 + index * (w - PORT_W) / (count - 1)


def label(box: dict) -> str:
    cls = box["maxclass"]
    if cls in ("newobj", "message", "comment"):
        return str(box.get("text", ""))
    if cls == "textedit":
        return str(box.get("text", "")) or "(text)"
    if cls == "umenu":
        items = [i for i in box.get("items", []) if i != ","]
        return f"{items[0]} ▾" if items else "▾"
    if cls in ("flonum", "number"):
        return "▸ 0." if cls == "flonum" else "▸ 0"
    return ""


def render(patch_path: Path, out: Path) -> None:
    patcher = json.loads(patch_path.read_text())["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    right = max(b["patching_rect"][0] + b["patching_rect"][2] for b in boxes.values()) + 20
    bottom = max(b["patching_rect"][1] + b["patching_rect"][3] for b in boxes.values()) + 20
    scale = 90.0
    fig = plt.figure(figsize=(right / scale, bottom / scale), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, right)
    ax.set_ylim(bottom, 0)
    ax.axis("off")
    fig.patch.set_facecolor("#f7f7f7")

    for box in sorted(boxes.values(), key=lambda b: b["maxclass"] != "panel"):
        x, y, w, h = box["patching_rect"]
        cls = box["maxclass"]
        fill = FILL.get(cls, "#ffffff")
        if cls == "panel":
            ax.add_patch(Rectangle((x, y), w, h, facecolor=fill, edgecolor="#b0b0b0", lw=1.0, zorder=0))
            continue
        if fill:
            ax.add_patch(Rectangle((x, y), w, h, facecolor=fill, edgecolor="#555555", lw=0.8, zorder=2))
        if cls == "toggle":
            ax.plot([x + 4, x + w - 4], [y + 4, y + h - 4], color="#555555", lw=0.8, zorder=3)
            ax.plot([x + 4, x + w - 4], [y + h - 4, y + 4], color="#555555", lw=0.8, zorder=3)
        elif cls == "button":
            ax.add_patch(plt.Circle((x + w / 2, y + h / 2), min(w, h) / 2 - 3, fill=False, color="#555555", zorder=3))
        elif cls == "slider":
            ax.add_patch(Rectangle((x + w * 0.4, y + 2), 4, h - 4, color="#555555", zorder=3))
        text = label(box)
        if text:
            size = 7.5 if cls != "comment" else float(box.get("fontsize", 12.0)) * 0.62
            weight = "bold" if box.get("fontface") == 1 else "normal"
            ax.text(x + 3, y + h / 2, text, fontsize=size, fontweight=weight, va="center", ha="left",
                    family="DejaVu Sans", zorder=4, clip_on=True)
        for i in range(box["numinlets"] if cls not in ("comment", "panel") else 0):
            ax.add_patch(Rectangle((port_x(box["patching_rect"], i, box["numinlets"]) - PORT_W / 2, y), PORT_W, 2.5,
                                   color="#333333", zorder=3))
        for i in range(box["numoutlets"]):
            ax.add_patch(Rectangle((port_x(box["patching_rect"], i, box["numoutlets"]) - PORT_W / 2, y + h - 2.5),
                                   PORT_W, 2.5, color="#333333", zorder=3))

    for line in patcher["lines"]:
        cord = line["patchline"]
        (src, outlet), (dst, inlet) = cord["source"], cord["destination"]
        a, b = boxes[src], boxes[dst]
        x0 = port_x(a["patching_rect"], outlet, a["numoutlets"])
        y0 = a["patching_rect"][1] + a["patching_rect"][3]
        x1 = port_x(b["patching_rect"], inlet, b["numinlets"])
        y1 = b["patching_rect"][1]
        ax.plot([x0, x1], [y0, y1], color="#4a6fa5", lw=0.6, alpha=0.7, zorder=1)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor=fig.get_facecolor())
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as image:  # a 64-colour palette keeps the file small
        image.convert("RGB").quantize(64).save(out, optimize=True)


def main() -> None:
    patch = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "dreamsound.maxpat"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "dreamsound-max.png"
    render(patch, out)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
