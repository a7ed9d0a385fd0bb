"""Captioned scenes composed from Fashion-MNIST items: real data for image captioning.

Each scene places 1-3 items (shrunk from 28x28 to ``item_size`` by area averaging) on an
empty ``size`` x ``size`` canvas, overlapping little (at most ``MAX_OVERLAP`` of an item's
area), where their layout leaves no doubt about the caption, and captions it:

- one item:    "a bag on the left", "a dress at the top", "a coat in the middle"
- two items:   "a bag to the left of a sneaker" (also "a sneaker to the right of a bag"),
               "a shirt above a trouser" (also "a trouser below a shirt")
- three items: "a bag , a coat and a sandal from left to right" (also "... from right to
               left" in reverse order), likewise "from top to bottom"

Every valid caption is a reference (as COCO's five per image); the first is the
canonical one. Relations come from the items' centres: the leading axis must differ by at
least ``MIN_GAP`` pixels and twice the other axis, so no caption is a coin toss.

Splits are fixed: "train" and "val" scenes draw items from disjoint parts (85% / 15%,
fixed permutation) of the source's training images, "test" scenes from its test images;
each split has its own random stream, so ``compose_scenes(n, split, seed)`` is the same
every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .catalog import load_dataset
from .coco_captions import END, NULL, START, encode_captions

ITEM_WORDS = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
              "sneaker", "bag", "boot")
"""The word for each Fashion-MNIST class (``Ankle boot`` is "boot")."""
GRAMMAR_WORDS = (",", "a", "above", "and", "at", "below", "bottom", "from", "in", "left",
                 "middle", "of", "on", "right", "the", "to", "top")
SPLITS = ("train", "val", "test")
MAX_OVERLAP = 0.1
MIN_GAP = 12
MAX_CAPTION_WORDS = 12
"""Words in the longest caption the grammar makes ("a X , a Y and a Z from left to right")."""
VAL_FRACTION = 0.15
SINGLE_PLACES = {("x", -1): "on the left", ("x", 1): "on the right",
                 ("y", -1): "at the top", ("y", 1): "at the bottom"}
PAIR_RELATIONS = {"x": ("to the left of", "to the right of"), "y": ("above", "below")}
ORDERS = {"x": ("from left to right", "from right to left"),
          "y": ("from top to bottom", "from bottom to top")}


def scene_vocabulary() -> dict[str, int]:
    """word_to_idx of the scene captions: ``<NULL>`` 0, ``<START>`` 1, ``<END>`` 2, then the
    grammar's words and the item words, sorted.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> vocabulary = data.scene_vocabulary()
    >>> vocabulary['<NULL>'], 'bag' in vocabulary
    (0, True)
    """
    words = sorted(set(GRAMMAR_WORDS) | set(ITEM_WORDS))
    return {word: index for index, word in enumerate([NULL, START, END, *words])}


@dataclass
class SceneSet:
    """Composed scenes.

    Attributes
    ----------
    images : ndarray (N, 1, size, size) uint8
    boxes : list of ndarray (k, 4) int64
        Each item's box (x0, y0, x1, y1), pixels x0 <= x < x1.
    labels : list of ndarray (k,) int64
        Each item's Fashion-MNIST class.
    captions : list of list of str
        Every valid caption (word lists) of each scene; the first is the canonical one.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> scenes = data.compose_scenes(3, seed=0)
    >>> len(scenes), len(scenes.boxes[0]) == len(scenes.labels[0])
    (3, True)
    """

    images: np.ndarray
    boxes: list
    labels: list
    captions: list
    word_to_idx: dict = field(default_factory=scene_vocabulary)

    def __len__(self) -> int:
        return len(self.images)

    def presence(self) -> np.ndarray:
        """(N, 10) float32: 1 where the scene holds an item of that class."""
        out = np.zeros((len(self), len(ITEM_WORDS)), dtype=np.float32)
        for row, labels in enumerate(self.labels):
            out[row, labels] = 1
        return out

    def coverage(self, grid: int) -> np.ndarray:
        """(N, 10, grid, grid) float32: 1 where the centre of a cell of a grid x grid split of
        the canvas lies inside the box of an item of that class: which item is where, the
        encoder's training target (a caption's relations need the positions, not only the
        classes)."""
        size = self.images.shape[-1]
        if int(grid) != grid or not 1 <= grid <= size:
            raise ValueError(f"grid must be an integer from 1 to the canvas side {size}, "
                             f"got {grid}")
        centres = (np.arange(grid) + 0.5) * size / grid
        out = np.zeros((len(self), len(ITEM_WORDS), grid, grid), dtype=np.float32)
        for row, (boxes, labels) in enumerate(zip(self.boxes, self.labels, strict=True)):
            for (x0, y0, x1, y1), label in zip(boxes, labels, strict=True):
                rows = (centres >= y0) & (centres < y1)
                cols = (centres >= x0) & (centres < x1)
                out[row, label] = np.maximum(out[row, label], rows[:, None] & cols[None, :])
        return out

    def encoded(self, which: int | None = 0, rng=None) -> np.ndarray:
        """(N, L) word indices of each scene's caption number ``which`` (clipped to the
        scene's count), or with ``which=None`` one drawn at random with ``rng``."""
        rng = np.random.default_rng(rng)
        chosen = [refs[rng.integers(len(refs))] if which is None else refs[min(which,
                                                                              len(refs) - 1)]
                  for refs in self.captions]
        return encode_captions(chosen, self.word_to_idx, max_length=MAX_CAPTION_WORDS + 2)


