"""Layers only import downward: read every module of ``instrument/`` with ``ast`` (no import is run).

    errors <- spec, audiofile <- model <- dream <- settings <- config <- live, replay, batch <- osc <- cli

A package may import its own modules and any lower layer, never a higher one nor a sibling in its own
layer (``live``, ``replay`` and ``batch`` know nothing of each other). Imports inside functions count too: a lazy
import upward is still an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "instrument"
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors"}),
    frozenset({"spec", "audiofile"}),
    frozenset({"model"}),
    frozenset({"dream"}),
    frozenset({"settings"}),
    frozenset({"config"}),
    frozenset({"live", "replay", "batch"}),
    frozenset({"osc"}),
    frozenset({"cli"}),
)
RANK = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}


def unit_of(module: str) -> str | None:
    """``instrument.live.engine`` -> ``live``; ``instrument`` itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "instrument" else None


def _is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "instrument":  # from instrument import x: a module, or a name of the root
                found += [(node.lineno, f"instrument.{alias.name}" if _is_module(alias.name) else "instrument")
                          for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name == "instrument" or name.startswith("instrument.")]


def module_units() -> dict[Path, str]:
    units = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative == Path("__init__.py"):
            continue  # the root only prepares TensorFlow's environment (instrument.model.runtime) and the version
        units[path] = relative.parts[0].removesuffix(".py")
    return units


def test_every_module_of_the_package_has_a_layer():
    missing = {unit for unit in module_units().values() if unit not in RANK}
    assert not missing, f"add {sorted(missing)} to LAYERS in this test (and to the Layout in docs/architecture.md)"


def test_layers_only_import_downward():
    wrong = []
    for path, unit in module_units().items():
        for line, name in imports(path):
            target = unit_of(name)
            if name == "instrument" or target == unit:
                continue
            if target is None or target not in RANK or RANK[target] >= RANK[unit]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({unit}) imports {name} ({target})")
    assert not wrong, "imports upward or sideways:\n" + "\n".join(wrong)


def test_the_checker_sees_an_upward_import(tmp_path):
    # The rule can fail: a live module importing the OSC layer is reported.
    source = tmp_path / "engine.py"
    source.write_text("def f():\n    from instrument.osc.namespace import PARAMETERS\n", encoding="utf-8")
    (line, name), = imports(source)
    assert (line, unit_of(name)) == (2, "osc") and RANK["osc"] > RANK["live"]


def _top_level_imports(path: Path) -> set[str]:
    """Modules ``path`` imports when it is loaded (imports inside functions run later, if ever)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            if node.module == "instrument" or node.module.startswith("instrument."):
                found |= {f"{node.module}.{alias.name}" for alias in node.names}  # ``from pkg import module``
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def _source(module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (PACKAGE / relative.with_suffix(".py"), PACKAGE / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _tensorflow_reached(start: list[str]) -> tuple[set[str], list[str]]:
    """(modules loaded, 'module imports tensorflow…' lines) when ``start`` is imported, from the sources."""
    todo, seen, tensorflow = list(start), set(), []
    while todo:
        module = todo.pop()
        path = _source(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        for name in _top_level_imports(path):
            if name.split(".")[0] == "tensorflow":
                tensorflow.append(f"{module} imports {name}")
            elif name.startswith("instrument."):
                parts = name.split(".")
                todo += [".".join(parts[:i]) for i in range(2, len(parts) + 1)]  # its packages load first
    return seen, tensorflow


# The audio process never imports TensorFlow: what the engine and its pieces import at module level,
# followed through the package, must not reach it (lazy imports inside functions may: the dream
# process's own entry point loads the model there).
AUDIO_PROCESS = ["instrument.live." + name for name in ("engine", "stream", "targets", "recorder", "callback")]


def test_the_audio_process_modules_never_import_tensorflow_at_module_level():
    seen, tensorflow = _tensorflow_reached(AUDIO_PROCESS)
    assert len(seen) > len(AUDIO_PROCESS)  # the walk followed the package
    assert not tensorflow, tensorflow


def test_the_process_boundary_loads_no_tensorflow():
    # The audio process unpickles every message of live.protocol: loading it (and what it loads) must not
    # start TensorFlow. Checked on the sources, so a new import anywhere below protocol is caught here.
    seen, tensorflow = _tensorflow_reached(["instrument.live.protocol"])
    assert {"instrument.dream", "instrument.dream.params", "instrument.live.worker"} <= seen  # the walk went down
    assert not tensorflow, tensorflow


# Inside the OSC layer, as python-osc keeps its dispatcher apart from its servers: the transport (socket,
# thread) and the destinations know no OSC address; dispatch sends nothing itself; server.py joins them.
OSC_PARTS = {
    "transport": set(),
    "feedback": set(),
    "dispatch": {"namespace", "presets"},
    "server": {"dispatch", "feedback", "namespace", "presets", "transport", "wire"},
}


def test_the_osc_server_is_transport_dispatch_and_feedback_joined():
    wrong = []
    for part, allowed in OSC_PARTS.items():
        path = PACKAGE / "osc" / f"{part}.py"
        used = {name.split(".")[2] for _, name in imports(path) if name.startswith("instrument.osc.")}
        if used - allowed:
            wrong.append(f"osc/{part}.py imports {sorted(used - allowed)} (allowed: {sorted(allowed)})")
    assert not wrong, "\n".join(wrong)
