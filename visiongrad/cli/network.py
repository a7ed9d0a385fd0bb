"""Glue between the commands and the library: datasets, models, optimizers, schedules,
preprocessing, training, and rebuilding a network from its checkpoint."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence

import numpy as np

from .errors import CommandError, check_choice, user_errors

CHECKPOINT_NAME = "checkpoint.safetensors"


OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs")

MAX_INPUT_VALUES = 3 * 512 * 512
"""The most values (C x H x W) one input image of a command's model may have: checked
before a model is built, since layer sizes (and memory) grow with the image."""


SCHEDULES = ("none", "step", "exponential", "cosine")


INTERNAL_KEYS = {"command", "run", "config", "resume", "command_line"}


def load_split(name: str, split: str, data_dir: str | None):
    """``data.load_dataset`` with a missing folder or unknown name as a user error."""
    from visiongrad import data

    if data_dir is not None and not os.path.isdir(data_dir):
        raise CommandError(f"data folder not found: {data_dir}")
    with user_errors(FileNotFoundError, KeyError, ValueError, TypeError):
        dataset = data.load_dataset(name, split=split, data_dir=data_dir)
    if not len(dataset.labels):
        raise CommandError(f"the {split} split of {name} holds no images")
    return dataset


def fit_normalizer(images: np.ndarray):
    """Per-channel standardisation of ``images / 255``, fitted on training images."""
    from visiongrad.data import ChannelNormalizer

    return ChannelNormalizer(scale=255.0).fit(images)


def normalizer_state(normalizer) -> dict:
    """The fitted statistics of a ``ChannelNormalizer``, JSON-ready (stored in checkpoints)."""
    return {"scale": normalizer.scale, "mean": normalizer.mean_.tolist(),
            "std": normalizer.std_.tolist()}


def restore_normalizer(state: dict, image_shape: Sequence[int]):
    """The ``ChannelNormalizer`` whose statistics :func:`normalizer_state` recorded."""
    from visiongrad.data import ChannelNormalizer

    normalizer = ChannelNormalizer(scale=state["scale"])
    normalizer.mean_ = np.asarray(state["mean"], dtype=np.float64)
    normalizer.std_ = np.asarray(state["std"], dtype=np.float64)
    normalizer.image_shape_ = tuple(image_shape)
    return normalizer


def build_model(name: str, input_shape: Sequence[int], num_classes: int):
    """``models.create`` for images of ``input_shape`` (C, H, W), unknown names as errors."""
    from visiongrad import models

    check_choice("model", name, sorted(models.available()))
    check_input_size(input_shape)
    with user_errors(ValueError, TypeError, context=f"cannot build {name}: "):
        return models.create(name, input_shape=tuple(input_shape), num_classes=num_classes)


def check_input_size(input_shape) -> None:
    """Refuse an input shape that is not (C, H, W) of positive ints or is too large
    (:data:`MAX_INPUT_VALUES`), before anything is allocated for it."""
    shape = list(input_shape) if isinstance(input_shape, (list, tuple)) else None
    if (shape is None or len(shape) != 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)):
        raise CommandError(f"input shape must be three positive integers C H W, got "
                           f"{input_shape!r}")
    if math.prod(shape) > MAX_INPUT_VALUES:
        raise CommandError(f"input shape {tuple(shape)} has {math.prod(shape)} values per "
                           f"image; the limit is {MAX_INPUT_VALUES} (3 x 512 x 512)")


def build_optimizer(name: str, parameters, lr: float, weight_decay: float):
    """One of :data:`OPTIMIZERS` (momentum and Nesterov in the course's form, mu = 0.9;
    L-BFGS takes ``lr`` and ignores ``weight_decay``, which PyTorch's has not)."""
    from visiongrad import optim

    check_choice("optimizer", name, OPTIMIZERS)
    if name == "lbfgs":
        if weight_decay:
            raise CommandError("--optimizer lbfgs takes no --weight-decay")
        with user_errors(ValueError):
            return optim.LBFGS(parameters, lr=lr, max_iter=4)
    classes = {"sgd": optim.SGD, "momentum": optim.Momentum, "nesterov": optim.Nesterov,
               "adagrad": optim.AdaGrad, "rmsprop": optim.RMSProp, "adam": optim.Adam,
               "adamw": optim.AdamW}
    with user_errors(ValueError):
        return classes[name](parameters, lr=lr, weight_decay=weight_decay)


def build_schedule(name: str, optimizer, epochs: int):
    """A per-epoch learning-rate schedule (``None`` for ``"none"``)."""
    from visiongrad.optim import lr_scheduler

    check_choice("schedule", name, SCHEDULES)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return None


def split_off_validation(images: np.ndarray, labels: np.ndarray, fraction: float):
    """Hold out a random, stratified ``fraction`` of a training split (seeded generator)."""
    from visiongrad.data import train_val_split

    if not 0.0 < fraction < 1.0:
        raise CommandError(f"--val-fraction must be between 0 and 1, got {fraction}")
    with user_errors(ValueError, context="cannot hold out validation images: "):
        parts = train_val_split(images, labels, val_fraction=fraction)
    if not len(parts[1]) or not len(parts[3]):
        raise CommandError(f"--val-fraction {fraction} of {len(labels)} images leaves no "
                           f"{'validation' if not len(parts[3]) else 'training'} images; "
                           f"use a larger dataset or another fraction")
    return parts


def fit_network(model, args: argparse.Namespace, train_images: np.ndarray,
                train_labels: np.ndarray, val_images: np.ndarray, val_labels: np.ndarray,
                normalize, info: dict | None = None, checkpoint=None, resume: bool = False,
                summary_writer=None):
    """Train ``model`` with the options in ``args``; return the fitted Trainer.

    ``info`` (see :func:`network_info`) goes into the Trainer's checkpoints, so that
    ``evaluate`` and ``predict`` can rebuild and feed the model. With ``checkpoint`` the
    Trainer writes it after every epoch; ``resume`` first restores it (exact resume).
    ``summary_writer`` (TensorBoard's) receives the Trainer's scalars.
    """
    from visiongrad.data import DataLoader, transforms
    from visiongrad.train.trainer import Trainer

    optimizer = build_optimizer(args.optimizer, model.parameters(), args.lr, args.weight_decay)
    augment = [transforms.RandomHorizontalFlip(),
               transforms.RandomCrop(train_images.shape[-2:], padding=2)] if args.augment else []
    loader = DataLoader((train_images, train_labels), batch_size=args.batch_size, shuffle=True,
                        transform=transforms.Compose([*augment, normalize]))
    trainer = Trainer(model, optimizer,
                      scheduler=build_schedule(args.schedule, optimizer, args.epochs),
                      epochs=args.epochs, config=info, checkpoint_path=checkpoint,
                      summary_writer=summary_writer,
                      distributed=getattr(args, "distributed", False))
    if resume:
        with user_errors(FileNotFoundError, ValueError, KeyError, TypeError,
                         context=f"cannot resume from {checkpoint}: "):
            trainer.load_checkpoint(checkpoint)
    trainer.fit(loader, x_val=normalize(val_images), y_val=val_labels)
    return trainer


def network_info(args: argparse.Namespace, images: np.ndarray, classes: Sequence[str],
                 normalize, commands: Sequence[str] = ()) -> dict:
    """What a checkpoint needs to rebuild and feed its model, plus how it was trained
    (its options and the ``commands`` that made it, for the report)."""
    options = {key: value for key, value in vars(args).items() if key not in INTERNAL_KEYS}
    return {"model": args.model, "input_shape": list(images.shape[1:]),
            "classes": list(classes), "normalize": normalizer_state(normalize),
            "options": options, "commands": list(commands)}


def load_network(path: str, model_name: str | None = None):
    """Rebuild a checkpoint's model and preprocessing; return ``(model, normalize, info)``.

    ``info`` is the checkpoint's config as :func:`network_info` wrote it.

    The architecture is the checkpoint's own (``info["model"]``) unless ``model_name`` is
    given; weights that do not fit it are a user error naming the mismatched keys.
    """
    from visiongrad.compress.vgz import read_vgz_checkpoint
    from visiongrad.train.checkpoint import load_checkpoint, load_model_state

    with user_errors(FileNotFoundError, ValueError, KeyError, TypeError, RecursionError,
                     context=f"cannot read checkpoint {path}: "):
        checkpoint = (read_vgz_checkpoint(path) if str(path).endswith(".vgz")  # compress's
                      else load_checkpoint(path))
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("config"), dict):
        raise CommandError(f"checkpoint {path} was not written by the visiongrad command "
                           f"(it has no config)")
    info = dict(checkpoint["config"])
    missing = [key for key in ("input_shape", "classes", "normalize") if key not in info]
    if missing:
        raise CommandError(f"checkpoint {path} was not written by the visiongrad command "
                           f"(its config lacks {', '.join(missing)})")
    info["model"] = model_name or info.get("model")
    if info["model"] is None:
        raise CommandError(f"checkpoint {path} does not name its model; pass --model")
    if not isinstance(info["model"], str) or not isinstance(info["classes"], list):
        raise CommandError(f"checkpoint {path} has a damaged config (model or classes)")
    model = build_model(info["model"], info["input_shape"], len(info["classes"]))
    with user_errors(ValueError, KeyError, TypeError,
                     context=f"checkpoint {path} does not fit a {info['model']} model: "):
        load_model_state(model, checkpoint["model"], source="its weights")
        normalize = restore_normalizer(info["normalize"], info["input_shape"])
    model.eval()
    return model, normalize, info


def check_input_shape(info: dict, shape: Sequence[int], source: str) -> None:
    expected = tuple(info["input_shape"])
    if tuple(shape) != expected:
        raise CommandError(f"{source} has images of shape {tuple(shape)} but the checkpoint's "
                           f"{info['model']} takes {expected}")
