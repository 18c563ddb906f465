"""Going deeper live on music: the pluck melody (tonal, plucked notes) at the defaults, switched to
``deepdream`` toward *Water*, is heard as Water on the recorded output, scored by the model at offsets the
dream never chose (docs/sound.md, "Going deeper"). Toward *Dog* the same take stays at ~20 %: tonal sound
reaches a noise-textured class within what live affords, not a distant one."""

from __future__ import annotations

import pytest

from .livehelpers import PLUCK_MELODY, need
from .test_live_heard import Take, assert_heard_as_the_target, record_take


@pytest.fixture(scope="module")
def take(jack, tmp_path_factory) -> Take:
    return record_take(need(PLUCK_MELODY), "Water", tmp_path_factory.mktemp("take"))


def test_a_live_take_of_music_is_heard_as_water(take: Take, live_dreamer) -> None:
    assert_heard_as_the_target(take, live_dreamer)
