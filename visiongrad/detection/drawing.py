"""Pictures of predictions: boxes with class names and scores (captions that never hide
each other), mask and label-map overlays (with a legend of the classes) on the grey image
(PNG through Pillow), scaled up so that small scenes stay legible."""

from __future__ import annotations

import numpy as np

from ..imaging import add_legend, draw_boxes, grey_to_rgb, overlay_masks, save_png
from .scenes import CLASSES


def draw_detections(image, found: dict, path, scale: int = 4, min_score: float = 0.5) -> str:
    """Write ``image`` (H, W) or (1, H, W) with the detections of ``found`` (``boxes``,
    ``scores``, ``labels``, optional ``masks``) scoring at least ``min_score``; return
    the path."""
    keep = np.asarray(found["scores"]) >= min_score
    labels, scores = np.asarray(found["labels"])[keep], np.asarray(found["scores"])[keep]
    rgb = grey_to_rgb(image, scale)
    if "masks" in found:
        rgb = overlay_masks(rgb, np.asarray(found["masks"])[keep], labels, scale)
    captions = [f"{CLASSES[int(label)] if 0 <= int(label) < len(CLASSES) else int(label)} "
                f"{float(score):.2f}" for label, score in zip(labels, scores, strict=True)]
    draw_boxes(rgb, np.asarray(found["boxes"])[keep], labels, captions, scale).save(path)
    return str(path)


def draw_segmentation(image, labels, path, scale: int = 4) -> str:
    """Write ``image`` with the label map ``labels`` (H, W) as a colour overlay, a legend
    under it naming the class of each colour shown."""
    labels = np.asarray(labels)
    present = [int(c) for c in np.unique(labels) if c]
    rgb = overlay_masks(grey_to_rgb(image, scale), [labels == c for c in present], present, scale)
    entries = [(c, CLASSES[c] if c < len(CLASSES) else str(c)) for c in present]
    return save_png(add_legend(rgb, entries or [(0, "background only")]), path)
