"""The array namespace every op computes with, and the default floating dtype.

Ops never import NumPy for their arithmetic: they ask this module for ``xp``, so the same
code runs on CuPy arrays once CuPy is selected. NumPy is the only backend today.

dtype policy: float32 by default for speed; float64 wherever gradients are checked
(``set_default_dtype(np.float64)`` or pass float64 arrays: ops keep their input's dtype).

It also holds what makes the ops fast on every core, each measured where it is defined:
the process-wide settings made on import (OpenBLAS's spin time and kernels, glibc keeping
freed blocks), elementwise passes cut into one part per core (``in_parts``, ``map_rows``,
``add``), and convolution blocks dealt to one thread per core (``split_over_cores``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

BLAS_SPIN_CYCLES_LOG2 = "20"
"""OpenBLAS's idle worker threads spin for 2^28 cycles (about 0.1 s) after each product
before they sleep. Between products a training step runs NumPy's single-threaded loops
and visiongrad's own two-thread kernels, and a worker still spinning takes a core from
them: measured here, a 16-channel convolution run straight after a product took 6.0 ms
instead of 3.0, and the small ResNet's step flipped between 255 and 580 ms from one second
to the next. Too short a spin costs the other way: a worker that went to sleep must be
woken for the next product, about 40 us on this VM, and the MLP's step has a dozen
products with 30-300 us of NumPy between them. Measured here, spin 2^16 / 2^20 / 2^22
cycles (25 us / 0.4 ms / 1.6 ms at 2.6 GHz): the convolution after a product 3.4-3.6 /
3.3-3.5 / 4.5-4.7 ms; the MLP's 128 x 512 x 10 product 0.07 / 0.03 ms, its step 3.92-4.01 /
3.66-3.83 ms. Set as ``OPENBLAS_THREAD_TIMEOUT`` unless the user set it; it takes effect
only if visiongrad is imported before NumPy loads OpenBLAS (``BLAS_SPIN_LIMITED`` says
whether it did)."""


def _limit_blas_spin() -> bool:
    if "numpy" in sys.modules:
        return False
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", BLAS_SPIN_CYCLES_LOG2)
    return True


BLAS_SPIN_LIMITED = _limit_blas_spin()


def is_zen4(cpuinfo: str) -> bool:
    """Whether ``/proc/cpuinfo`` text describes an AMD Zen 3/4 core (family 25) with
    AVX-512, i.e. Zen 4, which runs each 512-bit instruction as two 256-bit halves."""
    fields = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("vendor_id", "cpu family", "flags"):
            fields.setdefault(key.strip(), value.strip())
        if len(fields) == 3:
            break
    return (fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
            and "avx512f" in fields.get("flags", "").split())


def _choose_blas_kernels() -> str | None:
    """OpenBLAS picks its AVX-512 ("SkylakeX") kernels for a Zen 4 core, where its AVX2
    ("Haswell") kernels run faster: measured here (AMD EPYC, Zen 4), sgemm on the MLP's
    128 x 784 x 512 and 128 x 512 x 512 products at 200 instead of 185 GF/s, and the MLP's
    training step, over four runs each, at 1.01x PyTorch's time instead of 1.07x (the
    convolutional networks within noise of each other). Set as ``OPENBLAS_CORETYPE`` on a
    Zen 4 core unless the user set it, before NumPy loads OpenBLAS, as above (child
    processes inherit it, as they do the spin setting); returns the core type set, or
    None."""
    if "numpy" in sys.modules or "OPENBLAS_CORETYPE" in os.environ:
        return None
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            zen4 = is_zen4(cpuinfo.read())
    except OSError:
        return None
    if not zen4:
        return None
    os.environ["OPENBLAS_CORETYPE"] = "Haswell"
    return "Haswell"


BLAS_KERNELS = _choose_blas_kernels()
"""The OpenBLAS core type visiongrad chose on import ("Haswell" on Zen 4), or None."""

import numpy as np  # noqa: E402  (after the OpenBLAS setting above)

xp = np
"""The active array namespace (``numpy``)."""

_default_dtype = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The floating dtype given to new tensors built from Python numbers and lists."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype (float32 or float64)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"default dtype must be float32 or float64, got {dtype}")
    _default_dtype = dtype


def to_numpy(array) -> np.ndarray:
    """Return ``array`` as a NumPy array (a no-op for NumPy input)."""
    get = getattr(array, "get", None)  # CuPy arrays copy to the host with .get()
    return get() if callable(get) and not isinstance(array, np.ndarray) else np.asarray(array)


M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def keep_freed_memory(limit_bytes: int = 1 << 29) -> bool:
    """Let glibc's malloc reuse freed blocks below ``limit_bytes`` instead of unmapping them.

    By default glibc serves every block above its mmap threshold (at most 32 MB) with a
    fresh mapping and returns it to the system on ``free``; the next training step's
    activations then start on new zero-filled pages, and the page faults cost about a
    sixth of a VGG-style step here (17,000 faults, 330 -> 270 ms). Raising the mmap and
    trim thresholds keeps freed blocks in the heap for the next step. The peak memory is
    unchanged: it is the same blocks, kept instead of returned and faulted in again.

    Called once on import; set ``VISIONGRAD_SYSTEM_MALLOC=1`` to leave malloc alone.
    Returns whether the setting took (False off glibc, e.g. macOS or Windows).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)  # (parameter, value): an int, < 2 GiB
    return bool(mallopt(M_MMAP_THRESHOLD, limit_bytes)) and bool(
        mallopt(M_TRIM_THRESHOLD, limit_bytes))


