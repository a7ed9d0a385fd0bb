"""The course's COCO captioning files: tiny files written in the npz form (and HDF5 when
h5py is there), every kind of bad file, and the caption encoding helpers."""

import json

import numpy as np
import pytest

from visiongrad.data import (
    DataFormatError,
    decode_captions,
    encode_captions,
    load_coco_captions,
    sample_coco_minibatch,
)

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog"]


def write_coco(folder, captions=None, idxs=None, vocab=None, pca=True):
    rng = np.random.default_rng(0)
    captions = rng.integers(0, len(WORDS), (6, 5)).astype(np.int32) if captions is None \
        else captions
    idxs = np.array([0, 1, 2, 0, 1, 2], np.int32) if idxs is None else idxs
    np.savez(folder / "coco2014_captions.npz", train_captions=captions, train_image_idxs=idxs,
             val_captions=captions[:2], val_image_idxs=idxs[:2])
    suffix = "_pca" if pca else ""
    for split in ("train", "val"):
        np.savez(folder / f"{split}2014_vgg16_fc7{suffix}.npz",
                 features=rng.standard_normal((3, 4)).astype(np.float32))
    vocab = {"idx_to_word": WORDS, "word_to_idx": {w: i for i, w in enumerate(WORDS)}} \
        if vocab is None else vocab
    (folder / "coco2014_vocab.json").write_text(json.dumps(vocab))
    (folder / "train2014_urls.txt").write_text("http://a\nhttp://b\nhttp://c\n")
    return captions


def test_reads_the_npz_form(tmp_path):
    captions = write_coco(tmp_path)
    data = load_coco_captions(tmp_path)
    np.testing.assert_array_equal(data["train_captions"], captions)
    assert data["train_features"].shape == (3, 4) and data["val_captions"].shape == (2, 5)
    assert data["word_to_idx"]["cat"] == 5 and data["idx_to_word"][5] == "cat"
    assert data["train_urls"] == ["http://a", "http://b", "http://c"]
    batch_captions, batch_features = sample_coco_minibatch(data, batch_size=4, rng=0)
    assert batch_captions.shape == (4, 5) and batch_features.shape == (4, 4)
    assert len(load_coco_captions(tmp_path, max_train=3)["train_captions"]) == 3


def test_reads_hdf5_with_h5py(tmp_path):
    h5py = pytest.importorskip("h5py", reason="h5py is optional")
    write_coco(tmp_path)
    for stem in ("coco2014_captions", "train2014_vgg16_fc7_pca", "val2014_vgg16_fc7_pca"):
        arrays = np.load(tmp_path / f"{stem}.npz")
        with h5py.File(tmp_path / f"{stem}.h5", "w") as handle:
            for key in arrays.files:
                handle[key] = arrays[key]
        (tmp_path / f"{stem}.npz").unlink()
    assert load_coco_captions(tmp_path)["train_captions"].shape == (6, 5)


def test_hdf5_without_h5py_is_a_clear_error(tmp_path, monkeypatch):
    import sys
    write_coco(tmp_path)
    (tmp_path / "coco2014_captions.npz").rename(tmp_path / "coco2014_captions.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(DataFormatError, match="needs h5py"):
        load_coco_captions(tmp_path)


@pytest.mark.parametrize("change, message", [
    ({"captions": np.full((6, 5), 7, np.int32)}, "outside the vocabulary of 7"),
    ({"idxs": np.array([0, 1, 2], np.int32)}, "one per caption"),
    ({"idxs": np.array([0, 1, 2, 3, 0, 0], np.int32)}, "outside the 3 feature rows"),
    ({"vocab": {"idx_to_word": WORDS[1:], "word_to_idx": {w: i for i, w in
                                                           enumerate(WORDS[1:])}}}, "<NULL>"),
    ({"vocab": {"idx_to_word": WORDS, "word_to_idx": {"a": 0}}}, "disagree"),
    ({"vocab": ["not", "an", "object"]}, "idx_to_word"),
])
def test_bad_files(tmp_path, change, message):
    write_coco(tmp_path, **change)
    with pytest.raises(DataFormatError, match=message):
        load_coco_captions(tmp_path)


def test_missing_and_damaged_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_coco_captions(tmp_path / "absent")
    write_coco(tmp_path, pca=False)
    with pytest.raises(FileNotFoundError, match="train2014_vgg16_fc7_pca"):
        load_coco_captions(tmp_path)
    assert load_coco_captions(tmp_path, pca_features=False)["train_features"].shape == (3, 4)
    (tmp_path / "coco2014_captions.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataFormatError, match="coco2014_captions.npz"):
        load_coco_captions(tmp_path, pca_features=False)
    (tmp_path / "coco2014_vocab.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(DataFormatError, match="JSON"):
        load_coco_captions(tmp_path, pca_features=False)


def test_encode_decode():
    vocab = {w: i for i, w in enumerate(WORDS)}
    encoded = encode_captions([["a", "cat"], ["a", "dog", "a", "cat"]], vocab)
    np.testing.assert_array_equal(encoded, [[1, 4, 5, 2, 0, 0], [1, 4, 6, 4, 5, 2]])
    assert decode_captions(encoded, WORDS) == ["a cat", "a dog a cat"]
    assert decode_captions(encoded[0], WORDS) == "a cat"
    with pytest.raises(ValueError, match="'bird' is not in the vocabulary"):
        encode_captions([["a", "bird"]], vocab)
    with pytest.raises(ValueError, match="max_length"):
        encode_captions([["a", "cat"]], vocab, max_length=3)
