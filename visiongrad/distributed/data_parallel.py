"""Synchronous data-parallel training over MPI: every rank holds the whole model, reads its
shard of every global batch, and applies the same averaged gradient.

>>> parallel = DistributedDataParallel(model)                  # doctest: +SKIP
>>> trainer = Trainer(model, optimizer, distributed=parallel)  # doctest: +SKIP
>>> trainer.fit(loader)   # run as: mpiexec -n 2 python train.py     doctest: +SKIP

``Trainer(distributed=True)`` builds one on ``MPI.COMM_WORLD``.
"""

from __future__ import annotations

import numpy as np

from .. import random as vg_random
from .comm import DEFAULT_TIMEOUT, allreduce_sum, broadcast_object, check_timeout, mpi, wait

DEFAULT_BUCKET_BYTES = 25 * 2**20
"""Gradient bytes per allreduce (PyTorch DDP's default bucket size)."""


class DistributedDataParallel:
    """Gradient averaging and state agreement for one model on every rank of ``comm``.

    The global batch of B examples is split into K contiguous shards (K ranks, shard r
    holding n_r examples, see :meth:`DataLoader.sharded`). Each rank computes the mean
    loss over its shard and its gradient g_r; the full batch's gradient is

        g = (1 / B) sum over all B examples = sum_r (n_r / B) g_r,

    which :meth:`average_gradients` forms with one float32 allreduce per bucket of
    parameters (buckets in reverse registration order, the order backward finishes
    them). Each bucket's ``Iallreduce`` starts as soon as that bucket is packed, so the
    reduction of one bucket runs while the next is packed. Every rank then holds the same
    g and takes the same optimizer step, so the weights stay equal without being sent.

    Parameters
    ----------
    model : nn.Module
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    timeout : float
        Seconds any collective may wait for the other ranks; past it the job is aborted
        with a message (a dead or stalled rank), see :func:`.comm.wait`.
    bucket_bytes : int
        Size of each gradient bucket in float32 bytes.

    Notes
    -----
    :meth:`synchronize` copies rank 0's weights, buffers (batch-norm running statistics,
    which local batch norm computes per rank) and visiongrad's random generator to every
    rank; the Trainer calls it when ``fit`` starts and after each epoch, so evaluation,
    checkpoints and the next epoch's shuffle agree everywhere. Dropout draws from that
    generator per rank (the same masks on every rank within an epoch).

    NOTE: unlike PyTorch's ``DistributedDataParallel`` this is not a Module wrapper and has
    no backward hooks (visiongrad's autograd has none): the Trainer calls
    :meth:`average_gradients` after ``loss.backward()``.

    Examples
    --------
    >>> from visiongrad import distributed
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Linear(4, 2)
    >>> ddp = distributed.DistributedDataParallel(model)
    >>> ddp.synchronize()
    >>> loss = model(vg.ones(3, 4)).sum()
    >>> loss.backward()
    >>> ddp.batch_totals(float(loss.data) / 3, right=2, count=3)[1:]
    (2, 3)
    >>> ddp.average_gradients(3)
    >>> ddp.world_size, model.weight.grad.shape
    (1, (2, 4))
    """

    def __init__(self, model, comm=None, *, timeout: float = DEFAULT_TIMEOUT,
                 bucket_bytes: int = DEFAULT_BUCKET_BYTES):
        if not isinstance(bucket_bytes, (int, np.integer)) or bucket_bytes < 4:
            raise ValueError(f"bucket_bytes must be an integer of at least 4, "
                             f"got {bucket_bytes!r}")
        self.model = model
        self.comm = comm if comm is not None else mpi().COMM_WORLD
        self.timeout = check_timeout(timeout)
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()
        self.buckets = _buckets(list(model.parameters())[::-1], bucket_bytes // 4)
        self.global_count = 0

    def __repr__(self) -> str:
        return (f"DistributedDataParallel(rank={self.rank}, world_size={self.world_size}, "
                f"buckets={len(self.buckets)}, timeout={self.timeout:g})")

    @property
    def is_writer(self) -> bool:
        """Whether this rank writes checkpoints, logs and progress (rank 0)."""
        return self.rank == 0

    def shard(self, loader):
        """This rank's shard of ``loader`` (a :class:`~visiongrad.data.DataLoader`)."""
        return loader.sharded(self.rank, self.world_size)

    def batch_totals(self, loss: float, right: int, count: int) -> tuple[float, int, int]:
        """The global batch's mean loss, correct predictions and size, from this rank's
        mean loss over ``count`` examples and its ``right`` predictions (one allreduce)."""
        totals = allreduce_sum(self.comm, np.array([loss * count, right, count], np.float64),
                               "allreduce of the batch loss", self.timeout)
        self.global_count = int(totals[2])
        return float(totals[0] / totals[2]), int(totals[1]), self.global_count

    def average_gradients(self, count: int) -> None:
        """Replace every gradient by the global batch's (see the class docstring).

        ``count`` is this rank's number of examples; :meth:`batch_totals` must have run for
        this batch (it records the global size). A parameter without a gradient on a rank
        contributes zeros there; every parameter ends with a gradient.
        """
        MPI = mpi()
        scale = np.float32(count / self.global_count)
        requests = []
        for bucket in self.buckets:
            for parameter, part in zip(bucket.parameters, bucket.views, strict=True):
                if parameter.grad is None:
                    part[...] = 0
                else:
                    np.multiply(np.asarray(parameter.grad).reshape(-1), scale, out=part,
                                casting="same_kind")
            requests.append(self.comm.Iallreduce(bucket.send, bucket.total, op=MPI.SUM))
            MPI.Request.Testall(requests)  # lets MPI progress the started reductions
        wait(self.comm, requests, "allreduce of the gradients", self.timeout)
        for bucket in self.buckets:
            for parameter, part in zip(bucket.parameters, bucket.results, strict=True):
                parameter.grad = part.reshape(parameter.data.shape).astype(
                    parameter.data.dtype, copy=True)

    def synchronize(self) -> None:
        """Rank 0's weights, buffers and random generator state on every rank."""
        state = broadcast_object(self.comm, (self.model.state_dict(), vg_random.get_state())
                                 if self.is_writer else None, "broadcast of rank 0's state",
                                 self.timeout)
        if not self.is_writer:
            self.model.load_state_dict(state[0])
            vg_random.set_state(state[1])


class _Bucket:
    """Parameters reduced together: a float32 send buffer and result, with views per
    parameter into both."""

    def __init__(self, parameters: list):
        sizes = [p.data.size for p in parameters]
        edges = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.parameters = parameters
        self.send = np.empty(edges[-1], np.float32)
        self.total = np.empty(edges[-1], np.float32)
        self.views = [self.send[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
        self.results = [self.total[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _buckets(parameters: list, capacity: int) -> list[_Bucket]:
    """Consecutive parameters grouped into buckets of at most ``capacity`` values (a larger
    parameter gets a bucket of its own)."""
    groups: list[list] = []
    filled = capacity
    for parameter in parameters:
        if filled + parameter.data.size > capacity:
            groups.append([])
            filled = 0
        groups[-1].append(parameter)
        filled += parameter.data.size
    return [_Bucket(group) for group in groups]
