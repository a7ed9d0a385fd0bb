"""The shared epoch loop: every example once a pass, the mean loss it reports, clipping and
a schedule that counts batches."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import optim
from visiongrad.train.epochs import descend_epoch, shuffled_batches


@pytest.mark.parametrize("count,batch_size", [(10, 3), (12, 4), (5, 8), (1, 1)])
def test_batches_cover_every_index_once_in_the_generators_order(count, batch_size):
    batches = shuffled_batches(count, batch_size, np.random.default_rng(7))
    np.testing.assert_array_equal(np.concatenate(batches),
                                  np.random.default_rng(7).permutation(count))
    assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
    assert 1 <= len(batches[-1]) <= batch_size


def _problem():
    x = np.random.default_rng(0).normal(size=(10, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    w = vg.Tensor(np.zeros(3), requires_grad=True)
    return x, y, w, lambda batch: (((vg.Tensor(x[batch]) @ w) - vg.Tensor(y[batch])) ** 2).mean()


def test_the_mean_loss_weighs_batches_by_their_size_and_the_weights_move():
    x, y, w, loss_of = _problem()
    seen = []

    def recorded(batch):
        loss = loss_of(batch)
        seen.append((len(batch), loss.item()))
        return loss

    mean = descend_epoch(recorded, 10, 4, optim.SGD([w], lr=0.01), np.random.default_rng(1))
    assert [size for size, _ in seen] == [4, 4, 2]
    assert mean == pytest.approx(sum(size * value for size, value in seen) / 10)
    assert np.abs(w.data).sum() > 0
    second = descend_epoch(loss_of, 10, 4, optim.SGD([w], lr=0.01), np.random.default_rng(1))
    assert second < mean  # a further pass on a convex problem lowers the loss


def test_clipping_bounds_each_step_and_the_schedule_counts_batches():
    x, y, w, loss_of = _problem()
    opt = optim.SGD([w], lr=1.0)
    schedule = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    before = w.data.copy()
    descend_epoch(loss_of, 10, 10, opt, np.random.default_rng(1), schedule=schedule,
                  clip_norm=0.25)
    assert np.linalg.norm(w.data - before) == pytest.approx(0.25, rel=1e-6)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)  # one batch, one schedule step
