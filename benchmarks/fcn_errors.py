"""Where a trained FCN's mIoU goes, on the benchmark's test scenes.

    python -m benchmarks.fcn_errors CHECKPOINT [--test-scenes 200] [--classifier [--channels C,..]]

- its mIoU as it is; with the true class given to every item pixel it finds (what its
  outlines alone would score); with the true item pixels and its own classes there (what
  its classes alone would score);
- the share of items whose pixels, voting, name the right class, by the item's size;
- what instance-consistent labels would add: each true item's predicted item pixels all
  take the class of their summed probabilities (the ceiling of any grouping of pixels
  into items, such as Panoptic-DeepLab's centre and offset heads);
- two post-processings that did not help: the class probabilities averaged over each
  pixel's 3x3 neighbourhood, and the mean of the probabilities at scales 1 and 1.25;
- with ``--classifier`` (about 10 minutes on one core): a fresh backbone trained as
  ``pretrain_backbone`` trains it (8 epochs of 60,000 single-item crops, composed anew each
  epoch), scored on single-item test crops and on 32x32 windows of the test scenes
  centred on each item; ``--channels`` gives that backbone other widths (is the
  classifier's ceiling its width?).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from visiongrad import functional as F
from visiongrad.autograd import Tensor, no_grad
from visiongrad.detection.evaluate import confusion_matrix, segmentation_metrics
from visiongrad.detection.nets import Backbone, image_tensor
from visiongrad.detection.scenes import CLASSES
from visiongrad.recipes.detect import (
    PRETRAIN_LR,
    ItemClassifier,
    build_model,
    fit,
    load,
    make_scenes,
)

from .detection import TEST_ITEMS


def probabilities(model, images, scale: float = 1.0) -> np.ndarray:
    """Softmax of the FCN's scores (N, C, H, W), the input resized by ``scale`` first."""
    model.eval()
    side = images.shape[-1]
    out = []
    with no_grad():
        for start in range(0, len(images), 50):
            x = Tensor(images[start:start + 50].astype(np.float32))
            if scale != 1:
                x = F.interpolate(x, size=(round(side * scale),) * 2, mode="bilinear")
            scores = model(x)
            if scale != 1:
                scores = F.interpolate(scores, size=(side, side), mode="bilinear")
            out.append(F.softmax(scores, 1).data)
    return np.concatenate(out)


