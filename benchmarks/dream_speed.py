"""Dream iterations per second: this project's iteration against a plain TensorFlow baseline, on this host.

    python -m benchmarks.dream_speed [--json] [--seconds S] [--emulate-avx2] [--no-render]
        [--sections iterations,buffer,render,ceiling] [--bf16]

Prints the host first (CPU model, the ISA flags that matter, TensorFlow version,
whether oneDNN is on), then for ``layer10`` and ``scores`` in ``deepdream`` and
``filter_add``, at batches of 1, 4 and 8 windows, the project's compiled iteration
and, in the same run and interleaved with it, two baselines:

- ``plain``: the same iteration written the obvious way (``benchmarks/plain_baseline.py``:
  ``tf.nn.conv2d`` 1x1 convolutions, ``tf.signal`` features, one ``tf.function``),
  in this process, so under the very TensorFlow settings the project chose;
- ``plain_tf_defaults``: the same plain code in a child process that lets TensorFlow
  decide its own settings for this CPU (what a plain user gets: on CPUs without
  AVX-512 VNNI/BF16 or AMX, TensorFlow leaves oneDNN off).

Rates are windows x iterations per second, from the median of interleaved chunks,
so a busy machine slows both sides alike. ``--emulate-avx2`` makes an AVX-512 host
behave as an AVX2 one where software decides: oneDNN's JIT limited to AVX2
(``ONEDNN_MAX_CPU_ISA=AVX2``) and TensorFlow's default as it is there (oneDNN off in
the ``plain_tf_defaults`` child). Finally it renders the shared recordings at 10
iterations per window. Weights: ``DREAMSOUND_YAMNET`` or ../shared.

``buffer``: at the live buffer's shape (23400 samples, K = 4 windows per iteration), each
``render.objective`` (``windows``, today's default; ``early``; ``shared``) and the plain baseline
(the K windows through ``plain_baseline`` as a batch: forward pass, input gradient, update), timed
interleaved, as dreamed signal-seconds x iterations per second, each against ``windows``.
``render``: the shared recordings rendered at 10 iterations (``filter_add`` on ``scores``, the
defaults) with each objective, compile excluded, as real-time factors (> 1 = faster).
``ceiling`` (not run by default): how far the iteration is from what this core can do at all. It times one
large matrix product (2048 x 2048 x 2048, fp32, one thread: the best rate oneDNN reaches here) and the iteration
(``deepdream`` on ``scores``, the mode with the least work outside the network) at the live buffer and at a batch
of 8 windows; the iteration's arithmetic is YAMNet's multiply-adds per window (from the layout) twice, for the
forward pass and the input's gradient, at 2 floating-point operations each. The ratio of the two rates is the
most any rewrite doing the same arithmetic could gain.
``--bf16``: TensorFlow's oneDNN bfloat16 auto mixed precision on (a graph rewrite of the matrix
products and convolutions to bf16, for CPUs with AVX-512 BF16 or AMX) before anything compiles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DREAMSOUND_SHARED", REPO.parent / "shared"))
CASES = [(layer, mode) for layer in ("layer10", "scores") for mode in ("deepdream", "filter_add")]
OBJECTIVES = ("windows", "early", "shared")
LIVE_BUFFER = 23400  # live.context 1.5 windows at 16 kHz
RENDER_FILES = ("whistle.wav", "speech-and-cat.wav", "pluck-melody.wav")
BATCHES = (1, 4, 8)
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile")


def host() -> dict:
    """CPU model and the instruction sets that decide TensorFlow's kernels."""
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    return {"cpu": model, "cores": os.cpu_count(), "isa": [f for f in ISA_FLAGS if f in flags]}


