"""visiongrad.data: readers, the embedded default, splits, preprocessing, augmentation, loaders."""

from .catalog import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    available_datasets,
    load_dataset,
    search_folders,
)
from .dataset import ImageDataset
from .readers import (
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

__all__ = [
    "ImageDataset", "load_dataset", "available_datasets", "search_folders",
    "FASHION_MNIST_CLASSES", "MNIST_CLASSES",
    "DataFormatError", "UnsafePickleError", "load_restricted_pickle", "read_idx",
    "read_idx_dataset", "read_cifar10", "read_cifar100", "read_image_folder", "read_npz",
]
