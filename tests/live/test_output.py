"""Ring buffer, grain player (overlap-add, hold when late), limiter, and the callback's block processing."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from instrument.live.callback import AudioCallback
from instrument.live.controls import Controls
from instrument.live.metrics import Metrics
from instrument.live.output import GrainPlayer, Limiter, crossfade_envelope
from instrument.live.ringbuffer import RingBuffer
from instrument.settings import LiveSettings


def test_ring_buffer_wraps_and_reads_by_absolute_frame() -> None:
    ring = RingBuffer(10)
    ring.write(np.arange(7, dtype=np.float32))
    ring.write(np.arange(7, 14, dtype=np.float32))
    assert ring.written == 14
    out = np.zeros(5, np.float32)
    assert ring.read(9, out)
    assert out.tolist() == [9, 10, 11, 12, 13]
    assert not ring.read(2, out)  # overwritten
    assert not ring.read(12, out)  # not written yet
    assert ring.read_latest(out) == 14
    assert out.tolist() == [9, 10, 11, 12, 13]


def test_ring_buffer_latest_before_enough_frames_is_zero_padded() -> None:
    ring = RingBuffer(16, channels=1)
    ring.write(np.ones(3, np.float32))
    out = np.full(6, 7.0, np.float32)
    assert ring.read_latest(out) == 3
    assert out.tolist() == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize("overlap", [0.5, 0.3, 0.1])
def test_envelope_sums_to_unity_at_hop_spacing(overlap: float) -> None:
    window = 46800
    hop = round(window * (1 - overlap))
    env = crossfade_envelope(window, hop)
    total = np.zeros(window * 4, np.float64)
    for start in range(0, total.size - window, hop):
        total[start : start + window] += env
    steady = total[window : 3 * window]
    assert np.allclose(steady, 1.0, atol=1e-5)


def _render(player: GrainPlayer, frames: int, blocks: list[int]) -> np.ndarray:
    out = np.zeros(frames, np.float32)
    pos = 0
    i = 0
    while pos < frames:
        n = min(blocks[i % len(blocks)], frames - pos)
        player.render(out[pos : pos + n], pos)
        pos += n
        i += 1
    return out


def test_grain_player_overlap_adds_published_windows_in_any_block_size() -> None:
    window, hop = 1000, 500
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(window).astype(np.float32), rng.standard_normal(window).astype(np.float32)
    env = crossfade_envelope(window, hop)

    def play(blocks: list[int]) -> np.ndarray:
        player = GrainPlayer(window, hop, max_block=512)
        player.buffers[0] = a
        player.publish(0, capture_end=0)
        first = _render(player, hop, blocks)
        player.buffers[1] = b
        player.publish(1, capture_end=hop)
        rest = _render(player, 2 * window, blocks)
        return np.concatenate([first, rest])

    first_env = env.copy()
    first_env[: window // 2] = 1.0  # the first grain has no grain to crossfade with: it starts at full level
    expected = np.zeros(hop + 2 * window, np.float32)
    expected[0:window] += a * first_env
    expected[hop : hop + window] += b * env
    expected[2 * hop : 2 * hop + window] += b * env  # nothing newer: b is held (replayed)
    for blocks in ([256], [37, 500, 1], [512]):
        np.testing.assert_allclose(play(blocks)[: 3 * hop], expected[: 3 * hop], atol=1e-6)


def test_grain_player_holds_the_last_window_without_gaps_or_clicks() -> None:
    window, hop = 4800, 2400
    t = np.arange(window) / 48000
    tone = (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    player = GrainPlayer(window, hop, max_block=256)
    silent_start = _render(player, 1000, [256])
    assert not silent_start.any()  # nothing published yet: silence
    player.buffers[2] = tone
    player.publish(2, capture_end=0)
    starts = []
    out = np.zeros(window * 10, np.float32)
    for pos in range(0, out.size, 256):
        player.render(out[pos : pos + 256], pos, lambda slot, frame, fresh: starts.append(fresh))
    # The worker never publishes again: the window keeps playing, crossfaded with itself.
    assert starts[0] is True and not any(starts[1:]) and len(starts) > 10
    steady = out[2 * window :]
    rms = np.sqrt(np.convolve(steady**2, np.ones(240) / 240, mode="valid"))
    assert rms.min() > 0.05  # no gap anywhere
    assert np.abs(np.diff(steady)).max() < 0.1  # no clicks (a jump would be up to 1.0)


def test_limiter_keeps_every_sample_under_the_ceiling_and_removes_nan() -> None:
    limiter = Limiter(48000, 512)
    ceiling = 10 ** (-1 / 20)
    x = np.full(256, 0.2, np.float32)
    x[100] = 50.0
    x[101] = np.nan
    x[102] = np.inf
    x[103] = -np.inf
    limiter.process(x, ceiling)
    assert np.all(np.isfinite(x))
    assert np.abs(x).max() <= ceiling + 1e-7
    quiet = np.full(256, 0.2, np.float32)
    for _ in range(200):  # release: the gain comes back up to unity
        block = quiet.copy()
        limiter.process(block, ceiling)
    assert limiter.gain == pytest.approx(1.0)
    np.testing.assert_allclose(block, quiet)


def _callback(
    mix: float = 1.0,
    gain: float = 0.0,
    block: int = 256,
    file: np.ndarray | None = None,
    channels=None,
    dreaming: bool = True,
    standby: str = "dry",
) -> AudioCallback:
    """A callback as the engine builds it; ``dreaming``: a dream engine is up and the level is at once 1."""
    controls = Controls(live=LiveSettings(mix=mix, gain=gain))
    window, hop = 4800, 2400
    callback = AudioCallback(
        samplerate=48000,
        max_block=block,
        input_channels=channels,
        ring=RingBuffer(4 * window),
        player=GrainPlayer(window, hop, block),
        controls=controls,
        metrics=controls.metrics_source,
        record_ring=RingBuffer(48000, channels=2),
        input_file=file,
        standby=standby,
        fade_seconds=0.0 if dreaming else 0.01,
    )
    callback.dream_gate = dreaming
    return callback


@pytest.mark.parametrize("standby", ["dry", "silence"])
def test_standby_sound_until_dreams_play_then_a_smooth_fade_to_the_mix(standby: str) -> None:
    cb = _callback(mix=0.75, gain=-6.0, dreaming=False, standby=standby)
    gain = 10 ** (-6 / 20)
    indata = np.full((256, 1), 0.4, np.float32)
    outdata = np.zeros((256, 1), np.float32)
    cb.player.buffers[0] = 0.2
    cb.player.publish(0, capture_end=0)  # a dreamed window arrives, but no dream engine is up (gate closed)
    for _ in range(4):
        cb(indata, outdata, 256, None, None)
    standby_level = 0.4 * gain if standby == "dry" else 0.4 * 0.25 * gain
    np.testing.assert_allclose(outdata[:, 0], standby_level, atol=1e-6)
    cb.dream_gate = True  # the dream engine is ready: the next fresh dreamed grain fades the mix in
    cb.player.buffers[1] = 0.2
    cb.player.publish(1, capture_end=256)
    got = []
    for _ in range(40):
        cb(indata, outdata, 256, None, None)
        got.append(outdata[:, 0].copy())
    got = np.concatenate(got)
    mixed = (0.4 * 0.25 + 0.2 * 0.75) * gain
    np.testing.assert_allclose(got[-256:], mixed, atol=1e-5)
    assert np.abs(np.diff(got)).max() < 0.01 * abs(mixed - standby_level) + 1e-6  # a ramp, not a step
    cb.dream_gate = False  # the dream engine died: back to the standby sound, as smoothly
    for _ in range(40):
        cb(indata, outdata, 256, None, None)
    np.testing.assert_allclose(outdata[:, 0], standby_level, atol=1e-6)


def test_callback_mixes_dry_and_wet_to_every_channel_and_never_passes_nan() -> None:
    cb = _callback(mix=0.5)
    cb.player.buffers[0] = np.nan  # a broken window must not reach the device
    cb.player.publish(0, capture_end=0)
    indata = np.full((256, 2), 0.25, np.float32)
    outdata = np.zeros((256, 3), np.float32)
    cb(indata, outdata, 256, None, None)
    assert np.all(np.isfinite(outdata))
    assert np.all(outdata[:, 0] == outdata[:, 2])
    cb.player.buffers[1] = 0.0
    cb.player.publish(1, capture_end=256)
    for _ in range(20):
        cb(indata, outdata, 256, None, None)
    np.testing.assert_allclose(outdata, 0.125, atol=1e-6)  # half the dry 0.25, wet silent
    assert cb.ring.written == 21 * 256
    assert cb.metrics.callback_errors == 0


def test_callback_plays_the_input_file_instead_of_the_device_input() -> None:
    data = np.linspace(-0.5, 0.5, 600).astype(np.float32)
    cb = _callback(mix=0.0, file=data)
    outdata = np.zeros((256, 1), np.float32)
    got = []
    for _ in range(3):
        cb(np.ones((256, 1), np.float32), outdata, 256, None, None)
        got.append(outdata[:, 0].copy())
    got = np.concatenate(got)
    np.testing.assert_allclose(got[:600], data, atol=1e-6)
    assert not got[600:].any() and cb.file_done


def test_callback_allocates_no_arrays_per_block() -> None:
    block = 4096  # one float32 block is 16 KiB: any per-block array would show in the peak
    cb = _callback(mix=0.5, block=block)
    rng = np.random.default_rng(0)
    cb.player.buffers[0] = rng.standard_normal(4800).astype(np.float32)
    cb.player.publish(0, capture_end=0)
    indata = rng.standard_normal((block, 2)).astype(np.float32)
    outdata = np.zeros((block, 2), np.float32)
    cb(indata, outdata, block, None, None)  # first call: lazy caches
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(50):
            cb(indata, outdata, block, None, None)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024, f"the callback allocated {peak} bytes at peak"
    assert cb.metrics.callback_errors == 0


def test_callback_counts_xruns_from_status_flags() -> None:
    import sounddevice as sd

    cb = _callback()
    status = sd.CallbackFlags(sd._lib.paOutputUnderflow | sd._lib.paInputOverflow)
    cb(np.zeros((256, 1), np.float32), np.zeros((256, 1), np.float32), 256, None, status)
    metrics = Metrics.snapshot(cb.metrics)
    assert metrics["xruns"] == 1 and metrics["output_underflows"] == 1 and metrics["input_overflows"] == 1
    cb(np.zeros((256, 1), np.float32), np.zeros((256, 1), np.float32), 256, None, sd.CallbackFlags())
    cb(np.zeros((256, 1), np.float32), np.zeros((256, 1), np.float32), 256, None, status)
    assert Metrics.snapshot(cb.metrics)["xruns"] == 2 and cb.metrics.xrun_frames[:2].tolist() == [0, 512]


def test_callback_uses_the_selected_input_channels_mixed_down() -> None:
    indata = np.zeros((256, 3), np.float32)
    indata[:, 0], indata[:, 1], indata[:, 2] = 0.9, 0.2, 0.4
    outdata = np.zeros((256, 2), np.float32)
    for channels, expected in (((2,), 0.2), ((2, 3), 0.3), (None, 0.5)):
        cb = _callback(mix=0.0, channels=channels)
        cb(indata, outdata, 256, None, None)
        np.testing.assert_allclose(outdata, expected, atol=1e-6)


def test_limiter_gain_reaches_its_target_within_the_block_and_counts_non_finite() -> None:
    from instrument.live.output import Limiter

    limiter = Limiter(48000, 8192)
    loud = np.full(256, 2.0, np.float32)
    assert limiter.process(loud, 0.5) == 2.0
    assert limiter.gain == pytest.approx(0.25)
    # The ramp ends at the block's end: the last sample carries the new gain, not a clip of the old.
    assert loud[-1] == pytest.approx(0.5) and loud[0] == pytest.approx(0.5)
    nan_block = np.array([np.nan, 0.1], np.float32)
    assert not limiter.process(nan_block, 0.5) < 3.0e38
    assert np.all(np.isfinite(nan_block))
    # Releasing: the block ends exactly at the new gain, so the next block starts where this one ended.
    quiet = np.full(256, 0.1, np.float32)
    limiter.process(quiet, 0.5)
    assert quiet[-1] == pytest.approx(0.1 * limiter.gain, rel=1e-4)


def test_window_slots_detect_a_torn_or_stale_read() -> None:
    from instrument.live.shm import SegmentLayout, SharedState, WindowInfo

    shared = SharedState(SegmentLayout(input_frames=64, output_frames=32, window=8, slots=3))
    try:
        attached = SharedState(shared.layout, shared.name)  # as the dream process sees it
        out = np.zeros(8, np.float32)
        slot, seq = attached.windows.publish(np.full(8, 0.5, np.float32), WindowInfo(100, True, 7))
        assert shared.windows.read_into(slot, seq, out) == WindowInfo(100, True, 7) and np.all(out == 0.5)
        for value in (0.1, 0.2, 0.3):  # the writer laps the reader: the announced (slot, seq) is gone
            attached.windows.publish(np.full(8, value, np.float32), WindowInfo(200, True, 1))
        assert shared.windows.read_into(slot, seq, out) is None
        shared.windows.seq[slot] += 1  # odd: being written right now
        assert shared.windows.read_into(slot, int(shared.windows.seq[slot]), out) is None
        attached.input_ring.write(np.arange(10, dtype=np.float32))  # the rings are shared too
        got = np.zeros(4, np.float32)
        assert shared.input_ring.written == 10 and shared.input_ring.read(6, got) and got.tolist() == [6, 7, 8, 9]
        attached.close()
    finally:
        shared.close()