def interleaved_rates(calls: dict[str, Callable[[], object]], windows: int, seconds: float) -> dict[str, float]:
    """Windows x iterations per second of each call, timed in alternating chunks (median chunk)."""
    for call in calls.values():
        for _ in range(2):
            call()
    per_call = {}
    for name, call in calls.items():
        started = time.perf_counter()
        call()
        per_call[name] = max(time.perf_counter() - started, 1e-4)
    chunk_calls = {name: max(1, int(0.15 / t)) for name, t in per_call.items()}
    times: dict[str, list[float]] = {name: [] for name in calls}
    deadline = time.perf_counter() + seconds * len(calls)
    while time.perf_counter() < deadline or min(len(v) for v in times.values()) < 5:
        for name, call in calls.items():
            started = time.perf_counter()
            for _ in range(chunk_calls[name]):
                call()
            times[name].append((time.perf_counter() - started) / chunk_calls[name])
    return {name: windows / statistics.median(values) for name, values in times.items()}


def _speech_windows(batch: int):
    import numpy as np

    from instrument.audiofile import read_audio, resample, to_mono

    data, rate = read_audio(SHARED / "audio" / "speech-and-cat.wav")
    signal = resample(to_mono(data), rate, 16000)
    starts = [16000 + 1600 * i for i in range(batch)]  # 0.1 s apart: the shifted windows a buffer step dreams
    return np.stack([signal[s : s + 15600] for s in starts]).astype(np.float32)


def _live_buffer():
    """``[1, LIVE_BUFFER]`` samples of the speech recording at 16 kHz, from 1 s in."""
    import numpy as np

    from instrument.audiofile import read_audio, resample, to_mono

    data, rate = read_audio(SHARED / "audio" / "speech-and-cat.wav")
    return resample(to_mono(data), rate, 16000)[16000 : 16000 + LIVE_BUFFER][None].astype(np.float32)


def plain_only(seconds: float) -> dict:
    """The plain baseline alone (run in a child process with TensorFlow's own defaults)."""
    import tensorflow as tf  # first, so TensorFlow decides its settings before the project could

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from benchmarks.plain_baseline import PlainYamNet, plain_iteration
    from instrument.model.loader import load_yamnet
    from instrument.model.runtime import onednn_enabled

    loaded = load_yamnet()
    plain = PlainYamNet(loaded.model.numpy_weights())
    dog = loaded.classes.lookup("Dog")
    rates = {}
    for batch in BATCHES:
        x = tf.constant(_speech_windows(batch))
        for layer, mode in CASES:
            fn = plain_iteration(plain, layer, mode)
            args = (x, tf.constant(0.3), tf.constant(0.01), tf.constant(0.125), tf.constant(dog))
            rate = interleaved_rates({"plain": lambda f=fn, a=args: f(*a).numpy()}, batch, seconds)["plain"]
            rates[f"{layer}/{mode}/{batch}"] = rate
    return {"onednn": onednn_enabled(), "rates": rates}


