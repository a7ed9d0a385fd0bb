"""The OpenBLAS that NumPy loaded, found among the process's mapped libraries (Linux).

``library()`` is that library (a ctypes handle), or None where there is none to find:
another BLAS, another OS, or no /proc. Everything visiongrad asks of OpenBLAS (its thread
count, its spin time, its kernels) goes through here and does nothing where it is None.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

THREAD_COUNT_NAMES = ("scipy_openblas_{}_num_threads64_", "openblas_{}_num_threads64_",
                      "openblas_{}_num_threads")
"""The names ``get``/``set`` of the thread-count functions in NumPy's builds of OpenBLAS."""


class _Found:
    searched = False
    library: ctypes.CDLL | None = None
    thread_count: tuple | None = None  # (get, set), or None


def _search() -> None:
    _Found.searched = True
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        paths = set()
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in THREAD_COUNT_NAMES:
            if hasattr(library, name.format("get")):
                _Found.library = library
                _Found.thread_count = (getattr(library, name.format("get")),
                                       getattr(library, name.format("set")))
                return


def library():
    """NumPy's OpenBLAS as a ``ctypes.CDLL``, or None (searched once, after NumPy loaded)."""
    if not _Found.searched:
        _search()
    return _Found.library


def thread_count_functions():
    """OpenBLAS's (get_num_threads, set_num_threads), or None where it was not found."""
    library()
    return _Found.thread_count


class _Inside:
    """How many callers are inside ``one_blas_thread`` and the count to restore after the
    last one leaves (two user threads may run convolutions at once)."""

    lock = threading.Lock()
    count = 0
    saved = 0


@contextlib.contextmanager
def one_blas_thread(functions):
    """Run the block with OpenBLAS on one thread (``functions`` from
    ``thread_count_functions``), restoring its count when the last caller leaves."""
    get_threads, set_threads = functions
    with _Inside.lock:
        if _Inside.count == 0:
            _Inside.saved = get_threads()
            set_threads(1)
        _Inside.count += 1
    try:
        yield
    finally:
        with _Inside.lock:
            _Inside.count -= 1
            if _Inside.count == 0:
                set_threads(_Inside.saved)
