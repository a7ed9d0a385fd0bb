"""The process-wide settings visiongrad makes once, when it is imported: OpenBLAS's spin
time and kernels, and glibc keeping freed memory.

Each leaves alone what the user set, has an opt-out, and records what it applied
(``BLAS_SETTINGS``, ``MALLOC_TUNED``). The OpenBLAS settings take effect whatever was
imported first: OpenBLAS reads its environment when NumPy loads it, so visiongrad sets the
variables and then has the running OpenBLAS read them again and restart its threads and
kernel table (``apply_blas_settings``). Why each setting pays, with the measurements, is in
the README's speed section and ``benchmarks/results/``.

Examples
--------
>>> from visiongrad.accel import settings
>>> isinstance(settings.BLAS_SETTINGS, dict), isinstance(settings.MALLOC_TUNED, bool)
(True, True)
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy  # noqa: F401  (loads NumPy's OpenBLAS, so that ``blas`` can find it)

from . import blas, machine

BLAS_THREAD_TIMEOUT = "20"
"""``OPENBLAS_THREAD_TIMEOUT``: idle OpenBLAS workers spin 2^20 cycles (about 0.4 ms)
before they sleep, instead of 2^28 (about 0.1 s). A worker still spinning takes a core
from the NumPy loops and visiongrad's own threads that run between products; one that
went to sleep must be woken for the next product. 2^20 keeps both costs small."""

ZEN4_BLAS_CORETYPE = "Haswell"
"""``OPENBLAS_CORETYPE`` on a Zen 4 core: OpenBLAS picks its AVX-512 ("SkylakeX") kernels
there, which Zen 4 runs as two 256-bit halves; its AVX2 ("Haswell") kernels run faster."""

OPT_OUT_BLAS = "VISIONGRAD_SYSTEM_BLAS"
"""Set to 1 to leave OpenBLAS as NumPy configured it."""

OPT_OUT_MALLOC = "VISIONGRAD_SYSTEM_MALLOC"
"""Set to 1 to leave glibc's malloc alone."""

READ_ENV = "openblas_read_env"
RESTART_THREADS = "blas_thread_shutdown_"
RESTART_KERNELS = ("gotoblas_dynamic_quit", "gotoblas_dynamic_init")
"""OpenBLAS's own functions (exported by NumPy's builds) that re-read the environment,
stop the worker threads (the next product starts them with the new timeout) and choose
the kernel table again (builds for several CPUs only)."""

CORE_NAMES = ("scipy_openblas_get_corename64_", "openblas_get_corename")


def is_zen4(cpuinfo: str) -> bool:
    """Whether ``/proc/cpuinfo`` text describes an AMD Zen 3/4 core (family 25) with
    AVX-512, i.e. Zen 4, which runs each 512-bit instruction as two 256-bit halves."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("vendor_id", "cpu family", "flags"):
            fields.setdefault(key.strip(), value.strip())
        if len(fields) == 3:
            break
    return (fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
            and "avx512f" in fields.get("flags", "").split())


def _running_on_zen4() -> bool:
    return is_zen4(machine.cpuinfo())


def wanted_blas_settings(library, environ, zen4: bool) -> dict:
    """The OpenBLAS variables to set: those the user did not set, on a CPU that wants them,
    that ``library`` (None: no OpenBLAS) exports the functions to apply at run time."""
    if library is None or environ.get(OPT_OUT_BLAS) == "1" or not hasattr(library, READ_ENV):
        return {}
    wanted = {}
    if "OPENBLAS_THREAD_TIMEOUT" not in environ and hasattr(library, RESTART_THREADS):
        wanted["OPENBLAS_THREAD_TIMEOUT"] = BLAS_THREAD_TIMEOUT
    if (zen4 and "OPENBLAS_CORETYPE" not in environ and hasattr(library, RESTART_THREADS)
            and all(hasattr(library, name) for name in RESTART_KERNELS)):
        wanted["OPENBLAS_CORETYPE"] = ZEN4_BLAS_CORETYPE
    return wanted


def apply_blas_settings() -> dict:
    """Set the wanted OpenBLAS variables (``wanted_blas_settings``) and have the running
    OpenBLAS apply them; return what was applied ({} where nothing was).

    Only from the main thread: stopping OpenBLAS's workers while another thread runs a
    product would break it. visiongrad itself starts no thread before this runs.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    library = blas.library()
    wanted = wanted_blas_settings(library, os.environ, _running_on_zen4())
    if not wanted:
        return {}
    os.environ.update(wanted)  # child processes inherit them, and apply them on load
    getattr(library, READ_ENV)()
    getattr(library, RESTART_THREADS)()
    if "OPENBLAS_CORETYPE" in wanted:
        for name in RESTART_KERNELS:
            getattr(library, name)()
    return wanted


def blas_state() -> dict:
    """What the running OpenBLAS uses now: {"coretype": ..., "thread_timeout": ...}, each
    None where this OpenBLAS does not say (or there is none)."""
    library = blas.library()
    state = {"coretype": None, "thread_timeout": None}
    if library is None:
        return state
    for name in CORE_NAMES:
        if hasattr(library, name):
            core_name = getattr(library, name)
            core_name.restype = ctypes.c_char_p
            state["coretype"] = core_name().decode()
            break
    if hasattr(library, "openblas_thread_timeout"):
        state["thread_timeout"] = library.openblas_thread_timeout()
    return state


M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def keep_freed_memory(limit_bytes: int = 1 << 29) -> bool:
    """Let glibc's malloc reuse freed blocks below ``limit_bytes`` instead of unmapping them.

    By default glibc serves every block above its mmap threshold (at most 32 MB) with a
    fresh mapping and returns it to the system on ``free``, so the next training step's
    activations start on new zero-filled pages and pay a page fault each. Raising the mmap
    and trim thresholds keeps freed blocks in the heap for the next step; the peak memory
    is unchanged (the same blocks, kept instead of returned and faulted in again).
    Returns whether the setting took (False off glibc, e.g. macOS or Windows).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)  # (parameter, value): an int, < 2 GiB
    return bool(mallopt(M_MMAP_THRESHOLD, limit_bytes)) and bool(
        mallopt(M_TRIM_THRESHOLD, limit_bytes))


BLAS_SETTINGS = apply_blas_settings()
"""The OpenBLAS variables visiongrad applied on import, e.g.
{"OPENBLAS_THREAD_TIMEOUT": "20", "OPENBLAS_CORETYPE": "Haswell"}; {} where none (the user
set them, ``VISIONGRAD_SYSTEM_BLAS=1``, another BLAS, or imported off the main thread)."""

MALLOC_TUNED = os.environ.get(OPT_OUT_MALLOC, "") != "1" and keep_freed_memory()
"""Whether ``keep_freed_memory`` was applied on import."""
