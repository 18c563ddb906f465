"""What every model-using command does first: read config, start TensorFlow, load YAMNet."""

from __future__ import annotations

import argparse
import sys

from instrument.config import Config, load_config


def config_from(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None))


def load_dreamer(config: Config):  # -> Dreamer (imports TensorFlow)
    from instrument.dream.dreamer import Dreamer
    from instrument.model.loader import load_yamnet
    from instrument.model.runtime import configure_tensorflow

    device = configure_tensorflow(config.engine.threads, config.engine.device)
    return Dreamer(load_yamnet(config.model), device)


def note(message: str) -> None:
    """A remark for the user on stderr (stdout stays clean for --json)."""
    print(f"dreamsound: {message}", file=sys.stderr)
