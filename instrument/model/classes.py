"""YAMNet's 521 AudioSet classes: names, ids, and lookup by index, name or substring."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from instrument.errors import DreamSoundError


@dataclass(frozen=True)
class AudioClass:
    index: int
    mid: str
    name: str


class ClassMap:
    """The class list read from ``yamnet_class_map.csv`` (``index,mid,display_name``)."""

    def __init__(self, classes: list[AudioClass]) -> None:
        self.classes = classes
        self.names = [c.name for c in classes]
        self._by_name = {c.name.lower(): c.index for c in classes}

    @classmethod
    def from_csv(cls, path: str | Path) -> ClassMap:
        path = Path(path)
        try:
            with path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            classes = [
                AudioClass(int(r["index"]), r["mid"], r["display_name"]) for r in rows
            ]
        except (OSError, KeyError, ValueError, TypeError, UnicodeDecodeError) as err:
            raise DreamSoundError(
                f"cannot read class map {path}: {err}"
                " (expected a CSV with columns index,mid,display_name)"
            ) from err
        if [c.index for c in classes] != list(range(len(classes))) or not classes:
            raise DreamSoundError(f"class map {path} does not list indices 0..N-1 in order")
        return cls(classes)

    def __len__(self) -> int:
        return len(self.classes)

    def __getitem__(self, index: int) -> AudioClass:
        return self.classes[index]

    def search(self, query: str) -> list[AudioClass]:
        """Classes whose name contains ``query`` (case-insensitive)."""
        q = query.strip().lower()
        return [c for c in self.classes if q in c.name.lower()]

    def lookup(self, query: str | int) -> int:
        """One class index from an index, an exact name, or a unique substring.

        A substring that matches several classes resolves to an exact
        (case-insensitive) match if there is one, else it is an error that lists
        the candidates.
        """
        if isinstance(query, bool):
            raise DreamSoundError(f"class {query!r}: expected an index or a name")
        if isinstance(query, (int, float)) or str(query).strip().lstrip("-").isdigit():
            index = int(query)
            if float(query) != index or not 0 <= index < len(self.classes):
                raise DreamSoundError(
                    f"class index {query} is out of range; allowed: 0..{len(self.classes) - 1}"
                )
            return index
        text = str(query).strip()
        if text.lower() in self._by_name:
            return self._by_name[text.lower()]
        matches = self.search(text)
        if len(matches) == 1:
            return matches[0].index
        if not matches:
            raise DreamSoundError(
                f"unknown class {text!r}; use an index 0..{len(self.classes) - 1},"
                " a name, or a part of one (`dreamsound classes QUERY` lists them)"
            )
        listed = ", ".join(f"{c.index} {c.name!r}" for c in matches[:8])
        more = f" and {len(matches) - 8} more" if len(matches) > 8 else ""
        raise DreamSoundError(f"class {text!r} is ambiguous: {listed}{more}")
