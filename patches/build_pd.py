"""Write ``patches/dreamsound.pd``: the Pure Data control panel, generated so its wiring stays reviewable.

Run ``python patches/build_pd.py`` after changing this file (a test checks the
patch equals this script's output). The panel is a graph-on-parent abstraction:

- ``[dreamsound]``, ``[dreamsound HOST]`` or ``[dreamsound HOST PORT]`` (default
  127.0.0.1 9000) connects when loaded; port 0 waits for ``connect HOST PORT``.
- Inlet: ``connect [HOST PORT]``, ``disconnect``, or any ``ADDRESS args`` sent as
  ``/dream/ADDRESS args`` (``threshold 0.5``, ``mode filter``, ``preset/save 3``).
- Outlet: every message from the server without ``/dream/``, as a message whose
  selector is the first part (``status rate 201.5``, ``threshold 0.5``), plus
  ``connected 1`` / ``connected 0``.

Widgets send through named ``$0-...-out`` senders and are only ever *set*
(``set`` messages to ``$0-...-in``) from the server's replies, so two panels stay
in sync and nothing loops.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "dreamsound.pd"
sys.path.insert(0, str(HERE.parent))

from instrument.settings import CONTROLS, OscSettings  # noqa: E402  (every range is the instrument's own)
from patches.panel_controls import SLIDERS, TOGGLES, WHOLE, widget_label  # noqa: E402  (one widget per live control)

FONT = 10
WIDTH, HEIGHT = 660, 452  # the graph-on-parent area
BG, TITLE_BG, PANEL_BG, DISPLAY_BG = "#e8e8e8", "#303a4a", "#f4f4f4", "#dce4ee"
WHITE, BLACK, LABEL = "#fcfcfc", "#000000", "#202020"

SCALARS = (*SLIDERS, *WHOLE, *TOGGLES)



HEARTBEAT_MS = OscSettings().client_timeout * 1000 / 3  # /dream/ping while connected

def slider_range(name: str) -> tuple[float, float, int]:
    """(low, high, log) of a slider: the declared range; a log slider starts a millionth of the top above 0."""
    spec = CONTROLS[name]
    low = spec.low if not spec.log or spec.low > 0 else spec.high * 1e-6
    return low, spec.high, int(spec.log)
STATUS_SCALARS = (  # status address, display receive, label
    ("rate", "rate", "iterations/s"),
    ("iterations", "iters", "iters/window"),
    ("iterations_per_sample", "persample", "iters/sample"),
    ("xruns", "xruns", "xruns"),
    ("dropped", "dropped", "dropped packets"),
)


def esc(text: str) -> str:
    """Pd file escaping for one atom: dollars, commas, semicolons, spaces."""
    return text.replace("$", "\\$").replace(",", " \\,").replace(";", " \\;")


class Canvas:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0
        self.wires: list[tuple[int, int, int, int]] = []

    def _add(self, line: str) -> int:
        self.lines.append(line)
        self.count += 1
        return self.count - 1

    def obj(self, x: int, y: int, text: str) -> int:
        return self._add(f"#X obj {x} {y} {esc(text)};")

    def msg(self, x: int, y: int, text: str) -> int:
        return self._add(f"#X msg {x} {y} {esc(text)};")

    def text(self, x: int, y: int, text: str) -> int:
        return self._add(f"#X text {x} {y} {esc(text)};")

    def floatatom(self, x: int, y: int, width: int, receive: str = "-", send: str = "-",
                  low: float = 0, high: float = 0) -> int:
        return self._add(f"#X floatatom {x} {y} {width} {low:g} {high:g} 0 - {esc(receive)} {esc(send)} 0;")

    def symbolatom(self, x: int, y: int, width: int, receive: str = "-", send: str = "-") -> int:
        return self._add(f"#X symbolatom {x} {y} {width} 0 0 0 - {esc(receive)} {esc(send)} 0;")

    # IEM GUIs: send/receive names, labels drawn beside them
    def tgl(self, x: int, y: int, send: str, receive: str, label: str = "empty", label_color: str = LABEL) -> int:
        return self.obj_raw(
            x, y, f"tgl 15 0 {send} {receive} {label} 19 8 0 {FONT} {WHITE} {BLACK} {label_color} 0 1"
        )

    def bng(self, x: int, y: int, send: str, receive: str = "empty", label: str = "empty",
            label_color: str = LABEL) -> int:
        return self.obj_raw(
            x, y, f"bng 15 250 50 0 {send} {receive} {label} 19 8 0 {FONT} {WHITE} {BLACK} {label_color}"
        )

    def nbx(self, x: int, y: int, digits: int, low: float, high: float, send: str, receive: str) -> int:
        return self.obj_raw(
            x, y, f"nbx {digits} 15 {low:g} {high:g} 0 0 {send} {receive} empty 0 -8 0 {FONT} "
            f"{WHITE} {BLACK} {LABEL} 0 256"
        )

    def hsl(self, x: int, y: int, low: float, high: float, log: int, send: str, receive: str) -> int:
        return self.obj_raw(
            x, y, f"hsl 140 15 {low:g} {high:g} {log} 0 {send} {receive} empty -2 -8 0 {FONT} "
            f"{WHITE} {BLACK} {LABEL} 0 1"
        )

    def hradio(self, x: int, y: int, number: int, send: str, receive: str) -> int:
        return self.obj_raw(
            x, y, f"hradio 15 1 0 {number} {send} {receive} empty 0 -8 0 {FONT} {WHITE} {BLACK} {LABEL} 0"
        )

    def cnv(self, x: int, y: int, w: int, h: int, color: str, receive: str = "empty", label: str = "empty",
            label_color: str = LABEL, font: int = FONT, ldx: int = 4, ldy: int = 8) -> int:
        return self.obj_raw(
            x, y, f"cnv 1 {w} {h} empty {receive} {label} {ldx} {ldy} 0 {font} {color} {label_color} 0"
        )

    def obj_raw(self, x: int, y: int, text: str) -> int:
        """An object whose text is already escaped except for dollars."""
        return self._add(f"#X obj {x} {y} {text.replace('$', chr(92) + '$')};")

    def wire(self, source: int, outlet: int, sink: int, inlet: int = 0) -> None:
        self.wires.append((source, outlet, sink, inlet))

    def chain(self, *objects: int) -> None:
        for a, b in itertools.pairwise(objects):
            self.wire(a, 0, b, 0)

    def render(self) -> str:
        head = f"#N canvas 40 40 {WIDTH + 560} {HEIGHT + 420} {FONT};"
        coords = f"#X coords 0 -1 1 1 {WIDTH} {HEIGHT} 2 0 0;"
        wires = [f"#X connect {a} {o} {b} {i};" for a, o, b, i in self.wires]
        return "\n".join([head, *self.lines, coords, *wires]) + "\n"


def build() -> str:
    c = Canvas()
    # ---- panel (drawn first, so backgrounds sit behind the widgets) -------------------
    c.cnv(0, 0, WIDTH, HEIGHT, BG)
    c.cnv(0, 0, WIDTH, 26, TITLE_BG, label="DreamSound\\ Live", label_color="#ffffff", font=14, ldx=8, ldy=13)
    c.cnv(6, 32, 320, 388, PANEL_BG, label="controls", ldy=8)
    c.cnv(334, 32, 320, 388, PANEL_BG, label="feedback", ldy=8)
    c.cnv(6, 424, WIDTH - 12, 24, DISPLAY_BG, receive="$0-error-in", label="last\\ error:\\ -", ldy=12)

    # connection row (title bar)
    c.tgl(250, 5, "$0-conn-out", "$0-conn-in", label="on", label_color="#ffffff")
    c.symbolatom(300, 5, 14, "$0-host-in", "$0-host-out")
    c.floatatom(400, 5, 5, "$0-port-in", "$0-port-out")
    c.bng(450, 5, "$0-get-out", label="get", label_color="#ffffff")

    x0, xw = 12, 100  # left column: label x, widget x
    y = 50
    c.text(x0, y, "mode")
    c.hradio(xw, y, len(CONTROLS["mode"].choices), "$0-mode-out", "$0-mode-in")
    c.cnv(xw + 82, y, 130, 15, DISPLAY_BG, receive="$0-modename-in", label="-")
    y += 22
    c.text(x0, y, "layer")
    c.nbx(xw, y, 3, 0, len(CONTROLS["layer"].choices) - 1, "$0-layer-out", "$0-layer-in")
    c.cnv(xw + 40, y, 172, 15, DISPLAY_BG, receive="$0-layername-in", label="-")
    y += 26
    for address in SLIDERS:
        low, high, log = slider_range(address)
        c.text(x0, y, widget_label(address) + (" (log)" if log else ""))
        c.hsl(xw, y, low, high, log, f"$0-{address}-out", f"$0-{address}-in")
        c.floatatom(xw + 150, y, 8, f"$0-{address}-in", f"$0-{address}-out")
        y += 22
    y += 4
    for address in WHOLE:
        c.text(x0, y, widget_label(address))
        c.nbx(xw, y, 5, *slider_range(address)[:2], f"$0-{address}-out", f"$0-{address}-in")
        y += 22
    c.text(x0, y, "target class")
    c.nbx(xw, y, 4, *slider_range("target_class")[:2], "$0-target-out", "$0-target-in")
    c.symbolatom(xw + 50, y, 22, "$0-targetname-in", "$0-targetname-out")
    y += 22
    c.text(x0, y, "target sound")
    c.symbolatom(xw, y, 20, "$0-target_sound-in", "$0-target_sound-out")
    y += 22
    c.text(x0, y, "capture")
    c.bng(xw, y, "$0-capture-out")
    c.floatatom(xw + 22, y, 4, "$0-capsec-in", "$0-capsec-out", 0.1, 10)
    c.text(xw + 56, y, "seconds")
    y += 26
    for i, name in enumerate(TOGGLES):
        c.tgl(xw + 70 * i, y, f"$0-{name}-out", f"$0-{name}-in", label=name)
    c.text(x0, y, "switches")
    y += 26
    c.text(x0, y, "preset")
    c.nbx(xw, y, 3, 0, 127, "$0-preset-out", "$0-preset-in")
    c.bng(xw + 40, y, "$0-save-out", label="save")
    c.bng(xw + 90, y, "$0-load-out", label="load")
    c.cnv(xw + 140, y, 80, 15, DISPLAY_BG, receive="$0-presetmsg-in", label="-")
    y += 26
    c.text(x0, y, "find classes")
    c.symbolatom(xw, y, 16, "$0-classes-in", "$0-classes-out")
    c.floatatom(xw + 120, y, 4, "$0-count-in")
    c.text(xw + 152, y, "found")
    y += 20
    c.cnv(x0, y, 308, 15, DISPLAY_BG, receive="$0-matches-in", label="-")

    # right column: feedback
    fx, fw = 340, 440
    y = 50
    for side in ("input", "output"):
        c.text(fx, y, f"{side} class")
        c.floatatom(fw, y, 4, f"$0-{side}idx-in")
        c.floatatom(fw + 34, y, 6, f"$0-{side}score-in")
        c.text(fw + 84, y, "score")
        y += 20
        c.cnv(fx, y, 308, 15, DISPLAY_BG, receive=f"$0-{side}name-in", label="-")
        y += 26
    c.text(fx, y, "level in/out dB")
    c.floatatom(fw, y, 7, "$0-inlevel-in")
    c.floatatom(fw + 56, y, 7, "$0-outlevel-in")
    y += 24
    for _, receive, label in STATUS_SCALARS:
        c.text(fx, y, label)
        c.floatatom(fw, y, 8, f"$0-{receive}-in")
        y += 22
    c.text(fx, y, "latency ms")
    c.floatatom(fw, y, 8, "$0-latency-in")
    y += 22
    c.tgl(fw, y, "empty", "$0-recording-in", label="recording")
    c.symbolatom(fw + 100, y, 10, "$0-engine-in")  # dream engine: loading, dreaming, restarting, failed
    c.text(fx, y, "status")
    y += 26
    c.text(fx, y, "connected")
    c.tgl(fw, y, "empty", "$0-conn-in")
    c.cnv(fw + 24, y, 190, 15, DISPLAY_BG, receive="$0-where-in", label="-")

    # ---- logic (outside the graph-on-parent area) --------------------------------------
    ly = HEIGHT + 30
    c.text(10, ly - 20, "logic: widgets send to $0-NAME-out and are set from the replies through $0-NAME-in")
    inlet = c.obj(10, ly, "inlet")
    route_in = c.obj(10, ly + 30, "route connect disconnect")
    c.wire(inlet, 0, route_in)
    to_list = c.obj(170, ly + 60, "list")
    c.wire(route_in, 2, to_list)
    tx_in = c.obj(170, ly + 90, "s $0-tx")
    c.wire(to_list, 0, tx_in)

    # connect [HOST PORT]: store what is given, then connect
    c_list = c.obj(10, ly + 60, "list")
    c.wire(route_in, 0, c_list)
    c_trig = c.obj(10, ly + 90, "t b a")
    c.wire(c_list, 0, c_trig)
    do_connect_s = c.obj(10, ly + 150, "s $0-do-connect")
    c.wire(c_trig, 0, do_connect_s)
    args_in = c.obj(60, ly + 120, "s $0-args")
    c.wire(c_trig, 1, args_in)
    disconnect_in = c.obj(100, ly + 60, "s $0-disconnect")
    c.wire(route_in, 1, disconnect_in)

    # creation arguments → host and port registers; then connect unless the port is 0
    ax, ay = 10, ly + 200
    lb = c.obj(ax, ay, "loadbang")
    lb_t = c.obj(ax, ay + 25, "t b b b")
    c.wire(lb, 0, lb_t)
    args_msg = c.msg(ax + 130, ay + 25, "args")
    c.wire(lb_t, 2, args_msg)
    pdcontrol = c.obj(ax + 130, ay + 50, "pdcontrol")
    c.wire(args_msg, 0, pdcontrol)
    args_s = c.obj(ax + 130, ay + 75, "s $0-args")
    c.wire(pdcontrol, 0, args_s)
    init_msg = c.msg(ax + 65, ay + 55, "set 2")
    c.wire(lb_t, 1, init_msg)
    init_s = c.obj(ax + 65, ay + 80, "s $0-capsec-in")
    c.wire(init_msg, 0, init_s)
    do_connect_lb = c.obj(ax, ay + 110, "s $0-do-connect")
    c.wire(lb_t, 0, do_connect_lb)

    rx = ax + 240
    args_r = c.obj(rx, ay, "r $0-args")
    split_host = c.obj(rx, ay + 25, "list split 1")
    c.wire(args_r, 0, split_host)
    split_port = c.obj(rx + 80, ay + 50, "list split 1")
    c.wire(split_host, 1, split_port)
    host_r = c.obj(rx + 190, ay, "r $0-host-out")
    port_r = c.obj(rx + 290, ay, "r $0-port-out")
    host_t = c.obj(rx, ay + 80, "t s s")
    c.wire(split_host, 0, host_t)
    c.wire(host_r, 0, host_t)
    port_t = c.obj(rx + 80, ay + 80, "t f f")
    c.wire(split_port, 0, port_t)
    c.wire(port_r, 0, port_t)
    host_reg = c.obj(rx, ay + 140, "symbol 127.0.0.1")
    port_reg = c.obj(rx + 120, ay + 140, "f 9000")
    c.wire(host_t, 1, host_reg, 1)
    c.wire(port_t, 1, port_reg, 1)
    host_set = c.msg(rx + 190, ay + 110, "set $1")
    c.wire(host_t, 0, host_set)
    port_set = c.msg(rx + 250, ay + 110, "set $1")
    c.wire(port_t, 0, port_set)
    c.wire(host_set, 0, c.obj(rx + 190, ay + 135, "s $0-host-in"))
    c.wire(port_set, 0, c.obj(rx + 250, ay + 160, "s $0-port-in"))

    do_r = c.obj(rx, ay + 110, "r $0-do-connect")
    do_t = c.obj(rx, ay + 170, "t b b b")
    c.wire(do_r, 0, do_t)
    pack = c.obj(rx, ay + 230, "pack f s")
    c.wire(do_t, 0, port_reg)
    c.wire(port_reg, 0, pack)
    c.wire(do_t, 1, host_reg)
    c.wire(host_reg, 0, pack, 1)
    route_zero = c.obj(rx, ay + 255, "route 0")
    c.wire(pack, 0, route_zero)
    connect_msg = c.msg(rx, ay + 280, "connect $2 $1")
    c.wire(route_zero, 1, connect_msg)
    where_msg = c.msg(rx + 160, ay + 280, "label $2:$1")
    c.wire(route_zero, 1, where_msg)
    c.wire(where_msg, 0, c.obj(rx + 160, ay + 305, "s $0-where-in"))
    disconnect_msg = c.msg(rx + 120, ay + 200, "disconnect")
    c.wire(do_t, 2, disconnect_msg)  # a fresh socket every time (netsend refuses a second connect)

    # the connect toggle and the disconnect inlet message
    conn_r = c.obj(rx + 300, ay + 170, "r $0-conn-out")
    conn_sel = c.obj(rx + 300, ay + 195, "sel 0")
    c.wire(conn_r, 0, conn_sel)
    c.wire(conn_sel, 0, disconnect_msg)
    c.wire(conn_sel, 1, c.obj(rx + 340, ay + 220, "s $0-do-connect"))
    disc_r = c.obj(rx + 200, ay + 170, "r $0-disconnect")
    c.wire(disc_r, 0, disconnect_msg)

    # ---- network -------------------------------------------------------------------------
    nx, ny = 10, ay + 360
    netsend = c.obj(nx, ny + 150, "netsend -u -b")
    c.wire(connect_msg, 0, netsend)
    c.wire(disconnect_msg, 0, netsend)

    tx_r = c.obj(nx + 150, ny, "r $0-tx")
    gate = c.obj(nx + 150, ny + 25, "spigot")
    c.wire(tx_r, 0, gate)
    tx_t = c.obj(nx + 150, ny + 50, "t a a")
    c.wire(gate, 0, tx_t)
    split_args = c.obj(nx + 150, ny + 75, "list split 1")
    c.wire(tx_t, 0, split_args)
    split_addr = c.obj(nx + 250, ny + 50, "list split 1")
    c.wire(tx_t, 1, split_addr)
    set_addr = c.obj(nx + 250, ny + 75, "list prepend set dream")
    c.wire(split_addr, 0, set_addr)
    set_trim = c.obj(nx + 250, ny + 100, "list trim")
    c.wire(set_addr, 0, set_trim)
    oscformat = c.obj(nx + 150, ny + 125, "oscformat")
    c.wire(split_args, 1, oscformat)
    c.wire(set_trim, 0, oscformat)
    send_prepend = c.obj(nx + 150, ny + 150, "list prepend send")
    c.wire(oscformat, 0, send_prepend)
    send_trim = c.obj(nx + 150, ny + 175, "list trim")
    c.wire(send_prepend, 0, send_trim)
    c.wire(send_trim, 0, netsend)

    # connection state: open the gate, show it, ask for every value, tell the parent
    state_t = c.obj(nx, ny + 180, "t f f f f")
    c.wire(netsend, 0, state_t)
    c.wire(state_t, 3, gate, 1)
    state_set = c.msg(nx + 60, ny + 230, "set $1")
    c.wire(state_t, 2, state_set)
    c.wire(state_set, 0, c.obj(nx + 60, ny + 255, "s $0-conn-in"))
    state_sel = c.obj(nx + 120, ny + 230, "sel 1 0")
    c.wire(state_t, 1, state_sel)
    get_msg = c.msg(nx + 120, ny + 255, "get")
    c.wire(state_sel, 0, get_msg)
    c.wire(get_msg, 0, c.obj(nx + 120, ny + 280, "s $0-tx"))
    # while connected, /dream/ping every third of osc.client_timeout keeps the replies and status coming
    beat = f"{HEARTBEAT_MS:.0f}"
    beat_del = c.obj(nx + 190, ny + 255, f"del {beat}")
    c.wire(state_sel, 0, beat_del)
    beat_metro = c.obj(nx + 190, ny + 280, f"metro {beat}")
    c.wire(beat_del, 0, beat_metro)
    beat_stop = c.msg(nx + 260, ny + 230, "stop")
    c.wire(state_sel, 1, beat_stop)
    c.wire(beat_stop, 0, beat_del)
    c.wire(beat_stop, 0, beat_metro)
    ping_msg = c.msg(nx + 190, ny + 305, "ping")
    c.wire(beat_metro, 0, ping_msg)
    c.wire(ping_msg, 0, c.obj(nx + 190, ny + 330, "s $0-tx"))
    connected_msg = c.msg(nx, ny + 305, "connected $1")
    c.wire(state_t, 0, connected_msg)
    outlet = c.obj(nx, ny + 400, "outlet")
    c.wire(connected_msg, 0, outlet)

    # incoming: /dream/a/b x y → "a b x y" to the outlet and to the widgets
    oscparse = c.obj(nx + 30, ny + 330, "oscparse")
    c.wire(netsend, 1, oscparse)
    rx_trim = c.obj(nx + 30, ny + 355, "list trim")
    c.wire(oscparse, 0, rx_trim)
    route_dream = c.obj(nx + 30, ny + 380, "route dream")
    c.wire(rx_trim, 0, route_dream)
    rx_t = c.obj(nx + 30, ny + 405, "t a a")
    c.wire(route_dream, 0, rx_t)
    c.wire(rx_t, 0, outlet)
    c.wire(rx_t, 1, c.obj(nx + 110, ny + 430, "s $0-rx"))

    # ---- widgets → server -------------------------------------------------------------------
    wx, wy = 560, ly
    c.text(wx, wy - 20, "widgets -> /dream/ADDRESS")
    sends = [(name, name) for name in ("mode", "layer", *SCALARS, "target", "target_sound")]
    sends += [("targetname", "target"), ("classes", "classes"), ("get", "get")]
    for i, (widget, address) in enumerate(sends):
        x, y = wx + 150 * (i % 4), wy + 75 * (i // 4)
        r = c.obj(x, y, f"r $0-{widget}-out")
        p = c.obj(x, y + 22, f"list prepend {address}")
        s = c.obj(x, y + 44, "s $0-tx")
        c.chain(r, p, s)
    # capture SECONDS, preset save/load N
    y = wy + 75 * ((len(sends) + 3) // 4)
    cap_r = c.obj(wx, y, "r $0-capture-out")
    cap_sec = c.obj(wx + 120, y, "r $0-capsec-out")
    cap_f = c.obj(wx, y + 22, "f 2")
    c.wire(cap_r, 0, cap_f)
    c.wire(cap_sec, 0, cap_f, 1)
    cap_p = c.obj(wx, y + 44, "list prepend target_sound/capture")
    c.chain(cap_f, cap_p, c.obj(wx, y + 66, "s $0-tx"))
    pre_r = c.obj(wx + 300, y, "r $0-preset-out")
    for j, (bang, address) in enumerate((("save", "preset/save"), ("load", "preset/load"))):
        x = wx + 300 + 150 * j
        b = c.obj(x, y + 22, f"r $0-{bang}-out")
        f = c.obj(x, y + 44, "f")
        c.wire(b, 0, f)
        c.wire(pre_r, 0, f, 1)
        p = c.obj(x, y + 66, f"list prepend {address}")
        c.chain(f, p, c.obj(x, y + 88, "s $0-tx"))

    # ---- server → widgets ---------------------------------------------------------------------
    vx, vy = wx, y + 140
    c.text(vx, vy - 20, "replies -> widgets (set: no output)")
    rx_r = c.obj(vx, vy, "r $0-rx")
    route_values = c.obj(vx, vy + 25, "route " + " ".join(SCALARS))
    c.wire(rx_r, 0, route_values)
    for i, name in enumerate(SCALARS):
        x = vx + 80 * (i % 7)
        yy = vy + 55 + 50 * (i // 7)
        m = c.msg(x, yy, "set $1")
        c.wire(route_values, i, m)
        c.wire(m, 0, c.obj(x, yy + 22, f"s $0-{name}-in"))
    route_more = c.obj(vx, vy + 170, "route mode layer target target_sound status preset classes error")
    c.wire(route_values, len(SCALARS), route_more)

    def index_name(outlet: int, x: int, number_in: str, name_in: str, name_msg: str) -> None:
        unpack = c.obj(x, vy + 200, "unpack f s")
        c.wire(route_more, outlet, unpack)
        n = c.msg(x, vy + 225, "set $1")
        c.wire(unpack, 0, n)
        c.wire(n, 0, c.obj(x, vy + 250, f"s {number_in}"))
        s = c.msg(x + 45, vy + 275, f"{name_msg} $1")
        c.wire(unpack, 1, s)
        c.wire(s, 0, c.obj(x + 45, vy + 300, f"s {name_in}"))

    index_name(0, vx, "$0-mode-in", "$0-modename-in", "label")
    index_name(1, vx + 120, "$0-layer-in", "$0-layername-in", "label")
    index_name(2, vx + 240, "$0-target-in", "$0-targetname-in", "set")
    ts_list = c.obj(vx + 360, vy + 200, "list")
    c.wire(route_more, 3, ts_list)
    ts_set = c.msg(vx + 360, vy + 225, "set $1")
    c.wire(ts_list, 0, ts_set)
    c.wire(ts_set, 0, c.obj(vx + 360, vy + 250, "s $0-target_sound-in"))

    # status
    sy = vy + 340
    status_words = ("input_class output_class levels rate iterations iterations_per_sample xruns dropped latency"
                    " recording engine")
    route_status = c.obj(vx, sy, f"route {status_words}")
    c.wire(route_more, 4, route_status)
    for i, side in enumerate(("input", "output")):
        x = vx + 200 * i
        unpack = c.obj(x, sy + 30, "unpack f f s")
        c.wire(route_status, i, unpack)
        for j, (what, msg) in enumerate((("idx", "set"), ("score", "set"), ("name", "label"))):
            m = c.msg(x + 60 * j, sy + 55 + 10 * j, f"{msg} $1")
            c.wire(unpack, j, m)
            c.wire(m, 0, c.obj(x + 60 * j, sy + 80 + 10 * j, f"s $0-{side}{what}-in"))
    levels = c.obj(vx + 400, sy + 30, "unpack f f")
    c.wire(route_status, 2, levels)
    for j, side in enumerate(("in", "out")):
        m = c.msg(vx + 400 + 60 * j, sy + 55, "set $1")
        c.wire(levels, j, m)
        c.wire(m, 0, c.obj(vx + 400 + 60 * j, sy + 80, f"s $0-{side}level-in"))
    for i, (_, receive, _) in enumerate(STATUS_SCALARS):
        x = vx + 80 * i
        m = c.msg(x, sy + 130, "set $1")
        c.wire(route_status, 3 + i, m)
        c.wire(m, 0, c.obj(x, sy + 155, f"s $0-{receive}-in"))
    ms = c.obj(vx + 320, sy + 105, "* 1000")
    c.wire(route_status, 3 + len(STATUS_SCALARS), ms)
    m = c.msg(vx + 320, sy + 130, "set $1")
    c.wire(ms, 0, m)
    c.wire(m, 0, c.obj(vx + 320, sy + 155, "s $0-latency-in"))
    m = c.msg(vx + 400, sy + 130, "set $1")
    c.wire(route_status, 4 + len(STATUS_SCALARS), m)
    c.wire(m, 0, c.obj(vx + 400, sy + 155, "s $0-recording-in"))
    engine = c.obj(vx + 480, sy + 105, "symbol")
    c.wire(route_status, 5 + len(STATUS_SCALARS), engine)
    m = c.msg(vx + 480, sy + 130, "set $1")
    c.wire(engine, 0, m)
    c.wire(m, 0, c.obj(vx + 480, sy + 155, "s $0-engine-in"))

    # presets: "preset save N" / "preset load N"
    py = sy + 200
    route_preset = c.obj(vx, py, "route save load")
    c.wire(route_more, 5, route_preset)
    for j, word in enumerate(("saved", "loaded")):
        x = vx + 130 * j
        t = c.obj(x, py + 25, "t f f")
        c.wire(route_preset, j, t)
        m = c.msg(x, py + 75, "set $1")
        c.wire(t, 1, m)
        c.wire(m, 0, c.obj(x, py + 100, "s $0-preset-in"))
        mf = c.obj(x + 40, py + 50, f"makefilename {word}\\ %d")
        c.wire(t, 0, mf)
        lab = c.msg(x + 40, py + 75, "label $1")
        c.wire(mf, 0, lab)
        c.wire(lab, 0, c.obj(x + 40, py + 100, "s $0-presetmsg-in"))

    # class search: "classes count N" then "classes match I NAME" (the first 4 names shown)
    cy = py + 140
    route_classes = c.obj(vx, cy, "route count match")
    c.wire(route_more, 6, route_classes)
    count_t = c.obj(vx, cy + 25, "t f b b")
    c.wire(route_classes, 0, count_t)
    count_set = c.msg(vx, cy + 50, "set $1")
    c.wire(count_t, 0, count_set)
    c.wire(count_set, 0, c.obj(vx, cy + 75, "s $0-count-in"))
    clear_label = c.msg(vx + 60, cy + 50, "label empty")
    c.wire(count_t, 1, clear_label)
    c.wire(clear_label, 0, c.obj(vx + 60, cy + 75, "s $0-matches-in"))
    zero = c.msg(vx + 150, cy + 50, "0")
    c.wire(count_t, 2, zero)
    match = c.obj(vx + 250, cy + 25, "unpack f s")
    c.wire(route_classes, 1, match)
    match_t = c.obj(vx + 300, cy + 50, "t s b")
    c.wire(match, 1, match_t)
    counter = c.obj(vx + 400, cy + 75, "f")
    plus = c.obj(vx + 440, cy + 75, "+ 1")
    c.wire(match_t, 1, counter)
    c.wire(counter, 0, plus)
    c.wire(plus, 0, counter, 1)
    c.wire(zero, 0, counter, 1)
    below = c.obj(vx + 400, cy + 100, "< 4")
    c.wire(counter, 0, below)
    gate6 = c.obj(vx + 300, cy + 125, "spigot 1")
    c.wire(below, 0, gate6, 1)
    c.wire(match_t, 0, gate6)
    codes = c.obj(vx + 300, cy + 150, "list fromsymbol")
    c.wire(gate6, 0, codes)
    sep = c.obj(vx + 300, cy + 175, "list prepend 44 32")
    c.wire(codes, 0, sep)
    acc = c.obj(vx + 300, cy + 200, "list prepend")
    c.wire(sep, 0, acc)
    acc_t = c.obj(vx + 300, cy + 225, "t a a")
    c.wire(acc, 0, acc_t)
    c.wire(acc_t, 1, acc, 1)
    c.wire(count_t, 2, acc, 1)  # a bang empties the list
    strip = c.obj(vx + 300, cy + 250, "list split 2")
    c.wire(acc_t, 0, strip)
    to_symbol = c.obj(vx + 300, cy + 275, "list tosymbol")
    c.wire(strip, 1, to_symbol)
    matches_label = c.msg(vx + 300, cy + 300, "label $1")
    c.wire(to_symbol, 0, matches_label)
    c.wire(matches_label, 0, c.obj(vx + 300, cy + 325, "s $0-matches-in"))

    # errors: "error ADDRESS REASON" -> "last error: ADDRESS: REASON" on one label
    ey = cy + 370
    err_list = c.obj(vx, ey, "list")
    c.wire(route_more, 7, err_list)
    err_unpack = c.obj(vx, ey + 25, "unpack s s")
    c.wire(err_list, 0, err_unpack)
    reason_codes = c.obj(vx + 100, ey + 50, "list fromsymbol")
    c.wire(err_unpack, 1, reason_codes)
    address_codes = c.obj(vx, ey + 50, "list fromsymbol")
    c.wire(err_unpack, 0, address_codes)
    colon = c.obj(vx, ey + 75, "list append 58 32")
    c.wire(address_codes, 0, colon)
    join = c.obj(vx, ey + 100, "list append")
    c.wire(colon, 0, join)
    c.wire(reason_codes, 0, join, 1)
    prefix = " ".join(str(ord(ch)) for ch in "last error: ")
    head = c.obj(vx, ey + 125, f"list prepend {prefix}")
    c.wire(join, 0, head)
    err_symbol = c.obj(vx, ey + 150, "list tosymbol")
    c.wire(head, 0, err_symbol)
    err_label = c.msg(vx, ey + 175, "label $1")
    c.wire(err_symbol, 0, err_label)
    c.wire(err_label, 0, c.obj(vx, ey + 200, "s $0-error-in"))

    # [dreamsound] with no host (or no port): the defaults go through the argument path, so the title bar
    # shows 127.0.0.1 9000 (created last, so the objects above keep their numbers)
    default_host = c.msg(rx + 40, ay + 50, "127.0.0.1 9000")
    c.wire(split_host, 2, default_host)
    c.wire(default_host, 0, split_host)
    default_port = c.msg(rx + 150, ay + 75, "9000")
    c.wire(split_port, 2, default_port)
    c.wire(default_port, 0, port_t)
    return c.render()


def main() -> None:
    TARGET.write_text(build())
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
