"""The README as a newcomer reads it: short, and every snippet in it runs as written.

Python blocks run in a fresh process (NumPy imported as the snippet writes it); ``bash``
blocks run line by line from a temporary copy of the repository's tracked files: no
tracked file may change, and nothing may be left that ``.gitignore`` does not cover (a
command's default outputs and the README's example folders are listed there). Not run
here: the test command itself (this suite is what it runs), the ``pip install`` in front
of the main job (the suite runs from an installed tree; ``.ci/run`` installs it the same
way), and the ``console`` block of the documentation site, whose ``mkdocs serve`` and
``jupyter lab`` are servers: tests/docs builds the same site strictly, executing every
tutorial, instead.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
INSTALL = re.compile(r"^python3 -m pip install [^&]*&&\s*")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def commands(block: str) -> list[str]:
    """The block's command lines, without comments, the leading pip install removed."""
    lines = [line.split("  #")[0].strip() for line in block.splitlines()]
    return [INSTALL.sub("", line) for line in lines if line and not line.startswith("#")]


def tracked_files() -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [name for name in listed if (ROOT / name).is_file()]


def leftovers(folder: Path, names: list[str]) -> list[str]:
    """The files in ``folder`` (a copy of the tracked ``names``) that are neither tracked
    nor ignored by its ``.gitignore``: what running the README would leave in a checkout."""
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True, capture_output=True)
    listed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            cwd=folder, capture_output=True, text=True, check=True).stdout
    untracked = [line[3:] for line in listed.splitlines() if line.startswith("?? ")]
    return sorted(set(untracked) - set(names))


def digest(folder: Path, names: list[str]) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names}


def test_the_readme_is_short_and_has_its_two_commands_first():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    first, second = blocks("bash")[:2]
    assert commands(first) == ["visiongrad demo"]
    assert "pytest" in second and "lint-imports" in second and "mypy" in second
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert second.strip() in ci, ".ci/run must run the README's test command exactly"


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_every_python_snippet_runs_in_a_fresh_process(index, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(blocks("python")[index], encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_command_runs_from_a_copy_of_the_repository_and_changes_no_tracked_file(tmp_path):
    """... and leaves no file that .gitignore does not cover."""
    if shutil.which("visiongrad") is None:
        pytest.skip("the visiongrad command is not installed (pip install -e .)")
    names = tracked_files()
    copy = tmp_path / "repository"
    for name in names:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    before = digest(copy, names)
    test_command = blocks("bash")[1]
    for block in blocks("bash"):
        if block == test_command:
            continue
        for line in commands(block):
            done = subprocess.run(["bash", "-c", line], cwd=copy, capture_output=True,
                                  text=True, timeout=600)
            assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
    assert digest(copy, names) == before
    assert leftovers(copy, names) == []


def test_leftovers_are_the_untracked_files_gitignore_does_not_cover(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / ".gitignore").write_text("/visiongrad-*/\n*.so\n")
    for name in ("kept.py", "visiongrad-demo/report.html", "fast.so", "run1/loss.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert leftovers(tmp_path, [".gitignore", "kept.py"]) == ["run1/loss.png"]