def box_mean(values: np.ndarray, weights: np.ndarray, k: int = 3) -> np.ndarray:
    """Mean of ``values`` (N, C, H, W) over each pixel's k x k window, weighed by
    ``weights`` (N, 1, H, W)."""
    pad = [(0, 0), (0, 0), (k // 2, k // 2), (k // 2, k // 2)]
    def window_sum(a):
        padded = np.pad(a, pad)
        h, w = a.shape[-2:]
        return sum(padded[..., i:i + h, j:j + w] for i in range(k) for j in range(k))
    return window_sum(values * weights) / np.maximum(window_sum(weights), 1e-9)


def item_votes(predicted: np.ndarray, scenes) -> tuple[np.ndarray, np.ndarray]:
    """Per item (in scene order): whether its pixels' majority item class is its own, and
    its larger side."""
    right, sides = [], []
    for labels_map, masks, labels, boxes in zip(predicted, scenes.masks, scenes.labels,
                                                scenes.boxes, strict=True):
        for mask, label, box in zip(masks, labels, boxes, strict=True):
            votes = labels_map[mask]
            votes = votes[votes > 0]
            right.append(bool(len(votes)) and np.bincount(votes).argmax() == label)
            sides.append(max(box[2] - box[0], box[3] - box[1]))
    return np.array(right), np.array(sides)


def grouped_vote(p: np.ndarray, predicted: np.ndarray, scenes) -> np.ndarray:
    """``predicted`` with each true item's predicted item pixels set to the item class of
    the largest summed probability ``p`` over them."""
    voted = predicted.copy()
    for n, masks in enumerate(scenes.masks):
        for mask in masks:
            pixels = mask & (predicted[n] > 0)
            if pixels.any():
                voted[n][pixels] = p[n, 1:, pixels].sum(axis=0).argmax() + 1
    return voted


def classifier_check(config, scenes, channels=None) -> None:
    backbone = Backbone(channels) if channels else build_model(config).backbone
    classifier = ItemClassifier(backbone, len(CLASSES) - 1)

    def crops(seed: int):
        return make_scenes(replace(config, seed=seed), "train", 60000, size=32, max_items=1)

    fit(classifier, crops(config.seed), replace(config, epochs=8, lr=PRETRAIN_LR, batch_size=64),
        compose=crops)
    classifier.eval()

    def accuracy(images, labels) -> float:
        with no_grad():
            features = classifier.backbone(image_tensor(images))[-1].mean(axis=(2, 3))
            return float(np.mean(classifier.fc(features).data.argmax(1) == labels - 1))

    single = make_scenes(replace(config, dataset=TEST_ITEMS), "test", 2000, size=32,
                         max_items=1)
    print(f"classifier on single-item test crops: "
          f"{accuracy(single.images, np.array([l[0] for l in single.labels])):.3f}")
    padded = np.pad(scenes.images[:, 0], ((0, 0), (16, 16), (16, 16)), mode="reflect")
    windows, labels = [], []
    for n, (boxes, items) in enumerate(zip(scenes.boxes, scenes.labels, strict=True)):
        for box, label in zip(boxes, items, strict=True):
            x, y = (int(round((box[0] + box[2]) / 2)), int(round((box[1] + box[3]) / 2)))
            windows.append(padded[n, y:y + 32, x:x + 32])
            labels.append(label)
    print(f"classifier on 32x32 windows of the test scenes centred on each item: "
          f"{accuracy(np.stack(windows)[:, None], np.array(labels)):.3f}")


def channel_list(text: str) -> tuple[int, ...]:
    """``--channels``: positive stage widths separated by commas."""
    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        channels = ()
    if not channels or min(channels) < 1:
        raise argparse.ArgumentTypeError(f"expected positive widths such as 32,64,128, "
                                         f"got {text!r}")
    return channels


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--test-scenes", type=int, default=200)
    parser.add_argument("--classifier", action="store_true")
    parser.add_argument("--channels", type=channel_list,
                        help="the --classifier check's backbone stages (default: the FCN's), "
                             "e.g. 32,64,128,256,256")
    args = parser.parse_args(argv)
    if args.channels and not args.classifier:
        parser.error("--channels sets the --classifier check's backbone; give --classifier too")
    model, config = load(args.checkpoint)
    scenes = make_scenes(replace(config, dataset=TEST_ITEMS), "test", args.test_scenes)
    truth = scenes.semantic.astype(np.int64)
    classes = model.num_classes

    def miou(predicted) -> float:
        return float(segmentation_metrics(confusion_matrix(predicted, truth, classes,
                                                           None))["mIoU"])

    p = probabilities(model, scenes.images)
    predicted = p.argmax(1)
    outlines = np.where((predicted > 0) & (truth > 0), truth, predicted)
    own_classes = np.where(truth > 0, p[:, 1:].argmax(1) + 1, 0)
    print(f"mIoU {miou(predicted):.3f}; true classes on its item pixels {miou(outlines):.3f}; "
          f"its classes on the true item pixels {miou(own_classes):.3f}")
    right, sides = item_votes(predicted, scenes)
    by_size = ", ".join(f"{lo}-{hi} px {right[(sides >= lo) & (sides < hi)].mean():.2f}"
                        for lo, hi in ((16, 20), (20, 24), (24, 28), (28, 33)))
    print(f"items named right by their pixels' vote: {right.mean():.3f} ({by_size})")
    print(f"its item pixels grouped by the true items, each item's summed probabilities "
          f"voting: {miou(grouped_vote(p, predicted, scenes)):.3f}")
    smoothed = box_mean(p[:, 1:], (predicted > 0)[:, None].astype(p.dtype)).argmax(1) + 1
    print(f"3x3 smoothing of the class probabilities: "
          f"{miou(np.where(predicted > 0, smoothed, 0)):.3f}; scales 1 and 1.25: "
          f"{miou((p + probabilities(model, scenes.images, 1.25)).argmax(1)):.3f}")
    if args.classifier:
        classifier_check(config, scenes, args.channels)


if __name__ == "__main__":
    main()
