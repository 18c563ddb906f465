"""The Pure Data panel: loads in the real Pd, builds only namespace addresses, and talks OSC both ways."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from oscecho import HERE, PATCHES, EchoServer, load_script, pd_problems, read_pd, run_pd

from instrument.osc import namespace as ns

PANEL = PATCHES / "dreamsound.pd"
DRIVE = HERE / "drive.pd"

# Everything the panel may receive: parameters, status, errors and the answers to actions.
REPLY_PATHS = (
    set(ns.BY_PATH) | {path for path, _, _ in ns.STATUS} | {ns.ERROR_PATH}
    | {"/dream/classes/count", "/dream/classes/match", "/dream/preset/save", "/dream/preset/load"}
)
SEND_PATHS = set(ns.BY_PATH) | set(ns.ACTION_PATHS)


def test_the_problem_filter_sees_a_broken_patch(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pd"
    broken.write_text("#N canvas 0 0 300 200 10;\n#X obj 10 10 no-such-object-here;\n#X obj 10 40 oscformat;\n")
    result = run_pd("-open", str(broken), "-send", "pd quit")
    assert any("couldn't create" in line for line in pd_problems(result.stderr)), result.stderr


def test_panel_loads_in_pd_without_errors() -> None:
    result = run_pd("-open", str(PANEL), "-send", "pd quit")
    assert result.returncode == 0, result.stderr
    assert pd_problems(result.stderr) == []


def test_panel_is_what_build_pd_writes() -> None:
    assert PANEL.read_text() == load_script("build_pd").build(), "run: .venv/bin/python patches/build_pd.py"


def test_panel_is_a_graph_on_parent_abstraction_with_one_inlet_and_one_outlet() -> None:
    text = PANEL.read_text()
    coords = [line for line in text.splitlines() if line.startswith("#X coords")]
    assert len(coords) == 1 and int(coords[0].split()[8]) in (1, 2, 3), coords  # graph on parent
    canvas = read_pd(PANEL)
    assert len(canvas.find("inlet")) == 1
    assert len(canvas.find("outlet")) == 1
    assert canvas.find("pdcontrol"), "creation arguments are read with [pdcontrol]"
    assert canvas.find("netsend -u -b") and canvas.find("oscparse") and canvas.find("oscformat")


def test_every_address_the_panel_sends_is_in_the_namespace_and_every_one_is_reachable() -> None:
    canvas = read_pd(PANEL)
    senders = canvas.find("s $0-tx")
    assert senders
    built: set[str] = set()
    for sender in senders:
        for source, _ in canvas.sources(sender.index):
            if source.text.startswith("list prepend "):
                built.add("/dream/" + source.text.removeprefix("list prepend "))
            elif source.kind == "msg":
                built.add("/dream/" + source.text.split()[0])
            # the inlet passes "ADDRESS args" through [list]: checked by the drive tests
            elif source.text != "list":
                raise AssertionError(f"unexpected sender into $0-tx: {source.text}")
    assert built - SEND_PATHS == set(), "addresses the instrument does not know"
    assert SEND_PATHS - built == set(), "namespace addresses the panel has no widget for"
    # and every one of them gets the /dream prefix on the way out
    assert canvas.find("list prepend set dream")


def _routed(canvas, obj, prefix: str, leaves: set[str]) -> None:
    words = obj.text.split()[1:]
    for outlet, word in enumerate(words):
        onward = [o for o in canvas.sinks(obj.index, outlet) if o.text.startswith("route ")]
        for sink in onward:
            _routed(canvas, sink, f"{prefix}/{word}", leaves)
        if not onward:
            leaves.add(f"{prefix}/{word}")
    for sink in canvas.sinks(obj.index, len(words)):  # rejected: the next [route] at the same level
        if sink.text.startswith("route "):
            _routed(canvas, sink, prefix, leaves)


def test_every_reply_the_panel_routes_is_in_the_namespace_and_every_one_is_shown() -> None:
    canvas = read_pd(PANEL)
    (receive,) = canvas.find("r $0-rx")
    leaves: set[str] = set()
    for sink in canvas.sinks(receive.index, 0):
        _routed(canvas, sink, "/dream", leaves)
    assert leaves - REPLY_PATHS == set(), "routes for addresses the instrument never sends"
    assert REPLY_PATHS - leaves == set(), "replies the panel does not show"


def _float32(value: float) -> float:
    import struct

    return struct.unpack("f", struct.pack("f", value))[0]


def test_drive_harness_sends_controls_and_prints_the_feedback() -> None:
    """drive.pd uses the panel as an abstraction; the echo server answers /dream/threshold like the instrument."""
    replies = {"/dream/threshold": [("/dream/threshold", [0.42])]}
    with EchoServer(replies) as server:
        result = run_pd("-open", str(DRIVE), "-send", f"drive-start {server.port} 1", timeout=20)
    assert result.returncode == 0, result.stderr
    assert pd_problems(result.stderr) == []
    (threshold,) = server.args_of("/dream/threshold")
    assert len(threshold) == 1 and isinstance(threshold[0], float)
    assert math.isclose(threshold[0], _float32(0.42), rel_tol=1e-6)
    assert server.args_of("/dream/mode") == [["deepdream"]]
    assert server.args_of("/dream/target") == [["Dog"]]
    assert server.args_of("/dream/get") == [[]], "the panel asks for every value when it connects"
    assert "CONNECTED: 1" in result.stderr
    feedback = [line for line in result.stderr.splitlines() if line.startswith("FEEDBACK:")]
    assert feedback == ["FEEDBACK: threshold 0.42"], result.stderr


def test_creation_arguments_connect_on_load_and_the_outlet_passes_replies(tmp_path: Path) -> None:
    """[dreamsound 127.0.0.1 PORT] connects by itself, asks for everything and passes what comes back."""
    replies = {"/dream/get": [
        ("/dream/mode", [1, "deepdream"]),
        ("/dream/status/input_class", [0, 0.5, "Speech synthesizer"]),
        ("/dream/error", ["/dream/x", "unknown address"]),
    ]}
    with EchoServer(replies) as server:
        parent = tmp_path / "parent.pd"
        parent.write_text(
            "#N canvas 0 0 400 300 10;\n"
            f"#X declare -path {PATCHES};\n"
            f"#X obj 10 10 dreamsound 127.0.0.1 {server.port};\n"
            "#X obj 10 40 route connected;\n"
            "#X obj 10 70 t b a;\n"
            "#X obj 100 100 print FEEDBACK;\n"
            "#X obj 10 100 f;\n"
            "#X obj 50 100 + 1;\n"
            "#X obj 10 130 sel 3;\n"
            "#X msg 10 160 \\; pd quit;\n"
            "#X connect 0 0 1 0;\n#X connect 1 1 2 0;\n#X connect 2 1 3 0;\n#X connect 2 0 4 0;\n"
            "#X connect 4 0 5 0;\n#X connect 5 0 4 1;\n#X connect 5 0 6 0;\n#X connect 6 0 7 0;\n"
        )
        result = run_pd("-open", str(parent), timeout=20)
    assert result.returncode == 0, result.stderr
    assert pd_problems(result.stderr) == []
    assert server.args_of("/dream/get") == [[]]
    feedback = [line for line in result.stderr.splitlines() if line.startswith("FEEDBACK:")]
    assert feedback == [
        "FEEDBACK: mode 1 deepdream",
        "FEEDBACK: status input_class 0 0.5 Speech\\ synthesizer",
        "FEEDBACK: error /dream/x unknown\\ address",
    ]


def test_inlet_messages_become_dream_addresses(tmp_path: Path) -> None:
    """Anything but connect/disconnect at the inlet goes out as /dream/ADDRESS with its arguments."""
    replies = {"/dream/get": [("/dream/get", [])]}  # one answer, after everything below was sent
    with EchoServer(replies) as server:
        parent = tmp_path / "inlet.pd"
        parent.write_text(
            "#N canvas 0 0 400 300 10;\n"
            f"#X declare -path {PATCHES};\n"
            "#X obj 10 10 loadbang;\n"
            f"#X msg 10 40 connect 127.0.0.1 {server.port} \\, preset/save 3 \\, target_sound/capture 1.5 \\,"
            " classes dog \\, layer embeddings \\, target -1 \\, flip 1 \\, disconnect \\, iterations 5 \\,"
            f" connect 127.0.0.1 {server.port};\n"
            "#X obj 10 80 dreamsound 127.0.0.1 0;\n"
            "#X obj 10 110 route connected;\n"
            "#X msg 100 140 \\; pd quit;\n"
            "#X connect 0 0 1 0;\n#X connect 1 0 2 0;\n#X connect 2 0 3 0;\n#X connect 3 1 4 0;\n"
        )
        result = run_pd("-open", str(parent), timeout=20)
    assert result.returncode == 0, result.stderr
    assert pd_problems(result.stderr) == []
    sent = [(r.address, r.args) for r in server.received]
    assert sent == [
        ("/dream/get", []),
        ("/dream/preset/save", [3.0]),
        ("/dream/target_sound/capture", [1.5]),
        ("/dream/classes", ["dog"]),
        ("/dream/layer", ["embeddings"]),
        ("/dream/target", [-1.0]),
        ("/dream/flip", [1.0]),
        # disconnected: "iterations 5" is not sent; reconnecting asks for every value again
        ("/dream/get", []),
    ]


@pytest.mark.parametrize("script", ["build_pd", "build_maxpat", "reference"])
def test_patch_scripts_import(script: str) -> None:
    assert load_script(script).__doc__


@pytest.mark.parametrize("script", ["render_maxpat", "screenshot_pd", "write_config_yaml"])
def test_picture_and_config_tools_import(script: str) -> None:
    assert load_script(script, PATCHES.parent / "tools").__doc__
