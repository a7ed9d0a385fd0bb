"""Work cut into one part per core: ``in_parts``, ``map_rows``, ``add``,
``split_over_cores`` (with OpenBLAS on one thread inside), and the shared ``parallel_map``."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.accel import blas as openblas
from visiongrad.accel import threads


def test_map_rows_runs_each_part_in_cache_sized_blocks(monkeypatch):
    """With 3 rows' worth of bytes per block, a 2-part pass over 10 rows calls fn on
    blocks of at most 3 rows that tile the rows in order, and gets the same result."""
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    rng = np.random.default_rng(1)
    a, column = rng.standard_normal((10, 4)), rng.standard_normal(4)
    monkeypatch.setattr(threads, "CACHE_BLOCK_BYTES", 3 * a[0].nbytes)
    blocks = []

    def multiply(values, scale, out):
        blocks.append(len(values))
        np.multiply(values, scale, out=out)

    out = threads.map_rows(multiply, np.empty((10, 4)), a, column)
    np.testing.assert_array_equal(out, a * column)
    assert sorted(blocks) == [2, 2, 3, 3] and sum(blocks) == 10


def test_in_parts_covers_the_range_once_in_order(monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: 3)
    parts = threads.in_parts(lambda rows: list(range(10))[rows], 10, nbytes=1)
    assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    assert threads.in_parts(lambda rows: rows, 2, nbytes=1) == [slice(0, 1), slice(1, 2)]
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 100)
    assert threads.in_parts(lambda rows: rows, 10, nbytes=99) == [slice(0, 10)]


def test_map_rows_cuts_full_shaped_operands_and_broadcasts_the_rest(monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    rng = np.random.default_rng(0)
    a, b, column = rng.standard_normal((5, 4)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    out = threads.map_rows(np.multiply, np.empty((5, 4)), a, column)
    np.testing.assert_array_equal(out, a * column)
    np.testing.assert_array_equal(threads.map_rows(np.add, np.empty((5, 4)), a, b), a + b)
    scalar = threads.map_rows(np.maximum, np.empty(()), np.float64(-2.0), 0)
    assert scalar == 0


def test_relu_and_batch_norm_in_parts_match_one_thread(monkeypatch):
    """ReLU and batch norm cut into parts on two threads give the one-thread results (to
    float32 rounding: the per-part partial sums add up in another order)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4, 5, 3)).astype(np.float32)
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    for threshold in (threads.PARALLEL_MIN_BYTES, 0):
        monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", threshold)
        xt = vg.tensor(x, requires_grad=True)
        weight = vg.tensor(np.linspace(0.5, 1.5, 4, dtype=np.float32), requires_grad=True)
        y = F.relu(F.batch_norm(xt, None, None, weight, None, training=True))
        y.backward(upstream)
        results.append((y.data, xt.grad, weight.grad))
    for serial, parallel in zip(*results, strict=True):
        np.testing.assert_allclose(serial, parallel, rtol=1e-5, atol=1e-6)


def test_split_over_cores_keeps_order_and_restores_blas_threads(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    blas = openblas.thread_count_functions()
    before = blas[0]() if blas else None
    seen = []

    def work(part):
        seen.append(blas[0]() if blas else None)
        return part * part

    assert threads.split_over_cores(work, list(range(7))) == [i * i for i in range(7)]
    if blas:  # NumPy's OpenBLAS was found: one BLAS thread inside, the old count after
        assert set(seen) == {1}
        assert blas[0]() == before


def test_add_in_parts_and_broadcasting(monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_array_equal(threads.add(a, b), a + b)
    np.testing.assert_array_equal(threads.add(a, b[0]), a + b[0])
    assert threads.add(a.astype(np.float32), b).dtype == np.float64


def test_two_user_threads_in_split_over_cores_restore_the_blas_count(monkeypatch):
    """Overlapping calls from two threads: one BLAS thread while either is inside, and the
    count the first one found once both have left."""
    import threading
    import time

    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    blas = openblas.thread_count_functions()
    if blas is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS visiongrad can find")
    before = blas[0]()
    inside = []

    def work(part):
        time.sleep(0.05)  # long enough for the other caller to enter meanwhile
        inside.append(blas[0]())
        return part

    callers = [threading.Thread(target=threads.split_over_cores, args=(work, [0, 1]))
               for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=30)
    assert inside == [1, 1, 1, 1]
    assert blas[0]() == before


def test_in_parts_inside_a_helper_thread_runs_there(monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    inner = threads.in_parts(lambda part: threads.in_parts(lambda rows: rows, 4, nbytes=1),
                             2, nbytes=1)
    assert inner[0] == [slice(0, 2), slice(2, 4)]  # the calling thread may split
    assert inner[1] == [slice(0, 4)]  # the helper may not: it would wait on itself


def test_parallel_map_keeps_order_on_the_helpers_and_runs_serially_inside_one(monkeypatch):
    import threading

    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    names = []

    def square(i):
        names.append(threading.current_thread().name)
        return i * i

    assert threads.parallel_map(square, range(5)) == [0, 1, 4, 9, 16]
    assert all(name.startswith(threads._Helpers.PREFIX) for name in names)
    assert threads.parallel_map(square, range(3), threads=1) == [0, 1, 4]
    assert names[-1] == threading.current_thread().name  # one thread asked: run here
    inner = threads.parallel_map(lambda i: threads.parallel_map(square, range(2)), range(2))
    assert inner == [[0, 1], [0, 1]]  # a helper runs its own map serially
