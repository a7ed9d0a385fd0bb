"""DataLoader: batching, shuffling, transforms, prefetch, memory-mapped arrays."""

import threading
import tracemalloc

import numpy as np
import pytest

import visiongrad as vg
from visiongrad.data import DataLoader, ImageDataset, ScaleToUnit
from visiongrad.data import transforms as T


@pytest.fixture
def data():
    """Image n is the constant n % 256 and its label is n % 7, so pairs can be checked."""
    n = 103
    images = np.broadcast_to((np.arange(n) % 256).astype(np.uint8)[:, None, None, None],
                             (n, 1, 4, 4)).copy()
    return images, np.arange(n) % 7


def pairs_ok(x, y):
    return np.array_equal(x[:, 0, 0, 0].astype(int) % 7, y)


@pytest.mark.parametrize("drop_last,expected", [(False, 11), (True, 10)])
def test_length_and_batch_sizes(data, drop_last, expected):
    loader = DataLoader(data, batch_size=10, drop_last=drop_last)
    sizes = [len(y) for _, y in loader]
    assert len(loader) == expected == len(sizes)
    assert sizes[:10] == [10] * 10 and (drop_last or sizes[-1] == 3)


def test_unshuffled_order_and_uint8_with_to_float_off(data):
    batches = list(DataLoader(ImageDataset(*data), batch_size=32, to_float=False))
    x = np.concatenate([x for x, _ in batches])
    assert batches[0][0].dtype == np.uint8 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(x, data[0])


def test_integer_images_come_out_as_float_in_unit_range_and_train_a_model(data):
    """Issue 14 item 7: the loader's batches go straight into a model (uint8 did not)."""
    from visiongrad import functional as F
    from visiongrad import models

    loader = DataLoader(ImageDataset(*data), batch_size=32, shuffle=True, rng=0,
                        transform=T.RandomHorizontalFlip())
    x, y = next(iter(loader))
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(np.rint(x[:, 0, 0, 0] * 255).astype(int) % 7, y)
    model = models.create("fc", hidden_dims=[8], input_shape=(1, 4, 4), num_classes=7)
    loss = F.cross_entropy(model(vg.tensor(x)), y)
    loss.backward()
    assert np.isfinite(loss.item())
    np.testing.assert_array_equal(T.ToFloat()(np.array([0, 51, 255], dtype=np.uint8)),
                                  np.array([0, 0.2, 1], dtype=np.float32))
    with pytest.raises(TypeError, match="dtype bool"):
        T.ToFloat()(np.array([True]))


def test_state_dict_restores_the_loader_and_transform_generators(data):
    def loader():
        return DataLoader(data, 10, shuffle=True, rng=5, to_float=False,
                          transform=T.Compose([T.RandomCrop(4, padding=1, rng=6)]))
    first = loader()
    list(first)
    saved = first.state_dict()
    expected = [x for x, _ in first]
    second = loader()
    second.load_state_dict(saved)
    for a, b in zip(expected, [x for x, _ in second], strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(saved["generators"]) == 2
    assert DataLoader(data, 10).state_dict() == {"generators": []}
    with pytest.raises(ValueError, match="build it as the one that was saved"):
        DataLoader(data, 10).load_state_dict(saved)


def test_shuffle_covers_every_example_once_and_keeps_pairs(data):
    loader = DataLoader(data, batch_size=16, shuffle=True, rng=0, to_float=False)
    first = list(loader)
    order = np.concatenate([x[:, 0, 0, 0] for x, _ in first]).astype(int)
    assert sorted(order) == list(range(103)) and order.tolist() != list(range(103))
    assert all(pairs_ok(x, y) for x, y in first)
    second = np.concatenate([x[:, 0, 0, 0] for x, _ in loader])
    assert not np.array_equal(order, second)  # a new order every epoch


def test_transform_output_and_label_alignment(data):
    loader = DataLoader(data, batch_size=20, shuffle=True, rng=1,
                        transform=T.Compose([T.RandomHorizontalFlip(), ScaleToUnit()]))
    for x, y in loader:
        assert x.dtype == np.float32 and x.max() <= 1.0
        np.testing.assert_array_equal(np.rint(x[:, 0, 0, 0] * 255).astype(int) % 7, y)


def test_reproducible_with_seed_and_library_generator(data):
    augment = T.RandomCrop(4, padding=1)
    def run(**kwargs):
        return [x for x, _ in DataLoader(data, 10, shuffle=True, transform=augment, **kwargs)]
    for a, b in zip(run(rng=4), run(rng=4), strict=True):
        np.testing.assert_array_equal(a, b)
    vg.manual_seed(2)
    first = run()
    vg.manual_seed(2)
    for a, b in zip(first, run(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_prefetch_gives_the_same_batches(data):
    augment = T.RandomAffine(20)
    plain = list(DataLoader(data, 8, shuffle=True, transform=augment, rng=3))
    prefetched = list(DataLoader(data, 8, shuffle=True, transform=augment, rng=3, prefetch=2))
    assert len(plain) == len(prefetched) == 13
    for (a, ya), (b, yb) in zip(plain, prefetched, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ya, yb)


def test_prefetch_stops_its_thread_on_early_break(data):
    before = threading.active_count()
    loader = DataLoader(data, 4, prefetch=True)
    for number, _ in enumerate(loader):
        if number == 2:
            break
    assert threading.active_count() == before


def test_prefetch_reraises_errors_from_the_transform(data):
    def broken(images):
        raise RuntimeError("transform failed on purpose")
    with pytest.raises(RuntimeError, match="on purpose"):
        list(DataLoader(data, 10, transform=broken, prefetch=True))


def test_memory_mapped_npy_is_read_one_batch_at_a_time(tmp_path):
    n, size = 4000, (3, 32, 32)  # 12 MB on disk
    images = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.uint8,
                                       shape=(n, *size))
    images[:] = (np.arange(n) % 251).astype(np.uint8)[:, None, None, None]
    images.flush()
    del images
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    labels = np.arange(n)
    tracemalloc.start()
    try:
        loader = DataLoader((mapped, labels), batch_size=64, shuffle=True, rng=0,
                            to_float=False)
        x, y = next(iter(loader))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert type(x) is np.ndarray and x.shape == (64, *size)
    np.testing.assert_array_equal(x[:, 0, 0, 0], y % 251)  # each image with its own label
    assert peak < mapped.nbytes / 20, f"peak {peak} bytes for a {mapped.nbytes}-byte array"
    total = sum(len(y) for _, y in DataLoader((mapped, labels), batch_size=500))
    assert total == n


@pytest.mark.parametrize("kwargs,error,message", [
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ({"transform": 3}, TypeError, "transform must be callable"),
    ({"prefetch": -1}, ValueError, "prefetch"),
])
def test_bad_arguments(data, kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(data, **kwargs)


def test_images_and_labels_must_pair_up():
    with pytest.raises(ValueError, match=r"images of shape \(5, 1, 2, 2\) and labels of shape "
                                         r"\(4,\)"):
        DataLoader((np.zeros((5, 1, 2, 2)), np.zeros(4)))
