"""The error a recipe raises for a mistake in what it was asked to do.

A :class:`RecipeError` names the bad value or file: a config field out of range, a dataset
that is not on disk, a checkpoint another program wrote or whose stored options are out of
range. The ``visiongrad`` command prints it as one line (status 1), as its own errors.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable


class RecipeError(ValueError):
    """A mistake in a recipe's config or inputs; the message names the bad value or file."""


@contextlib.contextmanager
def recipe_errors(*kinds: type[BaseException], context: str = ""):
    """Re-raise the library's ``kinds`` of exception as a :class:`RecipeError` whose
    message is ``context`` followed by the error's own."""
    try:
        yield
    except kinds as error:
        message = error.args[0] if len(error.args) == 1 else str(error)
        raise RecipeError(f"{context}{message}") from None


def describe(value) -> str:
    """``repr(value)`` cut to 80 characters; a huge integer by its number of digits (its
    decimal text may be refused: Python limits int-to-text conversion to 4300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def counted(count: int, noun: str) -> str:
    """``"1 epoch"``, ``"3 epochs"``: a count with its noun in the right number."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def did_you_mean(name, known: Iterable[str]) -> str:
    """``"; did you mean 'adam'?"`` when ``name`` differs from known names only by case or
    is close to them (``difflib``), else ``""``: the hint an unknown name's error carries."""
    if not isinstance(name, str):
        return ""
    by_lower = {choice.lower(): choice for choice in known}
    close = [by_lower[name.lower()]] if name.lower() in by_lower else [
        by_lower[match] for match in difflib.get_close_matches(name.lower(), by_lower, n=3,
                                                               cutoff=0.75)]
    return f"; did you mean {' or '.join(repr(choice) for choice in close)}?" if close else ""
