"""The one exception family of the data readers: a file is not what it claims to be."""

from __future__ import annotations

__all__ = ["DataFormatError", "NotFittedError", "UnsafePickleError"]


class DataFormatError(ValueError):
    """A data file is not in the format it should be; the message names the file.

    Every reader raises this (or a subclass) for a damaged, truncated, crafted or
    oversized file, so a caller (the command line) can print the message as one line.
    """


class UnsafePickleError(DataFormatError):
    """A pickle asked for something the restricted unpickler refuses (nothing was run)."""


class NotFittedError(RuntimeError):
    """A fitted object (a preprocessor here, a classical estimator in ``classic``) was used
    before ``fit``. It lives here, below both, so that ``data`` need not import
    ``classic``; ``classic.NotFittedError`` is this class."""
