"""The masked convolution over the kernel rows its mask keeps (generative/masked_conv.py)
against its reference, conv2d with the masked weight, "same"-padded."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.generative import causal_mask
from visiongrad.generative.masked_conv import causal_conv2d

CASES = [((2, 3, 5, 6), (4, 3, 3, 3), "A"), ((1, 2, 4, 4), (3, 2, 3, 3), "B"),
         ((2, 1, 6, 5), (2, 1, 5, 3), "A"), ((1, 2, 3, 4), (2, 2, 1, 3), "B")]


@pytest.mark.parametrize("x_shape, w_shape, mask_type", CASES)
def test_gradcheck_of_input_weight_and_bias(x_shape, w_shape, mask_type):
    rng = np.random.default_rng(0)
    mask = causal_mask(w_shape[2:], mask_type)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
              rng.standard_normal(w_shape[0])]
    assert_gradcheck(lambda x, w, b: causal_conv2d(x, w, b, mask), arrays)
    assert_gradcheck(lambda x, w: causal_conv2d(x, w, None, mask), arrays[:2])


def reference(x, weight, bias, mask):
    kh, kw = weight.shape[2:]
    return F.conv2d(x, weight * mask, bias, padding=(kh // 2, kw // 2))


@pytest.mark.parametrize("x_shape, w_shape, mask_type", [
    ((4, 32, 9, 10), (32, 32, 3, 3), "B"), ((3, 1, 12, 12), (64, 1, 7, 7), "A"),
    *CASES])
def test_equals_the_full_kernel_convolution(x_shape, w_shape, mask_type):
    """float32 (the compiled kernels where they fit: 32 channels) and channels-last input:
    y, dx, dW and db as by conv2d with the masked weight, to float32 rounding; dW zero
    where the mask is."""
    rng = np.random.default_rng(1)
    mask = causal_mask(w_shape[2:], mask_type)
    x = rng.standard_normal(x_shape).astype(np.float32)
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    weight = rng.standard_normal(w_shape).astype(np.float32)
    bias = rng.standard_normal(w_shape[0]).astype(np.float32)
    upstream = rng.standard_normal((x_shape[0], w_shape[0], *x_shape[2:])).astype(np.float32)
    results = []
    for fn in (causal_conv2d, reference):
        tensors = [vg.tensor(a.copy(), requires_grad=True) for a in (x, weight, bias)]
        y = fn(*tensors, mask)
        y.backward(upstream)
        results.append([y.data] + [t.grad for t in tensors])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())
    assert np.all(results[0][2][:, :, mask == 0] == 0)


def test_matches_torch():
    torch_mask = causal_mask((3, 3), "B")
    rng = np.random.default_rng(2)
    torch = torch_or_skip()
    assert_matches_torch(
        lambda x, w, b: causal_conv2d(x, w, b, torch_mask),
        lambda x, w, b: torch.nn.functional.conv2d(x, w * torch.tensor(torch_mask), b,
                                                   padding=1),
        [rng.standard_normal((2, 16, 7, 7)), rng.standard_normal((16, 16, 3, 3)),
         rng.standard_normal(16)])


def test_bad_masks_are_named():
    x, w = vg.ones(1, 1, 4, 4), vg.ones(1, 1, 3, 3)
    with pytest.raises(ValueError, match="zero below its centre row"):
        causal_conv2d(x, w, None, np.ones((3, 3), np.float32))
    with pytest.raises(ValueError, match="odd kernel"):
        causal_conv2d(x, vg.ones(1, 1, 2, 2), None, np.ones((2, 2), np.float32))
