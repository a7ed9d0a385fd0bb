"""The process settings made on import: glibc's malloc thresholds, and OpenBLAS's spin time
and kernels, applied whatever the user imported first and never over the user."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from visiongrad.accel import settings

BLAS_VARIABLES = ("OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_CORETYPE", settings.OPT_OUT_BLAS)


def run_python(code: str, **env) -> str:
    """``code`` run in a fresh interpreter whose environment lacks the OpenBLAS variables
    (this process's visiongrad set them) but has ``env``; its stdout."""
    clean = {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**clean, **env}, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def on_zen4() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.exists() and settings.is_zen4(cpuinfo.read_text())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_malloc_keeps_freed_blocks_unless_told_not_to():
    assert settings.MALLOC_TUNED == (os.environ.get("VISIONGRAD_SYSTEM_MALLOC") != "1")
    code = "import visiongrad.accel.settings as s; print(s.MALLOC_TUNED)"
    assert run_python(code, VISIONGRAD_SYSTEM_MALLOC="1") == "False"
    assert run_python(code, VISIONGRAD_SYSTEM_MALLOC="0") == "True"


ZEN4 = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nflags\t\t: fpu avx2 avx512f avx512bw\n"


@pytest.mark.parametrize("cpuinfo, expected", [
    (ZEN4, True),
    (ZEN4 + "vendor_id\t: GenuineIntel\n", True),  # the first processor's fields count
    (ZEN4.replace("avx512f ", ""), False),  # Zen 3: no AVX-512
    (ZEN4.replace("25", "26"), False),  # Zen 5: full-width AVX-512
    (ZEN4.replace("AuthenticAMD", "GenuineIntel"), False),
    ("", False),
])
def test_zen4_is_told_from_cpuinfo(cpuinfo, expected):
    assert settings.is_zen4(cpuinfo) is expected


class FakeOpenBLAS:
    """An object with just the named functions, as ``hasattr`` sees a ctypes library."""

    def __init__(self, *names):
        for name in names:
            setattr(self, name, lambda: 0)


FULL = FakeOpenBLAS(settings.READ_ENV, settings.RESTART_THREADS, *settings.RESTART_KERNELS)
BOTH = {"OPENBLAS_THREAD_TIMEOUT": settings.BLAS_THREAD_TIMEOUT,
        "OPENBLAS_CORETYPE": settings.ZEN4_BLAS_CORETYPE}


@pytest.mark.parametrize("library, environ, zen4, expected", [
    (FULL, {}, True, BOTH),
    (FULL, {}, False, {"OPENBLAS_THREAD_TIMEOUT": settings.BLAS_THREAD_TIMEOUT}),
    (FULL, {"OPENBLAS_THREAD_TIMEOUT": "22"}, True,
     {"OPENBLAS_CORETYPE": settings.ZEN4_BLAS_CORETYPE}),
    (FULL, {"OPENBLAS_CORETYPE": "SkylakeX"}, True,
     {"OPENBLAS_THREAD_TIMEOUT": settings.BLAS_THREAD_TIMEOUT}),
    (FULL, {settings.OPT_OUT_BLAS: "1"}, True, {}),
    (None, {}, True, {}),  # another BLAS, or none found
    (FakeOpenBLAS(settings.RESTART_THREADS, *settings.RESTART_KERNELS), {}, True, {}),
    (FakeOpenBLAS(settings.READ_ENV, settings.RESTART_THREADS), {}, True,  # one kernel set
     {"OPENBLAS_THREAD_TIMEOUT": settings.BLAS_THREAD_TIMEOUT}),
], ids=["zen4", "other cpu", "user timeout", "user coretype", "opt-out", "no openblas",
        "no read_env", "single-arch build"])
def test_wanted_blas_settings(library, environ, zen4, expected):
    assert settings.wanted_blas_settings(library, environ, zen4) == expected


REPORT = ("import visiongrad, json; from visiongrad.accel import settings; "
          "import numpy as np; a = np.arange(64 * 48.0).reshape(64, 48) / 1000; "
          "b = np.ones((48, 32)); "
          "print(json.dumps({'applied': settings.BLAS_SETTINGS, 'state': settings.blas_state(), "
          "'correct': bool(np.allclose(a @ b, a.sum(1, keepdims=True) * np.ones(32)))}))")
NUMPY_FIRST = ("import numpy as np; x = np.random.default_rng(0).standard_normal((300, 300)); "
               "y = x @ x; ")


@pytest.mark.parametrize("numpy_first", [True, False], ids=["numpy first", "visiongrad first"])
def test_blas_settings_hold_whatever_was_imported_first(numpy_first):
    """In a process that loaded NumPy's OpenBLAS and ran a product before importing
    visiongrad (as users do), the spin time reads the set value and, on Zen 4, OpenBLAS
    runs its Haswell kernels; products stay correct."""
    if settings.blas_state()["thread_timeout"] is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS that reports its settings")
    report = json.loads(run_python((NUMPY_FIRST if numpy_first else "") + REPORT))
    assert report["correct"]
    assert report["state"]["thread_timeout"] == int(settings.BLAS_THREAD_TIMEOUT)
    assert report["applied"]["OPENBLAS_THREAD_TIMEOUT"] == settings.BLAS_THREAD_TIMEOUT
    if not on_zen4():
        assert "OPENBLAS_CORETYPE" not in report["applied"]
        pytest.skip("not a Zen 4 CPU: OpenBLAS keeps its own kernel choice")
    assert report["state"]["coretype"] == settings.ZEN4_BLAS_CORETYPE
    assert report["applied"]["OPENBLAS_CORETYPE"] == settings.ZEN4_BLAS_CORETYPE


def test_blas_settings_never_override_the_user_and_can_be_turned_off():
    if settings.blas_state()["thread_timeout"] is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS that reports its settings")
    user = json.loads(run_python(NUMPY_FIRST + REPORT, OPENBLAS_THREAD_TIMEOUT="22",
                                 OPENBLAS_CORETYPE="Sandybridge"))
    assert user["applied"] == {} and user["correct"]
    assert user["state"]["thread_timeout"] == 22
    off = json.loads(run_python(NUMPY_FIRST + REPORT, **{settings.OPT_OUT_BLAS: "1"}))
    assert off["applied"] == {} and off["correct"]
    assert off["state"]["thread_timeout"] != int(settings.BLAS_THREAD_TIMEOUT)


def test_blas_thread_count_is_kept():
    """Restarting OpenBLAS's threads leaves its thread count as NumPy set it: the same as
    in a process where visiongrad left OpenBLAS alone."""
    if settings.blas_state()["thread_timeout"] is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS that reports its settings")
    code = (NUMPY_FIRST + "import visiongrad; from visiongrad.accel import blas; "
            "get, _ = blas.thread_count_functions(); y = x @ x; print(get())")
    assert run_python(code) == run_python(code, **{settings.OPT_OUT_BLAS: "1"})
