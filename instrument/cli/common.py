"""What every model-using command does first: read config, start TensorFlow, load YAMNet."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from instrument.config import Config, load_config
from instrument.spec import Spec, specs

_TYPES = {"float": float, "int": int}


def option_help(spec: Spec) -> str:
    """A setting's description and what it allows, for ``--help``."""
    if spec.kind in ("bool", "text", "any"):
        allowed = ""
    elif spec.kind == "choice" and len(spec.choices) > 6:
        allowed = f"{spec.choices[0]} .. {spec.choices[-1]}"
    elif spec.kind == "class":
        allowed = "a class index, name, part of a name, or auto"
    else:
        allowed = spec.allowed.removesuffix(" or null")  # on the command line: not given
    return f"{spec.description} ({allowed})" if allowed else spec.description


def add_setting_options(parser: Any, cls: type, names: dict[str, str]) -> None:
    """``--name`` options mirroring the fields ``names`` (field -> metavar) of a settings dataclass.

    Type and help come from the field's one description (``instrument.spec``); each option's default is None
    (not given: the config's value stays).
    """
    declared = specs(cls)
    for name, metavar in names.items():
        spec = declared[name]
        flag = "--" + name.replace("_", "-")
        if spec.kind == "bool":
            parser.add_argument(flag, action="store_true", default=None, help=option_help(spec))
        else:
            parser.add_argument(flag, type=_TYPES.get(spec.kind, str), metavar=metavar, help=option_help(spec))


def config_from(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None))


def load_dreamer(config: Config):  # -> Dreamer (imports TensorFlow)
    from instrument.model.native_log import quiet_start_up

    with quiet_start_up():
        from instrument.dream.dreamer import load_dreamer as load

        return load(config.model, config.engine.threads, config.engine.device)


def note(message: str) -> None:
    """A remark for the user on stderr (stdout stays clean for --json)."""
    print(f"dreamsound: {message}", file=sys.stderr)