def _area_matrix(source: int, target: int) -> np.ndarray:
    """R (target, source): R[i, j] = the share of target pixel i covered by source pixel j,
    so R @ image @ R.T shrinks an image by area averaging."""
    edges = np.arange(target + 1) * source / target
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(source)[None, :]
    return np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None) * target / source


def _caption(centres: np.ndarray, labels: np.ndarray, size: int) -> list[list[str]] | None:
    """Every valid caption of items at ``centres`` (k, 2) (x, y), or None if the layout is
    ambiguous."""
    words = [["a", ITEM_WORDS[label]] for label in labels]
    if len(labels) == 1:
        offset = centres[0] - size / 2
        if np.abs(offset).max() <= size / 10:
            return [[*words[0], "in", "the", "middle"]]
        axis = int(np.abs(offset).argmax())
        if abs(offset[axis]) < MIN_GAP or abs(offset[axis]) < 2 * abs(offset[1 - axis]):
            return None
        place = SINGLE_PLACES[("xy"[axis], int(np.sign(offset[axis])))]
        return [[*words[0], *place.split()]]
    spread = np.ptp(centres, axis=0)
    axis = int(spread.argmax())
    order = np.argsort(centres[:, axis])
    steps = np.diff(centres[order], axis=0)
    if (steps[:, axis] < MIN_GAP).any() or (steps[:, axis] < 2 * np.abs(steps[:, 1 - axis])).any():
        return None
    ordered = [words[k] for k in order]
    if len(labels) == 2:
        forward, backward = PAIR_RELATIONS["xy"[axis]]
        return [[*ordered[0], *forward.split(), *ordered[1]],
                [*ordered[1], *backward.split(), *ordered[0]]]
    forward, backward = ORDERS["xy"[axis]]
    return [[*ordered[0], ",", *ordered[1], "and", *ordered[2], *forward.split()],
            [*ordered[2], ",", *ordered[1], "and", *ordered[0], *backward.split()]]


def _overlap_ok(corners: np.ndarray, item: int) -> bool:
    for a in range(len(corners)):
        for b in range(a):
            width = item - np.abs(corners[a] - corners[b])
            if (width > 0).all() and width.prod() > MAX_OVERLAP * item * item:
                return False
    return True


