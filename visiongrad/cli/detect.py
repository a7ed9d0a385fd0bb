"""``visiongrad detect``: object detection on composed Fashion-MNIST scenes.

``detect train --model ssd|yolo|faster_rcnn|mask_rcnn|localize|sliding_window|rcnn|fast_rcnn``
composes training scenes, trains the model and writes ``OUT/checkpoint.safetensors`` (weights and
config), ``OUT/metrics.json`` (its scores on the test scenes), ``OUT/curves.png`` and
``OUT/report.html``; ``detect evaluate``
prints a checkpoint's COCO AP, AP50 and AP75 (mask AP for mask_rcnn) on a split's scenes;
``detect predict`` draws the boxes, class names and scores (and masks) on an image;
``detect scene`` writes a composed scene as a PNG to predict on.
``visiongrad segment`` (the FCN) shares this module's code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .errors import CommandError, user_errors
from .options import (
    batch_size,
    canvas_side,
    count,
    epochs,
    int_between,
    output_path,
    positive_float,
    score_threshold,
    seed,
)
from .output import output_folder

SPLITS = ("train", "val", "test")


def add_actions(parser, models: tuple, default: str, lr: float, scored: bool) -> None:
    """The train, evaluate and predict actions of ``detect`` or ``segment`` (``lr``: the
    default learning rate; ``scored``: the models' predictions carry scores, so ``predict``
    takes ``--min-score``; a segmenter's label map has none)."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                    parser_class=type(parser))
    train = actions.add_parser("train", help="train a model on composed scenes")
    train.add_argument("--model", choices=models, default=default)
    train.add_argument("--scenes", type=count, default=2000, help="training scenes")
    train.add_argument("--test-scenes", type=count, default=300)
    train.add_argument("--epochs", type=epochs, default=10)
    train.add_argument("--batch-size", type=batch_size, default=32)
    train.add_argument("--lr", type=positive_float, default=lr)
    train.add_argument("--size", type=canvas_side, default=64, help="canvas side (multiple of 16)")
    train.add_argument("--dataset", default="fashion-mnist-mini",
                       help="source of the items (fashion-mnist-mini or fashion-mnist)")
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument("--pretrain", type=int, default=0, metavar="CROPS",
                       help="first teach the backbone to classify this many single-item "
                            "crops (0: train on the scenes only)")
    train.add_argument("--pretrain-epochs", type=epochs, default=4)
    train.add_argument("--fresh-scenes", action="store_true",
                       help="compose new training scenes (and crops) every epoch")
    train.add_argument("--out", type=output_path, default=f"visiongrad-{parser.prog.split()[-1]}")
    train.set_defaults(run=run_train)
    evaluate = actions.add_parser("evaluate", help="score a checkpoint on composed scenes")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--split", choices=SPLITS, default="test")
    evaluate.add_argument("--scenes", type=count, default=300)
    evaluate.set_defaults(run=run_evaluate)
    predict = actions.add_parser("predict", help="draw a checkpoint's predictions on an image")
    predict.add_argument("checkpoint")
    predict.add_argument("image")
    predict.add_argument("--out", type=output_path, required=True, metavar="PNG")
    if scored:
        predict.add_argument("--min-score", type=score_threshold, default=0.5,
                             help="draw detections scoring at least this")
    predict.set_defaults(run=run_predict)
    scene = actions.add_parser("scene", help="write a composed scene as a PNG to predict on")
    scene.add_argument("--split", choices=SPLITS, default="test")
    scene.add_argument("--index", type=int_between(0, 1_000_000), default=0,
                       help="which scene of the split (0: the first)")
    scene.add_argument("--size", type=canvas_side, default=64, help="canvas side (multiple of 16)")
    scene.add_argument("--dataset", default="fashion-mnist-mini",
                       help="source of the items (fashion-mnist-mini or fashion-mnist)")
    scene.add_argument("--seed", type=seed, default=0)
    scene.add_argument("--out", type=output_path, required=True, metavar="PNG")
    scene.set_defaults(run=run_scene)


def register(commands) -> None:
    from ..recipes.detect import DETECTORS

    parser = commands.add_parser("detect", help="object detection on composed scenes")
    add_actions(parser, DETECTORS, "ssd", 2e-3, scored=True)


def _summary(metrics: dict) -> str:
    names = ("AP", "AP50", "AP75", "mask_AP", "mask_AP50", "share_iou_0_7", "mIoU",
             "pixel_accuracy")
    scores = "  ".join(f"{name} {metrics[name]:.3f}" for name in names if name in metrics)
    return f"{scores}  ({1000 * metrics['seconds_per_image']:.1f} ms per image)"


def run_train(args: argparse.Namespace) -> None:
    """The options as the recipe's Config (``recipes.segment`` for ``segment``), the scenes
    composed before the output folder is made (a bad dataset leaves nothing behind), then
    the recipe."""
    from dataclasses import asdict

    from ..recipes import detect, segment
    from ..recipes.detect import make_scenes
    from ..train.run_report import CURVES_NAME, write_run_record

    recipe = segment if args.command == "segment" else detect
    if args.seed < 0:
        raise CommandError(f"--seed must be >= 0, got {args.seed}")
    with user_errors(ValueError, context="bad option: "):
        config = recipe.Config(model=args.model, size=args.size, scenes=args.scenes,
                               epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               seed=args.seed, dataset=args.dataset,
                               pretrain_scenes=args.pretrain,
                               pretrain_epochs=args.pretrain_epochs,
                               fresh_scenes=args.fresh_scenes)
    with user_errors(FileNotFoundError, ValueError):
        scenes = make_scenes(config, "train", config.scenes)
        test = make_scenes(config, "test", args.test_scenes)
    out = output_folder(args.out, fresh=True)
    result = recipe.run(config, out=out, scenes=(scenes, test))
    print(f"test: {_summary(result['test'])}")
    print(f"checkpoint: {result['checkpoint']}")
    report = write_run_record(
        out, title=f"{config.model} on {config.dataset} scenes",
        curves={"training loss": result["loss"]},
        summary={f"test {name}": value for name, value in result["test"].items()
                 if isinstance(value, (int, float))},
        config=asdict(config), commands=[getattr(args, "command_line", "")])
    print(f"curves: {out / CURVES_NAME}\nreport: {report}")


def load_model(path: str, kinds: tuple):
    """(model, config) of a checkpoint whose model is one of ``kinds``."""
    from ..recipes.detect import load

    with user_errors(FileNotFoundError, ValueError, context="cannot load the checkpoint: "):
        model, config = load(path)
    if config.model not in kinds:
        raise CommandError(f"{path} holds a {config.model} model; this command takes "
                           f"{', '.join(kinds)}")
    return model, config


def _kinds(args) -> tuple:
    from ..recipes.detect import DETECTORS, SEGMENTERS

    return SEGMENTERS if args.command == "segment" else DETECTORS


def run_evaluate(args: argparse.Namespace) -> None:
    from ..recipes.detect import evaluate, make_scenes

    model, config = load_model(args.checkpoint, _kinds(args))
    with user_errors(FileNotFoundError, ValueError):
        scenes = make_scenes(config, args.split, args.scenes)
    print(f"{config.model} on {len(scenes)} {args.split} scenes: "
          f"{_summary(evaluate(model, config, scenes))}")


def read_grey(path: str, size: int) -> np.ndarray:
    """The image file as (1, 1, size, size) uint8; a user error otherwise."""
    from ..data import read_image

    if not Path(path).is_file():
        raise CommandError(f"image not found: {path}")
    with user_errors(ValueError, OSError, context=f"{path}: "):
        image = read_image(path, mode="L")
    if image.shape[1:] != (size, size):
        raise CommandError(f"{path}: the model takes {size}x{size} images, got "
                           f"{image.shape[2]}x{image.shape[1]}")
    return image[None]


def _destination(path: str) -> Path:
    out = Path(path)
    if not out.parent.is_dir():
        raise CommandError(f"cannot write {out}: folder {out.parent} not found")
    if out.suffix.lower() != ".png":
        raise CommandError(f"--out must name a .png file, got {out}")
    return out


def run_predict(args: argparse.Namespace) -> None:
    from ..detection.drawing import draw_detections, draw_segmentation
    from ..detection.scenes import CLASSES

    model, config = load_model(args.checkpoint, _kinds(args))
    out = _destination(args.out)
    image = read_grey(args.image, config.size)
    found = model.predict(image)[0]
    if args.command == "segment":
        present = [CLASSES[c] for c in np.unique(found) if c]
        print(f"{args.image}: {', '.join(present) if present else 'background only'}")
        print(f"overlay: {draw_segmentation(image[0], found, out)}")
        return
    shown = np.flatnonzero(found["scores"] >= args.min_score)
    print(f"{args.image}: {len(shown)} detections scoring >= {args.min_score}")
    for k in shown:
        box = ", ".join(f"{v:.1f}" for v in found["boxes"][k])
        print(f"  {CLASSES[found['labels'][k]]} {found['scores'][k]:.3f} [{box}]")
    print(f"drawing: {draw_detections(image[0], found, out, min_score=args.min_score)}")


def run_scene(args: argparse.Namespace) -> None:
    """Scene ``--index`` of ``--split`` as the training and evaluation compose it (the
    same seed and items give the same scene), written as a grey PNG; its items printed."""
    from ..detection.scenes import CLASSES
    from ..imaging import save_png
    from ..recipes.detect import Config, make_scenes

    out = _destination(args.out)
    with user_errors(FileNotFoundError, ValueError):
        scenes = make_scenes(Config(size=args.size, dataset=args.dataset, seed=args.seed),
                             args.split, args.index + 1)
    with user_errors(OSError, context=f"cannot write {out}: "):
        save_png(np.asarray(scenes.images[args.index, 0], np.uint8), out)
    items = ", ".join(f"{CLASSES[label]} [{', '.join(str(int(v)) for v in box)}]"
                      for box, label in zip(scenes.boxes[args.index], scenes.labels[args.index],
                                            strict=True))
    print(f"{args.split} scene {args.index}: {items or 'no items'}")
    print(f"scene: {out}")
