"""What the commands write: output folders that never touch a user's files, tables, JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPORT_MARKER = ".visiongrad-output"
"""A file visiongrad writes into every folder it creates, so it knows it may write there."""


def _is_ours(folder: Path) -> bool:
    """True if ``folder`` is absent, empty, or was made by visiongrad."""
    if not folder.exists():
        return True
    return folder.is_dir() and (not any(folder.iterdir()) or (folder / REPORT_MARKER).exists())


def output_folder(path: str | os.PathLike) -> Path:
    """Create (or reuse) an output folder without ever touching a user's own files.

    ``path`` is used if it does not exist, is empty, or is an earlier visiongrad output
    (it holds :data:`REPORT_MARKER`); otherwise the first free ``path-2``, ``path-3``, ...
    is taken and a line says so. Only files visiongrad names are written inside.
    """
    folder, number = Path(path), 1
    while not _is_ours(folder):
        number += 1
        folder = Path(f"{path}-{number}")
    if number > 1:
        print(f"{path} holds files visiongrad did not write; writing to {folder} instead")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REPORT_MARKER).write_text("written by visiongrad\n", encoding="utf-8")
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


def write_json(path: Path, value) -> None:
    """Write ``value`` as indented JSON atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    text = json.dumps(value, indent=2, default=_json_default)
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, path)
