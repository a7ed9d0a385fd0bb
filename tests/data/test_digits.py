"""The embedded handwritten digits: the published scans, a fixed stratified split, and a
bilinear upsampling equal to PyTorch's."""

import numpy as np
import pytest
from helpers import torch_or_skip

from visiongrad.data import available_datasets, digits, load_dataset
from visiongrad.data.npz import load_npz_arrays


def test_splits_are_fixed_stratified_and_complete():
    train, test = load_dataset("digits"), load_dataset("digits", split="test")
    assert "digits" in available_datasets()
    assert (len(train), len(test)) == (1297, 500)
    assert train.images.shape == (1297, 1, 28, 28) and train.images.dtype == np.uint8
    assert np.bincount(test.labels).tolist() == [50] * 10
    assert np.bincount(train.labels, minlength=10).min() >= 120
    assert train.classes == [str(d) for d in range(10)]
    assert train.images.max() == 255 and train.images.min() == 0


def test_embedded_scans_are_scikit_learns_exactly():
    sklearn_datasets = pytest.importorskip("sklearn.datasets",
                                           reason="scikit-learn is a test-only reference")
    reference = sklearn_datasets.load_digits()
    arrays = load_npz_arrays(digits.embedded_path(), ["train_x", "train_y", "test_x", "test_y"])
    ours = np.concatenate([arrays["train_x"], arrays["test_x"]]).reshape(-1, 64)
    labels = np.concatenate([arrays["train_y"], arrays["test_y"]])
    expected = np.column_stack([reference.data, reference.target]).astype(np.int64)
    got = np.column_stack([ours, labels]).astype(np.int64)
    # the same 1,797 (scan, label) rows, each once: sort both row-wise
    order = np.lexsort(expected.T[::-1])
    assert np.array_equal(got[np.lexsort(got.T[::-1])], expected[order])


def test_loading_is_the_upsampled_scan():
    arrays = load_npz_arrays(digits.embedded_path(), ["test_x", "test_y"])
    scan = arrays["test_x"][3].astype(np.float64) * 255 / 16
    image = load_dataset("digits", split="test").images[3, 0]
    assert np.array_equal(image, np.rint(digits.resize_bilinear(scan, (28, 28))))


@pytest.mark.parametrize("shape, size", [((2, 3, 8, 8), (28, 28)), ((1, 1, 5, 7), (9, 4)),
                                         ((4, 6), (6, 4)), ((1, 2, 3, 3), (3, 3))])
def test_resize_bilinear_matches_torch(shape, size):
    torch = torch_or_skip()
    x = np.random.default_rng(0).normal(size=shape)
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(x).reshape(-1, 1, *shape[-2:]), size=size, mode="bilinear",
        align_corners=False).reshape(*shape[:-2], *size).numpy()
    np.testing.assert_allclose(digits.resize_bilinear(x, size), expected, rtol=1e-12,
                               atol=1e-12)


def test_resize_bilinear_by_hand():
    # 2 -> 4 pixels: samples at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    out = digits.resize_bilinear(np.array([[0.0, 8.0]]), (1, 4))
    assert out.tolist() == [[0.0, 2.0, 6.0, 8.0]]


@pytest.mark.parametrize("kwargs, message", [({"split": "val"}, "split"),
                                             ({"size": 4}, "size")])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        digits.load_digits(**kwargs)


def test_missing_file_names_the_script(monkeypatch, tmp_path):
    monkeypatch.setattr(digits, "embedded_path", lambda: tmp_path / "digits.npz")
    with pytest.raises(FileNotFoundError, match="build_digits.py"):
        digits.load_digits()
