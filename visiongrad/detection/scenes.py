"""Detection and segmentation scenes composed from Fashion-MNIST items on textured ground.

Each scene pastes 1-5 items (``min_items``..``max_items``), each resized to a random side
in [``min_scale``, ``max_scale``] pixels and placed at a random position, onto a
``size`` x ``size`` background texture; later items cover earlier ones. An item's mask is
its own pixels (value > ``MASK_THRESHOLD`` after resizing) minus what later items cover;
its box is the tight box of that visible mask, in pixel-edge (x1, y1, x2, y2) form (a
1-pixel mask at column c spans [c, c + 1)). A drawn item that would keep less than
``MIN_VISIBLE`` of its pixels, or any earlier item that would, is drawn again elsewhere.

Labels follow torchvision's detection convention: 0 is background, item class c is c + 1
(``CLASSES``). The per-pixel semantic map holds these labels.

Backgrounds are procedural textures, synthesised with the scene's random stream, rather
than scikit-image's photographs (brick, grass, gravel): nothing to ship or license, any
size, an endless supply (a detector cannot memorise a few crops), and the same three
kinds of structure: "noise" (multi-octave value noise, gravel-like), "bricks" (staggered
courses with mortar lines) and "streaks" (vertically smeared noise, grass-like). They stay
dimmer than the items (at most ``BACKGROUND_MAX``) yet carry edges at every scale.

Splits are fixed as in ``visiongrad.data.scenes``: "train" and "val" draw items from
disjoint parts of the source's training images, "test" from its test images, each split
with its own random stream, so ``compose_detection_scenes(n, split, seed)`` is the same
every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..data.scenes import SPLITS, source_items
from . import rle
from .boxes import box_convert

CLASSES = ("background", "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal",
           "shirt", "sneaker", "bag", "ankle boot")
"""The classes of the synthetic scenes: ``"background"`` (0), then Fashion-MNIST's ten.

