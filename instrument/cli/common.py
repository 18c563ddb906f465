"""What every model-using command does first: read config, start TensorFlow, load YAMNet."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from instrument.config import Config, config_path, load_config, place_files
from instrument.spec import Spec, specs

_TYPES = {"float": float, "int": int}


def option_help(spec: Spec, flag: str = "") -> str:
    """A setting's description and what it allows, for ``--help`` (in the command line's words:
    its own ``--flag`` is not named again)."""
    if spec.kind in ("bool", "text", "any"):
        allowed = ""
    elif spec.kind == "choice" and len(spec.choices) > 6:
        allowed = f"{spec.choices[0]} .. {spec.choices[-1]}"
    elif spec.kind == "class":
        allowed = "a class index, name, part of a name, or auto"
    else:
        allowed = spec.allowed.removesuffix(" or null")  # on the command line: not given
    text = spec.description.replace(f" ({flag})", "") if flag else spec.description
    return f"{text} ({allowed})" if allowed else text


def add_setting_options(parser: Any, cls: type, names: dict[str, str], flags: dict[str, str] | None = None) -> None:
    """``--name`` options mirroring the fields ``names`` (field -> metavar) of a settings dataclass.

    Type and help come from the field's one description (``instrument.spec``); ``flags`` renames an option
    where the command line has a shorter word (``input_loop`` -> ``--loop``). Each option's destination is
    the field's name and its default None (not given: the config's value stays); ``given`` collects them.
    """
    declared = specs(cls)
    for name, metavar in names.items():
        spec = declared[name]
        flag = (flags or {}).get(name) or "--" + name.replace("_", "-")
        if spec.kind == "bool":
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=option_help(spec, flag))
        else:
            kind = _TYPES.get(spec.kind, str)
            parser.add_argument(flag, dest=name, type=kind, metavar=metavar, help=option_help(spec, flag))


def given(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The options among ``names`` (field names) that the command line gave, as field -> value."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def config_file(args: argparse.Namespace) -> Path | None:
    """The config file a command reads (``--config`` or ``$DREAMSOUND_CONFIG``), or None."""
    return config_path(getattr(args, "config", None))


def config_from(args: argparse.Namespace) -> Config:
    """The command's settings; file locations under the config file's folder or the user data folder."""
    path = config_file(args)
    return place_files(load_config(path), path)


def load_dreamer(config: Config):  # -> Dreamer (imports TensorFlow)
    from instrument.model.native_log import quiet_start_up
    from instrument.model.runtime import configure_tensorflow

    with quiet_start_up():
        # Threads first: importing the dream modules makes tensors, after which TensorFlow keeps its pools
        # as they are (engine.threads would be silently ignored, and outputs depend on the thread count).
        configure_tensorflow(config.engine.threads, config.engine.device)
        from instrument.dream.dreamer import Dreamer

        return Dreamer.load(config.model, config.engine.threads, config.engine.device)


def note(message: str) -> None:
    """A remark for the user on stderr (stdout stays clean for --json)."""
    print(f"dreamsound: {message}", file=sys.stderr)
