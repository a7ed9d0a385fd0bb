"""CIFAR pickles crafted against the reader (issue 28, items 5 and 12): shared references
are never expanded (into names, keys, messages or a label array), a run of one-byte
opcodes cannot fill memory, the number of classes is capped, and bad names or labels are
one DataFormatError naming the file."""

import pickle

import numpy as np
import pytest
from fuzzing import memory_bound, peaks_in_child

from visiongrad.data import DataFormatError, read_cifar10

from .data_formats import py2_pickle, write_cifar10_folder

READ = "visiongrad.data.read_cifar10"


def shared_tuple_chain(levels: int):
    """A tuple of 2**levels references to one 1000-byte string: its repr is 2**levels kB,
    its pickle a few hundred bytes."""
    chain = (b"x" * 1000,)
    for _ in range(levels):
        chain = (chain, chain)
    return chain


def cifar_folder(tmp_path, meta=None, test_batch=None):
    folder = write_cifar10_folder(tmp_path / "cifar", per_batch=2)
    if meta is not None:
        (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=4))
    if test_batch is not None:
        content = test_batch if isinstance(test_batch, bytes) else pickle.dumps(test_batch, 4)
        (folder / "test_batch").write_bytes(content)
    return folder


def test_shared_references_and_opcode_runs_stay_within_ten_times_the_file(tmp_path):
    names = [b"x" * 200_000] * 7000  # 214 kB of pickle, 1.4 GB of names
    labels = [[0] * 10_000] * 20_000  # 60 kB of pickle, 1.6 GB as an array
    rows = np.zeros((20_000, 3072), np.uint8)
    cases = {
        "names": cifar_folder(tmp_path / "names", meta={b"label_names": names}),
        "key": cifar_folder(tmp_path / "key", meta={shared_tuple_chain(20): 1,
                                                    b"label_names": [b"a", b"b"]}),
        "labels": cifar_folder(tmp_path / "labels", test_batch={b"data": rows,
                                                                b"labels": labels}),
        # 3 MB of EMPTY_SET: 717 MiB of empty sets
        "sets": cifar_folder(tmp_path / "sets", test_batch=b"\x80\x04" + b"\x8f" * 3_000_000),
    }
    culprit = {"names": "batches.meta", "key": "batches.meta", "labels": "test_batch",
               "sets": "test_batch"}
    results = peaks_in_child([(READ, folder, {"split": "test"}) for folder in cases.values()])
    for (name, folder), (peak, error, message) in zip(cases.items(), results, strict=True):
        path = folder / culprit[name]
        assert error in ("DataFormatError", "UnsafePickleError") and str(path) in message, \
            f"{name}: {error} {message}"
        assert peak < memory_bound(path), f"{name}: {peak} bytes traced"
        assert len(message) < 1000


def test_the_number_of_classes_is_capped(tmp_path):
    folder = cifar_folder(tmp_path, meta={b"label_names": [b"a"] * 100_001})
    with pytest.raises(DataFormatError, match=r"batches.meta \('label_names'\): 100001 class "
                                              r"names is more than the 100000 allowed"):
        read_cifar10(folder, split="test")
    million = cifar_folder(tmp_path / "million", meta={b"label_names": [b"a"] * 10**6})
    with pytest.raises(DataFormatError, match="batches.meta: refused: the pickle's 2002303 "
                                              "bytes run so many opcodes"):
        read_cifar10(million, split="test")  # 2 MB of pickle: refused before it is built


def test_undecodable_names_and_labels_given_as_a_string_are_one_clear_error(tmp_path):
    folder = cifar_folder(tmp_path / "names", meta={b"label_names": [b"cat", b"\xff\xfe"]})
    with pytest.raises(DataFormatError, match=r"batches.meta \('label_names'\): a class name is "
                                              r"not UTF-8 \(byte 0xff at offset 0\)"):
        read_cifar10(folder, split="test")
    rows = np.zeros((3, 3072), np.uint8)
    for labels in ("abc", b"\x00\x01\x02", [0, "1", 2], [[0], [1], [2]], 7):
        folder = cifar_folder(tmp_path / f"labels{len(str(labels))}",
                              test_batch=py2_pickle({b"data": rows, b"labels": labels}))
        with pytest.raises(DataFormatError, match=r"test_batch \('labels'\): labels must be a "
                                                  r"list of ints"):
            read_cifar10(folder, split="test")
    folder = cifar_folder(tmp_path / "wide", test_batch={b"data": rows,
                                                         b"labels": [0, 1, 2**70]})
    with pytest.raises(DataFormatError, match="test_batch .*does not fit in 64 bits"):
        read_cifar10(folder, split="test")
