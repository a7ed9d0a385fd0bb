"""The course's COCO captioning files, and captions as word indices.

The assignment's folder holds ``coco2014_captions.h5`` (``train_captions`` (N, 17) and
``val_captions`` word indices, ``train_image_idxs`` and ``val_image_idxs``: which feature
row each caption describes), ``coco2014_vocab.json`` (``idx_to_word``, ``word_to_idx``),
the features ``train2014_vgg16_fc7.h5`` and ``val2014_vgg16_fc7.h5`` (key ``features``,
or their ``*_pca.h5`` versions) and, optionally, ``train2014_urls.txt``/``val2014_urls.txt``.
:func:`load_coco_captions` reads them, or the same keys from ``.npz`` files of the same
names (``coco2014_captions.npz``, ``train2014_vgg16_fc7.npz`` ...), which need no h5py.
HDF5 is read only where h5py is installed (it is not a dependency).

Captions follow the course's conventions: ``<START> w1 ... wk <END>`` then ``<NULL>``
padding; :func:`encode_captions` and :func:`decode_captions` go between words and indices.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import DataFormatError
from .npz import load_npz_arrays

NULL, START, END = "<NULL>", "<START>", "<END>"
SPLITS = ("train", "val")


def _read_arrays(stem: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` from ``stem.npz`` or, with h5py installed, ``stem.h5``."""
    npz, h5 = stem.with_suffix(".npz"), stem.with_suffix(".h5")
    if npz.is_file():
        return load_npz_arrays(npz, keys)
    if not h5.is_file():
        raise FileNotFoundError(f"{npz.name} (or {h5.name}) not found in {stem.parent}")
    try:
        import h5py
    except ImportError:
        raise DataFormatError(f"{h5} is HDF5, which needs h5py (not installed); convert it to "
                              f"{npz.name} with the same keys") from None
    try:
        with h5py.File(h5, "r") as handle:
            missing = [key for key in keys if key not in handle]
            if missing:
                raise DataFormatError(f"{h5}: missing dataset(s) {missing}")
            return {key: np.asarray(handle[key]) for key in keys}
    except OSError as error:
        raise DataFormatError(f"{h5}: not a readable HDF5 file ({error})") from None


def read_vocabulary(path: str | os.PathLike) -> tuple[dict[str, int], list[str]]:
    """``(word_to_idx, idx_to_word)`` from the course's vocabulary JSON, checked: the two
    agree, indices are 0..V-1, and ``<NULL>``, ``<START>``, ``<END>`` are present."""
    path = Path(path)
    try:
        vocab = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(f"{path}: not a JSON vocabulary ({error})") from None
    if not isinstance(vocab, dict) or not isinstance(vocab.get("idx_to_word"), list) \
            or not isinstance(vocab.get("word_to_idx"), dict):
        raise DataFormatError(f"{path}: must be an object with 'idx_to_word' (a list) and "
                              f"'word_to_idx' (an object)")
    idx_to_word, word_to_idx = vocab["idx_to_word"], vocab["word_to_idx"]
    if len(idx_to_word) != len(word_to_idx) or any(
            word_to_idx.get(word) != index for index, word in enumerate(idx_to_word)):
        raise DataFormatError(f"{path}: idx_to_word and word_to_idx disagree")
    missing = [token for token in (NULL, START, END) if token not in word_to_idx]
    if missing:
        raise DataFormatError(f"{path}: the vocabulary lacks the special token(s) {missing}")
    return dict(word_to_idx), list(idx_to_word)


