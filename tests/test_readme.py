"""The README and docs/ say only what the code does: OSC addresses, command options, links.

A performer copies addresses and command lines from the README; one that the code does not know
would be refused on stage. Each is checked here against the code itself (the OSC namespace, the
command-line parser), and every relative link and #anchor in README.md and docs/*.md must lead
somewhere.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from instrument.cli.main import build_parser
from instrument.osc import namespace as ns

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
KNOWN_PATHS = (
    set(ns.BY_PATH) | set(ns.ACTION_PATHS) | {path for path, _, _ in ns.STATUS} | {ns.ERROR_PATH}
    | {"/dream/classes/count", "/dream/classes/match"}
)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """'run', 'render', …, 'model fetch': each command's own parser."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{prefix}{name}"] = sub
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def test_every_osc_address_in_the_readme_is_one_the_instrument_knows() -> None:
    text = README.read_text(encoding="utf-8")
    addresses = set(re.findall(r"/dream(?:/[a-z_]+)+", text))
    assert len(addresses) >= 15  # the cheat sheet is there
    assert addresses - KNOWN_PATHS == set()


def test_every_command_and_option_in_the_readme_exists() -> None:
    text = README.read_text(encoding="utf-8")
    commands = subcommands()
    global_options = options(build_parser())
    checked = 0
    # command lines: `dreamsound CMD … --option`, in code blocks and inline code
    for line in re.findall(r"dreamsound ((?:model )?[a-z]+)([^`\n|]*)", text):
        name, rest = line
        if name not in commands:
            continue  # prose such as "dreamsound is …"
        assert name in commands, name
        for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest):
            assert option in options(commands[name]) | global_options, f"dreamsound {name} {option}"
            checked += 1
    # the reference paragraphs: **`run`**: `--input-device D`, …
    for name, paragraph in re.findall(r"\*\*`([a-z ]+)`\*\*:(.*?)(?:\n\n|\Z)", text, re.S):
        assert name in commands, f"README describes a command dreamsound does not have: {name}"
        for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", paragraph):
            assert option in options(commands[name]), f"dreamsound {name} {option}"
            checked += 1
    # the commands table: | `render IN OUT` | …
    for name, row in re.findall(r"^\| `((?:model )?[a-z]+)[^`]*` \|(.*)$", text, re.M):
        if name in commands:
            for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", row):
                assert option in options(commands[name]), f"dreamsound {name} {option}"
                checked += 1
    assert checked >= 30


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)}


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page.name}: {target} (no such heading)"
