"""Acceptance measurements of ``visiongrad.visualize`` (issue 18) and the README's images.

    python -m benchmarks.visualize [--skip-photos] [--write]

1. A small VGG (``vgg_small``: two stacks of two 3x3 conv-BN-ReLU, 32 and 64 channels)
   trained on the full Fashion-MNIST for three epochs with ``visiongrad train`` (once:
   reused from runs/visualize-vgg-small). It replaced the course's three-layer convnet
   (two epochs), which was less accurate and was fooled only by visibly larger changes
   (the README compares them).
2. Fooling: for the first 100 test images and a random wrong target each (neither the
   label nor the prediction), ``fooling_image`` until the convnet predicts the target,
   kept to valid pixels (0-255); the success rate, the relative L2 perturbation
   |x' - x| / |x| in pixel space and the largest pixel change (anywhere, and on the
   black background), for the default ``min_norm`` method, its first crossing
   (``least_norm``), ``min_norm`` with ``brightness_allowance`` (a dark pixel may change
   less) and the course's normalised gradient ascent (step 0.5, up to 300 steps).
3. Saliency, guided backprop and occlusion (a black 4x4 square, stride 2) on the same 100
   images: the share of each map's mass on the item's (nonzero) pixels, beside the share
   of nonzero pixels (what a map blind to the item would get).
4. Images: saliency maps, a class visualisation per class, fooling examples (made here);
   a DeepDream, an inversion, a synthesised texture and a style transfer of scikit-image
   photos made by the CLI commands listed in ``COMMANDS`` (the same lines as the README).

Prints the results and the load average, since the machine is shared; with ``--write``
writes them to benchmarks/results/visualize.json and draws docs/images/*.png (without it
the photo commands write into a temporary folder and the figures are not drawn).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from visiongrad import visualize
from visiongrad.data import load_dataset
from visiongrad.imaging import as_rgb, heatmap, save_png, side_by_side, skimage_photo
from visiongrad.recipes import classify
from visiongrad.recipes.classify_network import CHECKPOINT_NAME, load_network
from visiongrad.train.trainer import predict_proba

from .saving import add_write_option, save_json

ROOT = Path(__file__).parent.parent
RESULTS = ROOT / "benchmarks" / "results"
IMAGES = ROOT / "docs" / "images"
DATA = "/usr/share/datasets/fashion-mnist"
RUN = ROOT / "runs" / "visualize-vgg-small"
TRAIN = ["train", "--model", "vgg_small", "--dataset", "fashion-mnist",
         "--data-dir", DATA, "--epochs", "3", "--seed", "0", "--out", str(RUN)]
"""The command line of the run the figures explain (recorded in the results)..."""
TRAIN_CONFIG = classify.Config(model="vgg_small", dataset="fashion-mnist", data_dir=DATA,
                               epochs=3, seed=0, out=str(RUN))
"""... and the same run as the classify recipe's config (trained here when missing)."""
SKIMAGE = "$(python -c 'import skimage.data, os; print(os.path.dirname(skimage.data.__file__))')"
COMMANDS = {
    "dream": "visiongrad dream {data}/astronaut.png --size 128 --iterations 10 --lr 0.02 "
             "--out docs/images/dream.png",
    "invert": "visiongrad invert {data}/coffee.png --size 96 --layer relu3 --iterations 100 "
              "--out docs/images/invert.png",
    "texture": "visiongrad texture {data}/brick.png --size 96 --iterations 100 "
               "--out docs/images/texture.png",
    "style": "visiongrad style {data}/chelsea.png {data}/gravel.png --size 128 "
             "--iterations 100 --out docs/images/style.png",
}

FOOLING = {"fooling": {"method": "min_norm", "max_iter": 300},
           "fooling_first_crossing": {"method": "least_norm", "max_iter": 300},
           "fooling_brightness_weighted": {"method": "min_norm", "max_iter": 300,
                                           "allowance": "brightness"},
           "fooling_course_method": {"method": "ascent", "learning_rate": 0.5,
                                     "max_iter": 300}}
"""The result's name for each of fooling_image's settings (normalised units): the
default, its first crossing, the default with brightness_allowance, the course's."""


def convnet():
    checkpoint = RUN / CHECKPOINT_NAME
    if not checkpoint.is_file():
        classify.run(TRAIN_CONFIG)
    return load_network(str(checkpoint))


