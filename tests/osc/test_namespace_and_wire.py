"""OSC values as Pd and Max send them, and replies they can read."""

from __future__ import annotations

import pytest
from pythonosc.osc_message import OscMessage

from instrument.errors import DreamSoundError
from instrument.osc import namespace as ns
from instrument.osc.wire import MAX_PACKET, message


def _tags(data: bytes) -> str:
    return data[data.index(b",") + 1 :].split(b"\0", 1)[0].decode()


@pytest.mark.parametrize(
    ("address", "args", "value"),
    [
        ("/dream/threshold", [0.5], 0.5),
        ("/dream/threshold", [1], 1.0),  # Max sends ints
        ("/dream/iterations", [12.0], 12),  # Pd sends every number as a float
        ("/dream/flip", [1.0], True),
        ("/dream/freeze", [0], False),
        ("/dream/mode", ["filter"], "filter"),
        ("/dream/mode", [1.0], "deepdream"),
        ("/dream/layer", ["layer10"], "layer10"),
        ("/dream/target", [-1.0], None),
        ("/dream/target", ["auto"], None),
        ("/dream/target", [69.0], 69),
        ("/dream/target", ["Dog"], "Dog"),
    ],
)
def test_values_from_pd_and_max_are_understood(address, args, value):
    from instrument.live.controls import Controls

    parameter = ns.BY_PATH[address]
    accepted = Controls().set(parameter.name, ns.parse(parameter, args))  # as the server hands it on
    assert accepted == value and type(accepted) is type(value)


@pytest.mark.parametrize(
    ("address", "args", "reason"),
    [
        ("/dream/iterations", [2.5], "whole number"),
        ("/dream/flip", [2], r"true or false \(or 1/0\)"),
        ("/dream/mode", ["dreamy"], "mode 'dreamy' is not allowed"),
        ("/dream/mode", [9], "out of range; allowed: 0 to 4"),
        ("/dream/threshold", ["high"], "must be a number"),
        ("/dream/threshold", [], "one value"),
        ("/dream/threshold", [0.1, 0.2], "one value"),
    ],
)
def test_wrong_types_and_counts_are_refused_with_a_reason(address, args, reason):
    from instrument.live.controls import Controls

    parameter = ns.BY_PATH[address]
    with pytest.raises(DreamSoundError, match=reason):
        Controls().set(parameter.name, ns.parse(parameter, args))  # as the server hands it on


def test_replies_use_only_int_float_and_string():
    data = message("/dream/x", [True, False, 3, 2.5, "name", 2**40, float("nan")])
    assert _tags(data) == "iiifsff"
    decoded = OscMessage(data).params
    assert decoded[:5] == [1, 0, 3, 2.5, "name"] and decoded[6] == 0.0


def test_packets_stay_under_eight_kilobytes():
    with pytest.raises(ValueError, match="limit 8192"):
        message("/dream/classes/match", ["x" * MAX_PACKET])


def test_every_reply_of_the_namespace_has_numbers_first():
    for parameter in ns.PARAMETERS:
        sample = {"choice": parameter.spec.choices[0] if parameter.spec.choices else None, "float": 0.5, "int": 3,
                  "bool": True, "class": 69, "text": "a.wav"}[parameter.kind]
        args = ns.reply(parameter, sample, lambda v: (int(v), "Dog"))
        tags = _tags(message(parameter.path, args))
        assert tags.lstrip("if") in ("", "s"), (parameter.path, tags)


def test_a_huge_unknown_address_is_refused_without_stopping_the_server():
    """Error replies echo the address: they are cut so the reply still fits one packet."""
    from pythonosc.osc_message_builder import OscMessageBuilder

    from instrument.live.controls import Controls
    from instrument.osc.server import OscServer
    from instrument.settings import OscSettings

    class Nothing:
        controls = Controls()

    server = OscServer(Nothing(), OscSettings(port=0, status_rate=0, oscquery=False))
    server.start()
    try:
        server.handle_packet(OscMessageBuilder("/dream/" + "x" * 9000).build().dgram, ("127.0.0.1", 9))
        assert server.counts["refused"] == 1
    finally:
        server.stop()
