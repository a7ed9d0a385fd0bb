"""ImageDataset: shapes, labels, indexing, memory-mapped arrays stay mapped."""

import numpy as np
import pytest

from visiongrad.data import ImageDataset


def test_three_dimensional_images_get_a_channel_axis():
    dataset = ImageDataset(np.zeros((4, 5, 6), np.uint8), [0, 1, 1, 0], ["a", "b"])
    assert dataset.images.shape == (4, 1, 5, 6) and dataset.shape == (1, 5, 6)
    assert dataset.labels.dtype == np.int64 and len(dataset) == 4


def test_indexing_and_subsets():
    images = np.arange(5 * 2 * 2 * 2, dtype=np.uint8).reshape(5, 2, 2, 2)
    dataset = ImageDataset(images, [0, 1, 2, 1, 0], ["x", "y", "z"], name="toy")
    image, label = dataset[3]
    np.testing.assert_array_equal(image, images[3])
    assert label == 1 and isinstance(label, int)
    subset = dataset[np.array([4, 0])]
    assert isinstance(subset, ImageDataset) and subset.classes == ["x", "y", "z"]
    np.testing.assert_array_equal(subset.images, images[[4, 0]])
    np.testing.assert_array_equal(dataset[1:3].labels, [1, 2])
    assert "toy" in repr(dataset) and "5 images" in repr(dataset)


def test_default_class_names():
    assert ImageDataset(np.zeros((2, 1, 1, 1)), [0, 2]).classes == ["0", "1", "2"]


@pytest.mark.parametrize("images,labels,classes,message", [
    (np.zeros((3, 1, 2, 2)), [0, 1], None, r"shape \(3, 1, 2, 2\) and labels of shape \(2,\)"),
    (np.zeros((2, 2)), [0, 1], None, "images must have shape"),
    (np.zeros((2, 1, 2, 2)), [[0, 1]], None, "labels must be a 1-D integer array"),
    (np.zeros((2, 1, 2, 2)), [0.5, 1.0], None, "labels must be a 1-D integer array"),
    (np.zeros((2, 1, 2, 2)), [0, 2], ["a", "b"], r"labels must lie in 0..1"),
])
def test_bad_arrays(images, labels, classes, message):
    with pytest.raises(ValueError, match=message):
        ImageDataset(images, labels, classes)


def test_memory_mapped_images_are_not_read(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((10, 1, 4, 4), np.uint8))
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    dataset = ImageDataset(mapped, np.zeros(10, int))
    assert isinstance(dataset.images, np.memmap)
    assert np.shares_memory(dataset.images, mapped)