def mass_share(maps: np.ndarray, item: np.ndarray) -> float:
    """Share of the (nonnegative) maps' total on the item's pixels, averaged over images."""
    maps = np.maximum(maps, 0)
    return float(np.mean((maps * item).sum((1, 2)) / np.maximum(maps.sum((1, 2)), 1e-30)))


def per_pixel(coarse: np.ndarray, shape, patch: int, stride: int) -> np.ndarray:
    """Occlusion drops spread to pixels: the mean over the squares covering each pixel."""
    total, count = np.zeros((len(coarse), *shape)), np.zeros(shape)
    for i, j in np.ndindex(coarse.shape[1:]):
        window = (slice(i * stride, i * stride + patch), slice(j * stride, j * stride + patch))
        total[(slice(None), *window)] += coarse[:, i, j, None, None]
        count[window] += 1
    return total / np.maximum(count, 1)


def relative_l2(normalize, x, fooled) -> np.ndarray:
    """|x' - x| / |x| per image, in pixel space."""
    pixels, fooled_pixels = normalize.inverse_transform(x), normalize.inverse_transform(fooled)
    return (np.linalg.norm((fooled_pixels - pixels).reshape(len(x), -1), axis=1)
            / np.linalg.norm(pixels.reshape(len(x), -1), axis=1))


def fooling_stats(model, normalize, raw, x, fooled, targets, seconds) -> dict:
    success = predict_proba(model, fooled).argmax(1) == targets
    relative = relative_l2(normalize, x, fooled)
    change = np.abs(normalize.inverse_transform(fooled) - normalize.inverse_transform(x))
    return {"images": len(x), "success_rate": float(success.mean()),
            "median_relative_l2": float(np.median(relative)),
            "max_relative_l2": float(relative.max()),
            "median_max_pixel_change_of_255": float(np.median(
                change.reshape(len(x), -1).max(1))),
            "median_max_background_change_of_255": float(np.median(
                (change * (raw == 0)).reshape(len(x), -1).max(1))),
            "seconds": seconds}


def measure(model, normalize, classes, write: bool = False) -> dict:
    test = load_dataset("fashion-mnist", split="test", data_dir=DATA)
    raw, labels = test.images[:100], np.asarray(test.labels[:100])
    x = normalize(raw).astype(np.float32)
    predictions = predict_proba(model, x).argmax(1)
    rng = np.random.default_rng(0)
    targets = np.array([rng.choice([c for c in range(10) if c not in (label, guess)])
                        for label, guess in zip(labels, predictions, strict=True)])
    valid = tuple(float(normalize(np.full_like(raw[:1], v))[0, 0, 0, 0]) for v in (0, 255))
    fooling, made = {}, {}
    for name, options in FOOLING.items():
        if options.get("allowance") == "brightness":
            options = {**options, "allowance": visualize.brightness_allowance(x, valid)}
        start = time.perf_counter()
        made[name] = visualize.fooling_image(model, x, targets, clamp=valid, **options)
        fooling[name] = fooling_stats(model, normalize, raw, x, made[name], targets,
                                      time.perf_counter() - start)
    item = raw[:, 0] > 0
    sal = visualize.saliency(model, x, labels)
    guided = np.abs(visualize.guided_backprop(model, x, labels)).max(1)
    black = normalize(np.zeros_like(raw[:1]))[0, :, 0, 0]  # the background's value
    occ = per_pixel(visualize.occlusion(model, x, labels, 4, 2, black), (28, 28), 4, 2)
    result = {
        "test_accuracy_first_100": float((predictions == labels).mean()),
        **fooling,
        "mass_on_item_pixels": {"saliency": mass_share(sal, item),
                                "guided_backprop": mass_share(guided, item),
                                "occlusion": mass_share(occ, item),
                                "share_of_item_pixels": float(item.mean())},
    }
    if write:
        figures(model, normalize, classes, raw, x, made, labels, targets, sal, guided)
    return result


