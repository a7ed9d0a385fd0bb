"""Crafted-file testing (issue 28): byte mutations for hypothesis, the memory bound every
reader must keep, and a child process that measures it under an address-space limit.

A file may make its reader allocate at most ``memory_bound(path)`` bytes: ten times its
size, or 64 MiB for a small file. tracemalloc sees Python's and NumPy's allocations; the
child's address space is also capped, so an allocation tracemalloc would not see (or one
large enough to hurt the machine) ends as a MemoryError instead.
"""

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

from hypothesis import strategies as st

TESTS = Path(__file__).resolve().parent
BOUND_FLOOR = 64 << 20


def memory_bound(path) -> int:
    """The most bytes reading ``path`` may allocate: 10x its size, at least 64 MiB."""
    return max(10 * os.path.getsize(path), BOUND_FLOOR)


def traced_peak(function, *args, **kwargs):
    """``(peak bytes traced, exception or None)`` while ``function(*args, **kwargs)`` runs."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        error = None
    except Exception as raised:  # noqa: BLE001 - returned for the test to judge
        error = raised
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, error


_CHILD = textwrap.dedent("""
    import importlib, json, resource, sys
    sys.path[:0] = sys.argv[1:3]
    from fuzzing import traced_peak
    cases = json.loads(sys.argv[3])
    readers = {name: getattr(importlib.import_module(name.rsplit(".", 1)[0]),
                             name.rsplit(".", 1)[1]) for name, *_ in cases}
    size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (size + int(sys.argv[4]),) * 2)
    for reader, path, kwargs in cases:
        peak, error = traced_peak(readers[reader], path, **kwargs)
        print(json.dumps([peak, type(error).__name__, str(error)[:2000]]), flush=True)
""")


def peaks_in_child(cases, headroom: int = 1 << 30, timeout: float = 300
                   ) -> list[tuple[int, str, str]]:
    """Run each ``("module.function", path[, keyword arguments])`` in one child process
    whose address space is capped ``headroom`` bytes above its size after imports; per
    case ``(traced peak, error type name or 'NoneType', message)``. A case that kills the
    child ends the list early; one that runs past ``timeout`` seconds fails the test."""
    import visiongrad  # the child imports the same copy of the package as this process

    cases = [(reader, str(path), *(kwargs or [{}])) for reader, path, *kwargs in cases]
    package_root = Path(visiongrad.__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(TESTS), str(package_root), json.dumps(cases),
         str(headroom)], capture_output=True, text=True, timeout=timeout)
    results = [tuple(json.loads(line)) for line in done.stdout.splitlines()]
    assert len(results) == len(cases), f"the child stopped early:\n{done.stderr[-3000:]}"
    return results


#: Up to four byte edits: (kind, position, value), applied by :func:`mutate`.
EDITS = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "set"]),
                           st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4)


def mutate(content: bytes, edits) -> bytes:
    """``content`` with each edit applied: flip a bit, cut the rest, insert a run of one
    byte, or set a byte (positions wrap around the current length)."""
    data = bytearray(content)
    for kind, where, value in edits:
        where = where % max(len(data), 1)
        if kind == "flip" and data:
            data[where] ^= 1 << (value % 8)
        elif kind == "cut":
            del data[where:]
        elif kind == "insert":
            data[where:where] = bytes([value]) * (1 + value % 9)
        elif data:
            data[where] = value
    return bytes(data)
