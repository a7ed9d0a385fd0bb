"""Pictures of arrays, in one place: grids of images, PNG files, heat maps, rows of
captioned panels (with colour bars), boxes (with captions placed so that none hides
another) and masks (with a legend) drawn over grey images, the embedding grid, and the
sample photos the visualisations use.

Every module that makes a picture uses these (the training plots' filter grid, the
generative models' sample grids, the visualisation commands and benchmarks, the detectors'
drawings, the recipes). Images are floats in [0, 1] (or uint8) with axes (H, W) or
(H, W, 3), and batches (N, C, H, W) with C = 1 or 3, as everywhere in visiongrad. This
module sits low in the layer order (above ``data``, whose safe image reader it uses) and
imports Pillow and matplotlib only when a picture is made.
"""

from __future__ import annotations

import math
import os

import numpy as np

#: One colour per label: 0, the background, black (never drawn), then a fixed qualitative
#: palette (Trubetskoy's distinct colours, lime swapped for brown, too close to yellow):
#: any two of the ten differ by more than 75 in RGB, so every scene class has its own.
PALETTE = np.array([(0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
                    (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
                    (170, 110, 40), (250, 190, 212)], dtype=np.uint8)


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile images (N, C, H, W), C = 1 or 3, values clipped to [0, 1], row by row into one
    picture of ``columns`` columns (default ceil(sqrt(N))), ``padding`` white pixels
    between and around the tiles (white, 1.0, where a row is not full).

    Returns floats (rows (H + p) + p, columns (W + p) + p), with a trailing axis of 3 for
    RGB images.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"image_grid needs images of shape (N, C, H, W) with C = 1 or 3, "
                         f"got {images.shape}")
    count, channels, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.ones((rows * (height + padding) + padding, columns * (width + padding) + padding,
                    channels))
    for index, tile in enumerate(np.clip(images, 0.0, 1.0).transpose(0, 2, 3, 1)):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = tile
    return grid[..., 0] if channels == 1 else grid


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (clipped) as 8-bit pixels, rounded; uint8 as it is."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def save_png(image: np.ndarray, path: str | os.PathLike, scale: int = 1) -> str:
    """Write an (H, W) or (H, W, 3) image (floats in [0, 1] or uint8) as a PNG, each pixel
    drawn as a ``scale`` x ``scale`` square; return the path."""
    from PIL import Image

    pixels = to_uint8(image)
    if scale != 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    Image.fromarray(pixels).save(path, format="PNG")
    return str(path)


def save_grid(images: np.ndarray, path: str | os.PathLike, columns: int | None = None,
              scale: int = 2) -> str:
    """Write :func:`image_grid` of ``images`` as a PNG enlarged ``scale`` times; the path."""
    return save_png(image_grid(images, columns), path, scale)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(C, H, W) with C = 1 or 3 as (H, W, 3) for writing."""
    return np.repeat(image, 3, axis=0).transpose(1, 2, 0) if image.shape[0] == 1 \
        else image.transpose(1, 2, 0)


def heatmap(values: np.ndarray) -> np.ndarray:
    """(H, W) values as an (H, W, 3) image, 0 black to the largest magnitude white-hot."""
    from matplotlib import colormaps

    top = float(np.max(np.abs(values)))
    return colormaps["hot"](values / top if top > 0 else values)[..., :3]


def side_by_side(*images: np.ndarray, scale: int = 1) -> np.ndarray:
    """(H, W, 3) images of one height in a row, 2-pixel white gaps, enlarged ``scale`` x."""
    gap = np.ones((images[0].shape[0], 2, 3))
    row = np.concatenate([part for image in images for part in (image, gap)][:-1], axis=1)
    return row.repeat(scale, axis=0).repeat(scale, axis=1)


def label_colour(label: int) -> tuple[int, int, int]:
    """The :data:`PALETTE` colour of ``label`` (labels past its end wrap around)."""
    r, g, b = (int(v) for v in PALETTE[int(label) % len(PALETTE)])
    return r, g, b


def grey_to_rgb(image, scale: int = 1) -> np.ndarray:
    """A grey 8-bit image (H, W) or (1, H, W) as uint8 (H s, W s, 3), each pixel an s x s
    square (s = ``scale``)."""
    grey = np.asarray(image, dtype=np.float64).reshape(np.shape(image)[-2:])
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    return np.stack([grey] * 3, -1).repeat(scale, axis=0).repeat(scale, axis=1)


def overlay_masks(rgb: np.ndarray, masks, labels, scale: int = 1,
                  alpha: float = 0.5) -> np.ndarray:
    """``rgb`` (uint8, ``scale`` times the masks' size) with each boolean mask (H, W) blended
    in its label's colour: (1 - alpha) pixel + alpha colour."""
    out = rgb.astype(np.float64)
    for mask, label in zip(masks, labels, strict=True):
        big = np.asarray(mask, bool).repeat(scale, axis=0).repeat(scale, axis=1)
        out[big] = (1 - alpha) * out[big] + alpha * PALETTE[int(label) % len(PALETTE)]
    return out.astype(np.uint8)


def _overlaps(a, b) -> bool:
    """Whether rectangles (x1, y1, x2, y2) share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_captions(boxes, sizes, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Where to write each box's caption so that no two captions overlap: rectangles
    (x1, y1, x2, y2) inside the ``width`` x ``height`` picture.

    A caption goes above its box where there is room and nothing drawn yet, else inside
    its top edge, below it, inside its bottom edge; where all four collide, at the free
    place nearest the first (a caption overlaps another only where none is free).

    Parameters
    ----------
    boxes : sequence of (x1, y1, x2, y2)
        In the picture's pixels.
    sizes : sequence of (w, h)
        Each caption's size in pixels.
    width, height : int
        The picture's size.
    """
    placed: list[tuple[int, int, int, int]] = []
    for (x1, y1, _, y2), (w, h) in zip(boxes, sizes, strict=True):
        w, h = int(w), int(h)
        top, right = max(height - h, 0), max(width - w, 0)
        x = min(max(int(x1), 0), right)
        wanted = [(x, int(y1) - h), (x, int(y1)), (x, int(y2)), (x, int(y2) - h)]
        wanted = ([(x, y) for x, y in wanted if 0 <= y <= top]
                  or [(x, min(max(int(y1), 0), top))])

        def free(spot, w=w, h=h):
            return not any(_overlaps((*spot, spot[0] + w, spot[1] + h), other)
                           for other in placed)

        spot = next(filter(free, wanted), None)
        if spot is None:  # every position, nearest the first wish first
            nearest = sorted(((u, v) for v in range(top + 1) for u in range(right + 1)),
                             key=lambda p: abs(p[0] - x) + abs(p[1] - wanted[0][1]))
            spot = next(filter(free, nearest), wanted[0])
        placed.append((spot[0], spot[1], spot[0] + w, spot[1] + h))
    return placed


def draw_boxes(rgb: np.ndarray, boxes, labels, captions, scale: int = 1):
    """A Pillow image of ``rgb`` with each box (x1, y1, x2, y2, in the unscaled image's
    pixels) outlined in its label's colour and its caption written in black on that
    colour, the captions placed by :func:`place_captions` so that none hides another."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(rgb)
    pen = ImageDraw.Draw(picture)
    scaled = [[float(v) * scale for v in box] for box in boxes]
    extents = [pen.textbbox((0, 0), caption) for caption in captions]
    for (x1, y1, x2, y2), label in zip(scaled, labels, strict=True):
        pen.rectangle([x1, y1, x2 - 1, y2 - 1], outline=label_colour(label), width=2)
    places = place_captions(scaled, [(right + 4, bottom + 2) for _, _, right, bottom in extents],
                            picture.width, picture.height)
    for place, label, caption in zip(places, labels, captions, strict=True):
        pen.rectangle([place[0], place[1], place[2] - 1, place[3] - 1], fill=label_colour(label))
        pen.text((place[0] + 2, place[1] + 1), caption, fill=(0, 0, 0))
    return picture


def add_legend(rgb: np.ndarray, entries) -> np.ndarray:
    """``rgb`` (uint8 (H, W, 3)) with a legend under it: one row per (label, name) entry, a
    swatch of the label's :data:`PALETTE` colour and the name, black on white; the picture
    is widened (white) where a name needs it."""
    from PIL import Image, ImageDraw

    row = 14
    names = [str(name) for _, name in entries]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_width = max((measure.textbbox((0, 0), name)[2] for name in names), default=0)
    canvas = Image.new("RGB", (max(rgb.shape[1], text_width + 24),
                               rgb.shape[0] + row * len(names) + 4), (255, 255, 255))
    canvas.paste(Image.fromarray(np.asarray(rgb, dtype=np.uint8)), (0, 0))
    pen = ImageDraw.Draw(canvas)
    for index, ((label, _), name) in enumerate(zip(entries, names, strict=True)):
        y = rgb.shape[0] + 2 + index * row
        pen.rectangle([4, y + 1, 15, y + 12], fill=label_colour(label), outline=(0, 0, 0))
        pen.text((20, y + 1), name, fill=(0, 0, 0))
    return np.asarray(canvas)


def save_panels(panels, path: str | os.PathLike, title: str) -> str:
    """Write :func:`panels_figure` as a PNG; return the path."""
    panels_figure(panels, title).savefig(os.fspath(path), format="png", bbox_inches="tight")
    return str(path)


def panels_figure(panels, title: str):
    """A matplotlib figure (Agg canvas) of a row of captioned pictures under a title.

    Each panel is ``(caption, image, colour_bar)``: an image (H, W, 3) in [0, 1], or, with
    ``colour_bar`` (its label), an (H, W) map drawn with the "hot" colour map from 0 to
    its largest value beside a colour bar saying what the colours measure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.4 * len(panels), 3.8), dpi=100)
    FigureCanvasAgg(figure)
    for index, (caption, image, colour_bar) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        if colour_bar is None:
            axes.imshow(np.clip(image, 0.0, 1.0), interpolation="nearest")
        else:
            top = float(np.max(image)) if np.max(image) > 0 else 1.0
            shown = axes.imshow(image, cmap="hot", vmin=0.0, vmax=top, interpolation="nearest")
            figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.04, label=colour_bar)
        axes.set_title(caption, fontsize="small")
        axes.set_axis_off()
    figure.suptitle(title)
    return figure


