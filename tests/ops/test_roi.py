"""RoI align and RoI pooling (ops/roi.py): the vectorised ops against torchvision's CPU
kernels transcribed as loops (``*_reference``), float64 gradient checks, hand-worked
cases, and the argument checks. torchvision's compiled ops do not load on this CPU torch,
so the loops are the reference."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_gradcheck

import visiongrad as vg
import visiongrad.functional as F
from visiongrad.ops.roi import roi_align_reference, roi_pool_reference


def random_rois(rng, count, batch, height, width, spread=4.0):
    corner = rng.uniform(-spread, [width + spread, height + spread], (count, 2))
    size = rng.uniform(-1.0, max(height, width) * 0.8, (count, 2))
    return np.c_[rng.integers(0, batch, count), corner, corner + size]


def random_config(rng):
    return dict(output_size=(int(rng.integers(1, 5)), int(rng.integers(1, 5))),
                spatial_scale=float(rng.choice([1.0, 0.5, 0.25, 0.8])))


@pytest.mark.parametrize("seed", range(12))
def test_roi_align_matches_the_kernel_loops(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, int(rng.integers(3, 14)), int(rng.integers(3, 14))))
    boxes = random_rois(rng, 6, 2, *x.shape[2:])
    cfg = random_config(rng)
    cfg.update(sampling_ratio=int(rng.choice([-1, 0, 1, 2, 3])), aligned=bool(seed % 2))
    ours = F.roi_align(x, boxes, **cfg).data
    np.testing.assert_allclose(ours, roi_align_reference(x, boxes, **cfg), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_roi_pool_matches_the_kernel_loops(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, int(rng.integers(3, 14)), int(rng.integers(3, 14))))
    boxes = random_rois(rng, 6, 2, *x.shape[2:])
    boxes[:3, 1:] = np.round(boxes[:3, 1:] * 2) / 2  # exact halves: C's round goes away from 0
    cfg = random_config(rng)
    ours = F.roi_pool(vg.tensor(x, requires_grad=True), boxes, **cfg)
    reference, argmax = roi_pool_reference(x, boxes, **cfg)
    np.testing.assert_array_equal(ours.data, reference)
    np.testing.assert_array_equal(ours._node.argmax, argmax)


def test_roi_align_by_hand():
    # a 1x1 output over the box (0, 0, 2, 2) with a 2x2 grid samples (0.5, 0.5), (0.5, 1.5),
    # (1.5, 0.5), (1.5, 1.5): the mean of four bilinear values of a linear ramp is the ramp at
    # the centre (1, 1); aligned=True shifts the samples by -0.5 pixel
    plane = np.add.outer(10 * np.arange(4.0), np.arange(4.0))[None, None]  # x[r, c] = 10r + c
    box = np.array([[0, 0, 0, 2, 2]], dtype=np.float64)
    assert F.roi_align(plane, box, 1, sampling_ratio=2).data.item() == pytest.approx(11.0)
    assert F.roi_align(plane, box, 1, sampling_ratio=2, aligned=True).data.item() == \
        pytest.approx(5.5)
    # a sample past the last row reads the last row; one below -1 reads nothing
    assert F.roi_align(plane, np.array([[0, 0, 3.5, 0, 3.5]]), 1, sampling_ratio=1,
                       aligned=True).data.item() == pytest.approx(30.0)
    assert F.roi_align(plane, np.array([[0, -3, -3, -2.5, -2.5]]), 1, sampling_ratio=1,
                       aligned=True).data.item() == 0.0


def test_roi_pool_by_hand():
    plane = np.arange(16.0).reshape(1, 1, 4, 4)
    # box (0, 0, 3, 3) covers 4x4 pixels; 2x2 bins of 2x2 pixels: maxima at their corners
    out = F.roi_pool(plane, np.array([[0, 0, 0, 3, 3]]), 2).data
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])
    # a box wholly outside the image gives empty bins: 0
    assert np.all(F.roi_pool(plane, np.array([[0, 9, 9, 12, 12]]), 2).data == 0)


@pytest.mark.parametrize("seed", range(3))
def test_roi_align_gradcheck(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, 7, 8))
    boxes = random_rois(rng, 4, 2, 7, 8, spread=2.0)
    cfg = dict(output_size=(2, 3), spatial_scale=0.9, sampling_ratio=[-1, 2, 1][seed],
               aligned=bool(seed % 2))
    assert_gradcheck(lambda t: F.roi_align(t, boxes, **cfg), [x])


@pytest.mark.parametrize("seed", range(3))
def test_roi_pool_gradcheck(seed):
    # continuous random values: no ties, so every bin's maximum is isolated
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, 7, 8))
    boxes = random_rois(rng, 4, 2, 7, 8, spread=2.0)
    assert_gradcheck(lambda t: F.roi_pool(t, boxes, (3, 2), spatial_scale=0.9), [x])


def test_roi_backward_accumulates_overlapping_rois():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 6, 6))
    box = np.array([[0, 1.0, 1.0, 4.0, 4.0]])
    for op in (lambda t, b: F.roi_align(t, b, 2), lambda t, b: F.roi_pool(t, b, 2)):
        once, twice = vg.tensor(x, requires_grad=True), vg.tensor(x, requires_grad=True)
        op(once, box).sum().backward()
        op(twice, np.concatenate([box, box])).sum().backward()
        np.testing.assert_allclose(twice.grad, 2 * once.grad)


def test_boxes_as_a_list_per_image():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 1, 5, 5))
    per_image = [np.array([[0, 0, 3, 3.0]]), np.array([[1, 1, 4, 4.0], [0, 2, 2, 4.0]])]
    rows = np.array([[0, 0, 0, 3, 3], [1, 1, 1, 4, 4], [1, 0, 2, 2, 4]], dtype=np.float64)
    np.testing.assert_array_equal(F.roi_align(x, per_image, 2).data,
                                  F.roi_align(x, rows, 2).data)
    assert F.roi_pool(x, [np.zeros((0, 4)), np.zeros((0, 4))], 2).shape == (0, 1, 2, 2)


def test_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    box = np.array([[0, 0.5, 0.5, 3.5, 4.0]])
    assert F.roi_align(x, box, 2).dtype == np.float32
    assert F.roi_pool(x, box, 2).dtype == np.float32


@pytest.mark.parametrize("op", [F.roi_align, F.roi_pool])
def test_bad_arguments_are_named(op):
    x = np.zeros((2, 1, 4, 4))
    with pytest.raises(ValueError, match="boxes"):
        op(x, np.zeros((3, 4)), 2)
    with pytest.raises(ValueError, match="batch indices"):
        op(x, np.array([[2, 0, 0, 1, 1.0]]), 2)
    with pytest.raises(ValueError, match="batch indices"):
        op(x, np.array([[0.5, 0, 0, 1, 1.0]]), 2)
    with pytest.raises(ValueError, match="output_size"):
        op(x, np.array([[0, 0, 0, 1, 1.0]]), 0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        op(np.zeros((1, 4, 4)), np.array([[0, 0, 0, 1, 1.0]]), 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("op", [F.roi_align, F.roi_pool])
def test_a_box_with_a_nan_or_infinite_coordinate_is_refused(op, bad):
    x = vg.tensor(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="finite"):
        op(x, np.array([[0, bad, 0, 2, 2]]), 2)
    with pytest.raises(ValueError, match="finite"):
        op(x, [np.array([[0, 0, bad, 2]])], 2)
