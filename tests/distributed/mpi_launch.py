"""Starting K ranks with ``mpiexec`` in a subprocess, or skipping when MPI is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPOSITORY = HERE.parent.parent


def mpiexec() -> str:
    """The ``mpiexec`` beside this Python (MPICH's PyPI wheel puts it there) or on PATH;
    skips the test when mpi4py or mpiexec is missing."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install 'visiongrad[distributed]')")
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec found (pip install 'visiongrad[distributed]')")
    return found


def environment() -> dict:
    """This environment with the repository importable and Open MPI allowed as root."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPOSITORY), env.get("PYTHONPATH", "")])
    return env


def start(ranks: int, arguments: list[str]) -> subprocess.Popen:
    """``mpiexec -n ranks python ARGUMENTS...`` with text pipes for stdout and stderr."""
    command = [mpiexec(), "-n", str(ranks), sys.executable, *arguments]
    return subprocess.Popen(command, env=environment(), cwd=REPOSITORY, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    """Wait up to ``timeout`` seconds (killing mpiexec past it); return code and output."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"mpiexec still running after {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    return process.returncode, out, err


def run(ranks: int, arguments: list[str], timeout: float = 600) -> str:
    """Run to the end, asserting success; return stdout."""
    code, out, err = finish(start(ranks, arguments), timeout)
    assert code == 0, f"mpiexec exited with {code}\nstdout:\n{out}\nstderr:\n{err}"
    return out


def worker():
    """tests/distributed/mpi_worker.py as a module (run in this process too)."""
    spec = importlib.util.spec_from_file_location("mpi_worker", HERE / "mpi_worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