def embedding_grid(points, images, cells: int = 30) -> np.ndarray:
    """The course's image-grid view of an embedding: one picture of ``cells`` x ``cells``
    tiles, the tile of grid cell (r, c) showing the image whose point, scaled into the
    unit square, lies in that cell nearest its centre (blank, 1.0, where no point falls).

    Parameters
    ----------
    points : (N, 2) embedding
    images : (N, H, W) or (N, H, W, 3) in [0, 1]

    Returns
    -------
    ndarray (cells H, cells W) or (cells H, cells W, 3)

    Examples
    --------
    >>> from visiongrad.visualize import embedding_grid
    >>> points = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> images = np.stack([np.full((4, 4), 0.2), np.full((4, 4), 0.8)])   # (N, H, W)
    >>> grid = embedding_grid(points, images, cells=2)
    >>> grid.shape, float(grid[7, 0]), float(grid[0, 7]), float(grid[0, 0])  # 1.0: empty cell
    ((8, 8), 0.2, 0.8, 1.0)
    """
    points, images = np.asarray(points, dtype=np.float64), np.asarray(images)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(images):
        raise ValueError(f"points must be (N, 2) for the N images, got {points.shape} and "
                         f"{len(images)} images")
    low, span = points.min(axis=0), np.ptp(points, axis=0)
    unit = (points - low) / np.where(span > 0, span, 1)
    cell = np.minimum((unit * cells).astype(np.int64), cells - 1)
    offset = ((unit * cells - cell - 0.5) ** 2).sum(axis=1)
    keys = cell[:, 0] * cells + cell[:, 1]
    order = np.lexsort((offset, keys))  # by cell, nearest the centre first
    first = order[np.r_[True, keys[order][1:] != keys[order][:-1]]]
    height, width = images.shape[1:3]
    canvas = np.ones((cells * height, cells * width, *images.shape[3:]), dtype=np.float64)
    for index in first:
        row, col = cell[index]
        canvas[(cells - 1 - col) * height:(cells - col) * height,
               row * width:(row + 1) * width] = images[index]
    return canvas


def skimage_photo(name: str) -> str | None:
    """The path of scikit-image's bundled ``name``.png (astronaut, chelsea, coffee, brick,
    grass, gravel), or None when scikit-image is not installed."""
    try:
        import skimage.data
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(skimage.data.__file__), f"{name}.png")
    return path if os.path.isfile(path) else None


def read_photo(path: str, size: int) -> np.ndarray:
    """An RGB photo as floats in [0, 1], (3, H, W), scaled (bilinear) so that its longer
    side is ``size`` pixels. FileNotFoundError for a missing file, ``DataFormatError`` for
    one that is not an image."""
    from PIL import Image

    from .data import image_to_array, open_image

    if not os.path.isfile(path):
        raise FileNotFoundError(f"image not found: {path}")
    picture = Image.fromarray(image_to_array(open_image(path), "RGB", path))
    scale = size / max(picture.size)
    picture = picture.resize((max(1, round(picture.width * scale)),
                              max(1, round(picture.height * scale))), Image.Resampling.BILINEAR)
    return np.asarray(picture, dtype=np.float32).transpose(2, 0, 1) / 255
