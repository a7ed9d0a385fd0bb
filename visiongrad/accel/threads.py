"""Work cut into one part per core: the helper threads, ``in_parts``, ``map_rows``,
``add`` and ``split_over_cores``, and the shared pool other modules use (kNN).

NumPy releases the GIL inside its loops, so the slices of one elementwise pass run on all
cores at once while BLAS, between products, has none running. Why each size below pays
is in the README's speed section and ``benchmarks/results/``.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..backend import is_host
from . import blas


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one).

    Examples
    --------
    >>> from visiongrad import accel
    >>> accel.available_cores() >= 1
    True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


PARALLEL_MIN_BYTES = 1 << 20
"""Below this size ``in_parts`` runs the work on the calling thread alone: handing a part
to a helper thread costs tens of microseconds."""

CACHE_BLOCK_BYTES = 1 << 20
"""``map_rows`` runs ``fn`` on blocks of about this many bytes of ``out``, so a function
of several passes (batch norm's ``x * a + b`` is a multiply, then an add) reads the
block's values back from the L2 cache."""


class _Helpers:
    """The helper threads, one per core, made on first use and again after a fork (a
    forked child has none of its parent's threads)."""

    PREFIX = "visiongrad-part"
    pool: ThreadPoolExecutor | None = None
    pid: int | None = None
    lock = threading.Lock()

    @classmethod
    def running_here(cls) -> bool:
        return threading.current_thread().name.startswith(cls.PREFIX)

    @classmethod
    def get(cls) -> ThreadPoolExecutor:
        if cls.pool is None or cls.pid != os.getpid():
            with cls.lock:
                if cls.pool is None or cls.pid != os.getpid():
                    cls.pool = ThreadPoolExecutor(available_cores(),
                                                  thread_name_prefix=cls.PREFIX)
                    cls.pid = os.getpid()
        return cls.pool


def parallel_map(fn, items, threads: int | None = None) -> list:
    """``[fn(item) for item in items]`` on the shared helper threads (at most ``threads``
    at once, default one per core), results in order; serially on a helper thread itself
    (it would wait on the pool it is running in) or when one thread is asked for.

    Examples
    --------
    >>> from visiongrad import accel
    >>> accel.parallel_map(lambda n: n * n, [1, 2, 3])
    [1, 4, 9]
    """
    items = list(items)
    threads = available_cores() if threads is None else threads
    if threads < 2 or len(items) < 2 or _Helpers.running_here():
        return [fn(item) for item in items]
    pool = _Helpers.get()
    results = []
    for start in range(0, len(items), threads):  # at most ``threads`` running at once
        results += [future.result() for future in
                    [pool.submit(fn, item) for item in items[start:start + threads]]]
    return results


def in_parts(work, length: int, nbytes: int) -> list:
    """Run ``work(part)`` for ``range(length)`` cut into one slice per core, in parallel;
    return the results in order.

    ``nbytes`` (what the work touches) below ``PARALLEL_MIN_BYTES`` keeps it on the calling
    thread, and so does a call from a helper thread itself (it would wait on the pool it
    is running in). The calling thread runs the first part itself.

    Examples
    --------
    >>> from visiongrad import accel
    >>> parts = accel.in_parts(lambda part: (part.start, part.stop), 10, nbytes=80)
    >>> parts[0][0], parts[-1][1]
    (0, 10)
    """
    cores = min(available_cores(), length)
    if cores < 2 or nbytes < PARALLEL_MIN_BYTES or _Helpers.running_here():
        return [work(slice(0, length))]
    bounds = [length * i // cores for i in range(cores + 1)]
    parts = [slice(start, stop) for start, stop in zip(bounds, bounds[1:], strict=False)]
    pending = [_Helpers.get().submit(work, part) for part in parts[1:]]
    return [work(parts[0])] + [future.result() for future in pending]


C_PARALLEL_MIN_BYTES = 1 << 18
"""Below this size a kernel that cuts its rows itself, on ``kernels/parallel.c``'s threads
(a hand-off of microseconds, where ``in_parts`` takes about a hundred), runs one part."""


def row_parts(rows: int, nbytes: int) -> int:
    """How many parts (one per core, at most 64) a kernel that runs its own threads
    (``kernels/parallel.c``) cuts ``rows`` into, for work that touches ``nbytes``: one
    below ``C_PARALLEL_MIN_BYTES`` or on a helper thread of ``in_parts``.

    Examples
    --------
    >>> from visiongrad import accel
    >>> accel.threads.row_parts(1000, nbytes=100)
    1
    >>> accel.threads.row_parts(1000, nbytes=1 << 30) == min(accel.available_cores(), 64)
    True
    """
    if nbytes < C_PARALLEL_MIN_BYTES or _Helpers.running_here():
        return 1
    return max(1, min(available_cores(), rows, 64))


def map_rows(fn, out, *operands):
    """``fn(*operands, out=out)``, computed in parts along the first axis (``in_parts``),
    each part in blocks of rows of about ``CACHE_BLOCK_BYTES``.

    Each operand is either an array of ``out``'s shape, cut like ``out``, or something
    that broadcasts against every part (a scalar, a per-channel vector), passed whole.
    Returns ``out``. Arrays of another library than NumPy go in one call (no threads).

    Examples
    --------
    >>> from visiongrad import accel
    >>> a, out = np.arange(12.0).reshape(4, 3), np.empty((4, 3))
    >>> accel.map_rows(np.multiply, out, a, a)
    array([[  0.,   1.,   4.],
           [  9.,  16.,  25.],
           [ 36.,  49.,  64.],
           [ 81., 100., 121.]])
    >>> bool(np.array_equal(out, a * a))
    True
    """
    one_block = out.ndim == 0 or out.nbytes <= min(CACHE_BLOCK_BYTES, PARALLEL_MIN_BYTES)
    if one_block or not is_host(out):
        fn(*operands, out=out)  # one block on this thread: no parts to cut
        return out
    step = max(1, CACHE_BLOCK_BYTES * out.shape[0] // out.nbytes)

    def work(rows):
        for start in range(rows.start, rows.stop, step):
            block = slice(start, min(start + step, rows.stop))
            fn(*(a[block] if getattr(a, "shape", None) == out.shape else a
                 for a in operands), out=out[block])

    in_parts(work, out.shape[0], out.nbytes)
    return out


def flat_views(*arrays):
    """1-D views of NumPy ``arrays`` of one shape, all C-contiguous, for elementwise work
    cut into parts along them (``in_parts``); None where one is not.

    Examples
    --------
    >>> from visiongrad import accel
    >>> [v.shape for v in accel.flat_views(np.ones((2, 3)), np.zeros((2, 3)))]
    [(6,), (6,)]
    >>> accel.flat_views(np.ones((2, 3)), np.ones((3, 2)).T) is None
    True
    """
    if not is_host(*arrays) or any(a.shape != arrays[0].shape or not a.flags.c_contiguous
                                   for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]


def add(a, b):
    """a + b as a fresh array; arrays of one shape are added in parts on every core
    (``map_rows``), anything that broadcasts by NumPy's plain ``+``.

    Examples
    --------
    >>> from visiongrad import accel
    >>> accel.add(np.ones((4, 3)), np.arange(3.0))
    array([[1., 2., 3.],
           [1., 2., 3.],
           [1., 2., 3.],
           [1., 2., 3.]])
    """
    if a.shape != b.shape or a.dtype != b.dtype or not is_host(a, b):
        return a + b
    return map_rows(np.add, np.empty_like(a), a, b)


def split_over_cores(work, parts: list) -> list:
    """``[work(part) for part in parts]``, with the parts dealt to one thread per core,
    each running its BLAS products on one BLAS thread; results in the order of ``parts``.

    A convolution alternates an im2col copy (one thread) and a product (BLAS on every
    core) block by block, so half its time one core idles; threads that each copy and
    multiply their own blocks keep every core busy. Runs serially where OpenBLAS's thread
    count cannot be set (the products would then compete for the cores) or there is one
    core or one part.

    Examples
    --------
    >>> from visiongrad import accel
    >>> accel.split_over_cores(sum, [[1, 2], [3, 4], [5]])
    [3, 7, 5]
    """
    functions = blas.thread_count_functions()
    cores = min(available_cores(), len(parts))
    if functions is None or cores < 2:
        return [work(part) for part in parts]
    shares = [list(range(start, len(parts), cores)) for start in range(cores)]
    with blas.one_blas_thread(functions):
        done = in_parts(lambda share: [(i, work(parts[i])) for i in shares[share.start]],
                        cores, PARALLEL_MIN_BYTES)
    indexed = sorted((pair for share in done for pair in share), key=lambda pair: pair[0])
    return [result for _, result in indexed]
