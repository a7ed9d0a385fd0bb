"""The detection recipe: training, evaluation and checkpoints of the detection (and, through
:mod:`visiongrad.recipes.segment`, segmentation) models on composed scenes (what
``visiongrad detect`` / ``segment`` and ``benchmarks/detection.py`` run):
``run(Config(model="ssd", epochs=2), out=folder)``.

Every model has ``loss(images, targets) -> (Tensor, {name: float})`` and ``predict(images)``
(per image a dict of ``boxes``, ``scores``, ``labels`` and, for the mask head, ``masks``;
the FCN returns (N, H, W) label maps). ``train`` runs Adam with a cosine-decayed learning
rate over shuffled mini-batches of the training scenes, after, when asked, pretraining the
backbone to classify single items (``pretrain_backbone``); ``evaluate`` scores the model on
scenes: COCO AP/AP50/AP75 by ``evaluate_coco`` (boxes, and masks for the mask head), the
localiser's share of images with IoU >= 0.7, the FCN's mIoU and pixel accuracy, and the
time per image of ``predict`` in every case.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..detection import rle
from ..detection.boxes import box_convert, box_iou
from ..detection.evaluate import confusion_matrix, evaluate_coco, segmentation_metrics
from ..detection.nets import Backbone, image_tensor
from ..detection.scenes import CLASSES, compose_detection_scenes
from ..train.checkpoint import load_checkpoint, load_model_state, save_checkpoint
from ..train.epochs import descend_epoch
from ..train.progress import Progress
from .checks import check_choice, check_integers, check_positive

DETECTORS = ("ssd", "yolo", "faster_rcnn", "mask_rcnn", "localize", "sliding_window", "rcnn",
             "fast_rcnn")
SEGMENTERS = ("fcn",)
PRETRAIN_LR = 3e-3


@dataclass
class Config:
    """A model and how it is trained (stored in its checkpoint)."""

    model: str = "ssd"
    size: int = 64
    scenes: int = 2000
    epochs: int = 10
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    dataset: str = "fashion-mnist-mini"
    pretrain_scenes: int = 0
    pretrain_epochs: int = 4
    fresh_scenes: bool = False

    def __post_init__(self):
        check_choice(self, "model", DETECTORS + SEGMENTERS)
        check_integers(self, "size", "scenes", "epochs", "batch_size", "pretrain_epochs")
        check_integers(self, "pretrain_scenes", least=0)
        if self.pretrain_scenes and self.model in ("sliding_window", "rcnn"):
            raise ValueError(f"{self.model} has no Backbone to pretrain (--pretrain / "
                             "pretrain_scenes must be 0 for it)")
        if self.size % 16:
            raise ValueError(f"size must be a multiple of 16, got {self.size}")
        check_positive(self, "lr")

    @property
    def max_items(self) -> int:
        """The localiser sees one item per image, the others 1-5."""
        return 1 if self.model == "localize" else 5

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def build_model(config: Config):
    """The model ``config.model`` names, for ``config.size`` images."""
    num_classes = len(CLASSES)
    if config.model == "ssd":
        from ..detection.single_shot import SingleShotDetector
        return SingleShotDetector(num_classes, config.size)
    if config.model == "yolo":
        from ..detection.yolo import YOLODetector
        return YOLODetector(num_classes, config.size)
    if config.model in ("faster_rcnn", "mask_rcnn"):
        from ..detection.faster_rcnn import FasterRCNN
        return FasterRCNN(num_classes, config.size, masks=config.model == "mask_rcnn")
    if config.model == "fast_rcnn":
        from ..detection.fast_rcnn import FastRCNN
        return FastRCNN(num_classes, config.size)
    if config.model == "localize":
        from ..detection.localize import Localizer
        return Localizer(num_classes, config.size)
    if config.model in ("sliding_window", "rcnn"):
        from ..detection.windows import WindowDetector
        proposals = "sliding" if config.model == "sliding_window" else "grouping"
        return WindowDetector(num_classes, config.size, proposals=proposals)
    from ..detection.fcn import FCN
    return FCN(num_classes)


def make_scenes(config: Config, split: str, count: int, size: int | None = None,
                max_items: int | None = None):
    """``count`` scenes of ``split`` as ``config`` composes them (on ``size`` canvases with
    up to ``max_items`` items, when given, at the same item scales)."""
    return compose_detection_scenes(count, split, config.seed, size=size or config.size,
                                    max_items=max_items or config.max_items,
                                    min_scale=max(8, config.size // 4),
                                    max_scale=config.size // 2, dataset=config.dataset)


def targets_of(scenes, indices) -> list[dict]:
    return [{"boxes": scenes.boxes[i], "labels": scenes.labels[i], "masks": scenes.masks[i],
             "semantic": scenes.semantic[i]} for i in indices]


class ItemClassifier(nn.Module):
    """A backbone's deepest map, averaged over positions, then a linear layer: what the
    backbone learns from in :func:`pretrain_backbone` (the layer is dropped after)."""

    def __init__(self, backbone, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(backbone.channels[-1], num_classes)

    def loss(self, images, targets) -> tuple:
        """(cross-entropy of the item classes, {"item_ce": value}); each scene holds one
        item, whose label (1..C) is class label - 1 here."""
        features = self.backbone(image_tensor(images))[-1].mean(axis=(2, 3))
        labels = np.array([target["labels"][0] - 1 for target in targets])
        loss = F.cross_entropy(self.fc(features), labels)
        return loss, {"item_ce": loss.item()}


def pretrain_backbone(model, config: Config, log=print) -> list[float]:
    """Classification pretraining of ``model.backbone``, as detectors start from ImageNet
    classifiers: ``config.pretrain_scenes`` crops of half the canvas's side, each one item
    at the scenes' scales on texture, classified through :class:`ItemClassifier` for
    ``config.pretrain_epochs`` epochs (Adam, cosine decay from ``PRETRAIN_LR``, batches of
    64). Items are far cheaper to learn what they are from than whole scenes: a quarter of
    the pixels each, one label each. The mean loss of each epoch."""
    if not isinstance(getattr(model, "backbone", None), Backbone):
        raise ValueError(f"{type(model).__name__} has no Backbone to pretrain")

    def crops(seed: int):
        return make_scenes(replace(config, seed=seed), "train", config.pretrain_scenes,
                           size=config.size // 2, max_items=1)

    classifier = ItemClassifier(model.backbone, len(CLASSES) - 1)
    settings = replace(config, epochs=config.pretrain_epochs, lr=PRETRAIN_LR, batch_size=64)
    return fit(classifier, crops(config.seed), settings, lambda line: log(f"pretraining {line}"),
               crops if config.fresh_scenes else None)


def train(model, scenes, config: Config, log=print) -> list[float]:
    """:func:`pretrain_backbone` when ``config.pretrain_scenes``, then :func:`fit` (with
    newly composed scenes every epoch when ``config.fresh_scenes``); the mean loss of each
    epoch on the scenes."""
    if config.pretrain_scenes:
        pretrain_backbone(model, config, log)

    def fresh(seed: int):
        return make_scenes(replace(config, seed=seed), "train", len(scenes))

    return fit(model, scenes, config, log, fresh if config.fresh_scenes else None)


def fit(model, scenes, config: Config, log=print, compose=None) -> list[float]:
    """Adam with cosine decay over ``config.epochs`` passes; the mean loss of each epoch.

    With ``compose`` (seed -> scenes), every epoch after the first trains on scenes composed
    anew from a seed drawn from the run's random stream: no scene is seen twice, so the
    model cannot learn the training scenes by heart (composing costs far less than a pass).
    """
    opt = optim.Adam(model.parameters(), lr=config.lr)
    steps = config.epochs * -(-len(scenes) // config.batch_size)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    rng, history = np.random.default_rng(config.seed), []
    progress = Progress(config.epochs, write=log)
    for epoch in range(config.epochs):
        if epoch and compose is not None:
            scenes = compose(int(rng.integers(2**31)))
        model.train()
        started = time.perf_counter()
        history.append(descend_epoch(
            lambda batch, scenes=scenes: model.loss(scenes.images[batch],
                                                    targets_of(scenes, batch))[0],
            len(scenes), config.batch_size, opt, rng, schedule=schedule,
            on_batch=progress.during(f"epoch {epoch + 1}/{config.epochs}")))
        progress.step(f"epoch {epoch + 1}/{config.epochs}: loss {history[-1]:.4f} "
                      f"({time.perf_counter() - started:.0f} s)")
    return history


def predict_all(model, images, batch_size: int = 50) -> tuple[list, float]:
    """``model.predict`` over ``images`` in batches; (results, seconds per image)."""
    started, results = time.perf_counter(), []
    for start in range(0, len(images), batch_size):
        found = model.predict(images[start:start + batch_size])
        results.extend(found if isinstance(found, list) else list(found))
    return results, (time.perf_counter() - started) / max(len(images), 1)


def coco_detections(results, with_masks: bool = False) -> list[dict]:
    """Per-image detections as COCO result dicts (image ids 1..N, as ``to_coco``)."""
    out = []
    for i, found in enumerate(results):
        for k, (box, score, label) in enumerate(zip(
                box_convert(found["boxes"], "xyxy", "xywh"), found["scores"], found["labels"],
                strict=True)):
            entry = {"image_id": i + 1, "category_id": int(label),
                     "bbox": [float(v) for v in box], "score": float(score)}
            if with_masks:
                entry["segmentation"] = rle.encode(found["masks"][k])
            out.append(entry)
    return out


def evaluate(model, config: Config, scenes) -> dict:
    """The model's scores on ``scenes`` (see the module docstring)."""
    results, seconds = predict_all(model, scenes.images)
    metrics = {"images": len(scenes), "seconds_per_image": seconds}
    if config.model in SEGMENTERS:
        confusion = confusion_matrix(np.stack(results), scenes.semantic, len(CLASSES), None)
        scores = segmentation_metrics(confusion)
        metrics.update(mIoU=float(scores["mIoU"]), pixel_accuracy=float(scores["pixel_accuracy"]),
                       per_class_IoU=[None if np.isnan(v) else round(float(v), 4)
                                      for v in scores["per_class_iou"]])  # None: class absent
        return metrics
    if config.model == "localize":
        ious = np.array([box_iou(found["boxes"][:1], boxes)[0, 0]
                         for found, boxes in zip(results, scenes.boxes, strict=True)])
        right = np.array([found["labels"][0] == labels[0]
                          for found, labels in zip(results, scenes.labels, strict=True)])
        metrics.update(share_iou_0_7=float(np.mean(ious >= 0.7)), mean_iou=float(ious.mean()),
                       accuracy=float(right.mean()))
    ground_truth = scenes.to_coco()
    boxes = evaluate_coco(ground_truth, coco_detections(results))
    metrics.update(AP=boxes["AP"], AP50=boxes["AP50"], AP75=boxes["AP75"])
    if config.model == "mask_rcnn":
        masks = evaluate_coco(ground_truth, coco_detections(results, True), iou_type="segm")
        metrics.update(mask_AP=masks["AP"], mask_AP50=masks["AP50"], mask_AP75=masks["AP75"])
    return {k: float(v) if isinstance(v, (np.floating, float)) else v for k, v in metrics.items()}