def load_coco_captions(folder: str | os.PathLike, pca_features: bool = True,
                       max_train: int | None = None, seed: int = 0) -> dict:
    """Read the course's COCO captioning data (its ``load_coco_data``) from ``folder``.

    Parameters
    ----------
    folder : str or path-like
    pca_features : bool
        Read ``*_vgg16_fc7_pca`` (the course's default) instead of ``*_vgg16_fc7``.
    max_train : int, optional
        Keep this many training captions, drawn without replacement with ``seed``.

    Returns
    -------
    dict
        ``train_captions``, ``train_image_idxs``, ``train_features``, ``val_*`` alike
        (int64 captions and indices, float features), ``word_to_idx``, ``idx_to_word``,
        and ``train_urls``/``val_urls`` where the text files exist.

    Raises
    ------
    FileNotFoundError
        A file is missing. DataFormatError (a ValueError) for a file that is not what it
        should be: a missing key, captions and image indices of different lengths,
        indices outside the vocabulary or the features, an inconsistent vocabulary.

    Examples
    --------
    >>> import json, os, tempfile; folder = tempfile.mkdtemp()
    >>> words = ['<NULL>', '<START>', '<END>', 'a', 'cat']
    >>> vocab = {'idx_to_word': words, 'word_to_idx': {w: i for i, w in enumerate(words)}}
    >>> _ = open(os.path.join(folder, 'coco2014_vocab.json'), 'w').write(json.dumps(vocab))
    >>> captions = np.array([[1, 3, 4, 2], [1, 4, 2, 0]])
    >>> np.savez(os.path.join(folder, 'coco2014_captions.npz'),
    ...          train_captions=captions, train_image_idxs=np.array([0, 1]),
    ...          val_captions=captions, val_image_idxs=np.array([1, 0]))
    >>> for split in ('train', 'val'):
    ...     features = os.path.join(folder, f'{split}2014_vgg16_fc7_pca.npz')
    ...     np.savez(features, features=np.ones((2, 8)))
    >>> data = load_coco_captions(folder)
    >>> data['train_captions'].shape, data['val_features'].shape, data['idx_to_word'][4]
    ((2, 4), (2, 8), 'cat')
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"COCO captioning folder not found: {folder}")
    word_to_idx, idx_to_word = read_vocabulary(folder / "coco2014_vocab.json")
    keys = [f"{split}_{kind}" for split in SPLITS for kind in ("captions", "image_idxs")]
    data: dict = dict(_read_arrays(folder / "coco2014_captions", keys))
    data.update(word_to_idx=word_to_idx, idx_to_word=idx_to_word)
    suffix = "_pca" if pca_features else ""
    for split in SPLITS:
        stem = folder / f"{split}2014_vgg16_fc7{suffix}"
        features = _read_arrays(stem, ["features"])["features"]
        captions, idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
        _check_split(stem.parent / f"coco2014_captions ({split})", captions, idxs,
                     features, len(idx_to_word))
        data[f"{split}_captions"], data[f"{split}_image_idxs"] = (captions.astype(np.int64),
                                                                  idxs.astype(np.int64))
        data[f"{split}_features"] = features
        urls = folder / f"{split}2014_urls.txt"
        if urls.is_file():
            data[f"{split}_urls"] = urls.read_text(encoding="utf-8").split()
    if max_train is not None:
        rng = np.random.default_rng(seed)
        keep = rng.choice(len(data["train_captions"]),
                          size=min(max_train, len(data["train_captions"])), replace=False)
        data["train_captions"] = data["train_captions"][keep]
        data["train_image_idxs"] = data["train_image_idxs"][keep]
    return data


def _check_split(where: Path, captions, idxs, features, vocabulary: int) -> None:
    if captions.dtype.kind not in "iu" or captions.ndim != 2:
        raise DataFormatError(f"{where}: captions must be an integer array (N, T), got "
                              f"{captions.dtype} {captions.shape}")
    if idxs.dtype.kind not in "iu" or idxs.shape != captions.shape[:1]:
        raise DataFormatError(f"{where}: image_idxs must be integers, one per caption "
                              f"({len(captions)}), got {idxs.dtype} {idxs.shape}")
    if features.ndim < 2 or features.dtype.kind != "f":
        raise DataFormatError(f"{where}: features must be a float array (N, D), got "
                              f"{features.dtype} {features.shape}")
    if captions.size and (captions.min() < 0 or captions.max() >= vocabulary):
        raise DataFormatError(f"{where}: caption word index {int(captions.max())} or "
                              f"{int(captions.min())} is outside the vocabulary of "
                              f"{vocabulary}")
    if idxs.size and (idxs.min() < 0 or idxs.max() >= len(features)):
        raise DataFormatError(f"{where}: image index outside the {len(features)} feature rows")


def sample_coco_minibatch(data: Mapping, batch_size: int = 100, split: str = "train",
                          rng=None) -> tuple[np.ndarray, np.ndarray]:
    """``(captions, features)`` of ``batch_size`` random captions of ``split`` (the course's
    ``sample_coco_minibatch``; urls are not returned).

    Examples
    --------
    >>> data = {'train_captions': np.arange(12).reshape(4, 3),   # 4 captions of 3 words
    ...         'train_image_idxs': np.array([0, 0, 1, 1]), 'train_features': np.eye(2)}
    >>> captions, features = sample_coco_minibatch(data, batch_size=2, rng=0)
    >>> captions.shape, features.shape
    ((2, 3), (2, 2))
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    count = len(data[f"{split}_captions"])
    pick = np.random.default_rng(rng).choice(count, batch_size)
    return (data[f"{split}_captions"][pick],
            data[f"{split}_features"][data[f"{split}_image_idxs"][pick]])


def encode_captions(captions: Sequence[Sequence[str]], word_to_idx: Mapping[str, int],
                    max_length: int | None = None) -> np.ndarray:
    """Word lists -> (N, L) int64 of ``<START> words <END> <NULL>...``; L = max_length or
    the longest caption + 2. ValueError for an unknown word or a caption too long.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> word_to_idx = {'<NULL>': 0, '<START>': 1, '<END>': 2, 'a': 3, 'bag': 4}
    >>> data.encode_captions([['a', 'bag']], word_to_idx, max_length=5)
    array([[1, 3, 4, 2, 0]])
    """
    longest = max((len(caption) for caption in captions), default=0) + 2
    length = longest if max_length is None else max_length
    if longest > length:
        raise ValueError(f"a caption of {longest - 2} words does not fit max_length "
                         f"{length} (with {START} and {END})")
    out = np.full((len(captions), length), word_to_idx[NULL], dtype=np.int64)
    for row, caption in enumerate(captions):
        unknown = [word for word in caption if word not in word_to_idx]
        if unknown:
            raise ValueError(f"caption {row}: word {unknown[0]!r} is not in the vocabulary")
        words = [START, *caption, END]
        out[row, :len(words)] = [word_to_idx[word] for word in words]
    return out


def decode_captions(captions, idx_to_word) -> list[str]:
    """(N, T) word indices -> N strings, stopping at ``<END>``, without ``<NULL>`` and
    ``<START>`` (the course's ``decode_captions``). ``idx_to_word`` is a list or dict.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> idx_to_word = ['<NULL>', '<START>', '<END>', 'a', 'bag']
    >>> data.decode_captions(np.array([[1, 3, 4, 2, 0]]), idx_to_word)
    ['a bag']
    """
    captions = np.asarray(captions)
    squeeze = captions.ndim == 1
    decoded = []
    for row in np.atleast_2d(captions):
        words = []
        for index in row:
            word = idx_to_word[int(index)]
            if word == END:
                break
            if word not in (NULL, START):
                words.append(word)
        decoded.append(" ".join(words))
    return decoded[0] if squeeze else decoded
