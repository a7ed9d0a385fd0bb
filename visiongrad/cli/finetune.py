"""``visiongrad finetune CHECKPOINT``: adapt a trained network to another dataset: a new
classifier head for its classes, the rest fine-tuned at a lower rate or frozen, on a few
labelled images per class if asked."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .errors import CommandError, user_errors
from .network import (
    CHECKPOINT_NAME,
    INTERNAL_KEYS,
    check_input_shape,
    load_network,
    load_split,
)
from .options import add_data_options, positive_float, positive_int
from .output import output_folder, write_json

FREEZE = ("none", "features")


def register(commands) -> None:
    parser = commands.add_parser("finetune", help="fine-tune a checkpoint on another dataset "
                                                  "(new head; features frozen or not)")
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="a checkpoint (or run folder) written by visiongrad train")
    add_data_options(parser)
    parser.add_argument("--labels-per-class", type=positive_int, default=None, metavar="K",
                        help="train on K labelled images of each class, drawn with --seed "
                             "(default: every training image)")
    parser.add_argument("--freeze", default="none", choices=FREEZE,
                        help="features: train only the new head (batch norm kept in "
                             "evaluation mode); none: train every layer")
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--lr", type=positive_float, default=1e-3,
                        help="Adam learning rate of the new head")
    parser.add_argument("--body-lr", type=positive_float, default=1e-3,
                        help="Adam learning rate of the pretrained layers (--freeze none)")
    parser.add_argument("--augment", action="store_true",
                        help="random crops of the images padded by 2 pixels (shifts; no "
                             "flips, which would change digits)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="visiongrad-finetune")
    parser.set_defaults(run=run)


def labelled_subset(labels: np.ndarray, per_class: int | None, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` images of each class, drawn without replacement
    with ``numpy.random.default_rng(seed)`` (every index for ``None``)."""
    if per_class is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels)
    smallest = int(counts.min()) if len(counts) else 0
    if smallest < per_class:
        raise CommandError(f"--labels-per-class {per_class} is more than the training split "
                           f"holds of its smallest class ({smallest})")
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class,
                                              replace=False) for c in range(len(counts))]))


def adapt(model, num_classes: int, freeze: str, lr: float, body_lr: float):
    """Replace ``model``'s head for ``num_classes``, freeze its features or not; return an
    Adam optimizer: the head at ``lr`` and (``freeze="none"``) the rest at ``body_lr``."""
    from visiongrad import models, optim

    with user_errors(TypeError, ValueError, context="cannot replace the head: "):
        head = models.replace_head(model, num_classes)
    if freeze == "features":
        models.freeze(model, except_head=True)
        return optim.Adam(head.parameters(), lr=lr)
    head_ids = {id(p) for p in head.parameters()}
    body = [p for p in model.parameters() if id(p) not in head_ids]
    return optim.Adam([{"params": head.parameters(), "lr": lr}, {"params": body}], lr=body_lr)


def run(args: argparse.Namespace) -> None:
    """``visiongrad finetune``: new head, fine-tuning, test accuracy, a checkpoint that
    ``evaluate`` and ``predict`` read."""
    import visiongrad as vg
    from visiongrad.data import DataLoader, transforms
    from visiongrad.train.trainer import Trainer, evaluate

    path = Path(args.checkpoint)
    model, normalize, info = load_network(str(path / CHECKPOINT_NAME if path.is_dir()
                                              else path))
    train = load_split(args.dataset, "train", args.data_dir)
    check_input_shape(info, train.images.shape[1:], f"{args.dataset} train")
    keep = labelled_subset(train.labels, args.labels_per_class, args.seed)
    vg.manual_seed(args.seed)
    optimizer = adapt(model, len(train.classes), args.freeze, args.lr, args.body_lr)
    folder = output_folder(args.out, fresh=True)
    print(f"fine-tuning {info['model']} from {args.checkpoint} on {len(keep)} {args.dataset} "
          f"images ({len(train.classes)} classes), features "
          f"{'frozen' if args.freeze == 'features' else 'trained'}; output {folder}")
    options = {key: value for key, value in vars(args).items() if key not in INTERNAL_KEYS}
    config = {**info, "classes": list(train.classes), "options": options,
              "commands": [*info.get("commands", []), args.command_line]}
    shift = [transforms.RandomCrop(train.images.shape[-2:], padding=2)] if args.augment else []
    loader = DataLoader((train.images[keep], train.labels[keep]), batch_size=args.batch_size,
                        shuffle=True, transform=transforms.Compose([*shift, normalize]))
    trainer = Trainer(model, optimizer, epochs=args.epochs, progress=False, config=config)
    trainer.fit(loader)
    checkpoint = folder / CHECKPOINT_NAME
    trainer.save_checkpoint(checkpoint)
    test = load_split(args.dataset, "test", args.data_dir)
    accuracy = float(evaluate(model, normalize(test.images), test.labels,
                              num_classes=len(train.classes))["accuracy"])
    write_json(folder / "metrics.json", {
        "model": info["model"], "pretrained": str(args.checkpoint), "dataset": args.dataset,
        "labelled_images": len(keep), "test_accuracy": accuracy,
        "history": {key: trainer.history[key] for key in ("epoch_loss", "train_accuracy")},
        "options": options})
    print(f"test accuracy {accuracy:.4f} on {len(test.labels)} {args.dataset} images\n"
          f"checkpoint: {checkpoint}")
