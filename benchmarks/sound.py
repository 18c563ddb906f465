"""What the dream does to a sound, measured: levels, band, likeness, the change, flatness, the class reached.

For each mode, on the shared recordings (whistle, speech-and-cat, pluck-melody: music with energy above
8 kHz), a synthesized tone chord and a synthesized drum loop (material unlike any of the recordings), each
scaled to three input levels (RMS -40, -25, -10 dBFS), the
offline render at defaults (``instrument.dream.render.render``, real YAMNet lite weights) is measured:

- ``in_db``/``out_db``: RMS level of input and output (dBFS); ``in_lufs``/``out_lufs``: their loudness
  (ITU-R BS.1770, pyloudnorm);
- ``above_8k_in_db``/``above_8k_out_db``: energy above 8 kHz relative to the whole signal's (dB), in and out;
- ``mel_corr``: Pearson correlation of the input's and the output's log-mel spectrograms (YAMNet's frontend);
- ``change_db``: RMS of ``out - in`` relative to the input's RMS (dB): how loud the dream is;
- ``flatness``: mean spectral flatness of the output (0 tonal .. 1 white noise), the input's beside it;
- with ``--target``, ``deepdream`` toward that class: the share of output windows scored >= 0.5 on the
  listening grid (0.1 s from 0.05 s: offsets the dream never chose), as ``render --json`` reports it.

``--sweep`` also sweeps threshold 0..1 by 0.1 and step over its range, per mode, and ``--plot DIR`` draws
the knob curves and the input/output spectrograms (``sound-knobs.png``, ``sound-modes.png``).

``--deeper CLASS,...`` measures the documented way deeper (``deepdream``, ``step`` 0.1, the default 20
iterations) toward each class on each input and level, with ``--seeds N`` seeds: the share of output windows at
>= 0.5, the input's own share, and the log-mel correlation (docs/sound.md, "Going deeper"). Alone, with
``--modes ''``, it skips the table:

    python -m benchmarks.sound --modes '' --target '' --inputs tone,music --deeper Dog,Water,Rain --seeds 2 --json

    python -m benchmarks.sound --json                       # the table (about 10 min on 2 busy cores)
    python -m benchmarks.sound --sweep --plot docs --json   # plus knob curves (longer)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(os.environ.get("DREAMSOUND_SHARED", Path(__file__).resolve().parents[2] / "shared"))
RECORDINGS = {"whistle": "whistle.wav", "speech": "speech-and-cat.wav", "music": "pluck-melody.wav"}
LEVELS = (-40.0, -25.0, -10.0)
MODES = ("filter_add", "deepdream", "filter", "target", "gradients")
THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(11))
STEPS = (0.003, 0.005, 0.007, 0.01, 0.014, 0.02, 0.03, 0.05, 0.07, 0.1, 0.14, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0)


# --- material ---------------------------------------------------------------------------
def tone(seconds: float = 3.0, rate: int = 44100) -> np.ndarray:
    """A sustained A-minor chord of harmonic tones with a slow attack: frames x 1."""
    t = np.arange(round(seconds * rate)) / rate
    x = np.zeros_like(t)
    for f0 in (220.0, 261.63, 329.63):
        for k in range(1, 8):
            if k * f0 < rate / 2:
                x += np.sin(2 * np.pi * k * f0 * t + k) / k
    x *= np.minimum(1.0, t / 0.05)
    return x[:, None].astype(np.float32)


def drums(seconds: float = 3.0, rate: int = 44100, seed: int = 7) -> np.ndarray:
    """A synthesized drum loop at 120 bpm (kick, snare, closed hi-hat): percussive, broadband, with real energy
    above 8 kHz; material none of the shared recordings is like. frames x 1."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    x = np.zeros(n)
    beat = rate // 2  # 120 bpm

    def add(at: int, hit: np.ndarray) -> None:
        end = min(n, at + hit.size)
        if at < n:
            x[at:end] += hit[: end - at]

    t = np.arange(round(0.4 * rate)) / rate
    kick = np.sin(2 * np.pi * (50 * t + 100 * (1 - np.exp(-t / 0.04)) * 0.04)) * np.exp(-t / 0.12)
    snare_t = t[: round(0.2 * rate)]
    snare = (0.6 * rng.standard_normal(snare_t.size) + np.sin(2 * np.pi * 190 * snare_t)) * np.exp(-snare_t / 0.05)
    hat_t = t[: round(0.06 * rate)]
    hat = np.diff(rng.standard_normal(hat_t.size + 1)) * np.exp(-hat_t / 0.015)  # a differenced noise: bright
    for k in range(0, n, beat // 2):
        add(k, 0.25 * hat * rng.uniform(0.6, 1.0))
        if (k // (beat // 2)) % 4 == 0:
            add(k, kick)
        if (k // (beat // 2)) % 4 == 2:
            add(k, 0.5 * snare)
    return x[:, None].astype(np.float32)


def pink(seconds: float = 3.0, rate: int = 44100, seed: int = 3) -> np.ndarray:
    """Pink noise (1/f power): the broadband, flat-envelope case, unlike any music or speech. frames x 1."""
    n = round(seconds * rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n)[:, None].astype(np.float32)


def band(seconds: float = 3.0, rate: int = 44100) -> np.ndarray:
    """A synthesized band: the drum loop, a pulsing 55 Hz bass and a swelling C-major chord. Dense music
    with a low end and energy above 8 kHz, at no level a test chose. frames x 1."""
    t = np.arange(round(seconds * rate)) / rate
    bass = 0.5 * np.sin(2 * np.pi * 55 * t) * (0.6 + 0.4 * np.sign(np.sin(2 * np.pi * 2 * t)))
    chord = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.63, 329.63, 392.0, 523.25))
    chord = chord * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    return (drums(seconds, rate)[:, 0] + bass + chord)[:, None].astype(np.float32)


SYNTHESIZED = {"tone": tone, "drums": drums, "pink": pink, "band": band}


def load(name: str, seconds: float | None = None) -> tuple[np.ndarray, int]:
    from instrument.audiofile import read_audio

    if name in SYNTHESIZED:
        return SYNTHESIZED[name](seconds or 3.0), 44100
    if name not in RECORDINGS:
        sys.exit(f"benchmarks.sound: no input {name!r}; allowed: {', '.join([*RECORDINGS, *SYNTHESIZED])}")
    path = SHARED / "audio" / RECORDINGS[name]
    if not path.is_file():
        sys.exit(f"benchmarks.sound: {path} is missing (it needs ../shared or DREAMSOUND_SHARED)")
    data, rate = read_audio(path)
    data = np.asarray(data, np.float32)
    data = data if data.ndim == 2 else data[:, None]
    return (data[: round(seconds * rate)] if seconds else data), rate


def at_level(audio: np.ndarray, db: float) -> np.ndarray:
    """``audio`` scaled to RMS ``db`` dBFS over the whole excerpt."""
    return (audio * (10 ** (db / 20) / max(rms(audio), 1e-12))).astype(np.float32)


# --- measures ---------------------------------------------------------------------------
def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(x, np.float64)))))


