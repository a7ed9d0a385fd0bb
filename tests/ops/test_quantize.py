"""Fake quantization (straight-through estimator), ternary and binary weights: forward and
backward by hand, against PyTorch's fake quantization, and the float64 gradient check of
the ternary scales (the part of those ops with a true derivative)."""

import numpy as np
import pytest
from helpers import assert_gradcheck, torch_or_skip

import visiongrad as vg
from visiongrad.ops.quantize import BinaryWeight, FakeQuantize, TernaryWeight

rng = np.random.default_rng(8)


def backward_of(op_output, upstream):
    (op_output * vg.tensor(upstream)).sum().backward()


def test_fake_quantize_forward_and_straight_through_by_hand():
    x = vg.tensor(np.array([-0.3, -0.04, 0.0, 0.26, 0.74, 0.9]), requires_grad=True)
    # scale 0.1, zero point 2, levels 0..7: q = round(x / 0.1) + 2 -> -1, 2, 2, 5, 9, 11
    y = FakeQuantize.apply(x, np.array(0.1), np.array(2.0), quant_min=0, quant_max=7)
    np.testing.assert_allclose(y.data, [-0.2, 0.0, 0.0, 0.3, 0.5, 0.5], atol=1e-12)
    backward_of(y, np.arange(1.0, 7.0))
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 3.0, 4.0, 0.0, 0.0])  # clamped: 0


def test_fake_quantize_per_channel_matches_pytorch():
    torch = torch_or_skip()
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32) * 2
    scale = np.array([0.05, 0.1, 0.02, 0.3], np.float32)
    zero = np.zeros(4, np.float32)
    ours = vg.tensor(x, requires_grad=True)
    y = FakeQuantize.apply(ours, scale.reshape(4, 1, 1, 1), zero.reshape(4, 1, 1, 1),
                           quant_min=-7, quant_max=7)
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    backward_of(y, upstream)
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.fake_quantize_per_channel_affine(
        theirs, torch.tensor(scale), torch.zeros(4, dtype=torch.int32), 0, -7, 7)
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(y.data, expected.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_fake_quantize_per_tensor_matches_pytorch():
    torch = torch_or_skip()
    x = rng.standard_normal(200).astype(np.float32) * 3
    ours = vg.tensor(x, requires_grad=True)
    y = FakeQuantize.apply(ours, np.float32(0.02), np.float32(128), quant_min=0, quant_max=255)
    y.sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.fake_quantize_per_tensor_affine(theirs, 0.02, 128, 0, 255)
    expected.sum().backward()
    np.testing.assert_allclose(y.data, expected.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_fake_quantize_refuses_bad_ranges():
    with pytest.raises(ValueError, match="quant_min"):
        FakeQuantize.apply(vg.tensor([1.0]), np.array(1.0), np.array(0.0), quant_min=3,
                           quant_max=3)
    with pytest.raises(ValueError, match="positive"):
        FakeQuantize.apply(vg.tensor([1.0]), np.array(0.0), np.array(0.0), quant_min=0,
                           quant_max=3)


def test_ternary_forward_and_backward_by_hand():
    w = vg.tensor(np.array([1.0, 0.04, -0.5, -0.06, 0.2]), requires_grad=True)
    positive = vg.tensor(np.array(0.7), requires_grad=True)
    negative = vg.tensor(np.array(0.3), requires_grad=True)
    # delta = 0.05 * max|w| = 0.05: positives {1.0, 0.2}, negatives {-0.5, -0.06}
    y = TernaryWeight.apply(w, positive, negative, threshold=0.05)
    np.testing.assert_allclose(y.data, [0.7, 0.0, -0.3, -0.3, 0.7])
    upstream = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    backward_of(y, upstream)
    assert positive.grad == pytest.approx(1.0 + 5.0)
    assert negative.grad == pytest.approx(-(3.0 + 4.0))
    np.testing.assert_allclose(w.grad, [0.7 * 1, 2.0, 0.3 * 3, 0.3 * 4, 0.7 * 5])


def test_ternary_scale_gradients_pass_the_gradient_check():
    w = rng.standard_normal((3, 4, 2, 2))
    assert_gradcheck(lambda p, n: TernaryWeight.apply(vg.tensor(w), p, n, threshold=0.1),
                     [np.array(0.8), np.array(0.6)])


def test_binary_forward_and_backward_by_hand():
    w = vg.tensor(np.array([[0.5, -1.5, 0.0], [2.0, -0.1, 0.3]]), requires_grad=True)
    y = BinaryWeight.apply(w)
    np.testing.assert_allclose(y.data, [[2 / 3, -2 / 3, 2 / 3], [0.8, -0.8, 0.8]])
    backward_of(y, np.ones((2, 3)))
    np.testing.assert_array_equal(w.grad, [[1, 0, 1], [0, 1, 1]])  # zero outside [-1, 1]
