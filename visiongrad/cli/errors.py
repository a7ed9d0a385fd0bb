"""User errors of the ``visiongrad`` command: one line ``visiongrad: error: ...``, exit 1."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from visiongrad.recipes.errors import did_you_mean

PROG = "visiongrad"


class CommandError(Exception):
    """A mistake in what the user asked for; reported as one line, without a traceback."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the command kept and how to go on (``visiongrad: interrupted;
    ...``, status 130)."""


@contextlib.contextmanager
def user_errors(*kinds: type[BaseException], context: str = ""):
    """Re-raise the library's ``kinds`` of exception as a one-line :class:`CommandError`."""
    try:
        yield
    except kinds as error:
        message = error.args[0] if len(error.args) == 1 else str(error)
        raise CommandError(f"{context}{message}") from None


def check_choice(kind: str, name: str, known: Sequence[str]) -> None:
    """Raise a user error naming ``name`` and the known choices unless it is one of them."""
    if name not in known:
        raise CommandError(f"unknown {kind} {name!r}{did_you_mean(name, known)} "
                           f"(choose from {', '.join(known)})")
