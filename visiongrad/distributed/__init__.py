"""Beyond one process: synchronous data-parallel training over MPI (mpi4py), below the
Trainer that uses it. Hyperparameter search on Ray runs the search's trials, so it sits
beside the search, above the Trainer: :class:`visiongrad.train.ray_trials.RayTrials`.

Nothing here imports mpi4py until it is used; without it a call fails with one line
naming ``pip install 'visiongrad[distributed]'``.
"""

from .comm import DEFAULT_TIMEOUT, world
from .data_parallel import DistributedDataParallel
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

__all__ = ["DEFAULT_TIMEOUT", "DistributedDataParallel", "SyncBatchNorm",
           "convert_sync_batchnorm", "world"]
