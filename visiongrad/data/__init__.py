"""visiongrad.data: datasets on disk and embedded, splits, preprocessing, augmentation, loaders.

>>> from visiongrad.data import load_dataset, DataLoader, transforms
>>> train = load_dataset("fashion-mnist-mini")            # embedded, no files needed
>>> loader = DataLoader(train, batch_size=128, shuffle=True,
...                     transform=transforms.RandomHorizontalFlip())
"""

from . import preprocessing, transforms
from .catalog import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    available_datasets,
    load_dataset,
    search_folders,
)
from .cifar import read_cifar10, read_cifar100
from .dataset import ImageDataset
from .images import MAX_IMAGE_PIXELS, image_to_array, open_image, read_image
from .loader import DataLoader
from .preprocessing import (
    ChannelNormalizer,
    MeanImageSubtraction,
    PCAWhitening,
    ScaleToUnit,
    ZCAWhitening,
)
from .readers import (
    DataFormatError,
    UnsafePickleError,
    load_restricted_pickle,
    read_idx,
    read_idx_dataset,
    read_image_folder,
    read_npz,
)
from .splits import KFold, cross_validate, train_val_indices, train_val_split
from .transforms import Compose

__all__ = [
    "ImageDataset", "load_dataset", "available_datasets", "search_folders",
    "FASHION_MNIST_CLASSES", "MNIST_CLASSES",
    "DataFormatError", "UnsafePickleError", "load_restricted_pickle", "read_idx",
    "read_idx_dataset", "read_cifar10", "read_cifar100", "read_image_folder", "read_npz",
    "train_val_indices", "train_val_split", "KFold", "cross_validate",
    "ScaleToUnit", "MeanImageSubtraction", "ChannelNormalizer", "PCAWhitening", "ZCAWhitening",
    "DataLoader", "Compose", "transforms", "preprocessing",
    "open_image", "read_image", "image_to_array", "MAX_IMAGE_PIXELS",
]


# ----- text corpora (data/text.py) -----
from .text import EMBEDDED_TEXT, CharVocabulary, load_text, split_text  # noqa: E402

__all__ += ["EMBEDDED_TEXT", "CharVocabulary", "load_text", "split_text"]


# ----- captioning: the course's COCO files, composed scenes (data/coco_captions.py, scenes.py)
from .coco_captions import (  # noqa: E402
    decode_captions,
    encode_captions,
    load_coco_captions,
    sample_coco_minibatch,
)
from .scenes import SceneSet, compose_scenes, scene_vocabulary  # noqa: E402

__all__ += ["decode_captions", "encode_captions", "load_coco_captions",
            "sample_coco_minibatch", "SceneSet", "compose_scenes", "scene_vocabulary"]
