"""Full band: what reaches the output above 8 kHz, against the 16 kHz-only output in the same run.

For each shared recording (the music ``pluck-melody.wav``, 44.1 kHz stereo with real energy above
8 kHz; the whistle, 22.05 kHz; speech-and-cat, 16 kHz: nothing above 8 kHz to keep) and each mode
asked for, a render with ``band: full`` and one with ``band: 16k`` (the baseline: the output before
full band) report:

- ``upper_in_db`` / ``upper_out_db``: energy above 8 kHz, in dB relative to the input's total;
- ``upper_error_db``: the energy of ``out - in`` above 8.5 kHz, relative to the input's there
  (sample-exact comparison: how exactly the input's upper band is kept);
- ``change_db``: the energy of ``out - in`` below 7 kHz relative to the input's there (the dream);
- ``response_db``: the output's response to the input (cross-spectrum / input spectrum, magnitude in
  dB) in 250 Hz bands from 6.5 to 9.5 kHz: the crossover on the dreamed music.

Also a take of the music replayed (48 kHz mono, no changes in its log), the crossover on white noise
for a dream that is the input times 0, 0.5 and 2 (``crossover``: worst deviation in dB from the
band between the two gains, and the worst phase, in 7-8 kHz), and what full band costs the dream
process per published window (``worker_ms``: assembling the window vs resampling the dream alone).

``python -m benchmarks.full_band [--json] [--iterations N] [--seconds S] [--modes filter_add,deepdream]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("DREAMSOUND_SHARED", Path(__file__).resolve().parents[2] / "shared"))
RECORDINGS = ("pluck-melody.wav", "whistle.wav", "speech-and-cat.wav")


def band_db(x: np.ndarray, rate: int, low: float = 0.0, high: float = np.inf) -> float:
    window = np.hanning(x.shape[0]).reshape(-1, *([1] * (x.ndim - 1)))
    spectrum = np.abs(np.fft.rfft(x * window, axis=0)) ** 2
    f = np.fft.rfftfreq(x.shape[0], 1 / rate)
    return float(10 * np.log10(spectrum[(f >= low) & (f < high)].sum() + 1e-30))


def response_db(x: np.ndarray, y: np.ndarray, rate: int) -> dict[str, float]:
    """|cross-spectrum / input spectrum| in dB, 250 Hz bands from 6.5 to 9.5 kHz (channels mixed)."""
    from scipy.signal import csd, welch

    x, y = x.mean(axis=1) if x.ndim == 2 else x, y.mean(axis=1) if y.ndim == 2 else y
    f, pxx = welch(x, rate, nperseg=8192)
    _, pxy = csd(x, y, rate, nperseg=8192)
    out = {}
    for low in np.arange(6500, 9500, 250):
        m = (f >= low) & (f < low + 250)
        out[f"{low / 1000:g}k"] = round(float(20 * np.log10(np.abs(pxy[m].sum() / pxx[m].sum()) + 1e-12)), 2)
    return out


def measures(audio: np.ndarray, out: np.ndarray, rate: int) -> dict:
    total = band_db(audio, rate)
    row = {
        "upper_in_db": round(band_db(audio, rate, 8000) - total, 2),
        "upper_out_db": round(band_db(out, rate, 8000) - total, 2),
        "upper_error_db": round(band_db(out - audio, rate, 8500) - band_db(audio, rate, 8500), 1),
        "change_db": round(band_db(out - audio, rate, 0, 7000) - band_db(audio, rate, 0, 7000), 2),
    }
    if rate > 16000:
        row["response_db"] = response_db(audio, out, rate)
    return row


def crossover() -> dict:
    from scipy.signal import csd, welch

    from instrument.audiofile import resample
    from instrument.dream.render import assemble

    rows = {}
    for rate in (44100, 48000):
        x = (0.1 * np.random.default_rng(1).standard_normal(8 * rate)).astype(np.float32)
        x16 = resample(x, rate, 16000)[None]
        for gain in (0.0, 0.5, 2.0):
            y = assemble(x, x16, gain * x16, rate, "full")[:, 0]
            f, pxx = welch(x, rate, nperseg=4096)
            _, pxy = csd(x, y, rate, nperseg=4096)
            h = pxy / pxx
            m = (f >= 7000) & (f <= 8000)
            magnitude = np.abs(h[m])
            low, high = min(gain, 1.0), max(gain, 1.0)
            below = np.maximum(low - magnitude, 0)
            above = np.maximum(magnitude - high, 0)
            worst = float(max(20 * np.log10(1 + above.max() / high), -20 * np.log10(1 - below.max() / max(low, 1e-9))
                              if low > 0 else 0.0))
            phase = float(np.abs(np.degrees(np.angle(h[m][magnitude > 0.1]))).max())
            rows[f"{rate}_gain_{gain:g}"] = {"worst_outside_db": round(worst, 4), "worst_phase_deg": round(phase, 3)}
    return rows


def worker_cost(repeats: int = 50) -> dict:
    """Milliseconds per published window in the dream process: full-band assembly vs the 16 kHz dream alone."""
    from instrument.dream.params import DreamParams
    from instrument.live.ringbuffer import RingBuffer
    from instrument.live.worker import DreamWorker

    out = {}
    for rate in (44100, 48000):
        ring = RingBuffer(12 * rate)
        ring.write(np.random.default_rng(0).standard_normal(10 * rate).astype(np.float32) * 0.1)
        window = round(0.975 * rate)
        worker = DreamWorker(dreamer=None, current=lambda: (DreamParams(), False), ring=ring,  # type: ignore[arg-type]
                             publish=print, report=print, samplerate=rate, window=window, hop=window // 2,
                             budget=0.8, block=256)
        y16 = np.random.default_rng(1).standard_normal(worker.length).astype(np.float32) * 0.1
        x16 = y16 * 0.5
        end16 = worker.grid.to_16k(worker.grid.floor_frame(9 * rate))
        end = worker.grid.to_device(end16)
        timings = {}
        for band in ("16k", "full"):
            started = time.perf_counter()
            for k in range(repeats):
                worker._held_end = None  # a new window each time, as while moving
                worker._assemble(y16, x16, end16, end - k % 2, band)
            timings[band] = round((time.perf_counter() - started) / repeats * 1000, 3)
        out[str(rate)] = timings
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=6.0, help="of each recording rendered")
    parser.add_argument("--modes", default="filter_add,deepdream")
    args = parser.parse_args()

    from instrument.model.runtime import configure_tensorflow

    configure_tensorflow(1)
    import tensorflow as tf

    from instrument.audiofile import read_audio, resample
    from instrument.dream.dreamer import Dreamer
    from instrument.dream.params import DreamParams
    from instrument.dream.render import render
    from instrument.live.recorder import WavWriter
    from instrument.model.loader import ModelSettings, load_yamnet
    from instrument.replay.log import read_log
    from instrument.replay.replay import ReplayOptions, replay
    from instrument.replay.take import read_take

    dreamer = Dreamer(load_yamnet(ModelSettings(source="tflite", path=str(SHARED / "models" / "yamnet.tflite"))))
    results = []
    for name in RECORDINGS:
        audio, rate = read_audio(SHARED / "audio" / name)
        audio = audio[: round(args.seconds * rate)]
        for mode in args.modes.split(","):
            params = DreamParams(mode=mode, iterations=args.iterations,
                                 target_class="Dog" if mode == "deepdream" else None)
            row = {"file": name, "rate": rate, "channels": audio.shape[1], "mode": mode}
            for band in ("16k", "full"):
                started = time.perf_counter()
                result = render(dreamer, audio, rate, params.replace(band=band))
                row[band] = {**measures(audio, result.audio, rate), "seconds": round(time.perf_counter() - started, 2)}
            results.append(row)
            if not args.json:
                print(json.dumps(row))
    # A take of the music, 48 kHz mono, replayed without changes.
    music, rate = read_audio(SHARED / "audio" / "pluck-melody.wav")
    dry = resample(music[: round(args.seconds * rate)].mean(axis=1), rate, 48000)
    dry = (0.9 * dry / np.abs(dry).max()).astype(np.float32)
    replays = {}
    with tempfile.TemporaryDirectory() as folder:
        stem = Path(folder) / "take-20260101-120000"
        writer = WavWriter(stem.with_suffix(".wav"), 48000, 2)
        writer.write(np.stack([dry, np.zeros_like(dry)], axis=1))
        writer.close()
        start = {"t": 0.0, "frame": 0, "event": "start", "samplerate": 48000, "params": {"mix": 1.0, "ceiling": 0.0}}
        stem.with_suffix(".params.jsonl").write_text(json.dumps(start) + "\n", encoding="utf-8")
        take = read_take(stem.with_suffix(".wav"))
        log = read_log(take.log_path, 48000)
        for band in ("16k", "full"):
            result = replay(dreamer, take, log, ReplayOptions(iterations=args.iterations),
                            base=DreamParams(band=band))
            replays[band] = measures(dry, result.audio, 48000)
    report = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "tensorflow": tf.__version__},
        "settings": {"iterations": args.iterations, "seconds": args.seconds, "modes": args.modes,
                     "baseline": "band 16k (the output before full band)"},
        "renders": results,
        "replay_music_48k": replays,
        "crossover_noise": crossover(),
        "worker_ms": worker_cost(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(json.dumps({k: report[k] for k in ("replay_music_48k", "crossover_noise", "worker_ms")}, indent=2))


if __name__ == "__main__":
    main()
