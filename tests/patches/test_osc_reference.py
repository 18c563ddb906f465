"""patches/README.md: its OSC reference is reference.py's output; its pictures exist and are small."""

from __future__ import annotations

import pytest
from oscecho import PATCHES, load_script

from instrument.dream.params import DreamParams
from instrument.osc import namespace as ns


@pytest.fixture(scope="module")
def reference():
    return load_script("reference")


def test_readme_reference_equals_the_generated_one(reference) -> None:
    readme = (PATCHES / "README.md").read_text()
    assert reference.readme_block(readme) == reference.render(), "run: .venv/bin/python patches/reference.py --write"


def test_reference_has_a_row_for_every_address(reference) -> None:
    text = reference.render()
    paths = [p.path for p in ns.PARAMETERS] + [a.path for a in ns.ACTIONS] + [s[0] for s in ns.STATUS]
    for path in paths:
        assert f"| `{path}` |" in text, path
    assert ns.ERROR_PATH in text


def test_defaults_come_from_dream_params(reference) -> None:
    rows = {line.split(" | ")[0].strip("| `"): line.split(" | ") for line in reference.render().splitlines()
            if line.startswith("| `/dream/")}
    assert rows["/dream/threshold"][3] == str(DreamParams().threshold)
    assert rows["/dream/mode"][3] == "3 filter_add"
    assert rows["/dream/target"][3] == "-1 auto"
    assert rows["/dream/mix"][3] == "1"
    assert rows["/dream/ceiling"][3] == "-1"


@pytest.mark.parametrize("name", ["dreamsound-pd.png", "dreamsound-max.png"])
def test_pictures_are_pngs_under_300_kb(name: str) -> None:
    data = (PATCHES / name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 300 * 1024
