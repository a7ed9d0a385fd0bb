"""The pieces of data-parallel training that one process can check: shards of a loader,
gradient buckets, synchronised batch norm on one rank (a float64 gradient check)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_gradcheck

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn
from visiongrad.data import DataLoader


@pytest.mark.parametrize("ranks", [1, 2, 3])
@pytest.mark.parametrize("count", [40, 41, 44])
def test_the_shards_of_every_global_batch_are_that_batch(ranks, count):
    images = np.arange(count * 2, dtype=np.float32).reshape(count, 2)
    labels = np.arange(count)
    whole = DataLoader((images, labels), batch_size=6, shuffle=True, rng=5, to_float=False)
    shards = [DataLoader((images, labels), batch_size=6, shuffle=True, rng=5,
                         to_float=False).sharded(rank, ranks) for rank in range(ranks)]
    expected = list(whole)
    if len(expected[-1][1]) < ranks:  # a last batch smaller than the rank count is left out
        expected = expected[:-1]
    parts = [list(shard) for shard in shards]
    assert [len(shard) for shard in shards] == [len(part) for part in parts]
    assert {len(part) for part in parts} == {len(expected)}
    for number, (batch_images, batch_labels) in enumerate(expected):
        np.testing.assert_array_equal(
            np.concatenate([part[number][1] for part in parts]), batch_labels)
        np.testing.assert_array_equal(
            np.concatenate([part[number][0] for part in parts]), batch_images)
        sizes = [len(part[number][1]) for part in parts]
        assert max(sizes) - min(sizes) <= 1


def test_sharding_refuses_bad_ranks_and_small_batches():
    loader = DataLoader((np.zeros((8, 1)), np.zeros(8, int)), batch_size=2)
    with pytest.raises(ValueError, match="rank must be"):
        loader.sharded(2, 2)
    with pytest.raises(ValueError, match="batch_size 2 is smaller than the 3 ranks"):
        loader.sharded(0, 3)
    assert loader.shard_of is None and loader.sharded(1, 2).shard_of == (1, 2)


def test_buckets_hold_consecutive_parameters_up_to_their_capacity():
    from visiongrad.distributed.data_parallel import _buckets

    parameters = [nn.Parameter(np.zeros(size, np.float32)) for size in (3, 4, 10, 2, 2)]
    buckets = _buckets(parameters, capacity=7)
    assert [[p.data.size for p in b.parameters] for b in buckets] == [[3, 4], [10], [2, 2]]
    assert [b.send.size for b in buckets] == [7, 10, 4]
    assert buckets[0].views[1].base is buckets[0].send


def _self_comm():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed "
                                         "(pip install 'visiongrad[distributed]')")
    from mpi4py import MPI

    return MPI.COMM_SELF


def test_sync_batch_norm_on_one_rank_is_batch_norm_and_passes_gradcheck():
    from visiongrad.distributed.sync_batchnorm import SyncBatchNormFunction

    comm = _self_comm()
    generator = np.random.default_rng(1)  # tests/ops/test_norm.py's batch-norm case
    x = generator.standard_normal((4, 3, 5, 1)) * 2 + 1
    gamma, beta = generator.uniform(0.5, 1.5, 3), generator.normal(size=3)

    def sync(x, gamma, beta):
        return SyncBatchNormFunction.apply(x, gamma, beta, comm=comm)

    def plain(x, gamma, beta):
        return F.batch_norm(x, None, None, gamma, beta, training=True)

    inputs = [vg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    np.testing.assert_allclose(sync(*inputs).data, plain(*inputs).data, atol=1e-12)
    # h = 1e-5 as in tests/ops/test_norm.py: every output depends on its whole channel
    assert_gradcheck(sync, [x, gamma, beta], h=1e-5)


def test_convert_sync_batchnorm_keeps_parameters_and_running_statistics():
    from visiongrad.distributed import SyncBatchNorm, convert_sync_batchnorm

    comm = _self_comm()
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU())
    weight = model[1].weight
    before = model.state_dict()
    model = convert_sync_batchnorm(model, comm=comm)
    assert isinstance(model[1], SyncBatchNorm) and model[1].weight is weight
    assert model.state_dict().keys() == before.keys()
    reference = nn.BatchNorm2d(3)
    x = vg.tensor(np.random.default_rng(1).normal(size=(4, 3, 5, 5)).astype(np.float32))
    np.testing.assert_allclose(model[1](x).data, reference(x).data, rtol=1e-5, atol=1e-6)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(model[1], name), getattr(reference, name),
                                   rtol=1e-6)
    model.eval()
    reference.eval()
    np.testing.assert_allclose(model[1](x).data, reference(x).data, rtol=1e-5, atol=1e-6)
