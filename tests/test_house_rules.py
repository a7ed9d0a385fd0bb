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


# ----- ops take their array namespace from their inputs (the array-module seam) ------------
# In visiongrad/ops/, NumPy is named only for what is not array data: dtypes and their
# facts, constants, and type checks. Every function applied to arrays comes from the
# inputs' namespace (``xp = array_module(x)``), so an op runs on whatever array library its
# inputs belong to; no module binds a namespace at import (``from ..backend import xp``),
# and nothing is imported from numpy by name.
NUMPY_NAMES_ALLOWED_IN_OPS = {
    # dtypes, their properties and promotion (no array data involved)
    "dtype", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "float16", "float32", "float64", "complex64", "complex128", "integer",
    "floating", "number", "generic", "finfo", "iinfo", "result_type", "promote_types",
    "can_cast",
    # constants and types
    "inf", "nan", "pi", "e", "newaxis", "ndarray",
    # builds a host function from Python's math.erf; its caller gives it host arrays
    # explicitly (``to_numpy``) and moves the result back to the input's namespace
    "vectorize",
}
OPS_SOURCES = sorted((PACKAGE / "ops").glob("*.py"))


def numpy_uses_on_data(tree: ast.AST) -> list[str]:
    """Each ``np.<name>`` (any alias of numpy) whose name is not a dtype or constant, each
    ``from numpy import ...`` and each ``xp`` bound at import from the backend."""
    aliases = {alias.asname or alias.name for node in ast.walk(tree)
               if isinstance(node, ast.Import) for alias in node.names
               if alias.name == "numpy"}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr not in NUMPY_NAMES_ALLOWED_IN_OPS):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module and (
                node.module.split(".")[0] == "numpy"
                or node.module.endswith("backend") and any(a.name == "xp" for a in node.names)):
            found.append(f"line {node.lineno}: from {node.module} import "
                         + ", ".join(a.name for a in node.names))
    return found


def test_the_ops_rule_sees_numpy_on_data():
    bad = ast.parse("import numpy as np\nfrom ..backend import xp\nfrom numpy import exp\n"
                    "def f(x):\n    return np.exp(x) * np.float32(2) + np.inf\n")
    assert sorted(use.split(": ")[1] for use in numpy_uses_on_data(bad)) == [
        "from backend import xp", "from numpy import exp", "np.exp"]


@pytest.mark.parametrize("path", OPS_SOURCES, ids=lambda p: p.name)
def test_ops_take_numpy_functions_from_their_inputs(path):
    uses = numpy_uses_on_data(ast.parse(path.read_text(encoding="utf-8")))
    assert not uses, (f"ops/{path.name} applies NumPy directly (use xp = array_module(x)): "
                      + "; ".join(uses))


BENCHMARKS = PACKAGE.parent / "benchmarks"


def imports_the_command_line(path: Path, text: str | None = None) -> bool:
    """Whether the module at ``path`` (its ``text``, read from the file by default) imports
    ``visiongrad.cli``, absolutely or relatively from inside the package."""
    tree = ast.parse(path.read_text(encoding="utf-8") if text is None else text)
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.ImportFrom) and path.is_relative_to(PACKAGE):
            package = path.parent.relative_to(PACKAGE.parent).parts
            base = ".".join(package[:len(package) - node.level + 1])
            names = [f"{base}.{node.module}" if node.module else base,
                     *(f"{base}.{alias.name}" for alias in node.names)]
        if any(name == "visiongrad.cli" or name.startswith("visiongrad.cli.")
               for name in names):
            return True
    return False


@pytest.mark.parametrize("path", [*(p for p in SOURCES if "cli" not in
                                    p.relative_to(PACKAGE).parts and p.name != "__main__.py"),
                                  *sorted(BENCHMARKS.glob("*.py"))],
                         ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_only_the_command_line_imports_the_command_line(path):
    """The CLI is the top of the house: library code and benchmarks call recipes."""
    assert not imports_the_command_line(path)


@pytest.mark.parametrize("text", ["from visiongrad.cli.network import load_network\n",
                                  "from visiongrad import cli\n", "import visiongrad.cli\n",
                                  "from ..cli import main\n", "from .. import cli\n"])
def test_the_command_line_rule_sees_an_import(text):
    assert imports_the_command_line(PACKAGE / "recipes" / "probe.py", text)
    assert not imports_the_command_line(PACKAGE / "recipes" / "probe.py", "from .. import nn\n")
