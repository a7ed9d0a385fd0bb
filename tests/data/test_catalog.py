"""load_dataset: the search order, the not-found message, the embedded default, real data."""

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from data_formats import write_cifar10_folder, write_mnist_folder

from visiongrad.data import FASHION_MNIST_CLASSES, available_datasets, catalog, load_dataset

SYSTEM = Path("/usr/share/datasets/fashion-mnist")
needs_full_data = pytest.mark.skipif(
    not (SYSTEM / "train-images-idx3-ubyte.gz").is_file(),
    reason="full Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")


@pytest.fixture
def no_system_location(monkeypatch, tmp_path):
    """Point Fashion-MNIST's system location at an empty folder, unset VISIONGRAD_DATA."""
    source = dataclasses.replace(catalog._SOURCES["fashion-mnist"],
                                 system_folder=str(tmp_path / "system-empty"))
    monkeypatch.setitem(catalog._SOURCES, "fashion-mnist", source)
    monkeypatch.delenv(catalog.DATA_ENV, raising=False)


def test_data_dir_subfolder_and_root(tmp_path, no_system_location):
    written = write_mnist_folder(tmp_path / "fashion-mnist", n_train=7, n_test=3)
    train = load_dataset("fashion-mnist", "train", data_dir=tmp_path)
    assert train.images.shape == (7, 1, 6, 5) and train.classes == FASHION_MNIST_CLASSES
    np.testing.assert_array_equal(train.labels, written["train"][1])
    test = load_dataset("fashion-mnist", "test", data_dir=tmp_path / "fashion-mnist")
    np.testing.assert_array_equal(test.images[:, 0], written["test"][0])


def test_raw_idx_files_are_found(tmp_path, no_system_location):
    write_mnist_folder(tmp_path, compress=False)
    assert len(load_dataset("mnist", "test", data_dir=tmp_path)) == 5


def test_search_order_data_dir_then_env_then_system(tmp_path, monkeypatch):
    write_mnist_folder(tmp_path / "arg", n_train=4)
    write_mnist_folder(tmp_path / "env", n_train=6)
    monkeypatch.setenv(catalog.DATA_ENV, str(tmp_path / "env"))
    assert len(load_dataset("fashion-mnist", data_dir=tmp_path / "arg")) == 4
    assert len(load_dataset("fashion-mnist")) == 6
    assert load_dataset("mnist", data_dir=tmp_path / "nothing-here").images.shape[0] == 6
    folders = catalog.search_folders("fashion-mnist", tmp_path / "arg")
    assert folders[0] == tmp_path / "arg" / "fashion-mnist"
    assert folders.index(tmp_path / "arg") < folders.index(tmp_path / "env") < folders.index(SYSTEM)


def test_not_found_lists_every_place_and_how_to_get_it(tmp_path, no_system_location):
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("fashion-mnist", "test", data_dir=tmp_path / "mine")
    message = str(caught.value)
    for folder in catalog.search_folders("fashion-mnist", tmp_path / "mine"):
        assert f"\n  {folder}" in message
    assert "VISIONGRAD_DATA unset" in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_not_found_without_any_folder(monkeypatch):
    monkeypatch.delenv(catalog.DATA_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=r"no data_dir given, VISIONGRAD_DATA unset.*"
                                                r"location\)\.\nTo get it: put the four"):
        load_dataset("mnist")


def test_images_without_labels_names_the_missing_file(tmp_path, no_system_location):
    write_mnist_folder(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="neither train-labels-idx1-ubyte.gz nor"):
        load_dataset("fashion-mnist", data_dir=tmp_path)


def test_cifar10_through_load_dataset(tmp_path, monkeypatch):
    monkeypatch.delenv(catalog.DATA_ENV, raising=False)
    write_cifar10_folder(tmp_path / "cifar-10-batches-py", per_batch=3)
    monkeypatch.setenv(catalog.DATA_ENV, str(tmp_path))
    train = load_dataset("cifar10")
    assert train.images.shape == (15, 3, 32, 32) and train.classes[0] == "airplane"


def test_unknown_name_and_split():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; choose from fashion-mnist"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        load_dataset("fashion-mnist-mini", split="val")
    assert set(available_datasets()) >= {"fashion-mnist-mini", "fashion-mnist", "mnist",
                                         "cifar10", "cifar100"}


# ----------------------------------------------------------------------------- embedded

@pytest.mark.parametrize("split,per_class", [("train", 1000), ("test", 200)])
def test_embedded_subset_is_stratified(split, per_class):
    dataset = load_dataset("fashion-mnist-mini", split=split, data_dir="/ignored")
    assert dataset.images.shape == (10 * per_class, 1, 28, 28)
    assert dataset.images.dtype == np.uint8 and dataset.labels.dtype == np.int64
    assert dataset.classes == FASHION_MNIST_CLASSES
    np.testing.assert_array_equal(np.bincount(dataset.labels), [per_class] * 10)
    assert dataset.images.max() == 255 and dataset.images.min() == 0


def test_embedded_files_are_small_and_carry_the_licence():
    folder = Path(catalog.__file__).parent / "embedded"
    total = sum(path.stat().st_size for path in folder.glob("*.npz"))
    assert 1e6 < total < 8e6
    notice = (folder / "LICENSE-fashion-mnist.txt").read_text()
    assert "Copyright (c) 2017 Zalando SE" in notice and "MIT License" in notice


@needs_full_data
@pytest.mark.slow
def test_embedded_images_come_from_the_real_splits():
    for split in ("train", "test"):
        mini = load_dataset("fashion-mnist-mini", split=split)
        full = load_dataset("fashion-mnist", split=split, data_dir=SYSTEM)
        full_hashes = {hashlib.sha1(row.tobytes()).hexdigest(): label for row, label
                       in zip(full.images.reshape(len(full), -1), full.labels, strict=True)}
        rows = mini.images.reshape(len(mini), -1)
        assert all(full_hashes.get(hashlib.sha1(row.tobytes()).hexdigest()) == label
                   for row, label in zip(rows, mini.labels, strict=True))


# ----------------------------------------------------------------------------- real data

@needs_full_data
@pytest.mark.parametrize("split,count", [("train", 60000), ("test", 10000)])
def test_full_fashion_mnist(split, count, monkeypatch):
    monkeypatch.delenv(catalog.DATA_ENV, raising=False)
    dataset = load_dataset("fashion-mnist", split=split)
    assert dataset.images.shape == (count, 1, 28, 28) and dataset.images.dtype == np.uint8
    assert dataset.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                               "Shirt", "Sneaker", "Bag", "Ankle boot"]
    np.testing.assert_array_equal(np.bincount(dataset.labels), [count // 10] * 10)
