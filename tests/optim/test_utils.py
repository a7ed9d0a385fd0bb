"""clip_grad_norm_ against PyTorch; EMA / Polyak averaging by hand."""

import math

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg
from visiongrad import nn, optim

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def grads(scale):
    rng = np.random.default_rng(7)
    return [scale * rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_matches_pytorch(norm_type, scale):
    torch = torch_or_skip()
    ours = [vg.Tensor(np.zeros(s, np.float32), requires_grad=True) for s in SHAPES]
    theirs = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    for a, b, g in zip(ours, theirs, grads(scale), strict=True):
        a.grad, b.grad = g.copy(), torch.tensor(g)
    total = optim.clip_grad_norm_(ours, max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)
    assert math.isclose(total, expected.item(), rel_tol=1e-5)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-5, atol=1e-8)
        assert a.grad.dtype == np.float32


def test_clip_scales_a_shared_gradient_once():
    a = vg.Tensor(np.zeros(2), requires_grad=True)
    b = vg.Tensor(np.zeros(2), requires_grad=True)
    shared = np.array([3.0, 4.0])
    a.grad = b.grad = shared
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert math.isclose(total, math.sqrt(50))
    coefficient = 1.0 / (math.sqrt(50) + 1e-6)
    np.testing.assert_allclose(a.grad, shared * coefficient)
    np.testing.assert_allclose(b.grad, shared * coefficient)
    np.testing.assert_array_equal(shared, [3.0, 4.0])


def test_clip_takes_a_module_and_counts_each_parameter_once():
    layer = nn.Linear(2, 1)
    layer.weight.grad = np.array([[3.0, 4.0]], np.float32)
    layer.bias.grad = np.zeros(1, np.float32)
    assert math.isclose(optim.clip_grad_norm_([layer.weight, layer.weight], 100.0), 5.0)
    assert math.isclose(optim.clip_grad_norm_(layer, 100.0), 5.0)
    np.testing.assert_array_equal(layer.weight.grad, [[3.0, 4.0]])


def test_clip_errors():
    a = vg.Tensor(np.zeros(2), requires_grad=True)
    a.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="is inf"):
        optim.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm must be non-negative"):
        optim.clip_grad_norm_([a], -1.0)
    assert optim.clip_grad_norm_([vg.Tensor(np.zeros(2), requires_grad=True)], 1.0) == 0.0


def test_ema_by_hand_and_swap():
    w = vg.Tensor(np.zeros(3), requires_grad=True)
    ema = optim.EMA([w], decay=0.9)
    w.data[...] = 1.0
    ema.update()                      # 0.9 * 0 + 0.1 * 1
    w.data[...] = 2.0
    ema.update()                      # 0.9 * 0.1 + 0.1 * 2
    np.testing.assert_allclose(ema.shadow[0], 0.29)
    with ema.average_parameters():
        np.testing.assert_allclose(w.data, 0.29)
    np.testing.assert_array_equal(w.data, 2.0)


def test_polyak_mean_of_iterates():
    w = vg.Tensor(np.array([0.0]), requires_grad=True)
    average = optim.PolyakAverage([w], decay=None)
    for value in (1.0, 2.0, 6.0):
        w.data[...] = value
        average.update()
    np.testing.assert_allclose(average.shadow[0], (0 + 1 + 2 + 6) / 4)


def test_ema_swap_restores_after_an_error_and_round_trips():
    model = nn.Linear(3, 2)
    ema = optim.EMA(model, decay=0.5)
    original = model.weight.data.copy()
    model.weight.data += 1
    ema.update()
    current = model.weight.data.copy()
    with pytest.raises(KeyError), ema.average_parameters():
        np.testing.assert_allclose(model.weight.data, original + 0.5, rtol=1e-6)
        raise KeyError("evaluation failed")
    np.testing.assert_array_equal(model.weight.data, current)
    restored = optim.EMA(model, decay=0.9)
    restored.load_state_dict(ema.state_dict())
    assert restored.decay == 0.5 and restored.num_updates == 1
    np.testing.assert_array_equal(restored.shadow[0], ema.shadow[0])
    with pytest.raises(ValueError, match="holds 1 arrays"):
        restored.load_state_dict({**ema.state_dict(), "shadow": ema.shadow[:1]})
    with pytest.raises(ValueError, match=r"decay must be in \[0.0, 1.0\)"):
        optim.EMA(model, decay=1.0)
