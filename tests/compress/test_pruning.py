"""Magnitude pruning: masks by sparsity (per layer, global), by the paper's quality x std
threshold and by filter/channel L1 norms; masks kept through optimizer steps."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn, optim
from visiongrad.compress import (
    MaskedOptimizer,
    apply_masks,
    current_masks,
    geometric_sparsities,
    magnitude_masks,
    prunable_weights,
    sparsity_table,
)


def small_net(seed=0):
    vg.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 6),
                         nn.ReLU(), nn.Linear(6, 3))


def test_prunable_weights_are_the_conv_and_linear_weights():
    assert list(prunable_weights(small_net())) == ["0.weight", "3.weight", "5.weight"]


def test_per_layer_sparsity_removes_that_fraction_of_each_layer_smallest_first():
    model = small_net()
    masks = magnitude_masks(model, 0.5, scope="layer")
    for name, weight in prunable_weights(model).items():
        kept = np.abs(weight.data)[masks[name]]
        dropped = np.abs(weight.data)[~masks[name]]
        assert (~masks[name]).sum() == round(0.5 * weight.data.size)
        assert kept.min() >= dropped.max()


def test_global_sparsity_uses_one_threshold_over_all_layers():
    model = small_net()
    masks = magnitude_masks(model, 0.7, scope="global")
    values = [(np.abs(w.data), masks[name]) for name, w in prunable_weights(model).items()]
    kept = np.concatenate([v[m] for v, m in values])
    dropped = np.concatenate([v[~m] for v, m in values])
    total = sum(v.size for v, _ in values)
    assert dropped.size == round(0.7 * total)
    assert kept.min() >= dropped.max()
    # unlike the per-layer scope, layers lose different fractions
    fractions = {name: 1 - m.mean() for name, m in masks.items()}
    assert len({round(f, 3) for f in fractions.values()}) > 1


def test_quality_threshold_is_quality_times_the_layer_std():
    model = small_net()
    masks = magnitude_masks(model, quality=0.8)
    for name, weight in prunable_weights(model).items():
        np.testing.assert_array_equal(masks[name],
                                      np.abs(weight.data) > 0.8 * weight.data.std())


def test_structured_pruning_removes_whole_filters_with_the_smallest_l1_norms():
    model = small_net()
    conv = model[0].weight.data
    conv[...] = np.arange(4, dtype=np.float32)[:, None, None, None] + 0.5  # filter L1 grows
    masks = magnitude_masks(model, {"0.weight": 0.5}, structure="filters")
    assert masks["0.weight"][:2].sum() == 0 and masks["0.weight"][2:].all()
    channels = magnitude_masks(model, {"3.weight": 0.25}, structure="channels")["3.weight"]
    assert (channels.all(axis=0) | ~channels.any(axis=0)).all()  # whole columns
    assert (~channels.any(axis=0)).sum() == 16


@pytest.mark.parametrize("bad", [{"sparsity": 1.0}, {"sparsity": -0.1}, {},
                                 {"sparsity": 0.5, "quality": 1.0},
                                 {"sparsity": 0.5, "scope": "model"},
                                 {"sparsity": {"nope": 0.5}}])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(ValueError):
        magnitude_masks(small_net(), **bad)


def train_steps(model, optimizer, steps=5):
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = vg.tensor(rng.standard_normal((8, 1, 6, 6)).astype(np.float32))
        loss = F.cross_entropy(model(x), rng.integers(0, 3, 8))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
    lambda p: optim.AdamW(p, lr=0.01),
    lambda p: optim.RMSProp(p, lr=0.01)])
def test_masks_stay_applied_through_optimizer_steps_and_their_state(make):
    model = small_net()
    # a first unmasked step fills momentum/moments everywhere: the mask must clear them
    inner = make(model.parameters())
    train_steps(model, inner, 1)
    masks = magnitude_masks(model, 0.6)
    apply_masks(model, masks)
    before = {name: w.data.copy() for name, w in prunable_weights(model).items()}
    train_steps(model, MaskedOptimizer(inner, model, masks))
    for name, weight in prunable_weights(model).items():
        assert (weight.data[~masks[name]] == 0).all()
        assert not np.array_equal(weight.data[masks[name]], before[name][masks[name]])
        for value in inner.state[id(weight)].values():
            if isinstance(value, np.ndarray) and value.shape == weight.shape:
                assert (value[~masks[name]] == 0).all()


def test_without_the_mask_momentum_revives_pruned_weights():
    """The failure MaskedOptimizer prevents (so the test above can fail)."""
    model = small_net()
    inner = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train_steps(model, inner, 1)
    apply_masks(model, magnitude_masks(model, 0.6))
    train_steps(model, inner, 1)
    assert np.mean(model[3].weight.data == 0) < 0.3  # 60% were zeroed


def test_masked_optimizer_delegates_the_rest():
    model = small_net()
    inner = optim.SGD(model.parameters(), lr=0.1)
    wrapped = MaskedOptimizer(inner, model, current_masks(model))
    assert wrapped.param_groups is inner.param_groups
    assert wrapped.state_dict()["param_groups"][0]["lr"] == 0.1


def test_geometric_schedule_keeps_the_same_fraction_each_round():
    steps = geometric_sparsities(0.9, 3)
    assert steps[-1] == pytest.approx(0.9)
    kept = [1 - s for s in [0.0, *steps]]
    ratios = np.array(kept[1:]) / np.array(kept[:-1])
    np.testing.assert_allclose(ratios, 0.1 ** (1 / 3))


def test_sparsity_table_counts_nonzeros():
    model = small_net()
    apply_masks(model, magnitude_masks(model, 0.75, scope="layer"))
    rows = sparsity_table(model)
    assert [row["name"] for row in rows] == ["0.weight", "3.weight", "5.weight", "total"]
    assert rows[1]["nonzero"] == 384 - 288 and rows[1]["density"] == 0.25
    assert rows[-1]["weights"] == 36 + 384 + 18
    assert rows[-1]["nonzero"] == sum(row["nonzero"] for row in rows[:-1])
