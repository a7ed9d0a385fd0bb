"""Pictures of predictions: boxes with class names and scores, mask and label-map overlays
on the grey image (PNG through Pillow), scaled up so that small scenes stay legible."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .scenes import CLASSES

#: One colour per label (0, the background, is never drawn).
PALETTE = np.array([(0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
                    (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
                    (210, 245, 60), (250, 190, 212)], dtype=np.uint8)


def _rgb(image, scale: int) -> np.ndarray:
    grey = np.asarray(image, dtype=np.float64).reshape(np.shape(image)[-2:])
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(np.stack([grey] * 3, -1), scale, 0), scale, 1)


def _colour(label: int) -> tuple:
    return tuple(int(v) for v in PALETTE[int(label) % len(PALETTE)])


def _overlay(rgb: np.ndarray, masks, labels, scale: int, alpha: float = 0.5) -> np.ndarray:
    out = rgb.astype(np.float64)
    for mask, label in zip(masks, labels, strict=True):
        big = np.repeat(np.repeat(np.asarray(mask, bool), scale, 0), scale, 1)
        out[big] = (1 - alpha) * out[big] + alpha * PALETTE[int(label) % len(PALETTE)]
    return out.astype(np.uint8)


def draw_detections(image, found: dict, path, scale: int = 4, min_score: float = 0.5) -> str:
    """Write ``image`` (H, W) or (1, H, W) with the detections of ``found`` (``boxes``,
    ``scores``, ``labels``, optional ``masks``) scoring at least ``min_score``; return
    the path."""
    keep = np.asarray(found["scores"]) >= min_score
    rgb = _rgb(image, scale)
    if "masks" in found:
        rgb = _overlay(rgb, np.asarray(found["masks"])[keep], np.asarray(found["labels"])[keep],
                       scale)
    picture = Image.fromarray(rgb)
    pen = ImageDraw.Draw(picture)
    for box, score, label in zip(np.asarray(found["boxes"])[keep],
                                 np.asarray(found["scores"])[keep],
                                 np.asarray(found["labels"])[keep], strict=True):
        x1, y1, x2, y2 = (float(v) * scale for v in box)
        pen.rectangle([x1, y1, x2 - 1, y2 - 1], outline=_colour(label), width=2)
        name = CLASSES[int(label)] if 0 <= int(label) < len(CLASSES) else str(int(label))
        pen.text((x1 + 2, max(y1 - 11, 0)), f"{name} {float(score):.2f}", fill=_colour(label))
    picture.save(path)
    return str(path)


def draw_segmentation(image, labels, path, scale: int = 4) -> str:
    """Write ``image`` with the label map ``labels`` (H, W) as a colour overlay."""
    labels = np.asarray(labels)
    present = [c for c in np.unique(labels) if c]
    rgb = _overlay(_rgb(image, scale), [labels == c for c in present], present, scale)
    Image.fromarray(rgb).save(path)
    return str(path)
