"""Synchronised batch normalisation: the statistics of the global batch, summed over the
ranks by allreduce in forward and in backward (PyTorch's ``SyncBatchNorm``)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..nn.norm import BatchNorm1d, BatchNorm2d, _BatchNorm
from ..ops.norm import check_norm_input
from .comm import DEFAULT_TIMEOUT, allreduce_sum, check_timeout, mpi


class SyncBatchNormFunction(Function):
    """Batch normalisation in training mode over the union of every rank's batch.

    Rank r holds x_r with n_r examples; M is the number of values per channel over all
    ranks (sum of n_r x H x W). Sums over all ranks are written sum_all.

    Forward:  mu = sum_all(x) / M, var = sum_all((x - mu)^2) / M (two passes, two
              allreduces), x_hat = (x - mu) / sqrt(var + eps), y = gamma x_hat + beta;
              running_mean <- (1 - momentum) running_mean + momentum mu,
              running_var <- (1 - momentum) running_var + momentum var M / (M - 1)
    Backward: each rank's loss is the mean over its n_r examples and the gradients are
              averaged with weights n_r / B (as ``DistributedDataParallel`` does), so the
              rank-r view of the global sums weighs rank r' by n_r' / n_r:
              S_dy = sum_all(n dy) / n_r, S_dyx = sum_all(n dy x_hat) / n_r (one allreduce),
              dx = gamma inv_std (dy - S_dy / M - x_hat S_dyx / M);
              dgamma = sum(dy x_hat), dbeta = sum(dy) over this rank's values only (the
              data-parallel average combines them)
    Shapes:   x (N, C, ...); gamma, beta, running statistics (C,)

    With one rank this is ``BatchNorm`` in training mode.
    """

    def forward(self, x, weight, bias, running_mean=None, running_var=None, comm=None,
                momentum=0.1, eps=1e-5, timeout=DEFAULT_TIMEOUT):
        check_norm_input("sync_batch_norm", x, eps)
        self.axes = (0, *range(2, x.ndim))
        self.comm, self.timeout, self.examples = comm, timeout, x.shape[0]
        per_channel = (1, -1) + (1,) * (x.ndim - 2)
        local = np.concatenate([[x.size // x.shape[1]], x.sum(axis=self.axes)])
        totals = allreduce_sum(comm, local.astype(np.float64), "allreduce of batch-norm sums",
                               timeout)
        self.count = totals[0]
        if self.count < 2:
            raise ValueError(f"sync_batch_norm: expected more than 1 value per channel when "
                             f"training, got {int(self.count)} over all ranks")
        mu = (totals[1:] / self.count).astype(x.dtype)
        centred = x - mu.reshape(per_channel)
        var = (allreduce_sum(comm, (centred ** 2).sum(axis=self.axes).astype(np.float64),
                             "allreduce of batch-norm variances", timeout)
               / self.count).astype(x.dtype)
        self.inv_std = (1 / np.sqrt(var + eps)).reshape(per_channel)
        self.x_hat = centred * self.inv_std
        self.gamma = weight.reshape(per_channel)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mu
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (self.count / (self.count - 1))
        return self.gamma * self.x_hat + bias.reshape(self.gamma.shape)

    def backward(self, grad_out):
        dy = grad_out
        sum_dy, sum_dy_x_hat = dy.sum(axis=self.axes), (dy * self.x_hat).sum(axis=self.axes)
        local = self.examples * np.concatenate([sum_dy, sum_dy_x_hat]).astype(np.float64)
        totals = allreduce_sum(self.comm, local, "allreduce of batch-norm gradient sums",
                               self.timeout) / self.examples
        channels = sum_dy.size
        shape = self.gamma.shape
        s_dy = totals[:channels].astype(dy.dtype).reshape(shape)
        s_dyx = totals[channels:].astype(dy.dtype).reshape(shape)
        dx = self.gamma * self.inv_std * (dy - s_dy / self.count
                                          - self.x_hat * s_dyx / self.count)
        return dx.astype(dy.dtype), sum_dy_x_hat, sum_dy


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation whose training statistics are those of the global batch.

    Parameters as ``BatchNorm1d``/``BatchNorm2d`` (input (N, C) up to (N, C, H, W)), plus
    ``comm`` (default ``MPI.COMM_WORLD``) and ``timeout`` (seconds a collective may
    wait). Evaluation, and training without running statistics on one rank, behave as
    ``BatchNorm``. The running statistics are the same on every rank.

    NOTE: unlike PyTorch's ``SyncBatchNorm``, ranks may hold batches of different sizes:
    the backward weighs them as the data-parallel gradient average does.

    Examples
    --------
    >>> from visiongrad import distributed
    >>> _ = vg.manual_seed(0)
    >>> norm = distributed.SyncBatchNorm(2)
    >>> y = norm(vg.randn(8, 2))
    >>> y.shape, bool(np.allclose(y.data.mean(axis=0), 0.0, atol=1e-6))
    ((8, 2), True)
    """

    expected_ndims = (2, 3, 4, 5)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, comm=None,
                 timeout: float = DEFAULT_TIMEOUT):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        if not affine:
            raise ValueError("SyncBatchNorm: affine=False is not supported")
        self.comm = comm if comm is not None else mpi().COMM_WORLD
        self.timeout = check_timeout(timeout)

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        momentum = self.momentum
        if self.track_running_stats:
            self.num_batches_tracked += 1
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        return SyncBatchNormFunction.apply(
            x, self.weight, self.bias, running_mean=self.running_mean,
            running_var=self.running_var, comm=self.comm, momentum=momentum, eps=self.eps,
            timeout=self.timeout)


def convert_sync_batchnorm(module, comm=None, timeout: float = DEFAULT_TIMEOUT):
    """Replace every ``BatchNorm1d``/``BatchNorm2d`` in ``module`` by a ``SyncBatchNorm``
    holding the same parameters (the same objects, so an optimizer already built keeps
    them) and buffers; return ``module`` (or the replacement when it is a batch norm).

    Examples
    --------
    >>> from visiongrad import distributed
    >>> model = nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2))
    >>> model = distributed.convert_sync_batchnorm(model)
    >>> type(model[1]).__name__
    'SyncBatchNorm'
    """
    if isinstance(module, (BatchNorm1d, BatchNorm2d)):
        sync = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                             module.track_running_stats, comm=comm, timeout=timeout)
        sync.weight, sync.bias = module.weight, module.bias
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            sync.register_buffer(name, getattr(module, name))
        sync.train(module.training)
        return sync
    for name, child in list(module.named_children()):
        setattr(module, name, convert_sync_batchnorm(child, comm, timeout))
    return module
