"""Paper-style figures of a render: mel spectrograms of input, output, their
difference, the gradient and the filter mask, labelled with mode, layer, class."""

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
    mask = Spectral.mask(spectrum, tf.constant(params.threshold), tf.constant(params.power, tf.float32))
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
