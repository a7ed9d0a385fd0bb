"""The ``visiongrad`` command: one module per subcommand (train, evaluate, predict, search,
summary, demo, export, report, ...).

Every subcommand is a thin layer over the library (``visiongrad.data``, ``models``,
``train``, ``classic``): it parses options, turns user mistakes into one-line errors, and
prints or writes what the library computes. A command is a module of this package with
``register(commands)``, which adds its subparser and sets ``run``; a new command is a new
file (listed in :data:`COMMANDS` to fix its place in ``--help``, else found and appended).

Every user error (a bad option value, an unknown model, optimizer or config key, a missing
data folder, a checkpoint from another architecture or with stored options out of range,
an unreadable image or unsafe weights file, a full disk or read-only output folder) prints
one line ``visiongrad: error: ...`` on stderr and exits with status 1, without a
traceback.

NOTE: unlike argparse's default, usage errors also exit with status 1 (not 2) in one line.

>>> main(["summary", "lenet5"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import copy
import errno
import importlib
import os
import pkgutil
import shlex
import sys
from collections.abc import Sequence

from visiongrad.io.torch_checkpoint import UnsafeCheckpointError
from visiongrad.recipes.errors import RecipeError

from .errors import PROG, CommandError, Interrupted
from .options import apply_config

WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                errno.ENAMETOOLONG, errno.EFBIG}
"""Errors of the file system a command meets while it writes (a full disk, a read-only or
forbidden folder, a name too long): one line naming the file, since every checkpoint is
written atomically and the last one stays intact."""

COMMANDS = ("train", "evaluate", "predict", "export", "quantize", "compress", "report", "search",
            "summary", "demo")
"""The commands in the order ``--help`` lists them; other command modules follow."""


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default in ``--help`` once: not for defaults of ``None`` or
    ``False``, nor where the help already says ``(default...)``; an option without help
    shows its default alone."""

    def _format_action(self, action):
        if not action.help and _default_shown(action):
            action = copy.copy(action)
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action):
        if not _default_shown(action) or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _default_shown(action) -> bool:
    """Whether ``--help`` names the option's default (an optional with one to name)."""
    return (bool(action.option_strings) and action.default is not None
            and action.default is not False and action.default is not argparse.SUPPRESS
            and action.help is not argparse.SUPPRESS)


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
    stdout = sys.stdout = _ReaderMayLeave(sys.stdout)
    try:
        parser = build_parser()
        args = apply_config(parser, argv, parser.parse_args(argv))
        args.command_line = shlex.join([PROG, *argv])  # recorded in checkpoints and reports
        args.run(args)
    except (CommandError, RecipeError, UnsafeCheckpointError) as error:
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except OSError as error:
        if error.errno not in WRITE_ERRORS:
            raise
        where = f": {error.filename}" if error.filename is not None else ""
        print(f"{PROG}: error: {error.strerror}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:
        detail = f"; {interruption}" if isinstance(interruption, Interrupted) else ""
        print(f"{PROG}: interrupted{detail}", file=sys.stderr)
        return 130
    finally:
        sys.stdout = stdout.restore()
    return 0


class _ReaderMayLeave:
    """The command's stdout, where a reader that has gone (``visiongrad train | head -1``)
    neither stops nor fails the work: after the first ``BrokenPipeError`` the rest of the
    output goes nowhere. ``restore`` gives the stream back (pointed at the null device if
    the pipe closed, so that the interpreter's last flush is quiet)."""

    def __init__(self, stream):
        self.stream, self.reader_left = stream, False

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self.reader_left = True
        return len(text)

    def flush(self) -> None:
        if not self.reader_left:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.reader_left = True

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def restore(self):
        if self.reader_left:
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            except (AttributeError, OSError, ValueError):  # not a file descriptor's stream
                pass
        return self.stream
