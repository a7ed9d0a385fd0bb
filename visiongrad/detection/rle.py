"""COCO's run-length encoding of binary masks, in NumPy (pycocotools.mask's algorithms).

A mask of (h, w) is read column by column (Fortran order) and stored as run lengths of
alternating 0s and 1s, starting with 0s (a mask starting with 1 has a first count of 0).
An RLE is a dict {"size": [h, w], "counts": ...}: counts as a list of ints (uncompressed)
or as COCO's compressed string (each count, after the third minus the count two before
it, in 5-bit groups, 0x20 meaning "more", 48 added: characters '0' to 'o').

Polygons are rasterised exactly as COCO's ``rleFrPoly``: the outline is walked at 5x
resolution, and a pixel (x, y) is inside when its centre lies below the crossing points of
its column's up-going edges. Areas and IoUs are exact integer counts.
"""

from __future__ import annotations

import numpy as np


def _size(rle) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in rle["size"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"an RLE must be a dict with 'size': [h, w], got {rle!r:.80}") from error
    return height, width


def encode(mask) -> dict:
    """Compressed RLE of a binary (h, w) mask (pycocotools.mask.encode for one mask)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (h, w), got shape {mask.shape}")
    return {"size": list(mask.shape), "counts": counts_to_string(mask_to_counts(mask))}


def mask_to_counts(mask) -> np.ndarray:
    """Run lengths (uncompressed counts) of a binary (h, w) mask in column-major order."""
    flat = np.asarray(mask).astype(bool).ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds)
    return np.concatenate([[0], counts]) if flat.size and flat[0] else counts


def counts_of(rle) -> np.ndarray:
    """The run lengths of an RLE whose counts are a list or a compressed string."""
    counts = rle.get("counts") if isinstance(rle, dict) else None
    if isinstance(counts, (bytes, str)):
        return string_to_counts(counts)
    if isinstance(counts, (list, tuple, np.ndarray)):
        counts = np.asarray(counts, dtype=np.int64)
        if counts.ndim != 1 or np.any(counts < 0):
            raise ValueError("RLE counts must be a flat list of non-negative integers")
        return counts
    raise ValueError(f"an RLE needs 'counts' as a list of ints or a string, got {rle!r:.80}")


def decode(rle) -> np.ndarray:
    """The binary (h, w) uint8 mask of an RLE (pycocotools.mask.decode for one RLE)."""
    height, width = _size(rle)
    counts = counts_of(rle)
    if counts.sum() != height * width:
        raise ValueError(f"RLE counts sum to {counts.sum()}, not h * w = {height * width}")
    values = np.arange(len(counts)) % 2
    return np.repeat(values.astype(np.uint8), counts).reshape((height, width), order="F")


def area(rle) -> int:
    """Number of 1 pixels: the sum of the odd-indexed counts."""
    return int(counts_of(rle)[1::2].sum())


def to_bbox(rle) -> list[float]:
    """[x, y, w, h] of the mask's tight bounding box ([0, 0, 0, 0] for an empty mask)."""
    mask = decode(rle)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1),
            float(rows[-1] - rows[0] + 1)]


def counts_to_string(counts) -> str:
    """COCO's compressed string of run lengths (``rleToString``)."""
    chars = []
    counts = [int(c) for c in counts]
    for i, value in enumerate(counts):
        x = value - counts[i - 2] if i > 2 else value
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # Python's shift is arithmetic, as C's on a signed long
            more = x != -1 if c & 0x10 else x != 0
            chars.append(chr((c | 0x20 if more else c) + 48))
    return "".join(chars)


def string_to_counts(string) -> np.ndarray:
    """Run lengths from COCO's compressed string (``rleFrString``)."""
    data = string.encode("ascii") if isinstance(string, str) else bytes(string)
    counts: list[int] = []
    p = 0
    while p < len(data):
        x, k, more = 0, 0, True
        while more:
            if p >= len(data):
                raise ValueError("compressed RLE counts end in the middle of a number")
            c = data[p] - 48
            if not 0 <= c < 64:
                raise ValueError(f"compressed RLE counts hold a bad character {chr(data[p])!r}")
            x |= (c & 0x1F) << 5 * k
            more = bool(c & 0x20)
            p, k = p + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << 5 * k
        if len(counts) > 2:
            x += counts[-2]
        if x < 0:
            raise ValueError("compressed RLE counts decode to a negative run")
        counts.append(x)
    return np.asarray(counts, dtype=np.int64)