def figures(model, normalize, classes, raw, x, fooled, labels, targets, sal, guided):
    picks = [int(np.flatnonzero(labels == c)[0]) for c in range(10) if (labels == c).any()][:8]
    rows = [side_by_side(*(as_rgb(raw[i] / 255.0) for i in picks)),
            side_by_side(*(heatmap(sal[i]) for i in picks)),
            side_by_side(*(heatmap(guided[i]) for i in picks))]
    save_png(_stack(rows, 3), IMAGES / "saliency.png")
    mean, std = normalize.mean_[0], normalize.std_[0]
    made = visualize.class_visualization(model, list(range(10)), (1, 28, 28), iterations=200,
                                         learning_rate=2.0, l2_reg=1e-3, max_jitter=2,
                                         blur_every=10, blur_sigma=0.4,
                                         clamp=(-mean / std, (1 - mean) / std), seed=0)
    images = [as_rgb(np.clip(m * std + mean, 0, 1)) for m in made]
    save_png(side_by_side(*images, scale=3), IMAGES / "class_visualization.png")
    pixels = normalize.inverse_transform(x) / 255
    plain, weighted = (normalize.inverse_transform(fooled[name]) / 255
                       for name in ("fooling", "fooling_brightness_weighted"))
    relative = relative_l2(normalize, x, fooled["fooling"])
    shown = [int(np.argsort(relative)[min(round(q * len(x)), len(x) - 1)])
             for q in FOOLING_SHOWN]
    panels = [side_by_side(as_rgb(pixels[i]), *(part for image in (plain, weighted)
                                                for part in (as_rgb(np.clip(image[i], 0, 1)),
                                                             amplified(image[i] - pixels[i]))))
              for i in shown]
    save_png(_stack(panels, 3), IMAGES / "fooling.png")
    with open(IMAGES / "captions.json", "w") as handle:
        json.dump({"saliency_classes": [classes[labels[i]] for i in picks],
                   "class_visualization": classes,
                   "fooling": [f"{classes[labels[i]]} -> {classes[targets[i]]}, relative "
                               f"L2 {relative[i]:.3f}" for i in shown]}, handle, indent=1)


FOOLING_SHOWN = (0.25, 0.5, 0.75, 1.0)
"""fooling.png's rows: the images at these quantiles of the default's relative L2."""


def amplified(difference: np.ndarray, gain: float = 4.0) -> np.ndarray:
    """|difference| (C, H, W, in 0-1), largest over channels, times ``gain`` on the "hot"
    colour map: white is a change of 1/gain of the range or more."""
    from matplotlib import colormaps

    return colormaps["hot"](np.clip(gain * np.abs(difference).max(0), 0, 1))[..., :3]


def _stack(rows, scale):
    gap = np.ones((2, rows[0].shape[1], 3))
    grid = np.concatenate([part for row in rows for part in (row, gap)][:-1], axis=0)
    return grid.repeat(scale, axis=0).repeat(scale, axis=1)


def photos(images: Path) -> dict:
    """Each of :data:`COMMANDS` run as a user runs it, its picture written into ``images``;
    the seconds each took."""
    folder = os.path.dirname(skimage_photo("astronaut"))
    seconds = {}
    for name, line in COMMANDS.items():
        argv = shlex.split(line.format(data=folder))[1:]
        argv[argv.index("--out") + 1] = str(images / Path(argv[argv.index("--out") + 1]).name)
        start = time.perf_counter()  # the command as a user runs it, interpreter start included
        subprocess.run([sys.executable, "-m", "visiongrad", *argv], check=True, cwd=ROOT)
        seconds[name] = time.perf_counter() - start
    return seconds


def run(skip_photos: bool, write: bool = False) -> dict:
    if write:
        IMAGES.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    model, normalize, info = convnet()
    result = {"checkpoint": "visiongrad " + shlex.join(TRAIN),
              **measure(model, normalize, info["classes"], write)}
    if skip_photos:  # keep the photographs' entries of the last full run
        previous = json.loads((RESULTS / "visualize.json").read_text())
        result.update({key: previous[key] for key in ("photo_commands", "photo_seconds")
                       if key in previous})
    else:
        result["photo_commands"] = {name: line.format(data=SKIMAGE)
                                    for name, line in COMMANDS.items()}
        if write:
            result["photo_seconds"] = photos(IMAGES)
        else:
            with tempfile.TemporaryDirectory(prefix="visiongrad-photos-") as folder:
                result["photo_seconds"] = photos(Path(folder))
    result["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                         "load_average_before": load_before,
                         "load_average_after": os.getloadavg()}
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-photos", action="store_true")
    add_write_option(parser, "benchmarks/results/visualize.json and docs/images/*.png")
    args = parser.parse_args()
    result = run(args.skip_photos, args.write)
    print(json.dumps(result, indent=1))
    save_json(RESULTS / "visualize.json" if args.write else None, result, show=args.write)
