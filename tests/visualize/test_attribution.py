"""Saliency, guided backpropagation and occlusion."""

import numpy as np
import pytest
from helpers import assert_gradcheck

import visiongrad as vg
from visiongrad import nn
from visiongrad.visualize import (
    GuidedReLU,
    guided_backprop,
    guided_relus,
    input_gradient,
    occlusion,
    saliency,
)


def test_input_gradient_is_the_gradient_of_the_target_scores(tiny_convnet, images):
    targets = np.array([0, 2, 1])
    grad = input_gradient(tiny_convnet, images, targets)
    # The model's backward against centred differences, through its (N, 3) scores: gradcheck
    # subtracts each score's unperturbed value before summing, so round-off scales with each
    # score's change. (Summing L = sum_n s[n, t_n] inside the checked function loses that:
    # an input pixel whose gradient is 5e-7 then differs by ~1e-6 relative from float64
    # round-off alone, above or below the 1e-6 bar with the products' summation order.)
    assert_gradcheck(tiny_convnet, [images])
    x = vg.tensor(images, requires_grad=True)
    weights = np.eye(3)[targets]  # L = sum_n s[n, t_n]
    (tiny_convnet(x) * vg.tensor(weights)).sum().backward()
    np.testing.assert_allclose(grad, x.grad)


def test_saliency_of_a_linear_model_is_its_weight_maximised_over_channels(linear_model):
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((4, 2 * 5 * 6))
    model = linear_model(weight)
    x = rng.standard_normal((3, 2, 5, 6))
    maps = saliency(model, x, [3, 0, 3])
    assert maps.shape == (3, 5, 6)
    for n, t in enumerate([3, 0, 3]):
        np.testing.assert_allclose(maps[n], np.abs(weight[t].reshape(2, 5, 6)).max(0))


def test_saliency_leaves_the_model_as_it_was(tiny_convnet, images):
    tiny_convnet.train()
    saliency(tiny_convnet, images, 1)
    assert tiny_convnet.training and all(p.requires_grad and p.grad is None
                                         for p in tiny_convnet.parameters())


def test_guided_relu_backward_formula_and_forward():
    x = vg.tensor(np.array([-1.0, 2.0, 3.0, 0.5]), requires_grad=True)
    y = GuidedReLU.apply(x)
    np.testing.assert_array_equal(y.data, [0, 2, 3, 0.5])
    y.backward(np.array([5.0, -1.0, 4.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [0, 0, 4, 2])  # dy * [x > 0] * [dy > 0]


def test_guided_backprop_by_hand_on_a_two_layer_net():
    rng = np.random.default_rng(2)
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).to(np.float64)
    x = rng.standard_normal((1, 1, 2, 3))
    W1, b1, W2 = net[1].weight.data, net[1].bias.data, net[3].weight.data
    hidden = x.reshape(1, 6) @ W1.T + b1
    upstream = W2[1]
    expected = ((hidden[0] > 0) * (upstream > 0) * upstream) @ W1
    np.testing.assert_allclose(guided_backprop(net, x, 1).reshape(-1), expected)
    assert "forward" not in net[2].__dict__  # the ReLU is restored
    np.testing.assert_allclose(input_gradient(net, x, 1).reshape(-1),
                               ((hidden[0] > 0) * upstream) @ W1)


def test_guided_relus_refuses_a_model_without_relu_modules():
    with pytest.raises(ValueError, match="no nn.ReLU"):
        with guided_relus(nn.Sequential(nn.Linear(2, 2))):
            pass


def test_occlusion_finds_the_one_region_the_answer_depends_on(linear_model):
    weight = np.zeros((2, 12 * 12))
    region = np.zeros((12, 12))
    region[8:12, 4:8] = 1.0  # class 1 reads only this 4x4 square
    weight[1] = 3 * region.ravel()
    model = linear_model(weight)
    x = np.ones((1, 1, 12, 12))
    drops = occlusion(model, x, 1, patch=4, stride=4)  # p_1 falls from ~1 to 1/2
    assert drops.shape == (1, 3, 3)
    assert drops[0, 2, 1] == pytest.approx(0.5)
    assert np.abs(np.delete(drops[0].ravel(), 7)).max() < 1e-12


def test_occlusion_checks_its_arguments(images, tiny_convnet):
    with pytest.raises(ValueError, match="patch must be a positive int"):
        occlusion(tiny_convnet, images, 0, patch=0)
    with pytest.raises(ValueError, match="must fit"):
        occlusion(tiny_convnet, images, 0, patch=9)
    with pytest.raises(ValueError, match="target must be an int or 3 ints"):
        saliency(tiny_convnet, images, [0, 1])
    with pytest.raises(ValueError, match=r"target classes must lie in \[0, 3\)"):
        saliency(tiny_convnet, images, 5)
    with pytest.raises(ValueError, match="x must have shape"):
        saliency(tiny_convnet, images[0], 0)
