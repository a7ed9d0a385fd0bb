"""The rules of the house, checked over the source tree (docs/architecture.md).

- Only ``visiongrad/accel/`` imports ctypes, threading or concurrent.futures, or reads
  /proc: everything that exists for speed (or pokes at the process) has one home.
- No source file under ``visiongrad/`` is over 500 lines: an op's forward, backward and
  formula stay on one screen, and a family that outgrows its file is split.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "visiongrad"
SOURCES = sorted(PACKAGE.rglob("*.py"))
ACCEL_ONLY_MODULES = {"ctypes", "threading", "concurrent", "_thread"}
MAX_LINES = 500


def outside_accel(path: Path) -> bool:
    return "accel" not in path.relative_to(PACKAGE).parts


def imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_tree_is_there():
    assert len(SOURCES) > 50 and any(not outside_accel(path) for path in SOURCES)


@pytest.mark.parametrize("path", [p for p in SOURCES if outside_accel(p)],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_speed_machinery_lives_in_accel(path):
    text = path.read_text(encoding="utf-8")
    forbidden = imported_modules(ast.parse(text)) & ACCEL_ONLY_MODULES
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}: that belongs in accel/"
    assert "/proc" not in text, f"{path.name} reads /proc: that belongs in accel/"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_source_file_over_500_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines (at most {MAX_LINES})"


def test_the_checks_see_a_violation(tmp_path):
    bad = ast.parse("import threading\nfrom concurrent.futures import ThreadPoolExecutor\n")
    assert imported_modules(bad) == {"threading", "concurrent"}
