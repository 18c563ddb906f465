"""Paper-style figures of a render: mel spectrograms of input, output, their
difference, the gradient and the filter mask, labelled with mode, layer, class;
and the class track: what a classifier hears over time, before and after."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from instrument.dream.params import DreamParams
from instrument.dream.spectral import Spectral
from instrument.errors import DreamSoundError


def _log_mel(signal: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    from instrument.model.frontend import reference_log_mel

    x = np.asarray(signal, np.float32)
    if x.size < 400:
        x = np.pad(x, (0, 400 - x.size))
    return reference_log_mel(tf.constant(x)).numpy().T  # bands x frames


def _mask(window_in: np.ndarray, gradient: np.ndarray, params: DreamParams) -> np.ndarray:
    import tensorflow as tf

    spectral = Spectral(params.filter_fft, params.filter_hop, window_in.size)
    source = gradient if (params.mode == "filter") != params.flip else window_in
    spectrum = spectral.stft(tf.constant(source[None], tf.float32))
    mask = Spectral.mask(spectrum, tf.constant(params.threshold))
    return mask.numpy()[0].T


def plot_render(
    directory: str | Path,
    stem: str,
    dry: np.ndarray,
    wet: np.ndarray,
    first_window: dict,
    params: DreamParams,
    class_label: str,
) -> Path:
    """Write ``DIR/STEM-MODE-LAYER.png`` and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DreamSoundError(f"cannot create plot directory {directory}: {err}") from err
    mel_in, mel_out = _log_mel(dry), _log_mel(wet)
    panels = [
        ("input (log-mel)", mel_in, "magma"),
        ("output (log-mel)", mel_out, "magma"),
        ("difference output - input", mel_out - mel_in, "coolwarm"),
        ("gradient, first window (log-mel)", _log_mel(first_window["gradient"]), "magma"),
        ("filter mask, first window", _mask(first_window["input"], first_window["gradient"], params), "gray"),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 13), constrained_layout=True)
    for ax, (title, image, cmap) in zip(axes, panels, strict=True):
        shown = ax.imshow(image, origin="lower", aspect="auto", cmap=cmap)
        ax.set_title(title)
        ax.set_ylabel("bin" if "mask" in title else "mel band")
        fig.colorbar(shown, ax=ax)
    axes[-1].set_xlabel("frame")
    flip = ", flip" if params.flip else ""
    fig.suptitle(
        f"DreamSound {params.mode}{flip} on {params.layer}, {params.iterations} iterations, "
        f"threshold {params.threshold:g}, step {params.step:g}, class: {class_label}"
    )
    path = directory / f"{stem}-{params.mode}-{params.layer.replace('/', '_')}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_class_track(
    path: str | Path,
    before,  # ClassTrack of the input
    after,  # ClassTrack of the output as written
    class_names: list[str],
    title: str,
    extra_classes: tuple[int, ...] = (),
    marks: list[tuple[float, str]] | None = None,
) -> Path:
    """One line per class over time, output solid and input dashed; ``marks`` are labelled
    vertical lines (parameter changes). The classes: ``extra_classes`` and the top 3 of each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DreamSoundError(f"cannot create plot directory {path.parent}: {err}") from err
    chosen: list[int] = []
    for index in [*extra_classes, *after.top(3), *before.top(3)]:
        if int(index) >= 0 and int(index) not in chosen:
            chosen.append(int(index))
    from instrument.model.frontend import WINDOW_SECONDS

    half = WINDOW_SECONDS / 2  # plotted at each window's centre
    fig, ax = plt.subplots(figsize=(11, 4.5), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, index in enumerate(chosen[:8]):
        color = colors[n % len(colors)]
        name = class_names[index]
        ax.plot(after.times + half, after.scores[:, index], color=color, lw=2, label=f"{name} (output)")
        ax.plot(before.times + half, before.scores[:, index], color=color, lw=1, ls="--", label=f"{name} (input)")
    for at, label in marks or []:
        ax.axvline(at, color="k", lw=0.8, alpha=0.6)
        ax.text(at, 1.02, label, rotation=0, fontsize=7, va="bottom", ha="left", transform=ax.get_xaxis_transform())
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s): centre of each 0.975 s window, on a 0.1 s grid the dream did not use")
    ax.set_ylabel("YAMNet score")
    ax.set_title(title, pad=18 if marks else 6)
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
