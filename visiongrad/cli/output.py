"""What the commands write: output folders that never touch a user's files, tables, JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import CommandError

REPORT_MARKER = ".visiongrad-output"
"""A file visiongrad writes into every folder it creates, so it knows it may write there."""


def _is_ours(folder: Path, fresh: bool) -> bool:
    """True if ``folder`` is absent, empty, or (unless ``fresh``) was made by visiongrad."""
    if not folder.exists():
        return True
    return folder.is_dir() and (not any(folder.iterdir())
                                or (not fresh and (folder / REPORT_MARKER).exists()))


def _claim(folder: Path, fresh: bool) -> bool:
    """Make ``folder`` this run's, atomically: True if it was created here (``mkdir``
    without ``exist_ok``: of two processes only one succeeds) or may be reused, and this
    process wrote its marker; False if it is another's (then try the next name)."""
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        if not _is_ours(folder, fresh):
            return False
    try:  # a fresh run claims even an empty folder by creating the marker exclusively
        with open(folder / REPORT_MARKER, "x" if fresh else "w", encoding="utf-8") as marker:
            marker.write("written by visiongrad\n")
    except FileExistsError:
        return False  # another run claimed it at the same instant
    return True


def output_folder(path: str | os.PathLike, fresh: bool = False) -> Path:
    """Create (or reuse) an output folder without ever touching a user's own files.

    ``path`` is used if it does not exist, is empty, or is an earlier visiongrad output
    (it holds :data:`REPORT_MARKER`); otherwise the first free ``path-2``, ``path-3``, ...
    is taken and a line says so. Only files visiongrad names are written inside. With
    ``fresh`` (a training run) an earlier output is not reused either: runs never
    overwrite each other, even two started at the same instant with the same ``path``
    (the folder and its marker are created exclusively).
    """
    if not str(path):
        raise CommandError("the output folder must have a name, got ''")
    folder, number = Path(path), 1
    try:
        while not _claim(folder, fresh):
            number += 1
            folder = Path(f"{path}-{number}")
    except OSError as error:
        raise CommandError(f"cannot create output folder {folder}: {error.strerror}") from None
    if number > 1:
        print(f"{path} {'is taken' if fresh else 'holds files visiongrad did not write'}; "
              f"writing to {folder} instead")
    return folder


def format_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A plain-text table: columns padded to their widest cell, a rule under the header."""
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _json_default(value):
    """NumPy scalars and arrays as plain JSON numbers and lists."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value, indent: int = 2, level: int = 0) -> str:
    """JSON text with one line per list of numbers or strings (a confusion-matrix row, a
    history series), indented elsewhere: compact and still readable."""
    pad, inner = " " * indent * level, " " * indent * (level + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(key))}: {to_json(item, indent, level + 1)}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)) and any(isinstance(item, (dict, list, tuple))
                                                for item in value):
        items = [f"{inner}{to_json(item, indent, level + 1)}" for item in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, default=_json_default)


def write_json(path: Path, value) -> None:
    """Write ``value`` as JSON (:func:`to_json`) atomically; NumPy values become numbers."""
    value = json.loads(json.dumps(value, default=_json_default))
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(to_json(value) + "\n", encoding="utf-8")
    os.replace(temporary, path)
