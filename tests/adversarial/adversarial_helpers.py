"""Shared by the adversarial tests: a small convnet, the embedded data, quick training."""

import numpy as np

import visiongrad as vg
from visiongrad import nn, optim
from visiongrad.data import load_dataset


def small_convnet(batch_norm: bool = False):
    """conv3x3(8) - [bn] - relu - pool - fc: state_dict keys as PyTorch's nn.Sequential."""
    layers = [nn.Conv2d(1, 8, 3, padding=1)] + ([nn.BatchNorm2d(8)] if batch_norm else [])
    return nn.Sequential(*layers, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 14 * 14, 10))


def fashion(split: str, count: int):
    """``count`` images of the embedded subset as float32 in [0, 1], and their labels."""
    data = load_dataset("fashion-mnist-mini", split=split)
    return (data.images[:count] / np.float32(255)).astype(np.float32), data.labels[:count]


def train_quickly(model, images, labels, epochs: int = 2, seed: int = 0):
    """A few epochs of Adam, plain or under a Trainer adversary; the model left in eval."""
    vg.manual_seed(seed)
    solver = optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    order = np.random.default_rng(seed).permutation(len(images))
    for _ in range(epochs):
        for start in range(0, len(images), 64):
            batch = order[start:start + 64]
            solver.zero_grad()
            vg.functional.cross_entropy(model(vg.tensor(images[batch])), labels[batch]).backward()
            solver.step()
    model.eval()
    return model



def write_tiny_fashion(folder):
    """A 60/20-image dataset in Fashion-MNIST's gzipped IDX files: class c bright in row
    band c (as the CLI tests' own)."""
    import gzip

    rng = np.random.default_rng(0)
    for split, count in (("train", 60), ("t10k", 20)):
        labels = np.arange(count) % 10
        images = rng.integers(0, 60, size=(count, 28, 28))
        for image, label in zip(images, labels, strict=True):
            image[2 * label + 4: 2 * label + 8] += 180
        for kind, array in (("images", images), ("labels", labels)):
            header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
                int(n).to_bytes(4, "big") for n in array.shape)
            with gzip.open(folder / f"{split}-{kind}-idx{array.ndim}-ubyte.gz", "wb") as handle:
                handle.write(header + array.astype(np.uint8).tobytes())
    return folder
