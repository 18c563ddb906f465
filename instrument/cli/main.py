"""``dreamsound``: entry point. Parses arguments, turns input errors into one clear line.

Commands: ``classify``, ``layers``, ``classes``, ``model fetch``, ``render``, ``replay``,
``batch``, ``run`` and ``devices``. TensorFlow is imported only by
the commands that need it, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from instrument import __version__
from instrument.errors import DreamSoundError

CONFIG_HELP = "configuration file (default: built-in defaults, as in config.yaml; or $DREAMSOUND_CONFIG)"


def build_parser() -> argparse.ArgumentParser:
    from instrument.cli import batch_command, live_commands, model_commands, render_command, replay_command

    parser = argparse.ArgumentParser(
        prog="dreamsound",
        description="DreamSound Live: let YAMNet dream on sound (live, or offline on files).",
    )
    parser.add_argument("--version", action="version", version=f"dreamsound {__version__}")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    model_commands.register(commands)
    render_command.register(commands)
    replay_command.register(commands)
    batch_command.register(commands)
    live_commands.register(commands)
    _accept_config_after(commands)
    return parser


def _accept_config_after(commands: argparse._SubParsersAction) -> None:
    """``--config FILE`` after the command too (``dreamsound run --config FILE``), in every command.

    Not given there (SUPPRESS), it leaves the global option's value alone.
    """
    for sub in commands.choices.values():
        sub.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_config_after(action)


# Commands whose terminal is the performer's console (rich's live status needs a real tty): the
# dream process keeps TensorFlow's notices off it by itself.
_TERMINAL_COMMANDS = frozenset({"run", "devices"})


def _quiet(command: str) -> contextlib.AbstractContextManager:
    """TensorFlow's notices off the terminal for the whole of an offline command (native_log.py)."""
    if command in _TERMINAL_COMMANDS:
        return contextlib.nullcontext()
    from instrument.model.native_log import quiet_start_up

    return quiet_start_up()


def main(argv: Sequence[str] | None = None) -> int:
    from instrument.model.runtime import prepare_tensorflow_environment

    prepare_tensorflow_environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _quiet(args.command):
            return int(args.handler(args) or 0)
    except DreamSoundError as err:
        print(f"dreamsound: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dreamsound: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
