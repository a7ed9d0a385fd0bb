"""How the Trainer's ``distributed`` argument becomes a data-parallel helper."""

from __future__ import annotations


def data_parallel(model, distributed):
    """``None`` for ``False``/``None``; a ``DistributedDataParallel`` on ``COMM_WORLD`` for
    ``True``; a given ``DistributedDataParallel`` checked to hold ``model``."""
    from .data_parallel import DistributedDataParallel

    if distributed is None or distributed is False:
        return None
    if distributed is True:
        return DistributedDataParallel(model)
    if not isinstance(distributed, DistributedDataParallel):
        raise TypeError(f"distributed must be a bool or a DistributedDataParallel, got "
                        f"{type(distributed).__name__}")
    if distributed.model is not model:
        raise ValueError("distributed holds another model than the Trainer's")
    return distributed
