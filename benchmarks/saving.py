"""Where the benchmarks' results go.

A benchmark prints what it measures. It writes into the tree (``benchmarks/results/``,
whose JSON files are the figures of benchmarks/README.md, and ``docs/images/``) only when
asked with ``--write``, or into the file ``--out`` names where a script takes one: running
a script as benchmarks/README.md shows changes no tracked file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


def add_write_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--write``: store ``what`` (the files, named for the help) in the tree."""
    parser.add_argument("--write", action="store_true",
                        help=f"write {what} (by default the results are only printed)")


def destination(args: argparse.Namespace, default: Path) -> Path | None:
    """Where the results go: ``--out`` where the script takes it and it is given, else
    ``default`` with ``--write``, else None (print only)."""
    out = getattr(args, "out", None)
    if out:
        return Path(out)
    return default if args.write else None


def save_json(path: Path | None, value, indent: int = 1, show: bool = True) -> None:
    """Write ``value`` as JSON to ``path`` (its folder made) and say so; with ``path``
    None print the JSON instead (``show``), or nothing (a progress save)."""
    text = json.dumps(value, indent=indent) + "\n"
    if path is None:
        if show:
            print(text, end="")
            print("(not written: --write stores these results in benchmarks/results/)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if show:
        print(f"results: {path}")