Examples
--------
>>> len(CLASSES), CLASSES[1]
(11, 't-shirt/top')
"""
MASK_THRESHOLD = 30
MIN_VISIBLE = 0.5
BACKGROUND_MAX = 110.0
TEXTURES = ("noise", "bricks", "streaks")


@dataclass
class DetectionScenes:
    """Composed scenes: ``images`` (N, 1, H, W) uint8; per image ``boxes`` (k, 4) float32
    (x1, y1, x2, y2), ``labels`` (k,) int64 in 1..10, ``masks`` (k, H, W) bool (visible
    pixels); ``semantic`` (N, H, W) uint8 labels (0 background); ``textures`` (N,) names.

    Examples
    --------
    >>> from visiongrad.detection import compose_detection_scenes
    >>> scenes = compose_detection_scenes(1, size=64, seed=0)
    >>> scenes.boxes[0].shape[1], scenes.labels[0].dtype, scenes.masks[0].shape[1:]
    (4, dtype('int64'), (64, 64))
    """

    images: np.ndarray
    boxes: list
    labels: list
    masks: list
    semantic: np.ndarray
    textures: list

    def __len__(self) -> int:
        return len(self.images)

    def to_coco(self) -> dict:
        """The scenes' ground truth as a COCO dataset dict (image ids 1..N, RLE masks,
        area = mask area), for ``evaluate_coco``."""
        height, width = self.images.shape[2:]
        images = [{"id": i + 1, "height": height, "width": width} for i in range(len(self))]
        annotations = []
        for i, (boxes, labels, masks) in enumerate(zip(self.boxes, self.labels, self.masks,
                                                       strict=True)):
            for box, label, mask in zip(box_convert(boxes, "xyxy", "xywh"), labels, masks,
                                        strict=True):
                annotations.append({"id": len(annotations) + 1, "image_id": i + 1,
                                    "category_id": int(label), "bbox": [float(v) for v in box],
                                    "area": int(mask.sum()), "iscrowd": 0,
                                    "segmentation": rle.encode(mask)})
        categories = [{"id": c, "name": name} for c, name in enumerate(CLASSES) if c]
        return {"images": images, "annotations": annotations, "categories": categories}


def _smooth_noise(rng, size: int, cell: int, stretch: tuple[int, int] = (1, 1)):
    """Value noise: a coarse random grid upsampled bilinearly to (size, size)."""
    rows, cols = max(size // (cell * stretch[0]), 1) + 2, max(size // (cell * stretch[1]), 1) + 2
    coarse = Image.fromarray(rng.random((rows, cols)).astype(np.float32))
    return np.asarray(coarse.resize((size, size), Image.BILINEAR), dtype=np.float64)


def texture(kind: str, size: int, rng) -> np.ndarray:
    """A (size, size) float background in [0, ``BACKGROUND_MAX``] (see the module)."""
    if kind == "noise":
        base = sum(_smooth_noise(rng, size, cell) / 2 ** o
                   for o, cell in enumerate((16, 8, 4, 2)))
    elif kind == "bricks":
        height, width = int(rng.integers(5, 10)), int(rng.integers(10, 20))
        rows, cols = np.mgrid[0:size, 0:size]
        course = rows // height
        shifted = cols + (course % 2) * (width // 2)
        mortar = (rows % height == 0) | (shifted % width == 0)
        shade = rng.uniform(0.4, 1.0, (size // height + 2, size // width + 3))
        base = np.where(mortar, 0.1, shade[course, shifted // width]) \
            + 0.3 * _smooth_noise(rng, size, 2)
    elif kind == "streaks":
        base = _smooth_noise(rng, size, 2, (6, 1)) + 0.5 * _smooth_noise(rng, size, 8)
    else:
        raise ValueError(f"texture kind must be one of {TEXTURES}, got {kind!r}")
    base = (base - base.min()) / max(float(np.ptp(base)), 1e-12)
    return base * rng.uniform(0.5, 1.0) * BACKGROUND_MAX


def _resized(item: np.ndarray, side: int) -> np.ndarray:
    return np.asarray(Image.fromarray(item).resize((side, side), Image.BILINEAR))


def compose_detection_scenes(count: int, split: str = "train", seed: int = 0, size: int = 64,
                             min_items: int = 1, max_items: int = 5, min_scale: int = 16,
                             max_scale: int = 32, dataset: str = "fashion-mnist-mini",
                             data_dir=None) -> DetectionScenes:
    """Compose ``count`` scenes of ``split`` (see the module docstring).

    Parameters
    ----------
    count : int
    split : {"train", "val", "test"}
    seed : int
        With ``split``, fixes the scenes.
    size : int
        Canvas side in pixels.
    min_items, max_items : int
        Items per scene, drawn uniformly in [min_items, max_items] (1 <= min <= max <= 5).
    min_scale, max_scale : int
        Item side in pixels, drawn uniformly (8 <= min <= max <= size).
    dataset, data_dir :
        Source of the items for ``load_dataset`` (the embedded ``fashion-mnist-mini`` by
        default, or ``fashion-mnist``).

    Examples
    --------
    >>> scenes = compose_detection_scenes(2, size=64, seed=0)
    >>> scenes.images.shape, scenes.semantic.shape, len(scenes.boxes)
    ((2, 1, 64, 64), (2, 64, 64), 2)
    """
    if not 1 <= min_items <= max_items <= 5:
        raise ValueError(f"need 1 <= min_items <= max_items <= 5, got {min_items}, {max_items}")
    if not 8 <= min_scale <= max_scale <= size:
        raise ValueError(f"need 8 <= min_scale <= max_scale <= size, got {min_scale}, "
                         f"{max_scale}, size {size}")
    items, item_labels = source_items(split, count, dataset, data_dir)
    rng = np.random.default_rng([seed, SPLITS.index(split), 20])
    images = np.zeros((count, 1, size, size), dtype=np.uint8)
    semantic = np.zeros((count, size, size), dtype=np.uint8)
    boxes, labels, masks, textures = [], [], [], []
    for n in range(count):
        kind = TEXTURES[int(rng.integers(len(TEXTURES)))]
        canvas = texture(kind, size, rng)
        owner = np.full((size, size), -1)  # which item each pixel shows
        placed, full_areas = [], []
        for _ in range(int(rng.integers(min_items, max_items + 1))):
            pick = int(rng.integers(len(item_labels)))
            for _attempt in range(20):
                side = int(rng.integers(min_scale, max_scale + 1))
                patch = _resized(items[pick], side)
                x, y = (int(v) for v in rng.integers(0, size - side + 1, 2))
                shape = np.zeros((size, size), bool)
                shape[y:y + side, x:x + side] = patch > MASK_THRESHOLD
                trial = np.where(shape, len(placed), owner)
                visible = [np.count_nonzero(trial == i) for i in range(len(placed) + 1)]
                if shape.any() and all(v >= MIN_VISIBLE * a for v, a in
                                       zip(visible, full_areas + [shape.sum()], strict=True)):
                    owner = trial
                    canvas[y:y + side, x:x + side] = np.where(
                        patch > MASK_THRESHOLD, patch, canvas[y:y + side, x:x + side])
                    placed.append(pick)
                    full_areas.append(int(shape.sum()))
                    break
        item_masks = np.stack([owner == i for i in range(len(placed))]) if placed \
            else np.zeros((0, size, size), bool)
        item_boxes = np.zeros((len(placed), 4), dtype=np.float32)
        for i, mask in enumerate(item_masks):
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            item_boxes[i] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
        item_labels_k = item_labels[placed].astype(np.int64) + 1
        images[n, 0] = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
        for i, label in enumerate(item_labels_k):
            semantic[n][item_masks[i]] = label
        boxes.append(item_boxes)
        labels.append(item_labels_k)
        masks.append(item_masks)
        textures.append(kind)
    return DetectionScenes(images, boxes, labels, masks, semantic, textures)
