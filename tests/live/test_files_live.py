"""Recording over OSC into a folder that cannot take it: /dream/error, the switch back off, the music on."""

from __future__ import annotations

import dataclasses

from .livehelpers import SPEECH_AND_CAT, live_config, need
from .test_osc_live import engine_with_osc


def test_osc_record_into_an_unwritable_folder_answers_error_and_the_performance_goes_on(jack, tmp_path):
    settings = live_config(input_file=str(need(SPEECH_AND_CAT)), input_loop=True)
    settings = dataclasses.replace(settings, record=dataclasses.replace(settings.record, dir="/proc/takes"))
    messages: list[str] = []
    with engine_with_osc(settings, tmp_path, messages) as (engine, client):
        client.send("/dream/record", (1, "i"))
        reason = client.expect("/dream/error", timeout=5)[1]
        assert "cannot record into /proc/takes" in reason, reason
        frames = engine.metrics.frames
        assert engine.wait(0.5) == 0 and engine.metrics.frames >= frames + 0.4 * settings.audio.samplerate
        assert client.expect("/dream/record", timeout=5, where=lambda p: p == [0]) == [0]  # the toggle goes off
        assert engine.stream is not None and engine.stream.active and not engine.takes
        assert engine.controls.get("record") is False
        assert engine.metrics.record_error == reason
    assert any("cannot record into /proc/takes" in m for m in messages)
