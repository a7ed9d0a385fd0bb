"""What the processor is, read from ``/proc/cpuinfo`` (Linux; empty elsewhere): the CPU
model a run report names, and the fields the BLAS kernel choice looks at."""

from __future__ import annotations

import functools


@functools.cache
def cpuinfo() -> str:
    """The text of ``/proc/cpuinfo``, or "" where there is none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def cpu_model() -> str | None:
    """The first "model name" in ``/proc/cpuinfo`` (e.g. "AMD EPYC"), or None."""
    for line in cpuinfo().splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "model name":
            return value.strip()
    return None