def from_polygon(polygon, height: int, width: int) -> np.ndarray:
    """Run lengths of one polygon [x1, y1, x2, y2, ...] rasterised as COCO's ``rleFrPoly``."""
    xy = np.asarray(polygon, dtype=np.float64).reshape(-1)
    if xy.size < 6 or xy.size % 2 or not np.all(np.isfinite(xy)):
        raise ValueError("a polygon needs at least 3 finite (x, y) points, got "
                         f"{xy.size} numbers")
    scale = 5.0
    x = np.trunc(scale * xy[0::2] + 0.5).astype(np.int64)  # C's (int): toward zero
    y = np.trunc(scale * xy[1::2] + 0.5).astype(np.int64)
    x, y = np.append(x, x[0]), np.append(y, y[0])
    u, v = [], []
    for j in range(len(x) - 1):
        xs, xe, ys, ye = int(x[j]), int(x[j + 1]), int(y[j]), int(y[j + 1])
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        steps = np.arange(max(dx, dy) + 1)
        t = max(dx, dy) - steps if flip else steps
        if dx == 0 and dy == 0:  # a repeated vertex: C's 0 / 0 makes (int)NaN = INT_MIN
            u.append(t + xs)
            v.append(np.full(1, -2 ** 31, dtype=np.int64))
        elif dx >= dy:
            s = (ye - ys) / dx
            u.append(t + xs)
            v.append(np.trunc(ys + s * t + 0.5).astype(np.int64))
        else:
            s = (xe - xs) / dy
            v.append(t + ys)
            u.append(np.trunc(xs + s * t + 0.5).astype(np.int64))
    u, v = np.concatenate(u), np.concatenate(v)
    step = np.flatnonzero(u[1:] != u[:-1]) + 1  # points where the outline changes column
    xd = np.where(u[step] < u[step - 1], u[step], u[step] - 1).astype(np.float64)
    xd = (xd + 0.5) / scale - 0.5
    keep = (np.floor(xd) == xd) & (xd >= 0) & (xd <= width - 1)
    yd = np.minimum(v[step], v[step - 1]).astype(np.float64)
    yd = np.ceil(np.clip((yd + 0.5) / scale - 0.5, 0, height))
    starts = np.sort(np.append(xd[keep].astype(np.int64) * height + yd[keep].astype(np.int64),
                               height * width))
    runs = np.diff(starts, prepend=0)
    counts = [int(runs[0])]
    j = 1
    while j < len(runs):  # a zero run merges its neighbours
        if runs[j] > 0:
            counts.append(int(runs[j]))
            j += 1
        else:
            j += 1
            if j < len(runs):
                counts[-1] += int(runs[j])
                j += 1
    return np.asarray(counts, dtype=np.int64)


def merge(masks) -> np.ndarray:
    """Union of binary masks (pycocotools.mask.merge without ``intersect``)."""
    return np.logical_or.reduce([np.asarray(m, dtype=bool) for m in masks]).astype(np.uint8)


def segmentation_to_mask(segmentation, height: int, width: int) -> np.ndarray:
    """A COCO ``segmentation`` (list of polygons, uncompressed or compressed RLE) as a
    binary (height, width) mask (pycocotools' ``annToMask``)."""
    if isinstance(segmentation, list):
        if not segmentation:
            raise ValueError("segmentation is an empty list of polygons")
        return merge([decode({"size": [height, width],
                              "counts": from_polygon(p, height, width)}) for p in segmentation])
    if isinstance(segmentation, dict):
        if tuple(_size(segmentation)) != (height, width):
            raise ValueError(f"segmentation size {segmentation['size']} differs from the "
                             f"image's ({height}, {width})")
        return decode(segmentation)
    raise ValueError("segmentation must be a list of polygons or an RLE dict, got "
                     f"{type(segmentation).__name__}")


def mask_iou(detections, ground_truth, iscrowd=None) -> np.ndarray:
    """IoU (D, G) of binary masks (D, h, w) and (G, h, w) (pycocotools.mask.iou): a crowd
    ground truth counts intersection / detection area instead. Empty intersections give 0."""
    d = np.asarray(detections, dtype=bool).reshape(len(detections), -1).astype(np.float64)
    g = np.asarray(ground_truth, dtype=bool).reshape(len(ground_truth), -1).astype(np.float64)
    if d.shape[1] != g.shape[1] and len(d) and len(g):
        raise ValueError("detections and ground_truth masks must have the same size")
    inter = d @ g.T
    area_d, area_g = d.sum(axis=1), g.sum(axis=1)
    union = area_d[:, None] + area_g[None, :] - inter
    if iscrowd is not None:
        crowd = np.asarray(iscrowd, dtype=bool)
        union = np.where(crowd[None, :], area_d[:, None], union)
    return np.where(inter > 0, inter / np.where(inter > 0, union, 1), 0.0)


__all__ = ["encode", "decode", "area", "to_bbox", "counts_to_string", "string_to_counts",
           "from_polygon", "merge", "segmentation_to_mask", "mask_iou"]
