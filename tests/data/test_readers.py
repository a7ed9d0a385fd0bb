"""Readers on tiny files in the exact real formats, and on every kind of bad file."""

import gzip
import os
import pickle

import numpy as np
import pytest
from data_formats import (
    CIFAR10_CLASSES,
    cifar_batch,
    idx_bytes,
    py2_pickle,
    write_bytes,
    write_cifar10_folder,
    write_cifar100_folder,
    write_image,
    write_mnist_folder,
)

from visiongrad.data import (
    DataFormatError,
    UnsafePickleError,
    load_restricted_pickle,
    read_cifar10,
    read_cifar100,
    read_idx,
    read_idx_dataset,
    read_image_folder,
    read_npz,
)

CLASSES = [str(i) for i in range(10)]


# ----------------------------------------------------------------------------- IDX

@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip_every_type(tmp_path, compress, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    path = write_bytes(tmp_path / "x.idx", idx_bytes(array), compress)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_idx_header_is_the_mnist_magic_number():
    header = idx_bytes(np.zeros((3, 28, 28), np.uint8))[:16]
    assert int.from_bytes(header[:4], "big") == 2051
    assert [int.from_bytes(header[i:i + 4], "big") for i in (4, 8, 12)] == [3, 28, 28]
    assert int.from_bytes(idx_bytes(np.zeros(3, np.uint8))[:4], "big") == 2049


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    path = write_bytes(tmp_path / "labels.idx", idx_bytes(array), compress=True)
    np.testing.assert_array_equal(read_idx(path), array)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_dataset_shapes_types_and_values(tmp_path, compress):
    written = write_mnist_folder(tmp_path, compress=compress)
    suffix = ".gz" if compress else ""
    dataset = read_idx_dataset(tmp_path / f"train-images-idx3-ubyte{suffix}",
                               tmp_path / f"train-labels-idx1-ubyte{suffix}", CLASSES)
    images, labels = written["train"]
    assert dataset.images.shape == (12, 1, 6, 5) and dataset.images.dtype == np.uint8
    assert dataset.labels.dtype == np.int64 and dataset.classes == CLASSES
    np.testing.assert_array_equal(dataset.images[:, 0], images)
    np.testing.assert_array_equal(dataset.labels, labels)


def test_idx_dataset_emnist_transpose(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_bytes(tmp_path / "i", idx_bytes(images))
    write_bytes(tmp_path / "l", idx_bytes(np.array([0, 1], np.uint8)))
    dataset = read_idx_dataset(tmp_path / "i", tmp_path / "l", CLASSES, transpose=True)
    np.testing.assert_array_equal(dataset.images[:, 0], images.transpose(0, 2, 1))


def test_idx_wrong_magic_number(tmp_path):
    content = bytearray(idx_bytes(np.zeros((2, 3, 3), np.uint8)))
    content[:4] = b"\x89PNG"
    path = write_bytes(tmp_path / "train-images-idx3-ubyte", bytes(content))
    with pytest.raises(DataFormatError, match=r"idx3-ubyte: not an IDX file.*0x89504e47"):
        read_idx(path)


def test_idx_unknown_type_code(tmp_path):
    content = bytearray(idx_bytes(np.zeros((2, 3), np.uint8)))
    content[2] = 0x07
    with pytest.raises(DataFormatError, match="not an IDX file"):
        read_idx(write_bytes(tmp_path / "x", bytes(content)))


def test_idx_labels_file_given_as_images(tmp_path):
    write_mnist_folder(tmp_path, compress=False)
    with pytest.raises(DataFormatError, match=r"train-labels-idx1-ubyte: .*declares 1 dimension"):
        read_idx_dataset(tmp_path / "train-labels-idx1-ubyte",
                         tmp_path / "train-labels-idx1-ubyte", CLASSES)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_truncated_data(tmp_path, compress):
    content = idx_bytes(np.ones((4, 5, 5), np.uint8))[:-7]
    path = write_bytes(tmp_path / "images.idx", content, compress)
    with pytest.raises(DataFormatError, match=r"images.idx: truncated IDX file.*\(4, 5, 5\).*93"):
        read_idx(path)


def test_idx_truncated_header(tmp_path):
    path = write_bytes(tmp_path / "short", idx_bytes(np.ones((4, 5, 5), np.uint8))[:9])
    with pytest.raises(DataFormatError, match="short: truncated IDX header"):
        read_idx(path)


def test_idx_truncated_gzip_stream(tmp_path):
    compressed = gzip.compress(idx_bytes(np.arange(3000, dtype=np.int32)))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataFormatError, match="cut.gz: damaged or truncated gzip"):
        read_idx(path)


def test_idx_trailing_bytes(tmp_path):
    path = write_bytes(tmp_path / "long", idx_bytes(np.ones(5, np.uint8)) + b"\x00")
    with pytest.raises(DataFormatError, match="long: IDX file has data after the 5 bytes"):
        read_idx(path)


def test_idx_image_label_count_mismatch_names_both_files_and_shapes(tmp_path):
    write_bytes(tmp_path / "imgs", idx_bytes(np.zeros((5, 2, 2), np.uint8)))
    write_bytes(tmp_path / "labs", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DataFormatError, match=r"imgs holds 5 images \(shape \(5, 2, 2\)\) but "
                                              r".*labs holds 4 labels \(shape \(4,\)\)"):
        read_idx_dataset(tmp_path / "imgs", tmp_path / "labs", CLASSES)


def test_idx_labels_out_of_range(tmp_path):
    write_bytes(tmp_path / "imgs", idx_bytes(np.zeros((3, 2, 2), np.uint8)))
    write_bytes(tmp_path / "labs", idx_bytes(np.array([1, 10, 3], np.uint8)))
    with pytest.raises(DataFormatError, match=r"labs: 1 label\(s\) outside 0..9 .* 10 at index 1"):
        read_idx_dataset(tmp_path / "imgs", tmp_path / "labs", CLASSES)


def test_idx_images_must_be_bytes(tmp_path):
    write_bytes(tmp_path / "imgs", idx_bytes(np.zeros((3, 2, 2), np.float32)))
    write_bytes(tmp_path / "labs", idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataFormatError, match="imgs: images must be unsigned bytes"):
        read_idx_dataset(tmp_path / "imgs", tmp_path / "labs", CLASSES)


# ----------------------------------------------------------------------------- CIFAR

def test_cifar10_train_and_test(tmp_path):
    folder = write_cifar10_folder(tmp_path / "cifar-10-batches-py")
    train = read_cifar10(folder, "train")
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and train.classes == CIFAR10_CLASSES
    first = cifar_batch(4, b"labels", 10, seed=0)
    # Row layout: 1024 red, 1024 green, 1024 blue values, each 32x32 in row-major order.
    np.testing.assert_array_equal(train.images[1, 2, 3, 4], first[b"data"][1, 2048 + 3 * 32 + 4])
    np.testing.assert_array_equal(train.labels[:4], first[b"labels"])
    last = cifar_batch(4, b"labels", 10, seed=4)
    np.testing.assert_array_equal(train.labels[16:], last[b"labels"])
    test = read_cifar10(folder, "test")
    np.testing.assert_array_equal(test.images.reshape(4, -1),
                                  cifar_batch(4, b"labels", 10, seed=5)[b"data"])


@pytest.mark.parametrize("mode,count,prefix", [("fine", 100, "fine"), ("coarse", 20, "coarse")])
def test_cifar100_fine_and_coarse(tmp_path, mode, count, prefix):
    folder = write_cifar100_folder(tmp_path / "cifar-100-python")
    dataset = read_cifar100(folder, "test", label_mode=mode)
    batch = cifar_batch(6, b"fine_labels", 100, seed=1)
    fine = np.array(batch[b"fine_labels"])
    np.testing.assert_array_equal(dataset.labels, fine if mode == "fine" else fine // 5)
    assert len(dataset.classes) == count and dataset.classes[3] == f"{prefix}3"
    assert dataset.images.shape == (6, 3, 32, 32)


def test_cifar_pickled_by_python3_protocol_2_and_5(tmp_path):
    folder = write_cifar10_folder(tmp_path)
    batch = cifar_batch(4, b"labels", 10, seed=9)
    for protocol in (2, 5):
        (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=protocol))
        np.testing.assert_array_equal(read_cifar10(folder, "test").images.reshape(4, -1),
                                      batch[b"data"])


class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _Evaluates:
    def __reduce__(self):
        return eval, ("__import__('pathlib').Path('EVAL_RAN').touch()",)


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_crafted_cifar_pickle_is_refused_and_nothing_runs(tmp_path, protocol):
    folder = write_cifar10_folder(tmp_path / "cifar")
    marker = tmp_path / "PWNED"
    batch = cifar_batch(4, b"labels", 10, seed=0)
    batch[b"filenames"] = [_RunsCommand(f"touch {marker}")]
    (folder / "data_batch_2").write_bytes(pickle.dumps(batch, protocol=protocol))
    with pytest.raises(UnsafePickleError, match=r"data_batch_2: refused to unpickle.*"
                                                r"(posix|os)\.system.*nothing was executed"):
        read_cifar10(folder, "train")
    assert not marker.exists()


def test_crafted_eval_pickle_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "batches.meta"
    path.write_bytes(pickle.dumps({b"label_names": [_Evaluates()]}, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"batches.meta: .*(__builtin__|builtins)\.eval"):
        load_restricted_pickle(path)
    assert not (tmp_path / "EVAL_RAN").exists()


def test_codecs_encode_only_to_latin1(tmp_path):
    # protocol 2 stores b"ab" as _codecs.encode("ab", "latin1"); any other codec is refused.
    path = tmp_path / "p"
    path.write_bytes(b"\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00abX\x09\x00\x00\x00rot13"
                     b"_codec\x86R.")
    with pytest.raises(DataFormatError, match="p: not a readable pickle"):
        load_restricted_pickle(path)
    path.write_bytes(pickle.dumps(b"ab", protocol=2))
    assert load_restricted_pickle(path) == b"ab"


def test_cifar_missing_batches_meta(tmp_path):
    folder = write_cifar10_folder(tmp_path / "c")
    (folder / "batches.meta").unlink()
    with pytest.raises(FileNotFoundError, match=r"batches.meta not found.*class names"):
        read_cifar10(folder, "train")


def test_cifar_missing_batch(tmp_path):
    folder = write_cifar10_folder(tmp_path / "c")
    (folder / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_4"):
        read_cifar10(folder, "train")


def test_cifar_truncated_batch(tmp_path):
    folder = write_cifar10_folder(tmp_path / "c")
    content = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(content[: len(content) // 2])
    with pytest.raises(DataFormatError, match="test_batch: not a readable pickle, or truncated"):
        read_cifar10(folder, "test")


def test_cifar_count_mismatch(tmp_path):
    folder = write_cifar10_folder(tmp_path / "c")
    batch = cifar_batch(4, b"labels", 10, seed=0)
    batch[b"labels"] = batch[b"labels"][:3]
    (folder / "test_batch").write_bytes(py2_pickle(batch))
    with pytest.raises(DataFormatError, match=r"test_batch \('data'\) holds 4 images .*"
                                              r"test_batch \('labels'\) holds 3 labels"):
        read_cifar10(folder, "test")


def test_cifar_label_out_of_range(tmp_path):
    folder = write_cifar10_folder(tmp_path / "c")
    batch = cifar_batch(4, b"labels", 10, seed=0)
    batch[b"labels"][2] = 10
    (folder / "test_batch").write_bytes(py2_pickle(batch))
    with pytest.raises(DataFormatError, match=r"test_batch \('labels'\): 1 label\(s\) outside"):
        read_cifar10(folder, "test")


@pytest.mark.parametrize("change", ["shape", "dtype", "missing"])
def test_cifar_bad_data_array(tmp_path, change):
    folder = write_cifar10_folder(tmp_path / "c")
    batch = cifar_batch(4, b"labels", 10, seed=0)
    if change == "shape":
        batch[b"data"] = batch[b"data"][:, :3000]
    elif change == "dtype":
        batch[b"data"] = batch[b"data"].astype(np.float32)
    else:
        del batch[b"data"]
    (folder / "test_batch").write_bytes(py2_pickle(batch))
    with pytest.raises(DataFormatError, match="test_batch: "):
        read_cifar10(folder, "test")


def test_cifar_bad_split_and_label_mode(tmp_path):
    with pytest.raises(ValueError, match="split must be"):
        read_cifar10(tmp_path, "validation")
    with pytest.raises(ValueError, match="label_mode"):
        read_cifar100(tmp_path, "train", label_mode="medium")


# ----------------------------------------------------------------------------- image folder

def _pattern(height, width, channels, offset):
    values = (np.arange(height * width * channels) * 7 + offset) % 256
    return values.reshape(height, width, channels).astype(np.uint8).squeeze()


def test_image_folder_grayscale_png(tmp_path):
    a0, a1, b0 = (_pattern(4, 6, 1, k) for k in (0, 50, 100))
    write_image(tmp_path / "cat" / "a0.png", a0)
    write_image(tmp_path / "cat" / "a1.PNG", a1)
    write_image(tmp_path / "dog" / "b0.png", b0)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    dataset = read_image_folder(tmp_path)
    assert dataset.classes == ["cat", "dog"]
    assert dataset.images.shape == (3, 1, 4, 6) and dataset.images.dtype == np.uint8
    np.testing.assert_array_equal(dataset.labels, [0, 0, 1])
    np.testing.assert_array_equal(dataset.images[:, 0], np.stack([a0, a1, b0]))


def test_image_folder_rgb_channels_first_and_jpeg(tmp_path):
    rgb = _pattern(5, 3, 3, 1)
    write_image(tmp_path / "x" / "p.png", rgb)
    write_image(tmp_path / "y" / "q.jpg", np.full((5, 3, 3), 200, np.uint8))
    dataset = read_image_folder(tmp_path)
    assert dataset.images.shape == (2, 3, 5, 3)
    np.testing.assert_array_equal(dataset.images[0], rgb.transpose(2, 0, 1))
    assert np.abs(dataset.images[1].astype(int) - 200).max() <= 2  # JPEG is lossy


def test_image_folder_mixed_modes_become_rgb_and_resize(tmp_path):
    write_image(tmp_path / "a" / "gray.png", np.full((4, 4), 90, np.uint8))
    write_image(tmp_path / "b" / "rgb.png", np.zeros((8, 2, 3), np.uint8))
    dataset = read_image_folder(tmp_path, size=(3, 5))
    assert dataset.images.shape == (2, 3, 3, 5)
    assert np.all(dataset.images[0] == 90)
    with pytest.warns(UserWarning, match=r"1 colour image\(s\) converted to grayscale"):
        assert read_image_folder(tmp_path, size=(3, 5), mode="L").images.shape == (2, 1, 3, 5)


def test_image_folder_sizes_differ(tmp_path):
    write_image(tmp_path / "a" / "one.png", np.zeros((4, 4), np.uint8))
    write_image(tmp_path / "b" / "two.png", np.zeros((4, 5), np.uint8))
    with pytest.raises(DataFormatError, match=r"two.png: image is 5x4 .*one.png is 4x4.*size="):
        read_image_folder(tmp_path)


def test_image_folder_corrupt_image(tmp_path):
    write_image(tmp_path / "a" / "good.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(DataFormatError, match=r"broken.png: not a readable image"):
        read_image_folder(tmp_path)


def test_image_folder_truncated_image(tmp_path):
    path = write_image(tmp_path / "a" / "cut.png", _pattern(32, 32, 3, 0))
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(DataFormatError, match=r"cut.png: not a readable image"):
        read_image_folder(tmp_path)


def test_image_folder_missing_or_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        read_image_folder(tmp_path / "nope")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(FileNotFoundError, match="empty_class holds no images"):
        read_image_folder(tmp_path)


# ----------------------------------------------------------------------------- npz

def test_npz_round_trip_with_classes(tmp_path):
    x = np.arange(3 * 2 * 4 * 4, dtype=np.uint8).reshape(3, 2, 4, 4)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([2, 0, 1]), classes=np.array(["a", "b", "c"]))
    dataset = read_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(dataset.images, x)
    assert dataset.labels.dtype == np.int64 and dataset.classes == ["a", "b", "c"]


def test_npz_three_dimensional_and_default_classes(tmp_path):
    np.savez_compressed(tmp_path / "d.npz", x=np.zeros((2, 5, 5), np.uint8), y=np.array([0, 3]))
    dataset = read_npz(tmp_path / "d.npz")
    assert dataset.images.shape == (2, 1, 5, 5) and dataset.classes == ["0", "1", "2", "3"]


@pytest.mark.parametrize("arrays,message", [
    ({"x": np.zeros((2, 1, 3, 3), np.uint8)}, r"missing array\(s\) \['y'\]"),
    ({"x": np.zeros((2, 1, 3, 3), np.uint8), "y": np.zeros(3, int)},
     r"d.npz \(x\) holds 2 images .*d.npz \(y\) holds 3 labels"),
    ({"x": np.zeros((2, 1, 3, 3), np.float32), "y": np.zeros(2, int)}, "x must be uint8"),
    ({"x": np.zeros((2, 3), np.uint8), "y": np.zeros(2, int)}, "x must have shape"),
    ({"x": np.zeros((2, 1, 3, 3), np.uint8), "y": np.array([0, -1])}, "outside"),
])
def test_npz_bad_archives(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataFormatError, match=message):
        read_npz(tmp_path / "d.npz")


def test_npz_labels_outside_given_classes(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 1, 3, 3), np.uint8), y=np.array([0, 2]))
    with pytest.raises(DataFormatError, match=r"d.npz \(y\): 1 label\(s\) outside 0..1"):
        read_npz(tmp_path / "d.npz", classes=["a", "b"])


def test_npz_not_an_archive(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(DataFormatError, match="d.npz: not a readable .npz archive"):
        read_npz(tmp_path / "d.npz")
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(DataFormatError, match="a.npy: a .npy array, not a .npz archive"):
        read_npz(tmp_path / "a.npy")
