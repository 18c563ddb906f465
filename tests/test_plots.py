"""The figures show what the README says: change labels that never overprint each other, and a render's
figure that shows only what its mode uses (figures are inspected as matplotlib objects, then closed)."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display here
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import SPEECH_AND_CAT, WHISTLE, load_16k

from instrument.dream.listen import ClassTrack
from instrument.dream.params import DreamParams
from instrument.dream.plots import class_track_figure, render_figure

NAMES = [f"class {i}" for i in range(521)]


def _track(seed: int, seconds: float = 8.0) -> ClassTrack:
    times = np.arange(0.0, seconds, 0.1)
    scores = np.random.default_rng(seed).uniform(0, 0.3, (times.size, 521))
    scores[:, 0] += 0.6  # a clear top class
    return ClassTrack(times, np.clip(scores, 0, 1))


def _boxes(fig, gid: str):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for ax in fig.axes for t in ax.texts if t.get_gid() == gid]


def test_change_labels_never_overlap_each_other_or_the_title_on_a_take_with_close_changes():
    # As replay describes them: several changes within a fraction of a second, then a freeze.
    marks = [(1.0, "mode deepdream"), (1.05, "threshold 0.62, step 0.02"), (1.1, "layer layer9/pointwise"),
             (1.3, "target Dog"), (1.32, "mix 0.5"), (4.0, "freeze on"), (4.05, "freeze off"),
             (7.9, "mode filter_add, iterations 12")]
    fig = class_track_figure(_track(1), _track(2), NAMES, "take.wav -> replay.wav", (0,), marks)
    try:
        boxes = _boxes(fig, "change-label")
        assert len(boxes) == len(marks)
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (a, b)
        title = fig.axes[0].title.get_window_extent(fig.canvas.get_renderer())
        assert not any(box.overlaps(title) for box in boxes)
        assert len({round(box.y0) for box in boxes}) >= 3, "close changes need more than one row"
    finally:
        plt.close(fig)


def test_far_apart_changes_stay_on_one_row():
    marks = [(1.0, "mode deepdream"), (4.0, "freeze on"), (7.0, "freeze off")]
    fig = class_track_figure(_track(1), _track(2), NAMES, "take", (), marks)
    try:
        assert len({round(box.y0) for box in _boxes(fig, "change-label")}) == 1
    finally:
        plt.close(fig)


@pytest.fixture(scope="module")
def window():
    dry = load_16k(WHISTLE)[:15600]
    # Stand-ins for the dream's arrays (what is drawn is under test, not what a dream makes).
    return dry, np.roll(dry, 400), {"input": dry, "gradient": np.gradient(dry)}


@pytest.mark.parametrize(
    ("mode", "mask_title", "threshold"),
    [("deepdream", None, False), ("gradients", None, False), ("filter", "filter mask", True),
     ("filter_add", "filter mask", True), ("target", "target mask (speech-and-cat.wav)", True)],
)
def test_a_render_figure_shows_only_what_its_mode_uses(window, mode, mask_title, threshold):
    dry, wet, first = window
    params = DreamParams(mode=mode, target_sound=str(SPEECH_AND_CAT) if mode == "target" else None)
    fig = render_figure(dry, wet, first, params, "auto (top class)")
    try:
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        masks = [t for t in titles if "mask" in t]
        assert masks == ([] if mask_title is None else [next(t for t in masks if t.startswith(mask_title))]), titles
        assert ("threshold" in fig.get_suptitle()) == threshold, fig.get_suptitle()
        assert f"DreamSound {mode} on scores" in fig.get_suptitle()
    finally:
        plt.close(fig)