def db(value: float) -> float:
    return round(20 * np.log10(max(value, 1e-10)), 2)


def mono16k(audio: np.ndarray, rate: int) -> np.ndarray:
    from instrument.audiofile import resample, to_mono

    return resample(to_mono(audio), rate, 16000)


def log_mel(x16: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    from instrument.model.frontend import reference_log_mel

    return reference_log_mel(tf.constant(np.asarray(x16, np.float32))).numpy()


def mel_correlation(a16: np.ndarray, b16: np.ndarray) -> float:
    a, b = log_mel(a16).ravel(), log_mel(b16).ravel()
    return round(float(np.corrcoef(a, b)[0, 1]), 4)


def above_8k_db(audio: np.ndarray, rate: int) -> float | None:
    """Energy above 8 kHz relative to the whole signal's, dB (None at rates that have no such band)."""
    if rate <= 16000:
        return None
    spectrum = np.abs(np.fft.rfft(np.asarray(audio, np.float64), axis=0)) ** 2
    freqs = np.fft.rfftfreq(audio.shape[0], 1 / rate)
    total = spectrum.sum()
    return db(np.sqrt(spectrum[freqs > 8000].sum() / max(total, 1e-30))) if total > 0 else None


def flatness(x16: np.ndarray, fft: int = 1024) -> float:
    """Mean spectral flatness (geometric / arithmetic mean of the power spectrum) of the non-silent frames."""
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(x16, np.float64), fft)[:: fft // 2]
    power = np.abs(np.fft.rfft(frames * np.hanning(fft), axis=1)) ** 2 + 1e-20
    loud = power.sum(axis=1) > 1e-6 * power.sum(axis=1).max()
    flat = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    return round(float(flat[loud].mean()), 4) if loud.any() else 0.0


def loudness(audio: np.ndarray, rate: int) -> float | None:
    """Integrated loudness (ITU-R BS.1770, pyloudnorm), LUFS; None for silence."""
    import pyloudnorm

    value = pyloudnorm.Meter(rate).integrated_loudness(np.asarray(audio, np.float64))
    return round(float(value), 2) if np.isfinite(value) else None


def measure(dry: np.ndarray, wet: np.ndarray, rate: int) -> dict:
    d16, w16 = mono16k(dry, rate), mono16k(wet, rate)
    return {
        "in_db": db(rms(dry)), "out_db": db(rms(wet)),
        "in_lufs": loudness(dry, rate), "out_lufs": loudness(wet, rate),
        "above_8k_in_db": above_8k_db(dry, rate), "above_8k_out_db": above_8k_db(wet, rate),
        "mel_corr": mel_correlation(d16, w16),
        # The dream's change, in the band it dreams in (both at 16 kHz: independent of how the output
        # carries the input's content above 8 kHz), and over the full band as written.
        "change_db": round(db(rms(w16 - d16)) - db(rms(d16)), 2),
        "change_full_db": round(db(rms(wet - dry)) - db(rms(dry)), 2),
        "flatness_in": flatness(d16), "flatness": flatness(w16),
    }


# --- renders ----------------------------------------------------------------------------
def params_for(mode: str, **changes):
    from instrument.dream.params import DreamParams

    if mode == "target":
        changes.setdefault("target_sound", str(SHARED / "audio" / "whistle.wav"))
    return DreamParams(mode=mode, **changes)


def render_one(dreamer, audio: np.ndarray, rate: int, params, seed: int = 0):
    from instrument.dream.render import render

    return render(dreamer, audio, rate, params, seed=seed)


def table(dreamer, names, levels, modes, seconds, target) -> list[dict]:
    rows = []
    for name in names:
        source, rate = load(name, seconds)
        for level in levels:
            audio = at_level(source, level)
            for mode in modes:
                result = render_one(dreamer, audio, rate, params_for(mode))
                rows.append({"input": name, "level_db": level, "mode": mode, **measure(audio, result.audio, rate)})
            if target:
                deep = params_for("deepdream", target_class=target, step=DEEP_STEP)
                result = render_one(dreamer, audio, rate, deep)
                row = {"input": name, "level_db": level, "mode": f"deepdream->{target}", "step": DEEP_STEP,
                       **measure(audio, result.audio, rate)}
                row["target_share"] = result.summary["target"]["share_after_at_least_0.5"]
                row["target_share_input"] = input_share(result.summary)
                rows.append(row)
    return rows


def input_share(summary: dict) -> float:
    """The share of the input's windows (a render's summary) already at the target class's >= 0.5."""
    return round(float(np.mean([w["target_before"] >= 0.5 for w in summary["per_window"]])), 4)


DEEP_STEP = 0.1  # the documented way deeper (docs/sound.md): deepdream, a target class, this step


def deeper(dreamer, classes, names, levels, seconds, seeds=1) -> list[dict]:
    """``deepdream`` toward each class at ``DEEP_STEP`` and the default iterations: per input, level and seed,
    the share of output windows at >= 0.5 on the listening grid, the input's share, and the log-mel likeness."""
    rows = []
    for name in names:
        source, rate = load(name, seconds)
        for target in classes:
            for level in levels:
                audio = at_level(source, level)
                for seed in range(seeds):
                    result = render_one(dreamer, audio, rate, params_for("deepdream", target_class=target,
                                                                         step=DEEP_STEP), seed=seed)
                    rows.append({
                        "input": name, "level_db": level, "target": target, "seed": seed,
                        "target_share": result.summary["target"]["share_after_at_least_0.5"],
                        "target_share_input": input_share(result.summary),
                        "windows": len(result.summary["per_window"]),
                        "mel_corr": measure(audio, result.audio, rate)["mel_corr"],
                    })
    return rows


def sweep(dreamer, names, modes, seconds, level=-25.0) -> list[dict]:
    """The change (dB re the input) along threshold (at the default step) and step (at the default
    threshold), per mode and input."""
    from instrument.dream.params import DreamParams

    rows = []
    for name in names:
        source, rate = load(name, seconds)
        audio = at_level(source, level)
        for mode in modes:
            knobs = []
            if mode in ("filter", "filter_add", "target"):
                knobs += [("threshold", t) for t in THRESHOLDS]
            if mode in ("deepdream", "filter_add", "target", "filter"):
                knobs += [("step", s) for s in STEPS]
            for knob, value in knobs:
                result = render_one(dreamer, audio, rate, params_for(mode, **{knob: value}))
                m = measure(audio, result.audio, rate)
                rows.append({"input": name, "mode": mode, "knob": knob, "value": value,
                             "default": getattr(DreamParams(), knob), **m})
    return rows


# --- pictures ---------------------------------------------------------------------------
def plot_knobs(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = [m for m in MODES if any(r["mode"] == m for r in rows)]
    fig, axes = plt.subplots(2, len(modes), figsize=(3.2 * len(modes), 6), squeeze=False)
    for col, mode in enumerate(modes):
        for row_i, knob in enumerate(("threshold", "step")):
            ax = axes[row_i][col]
            for name in dict.fromkeys(r["input"] for r in rows):
                pts = [(r["value"], r["change_db"]) for r in rows
                       if r["mode"] == mode and r["knob"] == knob and r["input"] == name]
                if pts:
                    ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=name)
            if not ax.lines:
                ax.text(0.5, 0.5, f"{mode} has no {knob}", ha="center", va="center", transform=ax.transAxes)
            if knob == "step":
                ax.set_xscale("log")
            ax.axhline(0, color="0.6", lw=0.8)
            ax.axhline(-30, color="0.6", lw=0.8, ls=":")
            ax.set_title(f"{mode}: {knob}", fontsize=9)
            ax.set_xlabel(knob, fontsize=8)
            if col == 0:
                ax.set_ylabel("change out-in (dB re input)", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_modes(dreamer, path: Path, name: str = "music", seconds: float = 4.0, level: float = -25.0) -> None:
    """Log-mel spectrograms of the input and of each mode's output at defaults."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    source, rate = load(name, seconds)
    audio = at_level(source, level)
    panels = [("input", audio)]
    for mode in MODES:
        panels.append((mode, render_one(dreamer, audio, rate, params_for(mode)).audio))
    panels.append((f"deepdream -> Dog, step {DEEP_STEP}",
                   render_one(dreamer, audio, rate, params_for("deepdream", target_class="Dog", step=DEEP_STEP)).audio))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.6 * len(panels)), sharex=True)
    top = log_mel(mono16k(audio, rate)).max()  # one colour scale for all: the input's top 8 (log) units
    for ax, (label, x) in zip(axes, panels, strict=True):
        mel = log_mel(mono16k(x, rate)).T
        ax.imshow(mel, origin="lower", aspect="auto", vmin=top - 8.0, vmax=top,
                  extent=(0, x.shape[0] / rate, 0, mel.shape[0]))
        ax.set_ylabel("mel", fontsize=7)
        m = measure(audio, x, rate) if label != "input" else None
        extra = "" if m is None else f"  change {m['change_db']:+.1f} dB, log-mel corr {m['mel_corr']:.2f}"
        ax.set_title(f"{label}{extra}", fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", default="whistle,speech,music,tone,drums")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--levels", default=",".join(str(v) for v in LEVELS))
    ap.add_argument("--seconds", type=float, default=4.0, help="excerpt length (the start of each file)")
    ap.add_argument("--target", default="Dog", help="class for the deepdream row ('' for none)")
    ap.add_argument("--sweep", action="store_true", help="also sweep threshold and step (at -25 dBFS)")
    ap.add_argument("--sweep-inputs", default="whistle,music", help="inputs of the sweep")
    ap.add_argument("--deeper", default="", help="classes for deepdream at the way-deeper step (comma-separated)")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per --deeper render")
    ap.add_argument("--plot", type=Path, help="write sound-knobs.png and sound-modes.png here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from instrument.dream.dreamer import Dreamer
    from instrument.model.loader import ModelSettings

    started = time.perf_counter()
    dreamer = Dreamer.load(ModelSettings(source="tflite", path=str(SHARED / "models" / "yamnet.tflite")))
    names, modes = args.inputs.split(","), [m for m in args.modes.split(",") if m]
    levels = [float(v) for v in args.levels.split(",")]
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "command": "python -m benchmarks.sound " + " ".join(argv if argv is not None else sys.argv[1:]),
        "rows": table(dreamer, names, levels, modes, args.seconds, args.target),
    }
    if args.deeper:
        report["deeper"] = deeper(dreamer, args.deeper.split(","), names, levels, args.seconds, args.seeds)
    if args.sweep:
        report["sweep"] = sweep(dreamer, args.sweep_inputs.split(","), modes, args.seconds)
    if args.plot:
        args.plot.mkdir(parents=True, exist_ok=True)
        if args.sweep:
            plot_knobs(report["sweep"], args.plot / "sound-knobs.png")
        plot_modes(dreamer, args.plot / "sound-modes.png")
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for r in report["rows"]:
            print({k: v for k, v in r.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
