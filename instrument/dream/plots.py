"""Paper-style figures of a render: mel spectrograms of input, output, their
difference and the gradient, plus the mask the mode applies (``filter`` and
``filter_add``: the filter mask; ``target``: the target sound's mask; none for
``deepdream`` and ``gradients``, whose title leaves out the threshold they ignore);
and the class track: what a classifier hears over time, before and after, its
change labels staggered in rows so that none overprints another."""

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


MASKED_MODES = ("filter", "filter_add", "target")  # the modes that cut a spectrum with threshold and power


def _mask(window_in: np.ndarray, gradient: np.ndarray, params: DreamParams) -> np.ndarray:
    import tensorflow as tf

    spectral = Spectral(params.filter_fft, params.filter_hop, window_in.size)
    source = gradient if (params.mode == "filter") != params.flip else window_in
    spectrum = spectral.stft(tf.constant(source[None], tf.float32))
    mask = Spectral.mask(spectrum, tf.constant(params.threshold))
    return mask.numpy()[0].T


def _target_mask(target_16k: np.ndarray, length: int, params: DreamParams) -> np.ndarray:
    """The mask ``target`` mode puts on the gradient: the target sound's, looped to one window."""
    import tensorflow as tf

    target = np.asarray(target_16k, np.float32)
    tiled = np.tile(target, int(np.ceil(length / max(target.size, 1))))[:length]
    spectrum = Spectral(params.filter_fft, params.filter_hop, length).stft(tf.constant(tiled[None]))
    mask = Spectral.mask(spectrum, tf.constant(params.threshold))
    return mask.numpy()[0].T


def _read_target(path: str) -> np.ndarray:
    from instrument.audiofile import read_audio, resample, to_mono
    from instrument.model.layout import SAMPLE_RATE

    data, rate = read_audio(path)
    return resample(to_mono(data), rate, SAMPLE_RATE)


def render_figure(
    dry: np.ndarray,
    wet: np.ndarray,
    first_window: dict,
    params: DreamParams,
    class_label: str,
    target_16k: np.ndarray | None = None,
):
    """The render's figure (a matplotlib ``Figure``): only what ``params.mode`` uses.

    ``target_16k``: the target sound at 16 kHz for ``target`` mode (read from
    ``params.target_sound`` when not given).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mel_in, mel_out = _log_mel(dry), _log_mel(wet)
    panels = [
        ("input (log-mel)", mel_in, "magma"),
        ("output (log-mel)", mel_out, "magma"),
        ("difference output - input", mel_out - mel_in, "coolwarm"),
        ("gradient, first window (log-mel)", _log_mel(first_window["gradient"]), "magma"),
    ]
    if params.mode in ("filter", "filter_add"):
        panels.append(("filter mask, first window", _mask(first_window["input"], first_window["gradient"], params),
                       "gray"))
    elif params.mode == "target":
        if target_16k is None and params.target_sound:
            target_16k = _read_target(params.target_sound)
        if target_16k is not None:
            name = Path(str(params.target_sound)).name if params.target_sound else "target"
            panels.append((f"target mask ({name}), one window", _target_mask(target_16k, first_window["input"].size,
                                                                             params), "gray"))
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.6 * len(panels)), constrained_layout=True)
    for ax, (title, image, cmap) in zip(axes, panels, strict=True):
        shown = ax.imshow(image, origin="lower", aspect="auto", cmap=cmap)
        ax.set_title(title)
        ax.set_ylabel("bin" if "mask" in title else "mel band")
        fig.colorbar(shown, ax=ax)
    axes[-1].set_xlabel("frame")
    flip = ", flip" if params.flip else ""
    cut = f"threshold {params.threshold:g}, power {params.power:g}, " if params.mode in MASKED_MODES else ""
    fig.suptitle(
        f"DreamSound {params.mode}{flip} on {params.layer}, {params.iterations} iterations, "
        f"{cut}step {params.step:g}, class: {class_label}"
    )
    return fig


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
    import matplotlib.pyplot as plt

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DreamSoundError(f"cannot create plot directory {directory}: {err}") from err
    fig = render_figure(dry, wet, first_window, params, class_label)
    path = directory / f"{stem}-{params.mode}-{params.layer.replace('/', '_')}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


LABEL_ROW_POINTS = 10.0  # height of one row of change labels above the class track


def stagger_labels(fig, texts: list) -> int:
    """Move each label up into the lowest row where it overlaps no other; returns the rows used.

    Labels are ``annotate`` texts offset in points from their mark, so a row is the same height
    whatever the figure's layout; their widths are measured after a draw (the layout settled).
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ends: list[float] = []  # right edge, in pixels, of the last label of each row
    for text in sorted(texts, key=lambda t: t.get_window_extent(renderer).x0):
        box = text.get_window_extent(renderer)
        row = next((r for r, end in enumerate(ends) if box.x0 > end + 2), len(ends))
        if row == len(ends):
            ends.append(box.x1)
        else:
            ends[row] = box.x1
        text.set_position((2, 2 + row * LABEL_ROW_POINTS))
    return len(ends)


def class_track_figure(
    before,  # ClassTrack of the input
    after,  # ClassTrack of the output as written
    class_names: list[str],
    title: str,
    extra_classes: tuple[int, ...] = (),
    marks: list[tuple[float, str]] | None = None,
):
    """The class track as a matplotlib ``Figure`` (see ``plot_class_track``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    labels = []
    for at, label in marks or []:
        ax.axvline(at, color="k", lw=0.8, alpha=0.6)
        labels.append(ax.annotate(label, xy=(at, 1.0), xycoords=ax.get_xaxis_transform(), xytext=(2, 2),
                                  textcoords="offset points", fontsize=7, va="bottom", ha="left",
                                  annotation_clip=False, gid="change-label"))
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s): centre of each 0.975 s window, on a 0.1 s grid the dream did not use")
    ax.set_ylabel("YAMNet score")
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title, pad=6)
    rows = 1
    for _ in range(3):  # the title's room for the rows moves the axes: place again until it holds
        if not labels:
            break
        ax.set_title(title, pad=6 + rows * LABEL_ROW_POINTS + 4)
        placed = stagger_labels(fig, labels)
        if placed == rows:
            break
        rows = placed
    return fig


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
    vertical lines (parameter changes), their labels in as many rows as keep them apart. The
    classes: ``extra_classes`` and the top 3 of each."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DreamSoundError(f"cannot create plot directory {path.parent}: {err}") from err
    fig = class_track_figure(before, after, class_names, title, extra_classes, marks)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