def _draw_corners(rng, k: int, size: int, item: int) -> np.ndarray:
    """Top-left corners (k, 2) (x, y) of a candidate layout: one item anywhere; several
    spread along a random axis (gaps of at least MIN_GAP there, each step across at most
    half the gap), which ``_caption`` and ``_overlap_ok`` then accept or refuse."""
    span = size - item
    if k == 1:
        return rng.integers(0, span + 1, size=(1, 2))
    while True:
        major = np.sort(rng.integers(0, span + 1, size=k))
        if (np.diff(major) >= MIN_GAP).all():
            break
    minor = [int(rng.integers(0, span + 1))]
    for gap in np.diff(major):
        minor.append(int(np.clip(minor[-1] + rng.integers(-(gap // 2), gap // 2 + 1), 0, span)))
    axis = int(rng.integers(2))
    corners = np.empty((k, 2), dtype=np.int64)
    corners[:, axis], corners[:, 1 - axis] = major, minor
    return corners


def source_items(split: str, count, dataset, data_dir):
    """(images (M, 28, 28), labels) of the source split the scene split draws from, after
    checking ``split`` and the scene ``count`` (shared by the captioning and the detection
    scenes, so both draw their items from the same fixed splits)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if int(count) != count or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count}")
    source = load_dataset(dataset, split="test" if split == "test" else "train",
                          data_dir=data_dir)
    images, labels = source.images[:, 0], source.labels
    if split == "test":
        return images, labels
    order = np.random.default_rng(1234).permutation(len(labels))
    cut = int(round(len(labels) * (1 - VAL_FRACTION)))
    keep = order[:cut] if split == "train" else order[cut:]
    return images[keep], labels[keep]


def compose_scenes(count: int, split: str = "train", seed: int = 0, size: int = 64,
                   item_size: int = 20, max_items: int = 3,
                   dataset: str = "fashion-mnist-mini", data_dir=None) -> SceneSet:
    """Compose ``count`` captioned scenes of ``split`` (see the module docstring).

    Parameters
    ----------
    count : int
    split : {"train", "val", "test"}
    seed : int
        With ``split``, fixes the scenes.
    size, item_size : int
        Canvas and item side in pixels (the items are shrunk from 28 by area averaging).
    max_items : {1, 2, 3}
        Scenes hold 1..max_items items, equally often.
    dataset : str
        Source of the items for ``load_dataset`` (the embedded ``fashion-mnist-mini`` by
        default, or ``fashion-mnist``).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> scenes = data.compose_scenes(2, seed=0)
    >>> scenes.images.shape, len(scenes.captions)
    ((2, 1, 64, 64), 2)
    """
    if max_items not in (1, 2, 3):
        raise ValueError(f"max_items must be 1, 2 or 3, got {max_items}")
    if not 8 <= item_size <= 28 or size < 2 * item_size + MIN_GAP:
        raise ValueError(f"need 8 <= item_size <= 28 and size >= 2 * item_size + {MIN_GAP}, "
                         f"got size {size}, item_size {item_size}")
    items, item_labels = source_items(split, count, dataset, data_dir)
    shrink = _area_matrix(28, item_size)
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    images = np.zeros((count, 1, size, size), dtype=np.uint8)
    boxes, labels, captions = [], [], []
    for n in range(count):
        k = int(rng.integers(1, max_items + 1))
        picks = rng.choice(len(item_labels), size=k, replace=False)
        while True:
            corners = _draw_corners(rng, k, size, item_size)
            refs = _caption(corners + item_size / 2, item_labels[picks], size)
            if refs is not None and _overlap_ok(corners, item_size):
                break
        for (x, y), pick in zip(corners, picks, strict=True):
            patch = np.rint(shrink @ items[pick].astype(np.float64) @ shrink.T).astype(np.uint8)
            window = images[n, 0, y:y + item_size, x:x + item_size]
            np.maximum(window, patch, out=window)
        boxes.append(np.concatenate([corners, corners + item_size], axis=1).astype(np.int64))
        labels.append(item_labels[picks].astype(np.int64))
        captions.append(refs)
    return SceneSet(images, boxes, labels, captions)
