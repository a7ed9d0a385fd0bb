"""Shared by the visualisation commands (explain, fool, dream, invert, texture, style):
reading photos and checkpoint-sized images, writing PNGs, the feature-network options."""

from __future__ import annotations

import argparse
import os

import numpy as np

from .errors import CommandError, user_errors
from .options import image_side, iterations, output_path, seed


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
    side is ``size`` pixels."""
    from PIL import Image

    from visiongrad.data import DataFormatError, image_to_array, open_image

    if not os.path.isfile(path):
        raise CommandError(f"image not found: {path}")
    with user_errors(DataFormatError, context="cannot read image "):
        pixels = image_to_array(open_image(path), "RGB", path)
    picture = Image.fromarray(pixels)
    scale = size / max(picture.size)
    picture = picture.resize((max(1, round(picture.width * scale)),
                              max(1, round(picture.height * scale))), Image.Resampling.BILINEAR)
    return np.asarray(picture, dtype=np.float32).transpose(2, 0, 1) / 255


def check_out(path: str) -> None:
    """Refuse an output path whose folder does not exist, before any work is done."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(f"cannot write {path}: folder {folder} does not exist")


def write_png(path: str, image: np.ndarray) -> None:
    """Write (H, W, 3) or (H, W) floats in [0, 1] as an 8-bit PNG."""
    from PIL import Image

    check_out(path)
    pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    with user_errors(OSError, ValueError, context=f"cannot write {path}: "):
        Image.fromarray(pixels).save(path, format="PNG")


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(C, H, W) with C = 1 or 3 as (H, W, 3) for writing."""
    return np.repeat(image, 3, axis=0).transpose(1, 2, 0) if image.shape[0] == 1 \
        else image.transpose(1, 2, 0)


def heatmap(values: np.ndarray) -> np.ndarray:
    """(H, W) values as an (H, W, 3) image, 0 black to the maximum white-hot."""
    from matplotlib import colormaps

    top = float(np.max(np.abs(values)))
    return colormaps["hot"](values / top if top > 0 else values)[..., :3]


def side_by_side(*images: np.ndarray, scale: int = 1) -> np.ndarray:
    """(H, W, 3) images of one height in a row, 2-pixel white gaps, enlarged ``scale`` x."""
    gap = np.ones((images[0].shape[0], 2, 3))
    row = np.concatenate([part for image in images for part in (image, gap)][:-1], axis=1)
    return row.repeat(scale, axis=0).repeat(scale, axis=1)


def add_network_options(parser: argparse.ArgumentParser, size: int = 128) -> None:
    parser.add_argument("--network", default="random", choices=("random", "vgg16", "vgg19"),
                        help="feature network: random weights (no download) or VGG with "
                             "--weights")
    parser.add_argument("--weights", default=None,
                        help="torchvision .pth or safetensors weights for vgg16/vgg19")
    parser.add_argument("--size", type=image_side, default=size,
                        help="longer side of the images, in pixels")
    parser.add_argument("--iterations", type=iterations, default=100)
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--out", type=output_path, required=True, help="the PNG to write")


def network_from_args(args: argparse.Namespace):
    """The feature network the options name (weights missing or not fitting: one line)."""
    from visiongrad.visualize import feature_network

    if args.weights is not None and not os.path.isfile(args.weights):
        raise CommandError(f"weights not found: {args.weights}")
    with user_errors(ValueError, KeyError, TypeError, OSError,
                     context=f"cannot build the {args.network} feature network: "):
        return feature_network(args.network, args.weights, seed=args.seed)


def check_layer(model, layer: str) -> None:
    """A layer name the model does not have is a user error listing the names."""
    from visiongrad.visualize import get_layer

    with user_errors(ValueError):
        get_layer(model, layer)
