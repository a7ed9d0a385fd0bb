"""The layer order of docs/architecture.md is checked, not only written down.

The contracts live in pyproject.toml ([tool.importlinter]) and ``lint-imports`` runs them
in the README's test command. Here they are run on a copy of the package: kept as it is,
broken by one deliberately wrong import (speed machinery importing an op, a model family
importing the Trainer's package), so a contract that checked nothing would fail this test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    """The package's sources and pyproject.toml, copied (no compiled files: the graph is
    read from the sources)."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "visiongrad", root / "visiongrad",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c", "embedded"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c",
                           "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())", "--no-cache"],
                          cwd=root, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_the_package_keeps_its_contracts(package_copy):
    result = lint_imports(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept, 0 broken." in result.stdout


@pytest.mark.parametrize("module, wrong_import, broken", [
    ("accel", "from ..ops import window", "visiongrad.accel is not allowed to import "
                                          "visiongrad.ops"),
    ("models", "from ..train import checkpoint", "visiongrad.models is not allowed to import "
                                                 "visiongrad.train"),
])
def test_a_wrong_import_breaks_the_layers(package_copy, module, wrong_import, broken):
    wrong = package_copy / "visiongrad" / module / "wrong_way.py"
    wrong.write_text(f'"""Imports upward on purpose."""\n\n{wrong_import}  # noqa: F401\n')
    try:
        result = lint_imports(package_copy)
    finally:
        wrong.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout
    assert f"visiongrad.{module}.wrong_way ->" in result.stdout
