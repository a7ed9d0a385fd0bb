"""The classify recipe's pieces the commands share (datasets, models, checkpoints), and
the line between a command's options and a run's: :data:`INTERNAL_KEYS` are the
command's own, the rest are recorded in checkpoints and rebuild the run's config."""

from __future__ import annotations

import argparse

from visiongrad.recipes.classify import (
    OPTIMIZERS,
    SCHEDULES,
    Config,
    fit_network,
    load_split,
    split_off_validation,
)
from visiongrad.recipes.classify_network import (
    CHECKPOINT_NAME,
    build_model,
    check_input_shape,
    fit_normalizer,
    load_network,
    network_info,
)

from .errors import CommandError

__all__ = ["CHECKPOINT_NAME", "INTERNAL_KEYS", "OPTIMIZERS", "SCHEDULES", "build_model",
           "check_input_shape", "fit_network", "fit_normalizer", "load_network",
           "load_split", "network_info", "run_config", "run_options", "split_off_validation"]

INTERNAL_KEYS = {"command", "run", "config", "resume", "command_line"}


def run_options(args: argparse.Namespace | dict) -> dict:
    """The options a run records (in its checkpoint and metrics.json): all but
    :data:`INTERNAL_KEYS`."""
    options = vars(args) if isinstance(args, argparse.Namespace) else args
    return {key: value for key, value in options.items() if key not in INTERNAL_KEYS}


def run_config(options, source: str = "", config_class=Config):
    """The recipe's config of ``options`` (a namespace or stored options), every field
    checked; a bad value is a one-line error naming it (and ``source``, where the options
    were read from)."""
    options = vars(options) if isinstance(options, argparse.Namespace) else options
    try:
        return config_class.from_options(options)
    except ValueError as error:
        raise CommandError(f"{source}{error}") from None
