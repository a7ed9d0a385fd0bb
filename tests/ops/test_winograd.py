"""Winograd's F(2x2, 3x3) convolution: the transform matrices as the docstring states
them, equality with the direct convolution (forward and both gradients, float32 to
rounding), the float64 gradient check, and PyTorch parity."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.ops import winograd
from visiongrad.ops.winograd import WinogradConv2d

rng = np.random.default_rng(2)


def test_one_tile_by_the_docstring_formula():
    d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    G, B_T, A_T = (np.array(m) for m in (winograd.G, winograd.B_T, winograd.A_T))
    y = A_T @ ((G @ g @ G.T) * (B_T @ d @ B_T.T)) @ A_T.T
    direct = np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(y, direct, atol=1e-12)
    # the Kronecker form used by the op: vec(X g Y) = (X kron Y^T) vec(g), row-major
    t_g = winograd.transforms(np, np.float64)[0]
    np.testing.assert_allclose(t_g @ g.ravel(), (G @ g @ G.T).ravel())


# (N, C, H, W), F, padding: odd and even output sizes, no padding, one channel, a 3x3 input
CASES = [((2, 3, 7, 8), 4, (1, 1)), ((1, 1, 5, 5), 2, (0, 0)), ((3, 5, 6, 9), 16, (1, 0)),
         ((1, 2, 3, 3), 3, (2, 2))]


@pytest.mark.parametrize("shape, filters, padding", CASES)
def test_equals_the_direct_convolution_in_float32(shape, filters, padding):
    x = vg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    w = vg.tensor(rng.standard_normal((filters, shape[1], 3, 3)).astype(np.float32),
                  requires_grad=True)
    b = vg.tensor(rng.standard_normal(filters).astype(np.float32), requires_grad=True)
    upstream = None
    results = []
    for conv in (lambda: WinogradConv2d.apply(x, w, b, padding=padding),
                 lambda: F.conv2d(x, w, b, 1, padding)):
        x.grad = w.grad = b.grad = None
        y = conv()
        upstream = rng.standard_normal(y.shape).astype(np.float32) if upstream is None else upstream
        (y * vg.tensor(upstream)).sum().backward()
        results.append([y.data, x.grad, w.grad, b.grad])
    for ours, direct, name in zip(*results, ("y", "dx", "dw", "db"), strict=True):
        scale = max(1.0, float(np.abs(direct).max()))
        assert np.abs(ours - direct).max() <= 1e-5 * scale, name
        assert ours.dtype == np.float32 and ours.shape == direct.shape, name


@pytest.mark.parametrize("shape, filters, padding", [((2, 3, 7, 6), 4, (1, 1)),
                                                     ((1, 2, 5, 4), 3, (1, 0))])
def test_gradient_check_in_float64(shape, filters, padding):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((filters, shape[1], 3, 3))
    b = rng.standard_normal(filters)
    assert_gradcheck(lambda *t: WinogradConv2d.apply(*t, padding=padding), [x, w, b])
    assert_gradcheck(lambda *t: WinogradConv2d.apply(*t, padding=padding), [x, w])


def test_matches_pytorch():
    torch = torch_or_skip()
    assert_matches_torch(lambda x, w, b: WinogradConv2d.apply(x, w, b, padding=(1, 1)),
                         lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1),
                         [rng.standard_normal(shape) for shape in ((2, 4, 9, 6), (8, 4, 3, 3),
                                                                   (8,))])


def test_refuses_other_kernels_and_tiny_inputs():
    with pytest.raises(ValueError, match="3x3"):
        WinogradConv2d.apply(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match="smaller"):
        WinogradConv2d.apply(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), padding=(0, 0))
