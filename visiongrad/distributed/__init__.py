"""Beyond one process: synchronous data-parallel training over MPI (mpi4py) and
hyperparameter search on Ray.

Nothing here imports mpi4py or Ray until it is used; without them a call fails with one
line naming ``pip install 'visiongrad[distributed]'``.
"""

from .comm import DEFAULT_TIMEOUT, world
from .data_parallel import DistributedDataParallel
from .ray_trials import RayTrials
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

__all__ = ["DEFAULT_TIMEOUT", "DistributedDataParallel", "RayTrials", "SyncBatchNorm",
           "convert_sync_batchnorm", "world"]
