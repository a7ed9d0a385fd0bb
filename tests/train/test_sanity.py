import math

import numpy as np
import pytest

from visiongrad import models, optim, train


def test_initial_loss_is_log_of_the_class_count(blobs):
    model = models.create("fc", hidden_dims=[16], input_shape=(1, 4, 4), num_classes=3)
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    result = train.check_initial_loss(model, *blobs[:2])
    assert result["expected"] == pytest.approx(math.log(3))
    assert result["ok"], result
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), before[name])


def test_initial_loss_flags_large_scores(blobs):
    model = models.create("fc", hidden_dims=[16], input_shape=(1, 4, 4), num_classes=3)
    last = [p for _, p in model.named_parameters()][-2]
    last.data *= 1000.0  # scores far from uniform: the loss is far above log(3)
    assert not train.check_initial_loss(model, *blobs[:2])["ok"]


def test_small_network_overfits_a_small_subset():
    generator = np.random.default_rng(3)
    x = generator.standard_normal((40, 1, 6, 6)).astype(np.float32)
    y = generator.integers(0, 10, size=40)  # random labels: only memorising fits them
    model = models.create("two_layer", input_shape=(1, 6, 6), hidden_dim=64)
    result = train.overfit_small_subset(model, optim.Adam(model.parameters(), lr=1e-2), x, y,
                                        num_samples=20, epochs=40, batch_size=10)
    assert result["train_accuracy"] == 1.0
    assert result["final_loss"] < 0.1 * result["initial_loss"]
