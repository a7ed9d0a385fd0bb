"""Names read from data files (class names, pickle keys), checked before use.

A name from a file is used as a string: a dict key, a class of a model, part of a message.
A crafted file can hand over anything instead (a tuple whose repr is gigabytes, one long
string shared a thousand times through the pickle memo), so each name must be a str or
UTF-8 bytes of at most :data:`MAX_NAME_LENGTH` characters, and a file may name at most
:data:`MAX_CLASSES` classes.
"""

from __future__ import annotations

from .errors import DataFormatError

__all__ = ["MAX_CLASSES", "MAX_NAME_LENGTH", "checked_name", "checked_names"]

#: Most classes a dataset file may name (CIFAR's meta, an npz's ``classes``), or
#: :func:`~visiongrad.data.read_npz` may infer from the largest label.
MAX_CLASSES = 100_000

#: Longest class name or pickle key, in characters.
MAX_NAME_LENGTH = 256


def checked_name(value, source, what: str) -> str:
    """A class name or pickle key from a file as str: str or UTF-8 bytes of at most
    :data:`MAX_NAME_LENGTH` characters, else :class:`DataFormatError` naming ``source``
    (never the value's repr: a few bytes of shared references can expand to gigabytes)."""
    if not isinstance(value, (str, bytes)):
        raise DataFormatError(f"{source}: {what} must be a string, got a "
                              f"{type(value).__name__}")
    if len(value) > MAX_NAME_LENGTH:
        raise DataFormatError(f"{source}: a {what} of {len(value)} characters is refused (the "
                              f"limit is {MAX_NAME_LENGTH})")
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{source}: a {what} is not UTF-8 (byte 0x"
                              f"{value[error.start]:02x} at offset {error.start})") from None


def checked_names(values, source, what: str) -> list[str]:
    """A list of at most :data:`MAX_CLASSES` names, each checked by :func:`checked_name`."""
    if len(values) > MAX_CLASSES:
        raise DataFormatError(f"{source}: {len(values)} {what}s is more than the "
                              f"{MAX_CLASSES} allowed")
    return [checked_name(value, source, what) for value in values]
