"""The backend's process-wide settings: the malloc thresholds and OpenBLAS's spin time."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import backend
from visiongrad import functional as F


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
    assert backend.is_zen4(cpuinfo) is expected


def test_blas_kernels_are_chosen_only_on_zen4_before_numpy_and_never_over_the_user():
    report = ("import os, visiongrad.backend as b; "
              "print(b.BLAS_KERNELS, os.environ.get('OPENBLAS_CORETYPE'))")
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    cpuinfo = Path("/proc/cpuinfo")
    zen4 = cpuinfo.exists() and backend.is_zen4(cpuinfo.read_text())
    first = subprocess.run([sys.executable, "-c", report], capture_output=True, text=True,
                           env=clean, check=True).stdout.split()
    assert first == (["Haswell", "Haswell"] if zen4 else ["None", "None"])
    assert run_python(report, OPENBLAS_CORETYPE="SkylakeX").split() == ["None", "SkylakeX"]
    after_numpy = subprocess.run([sys.executable, "-c", "import numpy; " + report],
                                 capture_output=True, text=True, env=clean,
                                 check=True).stdout.split()
    assert after_numpy == ["None", "None"]


def test_map_rows_runs_each_part_in_cache_sized_blocks(monkeypatch):
    """With 3 rows' worth of bytes per block, a 2-part pass over 10 rows calls fn on
    blocks of at most 3 rows that tile the rows in order, and gets the same result."""
    monkeypatch.setattr(backend, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "available_cores", lambda: 2)
    rng = np.random.default_rng(1)
    a, column = rng.standard_normal((10, 4)), rng.standard_normal(4)
    monkeypatch.setattr(backend, "CACHE_BLOCK_BYTES", 3 * a[0].nbytes)
    blocks = []

    def multiply(values, scale, out):
        blocks.append(len(values))
        np.multiply(values, scale, out=out)

    out = backend.map_rows(multiply, np.empty((10, 4)), a, column)
    np.testing.assert_array_equal(out, a * column)
    assert sorted(blocks) == [2, 2, 3, 3] and sum(blocks) == 10


def test_in_parts_covers_the_range_once_in_order(monkeypatch):
    monkeypatch.setattr(backend, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "available_cores", lambda: 3)
    parts = backend.in_parts(lambda rows: list(range(10))[rows], 10, nbytes=1)
    assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    assert backend.in_parts(lambda rows: rows, 2, nbytes=1) == [slice(0, 1), slice(1, 2)]
    monkeypatch.setattr(backend, "PARALLEL_MIN_BYTES", 100)
    assert backend.in_parts(lambda rows: rows, 10, nbytes=99) == [slice(0, 10)]


def test_map_rows_cuts_full_shaped_operands_and_broadcasts_the_rest(monkeypatch):
    monkeypatch.setattr(backend, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "available_cores", lambda: 2)
    rng = np.random.default_rng(0)
    a, b, column = rng.standard_normal((5, 4)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    out = backend.map_rows(np.multiply, np.empty((5, 4)), a, column)
    np.testing.assert_array_equal(out, a * column)
    np.testing.assert_array_equal(backend.map_rows(np.add, np.empty((5, 4)), a, b), a + b)
    scalar = backend.map_rows(np.maximum, np.empty(()), np.float64(-2.0), 0)
    assert scalar == 0


def test_relu_and_batch_norm_in_parts_match_one_thread(monkeypatch):
    """ReLU and batch norm cut into parts on two threads give the one-thread results (to
    float32 rounding: the per-part partial sums add up in another order)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4, 5, 3)).astype(np.float32)
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    monkeypatch.setattr(backend, "available_cores", lambda: 2)
    for threshold in (backend.PARALLEL_MIN_BYTES, 0):
        monkeypatch.setattr(backend, "PARALLEL_MIN_BYTES", threshold)
        xt = vg.tensor(x, requires_grad=True)
        weight = vg.tensor(np.linspace(0.5, 1.5, 4, dtype=np.float32), requires_grad=True)
        y = F.relu(F.batch_norm(xt, None, None, weight, None, training=True))
        y.backward(upstream)
        results.append((y.data, xt.grad, weight.grad))
    for serial, parallel in zip(*results, strict=True):
        np.testing.assert_allclose(serial, parallel, rtol=1e-5, atol=1e-6)


def test_split_over_cores_keeps_order_and_restores_blas_threads(monkeypatch):
    monkeypatch.setattr(backend, "available_cores", lambda: 2)
    blas = backend._OpenBLAS.find()
    before = blas[0]() if blas else None
    seen = []

    def work(part):
        seen.append(blas[0]() if blas else None)
        return part * part

    assert backend.split_over_cores(work, list(range(7))) == [i * i for i in range(7)]
    if blas:  # NumPy's OpenBLAS was found: one BLAS thread inside, the old count after
        assert set(seen) == {1}
        assert blas[0]() == before


def test_add_in_parts_and_broadcasting(monkeypatch):
    monkeypatch.setattr(backend, "PARALLEL_MIN_BYTES", 0)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_array_equal(backend.add(a, b), a + b)
    np.testing.assert_array_equal(backend.add(a, b[0]), a + b[0])
    assert backend.add(a.astype(np.float32), b).dtype == np.float64


def test_two_user_threads_in_split_over_cores_restore_the_blas_count(monkeypatch):
    """Overlapping calls from two threads: one BLAS thread while either is inside, and the
    count the first one found once both have left."""
    import threading
    import time

    monkeypatch.setattr(backend, "available_cores", lambda: 2)
    blas = backend._OpenBLAS.find()
    if blas is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS visiongrad can find")
    before = blas[0]()
    inside = []

    def work(part):
        time.sleep(0.05)  # long enough for the other caller to enter meanwhile
        inside.append(blas[0]())
        return part

    callers = [threading.Thread(target=backend.split_over_cores, args=(work, [0, 1]))
               for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=30)
    assert inside == [1, 1, 1, 1]
    assert blas[0]() == before


def test_in_parts_inside_a_helper_thread_runs_there(monkeypatch):
    monkeypatch.setattr(backend, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "available_cores", lambda: 2)
    inner = backend.in_parts(lambda part: backend.in_parts(lambda rows: rows, 4, nbytes=1),
                             2, nbytes=1)
    assert inner[0] == [slice(0, 2), slice(2, 4)]  # the calling thread may split
    assert inner[1] == [slice(0, 4)]  # the helper may not: it would wait on itself
