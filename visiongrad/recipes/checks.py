"""The checks every recipe's ``Config.__post_init__`` makes: a bad value is one ValueError
naming the field and the value. Two forms: a field of a config by name
(``check_integers(config, "epochs")``), and a value with its name and bounds
(``check_int("epochs", value, 1, MAX_EPOCHS)``, which also bounds what a run may ask for)."""

from __future__ import annotations

import math

import numpy as np

from .errors import describe, did_you_mean

MAX_PATH_BYTES = 4096
"""The longest path a config may name (a file system's usual limit)."""


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
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}"
                         f"{did_you_mean(value, choices)}")


def check_int(name: str, value, low: int, high: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an int (not a bool) in [low, high]."""
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
            or not low <= value <= high):
        raise ValueError(f"{name} must be an integer from {low} to {high}, got "
                         f"{describe(value)}")


def check_number(name: str, value, wanted: str, test) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite real number passing ``test``."""
    try:
        ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.number))
              and math.isfinite(value) and test(value))
    except OverflowError:  # an int too large for a float
        ok = False
    if not ok:
        raise ValueError(f"{name} must be {wanted}, got {describe(value)}")


def check_text(name: str, value, optional: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a non-empty string (or None if optional)."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {describe(value)}")


def check_path(name: str, value, optional: bool = False) -> None:
    """A non-empty path the file system can hold: each part at most 255 bytes, the whole
    at most :data:`MAX_PATH_BYTES` (longer names fail only when written, mid-run)."""
    check_text(name, value, optional)
    if value is None:
        return
    encoded = value.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_PATH_BYTES or any(len(part) > 255 for part in encoded.split(b"/")):
        raise ValueError(f"{name} is too long for a path ({len(encoded)} bytes; at most "
                         f"{MAX_PATH_BYTES}, and 255 per folder or file name)")


def check_flag(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {describe(value)}")
