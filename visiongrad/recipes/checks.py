"""The checks every recipe's ``Config.__post_init__`` makes: a bad value is one ValueError
naming the field and the value."""

from __future__ import annotations


def _is_integer(value) -> bool:
    try:
        return not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError):
        return False


def check_integers(config, *names: str, least: int = 1) -> None:
    """Each field of ``names`` an integer >= ``least`` ("a positive integer" for 1)."""
    for name in names:
        value = getattr(config, name)
        if not _is_integer(value) or value < least:
            what = "a positive integer" if least == 1 else f"an integer >= {least}"
            raise ValueError(f"{name} must be {what}, got {value!r}")


def check_positive(config, *names: str) -> None:
    """Each field of ``names`` a number > 0 (NaN is not)."""
    for name in names:
        value = getattr(config, name)
        try:
            positive = value > 0
        except TypeError:
            positive = False
        if isinstance(value, bool) or not positive:
            raise ValueError(f"{name} must be positive, got {value!r}")


def check_choice(config, name: str, choices) -> None:
    """The field ``name`` one of ``choices``."""
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
