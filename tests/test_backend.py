"""The backend's process-wide settings: the malloc thresholds and OpenBLAS's spin time."""

import os
import subprocess
import sys

import pytest

from visiongrad import backend


def run_python(code: str, **env) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env}, check=True)
    return result.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_malloc_keeps_freed_blocks_unless_told_not_to():
    assert backend.MALLOC_TUNED == (os.environ.get("VISIONGRAD_SYSTEM_MALLOC") != "1")
    code = "import visiongrad.backend as b; print(b.MALLOC_TUNED)"
    assert run_python(code, VISIONGRAD_SYSTEM_MALLOC="1") == "False"
    assert run_python(code, VISIONGRAD_SYSTEM_MALLOC="0") == "True"


def test_blas_spin_is_limited_only_before_numpy_and_never_over_the_user():
    report = ("import os, visiongrad.backend as b; "
              "print(b.BLAS_SPIN_LIMITED, os.environ.get('OPENBLAS_THREAD_TIMEOUT'))")
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    first = subprocess.run([sys.executable, "-c", report], capture_output=True, text=True,
                           env=clean, check=True).stdout.split()
    assert first == ["True", backend.BLAS_SPIN_CYCLES_LOG2]
    assert run_python(report, OPENBLAS_THREAD_TIMEOUT="22").split() == ["True", "22"]
    after_numpy = subprocess.run([sys.executable, "-c", "import numpy; " + report],
                                 capture_output=True, text=True, env=clean,
                                 check=True).stdout.split()
    assert after_numpy == ["False", "None"]