def save(model, config: Config, path, history=None, metrics=None) -> str:
    """An atomic safetensors checkpoint with the weights and the config."""
    return save_checkpoint(path, model, history={"loss": history or []},
                           config={"scenes_model": asdict(config)}, state={"metrics": metrics})


def load(path):
    """(model, config) from a checkpoint written by :func:`save` (ValueError otherwise)."""
    contents = load_checkpoint(path)
    stored = (contents.get("config") or {}).get("scenes_model")
    if not isinstance(stored, dict):
        raise ValueError(f"{path} is not a detection or segmentation checkpoint (visiongrad "
                         "detect train / segment train write those)")
    config = Config.from_dict(stored)
    model = build_model(config)
    load_model_state(model, contents["model"], str(path))
    model.eval()
    return model, config


def run(config: Config, test_scenes: int = 300, out: Path | None = None, log=print,
        scenes: tuple | None = None) -> dict:
    """Compose the training and ``test_scenes`` test scenes (or take ``scenes``, the pair
    composed already), build and train the model, score it on the test scenes; with
    ``out`` (a folder), write ``metrics.json`` and the checkpoint there. Returns
    ``{"test": metrics, "loss": losses per epoch, "model": the trained model,
    "checkpoint": its path or None}``."""
    scenes, test = scenes or (make_scenes(config, "train", config.scenes),
                              make_scenes(config, "test", test_scenes))
    model = build_model(config)
    history = train(model, scenes, config, log)
    metrics = evaluate(model, config, test)
    path = None
    if out is not None:
        (out / "metrics.json").write_text(json.dumps({"test": metrics}, indent=2) + "\n")
        path = save(model, config, out / "checkpoint.safetensors", history, metrics)
    return {"test": metrics, "loss": history, "model": model, "checkpoint": path}