def run_child_baseline(seconds: float, emulate_avx2: bool) -> dict | None:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if emulate_avx2:
        env["TF_ENABLE_ONEDNN_OPTS"] = "0"  # TensorFlow's own choice on a CPU without AVX-512 VNNI/BF16 or AMX
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    try:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.dream_speed", "--plain-only", "--seconds", str(seconds)],
            cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=1800,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        print(f"plain_tf_defaults baseline failed: {err}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def buffer_rates(dreamer, plain, dog: int, seconds: float) -> list[dict]:
    """Each objective and the plain baseline at the live buffer's shape, interleaved (signal-s x it/s)."""
    import numpy as np
    import tensorflow as tf

    from benchmarks.plain_baseline import plain_iteration
    from instrument.dream.buffer import draw_offsets, window_count
    from instrument.dream.params import DreamParams

    x = _live_buffer()
    count = window_count(LIVE_BUFFER, 2.0)
    rng = np.random.default_rng(0)
    grid = draw_offsets(np.random.default_rng(1), LIVE_BUFFER, count, "grid")
    windows = tf.constant(np.stack([x[0, o : o + 15600] for o in grid]))
    rows = []
    for mode in ("deepdream", "filter_add"):
        calls = {}
        for objective in OBJECTIVES:
            params = DreamParams(mode=mode, layer="scores", target_class="Dog")
            calls[objective] = lambda p=params, o=objective: dreamer.iterate_buffer(
                x, p, draw_offsets(rng, LIVE_BUFFER, count, "grid"), objective=o).audio.numpy()
        fn = plain_iteration(plain, "scores", mode)
        args = (windows, tf.constant(0.3), tf.constant(0.01), tf.constant(0.125), tf.constant(dog))
        calls["plain"] = lambda f=fn, a=args: f(*a).numpy()
        rates = interleaved_rates(calls, 1, seconds)  # buffers x iterations per second
        for name, rate in rates.items():
            rows.append({
                "mode": mode, "objective": name, "buffer_samples": LIVE_BUFFER, "windows_per_iteration": count,
                "ms_per_iteration": round(1000 / rate, 2),
                "signal_s_iterations_per_s": round(rate * LIVE_BUFFER / 16000, 1),
                "vs_windows": round(rate / rates["windows"], 2),
            })
    return rows


def render_rates(dreamer) -> list[dict]:
    """The shared recordings rendered at 10 iterations with each objective (compile excluded)."""
    from instrument.audiofile import read_audio
    from instrument.dream.params import DreamParams
    from instrument.dream.render import Layout, render

    rows = []
    params = DreamParams(mode="filter_add", layer="scores", iterations=10)
    for name in RENDER_FILES:
        audio, sr = read_audio(SHARED / "audio" / name)
        elapsed = {}
        for objective in OBJECTIVES:
            render(dreamer, audio, sr, params, layout=Layout(objective=objective))  # compile every shape it needs
        for objective in OBJECTIVES * 2:  # twice, interleaved; the faster of the two
            started = time.perf_counter()
            render(dreamer, audio, sr, params, layout=Layout(objective=objective))
            elapsed[objective] = min(elapsed.get(objective, 1e9), time.perf_counter() - started)
        for objective in OBJECTIVES:
            rows.append({
                "file": name, "objective": objective, "audio_s": round(audio.shape[0] / sr, 2),
                "render_s": round(elapsed[objective], 2),
                "realtime_factor": round(audio.shape[0] / sr / elapsed[objective], 2),
                "vs_windows": round(elapsed["windows"] / elapsed[objective], 2),
            })
    return rows


def yamnet_multiply_adds() -> int:
    """Multiply-adds of one forward pass over a 96 x 64 log-mel patch, from the layout (YAMNet's README: 69.2 M)."""
    from instrument.model.layout import EMBEDDING_SIZE, FIRST_CONV_FILTERS, NUM_CLASSES, SEPARABLE_LAYERS

    height, width = 48, 32  # layer1: 3 x 3, stride 2, SAME padding
    total, channels = height * width * 9 * FIRST_CONV_FILTERS, FIRST_CONV_FILTERS
    for layer in SEPARABLE_LAYERS:
        height, width = -(-height // layer.stride), -(-width // layer.stride)
        total += height * width * 9 * channels + height * width * channels * layer.filters
        channels = layer.filters
    return total + EMBEDDING_SIZE * NUM_CLASSES


def large_product_gflops(seconds: float, size: int = 2048) -> float:
    """fp32 GFLOP/s of one ``size``-cubed matrix product on this process's TensorFlow threads (median of runs)."""
    import tensorflow as tf

    a, b = tf.random.uniform([size, size], seed=1), tf.random.uniform([size, size], seed=2)
    product = tf.function(lambda a, b: tf.linalg.matmul(a, b), autograph=False)
    product(a, b).numpy()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        started = time.perf_counter()
        product(a, b).numpy()
        times.append(time.perf_counter() - started)
    return 2 * size**3 / statistics.median(times) / 1e9


def ceiling_rows(dreamer, seconds: float) -> dict:
    """The iteration's arithmetic rate against this core's large-product rate (see the module's doc)."""
    import numpy as np
    import tensorflow as tf

    from instrument.dream.buffer import draw_offsets, window_count
    from instrument.dream.params import DreamParams

    params = DreamParams(mode="deepdream", layer="scores", target_class="Dog")
    x, buffer = tf.constant(_speech_windows(8)), _live_buffer()
    count, rng = window_count(LIVE_BUFFER, 2.0), np.random.default_rng(0)
    rates = {
        "live_buffer": interleaved_rates(
            {"it": lambda: dreamer.iterate_buffer(
                buffer, params, draw_offsets(rng, LIVE_BUFFER, count, "grid")).audio.numpy()}, count, seconds)["it"],
        "batch_8": interleaved_rates({"it": lambda: dreamer.iterate(x, params).audio.numpy()}, 8, seconds)["it"],
    }
    large = large_product_gflops(seconds)
    multiply_adds = yamnet_multiply_adds()
    flop_per_window = 2 * 2 * multiply_adds
    rows = []
    for shape, rate in rates.items():
        effective = rate * flop_per_window / 1e9
        rows.append({
            "shape": shape, "window_iterations_per_s": round(rate, 1), "network_gflops": round(effective, 1),
            "share_of_large_product": round(effective / large, 2),
            "most_gain_at_equal_arithmetic": round(large / effective, 2),
        })
    return {"large_product_gflops": round(large, 1), "multiply_adds_per_window": multiply_adds,
            "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON report")
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement and side")
    parser.add_argument("--emulate-avx2", action="store_true", help="behave as an AVX2-only host (see the doc)")
    parser.add_argument("--no-render", action="store_true", help="skip the render timings")
    parser.add_argument("--sections", default="iterations,buffer,render",
                        help="which parts to run: iterations (per window), buffer (live shape), render, ceiling")
    parser.add_argument("--bf16", action="store_true", help="oneDNN bf16 auto mixed precision on (see the doc)")
    parser.add_argument("--plain-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    if args.no_render:
        sections.discard("render")
    os.environ.setdefault("DREAMSOUND_YAMNET", str(SHARED / "models" / "yamnet.tflite"))
    if args.emulate_avx2:
        os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    if args.plain_only:
        print(json.dumps(plain_only(args.seconds)))
        return

    child = run_child_baseline(args.seconds, args.emulate_avx2) if "iterations" in sections else None

    from instrument.model.runtime import configure_tensorflow, onednn_enabled

    device = configure_tensorflow(1)
    import tensorflow as tf

    if args.bf16:
        tf.config.optimizer.set_experimental_options({"auto_mixed_precision_onednn_bfloat16": True})

    from benchmarks.plain_baseline import PlainYamNet, plain_iteration
    from instrument.dream.dreamer import Dreamer
    from instrument.dream.params import DreamParams
    from instrument.model.loader import load_yamnet

    dreamer = Dreamer(load_yamnet(), device)
    plain = PlainYamNet(dreamer.model.numpy_weights())
    dog = dreamer.class_index("Dog")
    machine = {
        **host(), "tensorflow": tf.__version__, "device": device, "onednn": onednn_enabled(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", ""), "emulate_avx2": args.emulate_avx2,
        "plain_tf_defaults_onednn": child["onednn"] if child else None, "bf16_auto_mixed_precision": args.bf16,
    }
    if not args.json:
        print(f"host: {machine['cpu']}, {machine['cores']} cores, {' '.join(machine['isa'])};"
              f" TensorFlow {machine['tensorflow']}, oneDNN {'on' if machine['onednn'] else 'off'}"
              f"{' (AVX2 emulated)' if args.emulate_avx2 else ''}; plain_tf_defaults oneDNN"
              f" {'on' if machine['plain_tf_defaults_onednn'] else 'off'}")
    results = []
    for batch in BATCHES if "iterations" in sections else ():
        x = tf.constant(_speech_windows(batch))
        for layer, mode in CASES:
            params = DreamParams(mode=mode, layer=layer, target_class="Dog" if layer == "scores" else None)
            plain_fn = plain_iteration(plain, layer, mode)
            plain_args = (x, tf.constant(0.3), tf.constant(0.01), tf.constant(0.125), tf.constant(dog))
            rates = interleaved_rates(
                {
                    "ours": lambda p=params, x=x: dreamer.iterate(x, p).audio.numpy(),
                    "plain": lambda f=plain_fn, a=plain_args: f(*a).numpy(),
                },
                batch,
                args.seconds,
            )
            row = {
                "layer": layer, "mode": mode, "batch": batch,
                "window_iterations_per_s": round(rates["ours"], 1),
                "plain_same_settings": round(rates["plain"], 1),
                "ratio_vs_plain_same_settings": round(rates["ours"] / rates["plain"], 2),
            }
            if child:
                base = child["rates"][f"{layer}/{mode}/{batch}"]
                row["plain_tf_defaults"] = round(base, 1)
                row["ratio_vs_plain_tf_defaults"] = round(rates["ours"] / base, 2)
                base1 = child["rates"][f"{layer}/{mode}/1"]
                row["ratio_vs_plain_tf_defaults_batch1"] = round(rates["ours"] / base1, 2)
            results.append(row)
            if not args.json:
                extra = ""
                if child:
                    base, ratio = row["plain_tf_defaults"], row["ratio_vs_plain_tf_defaults"]
                    extra = f"  plain(TF defaults) {base:6.1f}  x{ratio:.2f}"
                print(f"batch {batch} {layer:8s} {mode:10s} ours {rates['ours']:6.1f} win*it/s   plain(same TF)"
                      f" {rates['plain']:6.1f}  x{row['ratio_vs_plain_same_settings']:.2f}{extra}", flush=True)

    buffer_rows = buffer_rates(dreamer, plain, dog, args.seconds) if "buffer" in sections else []
    for r in buffer_rows if not args.json else ():
        print(f"live buffer {r['mode']:10s} {r['objective']:8s} {r['signal_s_iterations_per_s']:6.1f} signal-s*it/s"
              f"  x{r['vs_windows']:.2f} vs windows", flush=True)
    renders = render_rates(dreamer) if "render" in sections else []
    for r in renders if not args.json else ():
        print(f"render {r['file']} {r['objective']:8s}: {r['realtime_factor']}x real time (> 1 = faster) at 10"
              f" iterations, x{r['vs_windows']:.2f} vs windows", flush=True)

    ceiling = ceiling_rows(dreamer, args.seconds) if "ceiling" in sections else None
    for r in ceiling["rows"] if ceiling and not args.json else ():
        print(f"ceiling {r['shape']:11s} {r['network_gflops']:6.1f} GFLOP/s in the network, "
              f"{r['share_of_large_product']:.0%} of a large product's {ceiling['large_product_gflops']} GFLOP/s"
              f" (at most x{r['most_gain_at_equal_arithmetic']:.2f} at equal arithmetic)", flush=True)

    def row(layer: str, mode: str, batch: int) -> dict:
        return next(r for r in results if (r["layer"], r["mode"], r["batch"]) == (layer, mode, batch))

    targets = {}
    if child:
        targets = {
            "scores_filter_add_batch1_3x_plain": row("scores", "filter_add", 1)["ratio_vs_plain_tf_defaults"] >= 3,
            "layer10_filter_add_batch1_3x_plain": row("layer10", "filter_add", 1)["ratio_vs_plain_tf_defaults"] >= 3,
            "scores_filter_add_batch4_2.5x_plain_batch1": row("scores", "filter_add", 4)[
                "ratio_vs_plain_tf_defaults_batch1"] >= 2.5,
        }
    for objective in OBJECTIVES[1:]:
        rows = [r for r in buffer_rows if r["objective"] == objective]
        if rows:
            targets[f"live_buffer_{objective}_2x_windows"] = min(r["vs_windows"] for r in rows) >= 2
        rows = [r for r in renders if r["objective"] == objective]
        if rows:
            targets[f"render_{objective}_2x_windows"] = min(r["vs_windows"] for r in rows) >= 2
    for objective in OBJECTIVES:
        rows = [r for r in renders if r["objective"] == objective]
        if rows:
            targets[f"render_{objective}_8x_realtime"] = min(r["realtime_factor"] for r in rows) >= 8
    report = {"machine": machine, "iterations": results, "live_buffer": buffer_rows, "render": renders,
              "ceiling": ceiling, "targets_met": targets}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("targets met: " + ", ".join(f"{k}={v}" for k, v in targets.items()))


if __name__ == "__main__":
    main()
