"""MPI through mpi4py: the communicator, and collectives that end the job on a deadline.

Every collective here is MPI's non-blocking form (``Iallreduce``, ``Ibcast``) completed by
:func:`wait`, which polls ``Testall`` until a deadline. A rank that died or stalled then
ends the whole job with one clear line on stderr and ``MPI_Abort``, instead of leaving the
others blocked in a collective forever (MPI itself has no timeout on collectives).

mpi4py is imported on first use only, so ``import visiongrad`` never needs it;
``pip install 'visiongrad[distributed]'`` installs it with MPICH's PyPI wheel.
"""

from __future__ import annotations

import pickle
import sys
import time

import numpy as np

DEFAULT_TIMEOUT = 300.0
"""Seconds a collective may wait for the other ranks before the job is aborted.

Examples
--------
>>> DEFAULT_TIMEOUT
300.0
"""

ABORT_GRACE = 1.0
"""Seconds between a rank's last line on stderr and ``MPI_Abort`` (see :func:`abort`)."""


def mpi():
    """mpi4py's ``MPI`` module; a one-line ImportError naming the install command."""
    try:
        from mpi4py import MPI
    except ImportError:
        raise ImportError("distributed training needs mpi4py and an MPI library: "
                          "pip install 'visiongrad[distributed]'") from None
    return MPI


def world():
    """``MPI.COMM_WORLD``: every rank ``mpirun``/``mpiexec`` started.

    Examples
    --------
    >>> from visiongrad import distributed
    >>> comm = distributed.world()       # one process here; mpirun -n K starts K
    >>> comm.Get_size(), comm.Get_rank()
    (1, 0)
    """
    return mpi().COMM_WORLD


def check_timeout(timeout: float) -> float:
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def abort(comm, message: str) -> None:
    """Print ``message`` on stderr as this rank's last word and abort every rank.

    The launcher forwards a rank's stderr through a pipe it polls alongside the abort
    request; handling the abort first, it kills the job with the line still unread (a CI
    run lost it once). A second's pause before ``Abort`` lets the line through.
    """
    print(f"visiongrad.distributed: rank {comm.Get_rank()} of {comm.Get_size()}: {message}",
          file=sys.stderr, flush=True)
    time.sleep(ABORT_GRACE)
    comm.Abort(1)


def wait(comm, requests: list, what: str, timeout: float) -> None:
    """Complete ``requests`` (MPI requests), or abort the job after ``timeout`` seconds.

    Polls ``Testall`` with a pause growing to 1 ms, so a waiting rank leaves the cores to
    the ranks still computing.
    """
    if not requests:
        return
    MPI = mpi()
    deadline = time.monotonic() + timeout
    pause = 1e-5
    while not MPI.Request.Testall(requests):
        if time.monotonic() > deadline:
            abort(comm, f"{what} did not complete within {timeout:g} s: another rank has "
                        f"died or stalled; aborting the job")
        time.sleep(pause)
        pause = min(2 * pause, 1e-3)


def allreduce_sum(comm, values: np.ndarray, what: str, timeout: float) -> np.ndarray:
    """The elementwise sum of ``values`` over all ranks (a new array, same dtype)."""
    MPI = mpi()
    send = np.ascontiguousarray(values)
    total = np.empty_like(send)
    wait(comm, [comm.Iallreduce(send, total, op=MPI.SUM)], what, timeout)
    return total


def broadcast_object(comm, value, what: str, timeout: float, root: int = 0):
    """``value`` of rank ``root`` on every rank (pickled; other ranks' ``value`` unused)."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) \
        if comm.Get_rank() == root else b""
    size = np.array([len(payload)], dtype=np.int64)
    wait(comm, [comm.Ibcast(size, root=root)], f"{what} (size)", timeout)
    buffer = np.frombuffer(payload, dtype=np.uint8).copy() if comm.Get_rank() == root \
        else np.empty(int(size[0]), dtype=np.uint8)
    wait(comm, [comm.Ibcast(buffer, root=root)], what, timeout)
    return value if comm.Get_rank() == root else pickle.loads(buffer.tobytes())
