"""The ``visiongrad`` command: one module per subcommand (train, evaluate, predict, search,
summary, demo, export, report, ...).

Every subcommand is a thin layer over the library (``visiongrad.data``, ``models``,
``train``, ``classic``): it parses options, turns user mistakes into one-line errors, and
prints or writes what the library computes. A command is a module of this package with
``register(commands)``, which adds its subparser and sets ``run``; a new command is a new
file (listed in :data:`COMMANDS` to fix its place in ``--help``, else found and appended).

Every user error (a bad option value, an unknown model, optimizer or config key, a missing
data folder, a checkpoint from another architecture, an unreadable image) prints one line
``visiongrad: error: ...`` on stderr and exits with status 1, without a traceback.

NOTE: unlike argparse's default, usage errors also exit with status 1 (not 2) in one line.

>>> main(["summary", "lenet5"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import shlex
import sys
from collections.abc import Sequence

from .errors import PROG, CommandError
from .options import apply_config

COMMANDS = ("train", "evaluate", "predict", "export", "report", "search", "summary", "demo",
            "compress")
"""The commands in the order ``--help`` lists them; other command modules follow."""


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default in ``--help``, except defaults of ``None``."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a usage error raised as a :class:`CommandError` (one line, exit 1)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise CommandError(f"{message} (see {self.prog} --help)")


def _command_modules() -> list:
    found = [info.name for info in pkgutil.iter_modules(__path__)]
    names = [name for name in COMMANDS if name in found]
    names += sorted(name for name in found if name not in COMMANDS)
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return [module for module in modules if hasattr(module, "register")]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand (each sets ``args.run``)."""
    from visiongrad import __version__

    parser = ArgumentParser(
        prog=PROG, description="Deep learning for visual recognition, from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=ArgumentParser)
    for module in _command_modules():
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``visiongrad`` command; return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for a user error (one line on stderr), 130 when interrupted.
        ``--help`` and ``--version`` exit with status 0 (``SystemExit``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = apply_config(parser, argv, parser.parse_args(argv))
        args.command_line = shlex.join([PROG, *argv])  # recorded in checkpoints and reports
        args.run(args)
    except CommandError as error:
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0