MALLOC_TUNED = os.environ.get("VISIONGRAD_SYSTEM_MALLOC", "") != "1" and keep_freed_memory()
"""Whether ``keep_freed_memory`` was applied when visiongrad was imported."""


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


PARALLEL_MIN_BYTES = 1 << 20
"""Below this size ``in_parts`` runs the work on the calling thread alone: handing a part
to a helper thread costs tens of microseconds."""


class _Helpers:
    """The helper threads of ``in_parts``, made on first use and again after a fork (a
    forked child has none of its parent's threads)."""

    PREFIX = "visiongrad-part"
    pool: ThreadPoolExecutor | None = None
    pid: int | None = None

    @classmethod
    def running_here(cls) -> bool:
        return threading.current_thread().name.startswith(cls.PREFIX)

    @classmethod
    def get(cls) -> ThreadPoolExecutor:
        if cls.pool is None or cls.pid != os.getpid():
            cls.pool = ThreadPoolExecutor(available_cores() - 1, thread_name_prefix=cls.PREFIX)
            cls.pid = os.getpid()
        return cls.pool


def in_parts(work, length: int, nbytes: int) -> list:
    """Run ``work(part)`` for ``range(length)`` cut into one slice per core, in parallel;
    return the results in order.

    NumPy releases the GIL inside its loops, so the slices of one elementwise pass run on
    all cores at once while BLAS, between products, has none running: measured here, a
    12.8 MB multiply takes 1.36 ms on one thread and 0.77 ms on two. ``nbytes`` (what the
    work touches) below ``PARALLEL_MIN_BYTES`` keeps it on the calling thread, and so does
    a call from a helper thread itself (it would wait on the pool it is running in).
    """
    cores = min(available_cores(), length)
    if cores < 2 or nbytes < PARALLEL_MIN_BYTES or _Helpers.running_here():
        return [work(slice(0, length))]
    bounds = [length * i // cores for i in range(cores + 1)]
    parts = [slice(start, stop) for start, stop in zip(bounds, bounds[1:], strict=False)]
    pending = [_Helpers.get().submit(work, part) for part in parts[1:]]
    return [work(parts[0])] + [future.result() for future in pending]


CACHE_BLOCK_BYTES = 1 << 20
"""``map_rows`` runs ``fn`` on blocks of about this many bytes of ``out``, so a function
of several passes (batch norm's ``x * a + b`` is a multiply, then an add) reads the
block's values back from the L2 cache. Measured here on a 12.8 MB activation in two
parts: x * a + b 1.27 -> 0.88 ms, batch norm's backward combination 2.13 -> 1.80 ms
(256 KB blocks lie between, 64 KB blocks are slower than none)."""


def map_rows(fn, out, *operands):
    """``fn(*operands, out=out)``, computed in parts along the first axis (``in_parts``),
    each part in blocks of rows of about ``CACHE_BLOCK_BYTES``.

    Each operand is either an array of ``out``'s shape, cut like ``out``, or something
    that broadcasts against every part (a scalar, a per-channel vector), passed whole.
    Returns ``out``.
    """
    if out.ndim == 0 or out.nbytes <= min(CACHE_BLOCK_BYTES, PARALLEL_MIN_BYTES):
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


class _OpenBLAS:
    """``openblas_get/set_num_threads`` of the OpenBLAS that NumPy loaded, found among the
    process's mapped libraries (Linux); ``functions`` is None where there is none (another
    BLAS, another OS), and then nothing here changes any thread count."""

    NAMES = ("scipy_openblas_{}_num_threads64_", "openblas_{}_num_threads64_",
             "openblas_{}_num_threads")
    functions: tuple | None = None
    searched = False

    @classmethod
    def find(cls) -> tuple | None:
        if not cls.searched:
            cls.searched = True
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
                for name in cls.NAMES:
                    if hasattr(library, name.format("get")):
                        cls.functions = (getattr(library, name.format("get")),
                                         getattr(library, name.format("set")))
                        return cls.functions
        return cls.functions


def split_over_cores(work, parts: list) -> list:
    """``[work(part) for part in parts]``, with the parts dealt to one thread per core,
    each running its BLAS products on one BLAS thread; results in the order of ``parts``.

    A convolution alternates an im2col copy (one thread) and a product (BLAS on every
    core) block by block, so half its time one core idles. Two threads that each copy and
    multiply their own blocks keep both busy: measured here, the small ResNet's 16-channel
    convolution 5.6 ms instead of 10.2, VGG's 32-channel one 13.8 instead of 20.9. Runs
    serially where OpenBLAS's thread count cannot be set (the products would then compete
    for the cores) or there is one core or one part.
    """
    blas = _OpenBLAS.find()
    cores = min(available_cores(), len(parts))
    if blas is None or cores < 2:
        return [work(part) for part in parts]
    shares = [list(range(start, len(parts), cores)) for start in range(cores)]
    with _one_blas_thread(blas):
        done = in_parts(lambda share: [(i, work(parts[i])) for i in shares[share.start]],
                        cores, PARALLEL_MIN_BYTES)
    indexed = sorted((pair for share in done for pair in share), key=lambda pair: pair[0])
    return [result for _, result in indexed]


class _BlasThreads:
    """How many callers are inside ``_one_blas_thread`` and the count to restore after the
    last one leaves (two user threads may run convolutions at once)."""

    lock = threading.Lock()
    inside = 0
    saved = 0


@contextlib.contextmanager
def _one_blas_thread(blas):
    get_threads, set_threads = blas
    with _BlasThreads.lock:
        if _BlasThreads.inside == 0:
            _BlasThreads.saved = get_threads()
            set_threads(1)
        _BlasThreads.inside += 1
    try:
        yield
    finally:
        with _BlasThreads.lock:
            _BlasThreads.inside -= 1
            if _BlasThreads.inside == 0:
                set_threads(_BlasThreads.saved)


def add(a, b):
    """a + b as a fresh array; arrays of one shape are added in parts on every core
    (``map_rows``), anything that broadcasts by NumPy's plain ``+``."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return a + b
    return map_rows(xp.add, xp.empty_like(a), a, b)
